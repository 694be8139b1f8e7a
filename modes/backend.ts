// The Backend interface: what the daemon asks of a datapath (VXLAN overlay, BGP native routing).
//
// Life of a backend, driven by the daemon:
//   1. start(local)     bring up the local datapath that does not depend on the subnet (the VXLAN
//                       device, the BGP listener) and return what other nodes need to reach us
//                       (VTEP MAC, ASN) — the daemon publishes it through the registry;
//   2. claim(lease)     the registry gave us our subnet(s): configure what depends on them (the
//                       device's /32, the announced podCIDR);
//   3. reconcile(nodes) make the kernel match the desired set of remote nodes. Level-triggered and
//                       idempotent: called on every registry snapshot and every resync period;
//   4. stop()           stop control-plane work and LEAVE THE DATAPATH IN PLACE, so a restarting
//                       daemon drops no packet.
import type { BackendData, BackendType, Lease, RemoteNode } from '../src/registry/types.js';

/** The underlay interface this node's traffic to other nodes leaves by. */
export interface Underlay {
  name: string;
  index: number;
  mtu: number;
  /** The address on it other nodes reach us at (v4). */
  address: string;
  /** Its IPv6 address, for dual stack. */
  addressV6?: string;
}

export interface LocalNode {
  name: string;
  /** Published IP (tunnel endpoint / next hop); normally underlay.address. */
  publicIP: string;
  publicIPv6?: string;
  underlay: Underlay;
}

export interface BackendStartResult {
  backendType: BackendType;
  backendData: BackendData;
  backendV6Data?: BackendData;
  /** MTU pods must use on this node (VXLAN: device MTU; BGP: underlay MTU). */
  mtu: number;
}

export type NodeState = 'programmed' | 'pending' | 'failed';

export interface NodeReport {
  node: string;
  subnet: string;
  state: NodeState;
  /** Why the node is not programmed (e.g. "route: ENETUNREACH", "next hop unreachable"). */
  reason?: string;
  /** How its pods are reached, when a backend has more than one way (CrossSubnet: "vxlan"). */
  datapath?: 'native' | 'vxlan';
}

export interface ReconcileReport {
  nodes: NodeReport[];
  /** Kernel entries added, changed and removed by this pass (0 when already in sync). */
  added: number;
  changed: number;
  removed: number;
  /** Kernel writes that failed in this pass. */
  errors: number;
  durationMs: number;
}

/** One BGP peer as /status shows it (the BGP backend fills it). */
export interface BgpPeerReport {
  address: string;
  asn: number;
  /** RFC 4271 state name. */
  state: string;
  /** Seconds since Established. */
  uptimeSeconds?: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  /** Why the session last went down, e.g. "Hold Timer Expired (sent)". */
  lastError?: string;
  /** A registered node (mesh or reflector) or a configured router. */
  kind?: 'node' | 'external';
  /** Families negotiated (ipv4, ipv6). */
  families?: string[];
  /** BFD with this peer, when configured: RFC 5880 state and last diagnostic. */
  bfd?: { state: string; diagnostic: string };
  /** NOTIFICATIONs sent to and received from the peer since it was configured, keyed "code/subcode". */
  notificationsSent?: Record<string, number>;
  notificationsReceived?: Record<string, number>;
  /** Malformed UPDATEs from the peer that RFC 7606 handled without a reset, by the action taken. */
  updateErrors?: { attributeDiscard: number; treatAsWithdraw: number };
}

/** Inbound BGP connections closed before a session saw them, by why. */
export interface BgpConnectionsRejected {
  /** From an address that is not a configured peer. */
  unconfiguredAddress: number;
  /** From a peer that already had its connections open (a flood or a slowloris). */
  peerBusy: number;
  /** accept(2) failed (EMFILE, ENFILE, ENOMEM…). */
  acceptError: number;
}

/** Backend-specific facts for /status and `weft status`. */
export interface BackendDetails {
  bgp?: { asn: number; routerId: string; routeReflector?: string; peers: BgpPeerReport[]; connectionsRejected?: BgpConnectionsRejected };
}

export interface Backend {
  readonly type: BackendType;
  start(local: LocalNode): Promise<BackendStartResult>;
  claim(lease: Lease): Promise<void>;
  reconcile(remotes: RemoteNode[]): Promise<ReconcileReport>;
  stop(): Promise<void>;
  /**
   * Optional: the backend's state can change between reconciles (BGP routes arrive on their own);
   * the listener asks the daemon for a pass so its report and readiness follow.
   */
  onChange?(listener: () => void): void;
  /** Optional: backend-specific facts for /status (BGP peers). Cheap; called per request. */
  details?(): BackendDetails;
}
