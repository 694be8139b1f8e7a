// The contract between the watcher of cluster nodes (a registry: Kubernetes API or etcd) and the
// daemon. A registry claims and publishes this node, and hands the daemon the full desired set of
// remote nodes whenever it changes: level-triggered snapshots, never add/remove events, so a
// missed update can never leave the daemon with a wrong picture.
import type { Family } from '../net/addr.js';

export type BackendType = 'vxlan' | 'bgp';
export const BACKEND_TYPES: readonly BackendType[] = ['vxlan', 'bgp'];

/** Backend data as published by a node (flannel's field names, so annotations interoperate). */
export interface VxlanBackendData {
  VNI: number;
  VtepMAC: string;
}
export interface BgpBackendData {
  ASN: number;
  /** The node reflects routes for the others (RFC 4456) with this cluster ID (dotted quad). */
  RouteReflector?: string;
  /**
   * CrossSubnet "vxlan": the node's VTEP (flannel.<VNI> device), so nodes on other L2 segments
   * without a BGP route reach it over VXLAN. Both or neither.
   */
  VtepMAC?: string;
  VNI?: number;
}
export type BackendData = VxlanBackendData | BgpBackendData;

/** The cluster's address plan, as the registry needs it to allocate and to validate. */
export interface RegistryNetwork {
  /** e.g. "10.244.0.0/16" (canonical network form). */
  network: string;
  /** Prefix length of each node's subnet, e.g. 24. */
  subnetLen: number;
  /** First/last subnet that may be allocated (etcd allocation), canonical network form. */
  subnetMin?: string;
  subnetMax?: string;
  /** Dual stack: e.g. "fd00:10:244::/56" and 64. */
  ipv6Network?: string;
  ipv6SubnetLen?: number;
  /** First/last IPv6 subnet that may be allocated (etcd allocation), canonical network form. */
  ipv6SubnetMin?: string;
  ipv6SubnetMax?: string;
}

/** What this node publishes about itself. */
export interface LocalNodeSpec {
  name: string;
  /** The node's IP other nodes reach it at (tunnel endpoint / BGP next hop). */
  publicIP: string;
  publicIPv6?: string;
  backendType: BackendType;
  backendData: BackendData;
  /** Backend data for the IPv6 side (dual-stack VXLAN has a second VTEP MAC). */
  backendV6Data?: BackendData;
}

/** What register() hands back: the subnets this node owns (kept across restarts). */
export interface Lease {
  subnet: string;
  ipv6Subnet?: string;
  /** Public IP as published (may differ from the spec's when an overwrite annotation is set). */
  publicIP: string;
}

/** A validated remote node: every field has been checked at the registry boundary. */
export interface RemoteNode {
  name: string;
  /** Canonical network form, e.g. "10.244.3.0/24". */
  subnet: string;
  ipv6Subnet?: string;
  publicIP: string;
  publicIPv6?: string;
  backendType: BackendType;
  backendData: BackendData;
  backendV6Data?: BackendData;
}

/** The full desired set of remote nodes, this node excluded, sorted by name. */
export interface Snapshot {
  nodes: RemoteNode[];
  /** Registry revision/resourceVersion the snapshot reflects (for logs and status). */
  revision: string;
}

/** Why an entry from the registry was skipped; each is a metric label. */
export type SkipReason =
  | 'unparsable'
  | 'bad-mac'
  | 'bad-ip'
  | 'bad-subnet'
  | 'outside-network'
  | 'overlaps-local'
  | 'overlaps-other'
  | 'unknown-backend'
  | 'backend-mismatch';

export interface SkippedEntry {
  /** Node name or registry key. */
  entry: string;
  reason: SkipReason;
  detail: string;
}

/** Called by a registry whenever it skips an entry (the daemon counts these in /metrics). */
export type SkipListener = (skipped: SkippedEntry) => void;

export interface NodeRegistry {
  /** Claims or re-claims this node's subnet(s) and publishes its data. Idempotent. */
  register(self: LocalNodeSpec): Promise<Lease>;
  /** Delivers a snapshot now (once the first full read is done) and on every relevant change. */
  watch(onSnapshot: (snapshot: Snapshot) => void): void;
  close(): Promise<void>;
}

export function familyOfSubnet(subnet: string): Family {
  return subnet.includes(':') ? 6 : 4;
}
