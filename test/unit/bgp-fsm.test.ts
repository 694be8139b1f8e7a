// RFC 4271 §8 state machine, driven with an in-memory transport and vitest's fake timers: each
// state's handling of its events, the timers (ConnectRetry, Hold, Keepalive, the 4-minute
// OpenSent hold, idle hold backoff), hold-time negotiation, errors (NOTIFICATION before close,
// RFC 6608 FSM subcodes), RFC 7606 outcomes and §6.8 collision detection in both directions.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BgpState, Fsm, TransitionReason, type FsmConfig, type StateChange } from '../../src/bgp/fsm.js';
import { buildOpen } from '../../src/bgp/session.js';
import { BgpError, ErrorAction, type UpdateMessage } from '../../src/bgp/wire/index.js';
import { FakeConnection, FakeDialer, peerOpen } from '../helpers/bgp-fake-transport.js';

function config(over: Partial<FsmConfig> = {}): FsmConfig {
  return {
    peerAddress: '192.0.2.2',
    localAs: 65001,
    peerAs: 65002,
    routerId: '192.0.2.1',
    holdTime: 90,
    connectRetryTime: 120,
    openSentHoldTime: 240,
    passive: false,
    idleHoldTime: 1,
    idleHoldMaxTime: 8,
    idleHoldResetTime: 60,
    localOpen: buildOpen({ peerAddress: '192.0.2.2', localAs: 65001, peerAs: 65002, routerId: '192.0.2.1', holdTime: over.holdTime ?? 90 }),
    ...over,
  };
}

function setup(over: Partial<FsmConfig> = {}): { fsm: Fsm; dialer: FakeDialer; changes: StateChange[] } {
  const dialer = new FakeDialer();
  const fsm = new Fsm(config(over), over.passive === true ? undefined : dialer);
  const changes: StateChange[] = [];
  fsm.on('stateChange', (c) => changes.push(c));
  return { fsm, dialer, changes };
}

/** Start, connect, exchange OPENs and KEEPALIVEs: Established on an outgoing connection. */
function establish(over: Partial<FsmConfig> = {}, open = peerOpen()): { fsm: Fsm; dialer: FakeDialer; conn: FakeConnection; changes: StateChange[] } {
  const s = setup(over);
  s.fsm.start();
  const conn = s.dialer.connect();
  conn.receive(open);
  conn.receive({ type: 'keepalive' });
  return { ...s, conn };
}

const update: UpdateMessage = { type: 'update', withdrawn: [], nlri: [], attributes: {} };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Idle', () => {
  it('ManualStart: active peer dials and enters Connect', () => {
    const { fsm, dialer, changes } = setup();
    fsm.start();
    expect(fsm.state).toBe(BgpState.Connect);
    expect(dialer.attempts).toHaveLength(1);
    expect(changes[0]).toMatchObject({ from: 'Idle', to: 'Connect', reason: TransitionReason.ManualStart });
  });

  it('ManualStart: passive peer enters Active and never dials', () => {
    const { fsm, dialer } = setup({ passive: true });
    fsm.start();
    expect(fsm.state).toBe(BgpState.Active);
    vi.advanceTimersByTime(600_000);
    expect(dialer.attempts).toHaveLength(0);
    expect(fsm.state).toBe(BgpState.Active);
  });

  it('refuses inbound connections while Idle', () => {
    const { fsm } = setup();
    const c = new FakeConnection('incoming');
    fsm.acceptConnection(c);
    expect(c.closed).toBe(true);
    expect(c.attached).toBe(false);
  });

  it('rejects a configured hold time of 1 or 2 seconds', () => {
    expect(() => setup({ holdTime: 2 })).toThrow(/hold time/);
    expect(() => setup({ holdTime: 1 })).toThrow(/hold time/);
  });
});

describe('Connect and Active', () => {
  it('connection confirmed: sends OPEN, enters OpenSent', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    const conn = dialer.connect();
    expect(fsm.state).toBe(BgpState.OpenSent);
    expect(conn.sentTypes).toEqual(['open']);
  });

  it('connect failure goes to Active; ConnectRetry expiry dials again from Connect', () => {
    const { fsm, dialer, changes } = setup({ connectRetryTime: 5 });
    fsm.start();
    dialer.last.cb.failed('ECONNREFUSED');
    expect(fsm.state).toBe(BgpState.Active);
    expect(changes.at(-1)?.reason).toBe(TransitionReason.TcpFailed);
    vi.advanceTimersByTime(4999);
    expect(dialer.attempts).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(fsm.state).toBe(BgpState.Connect);
    expect(dialer.attempts).toHaveLength(2);
  });

  it('ConnectRetry expiry in Connect drops the attempt and dials again', () => {
    const { fsm, dialer } = setup({ connectRetryTime: 5 });
    fsm.start();
    vi.advanceTimersByTime(5000);
    expect(fsm.state).toBe(BgpState.Connect);
    expect(dialer.attempts).toHaveLength(2);
  });

  it('an inbound connection in Connect is used; our attempt goes on and, once connected, is a collision candidate', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    const c = new FakeConnection('incoming');
    fsm.acceptConnection(c);
    expect(dialer.last.cancelled).toBe(false);
    expect(fsm.state).toBe(BgpState.OpenSent);
    expect(c.sentTypes).toEqual(['open']);
    const ours = dialer.connect();
    expect(ours.closed).toBe(false);
    expect(ours.sentTypes).toEqual(['open']);
  });

  it('an inbound connection in Active is used', () => {
    const { fsm } = setup({ passive: true });
    fsm.start();
    const c = new FakeConnection('incoming');
    fsm.acceptConnection(c);
    expect(fsm.state).toBe(BgpState.OpenSent);
  });
});

describe('OpenSent', () => {
  it('waits 4 minutes for the OPEN, then sends Hold Timer Expired (4/0) before closing', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    const conn = dialer.connect();
    vi.advanceTimersByTime(239_999);
    expect(fsm.state).toBe(BgpState.OpenSent);
    vi.advanceTimersByTime(1);
    expect(conn.log).toEqual(['open', 'notification 4/0', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('accepts a valid OPEN: KEEPALIVE, OpenConfirm, negotiated minimum hold', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    const conn = dialer.connect();
    conn.receive(peerOpen({ holdTime: 30 }));
    expect(fsm.state).toBe(BgpState.OpenConfirm);
    expect(conn.sentTypes).toEqual(['open', 'keepalive']);
    expect(fsm.negotiated?.holdTime).toBe(30);
    expect(fsm.negotiated?.keepaliveTime).toBe(10);
    expect(conn.options?.fourOctetAs).toBe(true);
  });

  it.each([1, 2])('refuses a peer hold time of %i with OPEN Error / Unacceptable Hold Time (2/6)', (hold) => {
    const { fsm, dialer } = setup();
    fsm.start();
    const conn = dialer.connect();
    conn.receive(peerOpen({ holdTime: hold }));
    expect(conn.log).toEqual(['open', 'notification 2/6', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('refuses the wrong peer AS with 2/2 (4-octet AS from the capability)', () => {
    const { fsm, dialer } = setup({ peerAs: 4200000002 });
    fsm.start();
    const conn = dialer.connect();
    conn.receive(peerOpen({ myAs: 4200000003 }));
    expect(conn.notifications()).toEqual([{ code: 2, subcode: 2 }]);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('accepts a 4-octet peer AS', () => {
    const { fsm, dialer } = setup({ peerAs: 4200000002 });
    fsm.start();
    const conn = dialer.connect();
    conn.receive(peerOpen({ myAs: 4200000002 }));
    expect(fsm.state).toBe(BgpState.OpenConfirm);
  });

  it.each([
    ['keepalive', { type: 'keepalive' }],
    ['update', update],
    ['routeRefresh', { type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 }],
  ] as const)('%s is an FSM Error, subcode 1 (RFC 6608: unexpected in OpenSent)', (_n, m) => {
    const { fsm, dialer, changes } = setup();
    fsm.start();
    const conn = dialer.connect();
    conn.receive(m);
    expect(conn.log).toEqual(['open', 'notification 5/1', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
    expect(changes.at(-1)?.reason).toBe(TransitionReason.FsmError);
  });

  it('a lost connection goes back to Active with ConnectRetry running', () => {
    const { fsm, dialer } = setup({ connectRetryTime: 7 });
    fsm.start();
    const conn = dialer.connect();
    conn.peerCloses();
    expect(fsm.state).toBe(BgpState.Active);
    vi.advanceTimersByTime(7000);
    expect(fsm.state).toBe(BgpState.Connect);
  });

  it('a decode error sends its NOTIFICATION (code, subcode, data) first, then closes', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    const conn = dialer.connect();
    conn.decodeError(new BgpError(1, 2, Uint8Array.of(0x12, 0x34), 'bad length'));
    expect(conn.log).toEqual(['open', 'notification 1/2', 'close']);
    const n = conn.sent.at(-1);
    expect(n?.type === 'notification' && [...n.data]).toEqual([0x12, 0x34]);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('a NOTIFICATION from the peer closes without answering and is recorded', () => {
    const { fsm, dialer } = setup();
    const got: number[] = [];
    fsm.on('notificationReceived', (n) => got.push(n.code));
    fsm.start();
    const conn = dialer.connect();
    conn.receive({ type: 'notification', code: 6, subcode: 5, data: new Uint8Array(0) });
    expect(conn.log).toEqual(['open', 'close']);
    expect(got).toEqual([6]);
    expect(fsm.lastReceivedNotification?.subcode).toBe(5);
    expect(fsm.state).toBe(BgpState.Idle);
  });
});

describe('OpenConfirm', () => {
  function openConfirm(over: Partial<FsmConfig> = {}): { fsm: Fsm; conn: FakeConnection } {
    const { fsm, dialer } = setup(over);
    fsm.start();
    const conn = dialer.connect();
    conn.receive(peerOpen());
    return { fsm, conn };
  }

  it('KEEPALIVE → Established, with the established event carrying the negotiation', () => {
    const { fsm, conn } = openConfirm();
    const seen: number[] = [];
    fsm.on('established', (n) => seen.push(n.holdTime));
    conn.receive({ type: 'keepalive' });
    expect(fsm.state).toBe(BgpState.Established);
    expect(seen).toEqual([90]);
  });

  it.each([
    ['open', peerOpen()],
    ['update', update],
    ['routeRefresh', { type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 }],
  ] as const)('%s is an FSM Error, subcode 2 (RFC 6608: unexpected in OpenConfirm)', (_n, m) => {
    const { fsm, conn } = openConfirm();
    conn.receive(m);
    expect(conn.log.slice(-2)).toEqual(['notification 5/2', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('sends keepalives and enforces the hold timer (4/0)', () => {
    const { fsm, conn } = openConfirm();
    vi.advanceTimersByTime(30_000);
    expect(conn.sentTypes).toEqual(['open', 'keepalive', 'keepalive']);
    vi.advanceTimersByTime(60_000);
    expect(conn.log.slice(-2)).toEqual(['notification 4/0', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('a lost connection goes to Idle', () => {
    const { fsm, conn } = openConfirm();
    conn.peerCloses();
    expect(fsm.state).toBe(BgpState.Idle);
  });
});

describe('Established', () => {
  it('keepalive every hold/3 seconds', () => {
    const { conn } = establish();
    const count = (): number => conn.sentTypes.filter((t) => t === 'keepalive').length;
    expect(count()).toBe(1);
    vi.advanceTimersByTime(29_999);
    expect(count()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(count()).toBe(2);
    conn.receive({ type: 'keepalive' });
    vi.advanceTimersByTime(30_000);
    expect(count()).toBe(3);
  });

  it('a configured keepalive time is used (never above hold/3)', () => {
    const { conn, fsm } = establish({ keepaliveTime: 5 });
    expect(fsm.negotiated?.keepaliveTime).toBe(5);
    vi.advanceTimersByTime(5000);
    expect(conn.sentTypes.filter((t) => t === 'keepalive')).toHaveLength(2);
  });

  it('hold time 0: no keepalives and no hold timer, ever', () => {
    const { fsm, conn } = establish({}, peerOpen({ holdTime: 0 }));
    expect(fsm.negotiated?.holdTime).toBe(0);
    vi.advanceTimersByTime(3_600_000);
    expect(conn.sentTypes).toEqual(['open', 'keepalive']);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('hold timer expiry sends NOTIFICATION 4/0 then closes; the drop is GR-eligible', () => {
    const { fsm, conn } = establish({}, peerOpen({ holdTime: 9 }));
    const downs: boolean[] = [];
    fsm.on('down', (d) => downs.push(d.graceful));
    vi.advanceTimersByTime(8999);
    expect(fsm.state).toBe(BgpState.Established);
    conn.receive({ type: 'keepalive' });
    vi.advanceTimersByTime(8999);
    expect(fsm.state).toBe(BgpState.Established);
    vi.advanceTimersByTime(1);
    expect(conn.log.slice(-2)).toEqual(['notification 4/0', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
    expect(downs).toEqual([true]);
  });

  it('an UPDATE restarts the hold timer', () => {
    const { fsm, conn } = establish({}, peerOpen({ holdTime: 9 }));
    vi.advanceTimersByTime(8000);
    conn.receive(update);
    vi.advanceTimersByTime(8000);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('OPEN is an FSM Error, subcode 3 (RFC 6608: unexpected in Established)', () => {
    const { fsm, conn } = establish();
    conn.receive(peerOpen());
    expect(conn.log.slice(-2)).toEqual(['notification 5/3', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('RFC 7606: treat-as-withdraw and attribute-discard UPDATEs are delivered, not a reset', () => {
    const { fsm } = establish();
    const got: ErrorAction[] = [];
    fsm.on('update', (_u, outcome) => got.push(outcome));
    const conn = (fsm as unknown as { conn: FakeConnection }).conn;
    const problem = { code: 3, subcode: 1, data: new Uint8Array(0), reason: 'x' };
    conn.receive({ ...update, errors: { action: ErrorAction.TreatAsWithdraw, problems: [{ ...problem, action: ErrorAction.TreatAsWithdraw }] } });
    conn.receive({ ...update, errors: { action: ErrorAction.AttributeDiscard, problems: [{ ...problem, action: ErrorAction.AttributeDiscard }] } });
    conn.receive(update);
    expect(got).toEqual([ErrorAction.TreatAsWithdraw, ErrorAction.AttributeDiscard, ErrorAction.None]);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('a session-reset UPDATE report sends its NOTIFICATION and closes', () => {
    const { fsm, conn } = establish();
    conn.receive({ ...update, errors: { action: ErrorAction.SessionReset, problems: [{ code: 3, subcode: 11, data: Uint8Array.of(1), reason: 'as path', action: ErrorAction.SessionReset }] } });
    expect(conn.log.slice(-2)).toEqual(['notification 3/11', 'close']);
    expect(fsm.state).toBe(BgpState.Idle);
  });

  it('ROUTE-REFRESH is delivered', () => {
    const { fsm, conn } = establish();
    const got: number[] = [];
    fsm.on('routeRefresh', (m) => got.push(m.afi));
    conn.receive({ type: 'routeRefresh', afi: 2, safi: 1, subtype: 0 });
    expect(got).toEqual([2]);
  });

  it('NOTIFICATION received: Idle, down with the notification, no answer sent', () => {
    const { fsm, conn } = establish();
    const downs: unknown[] = [];
    fsm.on('down', (d) => downs.push(d.notificationReceived?.subcode));
    conn.receive({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: 'bye' });
    expect(conn.log.slice(-1)).toEqual(['close']);
    expect(downs).toEqual([2]);
  });

  it('ManualStop sends Cease/Administrative Shutdown with the RFC 9003 text and stays Idle', () => {
    const { fsm, conn, dialer } = establish();
    void fsm.stop('maintenance');
    expect(conn.notifications()).toEqual([{ code: 6, subcode: 2, shutdownMessage: 'maintenance' }]);
    expect(conn.log.at(-1)).toBe('close');
    vi.advanceTimersByTime(3_600_000);
    expect(fsm.state).toBe(BgpState.Idle);
    expect(dialer.attempts).toHaveLength(1);
  });

  it('reset() sends the given NOTIFICATION and restarts after the idle hold', () => {
    const { fsm, conn, dialer } = establish();
    fsm.reset(6, 1, Uint8Array.of(0, 1, 1, 0, 0, 0, 10));
    expect(conn.notifications()).toEqual([{ code: 6, subcode: 1 }]);
    vi.advanceTimersByTime(1000);
    expect(fsm.state).toBe(BgpState.Connect);
    expect(dialer.attempts).toHaveLength(2);
  });

  it('sendEstablished only in Established', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    expect(fsm.sendEstablished(update)).toBe(false);
    const conn = dialer.connect();
    conn.receive(peerOpen());
    conn.receive({ type: 'keepalive' });
    expect(fsm.sendEstablished(update)).toBe(true);
    expect(conn.sentTypes.at(-1)).toBe('update');
  });
});

describe('idle hold (DampPeerOscillations)', () => {
  it('grows exponentially for a flapping peer and caps at the maximum', () => {
    const { fsm, dialer, changes } = setup({ idleHoldTime: 1, idleHoldMaxTime: 8 });
    fsm.start();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const conn = dialer.connect();
      conn.receive({ type: 'notification', code: 6, subcode: 4, data: new Uint8Array(0) });
      expect(fsm.state).toBe(BgpState.Idle);
      let waited = 0;
      while (fsm.state === BgpState.Idle) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      waits.push(waited / 1000);
    }
    expect(waits).toEqual([1, 2, 4, 8, 8, 8]);
    expect(changes.filter((c) => c.reason === TransitionReason.IdleHoldExpired)).toHaveLength(6);
  });

  it('starts again from the first step after a stable Established period', () => {
    const { fsm, dialer } = setup({ idleHoldTime: 1, idleHoldMaxTime: 8, idleHoldResetTime: 60 });
    fsm.start();
    for (let i = 0; i < 3; i++) {
      const conn = dialer.connect();
      conn.receive({ type: 'notification', code: 6, subcode: 4, data: new Uint8Array(0) });
      vi.advanceTimersByTime(10_000);
    }
    expect(fsm.nextIdleHold).toBe(8);
    const conn = dialer.connect();
    conn.receive(peerOpen({ holdTime: 0 }));
    conn.receive({ type: 'keepalive' });
    vi.advanceTimersByTime(61_000);
    conn.peerCloses();
    expect(fsm.state).toBe(BgpState.Idle);
    expect(fsm.nextIdleHold).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(fsm.state).toBe(BgpState.Connect);
  });
});

describe('connection collision (§6.8)', () => {
  it('local BGP ID higher: keeps our connection, closes the incoming one with Cease/7', () => {
    const { fsm, dialer, changes } = setup({ routerId: '192.0.2.200' });
    fsm.start();
    const ours = dialer.connect();
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    expect(theirs.sentTypes).toEqual(['open']);
    theirs.receive(peerOpen({ bgpId: '192.0.2.2' }));
    expect(theirs.log).toEqual(['open', 'notification 6/7', 'close']);
    expect(ours.closed).toBe(false);
    expect(fsm.state).toBe(BgpState.OpenSent);
    ours.receive(peerOpen({ bgpId: '192.0.2.2' }));
    ours.receive({ type: 'keepalive' });
    expect(fsm.state).toBe(BgpState.Established);
    expect(changes.some((c) => c.reason === TransitionReason.CollisionLost)).toBe(false);
  });

  it('local BGP ID lower: closes ours with Cease/7 and continues on the peer-initiated one', () => {
    const { fsm, dialer, changes } = setup({ routerId: '192.0.2.1' });
    fsm.start();
    const ours = dialer.connect();
    ours.receive(peerOpen({ bgpId: '192.0.2.9' }));
    expect(fsm.state).toBe(BgpState.OpenConfirm);
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen({ bgpId: '192.0.2.9' }));
    expect(ours.log.slice(-2)).toEqual(['notification 6/7', 'close']);
    expect(theirs.sentTypes).toEqual(['open', 'keepalive']);
    expect(fsm.state).toBe(BgpState.OpenConfirm);
    expect(changes.at(-1)?.reason).toBe(TransitionReason.CollisionLost);
    theirs.receive({ type: 'keepalive' });
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('equal BGP IDs (RFC 6286): the higher AS wins', () => {
    const { fsm, dialer } = setup({ routerId: '192.0.2.5', localAs: 65001 });
    fsm.start();
    const ours = dialer.connect();
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen({ bgpId: '192.0.2.5', myAs: 65002 }));
    expect(ours.log.slice(-2)).toEqual(['notification 6/7', 'close']);
    expect(fsm.state).toBe(BgpState.OpenConfirm);
  });

  it('in Established a new connection that §6.8 would not keep is closed with Cease/7', () => {
    const { fsm } = establish({ routerId: '192.0.2.200' });
    const theirs = new FakeConnection('incoming');
    fsm.acceptConnection(theirs);
    theirs.receive(peerOpen());
    expect(theirs.log).toEqual(['open', 'notification 6/7', 'close']);
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('in Established with graceful restart negotiated, a new OPEN replaces the old session', () => {
    const grOpen = peerOpen({ capabilities: [...peerOpen().capabilities, { kind: 'gracefulRestart', restartFlags: 8, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] }] });
    const localOpen = buildOpen({ peerAddress: '192.0.2.2', localAs: 65001, peerAs: 65002, routerId: '192.0.2.1', gracefulRestart: { restartTime: 120, forwardingPreserved: true } });
    const { fsm, conn } = establish({ localOpen }, grOpen);
    expect(fsm.negotiated?.gracefulRestart?.restartTime).toBe(120);
    const downs: boolean[] = [];
    fsm.on('down', (d) => downs.push(d.graceful));
    const fresh = new FakeConnection('incoming');
    fsm.acceptConnection(fresh);
    fresh.receive(grOpen);
    expect(conn.closed).toBe(true);
    expect(downs).toEqual([true]);
    expect(fsm.state).toBe(BgpState.OpenConfirm);
    fresh.receive({ type: 'keepalive' });
    expect(fsm.state).toBe(BgpState.Established);
  });

  it('a third connection while one candidate is tracked is closed', () => {
    const { fsm, dialer } = setup();
    fsm.start();
    dialer.connect();
    const c1 = new FakeConnection('incoming');
    const c2 = new FakeConnection('incoming');
    fsm.acceptConnection(c1);
    fsm.acceptConnection(c2);
    expect(c2.closed).toBe(true);
    expect(c2.sentTypes).toEqual([]);
  });
});
