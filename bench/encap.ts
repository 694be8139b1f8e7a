// Benchmark: what the VXLAN encapsulation costs, in one run, side by side:
//
//   underlay            node1 → node2 of a fresh 2-node lab, over eth0 and the underlay bridge
//                       (the baseline every other row is a ratio to);
//   weft VXLAN          pod on node1 → pod on node2 of that lab (CNI bridge, flannel.1 programmed
//                       by the weft daemons);
//   hand-made VXLAN     the same shape built here by hand with iproute2 the way the kernel's
//                       Documentation/networking/vxlan.rst shows (vxlan device on eth0, an
//                       all-zeros FDB entry appended per peer, a route to the peer's pod subnet via
//                       its VTEP address, ARP and MAC learning left to the kernel), in namespaces of
//                       its own on the same kind of veth/bridge underlay with the same MTUs: the
//                       reference that tells whether weft's configuration costs anything;
//   BGP                 pod on node1 → pod on node2 of a second 2-node lab run with
//                       --backend=bgp: no encapsulation, native routes learned over the iBGP
//                       mesh, pods at the full underlay MTU (issue 8's target: ≥ 0.95 of the
//                       underlay).
//
// Figures: TCP throughput with iperf3 -J (1 and 4 streams, --duration seconds each); UDP
// request/response latency p50/p99 over 2000 round trips (bench/udp-rr.ts, one request in
// flight, 200 warm-up round trips not counted); CPU per Gbit/s = (iperf3's sender + receiver
// cpu_utilization_percent, i.e. utime+stime of both processes, softirq work done in their context
// included) / 100 / Gbit/s, in cores. The machine-wide busy time from /proc/stat is also recorded
// in the JSON, but other load on the machine ends up in it too. With --runs N every test is
// repeated in N rounds (scenario order rotated): TCP figures are medians, latency is pooled.
//
// Each scenario checks itself before it counts: the route to the destination leaves by the
// expected device (eth0, flannel.1, vxlan0; BGP: eth0) and a ping gets through; after every iperf3 run the
// encapsulating device's TX counter must have grown by at least 95 % of the bytes sent (for the
// underlay: eth0 did, flannel.1 did not), so a run that took another path fails instead of
// printing a number.
import { readFileSync, writeFileSync } from 'node:fs';
import { type ChildProcess } from 'node:child_process';
import { CommandError, probe, run } from '../src/lab/exec.js';
import { Lab, removeLab } from '../src/lab/lab.js';
import { labLayout } from '../src/lab/layout.js';
import { environment, environmentLine, helperScript, mean, percentile, withCleanup, type Cleanup } from './harness.js';

export interface EncapBenchOptions {
  duration: number;
  /** Rounds of every test (default 1); medians of the TCP figures, latency pooled over rounds. */
  runs?: number;
  json?: string;
  svg?: string;
}

type ScenarioKey = 'underlay' | 'weft' | 'handmade' | 'bgp';

interface Scenario {
  key: ScenarioKey;
  label: string;
  src: string;
  dst: string;
  dstIP: string;
  /** Namespace and device whose TX counter must carry the traffic; and one that must not. */
  via: { netns: string; dev: string };
  notVia?: { netns: string; dev: string };
}

interface TcpResult {
  streams: number;
  gbps: number;
  bytesSent: number;
  retransmits: number;
  /** sender + receiver CPU, cores */
  cpuCores: number;
  cpuCoresPerGbps: number;
  /** machine-wide busy cores from /proc/stat during the run (includes other load) */
  systemCores: number;
}

interface LatencyResult {
  p50Us: number;
  p99Us: number;
  meanUs: number;
  lost: number;
  samples: number;
}

interface ScenarioResult {
  key: ScenarioKey;
  label: string;
  /** Medians over the rounds (retransmits and bytes: sums). */
  tcp1: TcpResult;
  tcp4: TcpResult;
  latency: LatencyResult;
  rounds: { tcp1: TcpResult[]; tcp4: TcpResult[] };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarizeTcp(rounds: TcpResult[]): TcpResult {
  const m = (pick: (r: TcpResult) => number): number => median(rounds.map(pick));
  const sum = (pick: (r: TcpResult) => number): number => rounds.reduce((a, r) => a + pick(r), 0);
  return { streams: rounds[0]!.streams, gbps: m((r) => r.gbps), bytesSent: sum((r) => r.bytesSent), retransmits: sum((r) => r.retransmits), cpuCores: m((r) => r.cpuCores), cpuCoresPerGbps: m((r) => r.cpuCoresPerGbps), systemCores: m((r) => r.systemCores) };
}

const IPERF_PORT = '5201';
const UDP_PORT = '9000';
const ROUND_TRIPS = 2000;
const WARMUP = 200;
const BGP_LABEL = 'BGP pod-to-pod';
/** Issue 8: BGP pod-to-pod throughput at least this share of the underlay's. */
const BGP_TARGET = 0.95;

// -- the hand-made overlay -----------------------------------------------------------------------

interface HandMade {
  prefix: string;
  nodes: [string, string];
  pods: [string, string];
  podIPs: [string, string];
}

/** Two nodes on a bridge, a pod behind a bridge on each, VXLAN between them, all by iproute2. */
async function buildHandMade(prefix: string, cleanup: Cleanup, mtu: { underlay: number; pod: number }): Promise<HandMade> {
  const ul = `${prefix}-ul`;
  const nodes: [string, string] = [`${prefix}-n1`, `${prefix}-n2`];
  const pods: [string, string] = [`${prefix}-p1`, `${prefix}-p2`];
  const made: string[] = [];
  cleanup.add(`hand-made namespaces ${prefix}-*`, async () => {
    for (const ns of made.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });
  const ip = (args: string[]): Promise<string> => run('ip', args);
  const addNetns = async (ns: string): Promise<void> => {
    await ip(['netns', 'add', ns]);
    made.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  };
  await addNetns(ul);
  await ip(['-n', ul, 'link', 'add', 'br0', 'mtu', String(mtu.underlay), 'type', 'bridge']);
  await ip(['-n', ul, 'link', 'set', 'br0', 'up']);
  const underlayIP = (i: number): string => `198.51.100.${10 + i}`;
  for (const i of [1, 2]) {
    const peer = 3 - i;
    const node = nodes[i - 1]!;
    const pod = pods[i - 1]!;
    await addNetns(node);
    await ip(['-n', ul, 'link', 'add', `n${i}`, 'mtu', String(mtu.underlay), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node]);
    await ip(['-n', ul, 'link', 'set', `n${i}`, 'master', 'br0', 'up']);
    await ip(['-n', node, 'addr', 'add', `${underlayIP(i)}/24`, 'dev', 'eth0']);
    await ip(['-n', node, 'link', 'set', 'eth0', 'up']);
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns: node });
    // Documentation/networking/vxlan.rst: a unicast VXLAN device, head-end replication by FDB.
    await ip(['-n', node, 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', underlayIP(i), 'dev', 'eth0']);
    await run('bridge', ['-n', node, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxlan0', 'dst', underlayIP(peer)]);
    await ip(['-n', node, 'addr', 'add', `10.99.0.${i}/24`, 'dev', 'vxlan0']);
    await ip(['-n', node, 'link', 'set', 'vxlan0', 'up']);
    // The pod side, as the CNI bridge plugin builds it: a bridge with the gateway, a veth per pod.
    await ip(['-n', node, 'link', 'add', 'cni0', 'type', 'bridge']);
    await ip(['-n', node, 'addr', 'add', `10.98.${i}.1/24`, 'dev', 'cni0']);
    await ip(['-n', node, 'link', 'set', 'cni0', 'up']);
    await addNetns(pod);
    await ip(['-n', node, 'link', 'add', `veth${i}`, 'mtu', String(mtu.pod), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
    await ip(['-n', node, 'link', 'set', `veth${i}`, 'master', 'cni0', 'up']);
    await ip(['-n', pod, 'addr', 'add', `10.98.${i}.2/24`, 'dev', 'eth0']);
    await ip(['-n', pod, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', pod, 'route', 'add', 'default', 'via', `10.98.${i}.1`]);
    await ip(['-n', node, 'route', 'add', `10.98.${peer}.0/24`, 'via', `10.99.0.${peer}`, 'dev', 'vxlan0']);
  }
  return { prefix, nodes, pods, podIPs: ['10.98.1.2', '10.98.2.2'] };
}

// -- measuring -----------------------------------------------------------------------------------

async function linkJson(netns: string, dev: string): Promise<{ mtu: number; stats64?: { tx: { bytes: number } } }> {
  const out = JSON.parse(await run('ip', ['-n', netns, '-j', '-s', 'link', 'show', 'dev', dev])) as { mtu: number; stats64?: { tx: { bytes: number } } }[];
  if (!out[0]) throw new Error(`no device ${dev} in ${netns}`);
  return out[0];
}

async function txBytes(netns: string, dev: string): Promise<number> {
  const link = await linkJson(netns, dev);
  if (!link.stats64) throw new Error(`no statistics for ${dev} in ${netns}`);
  return link.stats64.tx.bytes;
}

async function routeDevice(netns: string, dst: string): Promise<string> {
  const out = JSON.parse(await run('ip', ['-n', netns, '-j', 'route', 'get', dst])) as { dev?: string }[];
  return out[0]?.dev ?? 'none';
}

/** Busy and total jiffies of all CPUs (the first line of /proc/stat). */
function cpuJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

interface IperfJson {
  error?: string;
  end?: {
    sum_sent?: { bytes: number; bits_per_second: number; retransmits?: number };
    sum_received?: { bytes: number; bits_per_second: number };
    cpu_utilization_percent?: { host_total: number; remote_total: number };
  };
}

async function iperf(scenario: Scenario, streams: number, duration: number): Promise<TcpResult> {
  const args = ['-c', scenario.dstIP, '-p', IPERF_PORT, '-t', String(duration), '-P', String(streams), '-J'];
  const viaBefore = await txBytes(scenario.via.netns, scenario.via.dev);
  const notViaBefore = scenario.notVia ? await txBytes(scenario.notVia.netns, scenario.notVia.dev) : 0;
  let out = '';
  let cpu = { before: cpuJiffies(), after: cpuJiffies() };
  let started = 0;
  for (let attempt = 1; ; attempt++) {
    cpu.before = cpuJiffies();
    started = performance.now();
    try {
      out = await run('iperf3', args, { netns: scenario.src, timeoutMs: (duration + 30) * 1000 });
      break;
    } catch (error) {
      // The server may not be listening yet right after it was started.
      const text = error instanceof CommandError ? `${error.stdout}${error.stderr}` : String(error);
      if (attempt >= 20 || !/refused|unable to connect/i.test(text)) throw new Error(`iperf3 ${scenario.label} -P ${streams}: ${text.slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  cpu = { ...cpu, after: cpuJiffies() };
  const seconds = (performance.now() - started) / 1000;
  const result = JSON.parse(out) as IperfJson;
  const sent = result.end?.sum_sent;
  const received = result.end?.sum_received;
  const util = result.end?.cpu_utilization_percent;
  if (result.error || !sent || !received || !util || received.bytes <= 0) throw new Error(`iperf3 ${scenario.label} -P ${streams}: incomplete result ${result.error ?? ''}`);
  const viaDelta = (await txBytes(scenario.via.netns, scenario.via.dev)) - viaBefore;
  if (viaDelta < 0.95 * sent.bytes) throw new Error(`${scenario.label}: ${scenario.via.dev} in ${scenario.via.netns} carried ${viaDelta} bytes of ${sent.bytes} sent: traffic took another path`);
  if (scenario.notVia) {
    const notViaDelta = (await txBytes(scenario.notVia.netns, scenario.notVia.dev)) - notViaBefore;
    if (notViaDelta > 0.01 * sent.bytes) throw new Error(`${scenario.label}: ${scenario.notVia.dev} carried ${notViaDelta} bytes; the baseline must not be encapsulated`);
  }
  const gbps = received.bits_per_second / 1e9;
  const cpuCores = (util.host_total + util.remote_total) / 100;
  const ticks = 100; // USER_HZ
  const systemCores = (cpu.after.busy - cpu.before.busy) / ticks / seconds;
  return { streams, gbps, bytesSent: sent.bytes, retransmits: sent.retransmits ?? 0, cpuCores, cpuCoresPerGbps: cpuCores / gbps, systemCores };
}

function waitForLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" from child within ${timeoutMs} ms: ${seen}`)), timeoutMs);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before "${text}"`));
    });
  });
}

async function roundTrips(scenario: Scenario, cleanup: Cleanup): Promise<{ rttUs: number[]; lost: number }> {
  const script = helperScript('udp-rr');
  const server = cleanup.spawn(process.execPath, [script, 'server', UDP_PORT], { netns: scenario.dst });
  server.stderr?.resume();
  try {
    await waitForLine(server, 'ready', 10_000);
    const out = await run(process.execPath, [script, 'client', scenario.dstIP, UDP_PORT, String(ROUND_TRIPS), String(WARMUP)], { netns: scenario.src, timeoutMs: 180_000 });
    const { rttUs, lost } = JSON.parse(out) as { rttUs: number[]; lost: number };
    if (rttUs.length !== ROUND_TRIPS) throw new Error(`${scenario.label}: ${rttUs.length} of ${ROUND_TRIPS} round trips measured`);
    return { rttUs, lost };
  } finally {
    server.kill('SIGTERM');
  }
}

// -- output --------------------------------------------------------------------------------------

function svgChart(results: ScenarioResult[], env: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const width = 760;
  const panel = { top: 60, height: 220, left: 70, width: 300 };
  const rows = results.map((r) => r.label);
  const colors = { one: '#4c78a8', four: '#9ecae9', p50: '#f58518', p99: '#e45756' };
  const parts: string[] = [];
  const axis = (x0: number, max: number, unit: string, title: string): void => {
    parts.push(`<text x="${x0 + panel.width / 2}" y="${panel.top - 28}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4;
      const y = panel.top + panel.height - (panel.height * t) / 4;
      parts.push(`<line x1="${x0}" x2="${x0 + panel.width}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
      parts.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11">${v.toFixed(max >= 10 ? 0 : 1)}</text>`);
    }
    parts.push(`<text x="${x0 - 50}" y="${panel.top + panel.height / 2}" transform="rotate(-90 ${x0 - 50} ${panel.top + panel.height / 2})" text-anchor="middle" font-size="11">${esc(unit)}</text>`);
  };
  const bars = (x0: number, max: number, series: { color: string; values: (number | undefined)[] }[]): void => {
    const group = panel.width / rows.length;
    const barW = (group * 0.7) / series.length;
    rows.forEach((label, i) => {
      const gx = x0 + i * group + group * 0.15;
      series.forEach((s, j) => {
        const v = s.values[i];
        if (v === undefined) return;
        const h = (panel.height * v) / max;
        parts.push(`<rect x="${(gx + j * barW).toFixed(1)}" y="${(panel.top + panel.height - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${label}: ${v.toFixed(1)}`)}</title></rect>`);
        parts.push(`<text x="${(gx + j * barW + barW / 2 - 1).toFixed(1)}" y="${(panel.top + panel.height - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v.toFixed(v >= 100 ? 0 : 1)}</text>`);
      });
      const words = label.split(' ');
      words.forEach((w, k) => parts.push(`<text x="${gx + group * 0.35}" y="${panel.top + panel.height + 14 + k * 11}" text-anchor="middle" font-size="10">${esc(w)}</text>`));
    });
  };
  const niceMax = (v: number): number => {
    const step = 10 ** Math.floor(Math.log10(v));
    return Math.ceil((v * 1.15) / step) * step;
  };
  const gbMax = niceMax(Math.max(...results.flatMap((r) => [r.tcp1.gbps, r.tcp4.gbps])));
  const usMax = niceMax(Math.max(...results.map((r) => r.latency.p99Us)));
  const x1 = panel.left;
  const x2 = panel.left + panel.width + 90;
  axis(x1, gbMax, 'Gbit/s', 'TCP throughput (iperf3)');
  bars(x1, gbMax, [
    { color: colors.one, values: results.map((r) => r.tcp1.gbps) },
    { color: colors.four, values: results.map((r) => r.tcp4.gbps) },
  ]);
  axis(x2, usMax, 'µs', 'UDP request/response latency');
  bars(x2, usMax, [
    { color: colors.p50, values: results.map((r) => r.latency.p50Us) },
    { color: colors.p99, values: results.map((r) => r.latency.p99Us) },
  ]);
  const legendY = panel.top + panel.height + 62;
  const legend = [
    [colors.one, '1 stream'],
    [colors.four, '4 streams'],
    [colors.p50, 'p50'],
    [colors.p99, 'p99'],
  ] as const;
  legend.forEach(([color, text], i) => {
    const x = panel.left + i * 120;
    parts.push(`<rect x="${x}" y="${legendY - 9}" width="10" height="10" fill="${color}"/><text x="${x + 14}" y="${legendY}" font-size="11">${text}</text>`);
  });
  const height = legendY + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">weft bench encap</text>`,
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle" font-size="10" fill="#555">${esc(env)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** When iperf3's CPU share swung between runs, throughput says more about the machine than the path. */
function cpuShareNote(results: ScenarioResult[]): string[] {
  const cores = results.flatMap((r) => [...r.rounds.tcp1, ...r.rounds.tcp4].map((t) => t.cpuCores));
  const [lo, hi] = [Math.min(...cores), Math.max(...cores)];
  if (hi < 1.5 * lo) return [];
  return [`note: iperf3 got between ${lo.toFixed(2)} and ${hi.toFixed(2)} cores across the runs (other load): throughput follows that share; CPU/Gbit/s is the figure to compare`];
}

export async function runEncapBench(options: EncapBenchOptions): Promise<void> {
  const env = environment();
  const id = `wbencap-${process.pid.toString(36)}`;
  const bgpId = `wbbgp-${process.pid.toString(36)}`;
  const outcome = await withCleanup(async (cleanup) => {
    cleanup.add(`lab ${id} down`, () => removeLab(labLayout(id)));
    const lab = await Lab.up({ id, nodes: 2, podsPerNode: 1, onProgress: (line) => process.stderr.write(`${line}\n`) });
    const [n1, n2] = [lab.nodeLayout(1), lab.nodeLayout(2)];
    const pod1 = lab.state.pods.find((p) => p.node === 1);
    const pod2 = lab.state.pods.find((p) => p.node === 2);
    if (!pod1 || !pod2) throw new Error('the lab has no pod on each node');

    process.stderr.write('… BGP lab (--backend=bgp)\n');
    cleanup.add(`lab ${bgpId} down`, () => removeLab(labLayout(bgpId)));
    const bgpLab = await Lab.up({ id: bgpId, backend: 'bgp', nodes: 2, podsPerNode: 1, onProgress: (line) => process.stderr.write(`${line}\n`) });
    const b1 = bgpLab.nodeLayout(1);
    const bgpPod1 = bgpLab.state.pods.find((p) => p.node === 1);
    const bgpPod2 = bgpLab.state.pods.find((p) => p.node === 2);
    if (!bgpPod1 || !bgpPod2) throw new Error('the BGP lab has no pod on each node');
    const bgpPodMtu = (await linkJson(bgpPod1.netns, 'eth0')).mtu;
    const underlayMtu = lab.state.underlayMtu;
    const podMtu = (await linkJson(pod1.netns, 'eth0')).mtu;
    const vxlanMtu = (await linkJson(n1.netns, 'flannel.1')).mtu;

    process.stderr.write('… hand-made VXLAN overlay\n');
    const hm = await buildHandMade(`wbhm-${process.pid.toString(36)}`, cleanup, { underlay: underlayMtu, pod: podMtu });

    const scenarios: Scenario[] = [
      { key: 'underlay', label: 'underlay node-to-node', src: n1.netns, dst: n2.netns, dstIP: n2.ip, via: { netns: n1.netns, dev: 'eth0' }, notVia: { netns: n1.netns, dev: 'flannel.1' } },
      { key: 'weft', label: 'weft VXLAN pod-to-pod', src: pod1.netns, dst: pod2.netns, dstIP: pod2.ip, via: { netns: n1.netns, dev: 'flannel.1' } },
      { key: 'handmade', label: 'hand-made VXLAN pod-to-pod', src: hm.pods[0], dst: hm.pods[1], dstIP: hm.podIPs[1], via: { netns: hm.nodes[0], dev: 'vxlan0' } },
      { key: 'bgp', label: BGP_LABEL, src: bgpPod1.netns, dst: bgpPod2.netns, dstIP: bgpPod2.ip, via: { netns: b1.netns, dev: 'eth0' } },
    ];
    // Each path goes where it should, and works, before anything is measured.
    const expectedDev: Record<ScenarioKey, [string, string]> = { underlay: [n1.netns, 'eth0'], weft: [n1.netns, 'flannel.1'], handmade: [hm.nodes[0], 'vxlan0'], bgp: [b1.netns, 'eth0'] };
    for (const s of scenarios) {
      const [ns, dev] = expectedDev[s.key];
      const actual = await routeDevice(ns, s.dstIP);
      if (actual !== dev) throw new Error(`${s.label}: route to ${s.dstIP} in ${ns} leaves by ${actual}, expected ${dev}`);
      let ok = false;
      for (let attempt = 0; attempt < 5 && !ok; attempt++) ok = (await probe('ping', ['-c', '1', '-W', '1', s.dstIP], { netns: s.src, timeoutMs: 5000 })).ok;
      if (!ok) throw new Error(`${s.label}: ${s.dstIP} does not answer ping from ${s.src}`);
    }
    const hmMtu = (await linkJson(hm.nodes[0], 'vxlan0')).mtu;
    if (hmMtu !== vxlanMtu) process.stderr.write(`note: hand-made vxlan0 MTU ${hmMtu}, weft flannel.1 MTU ${vxlanMtu}\n`);

    for (const s of scenarios) {
      cleanup.spawn('iperf3', ['-s', '-p', IPERF_PORT], { netns: s.dst, stdio: 'ignore' });
    }
    const runs = options.runs ?? 1;
    const raw = new Map(scenarios.map((s) => [s.key, { tcp1: [] as TcpResult[], tcp4: [] as TcpResult[], rttUs: [] as number[], lost: 0 }]));
    // One kind of test at a time across all scenarios, so slow drift of the machine hits them
    // alike; each round starts with the next scenario, so none is always first.
    for (let round = 0; round < runs; round++) {
      const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]!);
      const tag = runs > 1 ? `round ${round + 1}/${runs}: ` : '';
      for (const streams of [1, 4]) {
        for (const s of order) {
          process.stderr.write(`… ${tag}${s.label}: TCP ${streams} stream${streams > 1 ? 's' : ''}, ${options.duration} s\n`);
          raw.get(s.key)![streams === 1 ? 'tcp1' : 'tcp4'].push(await iperf(s, streams, options.duration));
        }
      }
      for (const s of order) {
        process.stderr.write(`… ${tag}${s.label}: ${ROUND_TRIPS} UDP round trips\n`);
        const { rttUs, lost } = await roundTrips(s, cleanup);
        const r = raw.get(s.key)!;
        r.rttUs.push(...rttUs);
        r.lost += lost;
      }
    }
    const results = scenarios.map((s): ScenarioResult => {
      const r = raw.get(s.key)!;
      const latency: LatencyResult = { p50Us: percentile(r.rttUs, 50), p99Us: percentile(r.rttUs, 99), meanUs: mean(r.rttUs), lost: r.lost, samples: r.rttUs.length };
      return { key: s.key, label: s.label, tcp1: summarizeTcp(r.tcp1), tcp4: summarizeTcp(r.tcp4), latency, rounds: { tcp1: r.tcp1, tcp4: r.tcp4 } };
    });
    return { results, runs, mtu: { underlay: underlayMtu, vxlan: vxlanMtu, handmadeVxlan: hmMtu, pod: podMtu, bgpPod: bgpPodMtu } };
  });

  const { results, runs, mtu } = outcome;
  const iperfVersion = (await run('iperf3', ['--version']).catch(() => 'iperf3 ?')).split('\n')[0]!.trim();
  const base = results[0]!;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const envLine = environmentLine(env);
  const head = `${'scenario'.padEnd(28)}  ${'TCP 1×'.padStart(7)}  ${'TCP 4×'.padStart(7)}  ${'p50'.padStart(6)}  ${'p99'.padStart(6)}  ${'CPU/Gbit/s'.padStart(10)}   vs underlay: 1× / 4× / p50 / p99 / CPU`;
  const units = `${''.padEnd(28)}  ${'Gbit/s'.padStart(7)}  ${'Gbit/s'.padStart(7)}  ${'µs'.padStart(6)}  ${'µs'.padStart(6)}  ${'cores'.padStart(10)}`;
  const row = (r: ScenarioResult): string =>
    `${r.label.padEnd(28)}  ${r.tcp1.gbps.toFixed(2).padStart(7)}  ${r.tcp4.gbps.toFixed(2).padStart(7)}  ${r.latency.p50Us.toFixed(0).padStart(6)}  ${r.latency.p99Us.toFixed(0).padStart(6)}  ${r.tcp1.cpuCoresPerGbps.toFixed(3).padStart(10)}   ${
      r === base ? 'baseline' : [ratio(r.tcp1.gbps, base.tcp1.gbps), ratio(r.tcp4.gbps, base.tcp4.gbps), ratio(r.latency.p50Us, base.latency.p50Us), ratio(r.latency.p99Us, base.latency.p99Us), ratio(r.tcp1.cpuCoresPerGbps, base.tcp1.cpuCoresPerGbps)].join(' / ')
    }`;
  const weft = results.find((r) => r.key === 'weft')!;
  const hand = results.find((r) => r.key === 'handmade')!;
  const bgp = results.find((r) => r.key === 'bgp')!;
  const bgpRatio = { tcp1: bgp.tcp1.gbps / base.tcp1.gbps, tcp4: bgp.tcp4.gbps / base.tcp4.gbps };
  const bgpMet = bgpRatio.tcp1 >= BGP_TARGET && bgpRatio.tcp4 >= BGP_TARGET;
  const lines = [
    `encap bench: 2-node lab, iperf3 ${options.duration} s per run, ${ROUND_TRIPS} UDP round trips (${WARMUP} warm-up)${runs > 1 ? ` × ${runs} rounds (TCP: medians; latency: all rounds pooled)` : ''}; ${iperfVersion}`,
    envLine,
    `MTU: underlay ${mtu.underlay}, flannel.1 ${mtu.vxlan}, hand-made vxlan0 ${mtu.handmadeVxlan}, pods ${mtu.pod} (VXLAN) / ${mtu.bgpPod} (BGP)`,
    '',
    head,
    units,
    ...results.map(row),
    '',
    `CPU/Gbit/s: iperf3 sender + receiver CPU (utime+stime) in cores per Gbit/s, 1 stream; 4 streams: ${results.map((r) => `${r.key} ${r.tcp4.cpuCoresPerGbps.toFixed(3)}`).join(', ')}`,
    `retransmits (1× / 4×): ${results.map((r) => `${r.key} ${r.tcp1.retransmits}/${r.tcp4.retransmits}`).join(', ')}; UDP lost (re-sent): ${results.map((r) => `${r.key} ${r.latency.lost}`).join(', ')}`,
    ...cpuShareNote(results),
    `BGP vs underlay: 1× ${ratio(bgp.tcp1.gbps, base.tcp1.gbps)}, 4× ${ratio(bgp.tcp4.gbps, base.tcp4.gbps)} (target ≥ ${BGP_TARGET.toFixed(2)}×: ${bgpMet ? 'met' : 'NOT met'})`,
    `weft vs hand-made: 1× ${ratio(weft.tcp1.gbps, hand.tcp1.gbps)}, 4× ${ratio(weft.tcp4.gbps, hand.tcp4.gbps)}, p50 ${ratio(weft.latency.p50Us, hand.latency.p50Us)}, p99 ${ratio(weft.latency.p99Us, hand.latency.p99Us)}, CPU/Gbit/s ${ratio(weft.tcp1.cpuCoresPerGbps, hand.tcp1.cpuCoresPerGbps)}`,
    '',
    'README:',
    `| scenario | TCP 1 stream | TCP 4 streams | UDP RR p50 | UDP RR p99 | CPU per Gbit/s | vs underlay (1 stream) |`,
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.label} | ${r.tcp1.gbps.toFixed(1)} Gbit/s | ${r.tcp4.gbps.toFixed(1)} Gbit/s | ${r.latency.p50Us.toFixed(0)} µs | ${r.latency.p99Us.toFixed(0)} µs | ${r.tcp1.cpuCoresPerGbps.toFixed(3)} cores | ${r === base ? 'baseline' : ratio(r.tcp1.gbps, base.tcp1.gbps)} |`),
    `| *${env.date.slice(0, 10)}, ${env.cores} × ${env.cpu}, kernel ${env.kernel}, MTU ${mtu.underlay}/${mtu.vxlan}* | | | | | | |`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify({ environment: { ...env, iperf3: iperfVersion, mtu }, duration: options.duration, runs, roundTrips: ROUND_TRIPS, results, bgp: { vsUnderlay: bgpRatio, target: BGP_TARGET, met: bgpMet } }, null, 2)}\n`);
  }
  if (options.svg) writeFileSync(options.svg, svgChart(results, `${env.date.slice(0, 16).replace('T', ' ')} UTC, ${env.cores} × ${env.cpu}, kernel ${env.kernel}, load ${env.load.toFixed(1)}, MTU ${mtu.underlay}/${mtu.vxlan}, iperf3 ${options.duration} s`));
}
