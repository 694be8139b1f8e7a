// Benchmark: a registry holding N remote nodes (default 5000). For each registry implementation:
// the time from starting a watch to the first full snapshot, and the heap that snapshot and the
// registry behind it retain (process.memoryUsage().heapUsed after a forced GC, when node runs with
// --expose-gc; without it the figures include garbage and say so). Targets on this machine:
// under 1 s and under 60 MB. The snapshot is checked to hold every node, so a fast but
// incomplete read cannot pass.
//
// Implementations are rows of `registryBenchImplementations`; the etcd one starts its own
// etcd-server (free ports, temp data dir, stopped by PID) unless endpoints are given. The kube
// registry adds its row there (see KUBE HOOK below).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { createLogger } from '../src/log.js';
import { EtcdRegistry, etcdSubnetKey } from '../src/registry/etcd.js';
import { kubeBenchTarget } from '../src/testing/kube-bench-target.js';
import type { NodeRegistry, RegistryNetwork, Snapshot } from '../src/registry/types.js';

export interface RegistryBenchOptions {
  /** Remote nodes in the store (default 5000). */
  nodes?: number;
  /** Repetitions per implementation; the best time and the largest heap are reported (default 3). */
  runs?: number;
  /** Only these implementations (by name); default all. */
  implementations?: string[];
  /** Use this etcd instead of starting one (its <prefix> is filled and removed). */
  etcdEndpoints?: string[];
  /** Also write the results as JSON to this file. */
  json?: string;
  /** Where the table goes (default stdout). */
  out?: NodeJS.WritableStream;
}

export interface RegistryBenchResult {
  implementation: string;
  nodes: number;
  runs: number;
  /** Best time from watch() to the first full snapshot, ms. */
  bestMs: number;
  medianMs: number;
  /** Largest heap retained by registry + snapshot across runs, MB (after GC when possible). */
  heapMB: number;
  /** Largest heap growth at the moment the snapshot arrived, garbage included, MB. */
  heapAtSnapshotMB: number;
  /** Whether heap figures were taken after a forced GC (node --expose-gc). */
  gcForced: boolean;
  met: { time: boolean; heap: boolean };
}

/** One store under test: filled once, then a fresh registry per run. */
export interface RegistryBenchStore {
  createRegistry(): NodeRegistry;
  teardown(): Promise<void>;
}

export interface RegistryBenchImplementation {
  name: string;
  setup(ctx: { nodes: number; network: RegistryNetwork; options: RegistryBenchOptions }): Promise<RegistryBenchStore>;
}

export const BENCH_NETWORK: RegistryNetwork = { network: '10.0.0.0/8', subnetLen: 24 };
const TARGET_MS = 1000;
const TARGET_MB = 60;

/** The i-th remote node (1-based) of the bench, the same for every implementation. */
export function benchNode(i: number): { name: string; subnet: string; publicIP: string; vtepMac: string } {
  const [hi, lo] = [i >> 8, i & 255];
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return { name: `bench-node-${String(i).padStart(5, '0')}`, subnet: `10.${hi}.${lo}.0/24`, publicIP: `198.18.${hi}.${lo}`, vtepMac: `0a:58:0a:${hex(hi)}:${hex(lo)}:01` };
}

// -- etcd ----------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A throwaway etcd-server: started on free ports in a temp dir, stopped by PID. */
async function startEtcd(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const log = openSync(join(dir, 'etcd.log'), 'a');
  const child: ChildProcess = spawn(
    'etcd',
    ['--name', 'bench', '--data-dir', join(dir, 'data'), '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `bench=${peer}`, '--log-level', 'warn'],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (((await res.json()) as { health?: string }).health === 'true') return { endpoint, stop };
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error('etcd-server did not become healthy (is `etcd` installed?)');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const etcdBenchImplementation: RegistryBenchImplementation = {
  name: 'etcd',
  async setup({ nodes, network, options }) {
    const own = options.etcdEndpoints === undefined ? await startEtcd() : undefined;
    const endpoints = options.etcdEndpoints ?? [own!.endpoint];
    const prefix = `/weft-bench/${process.pid}`;
    const client = new Etcd3({ hosts: endpoints });
    try {
      // etcd allows 128 operations per transaction by default.
      for (let first = 1; first <= nodes; first += 128) {
        const ops = [];
        for (let i = first; i < Math.min(first + 128, nodes + 1); i++) {
          const n = benchNode(i);
          const value = JSON.stringify({ PublicIP: n.publicIP, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: n.vtepMac }, NodeName: n.name });
          ops.push({ request_put: { key: Buffer.from(etcdSubnetKey(prefix, n.subnet)), value: Buffer.from(value) } });
        }
        await client.kv.txn({ success: ops });
      }
    } catch (err) {
      client.close();
      await own?.stop();
      throw err;
    }
    const logger = createLogger({ level: 'warn', pretty: false });
    return {
      createRegistry: () => new EtcdRegistry({ endpoints, prefix, network, logger, metrics: new Registry() }),
      async teardown() {
        try {
          await client.delete().prefix(`${prefix}/`);
        } finally {
          client.close();
          await own?.stop();
        }
      },
    };
  },
};

// -- kube ----------------------------------------------------------------------------------------

/** The in-repo Kubernetes API test server holding the same remote nodes as Node objects. */
export const kubeBenchImplementation: RegistryBenchImplementation = {
  name: 'kube',
  async setup({ nodes }) {
    const target = await kubeBenchTarget({ nodes });
    return {
      createRegistry: () => target.createRegistry(),
      teardown: () => target.close(),
    };
  },
};

/** Every implementation the bench runs, in order. */
export const registryBenchImplementations: RegistryBenchImplementation[] = [etcdBenchImplementation, kubeBenchImplementation];

// -- measurement ---------------------------------------------------------------------------------

function collect(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function firstFullSnapshot(registry: NodeRegistry, nodes: number, timeoutMs = 60_000): Promise<Snapshot> {
  return new Promise<Snapshot>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no snapshot with ${nodes} nodes within ${timeoutMs} ms`)), timeoutMs);
    registry.watch((s) => {
      if (s.nodes.length !== nodes) return;
      clearTimeout(timer);
      resolve(s);
    });
  });
}

async function measure(impl: RegistryBenchImplementation, nodes: number, runs: number, options: RegistryBenchOptions): Promise<RegistryBenchResult> {
  const store = await impl.setup({ nodes, network: BENCH_NETWORK, options });
  const times: number[] = [];
  let heapMB = 0;
  let heapAtSnapshotMB = 0;
  let gcForced = false;
  try {
    for (let run = 0; run < runs; run++) {
      gcForced = collect();
      const before = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      const registry = store.createRegistry();
      try {
        const snapshot = await firstFullSnapshot(registry, nodes);
        times.push(performance.now() - t0);
        heapAtSnapshotMB = Math.max(heapAtSnapshotMB, (process.memoryUsage().heapUsed - before) / 2 ** 20);
        collect();
        const after = process.memoryUsage().heapUsed;
        heapMB = Math.max(heapMB, (after - before) / 2 ** 20);
        if (snapshot.nodes[0]?.name !== benchNode(1).name) throw new Error(`${impl.name}: unexpected first node ${snapshot.nodes[0]?.name}`);
      } finally {
        await registry.close();
      }
    }
  } finally {
    await store.teardown();
  }
  const bestMs = Math.min(...times);
  return { implementation: impl.name, nodes, runs, bestMs, medianMs: median(times), heapMB, heapAtSnapshotMB, gcForced, met: { time: bestMs < TARGET_MS, heap: Math.max(heapMB, heapAtSnapshotMB) < TARGET_MB } };
}

/** Runs the bench, prints a table, and returns the figures. */
export async function runRegistryBench(options: RegistryBenchOptions = {}): Promise<RegistryBenchResult[]> {
  const nodes = options.nodes ?? 5000;
  const runs = options.runs ?? 3;
  const out = options.out ?? process.stdout;
  const chosen = registryBenchImplementations.filter((i) => options.implementations === undefined || options.implementations.includes(i.name));
  if (chosen.length === 0) throw new Error(`no registry bench implementation named ${options.implementations?.join(', ')}`);
  const results: RegistryBenchResult[] = [];
  for (const impl of chosen) results.push(await measure(impl, nodes, runs, options));
  const gcNote = results.every((r) => r.gcForced) ? 'after forced GC' : 'WITHOUT forced GC (run node with --expose-gc for retained heap)';
  const lines = [
    `registry bench: ${nodes} remote nodes, time from watch() to the first full snapshot, best of ${runs}; heap ${gcNote}`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    'registry     best (ms)   median (ms)   heap retained (MB)   heap at snapshot (MB)   targets (<1 s, <60 MB)',
    ...results.map(
      (r) =>
        `${r.implementation.padEnd(10)}  ${r.bestMs.toFixed(0).padStart(9)}   ${r.medianMs.toFixed(0).padStart(11)}   ${r.heapMB.toFixed(1).padStart(18)}   ${r.heapAtSnapshotMB.toFixed(1).padStart(20)}   ${r.met.time ? 'time met' : 'time NOT met'}, ${r.met.heap ? 'heap met' : 'heap NOT met'}`,
    ),
  ];
  out.write(`${lines.join('\n')}\n`);
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
  return results;
}
