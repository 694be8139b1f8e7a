// The `weft` command: one commander program whose subcommands are the daemon's tools.
// Global options (--log-level, --log-format) apply to every subcommand; each subcommand lives in
// its own module and is only imported when it runs, so `weft --help` stays fast.
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, isLogLevel, LOG_LEVELS, setRootLogger } from './log.js';

export const VERSION = '0.1.0';

function parseLogLevel(value: string): string {
  if (value !== 'silent' && !isLogLevel(value)) {
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}, silent`);
  }
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

  const lab = program.command('lab').description('a local multi-node cluster in network namespaces on this machine');
  lab
    .command('up')
    .description('build the lab cluster (prints the plan until the lab lands)')
    .addOption(new Option('--backend <backend>', 'datapath').choices(['vxlan', 'bgp']).default('vxlan'))
    .addOption(new Option('--nodes <n>', 'number of nodes').default(3).argParser(parsePositiveInt))
    .addOption(new Option('--pods-per-node <n>', 'pods per node').default(2).argParser(parsePositiveInt))
    .action(async (opts: { backend: 'vxlan' | 'bgp'; nodes: number; podsPerNode: number }) => {
      const { printLabPlan } = await import('./lab/plan.js');
      printLabPlan(opts);
    });

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

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
