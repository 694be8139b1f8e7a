// Who the speaker peers with, from the registry snapshot and the configuration:
//  - other nodes running the bgp backend, at their published IP: all of them in the full mesh
//    (NodeMesh, the default); with the mesh off only the nodes that are route reflectors; and a
//    node that is itself a route reflector peers with every node, non-reflectors as its clients;
//  - the configured external peers (a ToR, a route reflector), which win over a node at the same
//    address.
// Dual stack: every session carries both families (MP-BGP, RFC 4760) over IPv4, with our IPv6
// address as the IPv6 next hop. Pure; passwords pass through to the session and are never
// logged from here.
import type { PeerConfig } from '../../src/bgp/speaker.js';
import type { BgpBackendData, RemoteNode } from '../../src/registry/types.js';
import type { NodePeer } from './import-policy.js';
import type { BgpOptions, ExternalPeer } from './options.js';

/** Most prefixes a plain node may send: it announces its own podCIDRs only (one per family). */
export const NODE_MAX_PREFIXES = 64;

export interface LocalBgpNode {
  publicIP: string;
  publicIPv6?: string;
  /** This node's podCIDRs: the only prefixes exported to external peers. */
  ownSubnets: readonly string[];
}

export interface DesiredPeers {
  peers: PeerConfig[];
  /** The registered nodes among them, for the import policy. */
  nodePeers: Map<string, NodePeer>;
}

function reflectorOf(node: RemoteNode): string | undefined {
  return (node.backendData as BgpBackendData).RouteReflector;
}

export function desiredPeers(options: BgpOptions, remotes: readonly RemoteNode[], local: LocalBgpNode): DesiredPeers {
  const families: PeerConfig['families'] = local.publicIPv6 !== undefined ? ['ipv4', 'ipv6'] : ['ipv4'];
  const v6 = local.publicIPv6 !== undefined ? { nextHopIpv6: local.publicIPv6 } : {};
  const peers = new Map<string, PeerConfig>();
  const nodePeers = new Map<string, NodePeer>();
  const weReflect = options.routeReflector !== undefined;
  for (const node of remotes) {
    if (node.backendType !== 'bgp' || node.publicIP === local.publicIP) continue;
    const theyReflect = reflectorOf(node) !== undefined;
    if (!weReflect && !options.nodeMesh && !theyReflect) continue;
    const asn = (node.backendData as BgpBackendData).ASN;
    const c: PeerConfig = { address: node.publicIP, asn, port: options.listenPort, localAddress: local.publicIP, families, ...v6 };
    // Reflectors peer with each other as plain iBGP peers; everyone else is a reflector's client.
    if (weReflect && !theyReflect) c.rrClient = true;
    // A plain node announces its own podCIDRs only; a reflector passes on the whole cluster's.
    c.policy = { ...exportPolicy(options, local), ...(!theyReflect ? { maxPrefix: { limit: NODE_MAX_PREFIXES } } : {}) };
    peers.set(node.publicIP, c);
    nodePeers.set(node.publicIP, { node: node.name, reflector: theyReflect });
  }
  for (const p of options.peers) {
    peers.set(p.address, externalPeer(p, options, local, families, v6));
    nodePeers.delete(p.address);
  }
  return { peers: [...peers.values()], nodePeers };
}

/**
 * Unless it reflects, a node originates its podCIDRs and passes on nothing it learned: not the
 * other nodes' routes to a ToR (the ToR has them first-hand), not a ToR's routes to other nodes.
 */
function exportPolicy(options: BgpOptions, local: LocalBgpNode): { exportPrefixes?: string[] } {
  return options.routeReflector === undefined ? { exportPrefixes: [...local.ownSubnets] } : {};
}

function externalPeer(p: ExternalPeer, options: BgpOptions, local: LocalBgpNode, families: PeerConfig['families'], v6: { nextHopIpv6?: string }): PeerConfig {
  const c: PeerConfig = { address: p.address, asn: p.asn, localAddress: local.publicIP, families, ...v6 };
  if (p.port !== undefined) c.port = p.port;
  if (p.password !== undefined) c.password = p.password;
  if (p.passive !== undefined) c.passive = p.passive;
  if (p.holdTime !== undefined) c.holdTime = p.holdTime;
  if (p.keepaliveTime !== undefined) c.keepaliveTime = p.keepaliveTime;
  if (p.ttlSecurity !== undefined) c.ttlSecurity = p.ttlSecurity;
  // eBGP is single-hop unless told otherwise (TTL 1, as routers do); iBGP keeps the system TTL.
  if (p.multihop !== undefined) c.multihop = p.multihop;
  else if (p.ttlSecurity === undefined && p.asn !== options.asn) c.multihop = 1;
  if (options.routeReflector !== undefined && p.asn === options.asn) c.rrClient = true;
  c.policy = {
    ...exportPolicy(options, local),
    ...(p.maxPrefixes !== undefined ? { maxPrefix: { limit: p.maxPrefixes } } : {}),
    ...(p.communities.length > 0 ? { exportCommunities: p.communities } : {}),
    ...(p.largeCommunities.length > 0 ? { exportLargeCommunities: p.largeCommunities } : {}),
  };
  return c;
}
