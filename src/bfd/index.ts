// Public surface of weft's BFD (RFC 5880 asynchronous mode over RFC 5881 single-hop UDP), for the
// BGP backend: a declarative BfdManager, the codec for tools and tests, and the typed errors.
export { BfdManager, type BfdManagerEvents, type BfdManagerOptions, type BfdPeerConfig, type BfdPeerStatus, type BfdStats, type BfdLog } from './manager.js';
export { decodeControlPacket, encodeControlPacket, diagnosticName, Diag, DIAGNOSTICS, type BfdControlPacket, type BfdDropReason, type BfdState, type DecodeResult } from './packet.js';
export { BfdConfigError, BfdEncodeError, BfdNamespaceError } from './errors.js';
export { BFD_SINGLE_HOP_PORT } from './transport.js';
