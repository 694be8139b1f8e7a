// RFC 4271 §6.8 connection collisions between two of our own FSMs, wired back to back through an
// in-memory network whose every step the test chooses: a dial's SYN reaching the other side, the
// other side's listener accepting it, the dialer noticing that its connect completed (the real
// dialer polls, so that can come late), and each message or close arriving on a connection. This
// is a full-mesh join: both nodes start at the same instant and dial each other. However the steps
// interleave, both must reach Established without waiting for any timer: no ConnectRetry (120 s),
// no idle hold (5 s). The named cases are the two races a benchmark hit (each side cancelling the
// dial the other was using; a Cease 6/7 overtaking the OPEN on the kept connection) and one more;
// 2000 seeded random schedules cover the rest (and bound how many go down and up on the way). Then
// one FSM against a scripted peer: what it does when the collision is decided only after it
// reached Established, or leaves it nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BgpState, Fsm, TransitionReason, type StateChange } from '../../src/bgp/fsm.js';
import { buildOpen } from '../../src/bgp/session.js';
import type { DialCallbacks, Dialer } from '../../src/bgp/transport/types.js';
import { FakeConnection, FakeDialer, LinkedConnection, peerOpen } from '../helpers/bgp-fake-transport.js';

interface Attempt {
  cb: DialCallbacks;
  cancelled: boolean;
  /** Set once the SYN reached the other side: [our outgoing end, their incoming end]. */
  wire?: [LinkedConnection, LinkedConnection];
  accepted: boolean;
  noticed: boolean;
}

class Node {
  readonly fsm: Fsm;
  readonly attempts: Attempt[] = [];
  readonly changes: string[] = [];
  /** Sessions that went down after Established (a flap, even if it recovers at once). */
  downs = 0;
  peer!: Node;

  constructor(
    readonly name: string,
    readonly address: string,
    readonly routerId: string,
    peerAddress: string,
  ) {
    const localAs = name === 'a' ? 65001 : 65002;
    const peerAs = name === 'a' ? 65002 : 65001;
    const dialer: Dialer = {
      dial: (cb) => {
        const a: Attempt = { cb, cancelled: false, accepted: false, noticed: false };
        this.attempts.push(a);
        // Cancelling a connect that already completed in the kernel closes a live connection.
        return { cancel: () => void ((a.cancelled = true), a.wire?.[0].close()) };
      },
    };
    this.fsm = new Fsm(
      {
        peerAddress,
        localAs,
        peerAs,
        routerId,
        holdTime: 90,
        connectRetryTime: 120,
        openSentHoldTime: 240,
        passive: false,
        idleHoldTime: 5,
        idleHoldMaxTime: 120,
        idleHoldResetTime: 60,
        localOpen: buildOpen({ peerAddress, localAs, peerAs, routerId }),
      },
      dialer,
    );
    this.fsm.on('stateChange', (c: StateChange) => this.changes.push(`${name} ${c.from}->${c.to} ${c.reason} ${c.detail ?? ''}`));
    this.fsm.on('down', () => this.downs++);
  }

  /** The SYN of our latest dial reaches the peer (its kernel completes the handshake). */
  syn(): void {
    const a = this.attempts.find((x) => !x.cancelled && x.wire === undefined);
    if (a !== undefined) a.wire = LinkedConnection.pair(this.address, this.peer.address);
  }

  /** The peer's listener hands our connection to its FSM. */
  accepted(): void {
    const a = this.attempts.find((x) => x.wire !== undefined && !x.accepted);
    if (a === undefined) return;
    a.accepted = true;
    this.peer.fsm.acceptConnection(a.wire![1]);
  }

  /** Our dialer notices that the connect completed. */
  noticed(): void {
    const a = this.attempts.find((x) => x.wire !== undefined && !x.noticed && !x.cancelled);
    if (a === undefined) return;
    a.noticed = true;
    a.cb.connected(a.wire![0]);
  }

  get ends(): LinkedConnection[] {
    return this.attempts.flatMap((x) => x.wire ?? []);
  }
}

function mesh(aId: string, bId: string): { a: Node; b: Node; log: () => string } {
  const a = new Node('a', '192.0.2.1', aId, '192.0.2.2');
  const b = new Node('b', '192.0.2.2', bId, '192.0.2.1');
  a.peer = b;
  b.peer = a;
  const log = (): string => [...a.changes, '', ...b.changes].join('\n');
  return { a, b, log };
}

/** Deliver everything in flight, connection by connection in the order given, until quiet. */
function drain(ends: () => LinkedConnection[]): void {
  for (let guard = 0; guard < 1000; guard++) {
    const next = ends().find((e) => e.deliverable);
    if (next === undefined) return;
    next.deliverOne();
  }
  throw new Error('messages kept flowing');
}

const stateOf = (n: Node): BgpState => n.fsm.state;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('both nodes dial each other at the same instant', () => {
  it('each accepts the other connection before noticing its own dial completed: both reach Established', () => {
    // The race behind the 120 s stall: each side, still in Connect, took the peer's connection and
    // cancelled its own dial, which the peer had already accepted and was using.
    const { a, b, log } = mesh('192.0.2.1', '192.0.2.2');
    a.fsm.start();
    b.fsm.start();
    a.syn();
    b.syn();
    b.accepted(); // b takes a's connection
    a.accepted(); // a takes b's connection
    a.noticed();
    b.noticed();
    drain(() => [...a.ends, ...b.ends]);
    expect([stateOf(a), stateOf(b)], log()).toEqual([BgpState.Established, BgpState.Established]);
  });

  it('the Cease for the losing connection arrives before the OPEN on the kept one: the kept one is used', () => {
    // The race behind the 5 s stall. a (higher BGP ID) keeps the connection it initiated and sends
    // Cease 6/7 on b's; for b that is its primary connection, and the kept one is still waiting
    // for a's OPEN.
    const { a, b, log } = mesh('192.0.2.20', '192.0.2.10');
    a.fsm.start();
    b.fsm.start();
    a.syn();
    b.syn();
    a.noticed(); // a: primary = its own connection
    b.noticed(); // b: primary = its own connection
    a.accepted(); // b: a's connection becomes the candidate
    b.accepted(); // a: b's connection becomes the candidate
    const [bOut, aIn] = b.attempts[0]!.wire!;
    // a reads b's OPEN on b's connection: a wins, so it sends Cease 6/7 there and closes it.
    drain(() => [aIn]);
    expect(aIn.sent.at(-1)).toMatchObject({ type: 'notification', code: 6, subcode: 7 });
    // b reads that connection to the end (OPEN, Cease, close) before anything on a's connection.
    drain(() => [bOut]);
    drain(() => [...a.ends, ...b.ends]);
    expect([stateOf(a), stateOf(b)], log()).toEqual([BgpState.Established, BgpState.Established]);
  });

  it('the Cease arrives while the dial of the kept connection is not yet noticed: the dial is awaited', () => {
    const { a, b, log } = mesh('192.0.2.20', '192.0.2.10');
    a.fsm.start();
    b.fsm.start();
    a.syn();
    b.syn();
    a.accepted(); // b: primary = a's connection (incoming)
    b.accepted(); // a: primary = b's connection (incoming); a's own dial not yet noticed
    b.noticed(); // b: its own connection becomes the candidate
    const [bOut, aIn] = b.attempts[0]!.wire!;
    // b reads a's OPEN on b's connection and keeps a's (a has the higher BGP ID): Cease there.
    drain(() => [bOut]);
    expect(bOut.closed).toBe(true);
    // a reads b's OPEN and the Cease on its primary, with its own dial still unreported.
    drain(() => [aIn]);
    expect(a.fsm.state, log()).not.toBe(BgpState.Idle);
    a.noticed();
    drain(() => [...a.ends, ...b.ends]);
    expect([stateOf(a), stateOf(b)], log()).toEqual([BgpState.Established, BgpState.Established]);
  });

  it('the side that keeps the other connection decides on the OPEN, before its KEEPALIVE: its peer never goes Established on the losing one', () => {
    // Seen in the kernel test about once in 50 joins: b (higher BGP ID) read a's OPEN on a's
    // connection, answered with a KEEPALIVE, then read a's OPEN on its own connection and kept that
    // one with Cease 6/7; a had read OPEN + KEEPALIVE and gone Established just before the Cease.
    const { a, b, log } = mesh('192.0.2.1', '192.0.2.2');
    a.fsm.start();
    b.fsm.start();
    a.syn();
    a.accepted(); // b: primary = a's connection (incoming)
    a.noticed(); // a: primary = its own connection
    b.syn();
    b.noticed(); // b: its own connection is the candidate (OPEN sent)
    b.accepted(); // a: b's connection is the candidate (OPEN sent)
    const [aOut, bIn] = a.attempts[0]!.wire!;
    // b reads a's OPEN on a's connection first. It knows a's BGP Identifier now and holds its own
    // connection, which §6.8 keeps: Cease 6/7 here, no KEEPALIVE.
    drain(() => [bIn]);
    expect(bIn.sent.map((m) => m.type)).toEqual(['open', 'notification']);
    // a reads everything on its connection, then the rest flows.
    drain(() => [aOut]);
    drain(() => [...a.ends, ...b.ends]);
    expect([stateOf(a), stateOf(b)], log()).toEqual([BgpState.Established, BgpState.Established]);
    expect([a.downs, b.downs], log()).toEqual([0, 0]);
  });

  it('converges without a timer in each of 2000 random schedules (replay one by its seed)', () => {
    const failures: string[] = [];
    let flapped = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const random = mulberry32(seed);
      const ids: [string, string] = seed % 2 === 0 ? ['192.0.2.1', '192.0.2.2'] : ['192.0.2.2', '192.0.2.1'];
      const { a, b, log } = mesh(...ids);
      const steps: string[] = [];
      const first = random() < 0.5 ? a : b;
      first.fsm.start();
      first.peer.fsm.start();
      for (let guard = 0; guard < 2000; guard++) {
        const actions = enabled(a, b);
        if (actions.length === 0) break;
        const pick = actions[Math.floor(random() * actions.length)]!;
        steps.push(pick.name);
        pick.run();
      }
      if (a.fsm.state !== BgpState.Established || b.fsm.state !== BgpState.Established) failures.push(`seed ${seed}: ${steps.join(' ')}\n${log()}`);
      if (a.downs + b.downs > 0) flapped++;
      a.fsm.removeAllListeners();
      b.fsm.removeAllListeners();
      void a.fsm.stop(undefined, 0);
      void b.fsm.stop(undefined, 0);
    }
    expect(failures.length, failures.slice(0, 3).join('\n\n')).toBe(0);
    // A down that recovers at once is left only where the side that resolves had answered the
    // OPEN before its own second connection existed: nothing could have been decided earlier.
    // Deciding on the OPEN took this from 121 schedules to 40; more is a regression.
    console.info(`random schedules with a down after Established (recovered): ${flapped} of 2000`);
    expect(flapped).toBeLessThanOrEqual(40);
  });
});

describe('one FSM: what it does with a collision decided late', () => {
  // Local BGP ID 192.0.2.1, the peer's 192.0.2.2: §6.8 keeps the connection the PEER initiated.
  function lone(): { fsm: Fsm; dialer: FakeDialer } {
    const dialer = new FakeDialer();
    const config = { peerAddress: '192.0.2.2', localAs: 65001, peerAs: 65002, routerId: '192.0.2.1' };
    const timers = { holdTime: 90, connectRetryTime: 120, openSentHoldTime: 240, idleHoldTime: 5, idleHoldMaxTime: 120, idleHoldResetTime: 60 };
    return { fsm: new Fsm({ ...config, ...timers, passive: false, localOpen: buildOpen(config) }, dialer), dialer };
  }

  function established(): { fsm: Fsm; dialer: FakeDialer; ours: FakeConnection; changes: StateChange[] } {
    const { fsm, dialer } = lone();
    const changes: StateChange[] = [];
    fsm.on('stateChange', (c) => changes.push(c));
    fsm.start();
    const ours = dialer.connect();
    ours.receive(peerOpen());
    ours.receive({ type: 'keepalive' });
    expect(fsm.state).toBe(BgpState.Established);
    return { fsm, dialer, ours, changes };
  }

  it('Established: the OPEN on a connection §6.8 would keep is not answered until the peer chooses', () => {
    const { fsm, ours } = established();
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen());
    expect(theirs.log).toEqual(['open']);
    expect(ours.closed).toBe(false);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('Established: Cease 6/7 on our connection moves the session to the one the peer kept', () => {
    const { fsm, ours, changes } = established();
    const downs: string[] = [];
    fsm.on('down', (d) => downs.push(d.reason));
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen());
    ours.receive({ type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) });
    // A NOTIFICATION is never answered.
    expect(ours.log).toEqual(['open', 'keepalive', 'close']);
    expect(theirs.sentTypes).toEqual(['open', 'keepalive']);
    expect(fsm.state).toBe(BgpState.OpenConfirm);
    expect(changes.at(-1)?.reason).toBe(TransitionReason.CollisionLost);
    theirs.receive({ type: 'keepalive' });
    expect(fsm.state).toBe(BgpState.Established);
    expect(downs).toEqual([TransitionReason.CollisionLost]);
  });

  it('Established: a KEEPALIVE on the other connection (the peer moved there first) is followed', () => {
    const { fsm, ours } = established();
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen());
    theirs.receive({ type: 'keepalive' });
    expect(ours.log.slice(-2)).toEqual(['notification 6/7', 'close']);
    expect(theirs.sentTypes).toEqual(['open', 'keepalive']);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('Established: any other message on our connection means the peer stays: the other one is closed with Cease 6/7', () => {
    const { fsm, ours } = established();
    const updates: unknown[] = [];
    fsm.on('update', (u) => updates.push(u));
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen());
    ours.receive({ type: 'update', withdrawn: [], nlri: [], attributes: {} });
    expect(theirs.log).toEqual(['open', 'notification 6/7', 'close']);
    expect(updates).toHaveLength(1);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('Established a moment ago, Cease 6/7 and no other connection yet: listens in Active, no idle hold', () => {
    const { fsm, dialer, ours } = established();
    ours.receive({ type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) });
    expect(fsm.state).toBe(BgpState.Active);
    const kept = new FakeConnection('incoming');
    fsm.acceptConnection(kept);
    expect(fsm.state).toBe(BgpState.OpenSent);
    expect(dialer.attempts).toHaveLength(1);
  });

  it('Established for longer than the hold time, Cease 6/7 is an ordinary NOTIFICATION: Idle', () => {
    const { fsm, ours } = established();
    vi.advanceTimersByTime(60_000);
    ours.receive({ type: 'keepalive' });
    vi.advanceTimersByTime(40_000);
    ours.receive({ type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) });
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('Cease 6/7 with no other connection: listens in Active and dials again within a second, no idle hold', () => {
    const { fsm, dialer } = lone();
    fsm.start();
    const ours = dialer.connect();
    ours.receive({ type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) });
    expect(fsm.state).toBe(BgpState.Active);
    // The connection the peer kept can still arrive, and is used.
    const late = new FakeConnection('incoming');
    fsm.acceptConnection(late);
    expect(fsm.state).toBe(BgpState.OpenSent);
    late.peerCloses();
    expect(fsm.state).toBe(BgpState.Active);
    expect(fsm.nextIdleHold).toBe(5);
  });

  it('Cease 6/7 with no other connection and none arriving: a new dial after at most one second', () => {
    const { fsm, dialer } = lone();
    fsm.start();
    dialer.connect().receive({ type: 'notification', code: 6, subcode: 7, data: new Uint8Array(0) });
    vi.advanceTimersByTime(1000);
    expect(fsm.state).toBe(BgpState.Connect);
    expect(dialer.attempts).toHaveLength(2);
  });
});

/** Every step the network could take next. */
function enabled(a: Node, b: Node): { name: string; run: () => void }[] {
  const out: { name: string; run: () => void }[] = [];
  for (const n of [a, b]) {
    for (const x of n.attempts) {
      if (!x.cancelled && x.wire === undefined) out.push({ name: `${n.name}:syn`, run: () => n.syn() });
      if (x.wire !== undefined && !x.accepted) out.push({ name: `${n.name}:accepted`, run: () => n.accepted() });
      if (x.wire !== undefined && !x.noticed && !x.cancelled) out.push({ name: `${n.name}:noticed`, run: () => n.noticed() });
    }
    n.ends.forEach((e, i) => {
      if (e.deliverable) out.push({ name: `${n.name}${i}:${e.direction === 'outgoing' ? 'out' : 'in'}`, run: () => e.deliverOne() });
    });
  }
  return out;
}

/** Small seeded PRNG so a failing schedule can be replayed by its seed. */
function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
