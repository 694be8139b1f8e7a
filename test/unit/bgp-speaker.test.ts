// The speaker over in-memory sessions: declarative peers, announcements and their diffs, import
// and export through the RIB, max-prefix Cease, graceful restart (helper side, with fake timers),
// route refresh both ways, route reflection with loop prevention, per-peer status.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatPrefix, prefixKey } from '../../src/bgp/rib/prefix.js';
import type { OutboundUpdate } from '../../src/bgp/rib/adj-rib-out.js';
import type { AttributeValues } from '../../src/bgp/rib/attributes.js';
import type { EstablishedInfo, PeerSession, PeerSessionEvents } from '../../src/bgp/rib/peer-session.js';
import { Speaker, type BestPathChange, type PeerConfig, type SessionSpec } from '../../src/bgp/speaker.js';
import type { Afi } from '../../src/bgp/rib/prefix.js';

class FakeSession extends EventEmitter<PeerSessionEvents> implements PeerSession {
  started = false;
  stopped = false;
  sent: OutboundUpdate[] = [];
  eor: Afi[] = [];
  refreshRequests: Afi[] = [];
  resets: { code: number; subcode: number; data: number[] }[] = [];
  constructor(readonly spec: SessionSpec) {
    super();
  }
  start(): void {
    this.started = true;
  }
  stop(): void {
    this.stopped = true;
  }
  send(updates: OutboundUpdate[]): void {
    this.sent.push(...updates);
  }
  sendEndOfRib(afi: Afi): void {
    this.eor.push(afi);
  }
  sendRouteRefresh(afi: Afi): void {
    this.refreshRequests.push(afi);
  }
  reset(code: number, subcode: number, data: Uint8Array): void {
    this.resets.push({ code, subcode, data: [...data] });
    this.emit('down', { reason: 'max-prefix', graceful: false });
  }
  establish(info: Partial<EstablishedInfo> = {}): void {
    this.emit('established', {
      remoteRouterId: this.spec.peer.address,
      remoteAsn: this.spec.peer.asn,
      localAddress: '198.51.100.100',
      families: ['ipv4', 'ipv6'],
      extendedMessages: false,
      routeRefresh: true,
      gracefulRestart: { restartTime: 120, restarted: false, families: [{ afi: 'ipv4', forwardingPreserved: true }] },
      ...info,
    });
  }
  announce(prefixes: string[], attrs: Partial<AttributeValues> = {}): void {
    const afi: Afi = prefixes[0]!.includes(':') ? 'ipv6' : 'ipv4';
    this.emit('update', { afi, withdraw: [], announce: prefixes.map(prefixKey), attrs: { origin: 0, asPath: [{ type: 'sequence', asns: [this.spec.peer.asn] }], nextHop: this.spec.peer.address, ...attrs } });
  }
  withdraw(prefixes: string[]): void {
    this.emit('update', { afi: 'ipv4', withdraw: prefixes.map(prefixKey), announce: [], attrs: undefined });
  }
  /** What was sent, as text. */
  log(): string[] {
    const out = this.sent.map((u) =>
      u.announce.length > 0
        ? `+${u.announce.map(formatPrefix).join(',')} nh=${u.attrs?.nextHop} path=${u.attrs?.asPath.map((s) => s.asns.join(' ')).join(' ')}${u.attrs?.localPref !== undefined ? ` lp=${u.attrs.localPref}` : ''}${u.attrs?.originatorId ? ` orig=${u.attrs.originatorId} cl=${u.attrs.clusterList.join(' ')}` : ''}`
        : `-${u.withdraw.map(formatPrefix).join(',')}`,
    );
    this.sent = [];
    return out;
  }
}

let sessions: FakeSession[];
let speaker: Speaker;
let changes: BestPathChange[][];

function make(extra: Partial<ConstructorParameters<typeof Speaker>[0]> = {}): Speaker {
  sessions = [];
  changes = [];
  speaker = new Speaker({
    asn: 65000,
    routerId: '10.0.0.100',
    createSession: (spec) => {
      const s = new FakeSession(spec);
      sessions.push(s);
      return s;
    },
    ...extra,
  });
  speaker.on('changes', (c) => changes.push(c));
  return speaker;
}

const session = (address: string): FakeSession => {
  const s = [...sessions].reverse().find((x) => x.spec.peer.address === address);
  if (!s) throw new Error(`no session for ${address}`);
  return s;
};

const E1: PeerConfig = { address: '198.51.100.1', asn: 65001 };
const E2: PeerConfig = { address: '198.51.100.2', asn: 65002 };

describe('Speaker peers and routes', () => {
  beforeEach(() => make());

  it('starts a session per peer, restarts on change, stops and forgets routes on removal', () => {
    speaker.setPeers([E1, E2]);
    expect(sessions.map((s) => [s.spec.peer.address, s.started])).toEqual([['198.51.100.1', true], ['198.51.100.2', true]]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24']);
    expect(changes.flat().map((c) => [c.prefix, c.best?.source.id])).toEqual([['203.0.113.0/24', E1.address]]);
    speaker.setPeers([E1, { ...E2, holdTime: 9 }]);
    expect(sessions).toHaveLength(3);
    expect(sessions[1]!.stopped).toBe(true);
    speaker.setPeers([{ ...E2, holdTime: 9 }]);
    expect(sessions[0]!.stopped).toBe(true);
    expect(changes.flat().at(-1)).toMatchObject({ prefix: '203.0.113.0/24', best: undefined });
    expect(speaker.locRib.ipv4.size).toBe(0);
    expect(() => speaker.setPeers([{ ...E1, policy: { importPrefixes: ['bad'] } }])).toThrow(/prefix list entry "bad"/);
    expect(speaker.status().map((s) => s.address)).toEqual(['198.51.100.2']);
  });

  it('advertises announcements on Established then End-of-RIB, and only diffs afterwards', () => {
    speaker.setPeers([E1]);
    speaker.setAnnouncements([{ prefix: '192.0.2.0/24' }, { prefix: '2001:db8:1::/48', med: 5 }]);
    const s = session(E1.address);
    s.establish({ localAddress: '198.51.100.100' });
    expect(s.log()).toEqual(['+192.0.2.0/24 nh=198.51.100.100 path=65000']);
    expect(s.eor).toEqual(['ipv4', 'ipv6']); // no IPv6 next hop toward an IPv4 session: nothing sent
    speaker.setAnnouncements([{ prefix: '192.0.2.0/24' }, { prefix: '198.51.100.0/24' }]);
    speaker.flush();
    expect(s.log()).toEqual(['+198.51.100.0/24 nh=198.51.100.100 path=65000']);
    speaker.setAnnouncements([{ prefix: '198.51.100.0/24' }]);
    speaker.flush();
    expect(s.log()).toEqual(['-192.0.2.0/24']);
  });

  it('sends IPv6 with the configured IPv6 next hop', () => {
    speaker.setPeers([{ ...E1, nextHopIpv6: '2001:db8::100' }]);
    speaker.setAnnouncements([{ prefix: '2001:db8:1::/48' }]);
    session(E1.address).establish();
    expect(session(E1.address).log()).toEqual(['+2001:db8:1::/48 nh=2001:db8::100 path=65000']);
  });

  it('passes learned routes between eBGP peers with our AS prepended and next hop self', () => {
    speaker.setPeers([E1, E2]);
    session(E1.address).establish();
    session(E2.address).establish({ localAddress: '198.51.100.200' });
    session(E1.address).announce(['203.0.113.0/24', '203.0.113.128/25'], { med: 10 });
    speaker.flush();
    expect(session(E2.address).log()).toEqual(['+203.0.113.0/24,203.0.113.128/25 nh=198.51.100.200 path=65000 65001']);
    expect(session(E2.address).sent).toEqual([]);
    expect(session(E1.address).log()).toEqual([]); // never back to the source
    session(E1.address).withdraw(['203.0.113.128/25']);
    speaker.flush();
    expect(session(E2.address).log()).toEqual(['-203.0.113.128/25']);
  });

  it('leaves no attribute sets behind once peers and announcements are gone', () => {
    speaker.setPeers([E1, E2, { ...E1, address: '198.51.100.3', policy: { importPrefixes: ['192.0.2.0/24'] } }]);
    for (const s of sessions) s.establish();
    speaker.setAnnouncements([{ prefix: '192.0.2.0/24', communities: ['65000:1'] }]);
    session(E1.address).announce(['203.0.113.0/24'], { med: 1 });
    session(E2.address).announce(['203.0.113.0/24', '198.18.0.0/24']);
    session('198.51.100.3').announce(['203.0.113.0/24']);
    speaker.flush();
    expect(speaker.table.size).toBeGreaterThan(0);
    speaker.setAnnouncements([]);
    speaker.setPeers([]);
    expect(speaker.table.size).toBe(0);
  });

  it('prefers our announcement over a learned path when exporting', () => {
    speaker.setPeers([E1, E2]);
    speaker.setAnnouncements([{ prefix: '203.0.113.0/24' }]);
    session(E1.address).establish();
    session(E2.address).establish();
    session(E2.address).log();
    session(E1.address).announce(['203.0.113.0/24']);
    speaker.flush();
    expect(session(E2.address).log()).toEqual([]);
  });

  it('ignores routes of a family the session did not negotiate (RFC 4760 §6)', () => {
    speaker.setPeers([E1]);
    session(E1.address).establish({ families: ['ipv4'] });
    session(E1.address).announce(['2001:db8:1::/48'], { nextHop: '2001:db8::1' });
    expect(speaker.locRib.ipv6.size).toBe(0);
    expect(speaker.status()[0]!.prefixes.ipv6.received).toBe(0);
  });

  it('applies import policy and counts received, accepted and advertised', () => {
    speaker.setPeers([{ ...E1, policy: { importPrefixes: ['203.0.113.0/24 le 25'] } }]);
    speaker.setAnnouncements([{ prefix: '192.0.2.0/24' }]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24', '203.0.113.0/26', '198.18.0.0/15']);
    const [st] = speaker.status();
    expect(st).toMatchObject({ state: 'Idle', established: true, routerId: E1.address });
    expect(st!.prefixes.ipv4).toEqual({ received: 3, accepted: 1, stale: 0, advertised: 1 });
    session(E1.address).withdraw(['198.18.0.0/15']);
    expect(speaker.status()[0]!.prefixes.ipv4.received).toBe(2);
    expect([...speaker.adjRibIn(E1.address, 'ipv4')!.keys()].map(formatPrefix)).toEqual(['203.0.113.0/24']);
    expect(speaker.adjRibIn(E1.address, 'ipv4', 'received')).toBeUndefined();
    expect([...speaker.adjRibOut(E1.address, 'ipv4').keys()].map(formatPrefix)).toEqual(['192.0.2.0/24']);
  });

  it('keeps what was received before policy with keepReceived', () => {
    speaker.setPeers([{ ...E1, keepReceived: true, policy: { importPrefixes: ['203.0.113.0/24'] } }]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24', '198.18.0.0/15']);
    expect([...speaker.adjRibIn(E1.address, 'ipv4', 'received')!.keys()].map(formatPrefix).sort()).toEqual(['198.18.0.0/15', '203.0.113.0/24']);
    expect(speaker.adjRibIn(E1.address, 'ipv4')!.size).toBe(1);
  });

  it('refuses routes with our AS in the path', () => {
    speaker.setPeers([E1]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24'], { asPath: [{ type: 'sequence', asns: [65001, 65000] }] });
    expect(speaker.locRib.ipv4.size).toBe(0);
  });

  it('resets the session with Cease / Maximum Number of Prefixes Reached over the limit', () => {
    speaker.setPeers([{ ...E1, policy: { maxPrefix: { limit: 2 } } }]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24', '203.0.113.128/25']);
    expect(session(E1.address).resets).toEqual([]);
    session(E1.address).announce(['198.51.100.0/24']);
    expect(session(E1.address).resets).toEqual([{ code: 6, subcode: 1, data: [0, 1, 1, 0, 0, 0, 2] }]);
    expect(speaker.locRib.ipv4.size).toBe(0); // no graceful restart after our own reset
  });

  it('answers a route refresh with the whole Adj-RIB-Out and End-of-RIB; requests one on demand', () => {
    speaker.setPeers([E1]);
    speaker.setAnnouncements([{ prefix: '192.0.2.0/24' }]);
    const s = session(E1.address);
    s.establish();
    s.log();
    s.eor = [];
    s.emit('routeRefresh', 'ipv4');
    expect(s.log()).toEqual(['+192.0.2.0/24 nh=198.51.100.100 path=65000']);
    expect(s.eor).toEqual(['ipv4']);
    speaker.requestRouteRefresh(E1.address, 'ipv4');
    expect(s.refreshRequests).toEqual(['ipv4']);
    expect(() => speaker.requestRouteRefresh(E2.address, 'ipv4')).toThrow(/not established/);
  });
});

describe('Speaker route reflection (RFC 4456)', () => {
  beforeEach(() => make());
  const C1: PeerConfig = { address: '198.51.100.11', asn: 65000, rrClient: true };
  const C2: PeerConfig = { address: '198.51.100.12', asn: 65000, rrClient: true };
  const N1: PeerConfig = { address: '198.51.100.13', asn: 65000 };
  const N2: PeerConfig = { address: '198.51.100.14', asn: 65000 };

  it('reflects client routes to clients and non-clients, non-client routes to clients only', () => {
    speaker.setPeers([C1, C2, N1, N2]);
    for (const p of [C1, C2, N1, N2]) session(p.address).establish();
    for (const p of [C1, C2, N1, N2]) session(p.address).log();
    session(C1.address).announce(['203.0.113.0/24'], { asPath: [], localPref: 100 });
    speaker.flush();
    const reflected = '+203.0.113.0/24 nh=198.51.100.11 path= lp=100 orig=198.51.100.11 cl=10.0.0.100';
    expect(session(C2.address).log()).toEqual([reflected]);
    expect(session(N1.address).log()).toEqual([reflected]);
    expect(session(N2.address).log()).toEqual([reflected]);
    expect(session(C1.address).log()).toEqual([]);
    session(N1.address).announce(['198.18.0.0/24'], { asPath: [], localPref: 100 });
    speaker.flush();
    expect(session(C1.address).log()).toHaveLength(1);
    expect(session(N2.address).log()).toEqual([]);
  });

  it('does not re-advertise iBGP routes without clients, and drops looped reflections', () => {
    speaker.setPeers([N1, N2]);
    session(N1.address).establish();
    session(N2.address).establish();
    session(N2.address).log();
    session(N1.address).announce(['203.0.113.0/24'], { asPath: [], localPref: 100 });
    speaker.flush();
    expect(session(N2.address).log()).toEqual([]);
    session(N1.address).announce(['198.18.0.0/24'], { asPath: [], localPref: 100, originatorId: '10.0.0.100' });
    session(N1.address).announce(['198.18.1.0/24'], { asPath: [], localPref: 100, clusterList: ['10.0.0.100'] });
    expect(speaker.locRib.ipv4.size).toBe(1);
  });
});

describe('Speaker graceful restart (RFC 4724)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    make({ gracefulRestart: { staleTime: 30 } });
  });
  afterEach(() => vi.useRealTimers());

  it('drops a peer\'s routes at once, not as stale, when a failure detector resets it (BFD down, RFC 9384 Cease 10)', () => {
    speaker.setPeers([E1]);
    const s = session(E1.address);
    s.establish();
    s.announce(['203.0.113.0/24']);
    // A real session reports the drop after our NOTIFICATION as graceful (RFC 8538): the speaker
    // itself must know that it reset the peer and keep nothing stale.
    s.reset = (code, subcode, data) => {
      s.resets.push({ code, subcode, data: [...data] });
      s.emit('down', { reason: 'reset by us', graceful: true });
    };
    speaker.resetPeer(E1.address, 10, 'BFD down');
    expect(s.resets).toEqual([{ code: 6, subcode: 10, data: [] }]);
    expect(speaker.locRib.ipv4.size).toBe(0);
    expect(speaker.status()[0]!.prefixes.ipv4.stale).toBe(0);
  });

  it('keeps a restarting peer\'s routes stale, refreshes them and drops the rest at End-of-RIB', () => {
    speaker.setPeers([E1]);
    const s = session(E1.address);
    s.establish();
    s.announce(['203.0.113.0/24', '203.0.113.128/25', '198.18.0.0/24']);
    s.emit('down', { reason: 'connection lost', graceful: true });
    expect(speaker.locRib.ipv4.size).toBe(3);
    expect(speaker.status()[0]!.prefixes.ipv4.stale).toBe(3);
    vi.advanceTimersByTime(100_000);
    s.establish();
    s.announce(['203.0.113.0/24']);
    s.announce(['198.18.0.0/24'], { med: 5 });
    expect(speaker.status()[0]!.prefixes.ipv4).toMatchObject({ accepted: 3, stale: 1 });
    changes = [];
    s.emit('endOfRib', 'ipv4');
    expect(changes.flat().map((c) => [c.prefix, c.best])).toEqual([['203.0.113.128/25', undefined]]);
    expect(speaker.locRib.ipv4.size).toBe(2);
    expect(speaker.status()[0]!.gracefulRestartActive).toBe(false);
  });

  it('drops stale routes when the restart timer expires', () => {
    speaker.setPeers([E1]);
    const s = session(E1.address);
    s.establish({ gracefulRestart: { restartTime: 90, restarted: false, families: [{ afi: 'ipv4', forwardingPreserved: false }] } });
    s.announce(['203.0.113.0/24']);
    s.emit('down', { reason: 'hold timer expired', graceful: true });
    vi.advanceTimersByTime(89_000);
    expect(speaker.locRib.ipv4.size).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(speaker.locRib.ipv4.size).toBe(0);
  });

  it('drops stale routes after the stale time when End-of-RIB never comes', () => {
    speaker.setPeers([E1]);
    const s = session(E1.address);
    s.establish();
    s.announce(['203.0.113.0/24']);
    s.emit('down', { reason: 'connection lost', graceful: true });
    s.establish();
    vi.advanceTimersByTime(29_000);
    expect(speaker.locRib.ipv4.size).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(speaker.locRib.ipv4.size).toBe(0);
  });

  it('drops at once when the new OPEN does not preserve forwarding, or the drop was not graceful', () => {
    speaker.setPeers([E1]);
    const s = session(E1.address);
    s.establish();
    s.announce(['203.0.113.0/24']);
    s.emit('down', { reason: 'connection lost', graceful: true });
    s.establish({ gracefulRestart: { restartTime: 120, restarted: true, families: [{ afi: 'ipv4', forwardingPreserved: false }] } });
    expect(speaker.locRib.ipv4.size).toBe(0);
    s.announce(['203.0.113.0/24']);
    s.emit('down', { reason: 'notification received', graceful: false });
    expect(speaker.locRib.ipv4.size).toBe(0);
  });

  it('gives the session our graceful-restart settings', () => {
    make({ gracefulRestart: { restartTime: 60, restarting: true, forwardingPreserved: true } });
    speaker.setPeers([E1, { ...E2, gracefulRestart: false }]);
    expect(session(E1.address).spec.gracefulRestart).toEqual({ enabled: true, restartTime: 60, restarting: true, forwardingPreserved: true });
    expect(session(E2.address).spec.gracefulRestart).toBeUndefined();
  });
});

describe('Speaker import filter (policy whose inputs change while sessions run)', () => {
  let allowed: Set<string>;
  beforeEach(() => {
    allowed = new Set(['203.0.113.0/24']);
    make({ importFilter: (_peer, _afi, key) => allowed.has(formatPrefix(key)) });
  });

  it('judges every path, so a refused better path never hides an accepted one', () => {
    // E2's path is shorter (better), but the filter refuses E2: E1's must stay the best.
    const onlyFromE1 = (peer: string): boolean => peer === E1.address;
    make({ importFilter: (peer, _afi, key) => onlyFromE1(peer) && allowed.has(formatPrefix(key)) });
    speaker.setPeers([E1, E2]);
    session(E1.address).establish();
    session(E2.address).establish();
    session(E1.address).announce(['203.0.113.0/24'], { asPath: [{ type: 'sequence', asns: [65001, 65009] }] });
    session(E2.address).announce(['203.0.113.0/24']);
    const [, best, multipath] = [...speaker.locRib.ipv4.entries()][0]!;
    expect(best.source.id).toBe(E1.address);
    expect(multipath.map((p) => p.source.id)).toEqual([E1.address]);
    expect(speaker.status().find((s) => s.address === E2.address)!.prefixes.ipv4).toMatchObject({ received: 1, accepted: 0 });
  });

  it('re-imports what peers sent when the filter\'s inputs change, without a route refresh', async () => {
    speaker.setPeers([E1]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24', '198.51.100.0/24']);
    expect([...speaker.locRib.ipv4.entries()].map(([k]) => formatPrefix(k))).toEqual(['203.0.113.0/24']);
    allowed = new Set(['198.51.100.0/24']);
    await speaker.reimport();
    expect([...speaker.locRib.ipv4.entries()].map(([k]) => formatPrefix(k))).toEqual(['198.51.100.0/24']);
    expect(session(E1.address).refreshRequests).toEqual([]);
    // A withdrawn route is forgotten: a later re-import cannot bring it back.
    session(E1.address).withdraw(['198.51.100.0/24']);
    allowed = new Set(['198.51.100.0/24', '203.0.113.0/24']);
    await speaker.reimport();
    expect([...speaker.locRib.ipv4.entries()].map(([k]) => formatPrefix(k))).toEqual(['203.0.113.0/24']);
  });

  it('re-imports a full table a time slice at a time: timers run in between, and the newest filter wins', async () => {
    speaker.setPeers([E1]);
    session(E1.address).establish();
    const table = Array.from({ length: 60_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}/32`);
    session(E1.address).announce(table);
    expect(speaker.locRib.ipv4.size).toBe(0);
    allowed = new Set(table);
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    const first = speaker.reimport();
    expect(speaker.locRib.ipv4.size).toBeLessThan(table.length); // not all in one go
    allowed = new Set(table.slice(0, 10)); // the inputs change again before it is done
    await Promise.all([first, speaker.reimport()]);
    expect(timerRan).toBe(true);
    expect(speaker.locRib.ipv4.size).toBe(10);
  });

  it('counts max-prefix over what the peer sent, refused routes included (they are kept for re-import)', () => {
    speaker.setPeers([{ ...E1, policy: { maxPrefix: { limit: 2 } } }]);
    session(E1.address).establish();
    session(E1.address).announce(['198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/24']);
    expect(session(E1.address).resets).toEqual([{ code: 6, subcode: 1, data: [0, 1, 1, 0, 0, 0, 2] }]);
  });

  it('does not keep a treat-as-withdraw route for a later re-import (RFC 7606)', async () => {
    speaker.setPeers([E1]);
    session(E1.address).establish();
    session(E1.address).announce(['203.0.113.0/24']);
    session(E1.address).emit('update', { afi: 'ipv4', withdraw: [], announce: [prefixKey('203.0.113.0/24')], attrs: { origin: 0, asPath: [], nextHop: E1.address }, treatAsWithdraw: true });
    await speaker.reimport();
    expect(speaker.locRib.ipv4.size).toBe(0);
    expect(speaker.adjRibIn(E1.address, 'ipv4', 'received')!.size).toBe(0);
  });
});
