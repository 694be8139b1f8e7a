// Benchmark: BGP at scale behind a route reflector. A 1-node lab with `--backend=bgp` and a BIRD
// route reflector (`tor: 'bird'`, node mesh off); etcd lists N more nodes (default 5000, podCIDRs
// 10.1.0.0/24… in a cluster network widened to 10.0.0.0/8, at 198.18.x.y — bench/remote-nodes.ts)
// and a generator peer (bench/bgp-announcer.ts, bgp-ts) announces their N podCIDRs to the
// reflector, each with its node's address as next hop (one UPDATE per route, as real nodes send
// them); the reflector gets a 1 s keepalive (below). The next hops are on the underlay segment: 198.18.255.254/16 on its bridge and an
// address in that /16 on each client, so they resolve directly.
//
// Measured, for the weft daemon (started after the reflector holds all N routes, as after a node
// reboot in a big cluster) and in the same run for BIRD as another client of the same reflector
// installing into its own kernel (`protocol kernel` in a namespace: bench/bird-client.ts), run
// before and after weft so the machine's drift shows:
//   - session Established → all N routes in the client's kernel (rtnetlink events; Established
//     from the client's own log, turned into CLOCK_MONOTONIC), and process start → the same;
//   - RSS (VmRSS, peak VmHWM) and CPU seconds (user + system) when all N are in;
//   - node removal: the generator withdraws W (default 1000) → all W gone from the kernel, and the
//     CPU seconds that took; then W announced again → all back;
//   - one change at scale: with all N in, one route withdrawn → gone, announced again → installed
//     (what every node pays when one node of a big cluster leaves or joins), 15 times: median, max.
// Printed as weft/BIRD ratios. Checked: the kernel holds exactly the N routes, each via its node's
// address. `--cpu-prof DIR` runs the daemon under V8's profiler (bench/cpu-profile-preload.ts; written when it
// stops).
//
// Every namespace and process is the bench's own (prefix wbbgps-<pid>) and goes at the end, also
// on failure or Ctrl-C.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { daemonGet } from '../src/daemon/client.js';
import { isAlive, run, stopPid } from '../src/lab/exec.js';
import { Lab, removeLab } from '../src/lab/lab.js';
import { labLayout } from '../src/lab/layout.js';
import { Netlink, RTPROT_WEFT } from '../src/netlink/index.js';
import { etcdSubnetKey } from '../src/registry/etcd.js';
import { Announcer } from './bgp-announcer-client.js';
import { RTPROT_BIRD, startBirdClient } from './bird-client.js';
import { EtcdWriter } from './etcd-writer-client.js';
import { environment, environmentLine, helperScript, monotonicMs, percentile, processCpuSeconds, processMemoryMB, withCleanup, type Cleanup } from './harness.js';
import { remoteNode, WIDE_NETWORK, type RemoteNode } from './remote-nodes.js';
import { RouteTally } from './route-events.js';
import { underlayHost } from './underlay-host.js';

export interface BgpScaleBenchOptions {
  nodes: number;
  withdraw: number;
  json?: string;
  /** Directory for the daemon's V8 CPU profile (--cpu-prof). */
  cpuProf?: string;
}

const ASN = 64512;
const PREFIX = '/weft/network';
const GENERATOR_IP = '192.0.2.98';
const BIRD_CLIENT_IP = '192.0.2.99';
const NEXT_HOP_NET = { bridge: '198.18.255.254/16', node: '198.18.255.1/16', bird: '198.18.255.2/16' };
const TIMEOUT_MS = 300_000;
/** One route withdrawn and announced again, with the table full: how many times (median, max). */
const SINGLE_CHANGE_SAMPLES = 15;

export interface ClientFigures {
  client: string;
  /** Session Established → all N routes in the kernel, s */
  establishedToAllSeconds: number;
  /** Process start → all N routes in the kernel, s */
  startToAllSeconds: number;
  /** Process start → Established, s */
  startToEstablishedSeconds: number;
  rssMB: number;
  peakRssMB: number;
  /** CPU seconds from process start to all routes in */
  cpuSeconds: number;
  /** Generator withdraws W → all W gone from the kernel, s */
  withdrawSeconds: number;
  withdrawCpuSeconds: number;
  /** The W announced again → all back, s */
  readdSeconds: number;
  /** With the table full: one route withdrawn → gone, and announced again → back, ms */
  oneWithdrawMs: number;
  oneAnnounceMs: number;
  /** The slowest of the SINGLE_CHANGE_SAMPLES samples, ms (the two above are medians). */
  oneWithdrawMaxMs: number;
  oneAnnounceMaxMs: number;
  /** Route notifications were lost; the all-in time is a dump's. */
  eventsLost: boolean;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}

/** All routes of `protocol` in `nl`'s namespace, checked against the remotes: exactly N, each via its node. */
async function checkKernel(nl: Netlink, protocol: number, remotes: RemoteNode[], what: string): Promise<void> {
  const routes = (await nl.routes.list({ family: 4, protocol })).filter((r) => !r.dst.startsWith('10.244.'));
  const want = new Map(remotes.map((r) => [r.subnet, r.publicIP]));
  const wrong = routes.filter((r) => want.get(r.dst) !== r.gateway);
  if (routes.length !== remotes.length || wrong.length > 0) throw new Error(`${what}: the kernel holds ${routes.length} routes (expected ${remotes.length}), ${wrong.length} not via their node, e.g. ${JSON.stringify(wrong[0])}`);
}

/** The wall-clock (epoch ms) → CLOCK_MONOTONIC ms offset, for times taken from logs. */
function wallToMonotonic(): (epochMs: number) => number {
  const offset = Date.now() - monotonicMs();
  return (epochMs) => epochMs - offset;
}

/** When the daemon's session to `peer` first reached Established after `sinceEpochMs` (its JSON log). */
function daemonEstablishedAt(logFile: string, peer: string, sinceEpochMs: number): number | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: { time?: number; msg?: string; peer?: string; to?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if (e.msg === 'bgp state change' && e.to === 'Established' && e.peer === peer && (e.time ?? 0) >= sinceEpochMs) return e.time;
  }
  return undefined;
}

interface Phase {
  remotes: RemoteNode[];
  withdrawn: RemoteNode[];
  generator: Announcer;
}

/** Announce all, wait for every one in `tally`, withdraw W, wait for them gone; CPU/RSS of `pid`. */
async function measureClient(phase: Phase, tally: RouteTally, dump: () => Promise<string[]>, pid: number, startedAt: number, establishedAt: () => number | undefined, client: string, check: () => Promise<void>): Promise<ClientFigures> {
  const subnets = phase.remotes.map((r) => r.subnet);
  // The kernel drops notifications when a reader falls behind: a dump every 2 s catches that
  // (the time is then the dump's, up to 2 s late, and flagged).
  let reseeded = false;
  const allIn = tally.when((t) => subnets.every((s) => t.present.has(s)));
  const poll = setInterval(() => {
    void dump().then((dsts) => {
      if (!subnets.every((s) => tally.present.has(s)) && dsts.length >= subnets.length) {
        reseeded = true;
        tally.reseed(dsts);
      }
    }, () => undefined);
  }, 2000);
  const allAt = await within(allIn, TIMEOUT_MS, `${client}: all ${subnets.length} routes in the kernel`).finally(() => clearInterval(poll));
  if (reseeded) process.stderr.write(`${client}: route notifications were lost; all-in time taken from a dump (≤ 2 s late)\n`);
  const cpu = processCpuSeconds(pid);
  const memory = processMemoryMB(pid);
  await check();
  const est = establishedAt();
  if (est === undefined) throw new Error(`${client}: no Established time in its log`);

  const gone = phase.withdrawn.map((r) => r.subnet);
  const cpuBefore = processCpuSeconds(pid);
  const goneP = tally.when((t) => gone.every((s) => !t.present.has(s)));
  const withdrawAt = await phase.generator.announce(announcements(phase.remotes.slice(0, phase.remotes.length - phase.withdrawn.length)));
  const goneAt = await within(goneP, TIMEOUT_MS, `${client}: ${gone.length} withdrawn routes gone`);
  const withdrawCpu = processCpuSeconds(pid) - cpuBefore;
  // Back to all N for whoever comes next.
  const backP = tally.when((t) => subnets.every((s) => t.present.has(s)));
  const readdAt = await phase.generator.announce(announcements(phase.remotes));
  const backAt = await within(backP, TIMEOUT_MS, `${client}: withdrawn routes back`);
  // One node leaves and comes back with the table full: the cost of a single change at scale.
  // Several samples, each another node, with a random pause between so that no sample lines up
  // with the last one's after-work (one sample said more about luck than about the path).
  const oneGone: number[] = [];
  const oneBack: number[] = [];
  for (let i = 0; i < SINGLE_CHANGE_SAMPLES; i++) {
    const leaving = phase.remotes.length - 1 - i;
    const subnet = subnets[leaving]!;
    const goneP1 = tally.when((t) => !t.present.has(subnet));
    const goneFrom = await phase.generator.announce(announcements(phase.remotes.filter((_, j) => j !== leaving)));
    oneGone.push((await within(goneP1, TIMEOUT_MS, `${client}: one route withdrawn`)) - goneFrom);
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    const backP1 = tally.when((t) => t.present.has(subnet));
    const backFrom = await phase.generator.announce(announcements(phase.remotes));
    oneBack.push((await within(backP1, TIMEOUT_MS, `${client}: one route back`)) - backFrom);
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
  }
  return {
    client,
    establishedToAllSeconds: (allAt - est) / 1000,
    startToAllSeconds: (allAt - startedAt) / 1000,
    startToEstablishedSeconds: (est - startedAt) / 1000,
    rssMB: memory.rss,
    peakRssMB: memory.hwm,
    cpuSeconds: cpu,
    withdrawSeconds: (goneAt - withdrawAt) / 1000,
    withdrawCpuSeconds: withdrawCpu,
    readdSeconds: (backAt - readdAt) / 1000,
    oneWithdrawMs: percentile(oneGone, 50),
    oneAnnounceMs: percentile(oneBack, 50),
    oneWithdrawMaxMs: Math.max(...oneGone),
    oneAnnounceMaxMs: Math.max(...oneBack),
    eventsLost: reseeded,
  };
}

function announcements(remotes: RemoteNode[]): { prefix: string; nextHop: string; origin: 0 }[] {
  return remotes.map((r) => ({ prefix: r.subnet, nextHop: r.publicIP, origin: 0 }));
}

/** BIRD as another client of the reflector, in a fresh namespace; stopped again afterwards. */
async function birdRun(cleanup: Cleanup, lab: Lab, phase: Phase, id: string, round: number, dir: string): Promise<ClientFigures> {
  const host = await underlayHost(cleanup, lab, `${id}-nb${round}`, `bb${round}`, [`${BIRD_CLIENT_IP}/24`, NEXT_HOP_NET.bird]);
  const nl = Netlink.open({ netns: host.netns });
  const tally = new RouteTally(RTPROT_BIRD);
  const stream = nl.subscribe(['route'], tally.listener());
  try {
    const toMono = wallToMonotonic();
    const startedAt = monotonicMs();
    const bird = await startBirdClient(cleanup, { netns: host.netns, dir, name: `bird-client-${round}`, address: BIRD_CLIENT_IP, reflector: lab.layout.serviceIP, asn: ASN });
    const dump = async (): Promise<string[]> => (await nl.routes.list({ family: 4, protocol: RTPROT_BIRD })).map((r) => r.dst);
    const figures = await measureClient(phase, tally, dump, bird.pid, startedAt, () => {
      const at = bird.establishedAt()[0];
      return at === undefined ? undefined : toMono(at);
    }, `BIRD (${round})`, () => checkKernel(nl, RTPROT_BIRD, phase.remotes, 'BIRD client'));
    await stopPid(bird.pid, 3000);
    return figures;
  } finally {
    stream.close();
    nl.close();
    await run('ip', ['netns', 'del', host.netns]).catch(() => undefined);
  }
}

export async function runBgpScaleBench(options: BgpScaleBenchOptions): Promise<void> {
  const env = environment();
  const id = `wbbgps-${process.pid.toString(36)}`;
  const n = options.nodes;
  if (options.withdraw >= n) throw new Error('--withdraw must be smaller than --nodes');
  const remotes = Array.from({ length: n }, (_, i) => remoteNode(i + 1));
  const result = await withCleanup(async (cleanup) => {
    const dir = mkdtempSync(join(tmpdir(), `${id}-`));
    cleanup.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    cleanup.add(`lab ${id} down`, () => removeLab(labLayout(id)));
    const lab = await Lab.up({ id, backend: 'bgp', tor: 'bird', nodes: 1, podsPerNode: 0, onProgress: (line) => process.stderr.write(`${line}\n`) });
    const node = lab.nodeLayout(1);
    await lab.stopDaemon(1, 'SIGTERM');
    const confPath = join(lab.layout.runDir, 'net-conf.json');
    const conf = JSON.parse(readFileSync(confPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(confPath, `${JSON.stringify({ ...conf, Network: WIDE_NETWORK }, null, 2)}\n`);
    // BIRD 2.0 can sit in poll() for its 3 s idle timeout before sending the last queued UPDATEs
    // of a feed (see bgp-ingest.ts); a 1 s keepalive bounds that stall, for every client alike.
    const rrConf = join(lab.layout.runDir, 'bird.conf');
    writeFileSync(rrConf, readFileSync(rrConf, 'utf8').replace('error wait time 1, 2;', 'error wait time 1, 2;\n  keepalive time 1;'));
    await lab.birdc('configure');
    await run('ip', ['-n', lab.layout.underlayNetns, 'addr', 'add', NEXT_HOP_NET.bridge, 'dev', lab.layout.bridge]);
    await run('ip', ['-n', node.netns, 'addr', 'add', NEXT_HOP_NET.node, 'dev', 'eth0']);

    process.stderr.write(`… putting ${n} remote nodes into etcd\n`);
    const writer = EtcdWriter.start(cleanup, lab.layout.underlayNetns, lab.layout.etcdEndpoint);
    await writer.putMany(remotes.map((r) => ({ key: etcdSubnetKey(PREFIX, r.subnet), value: JSON.stringify({ PublicIP: r.publicIP, BackendType: 'bgp', BackendData: { ASN }, NodeName: r.name }) })));
    const stored = await writer.count(`${PREFIX}/subnets/`);
    writer.close();
    if (stored !== n + 1) throw new Error(`etcd holds ${stored} subnet entries, expected ${n} remotes + node1`);

    process.stderr.write(`… generator announces ${n} routes to the reflector\n`);
    const gen = await underlayHost(cleanup, lab, `${id}-ng`, 'bg0', [`${GENERATOR_IP}/24`]);
    const generator = await Announcer.start(cleanup, gen.netns, { asn: ASN, routerId: GENERATOR_IP });
    await generator.announce(announcements(remotes));
    await generator.peers([{ address: lab.layout.serviceIP, asn: ASN, localAddress: GENERATOR_IP, families: ['ipv4'] }]);
    let held = 0;
    for (const deadline = Date.now() + 120_000; held < n && Date.now() < deadline; ) {
      const out = await lab.birdc('show', 'route', 'count');
      held = Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? 0);
      if (held < n) await new Promise((r) => setTimeout(r, 200));
    }
    if (held < n) throw new Error(`the reflector holds ${held} routes, expected ≥ ${n}`);
    const phase: Phase = { remotes, withdrawn: remotes.slice(n - options.withdraw), generator };

    process.stderr.write('… BIRD client of the reflector (1)\n');
    const birdFirst = await birdRun(cleanup, lab, phase, id, 1, dir);

    process.stderr.write(`… weft daemon start with ${n} routes at the reflector\n`);
    const nl = Netlink.open({ netns: node.netns });
    cleanup.add('netlink node1', () => nl.close());
    const tally = new RouteTally(RTPROT_WEFT);
    const stream = nl.subscribe(['route'], tally.listener());
    cleanup.add('events node1', () => stream.close());
    if (options.cpuProf) {
      mkdirSync(options.cpuProf, { recursive: true });
      // --cpu-prof is refused in NODE_OPTIONS; a preloaded module does the same (cpu-profile-preload.ts).
      process.env.NODE_OPTIONS = `--import ${pathToFileURL(helperScript('cpu-profile-preload')).href}`;
      process.env.WEFT_BENCH_CPU_PROF_DIR = options.cpuProf;
    }
    const toMono = wallToMonotonic();
    const spawnedEpoch = Date.now();
    const startedAt = monotonicMs();
    const pid = await lab.startDaemon(1);
    delete process.env.NODE_OPTIONS;
    delete process.env.WEFT_BENCH_CPU_PROF_DIR;
    const logFile = join(node.dir, 'daemon.log');
    const dump = async (): Promise<string[]> => (await nl.routes.list({ family: 4, protocol: RTPROT_WEFT })).map((r) => r.dst);
    const weft = await measureClient(phase, tally, dump, pid, startedAt, () => {
      const at = daemonEstablishedAt(logFile, lab.layout.serviceIP, spawnedEpoch);
      return at === undefined ? undefined : toMono(at);
    }, 'weft', () => checkKernel(nl, RTPROT_WEFT, remotes, 'weft daemon')).catch(async (err: unknown) => {
      // The daemon's log goes with the lab: show its end and the kernel's count before it does.
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
      process.stderr.write(`weft daemon log (last lines):\n${tail}\nkernel: ${(await dump()).length} weft routes\n`);
      throw err;
    });
    if (!isAlive(pid)) throw new Error(`the daemon exited; see ${logFile}`);
    // /status and /readyz follow the kernel through the daemon's reports: poll until they agree.
    const reportFrom = monotonicMs();
    let ready = await daemonGet({ socketPath: lab.statusSocket(1) }, '/readyz', 5000);
    let programmed = 0;
    for (;;) {
      const status = (await lab.daemonStatus(1)) as { remoteNodes: { state: string }[] };
      programmed = status.remoteNodes.filter((r) => r.state === 'programmed').length;
      ready = await daemonGet({ socketPath: lab.statusSocket(1) }, '/readyz', 5000);
      if ((programmed === n && ready.status === 200) || monotonicMs() - reportFrom > 30_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const reportLagMs = monotonicMs() - reportFrom;
    // How the session to the reflector came up (start → Established is not only BGP: registry read first).
    const history = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{') && (/"msg":"(starting|lease acquired|etcd watch synced|started|bgp started)"/.test(l) || (l.includes('"bgp state change"') && l.includes(`"${lab.layout.serviceIP}"`))))
      .map((l) => JSON.parse(l) as { time: number; msg: string; from?: string; to?: string; reason?: string; detail?: string })
      .filter((e) => e.time >= spawnedEpoch)
      .slice(0, 10)
      .map((e) => `${e.msg === 'bgp state change' ? `${e.from}→${e.to} (${e.reason}${e.detail ? `: ${e.detail}` : ''})` : e.msg} +${e.time - spawnedEpoch} ms`);
    const syncs = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"route installed"')).length;
    if (options.cpuProf) {
      process.kill(pid, 'SIGUSR2');
      const file = join(options.cpuProf, `${pid}.cpuprofile`);
      for (let waited = 0; waited < 10_000 && !existsSync(file); waited += 100) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
    }

    process.stderr.write('… BIRD client of the reflector (2)\n');
    const birdSecond = await birdRun(cleanup, lab, phase, id, 2, dir);
    return { birdFirst, birdSecond, weft, readyStatus: ready.status, programmed, reportLagMs, routeInstalledLines: syncs, history };
  });

  const bird = [result.birdFirst, result.birdSecond];
  const best = (pick: (f: ClientFigures) => number): number => Math.min(...bird.map(pick));
  const w = result.weft;
  const refs = { est: best((f) => f.establishedToAllSeconds), start: best((f) => f.startToAllSeconds), rss: best((f) => f.rssMB), cpu: best((f) => f.cpuSeconds), withdraw: best((f) => f.withdrawSeconds), withdrawCpu: best((f) => f.withdrawCpuSeconds), readd: best((f) => f.readdSeconds), oneWithdraw: best((f) => f.oneWithdrawMs), oneAnnounce: best((f) => f.oneAnnounceMs) };
  const ratios = { establishedToAll: w.establishedToAllSeconds / refs.est, rss: w.rssMB / refs.rss, cpu: refs.cpu > 0 ? w.cpuSeconds / refs.cpu : null, withdraw: w.withdrawSeconds / refs.withdraw, readd: w.readdSeconds / refs.readd, oneWithdraw: w.oneWithdrawMs / refs.oneWithdraw, oneAnnounce: w.oneAnnounceMs / refs.oneAnnounce };
  const row = (f: ClientFigures): string =>
    `${f.client.padEnd(10)}  ${f.establishedToAllSeconds.toFixed(3).padStart(9)}  ${f.startToEstablishedSeconds.toFixed(3).padStart(9)}  ${f.startToAllSeconds.toFixed(3).padStart(9)}  ${f.rssMB.toFixed(1).padStart(7)}  ${f.peakRssMB.toFixed(1).padStart(7)}  ${f.cpuSeconds.toFixed(2).padStart(7)}  ${f.withdrawSeconds.toFixed(3).padStart(10)}  ${f.withdrawCpuSeconds.toFixed(2).padStart(9)}  ${f.readdSeconds.toFixed(3).padStart(10)}  ${f.oneWithdrawMs.toFixed(1).padStart(7)}  ${f.oneAnnounceMs.toFixed(1).padStart(7)}`;
  const lines = [
    `BGP scale bench: ${n} nodes' podCIDRs through a BIRD route reflector (mesh off) into one client's kernel; then ${options.withdraw} withdrawn`,
    environmentLine(env),
    '',
    `${'client'.padEnd(10)}  ${'est→all s'.padStart(9)}  ${'start→est'.padStart(9)}  ${'start→all'.padStart(9)}  ${'RSS MB'.padStart(7)}  ${'peak MB'.padStart(7)}  ${'CPU s'.padStart(7)}  ${`−${options.withdraw} s`.padStart(10)}  ${'−CPU s'.padStart(9)}  ${`+${options.withdraw} s`.padStart(10)}  ${'−1 ms'.padStart(7)}  ${'+1 ms'.padStart(7)}`,
    row(result.birdFirst),
    row(w),
    row(result.birdSecond),
    '',
    `weft / BIRD (best of BIRD's two runs): Established → all ${n} in the kernel ${ratios.establishedToAll.toFixed(2)}×, RSS ${ratios.rss.toFixed(2)}×, CPU to all-in ${refs.cpu > 0 ? `${ratios.cpu!.toFixed(1)}×` : `${w.cpuSeconds.toFixed(2)} s vs < 0.01 s`} (weft's includes Node start and the registry read), withdraw ${options.withdraw} ${ratios.withdraw.toFixed(2)}×, re-announce them ${ratios.readd.toFixed(2)}×`,
    `one node with ${n} in the table (median of ${SINGLE_CHANGE_SAMPLES}, max): withdrawn → gone ${w.oneWithdrawMs.toFixed(1)} ms (${w.oneWithdrawMaxMs.toFixed(1)}) vs BIRD ${refs.oneWithdraw.toFixed(1)} ms (${ratios.oneWithdraw.toFixed(1)}×), announced → installed ${w.oneAnnounceMs.toFixed(1)} ms (${w.oneAnnounceMaxMs.toFixed(1)}) vs ${refs.oneAnnounce.toFixed(1)} ms (${ratios.oneAnnounce.toFixed(1)}×)`,
    `weft daemon start-up and its session to the reflector (ms after spawn, its log): ${result.history.join('; ')}`,
    `weft daemon: /readyz ${result.readyStatus}, ${result.programmed} of ${n} remote nodes programmed in /status ${(result.reportLagMs / 1000).toFixed(1)} s after the kernel had them all; ${result.routeInstalledLines} "route installed" log lines`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify({ environment: env, nodes: n, withdraw: options.withdraw, weft: w, bird, ratios, programmed: result.programmed, readyz: result.readyStatus, statusLagSeconds: result.reportLagMs / 1000, sessionHistory: result.history }, null, 2)}\n`);
  if (options.cpuProf) {
    const profiles = readdirSync(options.cpuProf).filter((f) => f.endsWith('.cpuprofile'));
    process.stdout.write(`daemon CPU profile(s) in ${options.cpuProf}: ${profiles.join(', ')}\n`);
  }
}
