// Who a peer is to us, as the import and export rules need it: internal or external (RFC 4271
// §9.1.1, §9.2), route-reflector client or not (RFC 4456), and the addresses we use as next hop
// toward it. Shared by import.ts, export.ts and the speaker.
import type { PeerPolicy } from '../policy.js';
import type { PathSource } from './path.js';

/** Our own identity, for loop detection and the attributes we add. */
export interface LocalIdentity {
  asn: number;
  /** BGP identifier, dotted quad. */
  routerId: string;
  /** RFC 4456 cluster ID (default: the router ID). */
  clusterId: string;
}

export interface PeerRole {
  readonly source: PathSource;
  readonly policy: PeerPolicy;
  /** Always put our address in NEXT_HOP toward this (internal) peer. */
  readonly nextHopSelf: boolean;
  /** Our IPv4 next hop toward this peer (the session's local address when it runs over IPv4). */
  readonly localIpv4: string | undefined;
  /** Our global IPv6 next hop toward this peer. */
  readonly localIpv6: string | undefined;
  /** We are a route reflector (some peer is an RR client). */
  readonly reflector: boolean;
}

/** Source of our own announcements in the decision process and the export rules. */
export const LOCAL_SOURCE_ID = 'local';
