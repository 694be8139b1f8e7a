// Public face of the BGP wire codec (src/bgp/wire): message types, errors, negotiated options,
// decode/encode, framing, OPEN validation and End-of-RIB helpers. Import from here.
export * from './types.js';
export * from './errors.js';
export * from './options.js';
export { decodeMessage, tryDecodeMessage, encodeMessage, encodeInto, checkHeader, type DecodedMessage } from './message.js';
export { MessageReader } from './reader.js';
export { validateOpen, BGP_VERSION, type OpenExpectations } from './validate-open.js';
export { endOfRib, endOfRibFamily } from './eor.js';
export { OPEN_UNSPECIFIC } from './capabilities.js';
export { decodeShutdownCommunication, encodeShutdownCommunication } from './notification.js';
export { ipv4PrefixFromText, ipv4PrefixText } from './nlri.js';
export { ipv6ToText, ipv6FromText, ipv4ToText, ipv4FromText, Writer } from './bytes.js';
export { splitUpdate } from './pack.js';
