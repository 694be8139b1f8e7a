// The etcd registry (--registry=etcd): claims this node's subnet and watches the other nodes in
// flannel's key layout, so existing tooling and knowledge carry over:
//
//   <prefix>/config                    net-conf.json (read by readEtcdNetworkConfig)
//   <prefix>/subnets/10.244.3.0-24     {"PublicIP":"…","BackendType":"vxlan","BackendData":{…}}
//   <prefix>/subnets/10.244.3.0-24&fd00:10:244:3::-64
//                                      dual stack: one key names both subnets; the value adds
//                                      "PublicIPv6":"…" and "BackendV6Data":{…}
//
// weft adds a "NodeName" field to the value (flannel ignores unknown fields); entries written by
// flannel, without it, are named by their key.
//
// Allocation: reuse our own entry (same NodeName, or same PublicIP for entries without a name);
// else the subnet from a previous run's subnet file; else a random free subnet among the first
// free ones between SubnetMin and SubnetMax (per family in dual stack). New keys are created in a
// transaction that succeeds only if the key is absent, so racing nodes never share a subnet. The
// key is bound to an etcd lease (TTL default 24 h) renewed every TTL/3; close() does not revoke
// it, so a restarted node finds its entry and keeps its subnet, and a node that is gone for good
// frees it at expiry.
//
// Dual stack follows flannel (pkg/subnet/subnet.go MakeSubnetKey, pkg/subnet/etcd/registry.go
// createSubnet, local_manager.go tryAcquireLease): one key whose name carries both subnets, so
// they are created, renewed and expire together, bound to one lease. A key-absent check alone
// would not stop two nodes from sharing one family's subnet under different keys (flannel has
// that race), so a dual-stack claim's transaction also requires that no key under subnets/ was
// created since the read it allocated from; a loser re-reads and picks again.
//
// Watching: read the whole subnets prefix, then watch from the next revision. A watch cancelled
// by the server (compaction) or a lost connection is never trusted to resume: we re-read and
// re-watch, with capped exponential backoff and jitter, keeping the last snapshot meanwhile. Every
// callback from the etcd3 client is guarded: an exception there would otherwise be uncaught.
//
// Not here: validation rules (validate.ts), skip logging and metrics (metrics.ts), the daemon.
import { randomInt } from 'node:crypto';
import { Etcd3, EtcdLeaseInvalidError, Range, type IKeyValue, type Watcher } from 'etcd3';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { rootLogger, type Logger } from '../log.js';
import { parseCidr, parseIp } from '../net/addr.js';
import { bigIntToIp, ipToBigInt, maskOf } from '../net/prefix-math.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SkipReporter } from './metrics.js';
import { readPreviousSubnets } from './subnet-file.js';
import type { Lease, LocalNodeSpec, NodeRegistry, RegistryNetwork, RemoteNode, SkipListener, SkippedEntry, Snapshot } from './types.js';
import { sameNodes, validateRemoteEntries, type RawNodeEntry } from './validate.js';

export const DEFAULT_ETCD_PREFIX = '/weft/network';
export const DEFAULT_LEASE_TTL_SECONDS = 24 * 60 * 60;

export interface EtcdRegistryOptions {
  /** e.g. ['http://127.0.0.1:2379']. Ignored when `client` is given. */
  endpoints?: string[];
  /** An existing client (not closed by close()). */
  client?: Etcd3;
  /** Key prefix, default /weft/network. */
  prefix?: string;
  network: RegistryNetwork;
  /** subnet.env of a previous run: its subnet is preferred when our entry has expired. */
  subnetFile?: string;
  /** TTL of the etcd lease the subnet key is bound to (default 24 h, minimum 2 s). */
  leaseTtlSeconds?: number;
  /** How often the lease is renewed (default TTL/3: two renewals can fail before expiry). */
  leaseRenewMs?: number;
  /** Retry timing for reads, watches and renewals while etcd is unreachable. */
  backoff?: BackoffOptions;
  /** Deadline of each unary etcd call, ms (default 5000). */
  callTimeoutMs?: number;
  logger?: Logger;
  /** Where the skip counter is registered (default prom-client's global register). */
  metrics?: Registry;
  onSkip?: SkipListener;
  /**
   * Test seam: awaited before each watch is created, with the revision it will start from. Lets
   * a test compact the store in exactly the window where a real server might.
   */
  beforeWatch?: (fromRevision: bigint) => Promise<void> | void;
}

/** Base class of the etcd registry's errors; each subclass carries the facts of its failure. */
export class EtcdRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class SubnetExhaustedError extends EtcdRegistryError {
  constructor(
    readonly network: string,
    readonly subnetMin: string,
    readonly subnetMax: string,
    readonly taken: number,
  ) {
    super(`no free subnet in ${network} between ${subnetMin} and ${subnetMax} (${taken} taken)`);
  }
}

export class AllocationConflictError extends EtcdRegistryError {
  constructor(
    readonly node: string,
    readonly attempts: number,
  ) {
    super(`node ${node}: subnet allocation lost ${attempts} races in a row`);
  }
}

export class EtcdConfigError extends EtcdRegistryError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`etcd network config at ${key}: ${reason}`);
  }
}

export class RegistryClosedError extends EtcdRegistryError {
  constructor() {
    super('registry is closed');
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and values

/** "10.244.3.0/24" → "<prefix>/subnets/10.244.3.0-24" (flannel's layout; '&v6' for dual stack). */
export function etcdSubnetKey(prefix: string, subnet: string, ipv6Subnet?: string): string {
  const v4 = subnet.replace('/', '-');
  return `${trimPrefix(prefix)}/subnets/${ipv6Subnet === undefined ? v4 : `${v4}&${ipv6Subnet.replace('/', '-')}`}`;
}

/** The subnets named by a key's last part ("10.244.3.0-24&fd00::-64"), as written (unchecked). */
export function subnetsOfKey(keySuffix: string): { subnet: string; ipv6Subnet?: string } {
  const [v4 = '', v6] = keySuffix.split('&');
  const toCidr = (part: string): string => {
    const dash = part.lastIndexOf('-');
    return dash < 0 ? part : `${part.slice(0, dash)}/${part.slice(dash + 1)}`;
  };
  return v6 === undefined ? { subnet: toCidr(v4) } : { subnet: toCidr(v4), ipv6Subnet: toCidr(v6) };
}

/** The JSON value this node publishes at its subnet key. */
export function encodeEtcdValue(self: LocalNodeSpec, publicIP = self.publicIP): string {
  const value: Record<string, unknown> = {
    PublicIP: publicIP,
    BackendType: self.backendType,
    BackendData: self.backendData,
    NodeName: self.name,
  };
  if (self.publicIPv6 !== undefined) value.PublicIPv6 = self.publicIPv6;
  if (self.backendV6Data !== undefined) value.BackendV6Data = self.backendV6Data;
  return JSON.stringify(value);
}

function trimPrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** One stored entry, decoded once when it arrives (not on every snapshot). */
export interface StoredEntry {
  createRevision: bigint;
  modRevision: bigint;
  /** NodeName from the value, when present and a non-empty string. */
  nodeName?: string;
  publicIP?: string;
  raw?: Omit<RawNodeEntry, 'name'>;
  /** Set when the value itself is unusable (not JSON, not an object). */
  unparsable?: string;
}

/** Decode one subnets/ key and value (exported for the fuzz target; never throws). */
export function decodeEntry(keySuffix: string, kv: Pick<IKeyValue, 'value' | 'create_revision' | 'mod_revision'>): StoredEntry {
  const entry: StoredEntry = { createRevision: BigInt(kv.create_revision), modRevision: BigInt(kv.mod_revision) };
  let value: unknown;
  const text = kv.value.toString('utf8');
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    entry.unparsable = `value is not JSON: ${text.length > 64 ? `${text.slice(0, 61)}...` : text}`;
    return entry;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    entry.unparsable = 'value is not a JSON object';
    return entry;
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.NodeName === 'string' && obj.NodeName !== '') entry.nodeName = obj.NodeName;
  if (typeof obj.PublicIP === 'string') entry.publicIP = obj.PublicIP;
  const subnets = subnetsOfKey(keySuffix);
  entry.raw = {
    subnet: subnets.subnet,
    ipv6Subnet: subnets.ipv6Subnet,
    publicIP: obj.PublicIP,
    publicIPv6: obj.PublicIPv6,
    backendType: obj.BackendType,
    backendData: obj.BackendData,
    backendV6Data: obj.BackendV6Data,
  };
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Network config

const netConfSchema = z
  .object({
    Network: z.string(),
    SubnetLen: z.number().int().min(1).max(32).optional(),
    SubnetMin: z.string().optional(),
    SubnetMax: z.string().optional(),
    IPv6Network: z.string().optional(),
    IPv6SubnetLen: z.number().int().min(1).max(128).optional(),
    IPv6SubnetMin: z.string().optional(),
    IPv6SubnetMax: z.string().optional(),
    Backend: z.object({ Type: z.string().optional() }).loose().optional(),
  })
  .loose();

export interface EtcdNetworkConfig {
  network: RegistryNetwork;
  backendType?: string;
  /** The whole document, for the config module to read the rest of net-conf.json from. */
  raw: Record<string, unknown>;
  revision: string;
}

/** Reads and checks net-conf.json from <prefix>/config. Throws EtcdConfigError with the facts. */
export async function readEtcdNetworkConfig(client: Etcd3, prefix = DEFAULT_ETCD_PREFIX): Promise<EtcdNetworkConfig> {
  const key = `${trimPrefix(prefix)}/config`;
  const res = await client.kv.range({ key: Buffer.from(key) });
  const kv = res.kvs[0];
  if (kv === undefined) throw new EtcdConfigError(key, 'key is absent');
  let json: unknown;
  try {
    json = JSON.parse(kv.value.toString('utf8')) as unknown;
  } catch (err) {
    throw new EtcdConfigError(key, `not JSON (${(err as Error).message})`);
  }
  const parsed = netConfSchema.safeParse(json);
  if (!parsed.success) throw new EtcdConfigError(key, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const conf = parsed.data;
  const network = parseNetworkField(key, 'Network', conf.Network, 4);
  const subnetLen = conf.SubnetLen ?? (network.prefixLen <= 22 ? 24 : network.prefixLen + 2);
  if (subnetLen <= network.prefixLen || subnetLen > 30) {
    throw new EtcdConfigError(key, `SubnetLen ${subnetLen} does not fit Network ${conf.Network}`);
  }
  const result: RegistryNetwork = { network: `${network.address}/${network.prefixLen}`, subnetLen };
  // flannel writes SubnetMin/SubnetMax as plain addresses; we keep canonical network form.
  if (conf.SubnetMin !== undefined) result.subnetMin = boundField(key, 'SubnetMin', conf.SubnetMin, subnetLen);
  if (conf.SubnetMax !== undefined) result.subnetMax = boundField(key, 'SubnetMax', conf.SubnetMax, subnetLen);
  if (conf.IPv6Network !== undefined) {
    const v6 = parseNetworkField(key, 'IPv6Network', conf.IPv6Network, 6);
    result.ipv6Network = `${v6.address}/${v6.prefixLen}`;
    result.ipv6SubnetLen = conf.IPv6SubnetLen ?? 64;
    if (conf.IPv6SubnetMin !== undefined) result.ipv6SubnetMin = boundField(key, 'IPv6SubnetMin', conf.IPv6SubnetMin, result.ipv6SubnetLen, 6);
    if (conf.IPv6SubnetMax !== undefined) result.ipv6SubnetMax = boundField(key, 'IPv6SubnetMax', conf.IPv6SubnetMax, result.ipv6SubnetLen, 6);
  }
  const out: EtcdNetworkConfig = { network: result, raw: conf, revision: kv.mod_revision };
  if (conf.Backend?.Type !== undefined) out.backendType = conf.Backend.Type;
  return out;
}

function parseNetworkField(key: string, field: string, text: string, family: 4 | 6): { address: string; prefixLen: number } {
  try {
    const cidr = parseCidr(text);
    if (cidr.family !== family) throw new Error(`not IPv${family}`);
    const start = ipToBigInt(cidr.address) & maskOf(cidr.prefixLen, cidr.family);
    return { address: bigIntToIp(start, cidr.family), prefixLen: cidr.prefixLen };
  } catch (err) {
    throw new EtcdConfigError(key, `${field} "${text}": ${(err as Error).message}`);
  }
}

function boundField(key: string, field: string, text: string, subnetLen: number, family: 4 | 6 = 4): string {
  try {
    const parsed = text.includes('/') ? parseCidr(text) : parseIp(text);
    if (parsed.family !== family) throw new Error(`not IPv${family}`);
    return `${parsed.address}/${subnetLen}`;
  } catch {
    throw new EtcdConfigError(key, `${field} "${text}" is not an IPv${family} address`);
  }
}

// ---------------------------------------------------------------------------------------------
// Subnet arithmetic (allocation, both families)

interface AllocationPlan {
  family: 4 | 6;
  networkStart: bigint;
  networkLen: number;
  subnetLen: number;
  step: bigint;
  min: bigint;
  max: bigint;
}

function familyPlan(family: 4 | 6, network: string, subnetLen: number, subnetMin: string | undefined, subnetMax: string | undefined): AllocationPlan {
  const bits = family === 4 ? 32 : 128;
  const cidr = parseCidr(network);
  if (cidr.family !== family) throw new EtcdRegistryError(`network ${network} is not IPv${family}`);
  const networkStart = ipToBigInt(cidr.address) & maskOf(cidr.prefixLen, family);
  const step = 1n << BigInt(bits - subnetLen);
  const last = networkStart + (1n << BigInt(bits - cidr.prefixLen)) - step;
  const bound = (text: string | undefined, fallback: bigint): bigint => {
    if (text === undefined) return fallback;
    const addr = text.includes('/') ? parseCidr(text).address : parseIp(text).address;
    return ipToBigInt(addr) & maskOf(subnetLen, family);
  };
  // flannel's defaults: skip the network's first subnet (it holds the network address), up to the last.
  const min = bound(subnetMin, networkStart + step);
  const max = bound(subnetMax, last);
  return {
    family,
    networkStart,
    networkLen: cidr.prefixLen,
    subnetLen,
    step,
    min: min < networkStart ? networkStart : min,
    max: max > last ? last : max,
  };
}

function allocationPlan(net: RegistryNetwork): AllocationPlan {
  return familyPlan(4, net.network, net.subnetLen, net.subnetMin, net.subnetMax);
}

/** The IPv6 plan of a dual-stack network, else undefined. */
function allocationPlan6(net: RegistryNetwork): AllocationPlan | undefined {
  if (net.ipv6Network === undefined) return undefined;
  return familyPlan(6, net.ipv6Network, net.ipv6SubnetLen ?? 64, net.ipv6SubnetMin, net.ipv6SubnetMax);
}

/** A subnet ("10.244.3.0/24") as an integer range of the given family, else undefined. */
function rangeOfSubnet(text: string, family: 4 | 6): { start: bigint; end: bigint } | undefined {
  try {
    const cidr = parseCidr(text);
    if (cidr.family !== family) return undefined;
    const start = ipToBigInt(cidr.address) & maskOf(cidr.prefixLen, family);
    return { start, end: start + (1n << BigInt((family === 4 ? 32 : 128) - cidr.prefixLen)) - 1n };
  } catch {
    return undefined;
  }
}

/** The subnet (start) a key names if it is one of ours to allocate around, else undefined. */
function subnetStartOfKey(keySuffix: string): { start: bigint; end: bigint } | undefined {
  return rangeOfSubnet(subnetsOfKey(keySuffix).subnet, 4);
}

/** The subnets of one family other entries hold, and the free ones a claim may pick from. */
class TakenSubnets {
  private readonly exact = new Set<bigint>();
  private readonly odd: { start: bigint; end: bigint }[] = [];

  constructor(private readonly plan: AllocationPlan) {}

  get size(): number {
    return this.exact.size + this.odd.length;
  }

  add(range: { start: bigint; end: bigint }): void {
    if (range.end - range.start + 1n === this.plan.step) this.exact.add(range.start);
    else this.odd.push(range);
  }

  isFree(start: bigint): boolean {
    return !this.exact.has(start) && !this.odd.some((r) => r.start <= start + this.plan.step - 1n && start <= r.end);
  }

  /** A hint (a subnet of a previous run) if it is the plan's size, in its network and free. */
  usableHint(text: string | undefined): bigint | undefined {
    if (text === undefined) return undefined;
    const range = rangeOfSubnet(text, this.plan.family);
    if (range === undefined || range.end - range.start + 1n !== this.plan.step) return undefined;
    if ((range.start & maskOf(this.plan.networkLen, this.plan.family)) !== this.plan.networkStart) return undefined;
    return this.isFree(range.start) ? range.start : undefined;
  }

  /** A random one of the first 100 free subnets: racing nodes rarely pick the same one. */
  pickFree(): bigint | undefined {
    const free: bigint[] = [];
    for (let s = this.plan.min; s <= this.plan.max && free.length < 100; s += this.plan.step) if (this.isFree(s)) free.push(s);
    return free.length === 0 ? undefined : free[randomInt(free.length)];
  }

  cidr(start: bigint): string {
    return `${bigIntToIp(start, this.plan.family)}/${this.plan.subnetLen}`;
  }
}

/** The outcome of one claim: our key and the subnet(s) it names. */
interface Claimed {
  key: string;
  subnet: string;
  ipv6Subnet?: string;
  how: string;
}

/** The lease register() hands back for a claim. */
function leaseOf(claimed: Claimed, self: LocalNodeSpec): Lease {
  return { subnet: claimed.subnet, ...(claimed.ipv6Subnet !== undefined ? { ipv6Subnet: claimed.ipv6Subnet } : {}), publicIP: self.publicIP };
}

// ---------------------------------------------------------------------------------------------
// The registry

type Health = 'starting' | 'ok' | 'unreachable';

export class EtcdRegistry implements NodeRegistry {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly subnetsPrefix: string;
  private readonly log: Logger;
  private readonly reporter: SkipReporter;
  private readonly ttl: number;
  private readonly renewMs: number;
  private readonly watchBackoff: Backoff;
  private readonly renewBackoff: Backoff;

  private closed = false;
  private self?: LocalNodeSpec;
  private lease?: Lease;
  private ownKey?: string;
  private leaseId?: string;
  private renewTimer?: NodeJS.Timeout;

  private listeners: ((s: Snapshot) => void)[] = [];
  private watching = false;
  /** Bumped on every re-read; callbacks of an older watch generation are ignored. */
  private generation = 0;
  private watcher?: Watcher;
  private syncTimer?: NodeJS.Timeout;
  private readonly entries = new Map<string, StoredEntry>();
  private revision = 0n;
  private current?: Snapshot;
  private health: Health = 'starting';

  constructor(private readonly options: EtcdRegistryOptions) {
    this.ownsClient = options.client === undefined;
    const timeout = options.callTimeoutMs ?? 5000;
    this.client =
      options.client ??
      new Etcd3({
        hosts: options.endpoints ?? ['http://127.0.0.1:2379'],
        dialTimeout: timeout,
        // HTTP/2 pings find a silently dead connection (no RST) that would otherwise leave the
        // watch waiting forever; 30 s respects etcd's default 5 s minimum ping interval.
        grpcOptions: { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 10_000, 'grpc.keepalive_permit_without_calls': 1 },
        // Unary calls get a deadline so a dead server fails fast into our backoff; streams don't.
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      });
    this.prefix = trimPrefix(options.prefix ?? DEFAULT_ETCD_PREFIX);
    this.subnetsPrefix = `${this.prefix}/subnets/`;
    this.log = options.logger ?? rootLogger().child({ component: 'registry-etcd' });
    this.reporter = new SkipReporter({ logger: this.log, metrics: options.metrics, onSkip: options.onSkip });
    this.ttl = Math.max(2, Math.round(options.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS));
    this.renewMs = options.leaseRenewMs ?? Math.max(500, Math.floor((this.ttl * 1000) / 3));
    this.watchBackoff = new Backoff(options.backoff);
    this.renewBackoff = new Backoff(options.backoff);
    // A network the subnet arithmetic cannot use fails at construction, not at the first register().
    allocationPlan(options.network);
    allocationPlan6(options.network);
  }

  /** The lease from the last successful register(), if any. */
  get currentLease(): Lease | undefined {
    return this.lease;
  }

  // -- register --------------------------------------------------------------------------------

  async register(self: LocalNodeSpec): Promise<Lease> {
    if (this.closed) throw new RegistryClosedError();
    this.self = self;
    let leaseId = this.leaseId ?? (await this.grantLease());
    let claimed: Claimed;
    try {
      claimed = await this.claim(self, leaseId, this.lease);
    } catch (err) {
      // Our lease expired since the last register() (a long outage): take a new one, once.
      if (!(err instanceof EtcdLeaseInvalidError)) throw err;
      leaseId = await this.grantLease();
      claimed = await this.claim(self, leaseId, this.lease);
    }
    const { key, subnet, ipv6Subnet, how } = claimed;
    this.leaseId = leaseId;
    this.ownKey = key;
    this.lease = leaseOf(claimed, self);
    this.log.info({ node: self.name, subnet, ...(ipv6Subnet !== undefined ? { ipv6Subnet } : {}), how, ttlSeconds: this.ttl }, 'subnet claimed');
    this.scheduleRenew(this.renewMs);
    // Our own key (and lease, for overlap checks) is known now: recompute what others see.
    if (this.current !== undefined) this.evaluate();
    return { ...this.lease };
  }

  private async grantLease(): Promise<string> {
    const res = await this.client.leaseClient.leaseGrant({ TTL: this.ttl });
    if (res.error !== undefined && res.error !== '') throw new EtcdRegistryError(`lease grant refused: ${res.error}`);
    return res.ID;
  }

  /** Claims our key: IPv4 only, or (dual stack) both families in one key and one transaction. */
  private async claim(self: LocalNodeSpec, leaseId: string, preferred?: Lease): Promise<Claimed> {
    const plan6 = allocationPlan6(this.options.network);
    return plan6 === undefined ? this.claimV4(self, leaseId, preferred?.subnet) : this.claimDual(self, leaseId, plan6, preferred);
  }

  /** The IPv4 allocation loop: re-read and retry whenever a transaction loses a race. */
  private async claimV4(self: LocalNodeSpec, leaseId: string, preferred?: string): Promise<Claimed> {
    const value = Buffer.from(encodeEtcdValue(self));
    const plan = allocationPlan(this.options.network);
    const previous = this.options.subnetFile !== undefined ? (await readPreviousSubnets(this.options.subnetFile)).subnet : undefined;
    const maxAttempts = 20;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.closed) throw new RegistryClosedError();
      const kvs = await this.readAll();
      // 1. Our own entry: same NodeName, or (flannel entries) the same PublicIP and no name.
      let own: { key: string; kv: IKeyValue; start: bigint } | undefined;
      const takenExact = new Set<bigint>();
      const takenOdd: { start: bigint; end: bigint }[] = [];
      for (const kv of kvs) {
        const key = kv.key.toString('utf8');
        const suffix = key.slice(this.subnetsPrefix.length);
        const range = subnetStartOfKey(suffix);
        if (range === undefined) continue;
        if (range.end - range.start + 1n === plan.step) takenExact.add(range.start);
        else takenOdd.push(range);
        const entry = decodeEntry(suffix, kv);
        const mine = entry.nodeName !== undefined ? entry.nodeName === self.name : entry.publicIP === self.publicIP;
        const usable = range.end - range.start + 1n === plan.step && this.inNetwork(plan, range.start);
        if (mine && usable && (own === undefined || BigInt(kv.mod_revision) > BigInt(own.kv.mod_revision))) own = { key, kv, start: range.start };
      }
      if (own !== undefined) {
        // Rebind our existing key to our lease; only if nobody changed it since we read it.
        const ok = await this.txnPut(own.key, value, leaseId, { mod_revision: own.kv.mod_revision });
        if (ok) return { key: own.key, subnet: this.cidrOf(own.start, plan), how: 'reused' };
        continue;
      }
      const isFree = (start: bigint): boolean =>
        !takenExact.has(start) && !takenOdd.some((r) => r.start <= start + plan.step - 1n && start <= r.end);
      // 2. The subnet we held before (lease lost while running), then the previous run's file.
      for (const [hint, how] of [
        [preferred, 'kept'],
        [previous, 'subnet-file'],
      ] as const) {
        if (hint === undefined) continue;
        const start = subnetStartOfKey(hint.replace('/', '-'));
        if (start === undefined || start.end - start.start + 1n !== plan.step || !this.inNetwork(plan, start.start) || !isFree(start.start)) continue;
        const subnet = this.cidrOf(start.start, plan);
        const key = etcdSubnetKey(this.prefix, subnet);
        if (await this.txnPut(key, value, leaseId, { version: 0 })) return { key, subnet, how };
      }
      // 3. A random one of the first 100 free subnets: racing nodes rarely pick the same one.
      const free: bigint[] = [];
      for (let s = plan.min; s <= plan.max && free.length < 100; s += plan.step) if (isFree(s)) free.push(s);
      if (free.length === 0) {
        throw new SubnetExhaustedError(this.options.network.network, this.cidrOf(plan.min, plan), this.cidrOf(plan.max, plan), takenExact.size + takenOdd.length);
      }
      const pick = free[randomInt(free.length)]!;
      const subnet = this.cidrOf(pick, plan);
      const key = etcdSubnetKey(this.prefix, subnet);
      if (await this.txnPut(key, value, leaseId, { version: 0 })) return { key, subnet, how: 'allocated' };
      this.log.debug({ node: self.name, subnet, attempt }, 'subnet taken by a racing node, retrying');
    }
    throw new AllocationConflictError(self.name, maxAttempts);
  }

  /**
   * The dual-stack allocation loop. Our own entry (same NodeName, or same PublicIP for unnamed
   * entries) is rebound when both its subnets fit the plan; an own entry with a usable IPv4 subnet
   * but no usable IPv6 one (e.g. the cluster just turned dual stack) keeps its IPv4 subnet and is
   * replaced by a key naming both. Otherwise each family takes the subnet we held, else the
   * previous run's subnet file's, else a random free one. The new key is created in one
   * transaction that also requires that no key under subnets/ was created since our read: two
   * racing nodes can then never share a subnet of either family.
   */
  private async claimDual(self: LocalNodeSpec, leaseId: string, plan6: AllocationPlan, preferred?: Lease): Promise<Claimed> {
    const value = Buffer.from(encodeEtcdValue(self));
    const plan4 = allocationPlan(this.options.network);
    const previous = this.options.subnetFile !== undefined ? await readPreviousSubnets(this.options.subnetFile) : {};
    const subnetsRange = Range.prefix(this.subnetsPrefix);
    const maxAttempts = 50;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.closed) throw new RegistryClosedError();
      // A loser waits a little, so the next round's readers do not all collide again.
      if (attempt > 1) await new Promise((r) => setTimeout(r, randomInt(1, 10 + 5 * Math.min(attempt, 10))));
      const { kvs, revision } = await this.readAllAt();
      const entries: { key: string; kv: IKeyValue; r4: { start: bigint; end: bigint }; r6?: { start: bigint; end: bigint }; mine: boolean }[] = [];
      for (const kv of kvs) {
        const key = kv.key.toString('utf8');
        const suffix = key.slice(this.subnetsPrefix.length);
        const subnets = subnetsOfKey(suffix);
        const r4 = rangeOfSubnet(subnets.subnet, 4);
        if (r4 === undefined) continue;
        const r6 = subnets.ipv6Subnet !== undefined ? rangeOfSubnet(subnets.ipv6Subnet, 6) : undefined;
        const entry = decodeEntry(suffix, kv);
        const mine = entry.nodeName !== undefined ? entry.nodeName === self.name : entry.publicIP === self.publicIP;
        entries.push({ key, kv, r4, ...(r6 !== undefined ? { r6 } : {}), mine });
      }
      const fits = (plan: AllocationPlan, r: { start: bigint; end: bigint } | undefined): r is { start: bigint; end: bigint } =>
        r !== undefined && r.end - r.start + 1n === plan.step && (r.start & maskOf(plan.networkLen, plan.family)) === plan.networkStart;
      // 1. Our own entry, the newest if there are several.
      let own: (typeof entries)[number] | undefined;
      for (const e of entries) {
        if (e.mine && fits(plan4, e.r4) && (own === undefined || BigInt(e.kv.mod_revision) > BigInt(own.kv.mod_revision))) own = e;
      }
      if (own !== undefined && fits(plan6, own.r6)) {
        const ok = await this.txnPut(own.key, value, leaseId, { mod_revision: own.kv.mod_revision });
        if (ok) return { key: own.key, subnet: this.cidrOf(own.r4.start, plan4), ipv6Subnet: `${bigIntToIp(own.r6.start, 6)}/${plan6.subnetLen}`, how: 'reused' };
        continue;
      }
      const taken4 = new TakenSubnets(plan4);
      const taken6 = new TakenSubnets(plan6);
      for (const e of entries) {
        if (e === own) continue;
        taken4.add(e.r4);
        if (e.r6 !== undefined) taken6.add(e.r6);
      }
      // 2. Each family: the subnet we held (lease lost while running), the subnet file's, a free one.
      const pick = (taken: TakenSubnets, held: string | undefined, fromFile: string | undefined): { start: bigint; how: string } | undefined => {
        const kept = taken.usableHint(held);
        if (kept !== undefined) return { start: kept, how: 'kept' };
        const filed = taken.usableHint(fromFile);
        if (filed !== undefined) return { start: filed, how: 'subnet-file' };
        const free = taken.pickFree();
        return free === undefined ? undefined : { start: free, how: 'allocated' };
      };
      const v4 = own !== undefined ? { start: own.r4.start, how: 'reused' } : pick(taken4, preferred?.subnet, previous.subnet);
      if (v4 === undefined) throw new SubnetExhaustedError(this.options.network.network, this.cidrOf(plan4.min, plan4), this.cidrOf(plan4.max, plan4), taken4.size);
      const v6 = pick(taken6, preferred?.ipv6Subnet, previous.ipv6Subnet);
      if (v6 === undefined) throw new SubnetExhaustedError(this.options.network.ipv6Network ?? '', taken6.cidr(plan6.min), taken6.cidr(plan6.max), taken6.size);
      const subnet = this.cidrOf(v4.start, plan4);
      const ipv6Subnet = taken6.cidr(v6.start);
      const key = etcdSubnetKey(this.prefix, subnet, ipv6Subnet);
      const keyBuf = Buffer.from(key);
      const res = await this.client.kv.txn({
        compare: [
          { key: keyBuf, target: 'Version', result: 'Equal', version: 0 },
          // Nothing claimed a subnet since our read (keepalives and rebinds create no key).
          { key: subnetsRange.start, range_end: subnetsRange.end, target: 'Create', result: 'Less', create_revision: String(revision + 1n) },
          ...(own !== undefined ? [{ key: own.kv.key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: own.kv.mod_revision }] : []),
        ],
        success: [{ request_put: { key: keyBuf, value, lease: leaseId } }, ...(own !== undefined ? [{ request_delete_range: { key: own.kv.key } }] : [])],
      });
      if (res.succeeded) {
        const how = v4.how === v6.how ? v4.how : `${v4.how}+ipv6-${v6.how}`;
        return { key, subnet, ipv6Subnet, how };
      }
      this.log.debug({ node: self.name, subnet, ipv6Subnet, attempt }, 'subnets taken by a racing node, retrying');
    }
    throw new AllocationConflictError(self.name, maxAttempts);
  }

  private inNetwork(plan: AllocationPlan, start: bigint): boolean {
    return (start & maskOf(plan.networkLen, 4)) === plan.networkStart;
  }

  private cidrOf(start: bigint, plan: AllocationPlan): string {
    return `${bigIntToIp(start, 4)}/${plan.subnetLen}`;
  }

  /** Puts key=value bound to the lease, only if the key still matches `expect`. */
  private async txnPut(key: string, value: Buffer, leaseId: string, expect: { version: 0 } | { mod_revision: string }): Promise<boolean> {
    const keyBuf = Buffer.from(key);
    const compare =
      'version' in expect
        ? { key: keyBuf, target: 'Version' as const, result: 'Equal' as const, version: 0 }
        : { key: keyBuf, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expect.mod_revision };
    const res = await this.client.kv.txn({ compare: [compare], success: [{ request_put: { key: keyBuf, value, lease: leaseId } }] });
    return res.succeeded;
  }

  /** Every key under <prefix>/subnets/, at one revision, paged so no response grows unbounded. */
  private async readAll(): Promise<IKeyValue[]> {
    return (await this.readAllAt()).kvs;
  }

  private async readAllAt(): Promise<{ kvs: IKeyValue[]; revision: bigint }> {
    const range = Range.prefix(this.subnetsPrefix);
    const kvs: IKeyValue[] = [];
    let start = range.start;
    let revision: string | undefined;
    for (;;) {
      const res = await this.client.kv.range({ key: start, range_end: range.end, limit: 2000, ...(revision !== undefined ? { revision } : {}) });
      revision ??= res.header.revision;
      kvs.push(...res.kvs);
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { kvs, revision: BigInt(revision) };
  }

  // -- lease renewal ---------------------------------------------------------------------------

  private scheduleRenew(delayMs: number): void {
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    if (this.closed) return;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      this.renew().catch((err: unknown) => this.log.error({ err }, 'lease renewal failed unexpectedly'));
    }, delayMs);
  }

  private async renew(): Promise<void> {
    const leaseId = this.leaseId;
    const self = this.self;
    if (this.closed || leaseId === undefined || self === undefined) return;
    try {
      const ttl = await this.keepAliveOnce(leaseId);
      if (this.closed) return;
      if (ttl > 0) {
        if (this.renewBackoff.attempts > 0) this.log.info({ node: self.name }, 'lease renewal recovered');
        this.renewBackoff.reset();
        this.scheduleRenew(this.renewMs);
        return;
      }
      // The lease expired (etcd down longer than the TTL, or revoked): re-claim our subnet.
      this.log.warn({ node: self.name, subnet: this.lease?.subnet, leaseId }, 'lease expired, re-claiming subnet');
      const newLease = await this.grantLease();
      const held = this.lease;
      const previous = held?.subnet;
      const claimed = await this.claim(self, newLease, held);
      this.leaseId = newLease;
      this.ownKey = claimed.key;
      this.lease = leaseOf(claimed, self);
      if (claimed.subnet !== previous || claimed.ipv6Subnet !== held?.ipv6Subnet) {
        this.log.error(
          { node: self.name, previous, subnet: claimed.subnet, ...(claimed.ipv6Subnet !== undefined ? { previousIPv6: held?.ipv6Subnet, ipv6Subnet: claimed.ipv6Subnet } : {}) },
          'subnet changed after lease loss; restart weft to move pods',
        );
      }
      this.renewBackoff.reset();
      this.scheduleRenew(this.renewMs);
      this.evaluate();
    } catch (err) {
      if (this.closed) return;
      const delay = Math.min(this.renewMs, this.renewBackoff.next());
      if (this.renewBackoff.attempts === 1) this.log.warn({ err, node: self.name, retryMs: delay }, 'lease renewal failed, retrying');
      else this.log.debug({ err, node: self.name, retryMs: delay }, 'lease renewal failed again');
      this.scheduleRenew(delay);
    }
  }

  /** One keepalive round trip; resolves with the remaining TTL (0: the lease is gone). */
  private async keepAliveOnce(leaseId: string): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new EtcdRegistryError('lease keepalive timed out')), this.options.callTimeoutMs ?? 5000);
        stream.on('data', (res: { TTL: string }) => {
          clearTimeout(timer);
          resolve(Number(res.TTL));
        });
        stream.on('error', (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
        stream.write({ ID: leaseId });
      });
    } finally {
      try {
        stream.end();
      } catch {
        // The stream may already be dead; nothing to release then.
      }
    }
  }

  // -- watch -----------------------------------------------------------------------------------

  watch(onSnapshot: (snapshot: Snapshot) => void): void {
    if (this.closed) return;
    this.listeners.push(onSnapshot);
    const current = this.current;
    if (current !== undefined) {
      // A late subscriber gets the current state at once (asynchronously, like every delivery).
      queueMicrotask(() => this.deliverTo(onSnapshot, current));
    }
    if (!this.watching) {
      this.watching = true;
      this.scheduleSync(0);
    }
  }

  private scheduleSync(delayMs: number): void {
    if (this.closed) return;
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.sync().catch((err: unknown) => this.log.error({ err }, 'watch resync failed unexpectedly'));
    }, delayMs);
  }

  /** Re-reads everything, publishes the result, then watches from the next revision. */
  private async sync(): Promise<void> {
    const gen = ++this.generation;
    this.dropWatcher();
    let read: { kvs: IKeyValue[]; revision: bigint };
    try {
      read = await this.readAllAt();
    } catch (err) {
      this.trouble(err, gen);
      return;
    }
    if (this.closed || gen !== this.generation) return;
    this.entries.clear();
    for (const kv of read.kvs) this.applyPut(kv);
    this.revision = read.revision;
    this.setHealth('ok', { revision: String(read.revision), entries: read.kvs.length });
    this.evaluate();
    try {
      await this.options.beforeWatch?.(read.revision + 1n);
    } catch (err) {
      this.log.warn({ err }, 'beforeWatch hook threw');
    }
    if (this.closed || gen !== this.generation) return;
    const watcher = this.client.watch().prefix(this.subnetsPrefix).startRevision(String(read.revision + 1n)).watcher();
    this.watcher = watcher;
    const guard =
      <A extends unknown[]>(what: string, fn: (...args: A) => void) =>
      (...args: A): void => {
        if (this.closed || gen !== this.generation) return;
        try {
          fn(...args);
        } catch (err) {
          this.log.error({ err, what }, 'etcd watch handler failed');
        }
      };
    watcher.on('put', guard('put', (kv: IKeyValue) => this.applyPut(kv)));
    watcher.on('delete', guard('delete', (kv: IKeyValue) => this.entries.delete(kv.key.toString('utf8'))));
    watcher.on(
      'data',
      guard('data', (res: { header: { revision: string }; events: unknown[] }) => {
        this.revision = BigInt(res.header.revision);
        // Progress notifications carry no events: nothing can have changed.
        if (res.events.length > 0) this.evaluate();
      }),
    );
    watcher.on('connected', guard('connected', () => this.watchBackoff.reset()));
    // Server-side cancel (compaction, permission): the client does not retry it; re-read ourselves.
    watcher.on(
      'error',
      guard('error', (err: unknown) => {
        this.log.warn({ err, revision: String(this.revision) }, 'etcd watch cancelled by server, re-reading');
        this.scheduleSync(this.watchBackoff.next());
      }),
    );
    // Connection lost: the client would replay from its own idea of the revision, which can skip
    // events across quick reconnects; a fresh read is the only state we trust.
    watcher.on('disconnected', guard('disconnected', (err: unknown) => this.trouble(err, gen)));
  }

  private trouble(err: unknown, gen: number): void {
    if (this.closed || gen !== this.generation) return;
    const delay = this.watchBackoff.next();
    this.setHealth('unreachable', { err, retryMs: delay, keptNodes: this.current?.nodes.length ?? 0 });
    this.log.debug({ err, retryMs: delay, attempt: this.watchBackoff.attempts }, 'etcd read/watch failed, retrying');
    this.dropWatcher();
    this.scheduleSync(delay);
  }

  private setHealth(health: Health, facts: Record<string, unknown>): void {
    if (health === this.health) return;
    const was = this.health;
    this.health = health;
    if (health === 'unreachable') this.log.warn({ ...facts, prefix: this.prefix }, 'etcd unreachable, keeping last snapshot');
    else if (was === 'unreachable') this.log.info({ ...facts, prefix: this.prefix }, 'etcd reachable again, resynced');
    else this.log.info({ ...facts, prefix: this.prefix }, 'etcd watch synced');
  }

  private dropWatcher(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher === undefined) return;
    watcher.removeAllListeners();
    // Swallow late errors from a watcher we no longer listen to (an unhandled 'error' would throw).
    watcher.on('error', () => undefined);
    watcher.cancel().catch(() => undefined);
  }

  private applyPut(kv: IKeyValue): void {
    const key = kv.key.toString('utf8');
    this.entries.set(key, decodeEntry(key.slice(this.subnetsPrefix.length), kv));
  }

  /** Validates the stored entries and delivers a snapshot if the valid set changed. */
  private evaluate(): void {
    const self = this.self;
    const raws: RawNodeEntry[] = [];
    const preSkipped: SkippedEntry[] = [];
    // Two keys claiming one NodeName (an old entry not yet expired): the newest keeps the name.
    const newestByName = new Map<string, bigint>();
    for (const entry of this.entries.values()) {
      if (entry.nodeName === undefined) continue;
      const seen = newestByName.get(entry.nodeName);
      if (seen === undefined || entry.createRevision > seen) newestByName.set(entry.nodeName, entry.createRevision);
    }
    for (const [key, entry] of this.entries) {
      if (key === this.ownKey) continue;
      // Our own older entries (e.g. before a public IP change) are not remote nodes.
      if (self !== undefined && entry.nodeName === self.name) continue;
      const suffix = key.slice(this.subnetsPrefix.length);
      const name = entry.nodeName !== undefined && newestByName.get(entry.nodeName) === entry.createRevision ? entry.nodeName : suffix;
      if (entry.unparsable !== undefined || entry.raw === undefined) {
        preSkipped.push({ entry: name, reason: 'unparsable', detail: entry.unparsable ?? 'value is unusable' });
        continue;
      }
      raws.push({ name, ...entry.raw, claimedAt: entry.createRevision });
    }
    const result = validateRemoteEntries(raws, {
      network: this.options.network,
      ...(this.lease !== undefined ? { local: this.lease } : {}),
      ...(self !== undefined ? { localBackendType: self.backendType } : {}),
    });
    this.reporter.update([...preSkipped, ...result.skipped]);
    if (this.current !== undefined && sameNodes(this.current.nodes, result.nodes)) return;
    this.publish(result.nodes);
  }

  private publish(nodes: RemoteNode[]): void {
    const snapshot: Snapshot = { nodes, revision: String(this.revision) };
    this.current = snapshot;
    this.log.debug({ nodes: nodes.length, revision: snapshot.revision }, 'snapshot');
    for (const listener of this.listeners) this.deliverTo(listener, snapshot);
  }

  private deliverTo(listener: (s: Snapshot) => void, snapshot: Snapshot): void {
    if (this.closed) return;
    try {
      listener(snapshot);
    } catch (err) {
      this.log.error({ err }, 'snapshot listener threw');
    }
  }

  // -- close -----------------------------------------------------------------------------------

  /** Stops watching and renewing. The lease is left to expire (a restart reuses the subnet). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    this.listeners = [];
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher !== undefined) {
      watcher.removeAllListeners();
      watcher.on('error', () => undefined);
      // Bounded: against a dead server the cancel would wait for a reply that never comes.
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    if (this.ownsClient) this.client.close();
  }
}
