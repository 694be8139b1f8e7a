// The BFD session state machine (RFC 5880 §6.2, §6.8.6), its timers (§6.8.3, §6.8.4, §6.8.7) and
// the Poll/Final sequence (§6.5), driven with hand-made packets and vitest's fake clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Diag, type BfdControlPacket, type BfdState } from '../../src/bfd/packet.js';
import { BfdSession, type BfdSessionParams, type BfdStateChange } from '../../src/bfd/session.js';

const params: BfdSessionParams = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3, passive: false };
const REMOTE = 0x5eed;
const LOCAL = 0x1001;

function fromRemote(state: BfdState, extra: Partial<BfdControlPacket> = {}): BfdControlPacket {
  return {
    diagnostic: 0,
    state,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    authenticationPresent: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    myDiscriminator: REMOTE,
    yourDiscriminator: state === 'Down' || state === 'AdminDown' ? 0 : LOCAL,
    desiredMinTxUs: state === 'Up' ? 300_000 : 1_000_000,
    requiredMinRxUs: 300_000,
    requiredMinEchoRxUs: 0,
    ...extra,
  };
}

function harness(p: Partial<BfdSessionParams> = {}) {
  const sent: BfdControlPacket[] = [];
  const changes: BfdStateChange[] = [];
  // random() = 1⁻ pins jitter to the top of its range so periods are predictable.
  const session = new BfdSession(LOCAL, { ...params, ...p }, { send: (x) => sent.push(x), onStateChange: (c) => changes.push(c), random: () => 0.999_999 });
  return { session, sent, changes, last: () => sent[sent.length - 1] };
}

/** Brings a harness session to Up the way a real peer would: Down → Init → Up. */
function bringUp(h: ReturnType<typeof harness>): void {
  h.session.start();
  h.session.receive(fromRemote('Down'));
  h.session.receive(fromRemote('Up'));
  expect(h.session.state).toBe('Up');
}

describe('BFD session', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('state transitions (§6.8.6)', () => {
    it.each<[BfdState, BfdState, BfdState]>([
      ['Down', 'Down', 'Init'],
      ['Down', 'Init', 'Up'],
      ['Down', 'Up', 'Down'],
      ['Init', 'Init', 'Up'],
      ['Init', 'Up', 'Up'],
      ['Init', 'Down', 'Init'],
      ['Up', 'Init', 'Up'],
      ['Up', 'Up', 'Up'],
    ])('%s + remote %s → %s', (from, remote, to) => {
      const h = harness();
      h.session.start();
      if (from !== 'Down') h.session.receive(fromRemote('Down'));
      if (from === 'Up') h.session.receive(fromRemote('Up'));
      expect(h.session.state).toBe(from);
      h.session.receive(fromRemote(remote));
      expect(h.session.state).toBe(to);
    });

    it('Up + remote Down → Down, Neighbor Signaled Session Down', () => {
      const h = harness();
      bringUp(h);
      h.session.receive(fromRemote('Down'));
      expect(h.changes.at(-1)).toEqual({ state: 'Down', previous: 'Up', diagnostic: Diag.NeighborSignaledSessionDown });
      expect(h.session.downCount).toBe(1);
    });

    it('remote AdminDown takes Init and Up to Down, and leaves Down alone', () => {
      for (const from of ['Init', 'Up'] as const) {
        const h = harness();
        h.session.start();
        h.session.receive(fromRemote('Down'));
        if (from === 'Up') h.session.receive(fromRemote('Up'));
        h.session.receive(fromRemote('AdminDown', { diagnostic: Diag.AdministrativelyDown }));
        expect(h.session.state).toBe('Down');
        expect(h.session.localDiagnostic).toBe(Diag.NeighborSignaledSessionDown);
        expect(h.session.remoteDiagnostic).toBe(Diag.AdministrativelyDown);
      }
      const h = harness();
      h.session.start();
      h.session.receive(fromRemote('AdminDown'));
      expect(h.changes).toEqual([]);
    });

    it('announces every state change at once instead of waiting for the periodic slot', () => {
      const h = harness();
      h.session.start();
      const before = h.sent.length;
      h.session.receive(fromRemote('Down'));
      expect(h.sent.length).toBe(before + 1);
      expect(h.last()).toMatchObject({ state: 'Init', yourDiscriminator: REMOTE });
    });
  });

  describe('detection (§6.8.4)', () => {
    it('goes Down with Control Detection Time Expired after remote mult × max(our RX, remote TX) of silence', () => {
      const h = harness();
      bringUp(h);
      expect(h.session.detectTimeUs).toBe(900_000);
      vi.advanceTimersByTime(899);
      expect(h.session.state).toBe('Up');
      vi.advanceTimersByTime(2);
      expect(h.changes.at(-1)).toEqual({ state: 'Down', previous: 'Up', diagnostic: Diag.ControlDetectionTimeExpired });
      expect(h.session.remoteDiscriminator).toBe(0);
      expect(h.last()).toMatchObject({ state: 'Down', diagnostic: Diag.ControlDetectionTimeExpired, yourDiscriminator: 0 });
    });

    it('is restarted by every received packet', () => {
      const h = harness();
      bringUp(h);
      for (let i = 0; i < 10; i++) {
        vi.advanceTimersByTime(800);
        h.session.receive(fromRemote('Up'));
      }
      expect(h.session.state).toBe('Up');
    });

    it('uses the remote multiplier and its slow TX while it is not Up', () => {
      const h = harness();
      h.session.start();
      h.session.receive(fromRemote('Down', { detectMult: 5 }));
      expect(h.session.state).toBe('Init');
      expect(h.session.detectTimeUs).toBe(5_000_000);
      vi.advanceTimersByTime(4_999);
      expect(h.session.state).toBe('Init');
      vi.advanceTimersByTime(2);
      expect(h.session.state).toBe('Down');
      expect(h.session.localDiagnostic).toBe(Diag.ControlDetectionTimeExpired);
    });
  });

  describe('transmission (§6.8.3, §6.8.7)', () => {
    it('sends at 1 s while not Up, whatever is configured', () => {
      const h = harness();
      h.session.start();
      expect(h.sent).toHaveLength(1);
      expect(h.sent[0]).toMatchObject({ state: 'Down', desiredMinTxUs: 1_000_000, requiredMinRxUs: 300_000, poll: false, yourDiscriminator: 0 });
      vi.advanceTimersByTime(1_000);
      expect(h.sent).toHaveLength(2);
      vi.advanceTimersByTime(1_000);
      expect(h.sent).toHaveLength(3);
    });

    it('jitters within 75–100 % and never below 75 %', () => {
      const sent: number[] = [];
      const s = new BfdSession(LOCAL, params, { send: () => sent.push(Date.now()), onStateChange: () => undefined, random: () => 0 });
      s.start();
      vi.advanceTimersByTime(749);
      expect(sent).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(sent).toHaveLength(2);
      s.close();
    });

    it('stays silent in the passive role until the remote speaks', () => {
      const h = harness({ passive: true });
      h.session.start();
      vi.advanceTimersByTime(5_000);
      expect(h.sent).toEqual([]);
      h.session.receive(fromRemote('Down'));
      expect(h.sent.length).toBeGreaterThan(0);
      vi.advanceTimersByTime(1_000);
      expect(h.sent.length).toBeGreaterThan(1);
    });

    it('sends nothing periodically when the remote requires 0 RX', () => {
      const h = harness();
      bringUp(h);
      h.session.receive(fromRemote('Up', { requiredMinRxUs: 0 }));
      const n = h.sent.length;
      vi.advanceTimersByTime(500);
      expect(h.sent.length).toBe(n);
      h.session.close();
    });

    it('sends at the remote required RX when it is slower than ours', () => {
      const h = harness();
      bringUp(h);
      h.session.receive(fromRemote('Up', { requiredMinRxUs: 700_000, final: true }));
      expect(h.session.txIntervalUs).toBe(700_000);
    });
  });

  describe('Poll/Final (§6.5)', () => {
    it('polls when it reaches Up and switches to the configured rate', () => {
      const h = harness();
      bringUp(h);
      expect(h.last()).toMatchObject({ state: 'Up', poll: true, final: false, desiredMinTxUs: 300_000 });
      expect(h.session.pollActive).toBe(true);
      h.session.receive(fromRemote('Up', { final: true }));
      expect(h.session.pollActive).toBe(false);
      vi.advanceTimersByTime(300);
      expect(h.last()).toMatchObject({ poll: false, desiredMinTxUs: 300_000 });
    });

    it('answers a Poll at once with a Final, never both bits', () => {
      const h = harness();
      bringUp(h);
      const n = h.sent.length;
      h.session.receive(fromRemote('Up', { poll: true }));
      expect(h.sent.length).toBe(n + 1);
      expect(h.last()).toMatchObject({ final: true, poll: false });
    });

    it('holds back a slower TX until the remote acknowledges it', () => {
      const h = harness();
      bringUp(h);
      h.session.receive(fromRemote('Up', { final: true }));
      h.session.setParams({ ...params, desiredMinTxUs: 800_000 });
      expect(h.last()).toMatchObject({ poll: true, desiredMinTxUs: 800_000 });
      expect(h.session.txIntervalUs).toBe(300_000);
      h.session.receive(fromRemote('Up', { final: true }));
      expect(h.session.txIntervalUs).toBe(800_000);
    });

    it('keeps the old RX for detection until a reduced RX is acknowledged', () => {
      const h = harness({ requiredMinRxUs: 600_000 });
      bringUp(h);
      h.session.receive(fromRemote('Up', { final: true }));
      expect(h.session.detectTimeUs).toBe(1_800_000);
      h.session.setParams({ ...params, requiredMinRxUs: 300_000 });
      expect(h.last()).toMatchObject({ poll: true, requiredMinRxUs: 300_000 });
      expect(h.session.detectTimeUs).toBe(1_800_000);
      h.session.receive(fromRemote('Up', { final: true }));
      expect(h.session.detectTimeUs).toBe(900_000);
    });

    it('drops back to 1 s without a poll when the session goes Down', () => {
      const h = harness();
      bringUp(h);
      h.session.receive(fromRemote('Down'));
      expect(h.last()).toMatchObject({ state: 'Down', poll: false, desiredMinTxUs: 1_000_000 });
    });
  });

  describe('administrative shutdown (§6.8.16)', () => {
    it('sends AdminDown, Administratively Down, three times and then nothing', async () => {
      const h = harness();
      bringUp(h);
      const n = h.sent.length;
      const done = h.session.shutdown();
      await vi.advanceTimersByTimeAsync(100);
      await done;
      expect(h.sent.slice(n)).toHaveLength(3);
      for (const p of h.sent.slice(n)) expect(p).toMatchObject({ state: 'AdminDown', diagnostic: Diag.AdministrativelyDown, yourDiscriminator: REMOTE });
      expect(h.changes.at(-1)).toEqual({ state: 'AdminDown', previous: 'Up', diagnostic: Diag.AdministrativelyDown });
      vi.advanceTimersByTime(10_000);
      expect(h.sent.length).toBe(n + 3);
    });

    it('ignores what the remote says while AdminDown', async () => {
      const h = harness();
      bringUp(h);
      const done = h.session.shutdown();
      h.session.receive(fromRemote('Up'));
      expect(h.session.state).toBe('AdminDown');
      await vi.advanceTimersByTimeAsync(100);
      await done;
    });
  });

  it('two sessions wired back to back come Up and both detect a cut link', () => {
    let linked = true;
    const changes: Record<string, BfdStateChange[]> = { a: [], b: [] };
    // eslint-disable-next-line prefer-const -- the sessions reference each other
    let b: BfdSession;
    const a = new BfdSession(1, params, { send: (p) => linked && b.receive(p), onStateChange: (c) => changes.a?.push(c) });
    b = new BfdSession(2, params, { send: (p) => linked && a.receive(p), onStateChange: (c) => changes.b?.push(c) });
    a.start();
    b.start();
    vi.advanceTimersByTime(50);
    expect([a.state, b.state]).toEqual(['Up', 'Up']);
    vi.advanceTimersByTime(5_000);
    expect([a.pollActive, b.pollActive]).toEqual([false, false]);
    expect([a.txIntervalUs, b.txIntervalUs]).toEqual([300_000, 300_000]);
    linked = false;
    const cut = Date.now();
    vi.advanceTimersByTime(1_000);
    expect([a.state, b.state]).toEqual(['Down', 'Down']);
    expect(a.localDiagnostic).toBe(Diag.ControlDetectionTimeExpired);
    expect(a.lastChangeAt - cut).toBeLessThanOrEqual(900);
    a.close();
    b.close();
  });
});
