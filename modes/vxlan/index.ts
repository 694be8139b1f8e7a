// The VXLAN backend's public surface: the Backend implementation and its options. The rest of
// modes/vxlan (device, desired state, diff, programming) is internal to the backend.
export { VxlanBackend, type VxlanBackendDeps } from './backend.js';
export { DEFAULT_VXLAN_OPTIONS, resolveVxlanOptions, vxlanDeviceMtu, vxlanDeviceName, type VxlanOptions } from './options.js';
