// CrossSubnet "vxlan", the decision: which remote bgp nodes the VXLAN datapath carries this pass.
// A node goes over VXLAN when all of these hold:
//  - BGP has not programmed a route for its podCIDR (a native route always wins, so the moment one
//    is installed the node leaves VXLAN and its entries are removed);
//  - it is on another L2 segment (its public IP is outside every prefix of our underlay device):
//    a node on our own segment that has no route yet is waiting for its session, and encapsulating
//    it meanwhile would only make it flap between the two paths;
//  - it published a VTEP (VtepMAC, VNI) and the VNI is ours: one device carries one VNI.
// Such a node is handed to the VxlanBackend rewritten as a VXLAN node (its BGP data's VTEP fields
// as VXLAN data), so the VXLAN code needs no notion of CrossSubnet.
//
// Pure: the BGP verdicts and our segments come in; every case is a unit test. What it is not: the
// kernel work (cross-subnet.ts drives both backends).
import type { NodeReport } from '../backend.js';
import type { BgpBackendData, RemoteNode, VxlanBackendData } from '../../src/registry/types.js';
import { overlaps } from './import-policy.js';

export interface CrossSubnetInput {
  remotes: readonly RemoteNode[];
  /** The IPv4 prefixes of our underlay device ("192.0.2.0/24"): our L2 segment(s). */
  localSegments: readonly string[];
  /** What the BGP backend reported for each node this pass, by node name. */
  bgp: ReadonlyMap<string, NodeReport>;
  /** Our VXLAN device's VNI. */
  vni: number;
}

export type NodePath = { path: 'bgp' } | { path: 'vxlan' } | { path: 'none'; reason: string };

export interface CrossSubnetSplit {
  /** The nodes the VxlanBackend programs, as VXLAN nodes. */
  vxlan: RemoteNode[];
  /** Every bgp node's path; 'none' says why neither carries it (yet). */
  paths: Map<string, NodePath>;
}

/** True when `ip` lies inside one of `segments` (IPv4 only: segments are IPv4 prefixes). */
export function onSegment(ip: string, segments: readonly string[]): boolean {
  if (ip.includes(':')) return false;
  return segments.some((s) => overlaps(s, `${ip}/32`));
}

/** The node's VTEP for one family, if it published a usable one. */
function vtepOf(data: unknown): VxlanBackendData | undefined {
  const d = data as Partial<BgpBackendData> | undefined;
  return d?.VtepMAC !== undefined && d.VNI !== undefined ? { VNI: d.VNI, VtepMAC: d.VtepMAC } : undefined;
}

/** Why `node` cannot go over VXLAN, or undefined when it can. */
function vxlanRefusal(node: RemoteNode, input: Omit<CrossSubnetInput, 'bgp'>): string | undefined {
  if (onSegment(node.publicIP, input.localSegments)) return 'on this node\'s L2 segment: waits for its BGP route';
  const vtep = vtepOf(node.backendData);
  if (vtep === undefined) return 'on another L2 segment and published no VTEP (not running CrossSubnet)';
  if (vtep.VNI !== input.vni) return `on another L2 segment, but its VNI ${vtep.VNI} is not ours (${input.vni})`;
  return undefined;
}

/** The node as the VxlanBackend sees it: its VTEP(s) as VXLAN data; IPv6 only with a v6 VTEP. */
export function asVxlanNode(node: RemoteNode, vtep: VxlanBackendData): RemoteNode {
  const { ipv6Subnet, publicIPv6, backendV6Data, ...rest } = node;
  const v6 = vtepOf(backendV6Data);
  return {
    ...rest,
    backendType: 'vxlan',
    backendData: vtep,
    ...(ipv6Subnet !== undefined && publicIPv6 !== undefined && v6 !== undefined ? { ipv6Subnet, publicIPv6, backendV6Data: v6 } : {}),
  };
}

export function splitCrossSubnet(input: CrossSubnetInput): CrossSubnetSplit {
  const split: CrossSubnetSplit = { vxlan: [], paths: new Map() };
  for (const node of input.remotes) {
    if (node.backendType !== 'bgp') continue;
    if (input.bgp.get(node.name)?.state === 'programmed') {
      split.paths.set(node.name, { path: 'bgp' });
      continue;
    }
    const refusal = vxlanRefusal(node, input);
    if (refusal !== undefined) {
      split.paths.set(node.name, { path: 'none', reason: refusal });
      continue;
    }
    split.vxlan.push(asVxlanNode(node, vtepOf(node.backendData)!));
    split.paths.set(node.name, { path: 'vxlan' });
  }
  return split;
}

/**
 * The next hops BGP must not use: nodes the VXLAN datapath can carry, seen across a router. The
 * full mesh teaches us their podCIDRs with their own address as next hop; installed via our
 * gateway, such a route sends pod traffic to a router that knows nothing of pods. A path through a
 * next hop on our segment (a ToR announcing with next-hop-self) is unaffected: that is the "BGP
 * route appears later" case, and it wins over VXLAN.
 */
export function crossSegmentNextHops(input: Omit<CrossSubnetInput, 'bgp'>): Set<string> {
  const hops = new Set<string>();
  for (const node of input.remotes) {
    if (node.backendType !== 'bgp' || vxlanRefusal(node, input) !== undefined) continue;
    hops.add(node.publicIP);
    if (node.publicIPv6 !== undefined) hops.add(node.publicIPv6);
  }
  return hops;
}
