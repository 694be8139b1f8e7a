// Validation of remote node entries at the registry boundary, shared by every registry
// implementation (kube, etcd). A registry turns what it read (annotations, etcd values) into
// RawNodeEntry records, as raw as they came, and this module decides which of them become
// RemoteNode values the daemon may trust. Bad entries are returned as SkippedEntry with a reason;
// one bad entry never hides the good ones, and nothing here throws on any input.
//
// Deliberately not here: logging and counting skips (metrics.ts), reading the store (kube.ts,
// etcd.ts), and excluding this node from the set (the registry knows how it names itself).
import { z } from 'zod';
import { ipToBytes, parseCidr, parseIp, parseMac, networkOf, type Cidr } from '../net/addr.js';
import {
  BACKEND_TYPES,
  type BackendData,
  type BackendType,
  type Lease,
  type RegistryNetwork,
  type RemoteNode,
  type SkipReason,
  type SkippedEntry,
} from './types.js';

/** One remote node as read from the store, before any checking. Every field may be anything. */
export interface RawNodeEntry {
  /** Node name (kube) or registry key (etcd); identifies the entry in logs and skips. */
  name: string;
  subnet: unknown;
  ipv6Subnet?: unknown;
  publicIP: unknown;
  publicIPv6?: unknown;
  backendType: unknown;
  /** Parsed JSON, or the JSON text itself (annotations are strings). */
  backendData: unknown;
  backendV6Data?: unknown;
  /**
   * When the entry claimed its subnet (etcd create revision; Node creation time in ms): of two
   * overlapping entries the earlier claim wins, so a newcomer cannot take a running node's
   * subnet by choosing a name that sorts first.
   */
  claimedAt?: bigint;
}

export interface ValidateContext {
  network: RegistryNetwork;
  /** This node's lease; remote subnets overlapping it are skipped ('overlaps-local'). */
  local?: Pick<Lease, 'subnet' | 'ipv6Subnet'>;
  /** When set, remote nodes running another backend are skipped ('backend-mismatch'). */
  localBackendType?: BackendType;
}

export interface ValidationResult {
  /** Valid remote nodes, sorted by name (code-unit order, the same on every machine). */
  nodes: RemoteNode[];
  /** Skipped entries, sorted by entry name then reason. */
  skipped: SkippedEntry[];
}

/** A typed reason for rejecting one entry; thrown and caught only inside this module. */
class EntryRejected extends Error {
  constructor(
    readonly reason: SkipReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'EntryRejected';
  }
}

// VNI is 24 bits on the wire. Extra fields are tolerated (and dropped): newer flannel versions
// and other tools may add some, and an unknown field is not a reason to drop a node.
const vxlanDataSchema = z.object({
  VNI: z.number().int().min(0).max(0xffffff),
  VtepMAC: z.string(),
});
// 0 is reserved (RFC 7607); 4294967295 is the top of the 4-octet space.
const bgpDataSchema = z.object({
  ASN: z.number().int().min(1).max(4294967295),
  RouteReflector: z.string().regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, 'a cluster ID in dotted-quad form').optional(),
  // CrossSubnet "vxlan": the node's VTEP, checked like VXLAN data's (a pair: both or neither).
  VNI: vxlanDataSchema.shape.VNI.optional(),
  VtepMAC: z.string().optional(),
});

/** A prefix as a range of integers, for containment and overlap checks. */
interface PrefixRange {
  family: 4 | 6;
  bits: number;
  prefixLen: number;
  /** Network address as an integer. */
  base: bigint;
  /** IPv4 only: the same as an unsigned 32-bit number (keys without BigInt: the hot path). */
  base4: number;
  canonical: string;
}

function toRange(cidr: Cidr): PrefixRange {
  const bits = cidr.family === 4 ? 32 : 128;
  const net = networkOf(cidr);
  let base = 0n;
  for (const byte of ipToBytes(net.address)) base = (base << 8n) | BigInt(byte);
  return { family: cidr.family, bits, prefixLen: cidr.prefixLen, base, base4: cidr.family === 4 ? Number(base) : 0, canonical: `${net.address}/${net.prefixLen}` };
}

function contains(outer: PrefixRange, inner: PrefixRange): boolean {
  if (outer.family !== inner.family || outer.prefixLen > inner.prefixLen) return false;
  const shift = BigInt(outer.bits - outer.prefixLen);
  return outer.base >> shift === inner.base >> shift;
}

/** Keys of a prefix and all its ancestors down to `minLen`, for O(length) overlap lookups. */
function ancestorKeys(range: PrefixRange, minLen: number): string[] {
  const keys: string[] = [];
  for (let len = range.prefixLen; len >= minLen; len--) keys.push(prefixKey(range, len));
  return keys;
}

function prefixKey(range: PrefixRange, len: number): string {
  // 5000 nodes × every ancestor on every snapshot: BigInt shifts dominated validation time.
  if (range.family === 4) return `4/${len}/${len === 0 ? 0 : range.base4 >>> (32 - len)}`;
  return `6/${len}/${(range.base >> BigInt(range.bits - len)).toString(16)}`;
}

/** The configured network; it comes from our own (validated) config, so a failure is a bug upstream. */
function parseNetwork(text: string): PrefixRange {
  return toRange(parseCidr(text));
}

function checkSubnet(value: unknown, network: PrefixRange | undefined, what: string): PrefixRange {
  if (typeof value !== 'string') throw new EntryRejected('bad-subnet', `${what} is ${describe(value)}, not a CIDR string`);
  let cidr: Cidr;
  try {
    cidr = parseCidr(value);
  } catch {
    throw new EntryRejected('bad-subnet', `${what} "${value}" is not a CIDR prefix`);
  }
  const range = toRange(cidr);
  // Host bits set ("10.244.3.7/24") means the writer is confused about what it owns.
  if (range.canonical !== `${cidr.address}/${cidr.prefixLen}`) {
    throw new EntryRejected('bad-subnet', `${what} "${value}" has host bits set (network is ${range.canonical})`);
  }
  if (network === undefined) {
    throw new EntryRejected('outside-network', `${what} ${range.canonical} but no ${what === 'subnet' ? 'IPv4' : 'IPv6'} network is configured`);
  }
  if (!contains(network, range)) {
    throw new EntryRejected('outside-network', `${what} ${range.canonical} is outside network ${network.canonical}`);
  }
  return range;
}

function checkIp(value: unknown, what: string, family?: 4 | 6): string {
  if (typeof value !== 'string') throw new EntryRejected('bad-ip', `${what} is ${describe(value)}, not an IP string`);
  let parsed: { family: 4 | 6; address: string };
  try {
    parsed = parseIp(value);
  } catch {
    throw new EntryRejected('bad-ip', `${what} "${value}" is not an IP address`);
  }
  if (family !== undefined && parsed.family !== family) {
    throw new EntryRejected('bad-ip', `${what} "${value}" is not an IPv${family} address`);
  }
  // A tunnel endpoint / next hop can never be one of these; accepting them would blackhole a node.
  const a = parsed.address;
  if (a === '0.0.0.0' || a === '::' || a === '255.255.255.255' || a.startsWith('127.') || a === '::1') {
    throw new EntryRejected('bad-ip', `${what} ${a} is not a unicast host address`);
  }
  const first = Number(a.split('.')[0]);
  if ((parsed.family === 4 && first >= 224) || (parsed.family === 6 && a.toLowerCase().startsWith('ff'))) {
    throw new EntryRejected('bad-ip', `${what} ${a} is multicast or reserved`);
  }
  return a;
}

function checkBackendType(value: unknown): BackendType {
  if (typeof value === 'string' && (BACKEND_TYPES as readonly string[]).includes(value)) return value as BackendType;
  throw new EntryRejected('unknown-backend', `backend type ${typeof value === 'string' ? `"${value}"` : describe(value)} is not one of ${BACKEND_TYPES.join(', ')}`);
}

function checkBackendData(type: BackendType, value: unknown, what: string): BackendData {
  let data = value;
  if (typeof value === 'string') {
    try {
      data = JSON.parse(value) as unknown;
    } catch {
      throw new EntryRejected('unparsable', `${what} is not JSON: ${truncate(value)}`);
    }
  }
  if (type === 'vxlan') {
    const parsed = vxlanDataSchema.safeParse(data);
    if (!parsed.success) throw new EntryRejected('unparsable', `${what} is not VXLAN data {VNI, VtepMAC}: ${zodSummary(parsed.error)}`);
    return { VNI: parsed.data.VNI, VtepMAC: checkVtepMac(parsed.data.VtepMAC, what) };
  }
  const parsed = bgpDataSchema.safeParse(data);
  if (!parsed.success) throw new EntryRejected('unparsable', `${what} is not BGP data {ASN}: ${zodSummary(parsed.error)}`);
  const { ASN, RouteReflector, VNI, VtepMAC } = parsed.data;
  if ((VNI === undefined) !== (VtepMAC === undefined)) throw new EntryRejected('unparsable', `${what} has ${VNI === undefined ? 'VtepMAC without VNI' : 'VNI without VtepMAC'}`);
  return {
    ASN,
    ...(RouteReflector !== undefined ? { RouteReflector } : {}),
    ...(VNI !== undefined && VtepMAC !== undefined ? { VNI, VtepMAC: checkVtepMac(VtepMAC, what) } : {}),
  };
}

/** A VTEP MAC in canonical form; multicast (I/G bit) or all-zero cannot be one: the kernel would flood or drop. */
function checkVtepMac(text: string, what: string): string {
  let mac: string;
  try {
    mac = parseMac(text);
  } catch {
    throw new EntryRejected('bad-mac', `${what} VtepMAC "${truncate(text)}" is not a MAC address`);
  }
  if (mac === '00:00:00:00:00:00' || (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
    throw new EntryRejected('bad-mac', `${what} VtepMAC ${mac} is not a unicast MAC address`);
  }
  return mac;
}

function zodSummary(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return `a ${Array.isArray(value) ? 'array' : typeof value}`;
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

interface Candidate {
  node: RemoteNode;
  v4: PrefixRange;
  v6?: PrefixRange;
}

/** Checks one entry on its own (everything except overlaps with other entries). */
function checkEntry(raw: RawNodeEntry, v4Net: PrefixRange | undefined, v6Net: PrefixRange | undefined, ctx: ValidateContext): Candidate {
  const v4 = checkSubnet(raw.subnet, v4Net, 'subnet');
  const publicIP = checkIp(raw.publicIP, 'public IP');
  const backendType = checkBackendType(raw.backendType);
  if (ctx.localBackendType !== undefined && backendType !== ctx.localBackendType) {
    throw new EntryRejected('backend-mismatch', `node runs backend ${backendType}, this node runs ${ctx.localBackendType}`);
  }
  const backendData = checkBackendData(backendType, raw.backendData, 'backend data');
  const node: RemoteNode = { name: raw.name, subnet: v4.canonical, publicIP, backendType, backendData };
  let v6: PrefixRange | undefined;
  // IPv6 fields only matter in a dual-stack cluster; elsewhere they are ignored, not an error,
  // so a single-stack node keeps working next to dual-stack ones during a migration.
  if (v6Net !== undefined && raw.ipv6Subnet !== undefined && raw.ipv6Subnet !== null && raw.ipv6Subnet !== '') {
    v6 = checkSubnet(raw.ipv6Subnet, v6Net, 'IPv6 subnet');
    node.ipv6Subnet = v6.canonical;
    if (raw.publicIPv6 !== undefined && raw.publicIPv6 !== null && raw.publicIPv6 !== '') {
      node.publicIPv6 = checkIp(raw.publicIPv6, 'public IPv6', 6);
    }
    if (raw.backendV6Data !== undefined && raw.backendV6Data !== null && raw.backendV6Data !== '') {
      node.backendV6Data = checkBackendData(backendType, raw.backendV6Data, 'IPv6 backend data');
    }
  }
  return v6 === undefined ? { node, v4 } : { node, v4, v6 };
}

/** Prefixes already owned (this node's, then accepted remotes'), for overlap checks. */
class OwnedPrefixes {
  /** Exact owned prefixes → owner (null: this node). */
  private readonly exact = new Map<string, string | null>();
  /** Every ancestor (down to the network length) of an owned prefix → one owner below it. */
  private readonly covering = new Map<string, string | null>();

  constructor(private readonly networkLen: number) {}

  /** The owner of a prefix overlapping `range` (null: this node), or undefined if none. */
  overlapping(range: PrefixRange): string | null | undefined {
    // An owned prefix contains `range` (an ancestor of it, or itself, is owned)…
    for (const key of ancestorKeys(range, this.networkLen)) {
      const owner = this.exact.get(key);
      if (owner !== undefined) return owner;
    }
    // …or `range` contains an owned prefix (`range` is an ancestor of one).
    return this.covering.get(prefixKey(range, range.prefixLen));
  }

  add(range: PrefixRange, owner: string | null): void {
    this.exact.set(prefixKey(range, range.prefixLen), owner);
    for (const key of ancestorKeys(range, this.networkLen)) if (!this.covering.has(key)) this.covering.set(key, owner);
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Earlier claim first (entries without one last), then name: the same order on every node. */
function byClaim(a: RawNodeEntry, b: RawNodeEntry): number {
  if (a.claimedAt !== b.claimedAt) {
    if (a.claimedAt === undefined) return 1;
    if (b.claimedAt === undefined) return -1;
    return a.claimedAt < b.claimedAt ? -1 : 1;
  }
  return byName(a, b);
}

/**
 * Validates raw remote entries. Overlaps between two remote entries are decided by who claimed
 * first (claimedAt), then by name: the entry that comes first is kept and the other skipped
 * ('overlaps-other'). The order is the same on every node, so all nodes agree on who wins
 * without coordination.
 */
export function validateRemoteEntries(raws: readonly RawNodeEntry[], ctx: ValidateContext): ValidationResult {
  const skipped: SkippedEntry[] = [];
  const v4Net = parseNetwork(ctx.network.network);
  const v6Net = ctx.network.ipv6Network !== undefined ? parseNetwork(ctx.network.ipv6Network) : undefined;
  const owned4 = new OwnedPrefixes(v4Net.prefixLen);
  const owned6 = new OwnedPrefixes(v6Net?.prefixLen ?? 0);
  if (ctx.local !== undefined) {
    try {
      owned4.add(toRange(parseCidr(ctx.local.subnet)), null);
      if (ctx.local.ipv6Subnet !== undefined) owned6.add(toRange(parseCidr(ctx.local.ipv6Subnet)), null);
    } catch {
      // Our own lease is produced by our registry; an unparsable one cannot overlap anything.
    }
  }

  const candidates: Candidate[] = [];
  for (const raw of [...raws].sort(byClaim)) {
    try {
      candidates.push(checkEntry(raw, v4Net, v6Net, ctx));
    } catch (err) {
      if (err instanceof EntryRejected) skipped.push({ entry: raw.name, reason: err.reason, detail: err.detail });
      else skipped.push({ entry: raw.name, reason: 'unparsable', detail: `unexpected: ${String(err)}` });
    }
  }

  const nodes: RemoteNode[] = [];
  for (const c of candidates) {
    const owner4 = owned4.overlapping(c.v4);
    const owner6 = c.v6 !== undefined ? owned6.overlapping(c.v6) : undefined;
    const owner = owner4 !== undefined ? owner4 : owner6;
    const which = owner4 !== undefined ? c.node.subnet : c.node.ipv6Subnet;
    if (owner === null) {
      skipped.push({ entry: c.node.name, reason: 'overlaps-local', detail: `subnet ${which} overlaps this node's subnet` });
      continue;
    }
    if (owner !== undefined) {
      skipped.push({ entry: c.node.name, reason: 'overlaps-other', detail: `subnet ${which} overlaps node ${owner}'s (kept: it claimed first, or its name sorts first)` });
      continue;
    }
    owned4.add(c.v4, c.node.name);
    if (c.v6 !== undefined) owned6.add(c.v6, c.node.name);
    nodes.push(c.node);
  }
  skipped.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
  nodes.sort(byName);
  return { nodes, skipped };
}

/** Network-relevant equality of two node sets (both sorted by name, as validation returns them). */
export function sameNodes(a: readonly RemoteNode[], b: readonly RemoteNode[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (nodeKey(a[i]!) !== nodeKey(b[i]!)) return false;
  return true;
}

function nodeKey(n: RemoteNode): string {
  // Explicit field order: the comparison must not depend on how an object was built.
  return JSON.stringify([
    n.name,
    n.subnet,
    n.ipv6Subnet ?? null,
    n.publicIP,
    n.publicIPv6 ?? null,
    n.backendType,
    dataKey(n.backendData),
    n.backendV6Data === undefined ? null : dataKey(n.backendV6Data),
  ]);
}

function dataKey(d: BackendData): unknown[] {
  return 'ASN' in d ? ['bgp', d.ASN, d.RouteReflector ?? null, d.VNI ?? null, d.VtepMAC ?? null] : ['vxlan', d.VNI, d.VtepMAC];
}
