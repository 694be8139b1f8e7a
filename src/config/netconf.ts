// net-conf.json: the cluster's network configuration, in flannel's format so an existing flannel
// ConfigMap (or etcd <prefix>/config key) works unchanged. Parsed once at the boundary into a typed
// NetConf with flannel's defaults applied; every invalid value becomes one ConfigError naming the
// field and what it accepts.
//
//   { "Network": "10.244.0.0/16", "Backend": { "Type": "vxlan", "VNI": 1 } }
//
// Flannel keys we read and honour: Network, SubnetLen, SubnetMin, SubnetMax, EnableIPv4,
// EnableIPv6, IPv6Network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax, and Backend {Type, VNI,
// Port, MTU, GBP, DirectRouting, Learning}. Flannel keys accepted and ignored because they do not
// apply to weft: EnableNFTables (weft always uses nftables), Backend.MacPrefix (Windows only).
// The BGP keys (issue 8) are checked for their basic types and kept for the BGP backend.
// Any other key is rejected: a typo must not silently fall back to a default.
//
// Not here: reading the file (daemon-config.ts), the daemon's flags, and checks that need the
// kernel (MTU against the underlay: the backend does that).
import { z } from 'zod';
import { parseCidr, parseIp, type Family } from '../net/addr.js';
import { BACKEND_TYPES, type BackendType, type RegistryNetwork } from '../registry/types.js';
import { ConfigError } from './errors.js';
import { bigIntToIp, ipToBigInt, isAligned, rangeOf, sizeOf } from '../net/prefix-math.js';

export const DEFAULT_VXLAN_VNI = 1;
export const DEFAULT_VXLAN_PORT = 8472;
export const DEFAULT_BGP_ASN = 64512;
export const DEFAULT_BGP_PORT = 179;
const MAX_VNI = 16_777_215;
const AS_TRANS = 23456;

export interface VxlanConf {
  vni: number;
  port: number;
  /** Device MTU; undefined = underlay MTU − 50 (− 70 over IPv6), decided by the backend. */
  mtu?: number;
  gbp: boolean;
  directRouting: boolean;
}

/** BGP settings as far as this module checks them; the BGP backend refines the rest. */
export interface BgpConf {
  asn: number;
  nodeMesh: boolean;
  listenPort: number;
  routerID?: string;
  routeReflector?: boolean | string | Record<string, unknown>;
  peers: Record<string, unknown>[];
  gracefulRestart?: Record<string, unknown>;
  communities: string[];
  crossSubnet?: 'vxlan';
}

export interface BackendConf {
  type: BackendType;
  /** Both are always filled (defaults when absent): --backend may pick the other type. */
  vxlan: VxlanConf;
  bgp: BgpConf;
}

export interface NetConf {
  /** Always true today: IPv6-only clusters are rejected (the registry needs an IPv4 subnet). */
  enableIPv4: true;
  enableIPv6: boolean;
  /** Canonical network form, e.g. "10.244.0.0/16". */
  network: string;
  subnetLen: number;
  /** First and last allocatable subnet, canonical network form ("10.244.1.0/24"). */
  subnetMin: string;
  subnetMax: string;
  /** Present exactly when enableIPv6. */
  ipv6Network?: string;
  ipv6SubnetLen?: number;
  ipv6SubnetMin?: string;
  ipv6SubnetMax?: string;
  backend: BackendConf;
}

// ---------------------------------------------------------------------------------------------
// Schema: shapes and basic types. Each schema's error text is the "expected …" of the ConfigError,
// so every issue zod reports already says what would have been accepted.

const BOOL = 'true or false';
const bool = () => z.boolean({ error: BOOL });
const int = (min: number, max: number, expected = `an integer ${min}–${max}`) =>
  z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
const text = (expected: string) => z.string({ error: expected });

/** A strict object whose unknown-key issue lists the accepted keys. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `one of the keys ${keys}` : 'a JSON object'),
  });
}

const IPV4_PREFIX = 'an IPv4 prefix like 10.244.0.0/16 (at most /28)';
const IPV6_PREFIX = 'an IPv6 prefix like fd00:10:244::/56 (at most /124)';
const IPV4_ADDRESS = 'an IPv4 address inside Network, on a SubnetLen boundary';
const IPV6_ADDRESS = 'an IPv6 address inside IPv6Network, on an IPv6SubnetLen boundary';
const MTU = 'an integer 68–65535';

const backendSchema = strictObject({
  Type: z.enum(BACKEND_TYPES as [BackendType, ...BackendType[]], { error: `one of ${BACKEND_TYPES.join(', ')}` }),
  // VXLAN
  VNI: int(0, MAX_VNI).optional(),
  Port: int(1, 65535).optional(),
  MTU: int(68, 65535, MTU).optional(),
  GBP: bool().optional(),
  DirectRouting: bool().optional(),
  Learning: z.literal(false, { error: 'false (weft programs the FDB itself; kernel learning is not supported)' }).optional(),
  MacPrefix: z.string({ error: 'a string (ignored: Windows only)' }).optional(),
  // BGP (issue 8): types checked here, meaning checked by the BGP backend.
  ASN: int(1, 4_294_967_295, `an integer 1–4294967295 other than ${AS_TRANS} (AS_TRANS)`).refine((n) => n !== AS_TRANS, {
    error: `an integer 1–4294967295 other than ${AS_TRANS} (AS_TRANS)`,
  }).optional(),
  NodeMesh: bool().optional(),
  ListenPort: int(1, 65535).optional(),
  RouterID: text('an IPv4 address').optional(),
  RouteReflector: z.union([z.boolean(), z.string(), z.record(z.string(), z.unknown())], { error: 'true, false, a cluster ID or an object' }).optional(),
  Peers: z.array(z.record(z.string(), z.unknown(), { error: 'a JSON object per peer' }), { error: 'a list of peer objects' }).optional(),
  GracefulRestart: z.record(z.string(), z.unknown(), { error: 'an object like {"Enabled": true, "RestartTime": 120}' }).optional(),
  Communities: z.array(text('a community like "64512:100"'), { error: 'a list of communities like ["64512:100"]' }).optional(),
  CrossSubnet: z.literal('vxlan', { error: '"vxlan"' }).optional(),
});

const netConfSchema = strictObject({
  Network: text(IPV4_PREFIX).optional(),
  SubnetLen: int(1, 30).optional(),
  SubnetMin: text(IPV4_ADDRESS).optional(),
  SubnetMax: text(IPV4_ADDRESS).optional(),
  EnableIPv4: bool().optional(),
  EnableIPv6: bool().optional(),
  IPv6Network: text(IPV6_PREFIX).optional(),
  IPv6SubnetLen: int(1, 126).optional(),
  IPv6SubnetMin: text(IPV6_ADDRESS).optional(),
  IPv6SubnetMax: text(IPV6_ADDRESS).optional(),
  EnableNFTables: bool().optional(),
  Backend: backendSchema.optional(),
});

type RawNetConf = z.infer<typeof netConfSchema>;

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ParseNetConfOptions {
  /** Prefix of error messages: the file path or the etcd key (default "net-conf.json"). */
  source?: string;
}

/** Parses the text of net-conf.json. Throws ConfigError (and nothing else) on any input. */
export function parseNetConfText(input: string, options: ParseNetConfOptions = {}): NetConf {
  const source = options.source ?? 'net-conf.json';
  let json: unknown;
  try {
    json = JSON.parse(input) as unknown;
  } catch (error) {
    throw new ConfigError('(document)', input, 'a JSON object', { source, problem: `text that is not JSON (${(error as Error).message})` });
  }
  return parseNetConf(json, options);
}

/** Checks an already-decoded net-conf.json and applies flannel's defaults. Throws ConfigError. */
export function parseNetConf(input: unknown, options: ParseNetConfOptions = {}): NetConf {
  const source = options.source ?? 'net-conf.json';
  const parsed = netConfSchema.safeParse(input);
  if (!parsed.success) throw fromIssue(parsed.error.issues[0]!, input, source);
  return build(parsed.data, source);
}

/** The configuration with the backend type replaced (`--backend` wins over Backend.Type). */
export function withBackendType(conf: NetConf, type: BackendType): NetConf {
  return { ...conf, backend: { ...conf.backend, type } };
}

/** The address plan in the form the registries take. */
export function toRegistryNetwork(conf: NetConf): RegistryNetwork {
  const network: RegistryNetwork = {
    network: conf.network,
    subnetLen: conf.subnetLen,
    subnetMin: conf.subnetMin,
    subnetMax: conf.subnetMax,
  };
  if (conf.enableIPv6 && conf.ipv6Network !== undefined) {
    network.ipv6Network = conf.ipv6Network;
    network.ipv6SubnetLen = conf.ipv6SubnetLen ?? 64;
    if (conf.ipv6SubnetMin !== undefined) network.ipv6SubnetMin = conf.ipv6SubnetMin;
    if (conf.ipv6SubnetMax !== undefined) network.ipv6SubnetMax = conf.ipv6SubnetMax;
  }
  return network;
}

function fromIssue(issue: z.core.$ZodIssue, input: unknown, source: string): ConfigError {
  if (issue.code === 'unrecognized_keys') {
    const [first, ...rest] = issue.keys;
    const field = fieldName([...issue.path, first ?? '?']);
    const also = rest.length > 0 ? ` (also unknown: ${rest.join(', ')})` : '';
    return new ConfigError(field, valueAt(input, [...issue.path, first ?? '']), issue.message, { source, problem: `an unknown key${also}` });
  }
  const field = issue.path.length === 0 ? '(document)' : fieldName(issue.path);
  return new ConfigError(field, valueAt(input, issue.path), issue.message, { source });
}

/** "Backend.VNI"; a key that is empty or would not read as one path part is quoted ("Backend.\"a.b\""). */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((k) => (typeof k === 'string' && !/^[\w-]+$/.test(k) ? JSON.stringify(k) : String(k))).join('.');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let here: unknown = input;
  for (const key of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

function build(raw: RawNetConf, source: string): NetConf {
  const fail = (field: string, value: unknown, expected: string, problem?: string): never => {
    throw new ConfigError(field, value, expected, problem === undefined ? { source } : { source, problem });
  };

  if (raw.EnableIPv4 === false) fail('EnableIPv4', false, 'true (IPv6-only clusters are not supported yet)');
  if (raw.Network === undefined) fail('Network', undefined, IPV4_PREFIX);
  const v4 = plan(raw.Network!, 4, raw.SubnetLen, raw.SubnetMin, raw.SubnetMax, { network: 'Network', len: 'SubnetLen', min: 'SubnetMin', max: 'SubnetMax' }, fail);

  // Dual stack is on when IPv6Network is given, unless EnableIPv6 says false (flannel needs both;
  // the issue asks for "with IPv6Network configured": the explicit false keeps flannel's off switch).
  const enableIPv6 = raw.EnableIPv6 ?? raw.IPv6Network !== undefined;
  if (enableIPv6 && raw.IPv6Network === undefined) fail('IPv6Network', undefined, `${IPV6_PREFIX} (EnableIPv6 is true)`);
  const conf: NetConf = {
    enableIPv4: true,
    enableIPv6,
    network: v4.network,
    subnetLen: v4.subnetLen,
    subnetMin: v4.subnetMin,
    subnetMax: v4.subnetMax,
    backend: buildBackend(raw.Backend, enableIPv6, fail),
  };
  if (enableIPv6) {
    const v6 = plan(raw.IPv6Network!, 6, raw.IPv6SubnetLen, raw.IPv6SubnetMin, raw.IPv6SubnetMax, { network: 'IPv6Network', len: 'IPv6SubnetLen', min: 'IPv6SubnetMin', max: 'IPv6SubnetMax' }, fail);
    conf.ipv6Network = v6.network;
    conf.ipv6SubnetLen = v6.subnetLen;
    conf.ipv6SubnetMin = v6.subnetMin;
    conf.ipv6SubnetMax = v6.subnetMax;
  }
  return conf;
}

type Fail = (field: string, value: unknown, expected: string, problem?: string) => never;

interface Plan {
  network: string;
  subnetLen: number;
  subnetMin: string;
  subnetMax: string;
}

/** flannel's CheckNetworkConfig for one family: network size, SubnetLen, SubnetMin/Max. */
function plan(
  networkText: string,
  family: Family,
  subnetLenIn: number | undefined,
  minText: string | undefined,
  maxText: string | undefined,
  names: { network: string; len: string; min: string; max: string },
  fail: Fail,
): Plan {
  const bits = family === 4 ? 32 : 128;
  // Smallest useful network: four subnets of four addresses (/28; /124 for IPv6), as flannel.
  const smallest = bits - 4;
  const expectedNetwork = family === 4 ? IPV4_PREFIX : IPV6_PREFIX;
  let prefixLen: number;
  let start: bigint;
  try {
    const cidr = parseCidr(networkText);
    if (cidr.family !== family) throw new Error('wrong family');
    const range = rangeOf(networkText);
    prefixLen = range.prefixLen;
    start = range.start;
  } catch {
    return fail(names.network, networkText, expectedNetwork);
  }
  if (prefixLen > smallest) fail(names.network, networkText, expectedNetwork);
  const network = `${bigIntToIp(start, family)}/${prefixLen}`;

  // Default: a /24 (/64) per node when the network has room for four, else a quarter of it.
  const roomy = family === 4 ? 24 : 64;
  const subnetLen = subnetLenIn ?? (prefixLen <= roomy - 2 ? roomy : prefixLen + 2);
  const longest = bits - 2; // a subnet must hold the bridge, the tunnel /32 and a pod
  if (subnetLen < prefixLen + 2 || subnetLen > longest) {
    fail(names.len, subnetLen, `an integer from ${prefixLen + 2} to ${longest} (${names.network} ${network} must hold at least four subnets)`);
  }
  const size = sizeOf(subnetLen, family);
  const end = start + sizeOf(prefixLen, family) - 1n;
  const bound = (field: string, value: string | undefined, fallback: bigint): bigint => {
    if (value === undefined) return fallback;
    const expected = `an IPv${family} address inside ${network} on a /${subnetLen} boundary`;
    let address: string;
    try {
      // flannel writes plain addresses; a prefix is accepted for its address.
      const parsed = value.includes('/') ? parseCidr(value) : parseIp(value);
      if (parsed.family !== family) throw new Error('wrong family');
      address = parsed.address;
    } catch {
      return fail(field, value, expected);
    }
    const n = ipToBigInt(address);
    if (n < start || n > end || !isAligned(address, subnetLen, family)) fail(field, value, expected);
    return n;
  };
  // flannel's defaults: skip the first subnet (its network address is the cluster network's), up to the last.
  const min = bound(names.min, minText, start + size);
  const max = bound(names.max, maxText, end + 1n - size);
  if (min > max) fail(names.max, maxText ?? bigIntToIp(max, family), `an IPv${family} address not below ${names.min} ${bigIntToIp(min, family)}`);
  return { network, subnetLen, subnetMin: `${bigIntToIp(min, family)}/${subnetLen}`, subnetMax: `${bigIntToIp(max, family)}/${subnetLen}` };
}

function buildBackend(raw: RawNetConf['Backend'], dualStack: boolean, fail: Fail): BackendConf {
  // flannel defaults a missing Backend to "udp", which weft does not have: vxlan is the default.
  const b = raw ?? { Type: 'vxlan' as const };
  if (dualStack && b.MTU !== undefined && b.MTU < 1280) fail('Backend.MTU', b.MTU, 'an integer 1280–65535 (IPv6 needs at least 1280)');
  if (b.RouterID !== undefined) {
    try {
      if (parseIp(b.RouterID).family !== 4) throw new Error('not IPv4');
    } catch {
      fail('Backend.RouterID', b.RouterID, 'an IPv4 address');
    }
  }
  const vxlan: VxlanConf = {
    vni: b.VNI ?? DEFAULT_VXLAN_VNI,
    port: b.Port ?? DEFAULT_VXLAN_PORT,
    gbp: b.GBP ?? false,
    directRouting: b.DirectRouting ?? false,
  };
  if (b.MTU !== undefined) vxlan.mtu = b.MTU;
  const bgp: BgpConf = {
    asn: b.ASN ?? DEFAULT_BGP_ASN,
    nodeMesh: b.NodeMesh ?? true,
    listenPort: b.ListenPort ?? DEFAULT_BGP_PORT,
    peers: b.Peers ?? [],
    communities: b.Communities ?? [],
  };
  if (b.RouterID !== undefined) bgp.routerID = b.RouterID;
  if (b.RouteReflector !== undefined) bgp.routeReflector = b.RouteReflector;
  if (b.GracefulRestart !== undefined) bgp.gracefulRestart = b.GracefulRestart;
  if (b.CrossSubnet !== undefined) bgp.crossSubnet = b.CrossSubnet;
  return { type: b.Type, vxlan, bgp };
}
