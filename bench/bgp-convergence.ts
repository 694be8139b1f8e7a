// Benchmark: BGP convergence. In an N-node lab with `--backend=bgp` (default 10 nodes, no pods) a
// node joins and we time what an operator sees: its registry entry is written → the route to its
// podCIDR is in EVERY other node's kernel. Twice: with the node mesh (every node peers with the
// joiner) and behind a BIRD route reflector (`tor: 'bird'`, mesh off). p50/p99 over J joins
// (default 50), each followed by a leave (registry delete → route gone everywhere).
//
// The joiner plays a new node's daemon (bench/bgp-announcer.ts: bgp-ts's Speaker with the real
// sessions and listener, in a namespace of its own on the underlay, at a fresh 192.0.2.1xx each
// join): its listener is up and its podCIDR set before the registry write, and its peers are set
// as soon as etcd acknowledges the write — modes/bgp/backend.ts's order (start → register → claim
// → reconcile). Timing is event-driven: rtnetlink route notifications in every node namespace,
// the writer's put time and the joiner's Established times, all on CLOCK_MONOTONIC.
//
// Where the time goes, per join:
//   - registry: etcd put → watch event (the other nodes learn of the joiner at about that time);
//   - session setup: put → the joiner's session(s) Established (mesh: the last of N; the nodes
//     dial the joiner when their registry watch fires, the joiner dials them after its write —
//     whichever connection wins the collision; RR: the one session to the reflector);
//   - route propagation: Established → route in the node's kernel (UPDATE, decision, import
//     policy, kernel sync). Mesh: max over nodes of (route_i − Established_i); RR: last route −
//     Established (the reflector relays the UPDATE).
// Timers on this path: bgp-ts has no MinRouteAdvertisementInterval (its Adj-RIB-Out drains once
// per event-loop turn) and BIRD 2 none by default either; the first connect of a new peer is
// immediate (ConnectRetry 120 s and the 5 s idle hold only matter after a failed attempt, so a
// sample that hits them shows as an outlier of seconds). A join slower than 1 s is reported with
// the session history of both ends (the slow nodes' daemon logs, the joiner's session log).
//
// References in the same run: the VXLAN lab's figure (bench/convergence.ts, same node count and
// joins) and, behind the reflector, BIRD itself as another client of the same reflector
// installing into its kernel (bench/bird-client.ts): joiner Established → route in BIRD's kernel.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, removeLab } from '../src/lab/lab.js';
import { labLayout } from '../src/lab/layout.js';
import { Netlink, RTPROT_WEFT } from '../src/netlink/index.js';
import { etcdSubnetKey } from '../src/registry/etcd.js';
import { Announcer } from './bgp-announcer-client.js';
import { RTPROT_BIRD, startBirdClient } from './bird-client.js';
import { freeLabSubnets, measureVxlanConvergence, type JoinSample } from './convergence.js';
import { EtcdWriter } from './etcd-writer-client.js';
import { environment, environmentLine, monotonicMs, summary, withCleanup, type Cleanup, type Summary } from './harness.js';
import { RouteWaiters } from './route-events.js';
import { underlayHost } from './underlay-host.js';

export interface BgpConvergenceBenchOptions {
  nodes: number;
  joins: number;
  /** Which BGP topologies (default both). */
  modes?: BgpTopology[];
  json?: string;
}

export type BgpTopology = 'mesh' | 'rr';

const ASN = 64512;
const PREFIX = '/weft/network';
// Longer than ConnectRetry (120 s): a join stuck behind that timer is a figure, not a failure.
const TIMEOUT_MS = 150_000;
/** Joins slower than this get their session history (both ends) in the report. */
const SLOW_MS = 1000;
const TARGET_P99_MS = 100;
const BIRD_CLIENT_IP = '192.0.2.99';

interface BgpJoinSample {
  join: number;
  /** registry write → last node's kernel has the route, ms */
  allMs: number;
  firstMs: number;
  leaveMs: number;
  watchMs: number;
  /** registry write → (last) joiner session Established */
  sessionMs: number;
  /** Established → route in the kernel (max over nodes) */
  propagationMs: number;
  /** RR only: joiner's session Established → route in the BIRD client's kernel */
  birdPropagationMs?: number;
  birdAllMs?: number;
  /** Slow joins: the joiner's and the slow nodes' session history, times relative to the put. */
  slow?: string[];
}

function joinerIP(k: number): string {
  if (k < 1 || k > 150) throw new Error('joins: at most 150');
  return `192.0.2.${100 + k}`;
}

async function measureBgpJoins(cleanup: Cleanup, options: { id: string; nodes: number; joins: number; topology: BgpTopology }): Promise<BgpJoinSample[]> {
  const { id, topology } = options;
  const dir = mkdtempSync(join(tmpdir(), `${id}-`));
  cleanup.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
  cleanup.add(`lab ${id} down`, () => removeLab(labLayout(id)));
  const lab = await Lab.up({ id, backend: 'bgp', tor: topology === 'rr' ? 'bird' : 'none', nodes: options.nodes, podsPerNode: 0, onProgress: (line) => process.stderr.write(`${line}\n`) });
  const nodes = lab.state.nodes.map((n) => n.index);
  const nodeIP = new Map(nodes.map((i) => [i, lab.nodeLayout(i).ip]));
  const free = await freeLabSubnets(lab, options.joins);

  const waiters = new RouteWaiters(TIMEOUT_MS);
  const handles = new Map<number, Netlink>();
  for (const i of nodes) {
    const nl = Netlink.open({ netns: lab.nodeLayout(i).netns });
    cleanup.add(`netlink node${i}`, () => nl.close());
    const stream = nl.subscribe(['route'], waiters.listener(i));
    cleanup.add(`events node${i}`, () => stream.close());
    handles.set(i, nl);
  }
  const joinHost = await underlayHost(cleanup, lab, `${id}-nj`, 'bj0', []);
  let birdReady = false;
  if (topology === 'rr') {
    const host = await underlayHost(cleanup, lab, `${id}-nb`, 'bb0', [`${BIRD_CLIENT_IP}/24`]);
    const nl = Netlink.open({ netns: host.netns });
    cleanup.add('netlink bird client', () => nl.close());
    const stream = nl.subscribe(['route'], waiters.listener(0));
    cleanup.add('events bird client', () => stream.close());
    const bird = await startBirdClient(cleanup, { netns: host.netns, dir, name: `${id}-bird`, address: BIRD_CLIENT_IP, reflector: lab.layout.serviceIP, asn: ASN });
    for (let waited = 0; waited < 20_000 && !birdReady; waited += 100) {
      birdReady = /Established/.test(await bird.birdc('show', 'protocols', 'reflector'));
      if (!birdReady) await new Promise((r) => setTimeout(r, 100));
    }
    if (!birdReady) throw new Error('the BIRD client did not establish its session with the reflector');
  }

  const writer = EtcdWriter.start(cleanup, lab.layout.underlayNetns, lab.layout.etcdEndpoint);
  const watchSeen = new Map<string, number>();
  await writer.watch(`${PREFIX}/subnets/`, (e) => {
    if (e.event === 'put') watchSeen.set(e.key, e.atMs);
  });

  process.stderr.write(`… ${options.joins} BGP joins and leaves over ${nodes.length} nodes (${topology === 'mesh' ? 'node mesh' : 'BIRD route reflector'})\n`);
  const samples: BgpJoinSample[] = [];
  for (let k = 1; k <= options.joins; k++) {
    const ip = joinerIP(k);
    const subnet = free[k - 1]!;
    await joinHost.addAddress(`${ip}/24`);
    const joiner = await Announcer.start(cleanup, joinHost.netns, { asn: ASN, routerId: ip, listen: ip });
    await joiner.announce([{ prefix: subnet, nextHop: ip, origin: 0 }]);
    const key = etcdSubnetKey(PREFIX, subnet);
    const value = JSON.stringify({ PublicIP: ip, BackendType: 'bgp', BackendData: { ASN }, NodeName: `bench-join-${k}` });
    const peers =
      topology === 'mesh'
        ? nodes.map((i) => ({ address: nodeIP.get(i)!, asn: ASN, port: 179, localAddress: ip, families: ['ipv4' as const] }))
        : [{ address: lab.layout.serviceIP, asn: ASN, localAddress: ip, families: ['ipv4' as const] }];

    const joined = waiters.expect('new', RTPROT_WEFT, subnet, nodes);
    const birdJoined = topology === 'rr' ? waiters.expect('new', RTPROT_BIRD, subnet, [0]) : undefined;
    const put = await writer.put(key, value);
    await joiner.peers(peers);
    const times = await joined;
    const birdAt = birdJoined ? (await birdJoined).get(0)! : undefined;

    // Each node's route must point at the joiner.
    for (const [i, nl] of handles) {
      const route = (await nl.routes.list({ family: 4, protocol: RTPROT_WEFT })).find((r) => r.dst === subnet);
      if (!route || route.gateway !== ip) throw new Error(`join ${k}: node${i} has ${JSON.stringify(route)} for ${subnet}, expected via ${ip}`);
    }
    const established = new Map<string, number>();
    for (const p of peers) established.set(p.address, (await joiner.waitFor((e) => e.event === 'established' && e.peer === p.address, 5000, `join ${k}: session with ${p.address}`)).atMs);
    for (let waited = 0; !watchSeen.has(key) && waited < 2000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    const watchAt = watchSeen.get(key);
    if (watchAt === undefined) throw new Error(`join ${k}: the writer's watch did not see its own put within 2 s`);

    let slow: string[] | undefined;
    if (Math.max(...times.values()) - put.sentMs > SLOW_MS) {
      const toMono = wallToMonotonic();
      slow = [`joiner ${ip}: ${joiner.events.filter((e) => e.event !== 'ready').map((e) => `${e.event} ${e.peer ?? ''} +${Math.round(e.atMs - put.sentMs)} ms`).join('; ')}`];
      for (const [i, at] of times) {
        if (at - put.sentMs <= SLOW_MS) continue;
        const nodeAddress = nodeIP.get(i)!;
        slow.push(`node${i} (route +${Math.round(at - put.sentMs)} ms): ${sessionHistory(join(lab.nodeLayout(i).dir, 'daemon.log'), ip, toMono, put.sentMs)}`);
        slow.push(`  joiner's side with node${i}: ${joiner.sessionLog(nodeAddress).map((e) => `${e.msg === 'bgp state change' ? `${e.from}→${e.to} (${e.reason}${e.detail ? `: ${e.detail}` : ''})` : e.msg} +${Math.round(e.atMs - put.sentMs)} ms`).join('; ')}`);
      }
    }

    const left = waiters.expect('del', RTPROT_WEFT, subnet, nodes);
    const del = await writer.delete(key);
    const leaveTimes = [...(await left).values()];
    await joiner.stop();
    await joinHost.delAddress(`${ip}/24`);

    const arrivals = [...times.values()];
    const lastEstablished = Math.max(...established.values());
    const propagation =
      topology === 'mesh' ? Math.max(...nodes.map((i) => times.get(i)! - established.get(nodeIP.get(i)!)!)) : Math.max(...arrivals) - established.get(lab.layout.serviceIP)!;
    samples.push({
      join: k,
      allMs: Math.max(...arrivals) - put.sentMs,
      firstMs: Math.min(...arrivals) - put.sentMs,
      leaveMs: Math.max(...leaveTimes) - del.sentMs,
      watchMs: watchAt - put.sentMs,
      sessionMs: lastEstablished - put.sentMs,
      propagationMs: propagation,
      ...(birdAt !== undefined ? { birdPropagationMs: birdAt - lastEstablished, birdAllMs: birdAt - put.sentMs } : {}),
      ...(slow ? { slow } : {}),
    });
  }
  writer.close();
  // Free the machine for the next topology.
  await cleanup.run();
  return samples;
}

/** The wall-clock (epoch ms) → CLOCK_MONOTONIC ms conversion, for times taken from logs. */
function wallToMonotonic(): (epochMs: number) => number {
  const offset = Date.now() - monotonicMs();
  return (epochMs) => epochMs - offset;
}

/** A daemon's session state changes with `peer` (its JSON log), ms relative to `fromMs` (monotonic). */
function sessionHistory(logFile: string, peer: string, toMono: (epochMs: number) => number, fromMs: number): string {
  const out: string[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes(`"${peer}"`)) continue;
    let e: { time?: number; msg?: string; from?: string; to?: string; reason?: string; detail?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    const at = toMono(e.time ?? 0) - fromMs;
    if (at < -5000) continue;
    out.push(`${e.msg === 'bgp state change' ? `${e.from}→${e.to} (${e.reason}${e.detail ? `: ${e.detail}` : ''})` : e.msg} +${Math.round(at)} ms`);
  }
  return out.join('; ');
}

const fmt = (ms: number): string => ms.toFixed(1);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

export async function runBgpConvergenceBench(options: BgpConvergenceBenchOptions): Promise<void> {
  const env = environment();
  const base = `wbbgpc-${process.pid.toString(36)}`;
  const modes = options.modes ?? ['mesh', 'rr'];
  const result: { vxlan: JoinSample[]; bgp: Partial<Record<BgpTopology, BgpJoinSample[]>> } = { vxlan: [], bgp: {} };
  // One lab at a time (each cleanup list ends with its lab's removal), VXLAN reference first.
  result.vxlan = await withCleanup((cleanup) => measureVxlanConvergence(cleanup, { id: `${base}-x`, nodes: options.nodes, joins: options.joins }));
  for (const topology of modes) {
    result.bgp[topology] = await withCleanup((cleanup) => measureBgpJoins(cleanup, { id: `${base}-${topology === 'mesh' ? 'm' : 'r'}`, nodes: options.nodes, joins: options.joins, topology }));
  }

  const vx = { join: summary(result.vxlan.map((s) => s.allMs)), leave: summary(result.vxlan.map((s) => s.leaveMs)), watch: summary(result.vxlan.map((s) => s.watchMs)) };
  type Row = { measure: string } & Summary;
  const rows: Row[] = [
    { measure: `VXLAN: join → all ${options.nodes} nodes programmed`, ...vx.join },
    { measure: `VXLAN: leave → all ${options.nodes} nodes removed`, ...vx.leave },
    { measure: 'VXLAN lab: etcd put → watch event', ...vx.watch },
  ];
  const figures: Record<string, Record<string, Summary>> = {};
  for (const topology of modes) {
    const s = result.bgp[topology]!;
    const name = topology === 'mesh' ? 'BGP mesh' : 'BGP via BIRD RR';
    const f: Record<string, Summary> = {
      join: summary(s.map((x) => x.allMs)),
      first: summary(s.map((x) => x.firstMs)),
      leave: summary(s.map((x) => x.leaveMs)),
      watch: summary(s.map((x) => x.watchMs)),
      session: summary(s.map((x) => x.sessionMs)),
      propagation: summary(s.map((x) => x.propagationMs)),
    };
    rows.push(
      { measure: `${name}: join → all ${options.nodes} nodes have the route`, ...f.join! },
      { measure: `${name}: join → first node has the route`, ...f.first! },
      { measure: `${name}: leave → route gone from all nodes`, ...f.leave! },
      { measure: `${name}:   etcd put → watch event`, ...f.watch! },
      { measure: `${name}:   put → joiner session${topology === 'mesh' ? 's' : ''} Established`, ...f.session! },
      { measure: `${name}:   Established → route in kernel (max)`, ...f.propagation! },
    );
    if (topology === 'rr') {
      f.birdPropagation = summary(s.map((x) => x.birdPropagationMs!));
      f.birdAll = summary(s.map((x) => x.birdAllMs!));
      rows.push({ measure: 'reference: BIRD client of the RR: Established → kernel', ...f.birdPropagation }, { measure: 'reference: BIRD client of the RR: put → kernel', ...f.birdAll });
    }
    figures[topology] = f;
  }

  const lines = [
    `BGP convergence bench: ${options.nodes}-node labs, ${options.joins} joins each (registry write → route in every other node's kernel, rtnetlink events)`,
    environmentLine(env),
    '',
    `${'measure'.padEnd(58)}  p50 (ms)  p99 (ms)  max (ms)  mean (ms)`,
    ...rows.map((r) => `${r.measure.padEnd(58)}  ${fmt(r.p50).padStart(8)}  ${fmt(r.p99).padStart(8)}  ${fmt(r.max).padStart(8)}  ${fmt(r.mean).padStart(9)}`),
    '',
  ];
  for (const topology of modes) {
    const f = figures[topology]!;
    const name = topology === 'mesh' ? 'BGP mesh' : 'BGP via BIRD RR';
    lines.push(
      `${name}: p50 ${fmt(f.join!.p50)} ms, p99 ${fmt(f.join!.p99)} ms = ${ratio(f.join!.p50, vx.join.p50)} / ${ratio(f.join!.p99, vx.join.p99)} VXLAN's (p50 / p99); target p99 ≤ ${TARGET_P99_MS} ms ${f.join!.p99 <= TARGET_P99_MS ? 'met' : 'NOT met'}`,
      `  of the p50: registry ${fmt(f.watch!.p50)} ms (put → watch), session setup ${fmt(f.session!.p50)} ms (put → Established), route propagation ${fmt(f.propagation!.p50)} ms (Established → kernel)`,
    );
    if (topology === 'rr') lines.push(`  propagation through the same reflector: weft ${fmt(f.propagation!.p50)} ms vs BIRD ${fmt(f.birdPropagation!.p50)} ms (p50) = ${ratio(f.propagation!.p50, f.birdPropagation!.p50)}; p99 ${ratio(f.propagation!.p99, f.birdPropagation!.p99)}`);
  }
  if (options.joins < 100) lines.push(`(with ${options.joins} samples p99 is the maximum)`);
  for (const topology of modes) {
    const slow = result.bgp[topology]!.filter((x) => x.slow);
    if (slow.length === 0) continue;
    lines.push('', `${topology === 'mesh' ? 'BGP mesh' : 'BGP via BIRD RR'}: ${slow.length} of ${options.joins} joins took over ${SLOW_MS} ms; session history (ms after the registry write):`);
    for (const x of slow) lines.push(`  join ${x.join} (${fmt(x.allMs)} ms):`, ...x.slow!.map((l) => `    ${l}`));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify({ environment: env, nodes: options.nodes, joins: options.joins, targetP99Ms: TARGET_P99_MS, rows, figures, vxlan: { join: vx.join, leave: vx.leave, watch: vx.watch }, samples: { vxlan: result.vxlan, ...result.bgp } }, null, 2)}\n`);
  }
}
