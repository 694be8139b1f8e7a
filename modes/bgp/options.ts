// The BGP backend's options: net-conf.json's `Backend` (Type "bgp") refined from the loosely
// checked BgpConf (src/config/netconf.ts) into typed values, once, at construction. A peer entry
// that does not make sense is a ConfigError naming the field, so the daemon refuses to start
// instead of running with half a policy.
//
// Deliberately only the first slice of issue 8's fields: Address, ASN, Port, Password, Passive,
// HoldTime and Import per peer. Others (BFD, Multihop, MaxPrefixes…) are rejected rather than
// silently ignored, so nobody believes they are in effect.
import { ConfigError } from '../../src/config/errors.js';
import type { BgpConf } from '../../src/config/netconf.js';
import { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { parseCommunity } from '../../src/bgp/policy.js';
import { parseIp } from '../../src/net/addr.js';

export interface ExternalPeer {
  address: string;
  asn: number;
  port?: number;
  password?: string;
  passive?: boolean;
  holdTime?: number;
  /** Prefixes outside the cluster network this peer may give us ("CIDR[ ge N][ le N]"). */
  importList: string[];
}

export interface BgpOptions {
  asn: number;
  nodeMesh: boolean;
  listenPort: number;
  routerId?: string;
  communities: string[];
  peers: ExternalPeer[];
  gracefulRestart: { enabled: boolean; restartTime: number };
  /** The cluster networks (IPv4, and IPv6 in dual stack): the import policy's "inside". */
  clusterNetworks: string[];
}

const PEER_FIELDS = new Set(['Address', 'ASN', 'Port', 'Password', 'Passive', 'HoldTime', 'Import']);

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function parsePeer(raw: Record<string, unknown>, i: number, defaultAsn: number): ExternalPeer {
  const field = (name: string): string => `Backend.Peers[${i}].${name}`;
  for (const key of Object.keys(raw)) if (!PEER_FIELDS.has(key)) throw new ConfigError(field(key), raw[key], `one of ${[...PEER_FIELDS].join(', ')} (others are not supported yet)`);
  const address = raw.Address;
  if (typeof address !== 'string') throw new ConfigError(field('Address'), address, 'an IP address');
  try {
    parseIp(address);
  } catch {
    throw new ConfigError(field('Address'), address, 'an IP address');
  }
  const asn = raw.ASN ?? defaultAsn;
  if (!isInt(asn, 1, 4_294_967_295)) throw new ConfigError(field('ASN'), asn, 'an integer 1–4294967295');
  const peer: ExternalPeer = { address, asn, importList: [] };
  if (raw.Port !== undefined) {
    if (!isInt(raw.Port, 1, 65535)) throw new ConfigError(field('Port'), raw.Port, 'an integer 1–65535');
    peer.port = raw.Port;
  }
  if (raw.Password !== undefined) {
    if (typeof raw.Password !== 'string' || raw.Password.length === 0 || raw.Password.length > 80) throw new ConfigError(field('Password'), '(hidden)', 'a string of 1–80 characters');
    peer.password = raw.Password;
  }
  if (raw.Passive !== undefined) {
    if (typeof raw.Passive !== 'boolean') throw new ConfigError(field('Passive'), raw.Passive, 'true or false');
    peer.passive = raw.Passive;
  }
  if (raw.HoldTime !== undefined) {
    if (!isInt(raw.HoldTime, 0, 65535) || (raw.HoldTime > 0 && raw.HoldTime < 3)) throw new ConfigError(field('HoldTime'), raw.HoldTime, '0 or an integer 3–65535 (seconds)');
    peer.holdTime = raw.HoldTime;
  }
  if (raw.Import !== undefined) {
    if (!Array.isArray(raw.Import) || raw.Import.some((e) => typeof e !== 'string')) throw new ConfigError(field('Import'), raw.Import, 'a list of "CIDR[ ge N][ le N]"');
    const list = raw.Import as string[];
    try {
      new PrefixList(list);
    } catch (err) {
      throw new ConfigError(field('Import'), raw.Import, (err as Error).message);
    }
    peer.importList = list;
  }
  return peer;
}

export function resolveBgpOptions(conf: BgpConf, clusterNetworks: string[]): BgpOptions {
  for (const c of conf.communities) {
    try {
      parseCommunity(c);
    } catch (err) {
      throw new ConfigError('Backend.Communities', c, (err as Error).message);
    }
  }
  const peers = conf.peers.map((p, i) => parsePeer(p, i, conf.asn));
  const seen = new Set<string>();
  for (const p of peers) {
    if (seen.has(p.address)) throw new ConfigError('Backend.Peers', p.address, 'each Address at most once');
    seen.add(p.address);
  }
  const gr = conf.gracefulRestart ?? {};
  const enabled = gr.Enabled ?? true;
  const restartTime = gr.RestartTime ?? 120;
  if (typeof enabled !== 'boolean') throw new ConfigError('Backend.GracefulRestart.Enabled', enabled, 'true or false');
  if (!isInt(restartTime, 1, 4095)) throw new ConfigError('Backend.GracefulRestart.RestartTime', restartTime, 'an integer 1–4095 (seconds)');
  if (conf.routeReflector !== undefined && conf.routeReflector !== false) throw new ConfigError('Backend.RouteReflector', conf.routeReflector, 'false (a node as route reflector is not supported yet)');
  if (conf.crossSubnet !== undefined) throw new ConfigError('Backend.CrossSubnet', conf.crossSubnet, 'absent (CrossSubnet is not supported yet)');
  return {
    asn: conf.asn,
    nodeMesh: conf.nodeMesh,
    listenPort: conf.listenPort,
    ...(conf.routerID !== undefined ? { routerId: conf.routerID } : {}),
    communities: conf.communities,
    peers,
    gracefulRestart: { enabled, restartTime },
    clusterNetworks,
  };
}
