// One BFD session: the RFC 5880 state machine (§6.2, reception rules of §6.8.6), timer
// negotiation (§6.8.2–§6.8.4), the Poll/Final sequence on timer changes (§6.5, §6.8.3), the slow
// 1 s transmit rate while not Up (§6.8.3) and jittered periodic transmission (§6.8.7).
//
// It knows nothing of sockets: the manager demultiplexes decoded packets to `receive()` and gives
// it a `send` callback, which keeps every rule here testable with fake timers. Asynchronous mode
// only: Demand mode (§6.6) and the Echo function are not implemented — we never set D, send
// RequiredMinEchoRxInterval 0, and a peer's D bit is recorded but ignored (we keep transmitting
// periodically; the peers we interoperate with never ask for demand mode on single-hop sessions).
//
// Poll sequences are started only for timer changes made while the session is Up (that includes
// the switch from the 1 s idle rate to the configured rate on reaching Up). Changes while not Up
// take effect at once: nobody relies on our rate then, and a poll that can never be answered
// would only set P bits. While a poll runs, an increased transmit interval and a reduced receive
// interval are held back until the Final arrives (§6.8.3), so the remote's detection time is never
// undercut.
import { systemClock, type Clock } from '../bgp/timer.js';
import { Diag, type BfdControlPacket, type BfdState } from './packet.js';
import { SLOW_TX_US, detectionTimeUs, jitteredIntervalUs, transmitIntervalUs } from './timers.js';

export interface BfdSessionParams {
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  detectMult: number;
  /** §6.1 passive role: say nothing until the remote has spoken (its discriminator is known). */
  passive: boolean;
}

export interface BfdStateChange {
  state: BfdState;
  previous: BfdState;
  diagnostic: number;
}

export interface BfdSessionDeps {
  send(packet: BfdControlPacket): void;
  onStateChange(change: BfdStateChange): void;
  clock?: Clock;
  /** [0, 1), for jitter; injectable so tests can pin the schedule. */
  random?: () => number;
}

/** AdminDown is repeated so that one lost datagram does not turn an orderly stop into a failure. */
export const ADMIN_DOWN_REPEATS = 3;
export const ADMIN_DOWN_SPACING_MS = 20;

interface Intervals {
  desiredMinTxUs: number;
  requiredMinRxUs: number;
}

export class BfdSession {
  state: BfdState = 'Down';
  remoteState: BfdState = 'Down';
  remoteDiscriminator = 0;
  localDiagnostic: number = Diag.None;
  remoteDiagnostic: number = Diag.None;
  /** §6.8.1: initialised to 1 µs, i.e. "send as you like" until the remote tells us. */
  remoteMinRxUs = 1;
  remoteDesiredMinTxUs = 0;
  remoteDetectMult = 0;
  remoteDemand = false;
  pollActive = false;
  upCount = 0;
  downCount = 0;
  packetsIn = 0;
  packetsOut = 0;
  lastChangeAt: number;

  /** What we put on the wire. */
  private advertised: Intervals;
  /** What we run on: differs from `advertised` only while a poll holds a change back. */
  private effective: Intervals;
  private txTimer: unknown;
  private txDueAt = 0;
  private detectTimer: unknown;
  private closed = false;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(
    readonly localDiscriminator: number,
    private params: BfdSessionParams,
    private readonly deps: BfdSessionDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.lastChangeAt = this.clock.now();
    this.advertised = this.targetIntervals();
    this.effective = { ...this.advertised };
  }

  get detectMult(): number {
    return this.params.detectMult;
  }

  /** Negotiated periodic transmit interval (§6.8.7), before jitter; 0 = remote wants none. */
  get txIntervalUs(): number {
    return transmitIntervalUs(this.effective.desiredMinTxUs, this.remoteMinRxUs);
  }

  /** Our detection time for the remote (§6.8.4); 0 until its first packet. */
  get detectTimeUs(): number {
    if (this.remoteDetectMult === 0) return 0;
    return detectionTimeUs(this.remoteDetectMult, this.effective.requiredMinRxUs, this.remoteDesiredMinTxUs);
  }

  start(): void {
    // The first packet goes out at once (transmit() keeps a passive session quiet).
    this.transmit(false);
    this.scheduleTx();
  }

  /**
   * Send one packet now, outside the schedule: used when the socket becomes usable, so the first
   * packets are not those lost before it was bound plus a 1 s wait.
   */
  transmitNow(): void {
    if (!this.closed) this.transmit(false);
  }

  /** A packet that passed decoding and demultiplexing (§6.8.6 from "set bfd.RemoteDiscr"). */
  receive(p: BfdControlPacket): void {
    if (this.closed) return;
    this.packetsIn++;
    this.remoteDiscriminator = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDiagnostic = p.diagnostic;
    this.remoteDemand = p.demand;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteDesiredMinTxUs = p.desiredMinTxUs;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.pollActive) {
      // §6.5: the remote has acknowledged our new intervals; deferred changes apply now.
      this.pollActive = false;
      this.effective = { ...this.advertised };
    }
    if (this.state === 'AdminDown') return;

    if (p.state === 'AdminDown') {
      if (this.state !== 'Down') this.changeState('Down', Diag.NeighborSignaledSessionDown);
    } else if (this.state === 'Down') {
      if (p.state === 'Down') this.changeState('Init', Diag.None);
      else if (p.state === 'Init') this.changeState('Up', Diag.None);
    } else if (this.state === 'Init') {
      if (p.state === 'Init' || p.state === 'Up') this.changeState('Up', Diag.None);
    } else if (p.state === 'Down') {
      this.changeState('Down', Diag.NeighborSignaledSessionDown);
    }

    // §6.8.6: a Poll is answered with a Final as soon as practicable, outside the periodic schedule.
    if (p.poll) this.transmit(true);
    this.restartDetectTimer();
    // A faster negotiated rate (or the first word from a remote we were passive toward) must not
    // wait for a slot computed under the old rate.
    const intervalMs = this.txIntervalUs / 1000;
    if (intervalMs === 0 || this.txTimer === undefined || this.txDueAt - this.clock.now() > intervalMs) this.scheduleTx();
  }

  /** New configured timers (setPeers with a changed config). */
  setParams(params: BfdSessionParams): void {
    const multChanged = params.detectMult !== this.params.detectMult;
    this.params = params;
    const changed = this.applyTimerTargets();
    if (multChanged && this.state === 'Up') this.pollActive = true;
    if (changed || multChanged) this.transmit(false);
  }

  /**
   * §6.8.16: go AdminDown (diagnostic Administratively Down) and tell the remote, a few times in
   * a row; resolves once the last copy is sent. The session is closed afterwards.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    const tell = this.remoteDiscriminator !== 0;
    this.stopTimers();
    if (this.state !== 'AdminDown') this.changeState('AdminDown', Diag.AdministrativelyDown, false);
    if (tell) {
      for (let i = 0; i < ADMIN_DOWN_REPEATS; i++) {
        if (i > 0) await new Promise<void>((r) => this.clock.setTimeout(r, ADMIN_DOWN_SPACING_MS));
        this.transmit(false);
      }
    }
    this.close();
  }

  /** Stop every timer without telling the remote anything. */
  close(): void {
    this.closed = true;
    this.stopTimers();
  }

  private stopTimers(): void {
    if (this.txTimer !== undefined) this.clock.clearTimeout(this.txTimer);
    if (this.detectTimer !== undefined) this.clock.clearTimeout(this.detectTimer);
    this.txTimer = undefined;
    this.detectTimer = undefined;
  }

  private changeState(next: BfdState, diagnostic: number, announce = true): void {
    const previous = this.state;
    this.state = next;
    this.localDiagnostic = diagnostic;
    this.lastChangeAt = this.clock.now();
    if (next === 'Up') this.upCount++;
    if (previous === 'Up') this.downCount++;
    this.applyTimerTargets();
    this.deps.onStateChange({ state: next, previous, diagnostic });
    // Signal the change at once rather than at the next periodic slot: it is what lets the remote
    // follow Down → Init → Up in one round trip each.
    if (announce && !this.closed) this.transmit(false);
  }

  /** §6.8.3: 1 s while not Up, the configured rate when Up. */
  private targetIntervals(): Intervals {
    const tx = this.state === 'Up' ? this.params.desiredMinTxUs : Math.max(this.params.desiredMinTxUs, SLOW_TX_US);
    return { desiredMinTxUs: tx, requiredMinRxUs: this.params.requiredMinRxUs };
  }

  /** Moves `advertised` to the target; returns whether anything changed. */
  private applyTimerTargets(): boolean {
    const target = this.targetIntervals();
    const old = this.advertised;
    if (target.desiredMinTxUs === old.desiredMinTxUs && target.requiredMinRxUs === old.requiredMinRxUs) {
      if (this.state !== 'Up' && this.pollActive) {
        this.pollActive = false;
        this.effective = { ...this.advertised };
      }
      return false;
    }
    this.advertised = target;
    if (this.state === 'Up') {
      // Faster sending and slower accepted reception are safe at once; the opposite waits for
      // the Final (§6.8.3).
      this.effective = {
        desiredMinTxUs: Math.min(this.effective.desiredMinTxUs, target.desiredMinTxUs),
        requiredMinRxUs: Math.max(this.effective.requiredMinRxUs, target.requiredMinRxUs),
      };
      this.pollActive = true;
    } else {
      this.effective = { ...target };
      this.pollActive = false;
    }
    if (this.txTimer !== undefined && this.txDueAt - this.clock.now() > this.txIntervalUs / 1000) this.scheduleTx();
    return true;
  }

  private transmit(final: boolean): void {
    if (this.closed && this.state !== 'AdminDown') return;
    // §6.8.7: a passive system says nothing until it has heard from the remote.
    if (this.params.passive && this.remoteDiscriminator === 0) return;
    this.packetsOut++;
    this.deps.send({
      diagnostic: this.localDiagnostic,
      state: this.state,
      // A packet never carries both (§6.5): the Final answers a poll, our own poll goes periodic.
      poll: this.pollActive && !final,
      final,
      controlPlaneIndependent: false,
      authenticationPresent: false,
      demand: false,
      multipoint: false,
      detectMult: this.params.detectMult,
      myDiscriminator: this.localDiscriminator,
      yourDiscriminator: this.remoteDiscriminator,
      desiredMinTxUs: this.advertised.desiredMinTxUs,
      requiredMinRxUs: this.advertised.requiredMinRxUs,
      requiredMinEchoRxUs: 0,
    });
  }

  /** (Re)arm the periodic transmission. */
  private scheduleTx(): void {
    if (this.closed) return;
    if (this.txTimer !== undefined) this.clock.clearTimeout(this.txTimer);
    this.txTimer = undefined;
    const intervalUs = this.txIntervalUs;
    // §6.8.7: RequiredMinRxInterval 0 from the remote means "send nothing periodically".
    if (intervalUs === 0) return;
    const delayMs = jitteredIntervalUs(intervalUs, this.params.detectMult, this.random()) / 1000;
    this.txDueAt = this.clock.now() + delayMs;
    this.txTimer = this.clock.setTimeout(() => {
      this.txTimer = undefined;
      this.transmit(false);
      this.scheduleTx();
    }, delayMs);
  }

  private restartDetectTimer(): void {
    if (this.detectTimer !== undefined) this.clock.clearTimeout(this.detectTimer);
    const ms = this.detectTimeUs / 1000;
    this.detectTimer = this.clock.setTimeout(() => this.detectionTimeExpired(), ms);
  }

  /** §6.8.4 and §6.8.1 (bfd.RemoteDiscr is forgotten after a silent detection time). */
  private detectionTimeExpired(): void {
    this.detectTimer = undefined;
    this.remoteDiscriminator = 0;
    if (this.state === 'Init' || this.state === 'Up') this.changeState('Down', Diag.ControlDetectionTimeExpired);
  }
}
