// The BGP backend's import policy: which learned best paths may become kernel routes. It sits on
// top of bgp-ts's per-peer policy because its inputs change with the registry (which podCIDRs
// exist right now), which a session's static prefix list cannot follow without a restart.
//
// It judges every path (each peer's route), not only best paths: a hostile peer's better path
// must not hide a good one, so a refused route never enters the Loc-RIB (the speaker's
// importFilter; see src/bgp/speaker.ts).
//
// The rules (issue 8, in the spirit of RFC 8212's "nothing without policy"):
//  - a prefix overlapping the cluster network (inside it, or a super-prefix of it) is accepted
//    only when it is exactly a registered remote node's podCIDR: never this node's own, never a
//    sub- or super-prefix — so no peer can hijack or shadow pod traffic;
//  - from another node (a mesh peer) only that node's own podCIDRs, with its own address as next
//    hop; a node that is a route reflector may pass on any node's podCIDR, but still with the
//    owner's address as next hop (iBGP reflection keeps next hops). External peers (a ToR
//    rewrites the next hop to itself on eBGP) are not held to the owner's next hop;
//  - any other prefix only from a configured external peer whose Import list permits it (none by
//    default); nodes never give us outside prefixes.
// Pure: the backend hands in the facts, every case is a unit test.
import type { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { prefixKey } from '../../src/bgp/rib/prefix.js';
import { bytesToIp, ipToBytes, parseCidr } from '../../src/net/addr.js';

/** A registered remote node's podCIDR: who owns it and the next hops it may have. */
export interface SubnetOwner {
  node: string;
  /** The owner's published addresses (IPv4, and IPv6 in dual stack). */
  nextHops: ReadonlySet<string>;
}

/** A registered node we peer with. */
export interface NodePeer {
  node: string;
  /** It reflects routes (published a route reflector cluster ID). */
  reflector: boolean;
}

export interface ImportFacts {
  clusterNetworks: readonly string[];
  /** This node's podCIDRs (v4, v6). */
  ownSubnets: readonly string[];
  /** Registered remote nodes' podCIDRs, canonical form, and their owners. */
  remoteSubnets: ReadonlyMap<string, SubnetOwner>;
  /** Registered nodes we peer with, by address (configured external peers are not in it). */
  nodePeers: ReadonlyMap<string, NodePeer>;
  /** The names of the nodes in nodePeers. */
  peeredNodes: ReadonlySet<string>;
  /** Configured external peers' Import lists, by peer address. */
  importLists: ReadonlyMap<string, PrefixList>;
}

export type ImportVerdict = { accept: true } | { accept: false; reason: string };

/** A prefix with host bits cleared, as text (the registry's form) and as a number to compare. */
interface Net {
  text: string;
  value: bigint;
  len: number;
  width: number;
}

function net(prefix: string): Net {
  const c = parseCidr(prefix);
  const bytes = ipToBytes(c.address);
  for (let bit = c.prefixLen; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { text: `${bytesToIp(bytes)}/${c.prefixLen}`, value, len: c.prefixLen, width: bytes.length * 8 };
}

function contains(x: Net, y: Net): boolean {
  if (x.width !== y.width) return false;
  const shift = BigInt(x.width - Math.min(x.len, y.len));
  return x.value >> shift === y.value >> shift;
}

/**
 * The facts' own prefixes, parsed once per facts object: a peer sending a full table has every
 * one of its prefixes judged, and re-parsing the cluster networks for each made that ~27 µs a
 * prefix (a 64 KiB read of /32s blocked the event loop ~350 ms, long enough to miss BFD packets).
 */
const parsed = new WeakMap<readonly string[], Net[]>();
function nets(list: readonly string[]): Net[] {
  let out = parsed.get(list);
  if (out === undefined) parsed.set(list, (out = list.map(net)));
  return out;
}

/** True when one prefix contains the other (same family). */
export function overlaps(a: string, b: string): boolean {
  return contains(net(a), net(b));
}

/** Canonical text of a prefix (host bits cleared), the form registry subnets are kept in. */
export function canonical(prefix: string): string {
  return net(prefix).text;
}

export function importVerdict(prefix: string, fromPeer: string, nextHop: string, facts: ImportFacts): ImportVerdict {
  const candidate = net(prefix);
  const p = candidate.text;
  const node = facts.nodePeers.get(fromPeer);
  if (nets(facts.clusterNetworks).some((n) => contains(n, candidate))) {
    if (nets(facts.ownSubnets).some((own) => contains(own, candidate))) return { accept: false, reason: 'overlaps this node\'s own podCIDR' };
    const owner = facts.remoteSubnets.get(p);
    if (owner === undefined) return { accept: false, reason: 'inside the cluster network but not a registered node\'s podCIDR' };
    if (node === undefined) {
      // From a router: its next hop is its own (eBGP), unless the owner is a node we peer with
      // directly — then nobody else's path to that node's pods is believed (it would only ever
      // win when the node's own path is gone, which is exactly when it must not).
      if (facts.peeredNodes.has(owner.node) && !owner.nextHops.has(nextHop)) return { accept: false, reason: `node ${owner.node} is a direct peer; a path via ${nextHop} is not its own` };
      return { accept: true };
    }
    if (!node.reflector && owner.node !== node.node) return { accept: false, reason: `node ${node.node} announced node ${owner.node}'s podCIDR` };
    if (!owner.nextHops.has(nextHop)) return { accept: false, reason: `next hop ${nextHop} is not node ${owner.node}'s address` };
    return { accept: true };
  }
  const list = node === undefined ? facts.importLists.get(fromPeer) : undefined;
  if (list === undefined) return { accept: false, reason: 'outside the cluster network, and not from an external peer' };
  if (!list.permits(prefixKey(p))) return { accept: false, reason: 'outside the cluster network and not in the peer\'s Import list' };
  return { accept: true };
}
