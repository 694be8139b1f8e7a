// One BGP peer's session: the RFC 4271 §8 FSM (fsm.ts) wired to the TCP transport (transport/),
// with our OPEN built from configuration (RFC 5492 capabilities: RFC 4760 IPv4/IPv6 unicast,
// RFC 6793 4-octet AS, RFC 2918 route refresh, RFC 8654 extended messages, RFC 4724 graceful
// restart), RFC 9003 shutdown communication on stop(), and counters. This is the API the speaker
// builds on; it knows nothing of RIBs or policy.
//
//   const s = new Session({ peerAddress, peerAs, localAs, routerId }, { listener });
//   s.on('established', (negotiated) => …); s.on('update', (update, outcome) => …);
//   s.start(); … s.send(update); … await s.stop('maintenance');
//
// Events: stateChange {from,to,reason,detail}, established (Negotiated), down ({reason, graceful,
// notification}), update (decoded UPDATE + its RFC 7606 outcome: None, AttributeDiscard or
// TreatAsWithdraw — a session-reset UPDATE never arrives, it resets), routeRefresh,
// notificationSent / notificationReceived.
import { EventEmitter } from 'node:events';
import { BgpState, Fsm, type FsmEvents, type FsmLogger } from './fsm.js';
import type { Negotiated } from './negotiated.js';
import { systemClock, type Clock } from './timer.js';
import { TcpDialer } from './transport/dial.js';
import { BGP_PORT, type ListenerPeer } from './transport/listener.js';
import type { BgpConnection, Dialer } from './transport/types.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  ErrorAction,
  GR_FLAG_RESTARTING,
  SAFI_UNICAST,
  ROUTE_REFRESH_NORMAL,
  BGP_VERSION,
  type BgpMessage,
  type Capability,
  type OpenMessage,
  type UpdateMessage,
} from './wire/index.js';

export type SessionFamily = 'ipv4' | 'ipv6';

export interface SessionConfig {
  peerAddress: string;
  peerAs: number;
  localAs: number;
  /** Our BGP Identifier, dotted quad. */
  routerId: string;
  /** TCP port of the peer (and the one it reaches us on via the listener). Default 179. */
  port?: number;
  /** Never connect; wait for the peer. */
  passive?: boolean;
  /** Proposed hold time, seconds: 0 (no keepalives) or ≥ 3. Default 90. */
  holdTime?: number;
  /** Default: a third of the negotiated hold time. */
  keepaliveTime?: number;
  /** Default 120 s (RFC 4271 §10). */
  connectRetryTime?: number;
  /** RFC 2385 TCP-MD5 password. */
  password?: string;
  /** RFC 5082 GTSM: the peer is at most this many hops away (1 = directly connected). */
  ttlSecurity?: number;
  /** eBGP multihop: TTL of our packets (without GTSM). */
  multihop?: number;
  localAddress?: string;
  /** Default both. */
  families?: SessionFamily[];
  /** RFC 4724: advertise the capability (restarting = we just restarted, R bit). */
  gracefulRestart?: { restartTime: number; forwardingPreserved: boolean; restarting?: boolean };
  /** RFC 8654. Default true. */
  extendedMessage?: boolean;
  /** Idle hold after an error: first value, cap and the Established time that resets it (s). */
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  idleHoldResetTime?: number;
  /** Default 240 s. */
  openSentHoldTime?: number;
  /** eBGP: refuse routes whose AS_PATH does not start with the peer's AS (default true; false for a route server). */
  enforceFirstAs?: boolean;
}

/** Where an inbound connection for this peer comes from (a BgpListener, shared by sessions). */
export interface PeerRegistry {
  addPeer(address: string, peer: ListenerPeer): void;
  removePeer(address: string): void;
}

export interface SessionDeps {
  listener?: PeerRegistry;
  /** Default: TCP with MD5/TTL from the config. */
  dialer?: Dialer;
  clock?: Clock;
  log?: FsmLogger;
}

type MessageType = BgpMessage['type'];
const zeroCounts = (): Record<MessageType, number> => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 });

export interface SessionStats {
  messagesIn: Record<MessageType, number>;
  messagesOut: Record<MessageType, number>;
  octetsOut: number;
  /** Milliseconds in Established (0 when not). */
  uptime: number;
  establishedTransitions: number;
  lastError: { direction: 'sent' | 'received' | 'local'; code?: number; subcode?: number; reason: string; at: number } | undefined;
  /** NOTIFICATIONs since the session was made, keyed "code/subcode" (e.g. "3/1"). */
  notificationsSent: Record<string, number>;
  notificationsReceived: Record<string, number>;
  /** Received UPDATEs that RFC 7606 let the session survive, by the action taken. */
  updateErrors: { attributeDiscard: number; treatAsWithdraw: number };
}

/** One more NOTIFICATION of this code/subcode in a `SessionStats` tally. */
function tally(counts: Record<string, number>, n: { code: number; subcode: number }): void {
  const key = `${n.code}/${n.subcode}`;
  counts[key] = (counts[key] ?? 0) + 1;
}

/** The FSM's events a session re-emits; per-message counts stay internal (they feed `stats`). */
export type SessionEvents = Omit<FsmEvents, 'messageIn' | 'messageOut'>;

const AFI: Record<SessionFamily, number> = { ipv4: AFI_IPV4, ipv6: AFI_IPV6 };

/** Our OPEN for this configuration. */
export function buildOpen(c: SessionConfig): OpenMessage {
  const families = c.families ?? ['ipv4', 'ipv6'];
  const caps: Capability[] = families.map((f) => ({ kind: 'multiprotocol', afi: AFI[f], safi: SAFI_UNICAST }));
  caps.push({ kind: 'routeRefresh' }, { kind: 'fourOctetAs', asn: c.localAs });
  if (c.extendedMessage !== false) caps.push({ kind: 'extendedMessage' });
  const gr = c.gracefulRestart;
  if (gr !== undefined) {
    caps.push({
      kind: 'gracefulRestart',
      restartFlags: gr.restarting === true ? GR_FLAG_RESTARTING : 0,
      restartTime: Math.min(gr.restartTime, 4095),
      families: families.map((f) => ({ afi: AFI[f], safi: SAFI_UNICAST, forwardingPreserved: gr.forwardingPreserved })),
    });
  }
  return { type: 'open', version: BGP_VERSION, myAs: c.localAs, holdTime: c.holdTime ?? 90, bgpId: c.routerId, capabilities: caps };
}

export class Session extends EventEmitter<SessionEvents> {
  readonly fsm: Fsm;
  private readonly counters = {
    messagesIn: zeroCounts(),
    messagesOut: zeroCounts(),
    octetsOut: 0,
    establishedTransitions: 0,
    notificationsSent: {} as Record<string, number>,
    notificationsReceived: {} as Record<string, number>,
    updateErrors: { attributeDiscard: 0, treatAsWithdraw: 0 },
  };
  private lastError: SessionStats['lastError'];
  private registered = false;
  private readonly clock: Clock;

  constructor(
    readonly config: SessionConfig,
    private readonly deps: SessionDeps = {},
  ) {
    super();
    this.clock = deps.clock ?? systemClock;
    if (config.passive === true && deps.listener === undefined) throw new Error(`session ${config.peerAddress}: a passive peer needs a listener`);
    const dialer =
      config.passive === true
        ? undefined
        : (deps.dialer ??
          new TcpDialer({
            remoteAddress: config.peerAddress,
            port: config.port ?? BGP_PORT,
            localAddress: config.localAddress,
            password: config.password,
            ttlSecurity: config.ttlSecurity,
            multihop: config.multihop,
          }));
    this.fsm = new Fsm(
      {
        peerAddress: config.peerAddress,
        localAs: config.localAs,
        peerAs: config.peerAs,
        routerId: config.routerId,
        holdTime: config.holdTime ?? 90,
        keepaliveTime: config.keepaliveTime,
        connectRetryTime: config.connectRetryTime ?? 120,
        openSentHoldTime: config.openSentHoldTime ?? 240,
        passive: config.passive === true,
        idleHoldTime: config.idleHoldTime ?? 5,
        idleHoldMaxTime: config.idleHoldMaxTime ?? 120,
        idleHoldResetTime: config.idleHoldResetTime ?? 60,
        localOpen: buildOpen(config),
        ...(config.enforceFirstAs !== undefined ? { enforceFirstAs: config.enforceFirstAs } : {}),
      },
      dialer,
      this.clock,
      deps.log,
    );
    this.wire();
  }

  private wire(): void {
    const f = this.fsm;
    f.on('stateChange', (c) => {
      if (c.to === BgpState.Established) this.counters.establishedTransitions++;
      this.emit('stateChange', c);
    });
    f.on('established', (n) => this.emit('established', n));
    f.on('down', (d) => {
      if (d.notificationSent === undefined && d.notificationReceived === undefined) this.lastError = { direction: 'local', reason: `${d.reason}: ${d.detail}`, at: this.clock.now() };
      this.emit('down', d);
    });
    f.on('update', (u, outcome) => {
      if (outcome === ErrorAction.AttributeDiscard) this.counters.updateErrors.attributeDiscard++;
      else if (outcome === ErrorAction.TreatAsWithdraw) this.counters.updateErrors.treatAsWithdraw++;
      this.emit('update', u, outcome);
    });
    f.on('routeRefresh', (m) => this.emit('routeRefresh', m));
    f.on('notificationSent', (n) => {
      this.lastError = { direction: 'sent', code: n.code, subcode: n.subcode, reason: n.shutdownMessage ?? '', at: this.clock.now() };
      tally(this.counters.notificationsSent, n);
      this.emit('notificationSent', n);
    });
    f.on('notificationReceived', (n) => {
      this.lastError = { direction: 'received', code: n.code, subcode: n.subcode, reason: n.shutdownMessage ?? '', at: this.clock.now() };
      tally(this.counters.notificationsReceived, n);
      this.emit('notificationReceived', n);
    });
    f.on('messageIn', (t) => this.counters.messagesIn[t]++);
    f.on('messageOut', (t, octets) => {
      this.counters.messagesOut[t]++;
      this.counters.octetsOut += octets;
    });
  }

  get state(): BgpState {
    return this.fsm.state;
  }

  /** What the OPENs agreed on; undefined before OpenConfirm and after the session went down. */
  get negotiated(): Negotiated | undefined {
    return this.fsm.negotiated;
  }

  get stats(): SessionStats {
    return {
      messagesIn: { ...this.counters.messagesIn },
      messagesOut: { ...this.counters.messagesOut },
      octetsOut: this.counters.octetsOut,
      uptime: this.fsm.uptime,
      establishedTransitions: this.counters.establishedTransitions,
      lastError: this.lastError,
      notificationsSent: { ...this.counters.notificationsSent },
      notificationsReceived: { ...this.counters.notificationsReceived },
      updateErrors: { ...this.counters.updateErrors },
    };
  }

  start(): void {
    if (!this.registered && this.deps.listener !== undefined) {
      const peer: ListenerPeer = { accept: (conn) => this.acceptConnection(conn) };
      if (this.config.password !== undefined) peer.password = this.config.password;
      if (this.config.ttlSecurity !== undefined) peer.ttlSecurity = this.config.ttlSecurity;
      this.deps.listener.addPeer(this.config.peerAddress, peer);
      this.registered = true;
    }
    this.fsm.start();
  }

  /**
   * Stop for good: Cease / Administrative Shutdown carrying `message` as the RFC 9003 shutdown
   * communication, then close. The NOTIFICATION is queued before the close, so it goes out first;
   * resolves once the connection has closed (at most ~2 s).
   */
  async stop(message?: string): Promise<void> {
    if (this.registered) {
      this.deps.listener?.removePeer(this.config.peerAddress);
      this.registered = false;
    }
    await this.fsm.stop(message);
  }

  /** Close with a NOTIFICATION of our choosing and restart after the idle hold. */
  reset(code: number, subcode: number, data?: Uint8Array): void {
    this.fsm.reset(code, subcode, data);
  }

  /** An inbound connection from this peer (the listener calls this). */
  acceptConnection(conn: BgpConnection): void {
    this.fsm.acceptConnection(conn);
  }

  /** Send an UPDATE; false when not Established. Throws RangeError when it exceeds the message size. */
  send(update: UpdateMessage): boolean {
    return this.fsm.sendEstablished(update);
  }

  /** RFC 2918 ROUTE-REFRESH (only when the peer advertised the capability). */
  sendRouteRefresh(family: SessionFamily, subtype = ROUTE_REFRESH_NORMAL): boolean {
    if (this.negotiated?.routeRefresh !== true) return false;
    return this.fsm.sendEstablished({ type: 'routeRefresh', afi: AFI[family], safi: SAFI_UNICAST, subtype });
  }
}
