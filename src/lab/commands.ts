// The `weft lab` subcommands: up, check, status, exec, down. Thin: the work is in lab.ts.
import { spawnSync } from 'node:child_process';
import { LabNotFoundError } from '../command-failure.js';
import { DEFAULT_LAB_ID, labLayout } from './layout.js';
import { Lab, removeLab } from './lab.js';
import { connectivityMatrix, table } from './report.js';

export interface LabUpOptions {
  id: string;
  backend: 'vxlan' | 'bgp';
  nodes: number;
  podsPerNode: number;
  underlayMtu: number;
  ipv6: boolean;
  tor: 'none' | 'bird' | 'frr';
  /** With --tor=frr: 1 or 2 ToRs (2: every node has two equal paths). */
  tors?: number;
}

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

function downHint(id: string): string {
  return `npx weft lab down${id === DEFAULT_LAB_ID ? '' : ` --id ${id}`}`;
}

async function printStatus(lab: Lab): Promise<void> {
  const rows: string[][] = [];
  for (const node of lab.state.nodes) {
    let subnet = '?';
    let state = 'stopped';
    if (node.daemonPid !== undefined) {
      try {
        const status = (await lab.daemonStatus(node.index)) as { subnet?: string; ready?: boolean; notReadyReason?: string };
        subnet = status.subnet ?? '?';
        state = status.ready ? 'ready' : `not ready: ${status.notReadyReason ?? '?'}`;
      } catch {
        state = 'not answering';
      }
    }
    rows.push([node.name, node.netns, node.ip, subnet, node.daemonPid === undefined ? '-' : String(node.daemonPid), state]);
  }
  out(table(['node', 'namespace', 'IP', 'podCIDR', 'daemon pid', 'daemon'], rows));
  out();
  out(table(['pod', 'namespace', 'IP', 'node'], lab.state.pods.map((p) => [p.name, p.netns, p.ip + (p.ipv6 ? ` ${p.ipv6}` : ''), `node${p.node}`])));
}

/** Returns the number of failed pairs. */
async function printConnectivity(lab: Lab): Promise<number> {
  const results = await lab.connectivity();
  out(connectivityMatrix(lab.state.pods, results));
  let failed = results.filter((r) => !r.ok).length;
  if (lab.state.ipv6) {
    const v6 = await lab.connectivity({ family: 6 });
    out();
    out('IPv6:');
    out(connectivityMatrix(lab.state.pods, v6));
    failed += v6.filter((r) => !r.ok).length;
  }
  return failed;
}

export async function labUp(options: LabUpOptions): Promise<void> {
  if (options.tor !== 'none' && options.backend !== 'bgp') throw new Error('--tor needs --backend=bgp');
  const tors = options.tors ?? 1;
  if (tors !== 1 && tors !== 2) throw new Error('--tors is 1 or 2');
  if (tors === 2 && options.tor !== 'frr') throw new Error('--tors=2 needs --tor=frr');
  if (options.backend === 'bgp' && options.ipv6) throw new Error('--backend=bgp is IPv4 only so far (issue 8); drop --ipv6');
  if (Lab.load(options.id)) {
    out(`lab "${options.id}" is already up; checking it (tear it down with: ${downHint(options.id)})`);
    out();
    await printStatus(Lab.load(options.id)!);
    out();
    await labCheck(options.id);
    return;
  }
  const started = Date.now();
  out(`weft lab "${options.id}": ${options.nodes} nodes × ${options.podsPerNode} pods, backend ${options.backend}${options.tor !== 'none' ? ` behind ${tors === 2 ? `two ${options.tor} ToRs` : `a ${options.tor} ToR`}` : ''}, underlay MTU ${options.underlayMtu}${options.ipv6 ? ', dual stack' : ''}`);
  const lab = await Lab.up({ id: options.id, backend: options.backend, tor: options.tor, tors, nodes: options.nodes, podsPerNode: options.podsPerNode, underlayMtu: options.underlayMtu, ipv6: options.ipv6, onProgress: (line) => out(`  ${line}`) });
  out(`  ✓ up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  out();
  await printStatus(lab);
  out();
  const failed = await printConnectivity(lab);
  out();
  out(failed === 0 ? 'every pod reaches every other pod.' : `${failed} pod pairs cannot reach each other.`);
  out();
  out('Look around:');
  out(`  npx weft lab status${options.id === DEFAULT_LAB_ID ? '' : ` --id ${options.id}`}            nodes, pods, daemon readiness`);
  out(`  npx weft lab exec node1 -- ip route  any command in a node or pod namespace (e.g. node1-pod1)`);
  if (options.backend === 'vxlan') out(`  npx weft lab exec node1 -- bridge fdb show dev flannel.1`);
  else out(`  npx weft lab exec node1 -- ip route show proto 87      routes learned over BGP`);
  if (options.tor === 'bird') out(`  npx weft lab exec underlay -- birdc -s ${lab.birdSocket} show route   the ToR's view`);
  for (const tor of lab.state.tors ?? []) out(`  npx weft lab exec ${tor.bridgePort === undefined ? 'underlay' : tor.name} -- vtysh --vty_socket ${tor.dir} -c 'show bgp summary'   ${tor.name}'s view`);
  out(`  less ${lab.layout.runDir}/node1/daemon.log`);
  out(`Tear it down: ${downHint(options.id)}`);
  if (failed > 0) process.exitCode = 1;
}

function loadOrFail(id: string): Lab {
  const lab = Lab.load(id);
  if (!lab) throw new LabNotFoundError(id, labLayout(id).stateFile);
  return lab;
}

export async function labStatus(id: string): Promise<void> {
  await printStatus(loadOrFail(id));
}

export async function labCheck(id: string): Promise<void> {
  const lab = loadOrFail(id);
  let problems = 0;
  for (const node of lab.state.nodes) {
    try {
      await lab.waitReady(node.index, 5000);
    } catch (error) {
      problems++;
      out(`✗ ${node.name}: ${(error as Error).message}`);
    }
  }
  const failed = await printConnectivity(lab);
  problems += failed;
  out(problems === 0 ? 'lab check: every daemon ready, every pod reaches every other pod.' : `lab check: ${problems} problem(s).`);
  if (problems > 0) process.exitCode = 1;
}

export function labExec(id: string, target: string, command: string[]): void {
  const lab = loadOrFail(id);
  const node = lab.state.nodes.find((n) => n.name === target);
  const pod = lab.state.pods.find((p) => p.name === target);
  const tor = lab.state.tors?.find((t) => t.name === target);
  const netns = node?.netns ?? pod?.netns ?? tor?.netns ?? (target === 'underlay' ? lab.layout.underlayNetns : undefined);
  if (!netns) throw new Error(`no node or pod "${target}" in lab "${id}" (nodes: ${lab.state.nodes.map((n) => n.name).join(', ')}; pods: ${lab.state.pods.map((p) => p.name).join(', ')}; ${lab.state.tors?.length ? `ToRs: ${lab.state.tors.map((t) => t.name).join(', ')}; ` : ''}or underlay)`);
  if (command.length === 0) throw new Error('nothing to run: weft lab exec <node|pod> -- <command…>');
  const result = spawnSync('ip', ['netns', 'exec', netns, ...command], { stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
}

export async function labDown(id: string): Promise<void> {
  const layout = labLayout(id);
  await removeLab(layout);
  out(`lab "${id}" removed (namespaces, processes and ${layout.runDir})`);
}
