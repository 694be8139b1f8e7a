// What the fault tests (test/e2e/faults-*.test.ts) share: pings across every node pair running
// while a fault happens (losses counted), the time until a condition holds (the figure the
// reliability table reports), a node's VXLAN entries as the kernel has them, and the record of
// every measured figure in bench/results/reliability.json (when WEFT_RECORD_RELIABILITY=1).
//
// The figures are measurements, printed and recorded; the tests assert behaviour only (0 lost,
// converged within one resync period).
import { mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/lab/exec.js';
import type { Lab } from '../../src/lab/lab.js';
import { continuousPing, weftRoutes } from './lab-probes.js';

export const RUN_ROOT = '/tmp/weft-test-labs';

/** A lab id unique to this test process: `tag` names the file, the rest avoids collisions. */
export const faultLabId = (tag: string): string => `wf${tag}${process.pid.toString(36).slice(-4)}${Math.random().toString(36).slice(2, 4)}`;

/**
 * The backends the fault tests run: both, unless WEFT_FAULT_BACKENDS names fewer (for working on
 * one backend while the other's tree is mid-change; CI leaves it unset).
 */
export const FAULT_BACKENDS: ('vxlan' | 'bgp')[] = (process.env.WEFT_FAULT_BACKENDS ?? 'vxlan,bgp').split(',').filter((b): b is 'vxlan' | 'bgp' => b === 'vxlan' || b === 'bgp');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface PingTally {
  sent: number;
  received: number;
  lost: number;
}

/**
 * 10 ms pings from a pod on each node to a pod on the next node (1→2, 2→3, 3→1), so every node
 * is both sender and receiver; `stop()` sums them. Nodes in `exclude` neither send nor receive.
 */
export function pingRing(lab: Lab, exclude: number[] = []): { stop: () => Promise<PingTally> } {
  const nodes = lab.state.nodes.map((n) => n.index).filter((n) => !exclude.includes(n));
  const podOn = (node: number) => lab.state.pods.find((p) => p.node === node)!;
  const pings = nodes.map((n, i) => continuousPing(podOn(n).netns, podOn(nodes[(i + 1) % nodes.length]!).ip));
  return {
    stop: async () => {
      const results = await Promise.all(pings.map((p) => p.stop()));
      const sent = results.reduce((s, r) => s + r.sent, 0);
      const received = results.reduce((s, r) => s + r.received, 0);
      return { sent, received, lost: sent - received };
    },
  };
}

/** Polls `check` every 20 ms; resolves with the seconds until it held (rejects after `timeoutMs`). */
export async function secondsUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, from = performance.now()): Promise<number> {
  const deadline = from + timeoutMs;
  for (;;) {
    if (await check()) return (performance.now() - from) / 1000;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export async function subnetOf(lab: Lab, node: number): Promise<string> {
  return ((await lab.daemonStatus(node)) as { subnet: string }).subnet;
}

export async function vtepMac(lab: Lab, node: number): Promise<string> {
  return (JSON.parse(await run('ip', ['-j', '-n', lab.nodeLayout(node).netns, 'link', 'show', 'flannel.1'])) as { address: string }[])[0]!.address;
}

/** A remote node as another node's kernel should (or should no longer) know it. */
export interface VxlanPeer {
  subnet: string;
  ip: string;
  mac: string;
}

/** Whether node `node` has the route, FDB entry and neighbour entry of `peer`, exactly. */
export async function hasVxlanPeer(lab: Lab, node: number, peer: VxlanPeer): Promise<boolean> {
  const found = await vxlanTracesOf(lab, node, peer);
  return found.route && found.fdb && found.neighbour;
}

/** Whether any of `peer`'s entries (route by subnet, FDB by MAC, neighbour by address) is left on `node`. */
export async function anyVxlanTraceOf(lab: Lab, node: number, peer: Pick<VxlanPeer, 'subnet' | 'mac'>): Promise<boolean> {
  const ns = lab.nodeLayout(node).netns;
  const gateway = peer.subnet.split('/')[0]!;
  const [routes, fdb, neighbours] = await Promise.all([weftRoutes(lab, node), fdbOf(ns), neighboursOf(ns)]);
  return routes.some((r) => r.dst === peer.subnet) || fdb.some((f) => f.mac === peer.mac) || neighbours.some((n) => n.dst === gateway);
}

async function vxlanTracesOf(lab: Lab, node: number, peer: VxlanPeer): Promise<{ route: boolean; fdb: boolean; neighbour: boolean }> {
  const ns = lab.nodeLayout(node).netns;
  const gateway = peer.subnet.split('/')[0]!;
  const [routes, fdb, neighbours] = await Promise.all([weftRoutes(lab, node), fdbOf(ns), neighboursOf(ns)]);
  return {
    route: routes.some((r) => r.dst === peer.subnet && r.gateway === gateway && r.dev === 'flannel.1'),
    fdb: fdb.some((f) => f.mac === peer.mac && f.dst === peer.ip),
    neighbour: neighbours.some((n) => n.dst === gateway && n.lladdr === peer.mac),
  };
}

async function fdbOf(ns: string): Promise<{ mac: string; dst?: string }[]> {
  const out = await run('bridge', ['-j', '-n', ns, 'fdb', 'show', 'dev', 'flannel.1']).catch(() => '[]');
  return JSON.parse(out.trim() || '[]') as { mac: string; dst?: string }[];
}

async function neighboursOf(ns: string): Promise<{ dst: string; lladdr?: string }[]> {
  const out = await run('ip', ['-j', '-n', ns, 'neigh', 'show', 'dev', 'flannel.1']).catch(() => '[]');
  return JSON.parse(out.trim() || '[]') as { dst: string; lladdr?: string }[];
}

/** Node `node` as the others see it now (its podCIDR, node IP and VTEP MAC). */
export async function vxlanPeerOf(lab: Lab, node: number): Promise<VxlanPeer> {
  return { subnet: await subnetOf(lab, node), ip: lab.state.nodes.find((n) => n.index === node)!.ip, mac: await vtepMac(lab, node) };
}

// ---------------------------------------------------------------------------------------------
// bench/results/reliability.json

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'reliability.json');

export interface Figure {
  scenario: string;
  measured: Record<string, number | string>;
  date: string;
}

/**
 * Prints one scenario's figures and, with WEFT_RECORD_RELIABILITY=1, records them in
 * bench/results/reliability.json (replacing an earlier record of the same scenario): a plain
 * `npm test` leaves the repository's files alone. Test files run in parallel workers, so the
 * read-modify-write holds a lock directory.
 */
export async function recordFigure(scenario: string, measured: Record<string, number | string>): Promise<void> {
  console.log(`[reliability] ${scenario}: ${Object.entries(measured).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (process.env.WEFT_RECORD_RELIABILITY !== '1') return;
  const lock = `${RESULTS}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for 10 s (remove it if no test is running)`);
      await sleep(20);
    }
  }
  try {
    let figures: Figure[] = [];
    try {
      figures = JSON.parse(readFileSync(RESULTS, 'utf8')) as Figure[];
    } catch {
      // first figure
    }
    figures = figures.filter((f) => f.scenario !== scenario);
    figures.push({ scenario, measured, date: new Date().toISOString().slice(0, 10) });
    figures.sort((a, b) => a.scenario.localeCompare(b.scenario));
    const temp = `${RESULTS}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(figures, null, 2)}\n`);
    renameSync(temp, RESULTS);
  } finally {
    rmdirSync(lock);
  }
}

/** Rounds seconds for the record (milliseconds are noise on a shared 2-core machine). */
export const secs = (s: number): number => Math.round(s * 100) / 100;
