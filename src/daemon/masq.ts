// --ip-masq: masquerade pod traffic that leaves the cluster network, and never pod-to-pod traffic,
// with nftables rules in weft's own table (`table inet weft`, one chain for IPv4 and IPv6).
// flannel's rules (pkg/trafficmngr/iptables, FLANNEL-POSTRTG) are the reference, per family:
//
//   meta mark & 0x4000 == 0x4000  return       kube-proxy marked it and masquerades it itself
//   saddr podCIDR  daddr cluster  return       pod → pod: never NAT inside the cluster network
//   saddr cluster  daddr podCIDR  return       pod → local pod, from any node: no NAT
//   saddr !cluster daddr podCIDR  return       outside → our pods: keep the client's address
//   saddr cluster  daddr !multicast  masquerade fully-random    pods → outside world
//   saddr !cluster daddr cluster  masquerade fully-random       this host → remote pods (so
//                                              replies come back through the overlay)
//
// (flannel's nftables variant writes the third return as `saddr != podCIDR`; its iptables rules,
// used here, say `! -s cluster -d podCIDR`, which is what "outside → our pods" means.)
//
// Applied atomically and idempotently: one `nft -f` transaction that creates the table (so the
// delete cannot fail), deletes it and writes it whole. Nobody ever sees a half-written chain, and
// applying the same rules twice leaves the same ruleset. The table is weft's alone: this module
// replaces all of it, so other nftables needs must live in a table of their own.
//
// Deliberately not here: FORWARD accept rules (an nftables accept does not override a drop in
// another table, so flannel's forward chain would not help against a DROP policy), and deciding
// when to apply (the daemon does, once the lease is known and on every resync).
import { execFile } from 'node:child_process';
import { canonicalPrefix, parseCidr } from '../net/addr.js';

export const DEFAULT_MASQ_TABLE = 'weft';
/** kube-proxy's masquerade mark (--iptables-masquerade-bit 14). */
export const KUBE_PROXY_MASQ_MARK = 0x4000;

export interface MasqNetworks {
  /** Cluster network, e.g. "10.244.0.0/16". */
  network: string;
  /** This node's podCIDR, e.g. "10.244.3.0/24". */
  subnet: string;
  ipv6Network?: string;
  ipv6Subnet?: string;
}

export interface NftOptions {
  /** Run inside this network namespace (`ip netns exec NS nft …`); default: the caller's. */
  netns?: string;
  /** Table name (family inet); default "weft". */
  table?: string;
  /** The nft binary (default "nft" from PATH). */
  nft?: string;
}

/** nft refused a script or a command: its exit status and what it said. */
export class NftError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly script?: string,
  ) {
    super(`nft ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || 'no message'}`);
    this.name = 'NftError';
  }
}

function tableName(options: NftOptions): string {
  const table = options.table ?? DEFAULT_MASQ_TABLE;
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(table)) throw new RangeError(`nft table name "${table}" is not a plain identifier`);
  return table;
}

function prefixOfFamily(prefix: string, family: 4 | 6): string {
  const canonical = canonicalPrefix(prefix);
  if (parseCidr(canonical).family !== family) throw new RangeError(`masq: ${prefix} is not an IPv${family} prefix`);
  return canonical;
}

function familyRules(proto: 'ip' | 'ip6', cluster: string, pods: string): string[] {
  const multicast = proto === 'ip' ? '224.0.0.0/4' : 'ff00::/8';
  return [
    `${proto} saddr ${pods} ${proto} daddr ${cluster} return comment "pod to pod: no NAT"`,
    `${proto} saddr ${cluster} ${proto} daddr ${pods} return comment "cluster to local pods: no NAT"`,
    `${proto} saddr != ${cluster} ${proto} daddr ${pods} return comment "outside to local pods: keep the client address"`,
    `${proto} saddr ${cluster} ${proto} daddr != ${multicast} masquerade fully-random comment "pods to outside"`,
    `${proto} saddr != ${cluster} ${proto} daddr ${cluster} masquerade fully-random comment "host to remote pods"`,
  ];
}

/** The whole `nft -f` script: create-then-delete-then-define, one atomic transaction. */
export function renderMasqScript(networks: MasqNetworks, options: NftOptions = {}): string {
  const table = tableName(options);
  const rules = [
    `meta mark & 0x${KUBE_PROXY_MASQ_MARK.toString(16).padStart(8, '0')} == 0x${KUBE_PROXY_MASQ_MARK.toString(16).padStart(8, '0')} return comment "marked by kube-proxy"`,
    ...familyRules('ip', prefixOfFamily(networks.network, 4), prefixOfFamily(networks.subnet, 4)),
  ];
  if (networks.ipv6Network !== undefined && networks.ipv6Subnet !== undefined) {
    rules.push(...familyRules('ip6', prefixOfFamily(networks.ipv6Network, 6), prefixOfFamily(networks.ipv6Subnet, 6)));
  }
  return [
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  comment "weft --ip-masq (managed by weft: replaced whole on every apply)"',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

export function runNft(args: string[], options: NftOptions, stdin?: string): Promise<string> {
  const nft = options.nft ?? 'nft';
  const [file, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, nft, ...args]] : [nft, args];
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, { encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new NftError(args, typeof error.code === 'number' ? error.code : null, stderr || error.message, stdin));
      else resolve(stdout);
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** Installs (or replaces) the masquerading table. Safe to call on every resync. */
export async function applyMasq(networks: MasqNetworks, options: NftOptions = {}): Promise<void> {
  await runNft(['-f', '-'], options, renderMasqScript(networks, options));
}

/** Removes the table; nothing to do when it is absent. */
export async function removeMasq(options: NftOptions = {}): Promise<void> {
  const table = tableName(options);
  await runNft(['-f', '-'], options, `table inet ${table}\ndelete table inet ${table}\n`);
}

/** The table as `nft -j list table` shows it, or undefined when it is absent (for status and tests). */
export async function readMasqTable(options: NftOptions = {}): Promise<unknown[] | undefined> {
  const table = tableName(options);
  let out: string;
  try {
    out = await runNft(['-j', 'list', 'table', 'inet', table], options);
  } catch (error) {
    if (error instanceof NftError && /No such file or directory/.test(error.stderr)) return undefined;
    throw error;
  }
  return (JSON.parse(out) as { nftables: unknown[] }).nftables;
}
