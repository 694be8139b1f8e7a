// Session (src/bgp/session.ts) over the in-memory transport: our OPEN's capabilities from config,
// listener registration, `negotiated`, counters and last error, ROUTE-REFRESH only when
// negotiated, stop() with an RFC 9003 shutdown message, and config validation.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BgpState } from '../../src/bgp/fsm.js';
import { ErrorAction } from '../../src/bgp/wire/index.js';
import { Session, buildOpen, type PeerRegistry } from '../../src/bgp/session.js';
import type { ListenerPeer } from '../../src/bgp/transport/listener.js';
import { FakeConnection, FakeDialer, peerOpen } from '../helpers/bgp-fake-transport.js';

const base = { peerAddress: '192.0.2.2', peerAs: 65002, localAs: 4200000001, routerId: '192.0.2.1' };

class FakeRegistry implements PeerRegistry {
  readonly peers = new Map<string, ListenerPeer>();
  addPeer(address: string, peer: ListenerPeer): void {
    this.peers.set(address, peer);
  }
  removePeer(address: string): void {
    this.peers.delete(address);
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('buildOpen', () => {
  it('advertises families, route refresh, 4-octet AS (AS_TRANS handled by the codec), extended messages, GR', () => {
    const open = buildOpen({ ...base, holdTime: 30, gracefulRestart: { restartTime: 120, forwardingPreserved: true } });
    expect(open).toMatchObject({ version: 4, myAs: 4200000001, holdTime: 30, bgpId: '192.0.2.1' });
    expect(open.capabilities).toEqual([
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: 4200000001 },
      { kind: 'extendedMessage' },
      { kind: 'gracefulRestart', restartFlags: 0, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: true }] },
    ]);
  });

  it('IPv6 only, no extended messages', () => {
    const open = buildOpen({ ...base, families: ['ipv6'], extendedMessage: false });
    expect(open.capabilities.map((c) => c.kind)).toEqual(['multiprotocol', 'routeRefresh', 'fourOctetAs']);
  });
});

describe('Session', () => {
  function established(): { s: Session; conn: FakeConnection; registry: FakeRegistry } {
    const registry = new FakeRegistry();
    const dialer = new FakeDialer();
    const s = new Session({ ...base, password: 'pw', ttlSecurity: 1 }, { listener: registry, dialer });
    s.start();
    const conn = dialer.connect();
    conn.receive(peerOpen());
    conn.receive({ type: 'keepalive' });
    return { s, conn, registry };
  }

  it('registers with the listener (password, TTL security) on start and leaves on stop', async () => {
    const { s, registry } = established();
    expect(registry.peers.get('192.0.2.2')).toMatchObject({ password: 'pw', ttlSecurity: 1 });
    await s.stop();
    expect(registry.peers.size).toBe(0);
  });

  it('exposes the negotiation and counts messages per type', () => {
    const { s, conn } = established();
    expect(s.state).toBe(BgpState.Established);
    expect(s.negotiated).toMatchObject({ localAddress: '192.0.2.1', remoteAddress: '192.0.2.2', peerAs: 65002, fourOctetAs: true, routeRefresh: true, extendedMessage: false, holdTime: 90, keepaliveTime: 30 });
    conn.receive({ type: 'update', withdrawn: [], nlri: [], attributes: {} });
    const st = s.stats;
    expect(st.messagesIn).toMatchObject({ open: 1, keepalive: 1, update: 1 });
    expect(st.messagesOut).toMatchObject({ open: 1, keepalive: 1 });
    expect(st.establishedTransitions).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(s.stats.uptime).toBe(5000);
  });

  it('sends ROUTE-REFRESH only when the peer advertised it', () => {
    const { s, conn } = established();
    expect(s.sendRouteRefresh('ipv6')).toBe(true);
    expect(conn.sent.at(-1)).toEqual({ type: 'routeRefresh', afi: 2, safi: 1, subtype: 0 });
    const dialer = new FakeDialer();
    const t = new Session(base, { dialer });
    t.start();
    const c2 = dialer.connect();
    c2.receive(peerOpen({ capabilities: [] }));
    c2.receive({ type: 'keepalive' });
    expect(t.negotiated?.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(t.sendRouteRefresh('ipv4')).toBe(false);
  });

  it('stop(message) sends Cease/2 with the text and records it as the last error', async () => {
    const { s, conn } = established();
    const sent: string[] = [];
    s.on('notificationSent', (n) => sent.push(n.shutdownMessage ?? ''));
    await s.stop('maintenance');
    expect(conn.notifications()).toEqual([{ code: 6, subcode: 2, shutdownMessage: 'maintenance' }]);
    expect(sent).toEqual(['maintenance']);
    expect(s.stats.lastError).toMatchObject({ direction: 'sent', code: 6, subcode: 2, reason: 'maintenance' });
    expect(s.state).toBe(BgpState.Idle);
  });

  it('records a received NOTIFICATION as the last error', () => {
    const { s, conn } = established();
    conn.receive({ type: 'notification', code: 6, subcode: 4, data: new Uint8Array(0) });
    expect(s.stats.lastError).toMatchObject({ direction: 'received', code: 6, subcode: 4 });
  });

  it('counts NOTIFICATIONs by direction and code/subcode, and RFC 7606 actions on received UPDATEs', () => {
    const { s, conn } = established();
    const problem = (action: ErrorAction) => ({ code: 3, subcode: 1, data: new Uint8Array(0), action, reason: 'test' });
    const broken = (action: ErrorAction) => conn.receive({ type: 'update', withdrawn: [], nlri: [], attributes: {}, errors: { action, problems: [problem(action)] } });
    broken(ErrorAction.TreatAsWithdraw);
    broken(ErrorAction.TreatAsWithdraw);
    broken(ErrorAction.AttributeDiscard);
    conn.receive({ type: 'update', withdrawn: [], nlri: [], attributes: {} });
    expect(s.state).toBe(BgpState.Established);
    expect(s.stats.updateErrors).toEqual({ treatAsWithdraw: 2, attributeDiscard: 1 });
    // An UPDATE that calls for a session reset: NOTIFICATION 3/1 sent, counted as sent.
    broken(ErrorAction.SessionReset);
    expect(conn.notifications()).toEqual([{ code: 3, subcode: 1 }]);
    expect(s.stats.notificationsSent).toEqual({ '3/1': 1 });
    expect(s.stats.notificationsReceived).toEqual({});
  });

  it('keeps counting received NOTIFICATIONs across reconnects (the totals are the peer\'s, not the connection\'s)', () => {
    const registry = new FakeRegistry();
    const dialer = new FakeDialer();
    const s = new Session(base, { listener: registry, dialer });
    s.start();
    for (let round = 0; round < 2; round++) {
      // The FSM dials again on its own after the idle hold time.
      const attempts = dialer.attempts.length;
      if (round > 0) for (let t = 0; t < 120 && dialer.attempts.length === attempts; t++) vi.advanceTimersByTime(1000);
      const conn = dialer.connect();
      conn.receive(peerOpen());
      conn.receive({ type: 'keepalive' });
      expect(s.state).toBe(BgpState.Established);
      conn.receive({ type: 'notification', code: 6, subcode: 4, data: new Uint8Array(0) });
    }
    expect(s.stats.notificationsReceived).toEqual({ '6/4': 2 });
  });

  it('inbound connections from the listener reach the FSM', () => {
    const registry = new FakeRegistry();
    const s = new Session({ ...base, passive: true }, { listener: registry });
    s.start();
    expect(s.state).toBe(BgpState.Active);
    const c = new FakeConnection('incoming');
    registry.peers.get('192.0.2.2')!.accept(c);
    expect(s.state).toBe(BgpState.OpenSent);
  });

  it('refuses configurations the RFC does not allow', () => {
    expect(() => new Session({ ...base, holdTime: 2 }, { dialer: new FakeDialer() })).toThrow(/hold time/);
    expect(() => new Session({ ...base, passive: true })).toThrow(/listener/);
  });
});
