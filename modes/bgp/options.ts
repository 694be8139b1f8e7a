// The BGP backend's options: net-conf.json's `Backend` (Type "bgp") refined from the loosely
// checked BgpConf (src/config/netconf.ts) into typed values, once, at construction, merged with
// this node's own settings (flags --bgp-asn/--bgp-peers/--bgp-route-reflector, or its Kubernetes
// annotations <prefix>bgp-asn/<prefix>bgp-peers/<prefix>bgp-route-reflector) for racks with
// their own ToR. A peer entry that does not make sense is a ConfigError naming the field, so the
// daemon refuses to start instead of running with half a policy.
//
// Secrets: a peer's TCP-MD5 password is given inline (net-conf.json, which is a ConfigMap: fine
// for a lab), or — what production should use — by reference: PasswordFile (a mounted Secret)
// or PasswordEnv (an environment variable filled from a Secret). Annotations may only use the
// references: anyone who can read Nodes can read annotations. Passwords never appear in errors
// or logs (ConfigError shows "(hidden)").
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/config/errors.js';
import type { BgpConf } from '../../src/config/netconf.js';
import { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { parseCommunity, parseLargeCommunity } from '../../src/bgp/policy.js';
import { parseIp } from '../../src/net/addr.js';

export interface ExternalPeer {
  address: string;
  asn: number;
  port?: number;
  password?: string;
  passive?: boolean;
  holdTime?: number;
  keepaliveTime?: number;
  /** eBGP multihop: TTL of our packets (the peer is up to this many hops away). */
  multihop?: number;
  /** RFC 5082 GTSM: the peer is at most this many hops away; packets with a lower TTL are dropped. */
  ttlSecurity?: number;
  /** Run BFD (RFC 5880/5881) with this peer: a dead link takes the session down in < 1 s. */
  bfd: boolean;
  /** Most prefixes this peer may send per family (before policy); beyond: Cease (RFC 4486). */
  maxPrefixes?: number;
  /** Prefixes outside the cluster network this peer may give us ("CIDR[ ge N][ le N]"). */
  importList: string[];
  /** Communities added to what we announce to this peer (on top of Backend.Communities). */
  communities: string[];
  largeCommunities: string[];
  /** Where the entry came from ("net-conf.json", "--bgp-peers", "annotation weft.io/bgp-peers"). */
  origin: string;
}

export interface BgpOptions {
  asn: number;
  nodeMesh: boolean;
  listenPort: number;
  routerId?: string;
  communities: string[];
  peers: ExternalPeer[];
  gracefulRestart: { enabled: boolean; restartTime: number };
  /** This node reflects routes for the other nodes (RFC 4456), with this cluster ID. */
  routeReflector?: { clusterId: string };
  /** Nodes without a BGP route are reached over VXLAN (Calico's CrossSubnet, inverted). */
  crossSubnet?: 'vxlan';
  /** The cluster networks (IPv4, and IPv6 in dual stack): the import policy's "inside". */
  clusterNetworks: string[];
}

/** This node's own BGP settings (flags or annotations), raw: checked here like net-conf's. */
export interface NodeBgpSettings {
  asn?: unknown;
  peers?: unknown;
  routeReflector?: unknown;
  /** Field name prefix for errors, e.g. "--bgp-peers" or "annotation weft.io/bgp-peers". */
  origins: { asn: string; peers: string; routeReflector: string };
  /** Annotations are readable by anyone who reads Nodes: inline passwords are refused there. */
  allowInlinePassword: boolean;
}

/** Where secrets come from: the environment and files (tests pass their own). */
export interface SecretSources {
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
}

const PEER_FIELDS = [
  'Address',
  'ASN',
  'Port',
  'Password',
  'PasswordFile',
  'PasswordEnv',
  'Passive',
  'HoldTime',
  'KeepaliveTime',
  'Multihop',
  'TTLSecurity',
  'BFD',
  'MaxPrefixes',
  'Import',
  'Communities',
  'LargeCommunities',
] as const;
const PEER_FIELD_SET = new Set<string>(PEER_FIELDS);
export const AS_TRANS = 23456;

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** An ASN as net-conf.json or a flag gives it (a number, or digits in a string from a flag/annotation). */
export function parseAsn(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : v;
  if (!isInt(n, 1, 4_294_967_295) || n === AS_TRANS) throw new ConfigError(field, v, `an integer 1–4294967295 other than ${AS_TRANS} (AS_TRANS)`);
  return n;
}

function checkPassword(password: string, field: string): string {
  // Linux TCP_MD5SIG_MAXKEYLEN is 80.
  if (password.length === 0 || Buffer.byteLength(password) > 80) throw new ConfigError(field, '(hidden)', 'a password of 1–80 bytes');
  return password;
}

function resolvePassword(raw: Record<string, unknown>, field: (name: string) => string, allowInline: boolean, secrets: SecretSources): string | undefined {
  const given = (['Password', 'PasswordFile', 'PasswordEnv'] as const).filter((k) => raw[k] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length > 1) throw new ConfigError(field(given[1]!), '(hidden)', `only one of Password, PasswordFile, PasswordEnv (${given[0]} is set too)`);
  if (raw.Password !== undefined) {
    if (!allowInline) throw new ConfigError(field('Password'), '(hidden)', 'PasswordFile or PasswordEnv here (annotations are readable by anyone who can read Nodes: never put a secret in one)');
    if (typeof raw.Password !== 'string') throw new ConfigError(field('Password'), '(hidden)', 'a string of 1–80 bytes');
    return checkPassword(raw.Password, field('Password'));
  }
  if (raw.PasswordFile !== undefined) {
    const path = raw.PasswordFile;
    if (typeof path !== 'string' || !path.startsWith('/')) throw new ConfigError(field('PasswordFile'), path, 'an absolute file path (e.g. a mounted Secret, /etc/weft-bgp/tor)');
    let text: string;
    try {
      text = secrets.readFile(path);
    } catch (err) {
      throw new ConfigError(field('PasswordFile'), path, 'a readable file holding the password', { problem: `${JSON.stringify(path)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
    }
    // A Secret file written by hand often ends in a newline the other router does not have.
    return checkPassword(text.replace(/\r?\n$/, ''), field('PasswordFile'));
  }
  const name = raw.PasswordEnv;
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(field('PasswordEnv'), name, 'an environment variable name');
  // Own properties only: "__proto__" or "constructor" must not reach Object.prototype.
  const value = Object.prototype.hasOwnProperty.call(secrets.env, name) ? secrets.env[name] : undefined;
  if (typeof value !== 'string') throw new ConfigError(field('PasswordEnv'), name, 'the name of a set environment variable', { problem: `${name} (not set)` });
  return checkPassword(value, field('PasswordEnv'));
}

function stringList(v: unknown, field: string, expected: string, check: (s: string) => void): string[] {
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) throw new ConfigError(field, v, expected);
  for (const s of v as string[]) {
    try {
      check(s);
    } catch (err) {
      throw new ConfigError(field, s, `${expected} (${(err as Error).message})`);
    }
  }
  return v as string[];
}

export function parsePeer(raw: unknown, where: string, defaultAsn: number, allowInlinePassword: boolean, secrets: SecretSources, origin: string): ExternalPeer {
  const field = (name: string): string => `${where}.${name}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(where, raw, 'a JSON object like {"Address": "192.0.2.1", "ASN": 65000}');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!PEER_FIELD_SET.has(key)) throw new ConfigError(field(key), key === 'Password' ? '(hidden)' : r[key], `one of the peer fields ${PEER_FIELDS.join(', ')}`);
  const address = r.Address;
  let canonical: string;
  try {
    if (typeof address !== 'string') throw new Error('not a string');
    canonical = parseIp(address).address;
  } catch {
    throw new ConfigError(field('Address'), address, 'an IP address');
  }
  const peer: ExternalPeer = { address: canonical, asn: r.ASN === undefined ? defaultAsn : parseAsn(r.ASN, field('ASN')), bfd: false, importList: [], communities: [], largeCommunities: [], origin };
  if (r.Port !== undefined) {
    if (!isInt(r.Port, 1, 65535)) throw new ConfigError(field('Port'), r.Port, 'an integer 1–65535');
    peer.port = r.Port;
  }
  const password = resolvePassword(r, field, allowInlinePassword, secrets);
  if (password !== undefined) peer.password = password;
  const bool = (name: 'Passive' | 'BFD'): boolean | undefined => {
    if (r[name] === undefined) return undefined;
    if (typeof r[name] !== 'boolean') throw new ConfigError(field(name), r[name], 'true or false');
    return r[name];
  };
  const passive = bool('Passive');
  if (passive !== undefined) peer.passive = passive;
  peer.bfd = bool('BFD') ?? false;
  if (r.HoldTime !== undefined) {
    if (!isInt(r.HoldTime, 0, 65535) || (r.HoldTime > 0 && r.HoldTime < 3)) throw new ConfigError(field('HoldTime'), r.HoldTime, '0 or an integer 3–65535 (seconds)');
    peer.holdTime = r.HoldTime;
  }
  if (r.KeepaliveTime !== undefined) {
    if (!isInt(r.KeepaliveTime, 1, 21845)) throw new ConfigError(field('KeepaliveTime'), r.KeepaliveTime, 'an integer 1–21845 (seconds)');
    const hold = peer.holdTime ?? 90;
    if (hold !== 0 && r.KeepaliveTime * 3 > hold) throw new ConfigError(field('KeepaliveTime'), r.KeepaliveTime, `at most a third of the hold time (${hold} s), so three keepalives fit in it (RFC 4271 §10)`);
    peer.keepaliveTime = r.KeepaliveTime;
  }
  if (r.Multihop !== undefined) {
    if (!isInt(r.Multihop, 1, 255)) throw new ConfigError(field('Multihop'), r.Multihop, 'an integer 1–255 (TTL: the peer is that many hops away at most)');
    peer.multihop = r.Multihop;
  }
  if (r.TTLSecurity !== undefined) {
    if (!isInt(r.TTLSecurity, 1, 254)) throw new ConfigError(field('TTLSecurity'), r.TTLSecurity, 'an integer 1–254 (hops; 1 = directly connected)');
    if (peer.multihop !== undefined) throw new ConfigError(field('TTLSecurity'), r.TTLSecurity, 'not together with Multihop (GTSM always sends TTL 255)');
    peer.ttlSecurity = r.TTLSecurity;
  }
  if (r.MaxPrefixes !== undefined) {
    if (!isInt(r.MaxPrefixes, 1, 100_000_000)) throw new ConfigError(field('MaxPrefixes'), r.MaxPrefixes, 'an integer 1–100000000');
    peer.maxPrefixes = r.MaxPrefixes;
  }
  if (r.Import !== undefined) peer.importList = stringList(r.Import, field('Import'), 'a list of "CIDR[ ge N][ le N]"', (s) => new PrefixList([s]));
  if (r.Communities !== undefined) peer.communities = stringList(r.Communities, field('Communities'), 'a list of communities like "64512:100"', (s) => parseCommunity(s));
  if (r.LargeCommunities !== undefined) peer.largeCommunities = stringList(r.LargeCommunities, field('LargeCommunities'), 'a list of large communities like "64512:1:2"', (s) => parseLargeCommunity(s));
  return peer;
}

/** A route reflector cluster ID: true (= the router ID), a dotted quad, or {"ClusterID": "…"}. */
function parseRouteReflector(v: unknown, field: string): { clusterId: string } | 'router-id' | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 'router-id';
  const id = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>).ClusterID : v;
  const f = typeof v === 'object' ? `${field}.ClusterID` : field;
  try {
    if (typeof id !== 'string' || parseIp(id).family !== 4) throw new Error('not IPv4');
  } catch {
    throw new ConfigError(f, id, 'a cluster ID in dotted-quad form, like 1.0.0.1 (or true: the router ID)');
  }
  return { clusterId: parseIp(id).address };
}

export function resolveBgpOptions(conf: BgpConf, clusterNetworks: string[], node?: NodeBgpSettings, secrets: SecretSources = { env: process.env, readFile: defaultReadFile }): BgpOptions {
  for (const c of conf.communities) {
    try {
      parseCommunity(c);
    } catch (err) {
      throw new ConfigError('Backend.Communities', c, (err as Error).message);
    }
  }
  const asn = node?.asn !== undefined ? parseAsn(node.asn, node.origins.asn) : conf.asn;
  const peers = new Map<string, ExternalPeer>();
  conf.peers.forEach((p, i) => {
    const peer = parsePeer(p, `Backend.Peers[${i}]`, asn, true, secrets, 'net-conf.json');
    if (peers.has(peer.address)) throw new ConfigError('Backend.Peers', peer.address, 'each Address at most once');
    peers.set(peer.address, peer);
  });
  if (node?.peers !== undefined) {
    let list: unknown = node.peers;
    if (typeof node.peers === 'string') {
      try {
        list = JSON.parse(node.peers) as unknown;
      } catch (err) {
        throw new ConfigError(node.origins.peers, node.peers, `a JSON list of peer objects (${(err as Error).message})`);
      }
    }
    if (!Array.isArray(list)) throw new ConfigError(node.origins.peers, list, 'a JSON list of peer objects');
    const own = new Set<string>();
    list.forEach((p, i) => {
      const peer = parsePeer(p, `${node.origins.peers}[${i}]`, asn, node.allowInlinePassword, secrets, node.origins.peers);
      if (own.has(peer.address)) throw new ConfigError(node.origins.peers, peer.address, 'each Address at most once');
      own.add(peer.address);
      // This node's own entry wins over the cluster-wide one for the same router.
      peers.set(peer.address, peer);
    });
  }
  const gr = conf.gracefulRestart ?? {};
  for (const key of Object.keys(gr)) if (key !== 'Enabled' && key !== 'RestartTime') throw new ConfigError(`Backend.GracefulRestart.${key}`, gr[key], 'one of Enabled, RestartTime');
  const enabled = gr.Enabled ?? true;
  const restartTime = gr.RestartTime ?? 120;
  if (typeof enabled !== 'boolean') throw new ConfigError('Backend.GracefulRestart.Enabled', enabled, 'true or false');
  if (!isInt(restartTime, 1, 4095)) throw new ConfigError('Backend.GracefulRestart.RestartTime', restartTime, 'an integer 1–4095 (seconds)');
  const rrRaw = node?.routeReflector !== undefined ? node.routeReflector : conf.routeReflector;
  const rrField = node?.routeReflector !== undefined ? node.origins.routeReflector : 'Backend.RouteReflector';
  const rr = parseRouteReflector(rrRaw === 'true' ? true : rrRaw === 'false' ? false : rrRaw, rrField);
  const routerId = conf.routerID;
  const options: BgpOptions = {
    asn,
    nodeMesh: conf.nodeMesh,
    listenPort: conf.listenPort,
    ...(routerId !== undefined ? { routerId } : {}),
    communities: conf.communities,
    peers: [...peers.values()],
    gracefulRestart: { enabled, restartTime },
    clusterNetworks,
  };
  // 'router-id': resolved by the backend at start, when the node's IP (the default router ID) is known.
  if (rr === 'router-id') options.routeReflector = { clusterId: routerId ?? '' };
  else if (rr !== undefined) options.routeReflector = rr;
  if (conf.crossSubnet !== undefined) options.crossSubnet = conf.crossSubnet;
  return options;
}

function defaultReadFile(path: string): string {
  return readFileSync(path, 'utf8');
}
