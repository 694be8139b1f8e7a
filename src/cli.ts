// The `weft` command: one commander program whose subcommands are the daemon's tools.
// Global options (--log-level, --log-format) apply to every subcommand; each subcommand lives in
// its own module and is only imported when it runs, so `weft --help` stays fast.
import { isIP } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isCommandFailure } from './command-failure.js';
import { DaemonUnreachableError } from './daemon/client.js';
import { addDaemonOptions } from './config/daemon-config.js';
import { createLogger, isLogLevel, LOG_LEVELS, setRootLogger } from './log.js';

export const VERSION = '0.1.0';

function parseLogLevel(value: string): string {
  if (value !== 'silent' && !isLogLevel(value)) {
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}, silent`);
  }
  return value;
}

function parsePodAddress(value: string): string {
  if (isIP(value) !== 4) throw new InvalidArgumentError('expected an IPv4 pod address, e.g. 10.244.1.2');
  return value;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('weft')
    .description('Pod-network daemon for Kubernetes: a VXLAN overlay or native BGP routing between nodes')
    .version(VERSION)
    .addOption(new Option('--log-level <level>', 'log verbosity').env('WEFT_LOG_LEVEL').default('info').argParser(parseLogLevel))
    .addOption(new Option('--log-format <format>', 'json, or pretty (default: pretty on a terminal)').choices(['json', 'pretty']).env('WEFT_LOG_FORMAT'))
    .showHelpAfterError()
    .hook('preAction', (cmd) => {
      const opts = cmd.opts<{ logLevel: string; logFormat?: 'json' | 'pretty' }>();
      setRootLogger(createLogger({ level: opts.logLevel, ...(opts.logFormat ? { pretty: opts.logFormat === 'pretty' } : {}) }));
    });

  const daemon = program
    .command('daemon')
    .description('run the node agent: claim this node\'s subnet, program the datapath, keep it in sync')
    .addHelpText('after', '\nEvery flag can also be set as WEFT_<NAME> in the environment (--node-name ↔ WEFT_NODE_NAME).');
  addDaemonOptions(daemon);
  daemon
    .addOption(new Option('--status-socket <path>', 'Unix socket serving /healthz /readyz /metrics /status for weft status [env WEFT_STATUS_SOCKET] (default: /run/weft/weft.sock)'))
    .addOption(new Option('--cni-ipam-dir <dir>', 'host-local IPAM reservation directory written into the conflist [env WEFT_CNI_IPAM_DIR] (default: the plugin\'s own)'))
    .action(async (_opts: unknown, cmd: Command) => {
      const { runDaemon } = await import('./daemon/run.js');
      await runDaemon(cmd.optsWithGlobals());
    });

  program
    .command('status')
    .description('ask the local daemon how it is doing: subnet, readiness, remote nodes and why any is not programmed')
    .option('--socket <path>', 'the daemon\'s status socket (default: /run/weft/weft.sock) [env WEFT_STATUS_SOCKET]')
    .option('--health-addr <host:port>', 'ask over TCP instead of the socket')
    .option('--json', 'print the daemon\'s /status document as JSON', false)
    .action(async (opts: { socket?: string; healthAddr?: string; json: boolean }) => (await import('./diag/status.js')).runStatus(opts));

  program
    .command('doctor')
    .description('check this node the way the runbooks do; print each finding with why it matters and the command that fixes it (exit 1 on any error)')
    .option('--socket <path>', 'the daemon\'s status socket (default: /run/weft/weft.sock) [env WEFT_STATUS_SOCKET]')
    .option('--subnet-file <path>', 'the subnet file the daemon writes (default: /run/weft/subnet.env)')
    .option('--cni-conf-dir <dir>', 'where 10-weft.conflist lives (default: /etc/cni/net.d)')
    .option('--cni-bin-dir <dir>', 'the CNI plugins (default: the first of /opt/cni/bin, /usr/lib/cni, /usr/libexec/cni that exists)')
    .option('--cni-ipam-dir <dir>', 'host-local dataDir, as given to the daemon (default: the conflist\'s, else /var/lib/cni/networks)')
    .option('--cni-cache-dir <dir>', 'libcni cache, used to tell live reservations from stale ones (default: /var/lib/cni)')
    .option('--net-conf <path>', 'net-conf.json, for the VXLAN VNI and port (default: /etc/weft/net-conf.json; defaults when absent)')
    .option('--service-cidr <prefix>', 'the cluster\'s service range, checked for overlaps')
    .option('--json', 'print the findings as JSON', false)
    .action(async (opts: { socket?: string; subnetFile?: string; cniConfDir?: string; cniBinDir?: string; cniIpamDir?: string; cniCacheDir?: string; netConf?: string; serviceCidr?: string; json: boolean }) => (await import('./diag/doctor.js')).runDoctor(opts));

  program
    .command('trace')
    .description('follow a packet from one pod IP to another hop by hop against live kernel state; the first broken hop is marked with why and the fix')
    .argument('<src-pod-ip>', 'source pod address', parsePodAddress)
    .argument('<dst-pod-ip>', 'destination pod address', parsePodAddress)
    .option('--lab <id>', 'trace inside a lab: enter every node and pod namespace of it')
    .option('--lab-root <dir>', 'the lab\'s run root (default: /run/weft-lab)')
    .option('--socket <path>', 'the local daemon\'s status socket, without --lab (default: /run/weft/weft.sock) [env WEFT_STATUS_SOCKET]')
    .option('--net-conf <path>', 'net-conf.json, for the VXLAN VNI (default: /etc/weft/net-conf.json; VNI 1 when absent)')
    .option('--cni-conf-dir <dir>', 'without --lab: where 10-weft.conflist lives, to find this node\'s pods (default: /etc/cni/net.d)')
    .option('--cni-ipam-dir <dir>', 'without --lab: host-local dataDir when the conflist names none (default: /var/lib/cni/networks)')
    .option('--json', 'print the hops as JSON', false)
    .action(async (src: string, dst: string, opts: { lab?: string; labRoot?: string; socket?: string; netConf?: string; cniConfDir?: string; cniIpamDir?: string; json: boolean }) => (await import('./diag/trace.js')).runTrace(src, dst, opts));

  const lab = program.command('lab').description('a local multi-node cluster in network namespaces on this machine (root)');
  const idOption = (): Option => new Option('--id <id>', 'lab name (prefix of its namespaces)').default('weft-lab');
  lab
    .command('up')
    .description('build the lab: underlay bridge, etcd, N nodes each running weft daemon, pods via the CNI plugins; then check it')
    .addOption(idOption())
    .addOption(new Option('--backend <backend>', 'datapath').choices(['vxlan', 'bgp']).default('vxlan'))
    .addOption(new Option('--nodes <n>', 'number of nodes').default(3).argParser(parsePositiveInt))
    .addOption(new Option('--pods-per-node <n>', 'pods per node').default(2).argParser(parsePositiveInt))
    .addOption(new Option('--underlay-mtu <bytes>', 'MTU of the underlay segment').default(1500).argParser(parsePositiveInt))
    .option('--ipv6', 'dual stack: IPv6 underlay and pod addresses too', false)
    .addOption(new Option('--tor <router>', 'a top-of-rack router peering with every node (BGP): bird = iBGP route reflector, frr = eBGP ToR with TCP-MD5').choices(['none', 'bird', 'frr']).default('none'))
    .addOption(new Option('--tors <n>', 'with --tor=frr: 2 = two ToRs, every node peering with both (ECMP)').default(1).argParser(parsePositiveInt))
    .action(async (opts: { id: string; backend: 'vxlan' | 'bgp'; nodes: number; podsPerNode: number; underlayMtu: number; ipv6: boolean; tor: 'none' | 'bird' | 'frr'; tors: number }) => {
      const { labUp } = await import('./lab/commands.js');
      await labUp(opts);
    });
  lab
    .command('check')
    .description('daemon readiness and the pod-to-pod connectivity matrix; exits non-zero on any failure')
    .addOption(idOption())
    .action(async (opts: { id: string }) => (await import('./lab/commands.js')).labCheck(opts.id));
  lab
    .command('status')
    .description('nodes (IP, podCIDR, daemon state) and pods')
    .addOption(idOption())
    .action(async (opts: { id: string }) => (await import('./lab/commands.js')).labStatus(opts.id));
  lab
    .command('exec')
    .description('run a command in a node or pod namespace: weft lab exec node1 -- ip route')
    .addOption(idOption())
    .argument('<target>', 'node (node1…), pod (node1-pod1…), FRR ToR (tor1…) or underlay')
    .argument('[command...]', 'the command and its arguments (after --)')
    .action(async (target: string, command: string[], opts: { id: string }) => (await import('./lab/commands.js')).labExec(opts.id, target, command));
  lab
    .command('down')
    .description('remove every namespace, process and file of the lab (idempotent; works after a crash)')
    .addOption(idOption())
    .action(async (opts: { id: string }) => (await import('./lab/commands.js')).labDown(opts.id));

  const bench = program.command('bench').description('benchmarks; each prints its figures next to a reference measured in the same run');
  bench
    .command('netlink')
    .description('program N remote-node triples (FDB + neighbour + onlink route) and compare with ip/bridge -batch')
    .addOption(new Option('--nodes <n>', 'remote nodes to program').default(5000).argParser(parsePositiveInt))
    .addOption(new Option('--runs <n>', 'repetitions; the best of each is reported').default(3).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { nodes: number; runs: number; json?: string }) => {
      const { runNetlinkBench } = await import('../bench/netlink.js');
      await runNetlinkBench(opts);
    });

  bench
    .command('registry')
    .description('time to the first full snapshot and heap for a registry of N nodes (etcd and kube)')
    .addOption(new Option('--nodes <n>', 'remote nodes in the registry').default(5000).argParser(parsePositiveInt))
    .addOption(new Option('--runs <n>', 'repetitions; best and median reported').default(3).argParser(parsePositiveInt))
    .addOption(new Option('--registry <name...>', 'which implementations').choices(['etcd', 'kube']))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { nodes: number; runs: number; registry?: string[]; json?: string }) => {
      const { runRegistryBench } = await import('../bench/registry.js');
      await runRegistryBench({ nodes: opts.nodes, runs: opts.runs, ...(opts.registry ? { implementations: opts.registry } : {}), ...(opts.json ? { json: opts.json } : {}) });
    });

  bench
    .command('encap')
    .description('in a fresh 2-node lab: TCP throughput (1 and 4 streams), UDP latency and CPU of underlay, weft VXLAN and a hand-made VXLAN overlay (root)')
    .addOption(new Option('--duration <seconds>', 'length of each iperf3 run').default(5).argParser(parsePositiveInt))
    .addOption(new Option('--runs <n>', 'rounds of every test; TCP medians, latency pooled').default(1).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .option('--svg <file>', 'also write a bar chart (throughput, p99 latency) as SVG to this file')
    .action(async (opts: { duration: number; runs: number; json?: string; svg?: string }) => {
      const { runEncapBench } = await import('../bench/encap.js');
      await runEncapBench(opts);
    });

  bench
    .command('convergence')
    .description('a node joins (etcd write) → every lab node has programmed it; p50/p99 over N joins (root)')
    .addOption(new Option('--nodes <n>', 'lab nodes').default(10).argParser(parsePositiveInt))
    .addOption(new Option('--joins <n>', 'joins (each followed by a leave)').default(50).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { nodes: number; joins: number; json?: string }) => {
      const { runConvergenceBench } = await import('../bench/convergence.js');
      await runConvergenceBench(opts);
    });

  bench
    .command('scale')
    .description('daemon start → ready with N remote nodes in etcd, and its RSS; against ip/bridge -batch writing the same entries (root)')
    .addOption(new Option('--nodes <n>', 'remote nodes in the registry').default(5000).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { nodes: number; json?: string }) => {
      const { runScaleBench } = await import('../bench/scale.js');
      await runScaleBench(opts);
    });

  bench
    .command('bgp-codec')
    .description('BGP UPDATE decode/encode throughput (prefixes/s) for packed and Internet-like IPv4/IPv6 tables')
    .addOption(new Option('--prefixes <n>', 'prefixes per scenario').default(1_000_000).argParser(parsePositiveInt))
    .addOption(new Option('--runs <n>', 'repetitions; the best is reported').default(3).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { prefixes: number; runs: number; json?: string }) => {
      const { runBgpCodecBench } = await import('../bench/bgp-codec.js');
      await runBgpCodecBench({ prefixes: opts.prefixes, runs: opts.runs, ...(opts.json ? { json: opts.json } : {}) });
    });

  bench
    .command('bgp-ingest')
    .description('BIRD sends a large IPv4 table to weft, BIRD and GoBGP side by side: Established → End-of-RIB time and RSS (root)')
    .addOption(new Option('--prefixes <n>', 'prefixes in the table').default(1_000_000).argParser(parsePositiveInt))
    .addOption(new Option('--runs <n>', 'rounds; medians are reported').default(3).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { prefixes: number; runs: number; json?: string }) => {
      const { runBgpIngestBench } = await import('../bench/bgp-ingest.js');
      await runBgpIngestBench({ prefixes: opts.prefixes, runs: opts.runs, ...(opts.json ? { json: opts.json } : {}) });
    });

  bench
    .command('fuzz')
    .description('fuzz the BGP decoder, registry entry parser and config parser: cases/s, crashes, hangs; new failing inputs go into test/fixtures/fuzz-corpus')
    .addOption(new Option('--cases <n>', 'cases per target').default(1_000_000).argParser(parsePositiveInt))
    .addOption(new Option('--seed <n>', 'run seed (default: today, YYYYMMDD)').argParser(parsePositiveInt))
    .addOption(new Option('--target <name>', 'what to fuzz').choices(['bgp', 'registry', 'config', 'all']).default('all'))
    .addOption(new Option('--workers <n>', 'worker threads (0: in this process, no watchdog)').default(2).argParser((v: string) => (v === '0' ? 0 : parsePositiveInt(v))))
    .addOption(new Option('--hang-ms <n>', 'one case slower than this is a hang').default(50).argParser(parsePositiveInt))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { cases: number; seed?: number; target: 'bgp' | 'registry' | 'config' | 'all'; workers: number; hangMs: number; json?: string }) => {
      const { runFuzzBench } = await import('../bench/fuzz.js');
      await runFuzzBench({ cases: opts.cases, target: opts.target, workers: opts.workers, hangMs: opts.hangMs, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.json ? { json: opts.json } : {}) });
    });

  bench
    .command('bgp-convergence')
    .description('a node joins (etcd write) → every node has its BGP route, node mesh and BIRD route reflector; p50/p99 against VXLAN and BIRD in the same run (root)')
    .addOption(new Option('--nodes <n>', 'lab nodes').default(10).argParser(parsePositiveInt))
    .addOption(new Option('--joins <n>', 'joins per topology (each followed by a leave), at most 150').default(50).argParser(parsePositiveInt))
    .addOption(new Option('--topology <name...>', 'BGP topologies').choices(['mesh', 'rr']))
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { nodes: number; joins: number; topology?: ('mesh' | 'rr')[]; json?: string }) => {
      const { runBgpConvergenceBench } = await import('../bench/bgp-convergence.js');
      await runBgpConvergenceBench({ nodes: opts.nodes, joins: opts.joins, ...(opts.topology ? { modes: opts.topology } : {}), ...(opts.json ? { json: opts.json } : {}) });
    });

  bench
    .command('bgp-scale')
    .description('N nodes\' podCIDRs through a BIRD route reflector into a weft node\'s kernel (mesh off): time, RSS, CPU, withdrawal; against BIRD as a client of the same reflector (root)')
    .addOption(new Option('--nodes <n>', 'remote nodes (registry entries and routes)').default(5000).argParser(parsePositiveInt))
    .addOption(new Option('--withdraw <n>', 'routes withdrawn afterwards (node removal)').default(1000).argParser(parsePositiveInt))
    .option('--cpu-prof <dir>', 'run the daemon under V8\'s CPU profiler, profile written to this directory')
    .option('--json <file>', 'also write the results as JSON to this file')
    .action(async (opts: { nodes: number; withdraw: number; cpuProf?: string; json?: string }) => {
      const { runBgpScaleBench } = await import('../bench/bgp-scale.js');
      await runBgpScaleBench({ nodes: opts.nodes, withdraw: opts.withdraw, ...(opts.cpuProf ? { cpuProf: opts.cpuProf } : {}), ...(opts.json ? { json: opts.json } : {}) });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  let running = 'weft';
  program.hook('preAction', (_program, action) => {
    const names: string[] = [];
    for (let c: Command | null = action; c; c = c.parent) names.unshift(c.name());
    running = names.join(' ');
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // No daemon, no such lab, an error answer: one line for the operator, not a stack trace.
    if (!isCommandFailure(error)) throw error;
    const hint = error instanceof DaemonUnreachableError ? ' — is weft daemon running on this node? (--socket names another status socket)' : '';
    process.stderr.write(`${running}: ${error.message}${hint}\n`);
    process.exitCode = 1;
  }
}
