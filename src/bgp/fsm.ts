// The BGP-4 finite state machine of one peer (RFC 4271 §8): Idle, Connect, Active, OpenSent,
// OpenConfirm, Established, driven by administrative, timer, TCP and message events. As in GoBGP's
// fsm.go there is ONE handler per state; it does the state's work (send, arm timers) and returns
// the next state with a reason from a fixed enum, which the FSM logs and reports.
//
// Covered: ConnectRetry / Hold / Keepalive timers (RFC 4271 §10), the large OpenSent hold (4 min),
// hold time negotiation (minimum; 0 = no hold and no keepalives; 1–2 refused with OPEN Error
// Unacceptable Hold Time), idle hold with exponential backoff (DampPeerOscillations, §8.1.1),
// passive peers, connection collision detection (§6.8, BGP Identifier then AS as RFC 6286 says),
// NOTIFICATION before close on every error, FSM errors with RFC 6608 subcodes, RFC 7606 UPDATE
// outcomes handed up instead of a reset, and the RFC 4724 rule that a new OPEN from a peer with
// graceful restart replaces its Established session.
//
// Collisions (both ends dialling at once, as in a full mesh when a node joins) never wait for a
// timer: an in-flight dial is not cancelled when the peer's connection arrives (the peer may
// already be using it) but kept as the candidate; when the primary connection is lost or the
// peer's Cease 6/7 says it kept the other one, the session continues on the candidate or the
// pending dial; an OPEN on the primary in OpenSent, while a candidate is held that §6.8 keeps,
// decides at once (Cease 6/7, no KEEPALIVE that could take the peer to Established on a connection
// about to close); and in Established an OPEN on a candidate that §6.8 would keep is left
// unanswered until the peer shows whether it moved (see holdCandidate). With nothing left, a lost collision
// listens in Active and redials after about a second (jittered), not after the idle hold.
// Not covered: DelayOpen, ConnectRetry jitter for the configured ConnectRetry timer.
//
// Pure logic: connections, the dialer and the clock are injected (src/bgp/transport/types.ts,
// src/bgp/timer.ts), so every transition is unit-testable without sockets.
import { EventEmitter } from 'node:events';
import { negotiate, type Negotiated } from './negotiated.js';
import { Timer, systemClock, type Clock } from './timer.js';
import type { BgpConnection, DialAttempt, Dialer } from './transport/types.js';
import {
  CEASE_ADMINISTRATIVE_SHUTDOWN,
  CEASE_CONNECTION_COLLISION_RESOLUTION,
  ERR_CEASE,
  ERR_FSM,
  ERR_HOLD_TIMER_EXPIRED,
  ErrorAction,
  FSM_UNEXPECTED_IN_ESTABLISHED,
  FSM_UNEXPECTED_IN_OPENCONFIRM,
  FSM_UNEXPECTED_IN_OPENSENT,
  ipv4FromText,
  validateOpen,
  type BgpError,
  type BgpMessage,
  notificationName,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from './wire/index.js';

export enum BgpState {
  Idle = 'Idle',
  Connect = 'Connect',
  Active = 'Active',
  OpenSent = 'OpenSent',
  OpenConfirm = 'OpenConfirm',
  Established = 'Established',
}

/** Why a transition happened (logged and reported with every stateChange). */
export enum TransitionReason {
  ManualStart = 'manual-start',
  ManualStop = 'manual-stop',
  IdleHoldExpired = 'idle-hold-expired',
  ConnectRetryExpired = 'connect-retry-expired',
  TcpConnected = 'tcp-connected',
  TcpAccepted = 'tcp-accepted',
  TcpFailed = 'tcp-connect-failed',
  ConnectionClosed = 'connection-closed',
  OpenReceived = 'open-received',
  OpenRejected = 'open-rejected',
  KeepaliveReceived = 'keepalive-received',
  HoldTimerExpired = 'hold-timer-expired',
  NotificationReceived = 'notification-received',
  DecodeError = 'decode-error',
  UpdateError = 'update-error',
  FsmError = 'fsm-error',
  CollisionLost = 'collision-lost',
  PeerRestarted = 'peer-restarted',
  Reset = 'reset',
}

export interface StateChange {
  from: BgpState;
  to: BgpState;
  reason: TransitionReason;
  detail?: string;
}

export interface FsmConfig {
  /** For logs only. */
  peerAddress: string;
  localAs: number;
  peerAs: number;
  routerId: string;
  /** Proposed hold time, seconds: 0 or ≥ 3. */
  holdTime: number;
  /** Keepalive interval; default (and at most) a third of the negotiated hold time. */
  keepaliveTime?: number;
  connectRetryTime: number;
  /** Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes). */
  openSentHoldTime: number;
  /** Never initiate: wait for the peer to connect. */
  passive: boolean;
  /** DampPeerOscillations: first idle hold after an error, doubled per flap up to max (seconds). */
  idleHoldTime: number;
  idleHoldMaxTime: number;
  /** Established this long (seconds) counts as stable: the backoff starts again from the first step. */
  idleHoldResetTime: number;
  /** Our OPEN (capabilities are the session's business). */
  localOpen: OpenMessage;
  /**
   * External peers: their AS_PATH must start with their own AS (RFC 4271 §6.3), else the route is
   * treat-as-withdraw (RFC 7606 §7.2). Default true: an eBGP peer that does not prepend could
   * otherwise tie with an iBGP path and win on "eBGP over iBGP". False only for a route server.
   */
  enforceFirstAs?: boolean;
}

export interface FsmLogger {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface DownInfo {
  reason: TransitionReason;
  detail: string;
  /** The drop leaves graceful-restart helper mode possible (TCP loss, hold expiry, peer restart). */
  graceful: boolean;
  notificationSent?: NotificationMessage;
  notificationReceived?: NotificationMessage;
}

export interface FsmEvents {
  stateChange: [change: StateChange];
  established: [negotiated: Negotiated];
  down: [info: DownInfo];
  update: [update: UpdateMessage, outcome: ErrorAction];
  routeRefresh: [message: RouteRefreshMessage];
  notificationSent: [n: NotificationMessage];
  notificationReceived: [n: NotificationMessage];
  messageIn: [type: BgpMessage['type']];
  messageOut: [type: BgpMessage['type'], octets: number];
}

/** Events that feed the state handlers (RFC 4271 §8.1, grouped). */
type FsmEvent =
  | { kind: 'manualStart' }
  | { kind: 'stop'; notification: NotificationMessage; reason: TransitionReason; restart: boolean }
  | { kind: 'idleHoldExpired' }
  | { kind: 'connectRetryExpired' }
  | { kind: 'holdExpired' }
  | { kind: 'keepaliveExpired' }
  | { kind: 'tcpConnected'; conn: BgpConnection }
  | { kind: 'tcpFailed'; reason: string }
  | { kind: 'tcpAccepted'; conn: BgpConnection }
  | { kind: 'message'; message: BgpMessage }
  | { kind: 'decodeError'; error: BgpError }
  | { kind: 'closed'; reason: string };

interface Transition {
  next: BgpState;
  reason: TransitionReason;
  detail?: string;
}

/**
 * How long to wait before dialling again after losing a collision with nothing left to go on with
 * (seconds): short, since the peer is up and talking to us, and jittered (RFC 4271 §10: 0.75–1 of
 * the value) so that two nodes in this state do not dial each other in lockstep again.
 */
const collisionRetrySeconds = (): number => 1 * (0.75 + Math.random() * 0.25);

const isCollisionCease = (m: NotificationMessage): boolean => m.code === ERR_CEASE && m.subcode === CEASE_CONNECTION_COLLISION_RESOLUTION;

const notification = (code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): NotificationMessage => ({ type: 'notification', code, subcode, data });

export class Fsm extends EventEmitter<FsmEvents> {
  private stateValue = BgpState.Idle;
  private conn: BgpConnection | undefined;
  /** A second connection (the peer's, or our dial completing late) until its OPEN decides the collision (§6.8). */
  private candidate: BgpConnection | undefined;
  /** The peer's OPEN on the candidate, held unanswered while Established (see holdCandidate). */
  private candidateOpen: OpenMessage | undefined;
  private dialing: DialAttempt | undefined;
  private negotiatedValue: Negotiated | undefined;
  private running = false;
  private flaps = 0;
  private establishedAt = 0;
  private lastNotificationSent: NotificationMessage | undefined;
  private lastNotificationReceived: NotificationMessage | undefined;
  private readonly connectRetry: Timer;
  private readonly hold: Timer;
  private readonly keepalive: Timer;
  private readonly idleHold: Timer;

  constructor(
    readonly config: FsmConfig,
    private readonly dialer: Dialer | undefined,
    private readonly clock: Clock = systemClock,
    private readonly log?: FsmLogger,
  ) {
    super();
    if (config.holdTime !== 0 && config.holdTime < 3) throw new RangeError(`hold time ${config.holdTime}: must be 0 or at least 3 (RFC 4271 §4.2)`);
    if (!config.passive && dialer === undefined) throw new Error('an active peer needs a dialer');
    this.connectRetry = new Timer('connect-retry', clock, () => this.dispatch({ kind: 'connectRetryExpired' }));
    this.hold = new Timer('hold', clock, () => this.dispatch({ kind: 'holdExpired' }));
    this.keepalive = new Timer('keepalive', clock, () => this.dispatch({ kind: 'keepaliveExpired' }));
    this.idleHold = new Timer('idle-hold', clock, () => this.dispatch({ kind: 'idleHoldExpired' }));
  }

  get state(): BgpState {
    return this.stateValue;
  }

  /** Set on the way into OpenConfirm; cleared in Idle. */
  get negotiated(): Negotiated | undefined {
    return this.negotiatedValue;
  }

  /** Milliseconds in Established, 0 when not. */
  get uptime(): number {
    return this.stateValue === BgpState.Established ? this.clock.now() - this.establishedAt : 0;
  }

  /** The idle hold (seconds) the next automatic restart will wait. */
  get nextIdleHold(): number {
    return Math.min(this.config.idleHoldTime * 2 ** this.flaps, this.config.idleHoldMaxTime);
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** ManualStart (Event 1) or, when passive, ManualStart_with_PassiveTcpEstablishment (Event 4). */
  start(): void {
    this.running = true;
    this.dispatch({ kind: 'manualStart' });
  }

  /**
   * ManualStop (Event 2): Cease / Administrative Shutdown with an RFC 9003 message; stays Idle.
   * Resolves when the connections are closed (the NOTIFICATION flushed), or after `flushMs`.
   */
  async stop(shutdownMessage?: string, flushMs = 2000): Promise<void> {
    this.running = false;
    const n = notification(ERR_CEASE, CEASE_ADMINISTRATIVE_SHUTDOWN);
    if (shutdownMessage !== undefined) n.shutdownMessage = shutdownMessage;
    const open = [this.conn, this.candidate].flatMap((c) => (c?.whenClosed !== undefined ? [c.whenClosed()] : []));
    this.dispatch({ kind: 'stop', notification: n, reason: TransitionReason.ManualStop, restart: false });
    if (open.length === 0) return;
    let timer: unknown;
    await Promise.race([Promise.all(open), new Promise((r) => (timer = this.clock.setTimeout(() => r(undefined), flushMs)))]);
    this.clock.clearTimeout(timer);
  }

  /** Close with this NOTIFICATION (e.g. Cease / Maximum Prefixes) and restart after the idle hold. */
  reset(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): void {
    this.dispatch({ kind: 'stop', notification: notification(code, subcode, data), reason: TransitionReason.Reset, restart: true });
  }

  /** An inbound connection from this peer's address (the listener already checked it is ours). */
  acceptConnection(conn: BgpConnection): void {
    this.dispatch({ kind: 'tcpAccepted', conn });
  }

  /** Send a message that only Established allows (UPDATE, ROUTE-REFRESH). */
  sendEstablished(m: UpdateMessage | RouteRefreshMessage): boolean {
    if (this.stateValue !== BgpState.Established || this.conn === undefined) return false;
    this.send(this.conn, m);
    // RFC 4271 §10: sending an UPDATE restarts the KeepaliveTimer.
    if (m.type === 'update' && this.negotiatedValue !== undefined) this.keepalive.start(this.negotiatedValue.keepaliveTime);
    return true;
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  private dispatch(ev: FsmEvent): void {
    const from = this.stateValue;
    let t: Transition | undefined;
    switch (from) {
      case BgpState.Idle:
        t = this.idle(ev);
        break;
      case BgpState.Connect:
        t = this.connect(ev);
        break;
      case BgpState.Active:
        t = this.active(ev);
        break;
      case BgpState.OpenSent:
        t = this.openSent(ev);
        break;
      case BgpState.OpenConfirm:
        t = this.openConfirm(ev);
        break;
      case BgpState.Established:
        t = this.established(ev);
        break;
    }
    if (t !== undefined) this.transition(from, t, ev);
  }

  private transition(from: BgpState, t: Transition, ev: FsmEvent): void {
    const change: StateChange = { from, to: t.next, reason: t.reason };
    if (t.detail !== undefined) change.detail = t.detail;
    this.stateValue = t.next;
    if (from === BgpState.Established && t.next !== BgpState.Established) {
      const info: DownInfo = {
        reason: t.reason,
        detail: t.detail ?? t.reason,
        graceful: [TransitionReason.ConnectionClosed, TransitionReason.HoldTimerExpired, TransitionReason.PeerRestarted].includes(t.reason),
      };
      if (ev.kind === 'message' && ev.message.type === 'notification') info.notificationReceived = ev.message;
      else if (this.lastNotificationSent !== undefined) info.notificationSent = this.lastNotificationSent;
      // A session that stayed up long enough is not flapping: start the backoff again.
      if (this.clock.now() - this.establishedAt >= this.config.idleHoldResetTime * 1000) this.flaps = 0;
      this.emit('down', info);
    }
    if (t.next === BgpState.Idle) this.enterIdle(from !== BgpState.Idle && t.reason !== TransitionReason.ManualStop && t.reason !== TransitionReason.ManualStart);
    if (t.next === BgpState.Established && from !== BgpState.Established) {
      this.establishedAt = this.clock.now();
      // The peer sent its KEEPALIVE on this connection, so it is the peer's connection too: a dial
      // of ours still in flight can only be the peer's collision candidate, and is not needed.
      this.dialing?.cancel();
      this.dialing = undefined;
    }
    if (from !== t.next || t.reason === TransitionReason.PeerRestarted || t.reason === TransitionReason.CollisionLost) {
      this.log?.info({ peer: this.config.peerAddress, from, to: t.next, reason: t.reason, detail: t.detail }, 'bgp state change');
      this.emit('stateChange', change);
    }
    if (t.next === BgpState.Established && from !== BgpState.Established && this.negotiatedValue !== undefined) this.emit('established', this.negotiatedValue);
    this.lastNotificationSent = undefined;
  }

  /** Release everything; schedule the automatic restart unless stopped. */
  private enterIdle(failed: boolean): void {
    this.connectRetry.stop();
    this.hold.stop();
    this.keepalive.stop();
    this.idleHold.stop();
    this.dialing?.cancel();
    this.dialing = undefined;
    this.conn?.close();
    this.conn = undefined;
    this.candidate?.close();
    this.candidate = undefined;
    this.negotiatedValue = undefined;
    if (!this.running) return;
    const wait = this.nextIdleHold;
    if (failed) this.flaps++;
    this.idleHold.start(wait);
  }

  // ---- helpers used by the handlers ---------------------------------------------------------------

  private send(conn: BgpConnection, m: BgpMessage): void {
    const octets = conn.send(m);
    this.emit('messageOut', m.type, octets);
  }

  /** NOTIFICATION first, then close (RFC 4271 §6). */
  private notifyAndClose(conn: BgpConnection, n: NotificationMessage): void {
    this.send(conn, n);
    conn.close();
    this.lastNotificationSent = n;
    this.emit('notificationSent', n);
  }

  /** Send on the primary connection and go Idle. */
  private fail(n: NotificationMessage, reason: TransitionReason, detail: string): Transition {
    if (this.conn !== undefined) this.notifyAndClose(this.conn, n);
    this.conn = undefined;
    return { next: BgpState.Idle, reason, detail };
  }

  private adopt(conn: BgpConnection): void {
    this.conn = conn;
    conn.attach({
      message: (message) => this.fromConn(conn, { kind: 'message', message }),
      decodeError: (error) => this.fromConn(conn, { kind: 'decodeError', error }),
      closed: (reason) => this.fromConn(conn, { kind: 'closed', reason }),
    });
  }

  /** Events from a connection that is no longer ours (closed, replaced) are dropped. */
  private fromConn(conn: BgpConnection, ev: FsmEvent): void {
    if (ev.kind === 'message') this.emit('messageIn', ev.message.type);
    if (conn === this.conn) this.dispatch(ev);
    else if (conn === this.candidate) this.candidateEvent(conn, ev);
  }

  /**
   * Connection established: send our OPEN, wait for theirs under the large hold (§8.2.2). A dial
   * still in flight is left running: when both ends dial at once, its connect may already have
   * completed in the kernel and the peer may be using it as ITS connection, so cancelling it would
   * reset the connection the peer chose. If it completes, it becomes the collision candidate.
   */
  private openSentWith(conn: BgpConnection, reason: TransitionReason): Transition {
    this.connectRetry.stop();
    this.adopt(conn);
    this.send(conn, this.config.localOpen);
    this.hold.start(this.config.openSentHoldTime);
    return { next: BgpState.OpenSent, reason, detail: `${conn.direction} ${conn.remoteAddress}` };
  }

  private dial(): void {
    this.dialing?.cancel();
    this.dialing = this.dialer?.dial({
      connected: (conn) => {
        this.dialing = undefined;
        this.dispatch({ kind: 'tcpConnected', conn });
      },
      failed: (reason) => {
        this.dialing = undefined;
        this.dispatch({ kind: 'tcpFailed', reason });
      },
    });
  }

  /** The peer's OPEN is well-formed; is it acceptable? Returns the NOTIFICATION otherwise. */
  private checkOpen(open: OpenMessage): BgpError | undefined {
    return validateOpen(open, { peerAs: this.config.peerAs, localAs: this.config.localAs, localBgpId: this.config.routerId, minHoldTime: 3 });
  }

  /** Accept the peer's OPEN on the primary connection: KEEPALIVE, timers, OpenConfirm. */
  private acceptOpen(open: OpenMessage, reason: TransitionReason): Transition {
    const conn = this.conn!;
    const n = negotiate(this.config.localOpen, open, this.config.keepaliveTime, { localAddress: conn.localAddress, remoteAddress: conn.remoteAddress });
    if (n.codec.peer?.external === true && this.config.enforceFirstAs !== false) n.codec = { ...n.codec, peer: { ...n.codec.peer, enforceFirstAs: open.myAs } };
    this.negotiatedValue = n;
    conn.setOptions(n.codec);
    this.send(conn, { type: 'keepalive' });
    this.keepalive.start(n.keepaliveTime);
    this.hold.start(n.holdTime);
    return { next: BgpState.OpenConfirm, reason, detail: `peer ${open.bgpId} AS${open.myAs} hold ${n.holdTime}` };
  }

  private receivedNotification(m: NotificationMessage): Transition {
    this.lastNotificationReceived = m;
    this.emit('notificationReceived', m);
    this.conn?.close();
    this.conn = undefined;
    const text = m.shutdownMessage !== undefined ? ` "${m.shutdownMessage}"` : '';
    return { next: BgpState.Idle, reason: TransitionReason.NotificationReceived, detail: `${notificationName(m.code, m.subcode)}${text}` };
  }

  private decodeFailed(e: BgpError): Transition {
    return this.fail(notification(e.code, e.subcode, e.data), TransitionReason.DecodeError, e.message);
  }

  private lostConnection(reason: string): Transition {
    this.conn = undefined;
    return { next: BgpState.Idle, reason: TransitionReason.ConnectionClosed, detail: reason };
  }

  /** Events every state handles alike. */
  private common(ev: FsmEvent): Transition | undefined {
    if (ev.kind === 'stop') {
      if (this.conn !== undefined && this.stateValue !== BgpState.Connect && this.stateValue !== BgpState.Active) this.notifyAndClose(this.conn, ev.notification);
      if (this.candidate !== undefined) this.notifyAndClose(this.candidate, ev.notification);
      this.candidate = undefined;
      this.conn = undefined;
      return { next: BgpState.Idle, reason: ev.reason, detail: ev.restart ? `${notificationName(ev.notification.code, ev.notification.subcode)} sent` : ev.notification.shutdownMessage };
    }
    return undefined;
  }

  // ---- one handler per state --------------------------------------------------------------------

  private idle(ev: FsmEvent): Transition | undefined {
    switch (ev.kind) {
      case 'manualStart':
      case 'idleHoldExpired':
        if (!this.running) return undefined;
        {
          const reason = ev.kind === 'manualStart' ? TransitionReason.ManualStart : TransitionReason.IdleHoldExpired;
          if (ev.kind === 'manualStart') this.idleHold.stop();
          // The first start after ManualStart is immediate; later ones come from the idle hold.
          this.connectRetry.start(this.config.connectRetryTime);
          if (this.config.passive) return { next: BgpState.Active, reason };
          this.dial();
          return { next: BgpState.Connect, reason };
        }
      case 'stop':
        // ManualStop cancels the pending automatic restart; a reset() in Idle leaves it be.
        if (!ev.restart) this.idleHold.stop();
        return undefined;
      case 'tcpAccepted':
        // RFC 4271 §8.2.2 Idle: refuse connections (the idle hold is the damping).
        ev.conn.close();
        return undefined;
      case 'tcpConnected':
        ev.conn.close();
        return undefined;
      default:
        return undefined;
    }
  }

  private connect(ev: FsmEvent): Transition | undefined {
    switch (ev.kind) {
      case 'connectRetryExpired':
        // Drop the attempt, try again, stay in Connect.
        this.connectRetry.start(this.config.connectRetryTime);
        this.dial();
        return undefined;
      case 'tcpConnected':
        return this.openSentWith(ev.conn, TransitionReason.TcpConnected);
      case 'tcpAccepted':
        return this.openSentWith(ev.conn, TransitionReason.TcpAccepted);
      case 'tcpFailed':
        // Keep listening and retry when ConnectRetry fires (what BIRD and GoBGP do; RFC 4271's
        // Idle here would go through the idle hold after every refused SYN).
        this.connectRetry.start(this.config.connectRetryTime);
        return { next: BgpState.Active, reason: TransitionReason.TcpFailed, detail: ev.reason };
      default:
        return this.common(ev);
    }
  }

  private active(ev: FsmEvent): Transition | undefined {
    switch (ev.kind) {
      case 'connectRetryExpired':
        if (this.config.passive) return undefined;
        this.connectRetry.start(this.config.connectRetryTime);
        this.dial();
        return { next: BgpState.Connect, reason: TransitionReason.ConnectRetryExpired };
      case 'tcpAccepted':
        return this.openSentWith(ev.conn, TransitionReason.TcpAccepted);
      case 'tcpConnected':
        // A dial that outlived the connection it raced with (see openSentWith).
        return this.openSentWith(ev.conn, TransitionReason.TcpConnected);
      default:
        return this.common(ev);
    }
  }

  private openSent(ev: FsmEvent): Transition | undefined {
    switch (ev.kind) {
      case 'message': {
        const m = ev.message;
        if (m.type === 'open') {
          const err = this.checkOpen(m);
          if (err !== undefined) return this.fail(notification(err.code, err.subcode, err.data), TransitionReason.OpenRejected, err.message);
          // §6.8, decided now that the OPEN names the peer's BGP Identifier, when the other
          // connection (OPEN sent, the peer's due) is the one to keep. Answering with a KEEPALIVE
          // first and resolving on the other OPEN a moment later let the peer go Established here
          // just before our Cease 6/7 (a down and up on every ~16th mesh join). The peer computes
          // the same choice and continues on that connection.
          if (this.candidate !== undefined && !this.keepExisting(m)) {
            if (this.conn !== undefined) this.notifyAndClose(this.conn, notification(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION));
            return this.continueWithoutPrimary('collision decided on the OPEN: keeping the other connection');
          }
          return this.acceptOpen(m, TransitionReason.OpenReceived);
        }
        if (m.type === 'notification') return this.collisionLostOnPrimary(m) ?? this.receivedNotification(m);
        return this.fail(notification(ERR_FSM, FSM_UNEXPECTED_IN_OPENSENT), TransitionReason.FsmError, `${m.type} in OpenSent`);
      }
      case 'holdExpired':
        return this.fail(notification(ERR_HOLD_TIMER_EXPIRED, 0), TransitionReason.HoldTimerExpired, 'no OPEN within the OpenSent hold time');
      case 'closed': {
        const next = this.continueWithoutPrimary(ev.reason);
        if (next !== undefined) return next;
        // §8.2.2 OpenSent, TcpConnectionFails: back to Active, listening, ConnectRetry running.
        this.hold.stop();
        this.connectRetry.start(this.config.connectRetryTime);
        return { next: BgpState.Active, reason: TransitionReason.ConnectionClosed, detail: ev.reason };
      }
      case 'decodeError':
        return this.decodeFailed(ev.error);
      case 'tcpAccepted':
      case 'tcpConnected':
        return this.track(ev.conn);
      default:
        return this.common(ev);
    }
  }

  private openConfirm(ev: FsmEvent): Transition | undefined {
    switch (ev.kind) {
      case 'message': {
        const m = ev.message;
        if (m.type === 'keepalive') {
          this.hold.start(this.negotiatedValue?.holdTime ?? 0);
          return { next: BgpState.Established, reason: TransitionReason.KeepaliveReceived };
        }
        if (m.type === 'notification') return this.collisionLostOnPrimary(m) ?? this.receivedNotification(m);
        return this.fail(notification(ERR_FSM, FSM_UNEXPECTED_IN_OPENCONFIRM), TransitionReason.FsmError, `${m.type} in OpenConfirm`);
      }
      case 'keepaliveExpired':
        this.sendKeepalive();
        return undefined;
      case 'holdExpired':
        return this.fail(notification(ERR_HOLD_TIMER_EXPIRED, 0), TransitionReason.HoldTimerExpired, 'hold timer expired in OpenConfirm');
      case 'closed':
        return this.continueWithoutPrimary(ev.reason) ?? this.lostConnection(ev.reason);
      case 'decodeError':
        return this.decodeFailed(ev.error);
      case 'tcpAccepted':
      case 'tcpConnected':
        return this.track(ev.conn);
      default:
        return this.common(ev);
    }
  }

  private established(ev: FsmEvent): Transition | undefined {
    switch (ev.kind) {
      case 'message': {
        const m = ev.message;
        const n = this.negotiatedValue;
        // RFC 4271 §8.2.2: KEEPALIVE and UPDATE restart the HoldTimer; we count any message.
        if (n !== undefined) this.hold.start(n.holdTime);
        if (m.type === 'notification' && isCollisionCease(m)) {
          // The peer was not Established yet when it resolved the collision, and chose the other
          // connection (see holdCandidate): continue there rather than start over.
          if (this.heldCandidate() !== undefined) {
            this.lastNotificationReceived = m;
            this.emit('notificationReceived', m);
            this.switchToHeldCandidate('peer kept the other connection (Cease 6/7)', false);
            return undefined;
          }
          // A peer can only still be resolving a collision within its OpenConfirm hold time; a
          // Cease 6/7 on an older session is an ordinary NOTIFICATION (Idle, idle hold).
          const resolvingMs = (n?.holdTime || this.config.openSentHoldTime) * 1000;
          if (this.candidate !== undefined || this.clock.now() - this.establishedAt < resolvingMs) return this.collisionLostOnPrimary(m);
        }
        if (this.heldCandidate() !== undefined) {
          // Anything else on this connection: the peer is Established on it too and will close the
          // other one; so do we.
          this.dropCandidate(notification(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION));
        }
        switch (m.type) {
          case 'keepalive':
            return undefined;
          case 'update': {
            const action = m.errors?.action ?? ErrorAction.None;
            if (action === ErrorAction.SessionReset) {
              const p = m.errors?.problems.find((x) => x.action === ErrorAction.SessionReset);
              return this.fail(notification(p?.code ?? 3, p?.subcode ?? 0, p?.data), TransitionReason.UpdateError, p?.reason ?? 'malformed UPDATE');
            }
            // RFC 7606: attribute-discard and treat-as-withdraw keep the session; the RIB applies them.
            this.emit('update', m, action);
            return undefined;
          }
          case 'routeRefresh':
            this.emit('routeRefresh', m);
            return undefined;
          case 'notification':
            return this.receivedNotification(m);
          case 'open':
            return this.fail(notification(ERR_FSM, FSM_UNEXPECTED_IN_ESTABLISHED), TransitionReason.FsmError, 'OPEN in Established');
        }
        return undefined;
      }
      case 'keepaliveExpired':
        this.sendKeepalive();
        return undefined;
      case 'holdExpired':
        return this.fail(notification(ERR_HOLD_TIMER_EXPIRED, 0), TransitionReason.HoldTimerExpired, 'hold timer expired');
      case 'closed':
        return this.lostConnection(ev.reason);
      case 'decodeError':
        return this.decodeFailed(ev.error);
      case 'tcpAccepted':
        // Tracked until its OPEN: a graceful-restart peer coming back replaces this session.
        return this.track(ev.conn);
      case 'tcpConnected':
        ev.conn.close();
        return undefined;
      default:
        return this.common(ev);
    }
  }

  private sendKeepalive(): void {
    if (this.conn === undefined || this.negotiatedValue === undefined) return;
    this.send(this.conn, { type: 'keepalive' });
    this.keepalive.start(this.negotiatedValue.keepaliveTime);
  }

  // ---- connection collision (§6.8) ----------------------------------------------------------------

  /**
   * A second connection while one is past Active (the peer's, or our own dial completing late):
   * send our OPEN on it and wait for the peer's, which decides the collision.
   */
  private track(conn: BgpConnection): undefined {
    if (this.candidate !== undefined) {
      // One candidate at a time: a third connection is noise.
      conn.close();
      return undefined;
    }
    this.candidate = conn;
    this.candidateOpen = undefined;
    conn.attach({
      message: (message) => this.fromConn(conn, { kind: 'message', message }),
      decodeError: (error) => this.fromConn(conn, { kind: 'decodeError', error }),
      closed: (reason) => this.fromConn(conn, { kind: 'closed', reason }),
    });
    this.send(conn, this.config.localOpen);
    return undefined;
  }

  private dropCandidate(n?: NotificationMessage): void {
    const c = this.candidate;
    this.candidate = undefined;
    if (c === undefined) return;
    if (n !== undefined) this.notifyAndClose(c, n);
    else c.close();
  }

  private candidateEvent(conn: BgpConnection, ev: FsmEvent): void {
    if (ev.kind === 'closed') {
      this.candidate = undefined;
      return;
    }
    if (ev.kind === 'decodeError') {
      this.dropCandidate(notification(ev.error.code, ev.error.subcode, ev.error.data));
      return;
    }
    if (ev.kind !== 'message') return;
    const m = ev.message;
    if (m.type === 'keepalive' && this.heldCandidate() === conn) {
      // The peer was still in OpenConfirm, resolved the collision for this connection and moved
      // here (its Cease on the old one may still be on the way): follow it.
      this.switchToHeldCandidate('peer moved to the other connection', true);
      this.dispatch(ev);
      return;
    }
    if (m.type !== 'open') {
      this.dropCandidate(m.type === 'notification' ? undefined : notification(ERR_FSM, FSM_UNEXPECTED_IN_OPENSENT));
      return;
    }
    const err = this.checkOpen(m);
    if (err !== undefined) {
      this.dropCandidate(notification(err.code, err.subcode, err.data));
      return;
    }
    const from = this.stateValue;
    if (from === BgpState.Established) {
      // Only the peer dialling us again means it restarted; our own dial is a collision leftover.
      if (this.negotiatedValue?.gracefulRestart !== undefined && conn.direction === 'incoming') {
        // RFC 4724 §4.2: the peer restarted; its old session is gone, the new one takes over.
        this.conn?.close();
        this.replaceWithCandidate(conn, m, TransitionReason.PeerRestarted, 'new OPEN from a graceful-restart peer');
      } else if (this.keepExisting(m)) {
        this.dropCandidate(notification(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION));
      } else {
        this.holdCandidate(m);
      }
      return;
    }
    if (this.keepExisting(m)) {
      this.dropCandidate(notification(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION));
      this.log?.debug({ peer: conn.remoteAddress, kept: this.conn?.direction }, 'bgp collision: kept existing connection');
      return;
    }
    if (this.conn !== undefined) this.notifyAndClose(this.conn, notification(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION));
    this.replaceWithCandidate(conn, m, TransitionReason.CollisionLost, 'kept the connection the peer initiated');
  }

  /**
   * §6.8: keep the connection initiated by the speaker with the higher BGP Identifier (RFC 6286
   * §2.3: equal identifiers → the higher AS number wins). Both ends compute the same answer, which
   * is what lets each of them drop its side of the other connection. Two connections in the same
   * direction: keep the older.
   */
  private keepExisting(peerOpen: OpenMessage): boolean {
    const existing = this.conn;
    const candidate = this.candidate;
    if (existing === undefined) return false;
    if (candidate === undefined || existing.direction === candidate.direction) return true;
    const local = ipv4FromText(this.config.routerId);
    const remote = ipv4FromText(peerOpen.bgpId);
    const localWins = local !== remote ? local > remote : this.config.localAs > peerOpen.myAs;
    return (existing.direction === 'outgoing') === localWins;
  }

  /**
   * The primary connection is gone in OpenSent or OpenConfirm: closed, or the peer resolved the
   * collision against it. The peer then keeps the other connection, which we either hold as the
   * candidate (continue on it, in OpenSent: our OPEN is out, the peer's is due) or are still
   * dialling (wait for it in Connect). Starting over instead would close the very connection the
   * peer kept and leave both ends waiting for a timer. Undefined when there is nothing to go on with.
   */
  private continueWithoutPrimary(reason: string): Transition | undefined {
    this.conn?.close();
    this.conn = undefined;
    const c = this.candidate;
    if (c === undefined && this.dialing === undefined) return undefined;
    this.keepalive.stop();
    this.negotiatedValue = undefined;
    if (c !== undefined) {
      this.candidate = undefined;
      this.conn = c;
      this.connectRetry.stop();
      this.hold.start(this.config.openSentHoldTime);
      return { next: BgpState.OpenSent, reason: TransitionReason.CollisionLost, detail: `${reason}; continuing on the ${c.direction} connection` };
    }
    this.hold.stop();
    this.connectRetry.start(this.config.connectRetryTime);
    return { next: BgpState.Connect, reason: TransitionReason.CollisionLost, detail: `${reason}; waiting for our connect` };
  }

  /** Cease / Connection Collision Resolution on the primary while another connection is alive. */
  private collisionLostOnPrimary(m: NotificationMessage): Transition | undefined {
    if (!isCollisionCease(m)) return undefined;
    this.lastNotificationReceived = m;
    this.emit('notificationReceived', m);
    const detail = 'peer kept the other connection (Cease 6/7)';
    const next = this.continueWithoutPrimary(detail);
    if (next !== undefined) return next;
    // Nothing to go on with: the connection the peer kept is still on its way to us (the listener
    // has not handed it over yet), or it failed. Not an error of this peer, so no idle hold (Idle
    // would refuse that very connection): listen in Active, and dial again soon if nothing comes.
    this.hold.stop();
    this.keepalive.stop();
    this.negotiatedValue = undefined;
    this.connectRetry.start(this.config.passive ? this.config.connectRetryTime : collisionRetrySeconds());
    return { next: BgpState.Active, reason: TransitionReason.CollisionLost, detail: `${detail}; listening` };
  }

  /**
   * Established, and the peer's OPEN arrived on a candidate that §6.8 would keep. RFC 4271 closes
   * the new connection in Established, but the peer may not have been Established yet when it
   * read our OPEN on the candidate: then it resolved by BGP Identifier, dropped this connection
   * with Cease 6/7 and is continuing on the candidate; closing the candidate too would leave both
   * ends with nothing. So leave the OPEN unanswered until the peer shows which case it is: Cease
   * 6/7 here or a KEEPALIVE on the candidate (it moved: follow), any other message here (it is
   * Established here and will close the candidate: close it too).
   */
  private holdCandidate(open: OpenMessage): void {
    this.candidateOpen = open;
    this.log?.debug({ peer: this.config.peerAddress }, 'bgp collision in Established: waiting for the peer to choose');
  }

  private heldCandidate(): BgpConnection | undefined {
    return this.stateValue === BgpState.Established && this.candidateOpen !== undefined ? this.candidate : undefined;
  }

  /** `notifyOld`: Cease 6/7 on the connection left, unless the peer already closed it with one. */
  private switchToHeldCandidate(detail: string, notifyOld: boolean): void {
    const c = this.candidate;
    const open = this.candidateOpen;
    if (c === undefined || open === undefined) return;
    if (this.conn !== undefined && notifyOld) this.notifyAndClose(this.conn, notification(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION));
    this.conn?.close();
    this.replaceWithCandidate(c, open, TransitionReason.CollisionLost, detail);
  }

  private replaceWithCandidate(conn: BgpConnection, open: OpenMessage, reason: TransitionReason, detail: string): void {
    const from = this.stateValue;
    this.candidate = undefined;
    this.candidateOpen = undefined;
    this.connectRetry.stop();
    this.keepalive.stop();
    this.hold.stop();
    this.conn = conn;
    const t = this.acceptOpen(open, reason);
    t.detail = `${detail}; ${t.detail ?? ''}`;
    this.transition(from, t, { kind: 'message', message: open });
  }

  /** For tests and status: the last NOTIFICATION received from the peer. */
  get lastReceivedNotification(): NotificationMessage | undefined {
    return this.lastNotificationReceived;
  }
}
