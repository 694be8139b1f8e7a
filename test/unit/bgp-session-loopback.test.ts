// Two real Sessions over loopback TCP (no namespaces, no root needed beyond what TCP-MD5 wants):
// an active one dialing through the native connect path and a passive one behind a BgpListener.
// Proves the socket plumbing end to end: MD5 on the SYN (right and wrong key), OPEN exchange to
// Established, UPDATE delivery, RFC 9003 shutdown text arriving as Cease/2, unknown addresses
// refused by the listener without a byte read, and the per-peer bound on open connections.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BgpState } from '../../src/bgp/fsm.js';
import { Session, type SessionConfig } from '../../src/bgp/session.js';
import { BgpListener } from '../../src/bgp/transport/listener.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function waitFor<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const tick = (): void => {
      const v = f();
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() > end) return reject(new Error('timeout'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

async function pair(passiveExtra: Partial<SessionConfig>, activeExtra: Partial<SessionConfig>): Promise<{ a: Session; p: Session; listener: BgpListener }> {
  const listener = new BgpListener({ host: '127.0.0.1', port: 0 });
  await listener.listen();
  cleanups.push(() => listener.close());
  const base = { peerAddress: '127.0.0.1', holdTime: 9, idleHoldTime: 0.2, connectRetryTime: 1 };
  const p = new Session({ ...base, localAs: 65001, peerAs: 4200000001, routerId: '192.0.2.1', passive: true, ...passiveExtra }, { listener });
  const a = new Session({ ...base, localAs: 4200000001, peerAs: 65001, routerId: '192.0.2.2', port: listener.port, ...activeExtra });
  cleanups.push(() => a.stop(), () => p.stop());
  p.start();
  a.start();
  return { a, p, listener };
}

describe('Session over loopback', () => {
  it('reaches Established with TCP-MD5, exchanges an UPDATE, and delivers the shutdown text', async () => {
    const { a, p } = await pair({ password: 'sekrit' }, { password: 'sekrit' });
    await waitFor(() => a.state === BgpState.Established && p.state === BgpState.Established);
    expect(p.negotiated?.peerAs).toBe(4200000001);
    expect(p.negotiated?.fourOctetAs).toBe(true);
    expect(p.negotiated?.families).toEqual([{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }]);
    expect(p.negotiated?.holdTime).toBe(9);
    expect(p.negotiated?.keepaliveTime).toBe(3);
    const got: number[][] = [];
    p.on('update', (u) => got.push(u.nlri));
    a.send({ type: 'update', withdrawn: [], nlri: [0xc0000264 * 64 + 32], attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [4200000001] }], nextHop: '127.0.0.1' } });
    await waitFor(() => got.length === 1);
    const received: string[] = [];
    p.on('notificationReceived', (n) => received.push(`${n.code}/${n.subcode} ${n.shutdownMessage ?? ''}`));
    await a.stop('maintenance window');
    await waitFor(() => received.length === 1);
    expect(received[0]).toBe('6/2 maintenance window');
    expect(p.stats.lastError).toMatchObject({ direction: 'received', code: 6, subcode: 2, reason: 'maintenance window' });
  });

  it('never reaches Established with a wrong MD5 password', async () => {
    const { a, p } = await pair({ password: 'right' }, { password: 'wrong' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(a.state).not.toBe(BgpState.Established);
    expect(p.state).not.toBe(BgpState.Established);
    expect(p.stats.messagesIn.open).toBe(0);
  });

  it('closes a connection from an unconfigured address at once', async () => {
    const listener = new BgpListener({ host: '127.0.0.1', port: 0 });
    await listener.listen();
    cleanups.push(() => listener.close());
    listener.addPeer('127.0.0.2', { accept: () => expect.fail('must not be handed over') });
    const closed = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = net.connect({ host: '127.0.0.1', port: listener.port });
      s.on('error', () => undefined);
      s.on('close', () => resolve(Date.now() - t0));
    });
    expect(closed).toBeLessThan(500);
    expect(listener.stats.rejectedUnknown).toBe(1);
  });

  it('bounds open connections per peer', async () => {
    const listener = new BgpListener({ host: '127.0.0.1', port: 0, maxPerPeer: 1 });
    await listener.listen();
    cleanups.push(() => listener.close());
    const held: { close(): void }[] = [];
    listener.addPeer('127.0.0.1', { accept: (c) => held.push(c) });
    cleanups.push(() => held.forEach((c) => c.close()));
    const first = net.connect({ host: '127.0.0.1', port: listener.port });
    first.on('error', () => undefined);
    cleanups.push(() => void first.destroy());
    await waitFor(() => held.length === 1);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: listener.port });
      s.on('error', () => undefined);
      s.on('close', () => resolve(true));
    });
    expect(closed).toBe(true);
    expect(listener.stats).toMatchObject({ accepted: 1, rejectedBusy: 1 });
  });
});
