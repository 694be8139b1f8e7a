// Two real Sessions that dial each other at the same instant, over loopback TCP: 127.0.0.1 and
// 127.0.0.2, each behind its own BgpListener on the same port, so each side both connects and is
// connected to (RFC 4271 §6.8 connection collision, as in a full mesh when a node joins). Both
// sessions must reach Established within 2 s every time, whichever connection the kernel and the
// dial polling happen to complete first; the connect retry and idle hold are left at their
// production defaults (120 s, 5 s) so a stall cannot hide behind a short timer.
import { afterEach, describe, expect, it } from 'vitest';
import { BgpState } from '../../src/bgp/fsm.js';
import { Session } from '../../src/bgp/session.js';
import { BgpListener } from '../../src/bgp/transport/listener.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Listeners for both addresses on one port (the sessions dial `peerAddress:port`). */
async function listenersOnOnePort(): Promise<{ one: BgpListener; two: BgpListener; port: number }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const one = new BgpListener({ host: '127.0.0.1', port: 0 });
    await one.listen();
    const two = new BgpListener({ host: '127.0.0.2', port: one.port });
    try {
      await two.listen();
      return { one, two, port: one.port };
    } catch {
      await one.close();
    }
  }
  throw new Error('no free port on both loopback addresses');
}

interface Round {
  ms: number;
  states: [BgpState, BgpState];
  log: string[];
}

/** Start both sessions in the same tick; resolve when both are Established or after `limitMs`. */
async function collide(port: number, one: BgpListener, two: BgpListener, routerIds: [string, string], limitMs: number): Promise<Round> {
  const base = { port, holdTime: 9, localAs: 65000, peerAs: 65000 };
  const a = new Session({ ...base, peerAddress: '127.0.0.2', localAddress: '127.0.0.1', routerId: routerIds[0] }, { listener: one });
  const b = new Session({ ...base, peerAddress: '127.0.0.1', localAddress: '127.0.0.2', routerId: routerIds[1] }, { listener: two });
  const log: string[] = [];
  const t0 = Date.now();
  a.on('stateChange', (c) => log.push(`${Date.now() - t0}ms a ${c.from}->${c.to} ${c.reason} ${c.detail ?? ''}`));
  b.on('stateChange', (c) => log.push(`${Date.now() - t0}ms b ${c.from}->${c.to} ${c.reason} ${c.detail ?? ''}`));
  a.start();
  b.start();
  const ms = await new Promise<number>((resolve) => {
    const tick = (): void => {
      const elapsed = Date.now() - t0;
      if ((a.state === BgpState.Established && b.state === BgpState.Established) || elapsed > limitMs) return resolve(elapsed);
      setTimeout(tick, 5);
    };
    tick();
  });
  const states: [BgpState, BgpState] = [a.state, b.state];
  await Promise.all([a.stop(), b.stop()]);
  return { ms, states, log };
}

describe('simultaneous dials between two real sessions (§6.8)', () => {
  it('reaches Established within 2 s in each of 50 rounds', async () => {
    const { one, two, port } = await listenersOnOnePort();
    cleanups.push(
      () => one.close(),
      () => two.close(),
    );
    const slow: Round[] = [];
    for (let i = 0; i < 50; i++) {
      // Alternate which side has the higher BGP Identifier: either may be the one that wins.
      const ids: [string, string] = i % 2 === 0 ? ['192.0.2.1', '192.0.2.2'] : ['192.0.2.2', '192.0.2.1'];
      const r = await collide(port, one, two, ids, 2000);
      if (r.states[0] !== BgpState.Established || r.states[1] !== BgpState.Established) slow.push(r);
    }
    expect(slow.map((r) => r.log.join('\n'))).toEqual([]);
  }, 150_000);
});
