// Benchmark: program N remote-node triples (FDB + neighbour + onlink route, what the VXLAN
// backend writes per node) into a fresh namespace through weft's netlink layer, and the same
// entries with iproute2's `ip -batch` and `bridge -batch` into another fresh namespace, in the same
// run. Prints the time and ops/s of each and the ratio (target: weft within 2× of iproute2).
// Every entry is counted back from the kernel afterwards, so a fast but incomplete run cannot pass.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Netlink } from '../src/netlink/index.js';
import { RTPROT_WEFT } from '../src/netlink/protocol.js';

export interface NetlinkBenchOptions {
  nodes: number;
  runs: number;
  json?: string;
}

interface RemoteEntry {
  vtep: string;
  subnet: string;
  mac: string;
  publicIP: string;
}

interface Sample {
  tool: 'weft' | 'iproute2';
  seconds: number;
}

const DEVICE = 'flannel.1';

function entries(count: number): RemoteEntry[] {
  return Array.from({ length: count }, (_, n) => {
    const i = n + 1;
    const [hi, lo] = [i >> 8, i & 255];
    return {
      vtep: `10.${64 + hi}.${lo}.0`,
      subnet: `10.${64 + hi}.${lo}.0/24`,
      mac: `02:00:00:00:${hi.toString(16).padStart(2, '0')}:${lo.toString(16).padStart(2, '0')}`,
      publicIP: `198.18.${hi}.${lo}`,
    };
  });
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** A namespace with an underlay veth and a flannel.1 VXLAN device, as the backend would have. */
function makeNamespace(name: string): void {
  ip(['netns', 'add', name]);
  ip(['-n', name, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1']);
  ip(['-n', name, 'addr', 'add', '198.51.100.1/24', 'dev', 'ul0']);
  ip(['-n', name, 'link', 'set', 'ul0', 'up']);
  ip(['-n', name, 'link', 'set', 'ul1', 'up']);
  ip(['-n', name, 'link', 'add', DEVICE, 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', '198.51.100.1', 'dev', 'ul0', 'nolearning']);
  ip(['-n', name, 'link', 'set', DEVICE, 'up']);
}

function countEntries(ns: string): { neighbours: number; fdb: number; routes: number } {
  const neighbours = (JSON.parse(ip(['-n', ns, '-j', 'neigh', 'show', 'dev', DEVICE, 'nud', 'permanent'])) as unknown[]).length;
  const routes = (JSON.parse(ip(['-n', ns, '-j', 'route', 'show', 'proto', String(RTPROT_WEFT)])) as unknown[]).length;
  const fdb = (JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', DEVICE], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })) as { dst?: string }[]).filter((e) => e.dst).length;
  return { neighbours, fdb, routes };
}

async function runWeft(ns: string, list: RemoteEntry[]): Promise<number> {
  const nl = Netlink.open({ netns: ns });
  try {
    await nl.ifindex(DEVICE); // resolve once, as a reconciler would, outside the timed part
    const start = performance.now();
    await Promise.all(
      list.flatMap((e) => [
        nl.neighbours.replace({ dev: DEVICE, ip: e.vtep, mac: e.mac }),
        nl.fdb.replace({ dev: DEVICE, mac: e.mac, dst: e.publicIP }),
        nl.routes.replace({ dst: e.subnet, gateway: e.vtep, dev: DEVICE, onlink: true }),
      ]),
    );
    return (performance.now() - start) / 1000;
  } finally {
    nl.close();
  }
}

function runIproute2(ns: string, list: RemoteEntry[], dir: string): number {
  const ipBatch = join(dir, 'ip.batch');
  const bridgeBatch = join(dir, 'bridge.batch');
  writeFileSync(ipBatch, list.map((e) => `neigh replace ${e.vtep} lladdr ${e.mac} dev ${DEVICE} nud permanent\nroute replace ${e.subnet} via ${e.vtep} dev ${DEVICE} onlink proto ${RTPROT_WEFT}\n`).join(''));
  writeFileSync(bridgeBatch, list.map((e) => `fdb replace ${e.mac} dev ${DEVICE} dst ${e.publicIP} self permanent\n`).join(''));
  const start = performance.now();
  execFileSync('bridge', ['-n', ns, '-batch', bridgeBatch], { stdio: 'inherit' });
  execFileSync('ip', ['-n', ns, '-batch', ipBatch], { stdio: 'inherit' });
  return (performance.now() - start) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runNetlinkBench(options: NetlinkBenchOptions): Promise<void> {
  const list = entries(options.nodes);
  const prefix = `wb-${process.pid.toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  const made = new Set<string>();
  const cleanup = (): void => {
    for (const ns of made) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    made.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const samples: Sample[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      // Alternate who goes first so neither side always meets a warmer kernel.
      const order: Sample['tool'][] = run % 2 === 0 ? ['weft', 'iproute2'] : ['iproute2', 'weft'];
      for (const tool of order) {
        const ns = `${prefix}-${tool}-${run}`;
        makeNamespace(ns);
        made.add(ns);
        const seconds = tool === 'weft' ? await runWeft(ns, list) : runIproute2(ns, list, dir);
        const counted = countEntries(ns);
        if (counted.neighbours !== list.length || counted.fdb !== list.length || counted.routes !== list.length) {
          throw new Error(`${tool} run ${run}: expected ${list.length} of each entry, kernel has ${JSON.stringify(counted)}`);
        }
        samples.push({ tool, seconds });
        ip(['netns', 'del', ns]);
        made.delete(ns);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }

  const ops = list.length * 3;
  const summary = (['weft', 'iproute2'] as const).map((tool) => {
    const times = samples.filter((s) => s.tool === tool).map((s) => s.seconds);
    const best = Math.min(...times);
    return { tool, best, median: median(times), opsPerSecond: ops / best };
  });
  const [weft, iproute2] = summary as [(typeof summary)[0], (typeof summary)[0]];
  const ratio = weft.best / iproute2.best;
  const lines = [
    `netlink bench: ${options.nodes} remote nodes × (neighbour + FDB + onlink route) = ${ops} entries, best of ${options.runs}`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    'tool                          best (s)   median (s)   entries/s',
    ...summary.map((s) => `${(s.tool === 'weft' ? 'weft netlink (pipelined)' : 'iproute2 ip/bridge -batch').padEnd(28)}  ${s.best.toFixed(3).padStart(8)}   ${s.median.toFixed(3).padStart(10)}   ${Math.round(s.opsPerSecond).toString().padStart(9)}`),
    '',
    `ratio weft / iproute2 (best): ${ratio.toFixed(2)}×  (target ≤ 2×: ${ratio <= 2 ? 'met' : 'NOT met'})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify({ date: new Date().toISOString(), nodes: options.nodes, runs: options.runs, entries: ops, summary, ratio, samples }, null, 2)}\n`);
  }
}
