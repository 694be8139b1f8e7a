// `weft doctor`: checks this node the way the runbooks do ("pod has no IP", "cross-node traffic
// fails", "IP conflicts", "MTU mismatch") and prints every finding with its severity, what was
// found, why it matters and the exact command that fixes it. Exit status 1 on any error.
//
// It runs on the node: netlink in its own namespace, the local daemon over the status socket,
// files under /run/weft and /etc/cni. Each check is a small function in checks/; this file only
// gathers the node's facts once, runs the checks, and prints. It changes nothing: fixes are
// printed, never applied.
import { checkBgp } from './checks/bgp.js';
import { checkConflist, checkPlugins } from './checks/cni.js';
import { checkForwardChain } from './checks/firewall.js';
import { gatherNodeFacts, type GatherOptions } from './checks/node.js';
import { checkRanges } from './checks/ranges.js';
import { checkIpam } from './checks/reservations.js';
import { checkForwarding, checkRpFilter } from './checks/sysctl.js';
import type { Check, Finding, NodeFacts } from './checks/types.js';
import { checkMtu, checkRemoteNodes, checkVxlanDevice } from './checks/vxlan.js';

export type { Finding, Severity } from './checks/types.js';

/** Checks in runbook order; VXLAN ones only where the backend is VXLAN. */
const VXLAN_CHECKS: Check[] = [checkVxlanDevice, checkRemoteNodes, checkMtu];
const NODE_CHECKS: Check[] = [checkForwarding, checkRpFilter, checkForwardChain, checkConflist, checkPlugins, checkIpam, checkRanges, checkBgp];

export interface DoctorReport {
  node?: string;
  backend?: string;
  findings: Finding[];
  errors: number;
  warnings: number;
}

async function daemonFindings(facts: NodeFacts): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (!facts.status) findings.push({ check: 'daemon', severity: 'error', what: `cannot read the daemon's /status: ${facts.statusError ?? 'unknown'}`, why: 'without the daemon nothing programs this node; checks fall back to the subnet file', fix: 'start the weft daemon (kubectl -n kube-system get pods -l app=weft -o wide; check its log)' });
  else if (!facts.status.ready) findings.push({ check: 'daemon', severity: 'warn', what: `daemon not ready: ${facts.status.notReadyReason ?? '?'}` });
  else findings.push({ check: 'daemon', severity: 'ok', what: `daemon ${facts.status.node}: ${facts.status.backend}, subnet ${facts.status.subnet ?? '-'}, ready` });
  if (facts.subnetEnvError) findings.push({ check: 'daemon.subnet-file', severity: 'error', what: `subnet file: ${facts.subnetEnvError}`, why: 'CNI plugins and scripts that read it cannot learn this node\'s subnet and MTU', fix: 'restart the weft daemon (it writes the subnet file once it holds a lease)' });
  else if (facts.status?.subnet && facts.subnetEnv && facts.subnetEnv.subnet !== facts.status.subnet) findings.push({ check: 'daemon.subnet-file', severity: 'error', what: `${facts.subnetFile} says ${facts.subnetEnv.subnet}, the daemon's lease is ${facts.status.subnet}`, why: 'pods would be addressed from a subnet routed to another node', fix: 'restart the weft daemon (it rewrites the subnet file from its lease)' });
  return Promise.resolve(findings);
}

/** Runs every check against already-gathered facts. A check that throws becomes an error finding. */
export async function diagnose(facts: NodeFacts): Promise<DoctorReport> {
  const backend = facts.status?.backend ?? 'vxlan';
  const checks: Check[] = [daemonFindings, ...(backend === 'vxlan' ? VXLAN_CHECKS : []), ...NODE_CHECKS];
  const findings: Finding[] = [];
  for (const check of checks) {
    try {
      findings.push(...(await check(facts)));
    } catch (error) {
      findings.push({ check: check.name, severity: 'error', what: `check ${check.name} failed: ${(error as Error).message}`, why: 'this part of the node could not be checked' });
    }
  }
  return {
    ...(facts.status ? { node: facts.status.node, backend: facts.status.backend } : {}),
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warn').length,
  };
}

/** Gathers the node's facts (see GatherOptions) and diagnoses them. */
export async function doctor(options: GatherOptions = {}): Promise<DoctorReport> {
  const facts = await gatherNodeFacts(options);
  try {
    return await diagnose(facts);
  } finally {
    facts.close();
  }
}

const MARK = { ok: '✓', warn: '!', error: '✗' } as const;

export function formatReport(report: DoctorReport): string {
  const lines = [`weft doctor${report.node ? ` on ${report.node}` : ''}${report.backend ? ` (backend ${report.backend})` : ''}`, ''];
  for (const f of report.findings) {
    lines.push(`${f.notApplicable ? '-' : MARK[f.severity]} ${f.check.padEnd(18)} ${f.what}`);
    if (f.severity !== 'ok') {
      if (f.why) lines.push(`    why: ${f.why}`);
      if (f.fix) lines.push(`    fix: ${f.fix}`);
    }
  }
  lines.push('', `${report.errors} error${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`);
  return lines.join('\n');
}

export interface DoctorCliOptions {
  socket?: string;
  subnetFile?: string;
  cniConfDir?: string;
  cniBinDir?: string;
  cniIpamDir?: string;
  netConf?: string;
  serviceCidr?: string;
  cniCacheDir?: string;
  json?: boolean;
}

export async function runDoctor(options: DoctorCliOptions): Promise<void> {
  const { defaultPodLocator } = await import('./checks/reservations.js');
  const report = await doctor({
    daemon: { socketPath: options.socket ?? process.env.WEFT_STATUS_SOCKET ?? '/run/weft/weft.sock' },
    ...(options.subnetFile ? { subnetFile: options.subnetFile } : {}),
    ...(options.cniConfDir ? { cniConfDir: options.cniConfDir } : {}),
    ...(options.cniBinDir ? { cniBinDir: options.cniBinDir } : {}),
    ...(options.cniIpamDir ? { ipamDir: options.cniIpamDir } : {}),
    ...(options.netConf ? { netConf: options.netConf } : {}),
    ...(options.serviceCidr ? { serviceCidr: options.serviceCidr } : {}),
    ...(options.cniCacheDir ? { locatePod: defaultPodLocator(options.cniCacheDir) } : {}),
  });
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  if (report.errors > 0) process.exitCode = 1;
}
