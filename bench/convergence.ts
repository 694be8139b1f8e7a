// Benchmark: convergence. In an N-node VXLAN lab (default 10, no pods), a node joins — its entry is
// written straight into etcd, as a new node's daemon would — and we time until EVERY lab node's
// kernel has the route to its subnet (the route is the last of a node's three writes, after the
// neighbour and FDB entries, so its arrival means "programmed"). Then the entry is deleted and the
// leave is timed the same way. p50/p99 over J joins (default 50); target p99 ≤ 100 ms.
//
// Timing is event-driven, not polled: the bench subscribes to rtnetlink route notifications in
// every node namespace, and the write's start time comes from the writer child in the underlay
// namespace (bench/etcd-writer.ts) on CLOCK_MONOTONIC, which every process on the machine shares.
//
// References measured in the same run, per join:
//   - etcd put → watch event, seen by a watcher in the writer: the registry's share of the floor;
//   - the same three kernel writes per node done by iproute2 (`bridge -n NS fdb replace`, then
//     `ip -n NS -batch -` for neighbour + route), all nodes in parallel — process start included;
//   - the same writes over netlink from this process (one handle per node, all nodes at once):
//     the kernel's share of the floor. Both go to a second VXLAN device in every node (wbref,
//     routes with protocol 88), which the daemons do not own, and are timed by the same events.
// Every join is also checked by a netlink dump of each node (route via the VTEP, onlink, on
// flannel.1; permanent neighbour; FDB entry to the public IP), and every leave until all three
// are gone; a missing entry or a timeout fails the bench.
import { writeFileSync } from 'node:fs';
import { Lab } from '../src/lab/lab.js';
import { labLayout } from '../src/lab/layout.js';
import { removeLab } from '../src/lab/lab.js';
import { run } from '../src/lab/exec.js';
import { Netlink, RTPROT_WEFT } from '../src/netlink/index.js';
import { etcdSubnetKey } from '../src/registry/etcd.js';
import { EtcdWriter } from './etcd-writer-client.js';
import { environment, environmentLine, monotonicMs, summary, withCleanup, type Cleanup, type Summary } from './harness.js';
import { RouteWaiters } from './route-events.js';

export interface ConvergenceBenchOptions {
  nodes: number;
  joins: number;
  json?: string;
}

const TARGET_P99_MS = 100;
const TIMEOUT_MS = 10_000;
const DEVICE = 'flannel.1';
const REF_DEVICE = 'wbref';
const REF_PROTO = 88;
const PREFIX = '/weft/network';

interface Joiner {
  name: string;
  subnet: string;
  vtep: string;
  mac: string;
  publicIP: string;
}

export interface JoinSample {
  join: number;
  /** registry write → last node programmed, ms */
  allMs: number;
  /** registry write → first node programmed, ms */
  firstMs: number;
  leaveMs: number;
  watchMs: number;
  ipMs: number;
  netlinkMs: number;
}

function joiner(k: number, subnet: string): Joiner {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return { name: `bench-join-${k}`, subnet, vtep: subnet.split('/')[0]!, mac: `0a:58:c6:12:${hex(k >> 8)}:${hex(k & 255)}`, publicIP: `198.18.${k >> 8}.${(k & 255) + 1}` };
}

async function checkProgrammed(handles: Map<number, { nl: Netlink; dev: number }>, j: Joiner, present: boolean): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    [...handles].map(async ([node, { nl, dev }]) => {
      const [routes, neighbours, fdb] = await Promise.all([nl.routes.list({ family: 4, protocol: RTPROT_WEFT }), nl.neighbours.list({ dev, family: 4 }), nl.fdb.list({ dev })]);
      const route = routes.find((r) => r.dst === j.subnet);
      const neighbour = neighbours.find((n) => n.ip === j.vtep && n.permanent);
      const entry = fdb.find((f) => f.mac === j.mac && f.dst !== undefined);
      if (present) {
        if (!route || route.gateway !== j.vtep || route.index !== dev || !route.onlink) problems.push(`node${node}: route ${JSON.stringify(route)}`);
        if (!neighbour || neighbour.mac !== j.mac) problems.push(`node${node}: neighbour ${JSON.stringify(neighbour)}`);
        if (!entry || entry.dst !== j.publicIP) problems.push(`node${node}: fdb ${JSON.stringify(entry)}`);
      } else if (route || neighbour || entry) {
        problems.push(`node${node}: still has ${[route && 'route', neighbour && 'neighbour', entry && 'fdb'].filter(Boolean).join(', ')}`);
      }
    }),
  );
  return problems;
}

/** The same writes from this process over netlink (one handle per node), all nodes at once. */
async function netlinkWrites(handles: Map<number, { nl: Netlink; dev: number }>, j: Joiner, add: boolean): Promise<void> {
  await Promise.all(
    [...handles.values()].map(async ({ nl }) => {
      if (add) {
        await nl.neighbours.replace({ dev: REF_DEVICE, ip: j.vtep, mac: j.mac });
        await nl.fdb.replace({ dev: REF_DEVICE, mac: j.mac, dst: j.publicIP });
        await nl.routes.replace({ dst: j.subnet, gateway: j.vtep, dev: REF_DEVICE, onlink: true, protocol: REF_PROTO });
      } else {
        await nl.routes.delete({ dst: j.subnet, protocol: REF_PROTO });
        await nl.fdb.delete({ dev: REF_DEVICE, mac: j.mac, dst: j.publicIP });
        await nl.neighbours.delete({ dev: REF_DEVICE, ip: j.vtep });
      }
    }),
  );
}

/** The same writes by iproute2 on the reference device of every node, in parallel. */
async function ipWrites(netns: string[], j: Joiner, add: boolean): Promise<void> {
  await Promise.all(
    netns.map(async (ns) => {
      if (add) {
        await run('bridge', ['-n', ns, 'fdb', 'replace', j.mac, 'dev', REF_DEVICE, 'dst', j.publicIP, 'self', 'permanent']);
        await run('ip', ['-n', ns, '-batch', '-'], { input: `neigh replace ${j.vtep} lladdr ${j.mac} dev ${REF_DEVICE} nud permanent\nroute replace ${j.subnet} via ${j.vtep} dev ${REF_DEVICE} onlink proto ${REF_PROTO}\n` });
      } else {
        await run('ip', ['-n', ns, '-batch', '-'], { input: `route del ${j.subnet} proto ${REF_PROTO}\nneigh del ${j.vtep} dev ${REF_DEVICE}\n` });
        await run('bridge', ['-n', ns, 'fdb', 'del', j.mac, 'dev', REF_DEVICE, 'dst', j.publicIP, 'self']);
      }
    }),
  );
}

const fmt = (ms: number): string => ms.toFixed(1);

/** The subnets the lab's nodes hold (from their daemons' /status), and `count` free ones from the top of 10.244.0.0/16. */
export async function freeLabSubnets(lab: Lab, count: number): Promise<string[]> {
  const used = new Set<string>();
  for (const node of lab.state.nodes) {
    const status = (await lab.daemonStatus(node.index)) as { subnet?: string };
    if (!status.subnet) throw new Error(`node${node.index} has no subnet`);
    used.add(status.subnet);
  }
  const free: string[] = [];
  for (let third = 255; third >= 0 && free.length < count; third--) if (!used.has(`10.244.${third}.0/24`)) free.push(`10.244.${third}.0/24`);
  if (free.length < count) throw new Error(`only ${free.length} free subnets for ${count} joins`);
  return free;
}

/**
 * Builds an N-node VXLAN lab (removed by `cleanup`) and times J joins and leaves with their
 * references; `bgp-convergence` calls this for its in-run VXLAN figure.
 */
export async function measureVxlanConvergence(cleanup: Cleanup, options: { id: string; nodes: number; joins: number }): Promise<JoinSample[]> {
  const { id } = options;
  const samples: JoinSample[] = [];
  cleanup.add(`lab ${id} down`, () => removeLab(labLayout(id)));
  const lab = await Lab.up({ id, nodes: options.nodes, podsPerNode: 0, onProgress: (line) => process.stderr.write(`${line}\n`) });
  const nodes = lab.state.nodes.map((n) => n.index);
  const free = await freeLabSubnets(lab, options.joins);

  const waiters = new RouteWaiters(TIMEOUT_MS);
  const handles = new Map<number, { nl: Netlink; dev: number }>();
  for (const i of nodes) {
    const netns = lab.nodeLayout(i).netns;
    const nl = Netlink.open({ netns });
    cleanup.add(`netlink node${i}`, () => nl.close());
    const stream = nl.subscribe(['route'], waiters.listener(i));
    cleanup.add(`events node${i}`, () => stream.close());
    handles.set(i, { nl, dev: await nl.ifindex(DEVICE) });
    await run('ip', ['-n', netns, 'link', 'add', REF_DEVICE, 'type', 'vxlan', 'id', '2', 'dstport', '8473', 'dev', 'eth0', 'nolearning']);
    await run('ip', ['-n', netns, 'link', 'set', REF_DEVICE, 'up']);
  }
  const nodeNetns = nodes.map((i) => lab.nodeLayout(i).netns);

  const writer = EtcdWriter.start(cleanup, lab.layout.underlayNetns, lab.layout.etcdEndpoint);
  const watchSeen = new Map<string, number>();
  await writer.watch(`${PREFIX}/subnets/`, (e) => {
    if (e.event === 'put') watchSeen.set(e.key, e.atMs);
  });

  process.stderr.write(`… ${options.joins} joins and leaves over ${nodes.length} nodes\n`);
  for (let k = 0; k < options.joins; k++) {
    const j = joiner(k + 1, free[k]!);
    const key = etcdSubnetKey(PREFIX, j.subnet);
    const value = JSON.stringify({ PublicIP: j.publicIP, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: j.mac }, NodeName: j.name });

    // weft: registry write → every node programmed
    const joined = waiters.expect('new', RTPROT_WEFT, j.subnet, nodes);
    const put = await writer.put(key, value);
    const times = [...(await joined).values()];
    const problems = await checkProgrammed(handles, j, true);
    if (problems.length > 0) throw new Error(`join ${k + 1} (${j.subnet}): not programmed as expected: ${problems.join('; ')}`);
    // The watch event and the put's answer travel separately: give the event a moment.
    for (let waited = 0; !watchSeen.has(key) && waited < 2000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    const watchAt = watchSeen.get(key);
    if (watchAt === undefined) throw new Error(`join ${k + 1}: the writer's watch did not see its own put within 2 s`);

    const left = waiters.expect('del', RTPROT_WEFT, j.subnet, nodes);
    const del = await writer.delete(key);
    const leaveTimes = [...(await left).values()];
    let gone: string[] = [];
    for (let attempt = 0; attempt < 40; attempt++) {
      gone = await checkProgrammed(handles, j, false);
      if (gone.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (gone.length > 0) throw new Error(`leave ${k + 1} (${j.subnet}): entries left behind: ${gone.join('; ')}`);

    // references without a registry: the same writes by iproute2, then over netlink, on the
    // reference device
    const ref = { ...j, subnet: `10.245.${k & 255}.0/24`, vtep: `10.245.${k & 255}.0` };
    const ipJoined = waiters.expect('new', REF_PROTO, ref.subnet, nodes);
    const ipStart = monotonicMs();
    await ipWrites(nodeNetns, ref, true);
    const ipTimes = [...(await ipJoined).values()];
    await ipWrites(nodeNetns, ref, false);
    const nlJoined = waiters.expect('new', REF_PROTO, ref.subnet, nodes);
    const nlStart = monotonicMs();
    await netlinkWrites(handles, ref, true);
    const nlTimes = [...(await nlJoined).values()];
    await netlinkWrites(handles, ref, false);

    samples.push({
      join: k + 1,
      allMs: Math.max(...times) - put.sentMs,
      firstMs: Math.min(...times) - put.sentMs,
      leaveMs: Math.max(...leaveTimes) - del.sentMs,
      watchMs: watchAt - put.sentMs,
      ipMs: Math.max(...ipTimes) - ipStart,
      netlinkMs: Math.max(...nlTimes) - nlStart,
    });
  }
  writer.close();
  return samples;
}

export async function runConvergenceBench(options: ConvergenceBenchOptions): Promise<void> {
  const env = environment();
  const id = `wbconv-${process.pid.toString(36)}`;
  const samples = await withCleanup((cleanup) => measureVxlanConvergence(cleanup, { id, nodes: options.nodes, joins: options.joins }));

  type Row = { measure: string; p50: number; p99: number; max: number; mean: number };
  const stat = (pick: (s: JoinSample) => number): Summary => summary(samples.map(pick));
  const rows = [
    { measure: `node joins → all ${options.nodes} nodes programmed (weft)`, ...stat((s) => s.allMs) },
    { measure: 'node joins → first node programmed (weft)', ...stat((s) => s.firstMs) },
    { measure: `node leaves → all ${options.nodes} nodes removed (weft)`, ...stat((s) => s.leaveMs) },
    { measure: 'reference: etcd put → watch event', ...stat((s) => s.watchMs) },
    { measure: `reference: ip/bridge processes → all ${options.nodes} programmed`, ...stat((s) => s.ipMs) },
    { measure: `reference: netlink writes → all ${options.nodes} programmed`, ...stat((s) => s.netlinkMs) },
  ];
  const [join, , leave, watch, ip, netlink] = rows as [Row, Row, Row, Row, Row, Row];
  const p99 = join.p99;
  const lines = [
    `convergence bench: ${options.nodes}-node VXLAN lab, ${options.joins} joins (registry write → route in every node's kernel, rtnetlink events)`,
    environmentLine(env),
    '',
    `${'measure'.padEnd(52)}  p50 (ms)  p99 (ms)  max (ms)  mean (ms)`,
    ...rows.map((r) => `${r.measure.padEnd(52)}  ${fmt(r.p50).padStart(8)}  ${fmt(r.p99).padStart(8)}  ${fmt(r.max).padStart(8)}  ${fmt(r.mean).padStart(9)}`),
    '',
    `p99 join convergence ${fmt(p99)} ms: target ≤ ${TARGET_P99_MS} ms ${p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}${options.joins < 100 ? ` (with ${options.joins} samples p99 is the maximum)` : ''}`,
    `floor (etcd put → watch event + netlink writes, p50): ${fmt(watch.p50 + netlink.p50)} ms; weft p50 is ${(join.p50 / (watch.p50 + netlink.p50)).toFixed(2)}× that, ${(join.p50 / ip.p50).toFixed(2)}× the ip/bridge processes`,
    '',
    'README:',
    `| convergence (${options.nodes}-node lab, ${options.joins} joins) | p50 | p99 |`,
    '|---|---|---|',
    `| node joins → all nodes programmed (weft) | ${fmt(join.p50)} ms | ${fmt(join.p99)} ms |`,
    `| node leaves → all nodes removed (weft) | ${fmt(leave.p50)} ms | ${fmt(leave.p99)} ms |`,
    `| etcd put → watch event (reference) | ${fmt(watch.p50)} ms | ${fmt(watch.p99)} ms |`,
    `| same writes by ip/bridge processes, no registry | ${fmt(ip.p50)} ms | ${fmt(ip.p99)} ms |`,
    `| same writes over netlink, no registry | ${fmt(netlink.p50)} ms | ${fmt(netlink.p99)} ms |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify({ environment: env, nodes: options.nodes, joins: options.joins, targetP99Ms: TARGET_P99_MS, met: p99 <= TARGET_P99_MS, rows, samples }, null, 2)}\n`);
}
