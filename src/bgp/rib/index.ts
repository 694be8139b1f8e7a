// Public face of the RIB side of bgp-ts (src/bgp/rib): prefix keys, interned attributes, the
// decision process, Adj-RIB-In / Loc-RIB / Adj-RIB-Out, import/export rules and the session port
// with its adapter over the real Session. The Speaker (../speaker.ts) assembles these.
export * from './prefix.js';
export { PrefixMap } from './prefix-map.js';
export { PrefixList, PrefixListError, parsePrefixListEntry, type PrefixListEntry } from './prefix-list.js';
export * from './attributes.js';
export * from './path.js';
export { selectBest, DEFAULT_LOCAL_PREF, type DecisionOptions, type Selection } from './decision.js';
export { AdjRibIn } from './adj-rib-in.js';
export { LocRib, BestPathChange } from './loc-rib.js';
export { AdjRibOut, estimateAttributesSize, nlriSize, type AdjRibOutOptions, type OutboundUpdate } from './adj-rib-out.js';
export { importAttributes, importAttributesVerdict, type ImportVerdict } from './import.js';
export { exportAttributes, exportForFamily, prependAs } from './export.js';
export { LOCAL_SOURCE_ID, type LocalIdentity, type PeerRole } from './peer-role.js';
export type { PeerSession, PeerSessionEvents, InboundUpdate, EstablishedInfo, DownInfo } from './peer-session.js';
export { SessionAdapter, sessionConfigFor } from './session-adapter.js';
export { inboundFromWire, outboundToWire, endOfRibMessage, endOfRibFamily } from './wire-convert.js';
