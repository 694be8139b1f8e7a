// The view of one BGP session that the speaker needs, in RIB terms (prefix keys, attribute
// values, families), so the speaker and its tests do not depend on the codec's message shapes or
// on sockets. session-adapter.ts implements it over the real Session (src/bgp/session.ts); unit
// tests implement it in memory.
import type { AttributeValues } from './attributes.js';
import type { OutboundUpdate } from './adj-rib-out.js';
import type { Afi, PrefixKey } from './prefix.js';

/** One received UPDATE for one family (an UPDATE carrying IPv4 and MP IPv6 becomes two). */
export interface InboundUpdate {
  afi: Afi;
  withdraw: PrefixKey[];
  announce: PrefixKey[];
  /** Present when `announce` is non-empty. */
  attrs: AttributeValues | undefined;
  /** RFC 7606 treat-as-withdraw: the announced prefixes are to be withdrawn. */
  treatAsWithdraw?: boolean;
}

/** What was negotiated when the session reached Established. */
export interface EstablishedInfo {
  remoteRouterId: string;
  remoteAsn: number;
  /** Our address on the connection. */
  localAddress: string;
  families: Afi[];
  extendedMessages: boolean;
  routeRefresh: boolean;
  /** The peer's graceful-restart capability (RFC 4724), when it sent one. */
  gracefulRestart: { restartTime: number; restarted: boolean; families: { afi: Afi; forwardingPreserved: boolean }[] } | undefined;
}

export interface DownInfo {
  reason: string;
  /** The drop allows graceful-restart helper mode (TCP loss or hold-timer expiry, not a Cease we sent or got). */
  graceful: boolean;
}

export interface PeerSessionEvents {
  state: [state: string];
  established: [info: EstablishedInfo];
  down: [info: DownInfo];
  update: [update: InboundUpdate];
  endOfRib: [afi: Afi];
  routeRefresh: [afi: Afi];
}

/** What a peer's session has rejected or been told so far: the inputs for error counters. */
export interface PeerErrorCounts {
  /** NOTIFICATIONs by direction, keyed "code/subcode". */
  notificationsSent: Record<string, number>;
  notificationsReceived: Record<string, number>;
  /** Received UPDATEs handled by RFC 7606 without a reset, by the action taken. */
  updateErrors: { attributeDiscard: number; treatAsWithdraw: number };
}

export interface PeerSession {
  on<E extends keyof PeerSessionEvents>(event: E, listener: (...args: PeerSessionEvents[E]) => void): unknown;
  start(): void;
  /** Stop for good (peer removed or speaker stopping): Cease / Administrative Shutdown. */
  stop(): Promise<void> | void;
  send(updates: OutboundUpdate[]): void;
  sendEndOfRib(afi: Afi): void;
  sendRouteRefresh(afi: Afi): void;
  /** Close with a NOTIFICATION (e.g. Cease / Maximum Number of Prefixes Reached). */
  reset(code: number, subcode: number, data: Uint8Array): void;
  /** Counts since the session was made (optional: a session that cannot fail has none). */
  errorCounts?(): PeerErrorCounts;
}
