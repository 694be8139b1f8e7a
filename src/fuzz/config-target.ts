// Fuzz target: configuration parsing — net-conf.json (src/config/netconf.ts), the daemon's flags
// and environment (src/config/daemon-config.ts, net-conf read through it), and the BGP backend's
// options (modes/bgp/options.ts resolveBgpOptions, with this node's own flag/annotation settings).
// The oracle: invalid input throws a ConfigError naming a field, in one line — never another
// exception; valid net-conf.json obeys the address plan (SubnetMin ≤ SubnetMax, both aligned
// inside Network) and, written back as net-conf.json, parses to the same configuration.
import { isDeepStrictEqual } from 'node:util';
import { resolveBgpOptions } from '../../modes/bgp/options.js';
import { resolveDaemonConfig } from '../config/daemon-config.js';
import { ConfigError } from '../config/errors.js';
import { parseNetConf, parseNetConfText, type NetConf } from '../config/netconf.js';
import { bigIntToIp, rangeOf } from '../net/prefix-math.js';
import type { Rng } from './rng.js';
import { describeThrown, type Failure, type FuzzTarget } from './target.js';
import { mutateJson, mutateString, NASTY_STRINGS, randomJson, type Json } from './values.js';

export type ConfigCase =
  | { kind: 'netconf'; text: string; node?: { asn?: Json; peers?: Json; routeReflector?: Json } }
  | { kind: 'daemon'; opts: { [flag: string]: Json }; env: { [name: string]: string }; files: { [path: string]: string }; hostname?: string };

const NETCONF_SEEDS: Json[] = [
  { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } },
  { Network: '10.244.0.0/16', SubnetLen: 25, SubnetMin: '10.244.1.0', SubnetMax: '10.244.200.128', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789, MTU: 1450, GBP: true, DirectRouting: true, Learning: false, MacPrefix: '0E-2A' } },
  { Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', IPv6SubnetLen: 64, IPv6SubnetMin: 'fd00:10:244:1::', IPv6SubnetMax: 'fd00:10:244:ff::', EnableNFTables: true, Backend: { Type: 'vxlan', MTU: 1400 } },
  { Network: '10.0.0.0/28', SubnetLen: 30 },
  {
    Network: '10.244.0.0/16',
    Backend: {
      Type: 'bgp',
      ASN: 64512,
      NodeMesh: false,
      ListenPort: 1179,
      RouterID: '192.0.2.1',
      RouteReflector: false,
      Peers: [
        { Address: '192.0.2.254', ASN: 65000, Port: 179, Password: 'secret', Passive: false, HoldTime: 90, Import: ['0.0.0.0/0', '192.0.2.0/24 ge 24 le 32'] },
        { Address: '2001:db8::1', PasswordEnv: 'TOR_PASSWORD' },
        { Address: '192.0.2.253', PasswordFile: '/etc/weft-bgp/tor' },
      ],
      GracefulRestart: { Enabled: true, RestartTime: 120 },
      Communities: ['64512:100', 'no-export'],
    },
  },
];

const FLAG_ATTRS = ['backend', 'nodeName', 'registry', 'kubeconfig', 'kubeAnnotationPrefix', 'etcdEndpoints', 'etcdPrefix', 'netConf', 'iface', 'ifaceRegex', 'publicIp', 'publicIpv6', 'subnetFile', 'cniConfDir', 'ipMasq', 'healthAddr', 'resync', 'logLevel'];
const envName = (attr: string): string => `WEFT_${attr.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
const STRINGS = [
  ...NASTY_STRINGS,
  'n1', 'node-1.example', 'weft.io/', 'flannel.alpha.coreos.com/', '/weft/network', '/etc/weft/net-conf.json', '/run/weft/subnet.env', 'eth0', 'eth0,eth1', '^10\\.', '10\\.0\\.{1,2}', 'a{1,3},b',
  '192.0.2.1', '2001:db8::1', '127.0.0.1:9420', '[::1]:9420', ':9420', '10s', '1m30s', '500ms', 'info', 'debug', 'vxlan', 'bgp', 'kube', 'etcd', 'http://127.0.0.1:2379,https://10.0.0.1:2379',
  '10.244.0.0/16', 'fd00:10:244::/56', '64512:100', 'no-export', '0.0.0.0/0 ge 8 le 24', 'deny 10.0.0.0/8 le 32', '65000', '4200000000', '23456', 'TOR_PASSWORD', '/etc/weft-bgp/tor',
];
const NETCONF_KEYS = ['Network', 'SubnetLen', 'SubnetMin', 'SubnetMax', 'EnableIPv4', 'EnableIPv6', 'IPv6Network', 'IPv6SubnetLen', 'IPv6SubnetMin', 'IPv6SubnetMax', 'EnableNFTables', 'Backend', 'Type', 'VNI', 'Port', 'MTU', 'GBP', 'DirectRouting', 'Learning', 'MacPrefix', 'ASN', 'NodeMesh', 'ListenPort', 'RouterID', 'RouteReflector', 'Peers', 'GracefulRestart', 'Communities', 'CrossSubnet', 'Address', 'Password', 'PasswordFile', 'PasswordEnv', 'Passive', 'HoldTime', 'Import', 'Enabled', 'RestartTime', 'BFD', 'Multihop', 'MaxPrefixes'];

/** What readFile and the secrets see: a few files; anything else is missing (ENOENT). */
const FILES: { [path: string]: string } = { '/etc/weft-bgp/tor': 'from-a-secret\n', '/etc/weft/net-conf.json': JSON.stringify(NETCONF_SEEDS[0]) };
const SECRET_ENV: { [name: string]: string } = { TOR_PASSWORD: 'from-env', EMPTY: '' };

function readFrom(files: { [path: string]: string }): (path: string) => string {
  return (path) => {
    const text = Object.prototype.hasOwnProperty.call(files, path) ? files[path] : undefined;
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    return text;
  };
}

function generate(rng: Rng, pool: readonly ConfigCase[]): ConfigCase {
  if (rng.chance(0.25)) return generateDaemon(rng, pool.filter((c) => c.kind === 'daemon'));
  const bases = pool.filter((c) => c.kind === 'netconf');
  let doc: Json;
  const base = bases.length > 0 && rng.chance(0.3) ? rng.pick(bases) : undefined;
  try {
    doc = base !== undefined ? (JSON.parse(base.text) as Json) : structuredClone(rng.pick(NETCONF_SEEDS));
  } catch {
    doc = base?.text ?? null;
  }
  for (let n = 1 + rng.small(4); n > 0; n--) doc = mutateJson(rng, doc, STRINGS, NETCONF_KEYS);
  let text = JSON.stringify(doc);
  if (rng.chance(0.08)) text = mutateString(rng, text, STRINGS);
  const c: ConfigCase = { kind: 'netconf', text };
  if (rng.chance(0.25)) {
    c.node = {};
    if (rng.chance(0.5)) c.node.asn = rng.chance(0.5) ? rng.pick(['65001', '4200000000', ' 65001 ', '0', '23456', 'x']) : randomJson(rng);
    if (rng.chance(0.6)) c.node.peers = rng.chance(0.6) ? mutateString(rng, '[{"Address":"192.0.2.9","ASN":65009,"PasswordEnv":"TOR_PASSWORD"}]', STRINGS) : randomJson(rng);
    if (rng.chance(0.4)) c.node.routeReflector = rng.pick<Json>(['true', 'false', '10.0.0.1', 'router-id', '', true, 1, null, { ClusterID: '1.2.3.4' }]);
  }
  return c;
}

function generateDaemon(rng: Rng, pool: readonly ConfigCase[]): ConfigCase {
  const base = pool.length > 0 && rng.chance(0.4) ? (structuredClone(rng.pick(pool)) as ConfigCase & { kind: 'daemon' }) : undefined;
  const c = base ?? { kind: 'daemon' as const, opts: {}, env: { NODE_NAME: 'n1' }, files: { ...FILES } };
  for (let n = 1 + rng.small(5); n > 0; n--) {
    const attr = rng.pick(FLAG_ATTRS);
    const value = (): string => (rng.chance(0.6) ? mutateString(rng, rng.pick(STRINGS), STRINGS) : rng.pick(STRINGS));
    switch (rng.below(6)) {
      case 0:
      case 1:
        c.opts[attr] = attr === 'iface' || attr === 'ifaceRegex' ? Array.from({ length: 1 + rng.small(3) }, value) : attr === 'ipMasq' ? rng.chance(0.5) : value();
        break;
      case 2:
        c.env[envName(attr)] = value();
        break;
      case 3:
        c.opts[attr] = randomJson(rng);
        break;
      case 4: {
        const path = rng.pick(['/etc/weft/net-conf.json', typeof c.opts.netConf === 'string' ? c.opts.netConf : '/x']);
        const old = Object.prototype.hasOwnProperty.call(c.files, path) ? c.files[path] : undefined;
        c.files[path] = mutateString(rng, old ?? JSON.stringify(rng.pick(NETCONF_SEEDS)), STRINGS);
        break;
      }
      default:
        if (rng.chance(0.5)) c.env[rng.pick(['NODE_NAME', 'KUBERNETES_SERVICE_HOST'])] = value();
        else c.hostname = value();
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------- the oracle

class PropertyBroken extends Error {
  override name = 'PropertyBroken';
}

function expectConfigError(e: unknown): void {
  if (!(e instanceof ConfigError)) throw e;
  if (typeof e.field !== 'string' || e.field === '') throw new PropertyBroken(`ConfigError without a field: ${e.message}`);
  if (/[\r\n]/.test(e.message)) throw new PropertyBroken(`ConfigError message is not one line: ${JSON.stringify(e.message.slice(0, 200))}`);
}

/** net-conf.json text that says exactly `conf` (the inverse of parseNetConf on its output). */
export function netConfDocument(conf: NetConf): Json {
  const addr = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';
  const b = conf.backend;
  const backend: { [k: string]: Json } = {
    Type: b.type,
    VNI: b.vxlan.vni,
    Port: b.vxlan.port,
    GBP: b.vxlan.gbp,
    DirectRouting: b.vxlan.directRouting,
    ASN: b.bgp.asn,
    NodeMesh: b.bgp.nodeMesh,
    ListenPort: b.bgp.listenPort,
    Peers: b.bgp.peers as Json,
    Communities: b.bgp.communities,
  };
  if (b.vxlan.mtu !== undefined) backend.MTU = b.vxlan.mtu;
  if (b.bgp.routerID !== undefined) backend.RouterID = b.bgp.routerID;
  if (b.bgp.routeReflector !== undefined) backend.RouteReflector = b.bgp.routeReflector as Json;
  if (b.bgp.gracefulRestart !== undefined) backend.GracefulRestart = b.bgp.gracefulRestart as Json;
  if (b.bgp.crossSubnet !== undefined) backend.CrossSubnet = b.bgp.crossSubnet;
  const doc: { [k: string]: Json } = { Network: conf.network, SubnetLen: conf.subnetLen, SubnetMin: addr(conf.subnetMin), SubnetMax: addr(conf.subnetMax), EnableIPv6: conf.enableIPv6, Backend: backend };
  if (conf.enableIPv6) {
    doc.IPv6Network = conf.ipv6Network ?? '';
    doc.IPv6SubnetLen = conf.ipv6SubnetLen ?? 0;
    doc.IPv6SubnetMin = addr(conf.ipv6SubnetMin);
    doc.IPv6SubnetMax = addr(conf.ipv6SubnetMax);
  }
  return doc;
}

function checkPlan(network: string, len: number, min: string, max: string, what: string): void {
  const net = rangeOf(network);
  const lo = rangeOf(min);
  const hi = rangeOf(max);
  if (len <= net.prefixLen || lo.prefixLen !== len || hi.prefixLen !== len) throw new PropertyBroken(`${what}: subnet length ${len} does not fit ${network} (${min}, ${max})`);
  if (lo.start > hi.start || lo.start < net.start || hi.end > net.end) throw new PropertyBroken(`${what}: ${min}..${max} not an ordered range inside ${network}`);
  for (const [text, r] of [[min, lo], [max, hi]] as const) {
    if (text !== `${bigIntToIp(r.start, r.family)}/${len}`) throw new PropertyBroken(`${what}: ${text} is not a canonical, aligned subnet`);
  }
}

function checkNetConf(c: ConfigCase & { kind: 'netconf' }): void {
  let conf: NetConf;
  try {
    conf = parseNetConfText(c.text);
  } catch (e) {
    expectConfigError(e);
    return;
  }
  checkPlan(conf.network, conf.subnetLen, conf.subnetMin, conf.subnetMax, 'IPv4');
  if (conf.enableIPv6) checkPlan(conf.ipv6Network ?? '', conf.ipv6SubnetLen ?? 0, conf.ipv6SubnetMin ?? '', conf.ipv6SubnetMax ?? '', 'IPv6');
  const again = parseNetConf(JSON.parse(JSON.stringify(netConfDocument(conf))) as unknown);
  if (!isDeepStrictEqual(again, conf)) throw new PropertyBroken('net-conf.json written back from the parsed configuration parses differently');
  const networks = conf.enableIPv6 && conf.ipv6Network !== undefined ? [conf.network, conf.ipv6Network] : [conf.network];
  try {
    const node = c.node === undefined ? undefined : { ...c.node, origins: { asn: '--bgp-asn', peers: '--bgp-peers', routeReflector: '--bgp-route-reflector' }, allowInlinePassword: false };
    resolveBgpOptions(conf.backend.bgp, networks, node, { env: SECRET_ENV, readFile: readFrom(FILES) });
  } catch (e) {
    expectConfigError(e);
  }
}

function checkDaemon(c: ConfigCase & { kind: 'daemon' }): void {
  try {
    resolveDaemonConfig(c.opts, c.env, readFrom(c.files), c.hostname === undefined ? {} : { hostname: c.hostname });
  } catch (e) {
    expectConfigError(e);
  }
}

export function checkConfigCaseOrThrow(c: ConfigCase): void {
  if (c.kind === 'netconf') checkNetConf(c);
  else checkDaemon(c);
}

export function checkConfigCase(c: ConfigCase): Failure | undefined {
  try {
    checkConfigCaseOrThrow(c);
    return undefined;
  } catch (e) {
    return { kind: 'crash', reason: describeThrown(e) };
  }
}

export function configTarget(): FuzzTarget<ConfigCase> {
  return {
    name: 'config',
    ext: 'json',
    seeds: () => [
      ...NETCONF_SEEDS.map((d): ConfigCase => ({ kind: 'netconf', text: JSON.stringify(d) })),
      { kind: 'netconf', text: JSON.stringify(NETCONF_SEEDS[4]), node: { asn: '65001', peers: '[{"Address":"192.0.2.9","PasswordFile":"/etc/weft-bgp/tor"}]', routeReflector: 'true' } },
      { kind: 'daemon', opts: { nodeName: 'n1', registry: 'kube', iface: ['eth0'], resync: '30s' }, env: { WEFT_HEALTH_ADDR: '[::1]:9420' }, files: { ...FILES } },
      { kind: 'daemon', opts: {}, env: { NODE_NAME: 'n1', WEFT_REGISTRY: 'etcd', WEFT_ETCD_ENDPOINTS: 'http://127.0.0.1:2379', WEFT_IFACE_REGEX: '^10\\.,eth{1,2}', WEFT_IP_MASQ: 'yes' }, files: {} },
    ],
    generate,
    check: checkConfigCase,
    serialize: (c, note) => `${JSON.stringify(note === undefined ? c : { note, ...c }, null, 1)}\n`,
    parse(text: string): ConfigCase {
      const { note: _note, ...c } = JSON.parse(text) as ConfigCase & { note?: string };
      return c;
    },
  };
}
