// The BGP-4 message and path-attribute types of the wire codec (RFC 4271 §4, §5; RFC 4760
// multiprotocol; RFC 5492 capabilities; RFC 6793 4-octet AS; RFC 2918/7313 route refresh;
// RFC 4724 graceful restart; RFC 8654 extended messages; RFC 7911 ADD-PATH (receive-side parse);
// RFC 1997/8092 communities; RFC 4456 route reflection; RFC 9003 shutdown communication).
//
// Plain data, no behaviour: message.ts and its body modules build and write these. Prefixes are compact
// to keep a 1M-prefix table cheap: an IPv4 prefix is the number `address * 64 + length`, an IPv6
// prefix its RFC 5952 text "addr/len" (the same keys the RIB uses). Deliberately not the RIB's
// model: this is what is on the wire.
import type { ErrorAction } from './errors.js';

/** RFC 4760 Address Family Identifiers and Subsequent AFIs we know by name. */
export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;
export const SAFI_MULTICAST = 2;

export interface AfiSafi {
  afi: number;
  safi: number;
}

/** IPv4 prefix: `address * 64 + length` (exact below 2^53, no allocation per prefix). */
export type Ipv4Prefix = number;
/** IPv6 prefix: canonical "addr/len" text. */
export type Ipv6Prefix = string;
export type Prefix = Ipv4Prefix | Ipv6Prefix;

// ---------------------------------------------------------------- messages (RFC 4271 §4.1)

export const MSG_OPEN = 1;
export const MSG_UPDATE = 2;
export const MSG_NOTIFICATION = 3;
export const MSG_KEEPALIVE = 4;
export const MSG_ROUTE_REFRESH = 5;

export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

/** RFC 6793 §9: the 2-octet stand-in for a 4-octet AS. */
export const AS_TRANS = 23456;

// ---------------------------------------------------------------- capabilities (RFC 5492)

export const CAP_MULTIPROTOCOL = 1;
export const CAP_ROUTE_REFRESH = 2;
export const CAP_EXTENDED_MESSAGE = 6;
export const CAP_GRACEFUL_RESTART = 64;
export const CAP_FOUR_OCTET_AS = 65;
export const CAP_ADD_PATH = 69;
export const CAP_ENHANCED_ROUTE_REFRESH = 70;

export interface MultiprotocolCapability {
  kind: 'multiprotocol';
  afi: number;
  safi: number;
}
export interface RouteRefreshCapability {
  kind: 'routeRefresh';
}
export interface EnhancedRouteRefreshCapability {
  kind: 'enhancedRouteRefresh';
}
export interface ExtendedMessageCapability {
  kind: 'extendedMessage';
}
export interface FourOctetAsCapability {
  kind: 'fourOctetAs';
  asn: number;
}
/** RFC 4724 §3. Restart flags: 0x8 = Restarting (R), 0x4 = Notification (N, RFC 8538). */
export interface GracefulRestartCapability {
  kind: 'gracefulRestart';
  restartFlags: number;
  /** Seconds, 12 bits. */
  restartTime: number;
  families: { afi: number; safi: number; forwardingPreserved: boolean }[];
}
export const GR_FLAG_RESTARTING = 0x8;
export const GR_FLAG_NOTIFICATION = 0x4;

/** RFC 7911 §4. sendReceive: 1 = receive, 2 = send, 3 = both. */
export interface AddPathCapability {
  kind: 'addPath';
  families: { afi: number; safi: number; sendReceive: number }[];
}
/** Any other capability: ignored but kept (RFC 5492 §3), re-encoded as received. */
export interface UnknownCapability {
  kind: 'unknown';
  code: number;
  value: Uint8Array;
}
export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | EnhancedRouteRefreshCapability
  | ExtendedMessageCapability
  | FourOctetAsCapability
  | GracefulRestartCapability
  | AddPathCapability
  | UnknownCapability;

// ---------------------------------------------------------------- OPEN (RFC 4271 §4.2)

export interface OpenMessage {
  type: 'open';
  version: number;
  /**
   * The real AS: the 4-octet AS capability's value when present, else the 2-octet My AS field.
   * Encoded as AS_TRANS in the 2-octet field when above 65535.
   */
  myAs: number;
  holdTime: number;
  /** Dotted quad. */
  bgpId: string;
  capabilities: Capability[];
}

// ---------------------------------------------------------------- path attributes (RFC 4271 §5)

export const ATTR_FLAG_OPTIONAL = 0x80;
export const ATTR_FLAG_TRANSITIVE = 0x40;
export const ATTR_FLAG_PARTIAL = 0x20;
export const ATTR_FLAG_EXTENDED_LENGTH = 0x10;

export const ATTR_ORIGIN = 1;
export const ATTR_AS_PATH = 2;
export const ATTR_NEXT_HOP = 3;
export const ATTR_MULTI_EXIT_DISC = 4;
export const ATTR_LOCAL_PREF = 5;
export const ATTR_ATOMIC_AGGREGATE = 6;
export const ATTR_AGGREGATOR = 7;
export const ATTR_COMMUNITIES = 8;
export const ATTR_ORIGINATOR_ID = 9;
export const ATTR_CLUSTER_LIST = 10;
export const ATTR_MP_REACH_NLRI = 14;
export const ATTR_MP_UNREACH_NLRI = 15;
export const ATTR_AS4_PATH = 17;
export const ATTR_AS4_AGGREGATOR = 18;
export const ATTR_LARGE_COMMUNITY = 32;

export const ORIGIN_IGP = 0;
export const ORIGIN_EGP = 1;
export const ORIGIN_INCOMPLETE = 2;
export type Origin = 0 | 1 | 2;

export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const AS_CONFED_SEQUENCE = 3;
export const AS_CONFED_SET = 4;
export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';
export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

/** RFC 1997 well-known communities (32-bit: high 16 bits AS, low 16 bits value). */
export const COMMUNITY_NO_EXPORT = 0xffffff01;
export const COMMUNITY_NO_ADVERTISE = 0xffffff02;
export const COMMUNITY_NO_EXPORT_SUBCONFED = 0xffffff03;
/** RFC 3765. */
export const COMMUNITY_NO_PEER = 0xffffff04;

export type LargeCommunity = [globalAdmin: number, local1: number, local2: number];

export interface Aggregator {
  asn: number;
  address: string;
}

/** RFC 4760 §3. For IPv4/IPv6 unicast the prefixes are decoded; other families keep raw bytes. */
export interface MpReachNlri {
  afi: number;
  safi: number;
  /** IPv4 or IPv6 global next hop text ('' for an unknown family: see nextHopRaw). */
  nextHop: string;
  /** RFC 2545: the link-local address of a 32-byte IPv6 next hop. */
  nextHopLinkLocal?: string;
  nlri: Prefix[];
  /** RFC 7911 path identifiers, parallel to nlri, when ADD-PATH is on for this family. */
  pathIds?: number[];
  /** Next hop and NLRI bytes of a family this codec does not decode. */
  nextHopRaw?: Uint8Array;
  nlriRaw?: Uint8Array;
}

export interface MpUnreachNlri {
  afi: number;
  safi: number;
  withdrawn: Prefix[];
  pathIds?: number[];
  withdrawnRaw?: Uint8Array;
}

/** An attribute this codec does not interpret (optional transitive: passed on, Partial set). */
export interface RawAttribute {
  flags: number;
  type: number;
  value: Uint8Array;
}

/**
 * The path attributes of one UPDATE, one field per known attribute. With a 2-octet peer, AS_PATH
 * and AGGREGATOR here are already merged with AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.3); encode
 * splits them again.
 */
export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  /** IPv4 NEXT_HOP attribute, dotted quad. */
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  mpReach?: MpReachNlri;
  mpUnreach?: MpUnreachNlri;
  largeCommunities?: LargeCommunity[];
  /** Unknown attributes kept (optional transitive), in the order received. */
  unknown?: RawAttribute[];
}

// ---------------------------------------------------------------- UPDATE (RFC 4271 §4.3)

export interface UpdateMessage {
  type: 'update';
  /** IPv4 unicast Withdrawn Routes. */
  withdrawn: Ipv4Prefix[];
  withdrawnPathIds?: number[];
  attributes: PathAttributes;
  /** IPv4 unicast NLRI. */
  nlri: Ipv4Prefix[];
  nlriPathIds?: number[];
  /**
   * Decode only: the RFC 7606 outcome when something was wrong but the session survives. With
   * TreatAsWithdraw every prefix in nlri and mpReach must be handled as withdrawn. Never
   * SessionReset: a reset is thrown as a BgpError instead.
   */
  errors?: UpdateErrorReport;
}

/** Decode-time report of RFC 7606 errors in one UPDATE; `action` is the strongest seen. */
export interface UpdateErrorReport {
  /** The strongest action of the problems below. */
  action: ErrorAction;
  /** One entry per problem: NOTIFICATION-style code/subcode/data and the action it called for. */
  problems: { code: number; subcode: number; data: Uint8Array; action: ErrorAction; reason: string }[];
}

// ---------------------------------------------------------------- NOTIFICATION (RFC 4271 §4.5)

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Uint8Array;
  /**
   * RFC 9003 shutdown communication of a Cease/Administrative Shutdown or Reset. On encode, when
   * present it replaces data (length octet + UTF-8, at most 255 octets).
   */
  shutdownMessage?: string;
}

// ---------------------------------------------------------------- KEEPALIVE, ROUTE-REFRESH

export interface KeepaliveMessage {
  type: 'keepalive';
}

/** RFC 2918; subtype per RFC 7313: 0 normal request, 1 BoRR, 2 EoRR. */
export interface RouteRefreshMessage {
  type: 'routeRefresh';
  afi: number;
  safi: number;
  subtype: number;
}
export const ROUTE_REFRESH_NORMAL = 0;
export const ROUTE_REFRESH_BORR = 1;
export const ROUTE_REFRESH_EORR = 2;

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
