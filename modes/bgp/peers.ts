// Who the speaker peers with, from the registry snapshot and the configuration: the iBGP (or
// eBGP, when a node publishes another ASN) node mesh — every remote node running the bgp
// backend, at its published IP — plus the configured external peers (a ToR, a route reflector).
// A configured peer wins over a mesh node at the same address. Pure; passwords pass through to
// the session and are never logged from here.
import type { PeerConfig } from '../../src/bgp/speaker.js';
import type { BgpBackendData, RemoteNode } from '../../src/registry/types.js';
import type { BgpOptions } from './options.js';

export function desiredPeers(options: BgpOptions, remotes: readonly RemoteNode[], localIP: string): PeerConfig[] {
  const peers = new Map<string, PeerConfig>();
  if (options.nodeMesh) {
    for (const node of remotes) {
      if (node.backendType !== 'bgp' || node.publicIP === localIP) continue;
      const asn = (node.backendData as BgpBackendData).ASN;
      peers.set(node.publicIP, { address: node.publicIP, asn, port: options.listenPort, localAddress: localIP, families: ['ipv4'] });
    }
  }
  for (const p of options.peers) {
    const c: PeerConfig = { address: p.address, asn: p.asn, localAddress: localIP, families: ['ipv4'] };
    if (p.port !== undefined) c.port = p.port;
    if (p.password !== undefined) c.password = p.password;
    if (p.passive !== undefined) c.passive = p.passive;
    if (p.holdTime !== undefined) c.holdTime = p.holdTime;
    peers.set(p.address, c);
  }
  return [...peers.values()];
}
