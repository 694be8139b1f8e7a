// The subnet file (default /run/weft/subnet.env): what this node got, in flannel's variable names
// so flannel's own CNI plugin (and scripts written for flannel) can consume it unchanged:
//
//   FLANNEL_NETWORK=10.244.0.0/16        the cluster network
//   FLANNEL_SUBNET=10.244.3.1/24         this node's podCIDR as its first usable IP (the gateway)
//   FLANNEL_IPV6_NETWORK=fd00:10:244::/56   } dual stack only
//   FLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64 }
//   FLANNEL_MTU=1450                     the pods' MTU
//   FLANNEL_IPMASQ=false                 whether the daemon masquerades (--ip-masq)
//
// Also the one parser of the format: the etcd registry reads a previous run's subnet through
// parseSubnetEnvVariables (src/registry/subnet-file.ts), so writer and reader cannot drift apart.
// Not here: deciding any of these values.
import { readFile } from 'node:fs/promises';
import { canonicalPrefix, parseCidr } from '../net/addr.js';
import { firstHost } from '../net/prefix-math.js';
import { writeFileAtomic } from './atomic.js';

export interface SubnetEnv {
  /** Cluster network, canonical ("10.244.0.0/16"). */
  network: string;
  /** This node's podCIDR, canonical network form ("10.244.3.0/24"). */
  subnet: string;
  ipv6Network?: string;
  ipv6Subnet?: string;
  mtu: number;
  ipMasq: boolean;
}

export class SubnetEnvError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string | undefined,
    readonly expected: string,
  ) {
    super(`subnet file: ${variable}: expected ${expected}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
    this.name = 'SubnetEnvError';
  }
}

/** The file's text, variables in flannel's order, one per line. */
export function renderSubnetEnv(env: SubnetEnv): string {
  const lines = [`FLANNEL_NETWORK=${canonicalPrefix(env.network)}`, `FLANNEL_SUBNET=${gatewayForm(env.subnet)}`];
  if (env.ipv6Network !== undefined && env.ipv6Subnet !== undefined) {
    lines.push(`FLANNEL_IPV6_NETWORK=${canonicalPrefix(env.ipv6Network)}`, `FLANNEL_IPV6_SUBNET=${gatewayForm(env.ipv6Subnet)}`);
  }
  lines.push(`FLANNEL_MTU=${env.mtu}`, `FLANNEL_IPMASQ=${env.ipMasq}`);
  return `${lines.join('\n')}\n`;
}

/** "10.244.3.0/24" → "10.244.3.1/24": the first usable IP with the subnet's length, as flannel writes it. */
function gatewayForm(subnet: string): string {
  const canonical = canonicalPrefix(subnet);
  return `${firstHost(canonical)}/${parseCidr(canonical).prefixLen}`;
}

/** Writes the file atomically; true when its content changed. */
export function writeSubnetEnv(path: string, env: SubnetEnv): Promise<boolean> {
  return writeFileAtomic(path, renderSubnetEnv(env));
}

/**
 * The NAME=value assignments of a shell-style env file: `export ` prefixes, double or single quotes,
 * blank lines and # comments allowed. Lenient: lines it cannot read are ignored.
 */
export function parseSubnetEnvVariables(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'#]*))\s*(?:#.*)?$/.exec(line);
    if (m !== null) values.set(m[1]!, m[2] ?? m[3] ?? m[4] ?? '');
  }
  return values;
}

/** Reads the whole file strictly (subnets back in canonical network form). Throws SubnetEnvError. */
export function parseSubnetEnv(text: string): SubnetEnv {
  const values = parseSubnetEnvVariables(text);
  const prefix = (name: string, family: 4 | 6): string => {
    const value = values.get(name);
    try {
      if (value === undefined) throw new Error('missing');
      const cidr = parseCidr(value);
      if (cidr.family !== family) throw new Error('family');
      return canonicalPrefix(value);
    } catch {
      throw new SubnetEnvError(name, value, `an IPv${family} prefix`);
    }
  };
  const env: SubnetEnv = { network: prefix('FLANNEL_NETWORK', 4), subnet: prefix('FLANNEL_SUBNET', 4), mtu: 0, ipMasq: false };
  if (values.has('FLANNEL_IPV6_NETWORK') || values.has('FLANNEL_IPV6_SUBNET')) {
    env.ipv6Network = prefix('FLANNEL_IPV6_NETWORK', 6);
    env.ipv6Subnet = prefix('FLANNEL_IPV6_SUBNET', 6);
  }
  const mtu = values.get('FLANNEL_MTU');
  if (mtu === undefined || !/^\d{2,5}$/.test(mtu) || Number(mtu) < 68 || Number(mtu) > 65535) throw new SubnetEnvError('FLANNEL_MTU', mtu, 'an integer 68–65535');
  env.mtu = Number(mtu);
  const masq = values.get('FLANNEL_IPMASQ');
  if (masq !== 'true' && masq !== 'false') throw new SubnetEnvError('FLANNEL_IPMASQ', masq, 'true or false');
  env.ipMasq = masq === 'true';
  return env;
}

/** The file at `path`, or undefined when there is none. Throws SubnetEnvError when it is malformed. */
export async function readSubnetEnv(path: string): Promise<SubnetEnv | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseSubnetEnv(text);
}
