// The BGP backend (native routing over BGP): see backend.ts.
export { BgpBackend, type BgpBackendDeps } from './backend.js';
export { CrossSubnetBackend, type CrossSubnetBackendDeps } from './cross-subnet.js';
export { resolveBgpOptions, type BgpOptions, type ExternalPeer, type NodeBgpSettings } from './options.js';
