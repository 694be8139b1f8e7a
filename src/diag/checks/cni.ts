// CNI checks, the "pod has no IP" runbook: is 10-weft.conflist there, parseable, and does its
// range match this node's lease; is every plugin it names (and its IPAM plugin) an executable in
// the CNI bin dir. Fixes rewrite the file from the lease, or install the plugin binary.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { buildConflist, CONFLIST_FILE } from '../../cni/conflist.js';
import { canonicalPrefix } from '../../net/addr.js';
import { command, shellQuote, type Finding, type NodeFacts } from './types.js';

export const DEFAULT_IPAM_DIR = '/var/lib/cni/networks';
/** Where distributions and the kubelet put the reference plugins; a missing one may be in another. */
export const KNOWN_CNI_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni', '/usr/libexec/cni'];
const PLUGINS_RELEASE = 'https://github.com/containernetworking/plugins/releases/download/v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz';

const IpamSchema = z.looseObject({
  type: z.string(),
  dataDir: z.string().optional(),
  ranges: z.array(z.array(z.looseObject({ subnet: z.string(), rangeStart: z.string().optional(), rangeEnd: z.string().optional(), gateway: z.string().optional() }))).optional(),
});
const ConflistSchema = z.looseObject({
  cniVersion: z.string(),
  name: z.string(),
  plugins: z.array(z.looseObject({ type: z.string(), ipam: IpamSchema.optional() })).min(1),
});
export type ParsedConflist = z.infer<typeof ConflistSchema>;

export type ConflistRead = { path: string; conflist: ParsedConflist } | { path: string; error: string; missing: boolean };

export function readConflist(facts: Pick<NodeFacts, 'cniConfDir'>): ConflistRead {
  const path = join(facts.cniConfDir, CONFLIST_FILE);
  if (!existsSync(path)) return { path, error: 'missing', missing: true };
  try {
    const parsed = ConflistSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) return { path, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), missing: false };
    return { path, conflist: parsed.data };
  } catch (error) {
    return { path, error: (error as Error).message, missing: false };
  }
}

/** The host-local section of a conflist, and where it keeps its reservations. */
export function hostLocal(facts: Pick<NodeFacts, 'ipamDir' | 'status' | 'subnetEnv'>, read: ConflistRead): { network: string; dir: string; ranges: string[] } {
  const ipam = 'conflist' in read ? read.conflist.plugins.find((p) => p.ipam?.type === 'host-local')?.ipam : undefined;
  const network = 'conflist' in read ? read.conflist.name : 'weft';
  const dataDir = ipam?.dataDir ?? facts.ipamDir ?? DEFAULT_IPAM_DIR;
  const ranges = ipam?.ranges?.flat().map((r) => r.subnet) ?? [facts.status?.subnet ?? facts.subnetEnv?.subnet].filter((s): s is string => s !== undefined);
  return { network, dir: join(dataDir, network), ranges };
}

/** A command that writes the conflist the daemon would write for this lease. */
function rewriteConflist(facts: NodeFacts, path: string): string | undefined {
  const subnet = facts.status?.subnet ?? facts.subnetEnv?.subnet;
  const mtu = facts.status?.mtu ?? facts.subnetEnv?.mtu;
  if (!subnet || !mtu) return undefined;
  const ipv6Subnet = facts.status?.ipv6Subnet ?? facts.subnetEnv?.ipv6Subnet;
  const text = JSON.stringify(buildConflist({ subnet, mtu, ...(ipv6Subnet ? { ipv6Subnet } : {}), ...(facts.ipamDir ? { dataDir: facts.ipamDir } : {}) }));
  return `${command('mkdir', '-p', facts.cniConfDir)} && printf '%s\\n' ${shellQuote(text)} > ${shellQuote(path)}`;
}

export async function checkConflist(facts: NodeFacts): Promise<Finding[]> {
  const check = 'cni.conflist';
  const read = readConflist(facts);
  const fix = rewriteConflist(facts, read.path) ?? 'restart the weft daemon (it writes the conflist once it has a lease)';
  if (!('conflist' in read)) {
    return [{ check, severity: 'error', what: read.missing ? `${read.path} is missing` : `${read.path} is unreadable: ${read.error}`, why: 'the container runtime cannot set up pod networking: new pods stay ContainerCreating ("network plugin is not ready")', fix }];
  }
  const lease = facts.status?.subnet ?? facts.subnetEnv?.subnet;
  const ranges = hostLocal(facts, read).ranges.map((r) => { try { return canonicalPrefix(r); } catch { return r; } });
  if (lease && !ranges.includes(lease)) {
    return [{ check, severity: 'error', what: `${read.path} allocates from ${ranges.join(', ') || 'no range'}, but this node's lease is ${lease}`, why: 'new pods get addresses other nodes route elsewhere: their replies never come back', fix }];
  }
  return Promise.resolve([{ check, severity: 'ok', what: `${read.path}: ${read.conflist.plugins.map((p) => p.type).join(' + ')}, range ${ranges.join(', ')}` }]);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function checkPlugins(facts: NodeFacts): Promise<Finding[]> {
  const check = 'cni.plugins';
  const read = readConflist(facts);
  // Without a readable file, check the plugins of the conflist weft writes: the one the fix restores.
  const plugins = 'conflist' in read ? read.conflist.plugins : ConflistSchema.parse(buildConflist({ subnet: '10.0.0.0/24', mtu: 1500 })).plugins;
  const types = [...new Set(plugins.flatMap((p) => [p.type, ...(p.ipam ? [p.ipam.type] : [])]))];
  const findings: Finding[] = [];
  for (const type of types) {
    const path = join(facts.cniBinDir, type);
    if (executable(path)) continue;
    const source = KNOWN_CNI_BIN_DIRS.filter((d) => d !== facts.cniBinDir).map((d) => join(d, type)).find(executable);
    findings.push({
      check,
      severity: 'error',
      what: `CNI plugin "${type}" is missing from ${facts.cniBinDir}`,
      why: `every pod sandbox fails at the ${type} step: new pods get no network`,
      fix: source ? command('install', '-m', '0755', source, path) : `${command('mkdir', '-p', facts.cniBinDir)} && curl -fsSL ${PLUGINS_RELEASE} | tar -xz -C ${shellQuote(facts.cniBinDir)} ./${type}`,
    });
  }
  if (findings.length === 0) findings.push({ check, severity: 'ok', what: `plugins present in ${facts.cniBinDir}: ${types.join(', ')}` });
  return Promise.resolve(findings);
}
