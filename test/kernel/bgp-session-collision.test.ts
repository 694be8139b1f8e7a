// Two bgp-ts sessions in two network namespaces (192.0.2.1 ↔ 192.0.2.2 over a veth), each in
// its own process with its own listener on port 179, started at the same wall-clock instant so
// that both dial each other at once: the full-mesh join of the bgp-convergence benchmark, with
// the RFC 4271 §6.8 connection collision it causes. Every round, both must be Established within
// 2 s of the start and stay up; the ConnectRetry and idle hold keep their defaults (120 s, 5 s) so
// a stall cannot hide behind a short timer. Processes stopped by PID, namespaces deleted in afterAll.
//
// One down is part of §6.8, not a flap: a side can read the peer's OPEN and KEEPALIVE on a
// connection and go Established just before the Cease 6/7 the peer sent after them on the same
// connection, having decided by BGP Identifier to keep the other one. The FSM then continues on
// the kept connection within milliseconds, before a route was exchanged. Since the FSM decides on
// the OPEN when it already holds the other connection, that is left only for a peer that answered
// before its own second connection existed (5 rounds in 150 before that change, 0 in 150 after).
// So a 'collision-lost' down immediately followed by Established is counted, not failed, as long
// as it stays rare (at most 1 round in 10); any other down is a flap and fails.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionProcess, compileChild, type SessionEvent } from '../helpers/bgp-session-process.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const A = '192.0.2.1';
const B = '192.0.2.2';
const ROUNDS = 50;
/** Time for both children to boot before the common start (a 2-core machine, shared). */
const LEAD_MS = 1500;
const LIMIT_MS = 2000;
/**
 * A child whose session started this much after the common instant was late itself (the machine
 * was busy): that round says nothing about collisions and is run again, at most twice.
 */
const LATE_MS = 250;
/** The documented §6.8 recovery (header) in more rounds than this is a regression. */
const MAX_COLLISION_RECOVERIES = ROUNDS / 10;

describeKernel('two bgp-ts sessions dialling each other at one instant (§6.8)', [], () => {
  let topo: Topology;
  let nsA: string;
  let nsB: string;
  const running = new Set<SessionProcess>();

  beforeAll(async () => {
    topo = new Topology('bgp-collide');
    nsA = await topo.namespace('a');
    nsB = await topo.namespace('b');
    await topo.veth({ ns: nsA, dev: 'eth0', addresses: [`${A}/24`] }, { ns: nsB, dev: 'eth0', addresses: [`${B}/24`] });
    // Not inside round 0's lead time: compiling took seconds on a loaded machine, and round 0
    // then started 4 s late and failed without either side having had a chance.
    compileChild();
  }, 120_000);

  afterAll(async () => {
    for (const p of running) await p.stop();
    topo?.destroy();
  });

  async function round(i: number): Promise<{ ms: number[]; downs: number; recoveries: number; trace: string } | { failed: string } | { lateMs: number }> {
    // Alternate the higher BGP Identifier: either side may be the one whose connection is kept.
    const [idA, idB] = i % 2 === 0 ? [A, B] : [B, A];
    const startAt = Date.now() + LEAD_MS;
    const common = { peerAs: 65000, localAs: 65000, holdTime: 9 };
    const [a, b] = await Promise.all([
      SessionProcess.start(nsA, { ...common, peerAddress: B, localAddress: A, routerId: idA }, { host: A, port: 179 }, startAt),
      SessionProcess.start(nsB, { ...common, peerAddress: A, localAddress: B, routerId: idB }, { host: B, port: 179 }, startAt),
    ]);
    running.add(a).add(b);
    const lateMs = Math.max(...[a, b].map((p) => (p.events.find((e) => e.event === 'ready')?.t ?? Infinity) - startAt));
    if (lateMs > LATE_MS) {
      await Promise.all([a.stop(), b.stop()]);
      running.delete(a);
      running.delete(b);
      return { lateMs };
    }
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const line = (who: string, e: SessionEvent): string => `${e.t - startAt}ms ${who} ${e.event} ${text(e.from)}->${text(e.to)} ${text(e.reason)} ${text(e.detail)}`;
    const trace = (): string =>
      [a, b]
        .flatMap((p, n) => p.events.filter((e) => e.event !== 'ready').map((e) => line(n === 0 ? 'a' : 'b', e)))
        .sort((x, y) => parseInt(x) - parseInt(y))
        .join('\n');
    try {
      const wait = Math.max(0, startAt + LIMIT_MS - Date.now());
      const est = await Promise.all([a.waitFor((e) => e.event === 'established', wait), b.waitFor((e) => e.event === 'established', wait)]);
      // Stay up a little: a collision resolved late would show as a down here.
      await new Promise((r) => setTimeout(r, 200));
      // A down of the §6.8 race (header) is followed by Established on the kept connection.
      const isRecovery = (p: SessionProcess, e: SessionEvent): boolean => e.reason === 'collision-lost' && p.events.some((x) => x.event === 'established' && x.t >= e.t);
      const downs = [a, b].flatMap((p) => p.events.filter((e) => e.event === 'down').map((e) => ({ recovery: isRecovery(p, e) })));
      return { ms: est.map((e) => e.t - startAt), downs: downs.filter((d) => !d.recovery).length, recoveries: downs.filter((d) => d.recovery).length, trace: trace() };
    } catch {
      return { failed: `round ${i}:\n${trace()}` };
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      running.delete(a);
      running.delete(b);
    }
  }

  it(`reaches Established within ${LIMIT_MS} ms in each of ${ROUNDS} rounds, without a flap`, async () => {
    const failed: string[] = [];
    const flapped: string[] = [];
    const times: number[] = [];
    const redone: number[] = [];
    const recovered: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let r = await round(i);
      for (let retry = 0; retry < 2 && 'lateMs' in r; retry++) {
        redone.push(r.lateMs);
        r = await round(i);
      }
      if ('lateMs' in r) failed.push(`round ${i}: a child started ${r.lateMs} ms late three times (machine too busy to measure)`);
      else if ('failed' in r) failed.push(r.failed);
      else {
        times.push(Math.max(...r.ms));
        if (r.downs > 0) flapped.push(r.trace);
        if (r.recoveries > 0) recovered.push(r.trace);
      }
    }
    times.sort((x, y) => x - y);
    console.info(`collision rounds: ${times.length}/${ROUNDS} Established; median ${times[Math.floor(times.length / 2)]} ms, max ${times.at(-1)} ms; ${recovered.length} §6.8 recoveries (Established, Cease 6/7, Established on the kept connection); ${redone.length} rounds run again after a child started late (${redone.join(', ')} ms)`);
    for (const t of recovered) console.info(`§6.8 recovery:\n${t}`);
    expect(failed).toEqual([]);
    expect(flapped).toEqual([]);
    expect(recovered.length, recovered.join('\n\n')).toBeLessThanOrEqual(MAX_COLLISION_RECOVERIES);
  }, 600_000);
});
