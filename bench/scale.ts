// Benchmark: scale. etcd already lists N remote nodes (default 5000); one weft daemon starts
// cold (a 1-node lab whose flannel.1 device, and with it every entry, has been removed) and we
// time daemon start (spawn) → /readyz 200, which the daemon only answers once every remote node is
// programmed, and read its RSS (VmRSS, and the peak VmHWM) at that moment — with the V8 heap from
// the daemon's own /metrics, and the RSS again 5 s later, idle. In the same run,
// iproute2 writes the same 3·N entries with `bridge -batch` + `ip -batch` into a fresh namespace
// with a flannel.1 device (process start included, batch files written beforehand). Targets:
// daemon ≤ 2× iproute2; RSS ≤ 120 MB.
//
// Setup, not timed: the lab's net-conf.json is widened to 10.0.0.0/8 (a /16 holds only 256 /24
// subnets), the remotes are put by bench/etcd-writer.ts inside the underlay namespace and counted
// back. Checked afterwards: the kernel holds exactly N permanent neighbours, N FDB entries with a
// destination and N weft routes in both namespaces, and the daemon's /status says N programmed.
// A phase breakdown comes from the daemon's own log (pino timestamps, ms).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { daemonGet } from '../src/daemon/client.js';
import { isAlive, run } from '../src/lab/exec.js';
import { Lab, removeLab } from '../src/lab/lab.js';
import { labLayout } from '../src/lab/layout.js';
import { RTPROT_WEFT } from '../src/netlink/index.js';
import { etcdSubnetKey } from '../src/registry/etcd.js';
import { EtcdWriter } from './etcd-writer-client.js';
import { environment, environmentLine, processMemoryMB, withCleanup } from './harness.js';
import { remoteNode as remote, WIDE_NETWORK, type RemoteNode as Remote } from './remote-nodes.js';

export interface ScaleBenchOptions {
  nodes: number;
  json?: string;
}

const TARGET_RATIO = 2;
const TARGET_RSS_MB = 120;
const DEVICE = 'flannel.1';
const PREFIX = '/weft/network';

function countEntries(netns: string): { neighbours: number; fdb: number; routes: number } {
  const json = (cmd: string, args: string[]): unknown[] => JSON.parse(execFileSync(cmd, ['-n', netns, '-j', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }) || '[]') as unknown[];
  return {
    neighbours: json('ip', ['neigh', 'show', 'dev', DEVICE, 'nud', 'permanent']).length,
    fdb: (json('bridge', ['fdb', 'show', 'dev', DEVICE]) as { dst?: string }[]).filter((e) => e.dst).length,
    routes: json('ip', ['route', 'show', 'proto', String(RTPROT_WEFT)]).length,
  };
}

function checkCount(what: string, counted: { neighbours: number; fdb: number; routes: number }, n: number): void {
  if (counted.neighbours !== n || counted.fdb !== n || counted.routes !== n) throw new Error(`${what}: expected ${n} of each entry, the kernel has ${JSON.stringify(counted)}`);
}

/** iproute2 into a fresh namespace with an underlay veth and flannel.1; returns seconds. */
async function iproute2Run(netns: string, remotes: Remote[], dir: string): Promise<number> {
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['-n', netns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1']);
  await run('ip', ['-n', netns, 'addr', 'add', '198.51.100.1/24', 'dev', 'ul0']);
  await run('ip', ['-n', netns, 'link', 'set', 'ul0', 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'ul1', 'up']);
  await run('ip', ['-n', netns, 'link', 'add', DEVICE, 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '198.51.100.1', 'dev', 'ul0', 'nolearning']);
  await run('ip', ['-n', netns, 'link', 'set', DEVICE, 'up']);
  const ipBatch = join(dir, 'ip.batch');
  const bridgeBatch = join(dir, 'bridge.batch');
  writeFileSync(ipBatch, remotes.map((r) => `neigh replace ${r.vtep} lladdr ${r.mac} dev ${DEVICE} nud permanent\nroute replace ${r.subnet} via ${r.vtep} dev ${DEVICE} onlink proto ${RTPROT_WEFT}\n`).join(''));
  writeFileSync(bridgeBatch, remotes.map((r) => `fdb replace ${r.mac} dev ${DEVICE} dst ${r.publicIP} self permanent\n`).join(''));
  const start = performance.now();
  execFileSync('bridge', ['-n', netns, '-batch', bridgeBatch], { stdio: 'inherit' });
  execFileSync('ip', ['-n', netns, '-batch', ipBatch], { stdio: 'inherit' });
  return (performance.now() - start) / 1000;
}

/** Garbage collection so far, by V8's kind (minor = scavenges of the young generation). */
type GcTally = Record<'minor' | 'major' | 'incremental', { count: number; ms: number }>;

/** The daemon's V8 heap (used, total) and external memory, MB, and its GC so far, from its own /metrics. */
async function heapMB(socketPath: string): Promise<{ used: number; total: number; external: number; gc: GcTally }> {
  const res = await daemonGet({ socketPath }, '/metrics', 5000);
  const sample = (name: string): number | undefined => {
    const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(res.body);
    return m ? Number(m[1]) : undefined;
  };
  const value = (name: string): number => {
    const v = sample(name);
    if (v === undefined) throw new Error(`daemon /metrics has no ${name}`);
    return v / 1048576;
  };
  // prom-client's gc histogram; a kind that never ran has no series.
  const gcOf = (kind: string) => ({ count: sample(`weft_nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0, ms: (sample(`weft_nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0) * 1000 });
  return {
    used: value('weft_nodejs_heap_size_used_bytes'),
    total: value('weft_nodejs_heap_size_total_bytes'),
    external: value('weft_nodejs_external_memory_bytes'),
    gc: { minor: gcOf('minor'), major: gcOf('major'), incremental: gcOf('incremental') },
  };
}

/** Milestones from the daemon's JSON log, ms after `spawnedAt` (epoch ms). */
function phases(logFile: string, spawnedAt: number): Record<string, number> {
  const wanted: Record<string, string> = { starting: 'process up, config read', 'lease acquired': 'lease acquired', 'etcd watch synced': 'registry read', reconciled: 'first reconcile done' };
  const out: Record<string, number> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { time?: number; msg?: string };
    try {
      entry = JSON.parse(line) as { time?: number; msg?: string };
    } catch {
      continue;
    }
    if (entry.time === undefined || entry.time < spawnedAt || !entry.msg) continue;
    const name = wanted[entry.msg];
    if (name && out[name] === undefined) out[name] = entry.time - spawnedAt;
  }
  return out;
}

export async function runScaleBench(options: ScaleBenchOptions): Promise<void> {
  const env = environment();
  const id = `wbscale-${process.pid.toString(36)}`;
  const n = options.nodes;
  const remotes = Array.from({ length: n }, (_, i) => remote(i + 1));
  const result = await withCleanup(async (cleanup) => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-bench-scale-'));
    cleanup.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    cleanup.add(`lab ${id} down`, () => removeLab(labLayout(id)));
    const refNetns = `${id}-ref`;
    cleanup.add(`namespace ${refNetns}`, () => run('ip', ['netns', 'del', refNetns]).then(() => undefined, () => undefined));

    const lab = await Lab.up({ id, nodes: 1, podsPerNode: 0, onProgress: (line) => process.stderr.write(`${line}\n`) });
    const node = lab.nodeLayout(1);
    await lab.stopDaemon(1, 'SIGTERM');

    const confPath = join(lab.layout.runDir, 'net-conf.json');
    const conf = JSON.parse(readFileSync(confPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(confPath, `${JSON.stringify({ ...conf, Network: WIDE_NETWORK }, null, 2)}\n`);

    process.stderr.write(`… putting ${n} remote nodes into etcd\n`);
    const writer = EtcdWriter.start(cleanup, lab.layout.underlayNetns, lab.layout.etcdEndpoint);
    await writer.putMany(remotes.map((r) => ({ key: etcdSubnetKey(PREFIX, r.subnet), value: JSON.stringify({ PublicIP: r.publicIP, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: r.mac }, NodeName: r.name }) })));
    const stored = await writer.count(`${PREFIX}/subnets/`);
    writer.close();
    if (stored !== n + 1) throw new Error(`etcd holds ${stored} subnet entries, expected ${n} remotes + node1`);

    // A cold start: no device, so no entries either (a rebooted node).
    await run('ip', ['-n', node.netns, 'link', 'del', DEVICE]);
    const leftover = (JSON.parse((await run('ip', ['-n', node.netns, '-j', 'route', 'show', 'proto', String(RTPROT_WEFT)])) || '[]') as unknown[]).length;
    if (leftover !== 0) throw new Error(`${leftover} weft routes left in ${node.netns} after removing ${DEVICE}`);

    process.stderr.write('… iproute2 reference (1)\n');
    const ipFirst = await iproute2Run(refNetns, remotes, dir);
    checkCount('iproute2', countEntries(refNetns), n);
    await run('ip', ['netns', 'del', refNetns]);

    process.stderr.write(`… daemon start with ${n} remote nodes\n`);
    const spawnedAt = Date.now();
    const start = performance.now();
    const pid = await lab.startDaemon(1);
    let readyMs: number | undefined;
    let last = '';
    while (performance.now() - start < 300_000) {
      try {
        const res = await daemonGet({ socketPath: lab.statusSocket(1) }, '/readyz', 2000);
        if (res.status === 200) {
          readyMs = performance.now() - start;
          break;
        }
        last = res.body.trim();
      } catch (error) {
        last = (error as Error).message;
      }
      if (!isAlive(pid)) throw new Error(`the daemon exited; see ${join(node.dir, 'daemon.log')}`);
      // Every 20 ms: finer polling would mostly load the daemon it is timing.
      await new Promise((r) => setTimeout(r, 20));
    }
    if (readyMs === undefined) throw new Error(`daemon not ready within 300 s: ${last}`);
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon')) throw new Error(`pid ${pid} is not the daemon`);
    const memory = processMemoryMB(pid);
    const heap = await heapMB(lab.statusSocket(1));
    const status = (await lab.daemonStatus(1)) as { remoteNodes: { state: string }[]; lastReconcile?: { durationMs: number } };
    const programmed = status.remoteNodes.filter((r) => r.state === 'programmed').length;
    if (status.remoteNodes.length !== n || programmed !== n) throw new Error(`daemon reports ${programmed} of ${status.remoteNodes.length} remote nodes programmed, expected ${n}`);
    const daemonCount = countEntries(node.netns);
    checkCount('weft daemon', daemonCount, n);
    const breakdown = phases(join(node.dir, 'daemon.log'), spawnedAt);
    // What stays once the start-up garbage can go: the same daemon 5 s later, idle.
    await new Promise((r) => setTimeout(r, 5000));
    if (!isAlive(pid)) throw new Error(`the daemon exited after ready; see ${join(node.dir, 'daemon.log')}`);
    const settled = processMemoryMB(pid);

    process.stderr.write('… iproute2 reference (2)\n');
    const ipSecond = await iproute2Run(refNetns, remotes, dir);
    checkCount('iproute2', countEntries(refNetns), n);
    await run('ip', ['netns', 'del', refNetns]);
    return { readyMs, memory, heap, settledRss: settled.rss, breakdown, reconcileMs: status.lastReconcile?.durationMs, ipSeconds: [ipFirst, ipSecond], counted: daemonCount };
  });

  const ipBest = Math.min(...result.ipSeconds);
  const daemonS = result.readyMs / 1000;
  const ratio = daemonS / ipBest;
  const entries = 3 * n;
  const lines = [
    `scale bench: ${n} remote nodes in etcd (${entries} kernel entries: neighbour + FDB + onlink route each)`,
    environmentLine(env),
    '',
    `${'measure'.padEnd(52)}  time (s)  entries/s`,
    `${'weft daemon: start → /readyz 200 (all programmed)'.padEnd(52)}  ${daemonS.toFixed(3).padStart(8)}  ${Math.round(entries / daemonS).toString().padStart(9)}`,
    `${'iproute2 bridge -batch + ip -batch (best of 2)'.padEnd(52)}  ${ipBest.toFixed(3).padStart(8)}  ${Math.round(entries / ipBest).toString().padStart(9)}`,
    `  (iproute2 runs: ${result.ipSeconds.map((s) => s.toFixed(3)).join(' s, ')} s)`,
    '',
    `daemon phases (ms after spawn, from its log): ${Object.entries(result.breakdown).map(([k, v]) => `${k} ${v}`).join(', ')}${result.reconcileMs !== undefined ? `; last reconcile pass ${Math.round(result.reconcileMs)} ms` : ''}`,
    ...(result.reconcileMs !== undefined ? [`kernel programming alone (the daemon's reconcile pass): ${(result.reconcileMs / 1000).toFixed(3)} s = ${(result.reconcileMs / 1000 / ipBest).toFixed(2)}× iproute2`] : []),
    `kernel after the daemon: ${result.counted.neighbours} neighbours, ${result.counted.fdb} FDB entries, ${result.counted.routes} routes`,
    '',
    `ratio weft / iproute2: ${ratio.toFixed(2)}×  (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'})`,
    `daemon RSS at ready: ${result.memory.rss.toFixed(1)} MB (peak ${result.memory.hwm.toFixed(1)} MB, 5 s later ${result.settledRss.toFixed(1)} MB)  (target ≤ ${TARGET_RSS_MB} MB: ${result.memory.rss <= TARGET_RSS_MB ? 'met' : 'NOT met'})`,
    `  of which V8 heap ${result.heap.used.toFixed(1)} MB used / ${result.heap.total.toFixed(1)} MB reserved, external ${result.heap.external.toFixed(1)} MB (daemon /metrics at ready)`,
    `  GC until ready: ${(['minor', 'major', 'incremental'] as const).map((k) => `${k} ${result.heap.gc[k].count}× ${result.heap.gc[k].ms.toFixed(0)} ms`).join(', ')}`,
    '',
    'README:',
    `| scale (${n} remote nodes) | weft | iproute2 batch | ratio |`,
    '|---|---|---|---|',
    `| start → ready, all programmed | ${daemonS.toFixed(2)} s | ${ipBest.toFixed(2)} s | ${ratio.toFixed(2)}× |`,
    `| daemon RSS at ready | ${result.memory.rss.toFixed(0)} MB | | |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify({ environment: env, nodes: n, entries, daemonReadySeconds: daemonS, iproute2Seconds: result.ipSeconds, ratio, rssMB: result.memory.rss, peakRssMB: result.memory.hwm, settledRssMB: result.settledRss, heapMB: result.heap, reconcileMs: result.reconcileMs, phasesMs: result.breakdown, met: { ratio: ratio <= TARGET_RATIO, rss: result.memory.rss <= TARGET_RSS_MB } }, null, 2)}\n`);
  }
}
