// The daemon's flags as one validated DaemonConfig value. Every flag can also be set in the
// environment as WEFT_<NAME> (--node-name ↔ WEFT_NODE_NAME); a flag on the command line wins over
// the environment, which wins over the default. An invalid value stops start-up with one ConfigError
// naming the flag and what it accepts.
//
// Two pieces, so the rules can be tested without a process:
//   addDaemonOptions(cmd)                         declares the flags on a commander Command, raw
//                                                 (no commander defaults or env: precedence is ours)
//   resolveDaemonConfig(opts, env, readFile, …)   pure: flags + environment + net-conf.json → config
//
// Choices (flannel compatibility where it has an answer):
//   --registry   default kube when running in a cluster (KUBERNETES_SERVICE_HOST set) or when a
//                kubeconfig is given, else etcd — flannel's default is etcd unless told
//                --kube-subnet-mgr; a pod in a cluster should not need to say so.
//   --node-name  else NODE_NAME (flannel's downward-API variable), else the host name.
//   --net-conf   with kube, default /etc/weft/net-conf.json (the ConfigMap mount); with etcd, none:
//                the daemon reads <etcd-prefix>/config and calls parseNetConf itself.
//
// Not here: starting anything, reading etcd, looking at interfaces (src/net/iface.ts), and the
// grammar of individual values (durations, host:port: flag-values.ts).
import type { Command } from 'commander';
import { Option } from 'commander';
import { parseIp } from '../net/addr.js';
import { BACKEND_TYPES, type BackendType } from '../registry/types.js';
import { ConfigError } from './errors.js';
import { parseDuration, parseHostPort, splitRegexList, type FailWith, type HostPort } from './flag-values.js';
import { parseNetConf, parseNetConfText, withBackendType, type NetConf } from './netconf.js';

export type { HostPort } from './flag-values.js';

export type RegistryKind = 'kube' | 'etcd';
export const REGISTRY_KINDS: readonly RegistryKind[] = ['kube', 'etcd'];
export const DAEMON_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const DEFAULTS = {
  kubeAnnotationPrefix: 'weft.io/',
  etcdEndpoints: ['http://127.0.0.1:2379'],
  etcdPrefix: '/weft/network',
  kubeNetConf: '/etc/weft/net-conf.json',
  subnetFile: '/run/weft/subnet.env',
  cniConfDir: '/etc/cni/net.d',
  healthAddr: '127.0.0.1:9420', // keep in step with resolveDaemonConfig's fallback
  resync: '10s', // idem
  logLevel: 'info',
} as const;

export interface DaemonConfig {
  nodeName: string;
  registry: RegistryKind;
  kubeconfig?: string;
  kubeAnnotationPrefix: string;
  etcdEndpoints: string[];
  /** Without a trailing slash. */
  etcdPrefix: string;
  /** --backend, when given: already applied to netConf; kept for a net-conf read from etcd later. */
  backendOverride?: BackendType;
  netConfPath?: string;
  /** Parsed net-conf.json; undefined only with the etcd registry and no --net-conf (read it from etcd). */
  netConf?: NetConf;
  /** --iface entries (names or IPs), in order. */
  iface: string[];
  /** --iface-regex patterns, in order (each checked to compile). */
  ifaceRegex: string[];
  publicIP?: string;
  publicIPv6?: string;
  subnetFile: string;
  cniConfDir: string;
  ipMasq: boolean;
  healthAddr: HostPort;
  resyncMs: number;
  logLevel: string;
  /** --bgp-asn / --bgp-peers / --bgp-route-reflector as given (the BGP backend checks them). */
  bgpNode?: BgpNodeFlags;
}

/** This node's own BGP settings from flags or environment, raw, with the name each came by. */
export interface BgpNodeFlags {
  asn?: string;
  peers?: string;
  routeReflector?: string;
  origins: { asn: string; peers: string; routeReflector: string };
}

/** The flags, by commander attribute name. */
interface FlagSpec {
  flags: string;
  attr: string;
  env: string;
  help: string;
  repeatable?: boolean;
  boolean?: boolean;
}

const FLAGS: FlagSpec[] = [
  { flags: '--backend <type>', attr: 'backend', env: 'WEFT_BACKEND', help: 'datapath: vxlan or bgp (overrides Backend.Type of net-conf.json)' },
  { flags: '--node-name <name>', attr: 'nodeName', env: 'WEFT_NODE_NAME', help: 'this node\'s name (default: NODE_NAME, else the host name)' },
  { flags: '--registry <kind>', attr: 'registry', env: 'WEFT_REGISTRY', help: 'where nodes are registered: kube or etcd (default: kube inside a cluster or with --kubeconfig, else etcd)' },
  { flags: '--kubeconfig <path>', attr: 'kubeconfig', env: 'WEFT_KUBECONFIG', help: 'kubeconfig file (default: in-cluster configuration)' },
  { flags: '--kube-annotation-prefix <prefix>', attr: 'kubeAnnotationPrefix', env: 'WEFT_KUBE_ANNOTATION_PREFIX', help: `node annotation prefix (default: ${DEFAULTS.kubeAnnotationPrefix})` },
  { flags: '--etcd-endpoints <urls>', attr: 'etcdEndpoints', env: 'WEFT_ETCD_ENDPOINTS', help: `comma-separated etcd URLs (default: ${DEFAULTS.etcdEndpoints.join(',')})` },
  { flags: '--etcd-prefix <key>', attr: 'etcdPrefix', env: 'WEFT_ETCD_PREFIX', help: `etcd key prefix (default: ${DEFAULTS.etcdPrefix})` },
  { flags: '--net-conf <path>', attr: 'netConf', env: 'WEFT_NET_CONF', help: `flannel-compatible net-conf.json (default with kube: ${DEFAULTS.kubeNetConf}; with etcd: <etcd-prefix>/config)` },
  { flags: '--iface <name-or-ip>', attr: 'iface', env: 'WEFT_IFACE', help: 'underlay interface by name or address; repeatable, tried in order (env: comma-separated)', repeatable: true },
  { flags: '--iface-regex <pattern>', attr: 'ifaceRegex', env: 'WEFT_IFACE_REGEX', help: 'regular expression matched against interface addresses, then names; repeatable (env: comma-separated)', repeatable: true },
  { flags: '--public-ip <ip>', attr: 'publicIp', env: 'WEFT_PUBLIC_IP', help: 'IPv4 address to publish instead of the underlay interface\'s' },
  { flags: '--public-ipv6 <ip>', attr: 'publicIpv6', env: 'WEFT_PUBLIC_IPV6', help: 'IPv6 address to publish instead of the underlay interface\'s' },
  { flags: '--subnet-file <path>', attr: 'subnetFile', env: 'WEFT_SUBNET_FILE', help: `flannel-style subnet.env written for CNI (default: ${DEFAULTS.subnetFile})` },
  { flags: '--cni-conf-dir <dir>', attr: 'cniConfDir', env: 'WEFT_CNI_CONF_DIR', help: `where 10-weft.conflist is written (default: ${DEFAULTS.cniConfDir})` },
  { flags: '--ip-masq', attr: 'ipMasq', env: 'WEFT_IP_MASQ', help: 'masquerade pod traffic leaving the cluster network (nftables)', boolean: true },
  { flags: '--health-addr <host:port>', attr: 'healthAddr', env: 'WEFT_HEALTH_ADDR', help: `HTTP address for /healthz, /readyz, /metrics, /status (default: ${DEFAULTS.healthAddr})` },
  { flags: '--resync <duration>', attr: 'resync', env: 'WEFT_RESYNC', help: `period of the full reconcile, e.g. 10s, 1m (default: ${DEFAULTS.resync})` },
  { flags: '--bgp-asn <asn>', attr: 'bgpAsn', env: 'WEFT_BGP_ASN', help: 'this node\'s AS number with --backend=bgp (overrides Backend.ASN; for racks with their own ToR)' },
  { flags: '--bgp-peers <json>', attr: 'bgpPeers', env: 'WEFT_BGP_PEERS', help: 'this node\'s BGP peers, a JSON list with the fields of Backend.Peers (added to them; the same Address replaces the cluster-wide entry)' },
  { flags: '--bgp-route-reflector <cluster-id>', attr: 'bgpRouteReflector', env: 'WEFT_BGP_ROUTE_REFLECTOR', help: 'this node reflects BGP routes for the others (RFC 4456) with this cluster ID, e.g. 1.0.0.1' },
  { flags: '--log-level <level>', attr: 'logLevel', env: 'WEFT_LOG_LEVEL', help: `log verbosity: ${DAEMON_LOG_LEVELS.join(', ')} (default: ${DEFAULTS.logLevel})` },
];

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Declares the daemon's flags on `cmd`. --log-level is skipped when an ancestor command already
 * declares it (commander would hand it to the ancestor anyway): pass `cmd.optsWithGlobals()`.
 */
export function addDaemonOptions(cmd: Command): Command {
  for (const spec of FLAGS) {
    if (spec.attr === 'logLevel' && hasAncestorOption(cmd, '--log-level')) continue;
    const option = new Option(spec.flags, `${spec.help} [env ${spec.env}]`);
    if (spec.repeatable) option.argParser(collect);
    cmd.addOption(option);
  }
  return cmd;
}

function hasAncestorOption(cmd: Command, long: string): boolean {
  for (let c = cmd.parent; c; c = c.parent) if (c.options.some((o) => o.long === long)) return true;
  return false;
}

/** Reads a file as UTF-8 text (node:fs readFileSync in production). */
export type ReadTextFile = (path: string) => string;

export interface ResolveOptions {
  /** Fallback node name (os.hostname()). */
  hostname?: string;
}

/**
 * Validates flags (`opts`, as commander parsed them) and the environment into a DaemonConfig,
 * reading net-conf.json through `readFile`. Throws ConfigError, naming the flag, on the first bad value.
 */
export function resolveDaemonConfig(
  opts: Record<string, unknown>,
  env: Record<string, string | undefined>,
  readFile: ReadTextFile,
  options: ResolveOptions = {},
): DaemonConfig {
  const source = new Sources(opts, env);

  const backendOverride = source.choice('backend', BACKEND_TYPES);
  const kubeconfig = source.path('kubeconfig');
  const registry =
    source.choice('registry', REGISTRY_KINDS) ?? (env.KUBERNETES_SERVICE_HOST || kubeconfig !== undefined ? 'kube' : 'etcd');

  const nodeName = resolveNodeName(source, env, options.hostname);
  const kubeAnnotationPrefix = source.get('kubeAnnotationPrefix', (v, fail) => {
    // <DNS subdomain>/ — the prefix part of a Kubernetes annotation key.
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/$/.test(v)) fail('a DNS subdomain followed by "/", like weft.io/');
    return v;
  }) ?? DEFAULTS.kubeAnnotationPrefix;

  const etcdEndpoints = source.get('etcdEndpoints', (v, fail) => {
    const urls = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
    const expected = 'comma-separated http:// or https:// URLs with host and port, like http://127.0.0.1:2379';
    if (urls.length === 0) fail(expected);
    for (const u of urls) {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        return fail(expected);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) fail(expected);
    }
    return urls;
  }) ?? [...DEFAULTS.etcdEndpoints];

  const etcdPrefix = source.get('etcdPrefix', (v, fail) => {
    if (!/^\/[\x21-\x7e]*$/.test(v) || v.includes('//')) fail('an etcd key prefix starting with "/", like /weft/network');
    return v.length > 1 ? v.replace(/\/+$/, '') : v;
  }) ?? DEFAULTS.etcdPrefix;

  const iface = source.list('iface', (v, fail) => {
    // A name (at most 15 bytes, no "/" or whitespace) or an address.
    if (v.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(v)) {
      try {
        return parseIp(v).address;
      } catch {
        return fail('an interface name (1–15 characters) or an IP address');
      }
    }
    if (!/^[^\s/:]{1,15}$/.test(v)) fail('an interface name (1–15 characters) or an IP address');
    return v;
  });
  const ifaceRegex = source.list('ifaceRegex', (v, fail) => {
    try {
      new RegExp(v);
    } catch (error) {
      return fail(`a valid regular expression (${(error as Error).message})`);
    }
    return v;
  }, splitRegexList);

  const publicIP = source.get('publicIp', (v, fail) => ipOfFamily(v, 4, fail));
  const publicIPv6 = source.get('publicIpv6', (v, fail) => ipOfFamily(v, 6, fail));
  const subnetFile = source.path('subnetFile') ?? DEFAULTS.subnetFile;
  const cniConfDir = source.path('cniConfDir') ?? DEFAULTS.cniConfDir;
  const ipMasq = source.boolean('ipMasq') ?? false;
  const healthAddr = source.get('healthAddr', (v, fail) => parseHostPort(v, fail)) ?? { host: '127.0.0.1', port: 9420 };
  const resyncMs = source.get('resync', (v, fail) => parseDuration(v, fail)) ?? 10_000;
  const logLevel = source.choice('logLevel', DAEMON_LOG_LEVELS) ?? DEFAULTS.logLevel;
  const bgpNode = resolveBgpNodeFlags(source);

  const netConfPath = source.path('netConf') ?? (registry === 'kube' ? DEFAULTS.kubeNetConf : undefined);
  let netConf: NetConf | undefined;
  if (netConfPath !== undefined) {
    let text: string;
    try {
      text = readFile(netConfPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigError('--net-conf', netConfPath, 'a readable net-conf.json file', { problem: `${JSON.stringify(netConfPath)} (${code})`, ...source.originOf('netConf') });
    }
    netConf = parseNetConfText(text, { source: netConfPath });
    if (backendOverride !== undefined) netConf = withBackendType(netConf, backendOverride);
  }

  const config: DaemonConfig = {
    nodeName,
    registry,
    kubeAnnotationPrefix,
    etcdEndpoints,
    etcdPrefix,
    iface,
    ifaceRegex,
    subnetFile,
    cniConfDir,
    ipMasq,
    healthAddr,
    resyncMs,
    logLevel,
  };
  if (kubeconfig !== undefined) config.kubeconfig = kubeconfig;
  if (backendOverride !== undefined) config.backendOverride = backendOverride;
  if (netConfPath !== undefined) config.netConfPath = netConfPath;
  if (netConf !== undefined) config.netConf = netConf;
  if (publicIP !== undefined) config.publicIP = publicIP;
  if (publicIPv6 !== undefined) config.publicIPv6 = publicIPv6;
  if (bgpNode !== undefined) config.bgpNode = bgpNode;
  return config;
}

/** The per-node BGP flags, kept as text: their grammar belongs to the BGP backend's options. */
function resolveBgpNodeFlags(source: Sources): BgpNodeFlags | undefined {
  const name = (attr: string): string => source.originOf(attr).origin?.replace(/^from /, '') ?? source.flagName(attr);
  const text = (attr: string): string | undefined => source.get(attr, (v) => v);
  const flags: BgpNodeFlags = { origins: { asn: name('bgpAsn'), peers: name('bgpPeers'), routeReflector: name('bgpRouteReflector') } };
  const asn = text('bgpAsn');
  const peers = text('bgpPeers');
  const routeReflector = text('bgpRouteReflector');
  if (asn !== undefined) flags.asn = asn;
  if (peers !== undefined) flags.peers = peers;
  if (routeReflector !== undefined) flags.routeReflector = routeReflector;
  return asn !== undefined || peers !== undefined || routeReflector !== undefined ? flags : undefined;
}

/**
 * The net-conf.json the daemon read from etcd (<etcd-prefix>/config, when no --net-conf was given),
 * checked like the file would be and with --backend applied. Throws ConfigError naming the key.
 */
export function netConfFromRegistry(document: unknown, key: string, config: Pick<DaemonConfig, 'backendOverride'>): NetConf {
  const conf = parseNetConf(document, { source: `etcd ${key}` });
  return config.backendOverride !== undefined ? withBackendType(conf, config.backendOverride) : conf;
}

// ---------------------------------------------------------------------------------------------

/** Where each value comes from: the flag if given, else WEFT_<NAME>, else nothing. */
class Sources {
  constructor(
    private readonly opts: Record<string, unknown>,
    private readonly env: Record<string, string | undefined>,
  ) {}

  private spec(attr: string): FlagSpec {
    const spec = FLAGS.find((f) => f.attr === attr);
    if (!spec) throw new Error(`no such daemon flag: ${attr}`);
    return spec;
  }

  flagName(attr: string): string {
    return this.spec(attr).flags.split(' ')[0]!;
  }

  /** The raw value and where it came from, or undefined. */
  raw(attr: string): { value: unknown; fromEnv: boolean } | undefined {
    const value = this.opts[attr];
    if (value !== undefined) return { value, fromEnv: false };
    const text = this.env[this.spec(attr).env];
    if (text !== undefined && text !== '') return { value: text, fromEnv: true };
    return undefined;
  }

  originOf(attr: string): { origin?: string } {
    const raw = this.raw(attr);
    return raw?.fromEnv ? { origin: `from ${this.spec(attr).env}` } : {};
  }

  private failer(attr: string, value: unknown): FailWith {
    return (expected) => {
      throw new ConfigError(this.flagName(attr), value, expected, this.originOf(attr));
    };
  }

  /** A single string value, checked by `check`. */
  get<T>(attr: string, check: (value: string, fail: FailWith) => T): T | undefined {
    const raw = this.raw(attr);
    if (raw === undefined) return undefined;
    if (typeof raw.value !== 'string') this.failer(attr, raw.value)('a single value');
    return check(raw.value as string, this.failer(attr, raw.value));
  }

  choice<T extends string>(attr: string, choices: readonly T[]): T | undefined {
    return this.get(attr, (v, fail) => ((choices as readonly string[]).includes(v) ? (v as T) : fail(`one of ${choices.join(', ')}`)));
  }

  path(attr: string): string | undefined {
    return this.get(attr, (v, fail) => (v.includes('\0') ? fail('a file system path') : v));
  }

  boolean(attr: string): boolean | undefined {
    const raw = this.raw(attr);
    if (raw === undefined) return undefined;
    if (typeof raw.value === 'boolean') return raw.value;
    const text = typeof raw.value === 'string' ? raw.value.toLowerCase() : undefined;
    if (text === 'true' || text === '1' || text === 'yes') return true;
    if (text === 'false' || text === '0' || text === 'no') return false;
    return this.failer(attr, raw.value)('true or false (also 1/0, yes/no)');
  }

  /** A repeatable flag (string[] from commander) or its env form (a comma-separated list). */
  list(attr: string, check: (value: string, fail: FailWith) => string, split: (text: string) => string[] = (t) => t.split(',')): string[] {
    const raw = this.raw(attr);
    if (raw === undefined) return [];
    const values = Array.isArray(raw.value) ? raw.value : typeof raw.value === 'string' ? split(raw.value) : [raw.value];
    return values
      .map((v: unknown) => (typeof v === 'string' ? v.trim() : v))
      .filter((v) => v !== '')
      .map((v) => (typeof v === 'string' ? check(v, this.failer(attr, v)) : this.failer(attr, v)('a string')));
  }
}

function resolveNodeName(source: Sources, env: Record<string, string | undefined>, hostname: string | undefined): string {
  const expected = 'a node name: lowercase letters, digits, "-" and ".", at most 253 characters';
  const check = (v: string, fail: FailWith): string => {
    if (v.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)) fail(expected);
    return v;
  };
  const fromFlag = source.get('nodeName', check);
  if (fromFlag !== undefined) return fromFlag;
  for (const [name, value] of [['NODE_NAME', env.NODE_NAME], ['host name', hostname?.toLowerCase()]] as const) {
    if (value !== undefined && value !== '') {
      return check(value, (exp) => {
        throw new ConfigError('--node-name', value, exp, { origin: `from ${name}` });
      });
    }
  }
  throw new ConfigError('--node-name', undefined, `${expected} (--node-name, WEFT_NODE_NAME or NODE_NAME)`);
}

function ipOfFamily(value: string, family: 4 | 6, fail: FailWith): string {
  try {
    const ip = parseIp(value);
    if (ip.family === family) return ip.address;
  } catch {
    // reported below
  }
  return fail(`an IPv${family} address`);
}
