// Unit tests of CrossSubnet "vxlan"'s decision (modes/bgp/cross-subnet-split.ts): which remote
// bgp nodes the VXLAN datapath carries, which next hops BGP must not use, and how a node is handed
// to the VxlanBackend; plus the route partition between the two backends (kernel-view.ts) and
// createBackend picking the composite for CrossSubnet.
import { describe, expect, it } from 'vitest';
import type { NodeReport } from '../../modes/backend.js';
import { crossSegmentNextHops, onSegment, splitCrossSubnet, asVxlanNode } from '../../modes/bgp/cross-subnet-split.js';
import { CrossSubnetBackend } from '../../modes/bgp/index.js';
import { leavesBy } from '../../modes/bgp/kernel-view.js';
import { createBackend } from '../../modes/index.js';
import { parseNetConf } from '../../src/config/netconf.js';
import type { Logger } from '../../src/log.js';
import type { Netlink, RouteInfo } from '../../src/netlink/index.js';
import type { RemoteNode } from '../../src/registry/types.js';

const SEGMENT_A = '192.0.2.0/24';

/** A bgp node; `vtep` false = plain bgp (no VtepMAC published). */
function node(name: string, publicIP: string, third: number, o: { vtep?: boolean; vni?: number } = {}): RemoteNode {
  const vtep = o.vtep ?? true;
  return {
    name,
    subnet: `10.244.${third}.0/24`,
    publicIP,
    backendType: 'bgp',
    backendData: { ASN: 64512, ...(vtep ? { VNI: o.vni ?? 1, VtepMAC: `0a:58:0a:f4:00:${third.toString(16).padStart(2, '0')}` } : {}) },
  };
}

function reports(entries: Record<string, NodeReport['state']>): Map<string, NodeReport> {
  return new Map(Object.entries(entries).map(([n, state]) => [n, { node: n, subnet: '', state }]));
}

function split(remotes: RemoteNode[], bgp: Record<string, NodeReport['state']>, vni = 1) {
  const s = splitCrossSubnet({ remotes, localSegments: [SEGMENT_A], bgp: reports(bgp), vni });
  return { vxlan: s.vxlan.map((n) => n.name), paths: Object.fromEntries([...s.paths].map(([n, p]) => [n, p.path])), reasons: Object.fromEntries([...s.paths].map(([n, p]) => [n, p.path === 'none' ? p.reason : ''])) };
}

describe('splitCrossSubnet', () => {
  const sameSegment = node('a2', '192.0.2.12', 2);
  const otherSegment = node('b1', '198.51.100.11', 3);

  it('sends an off-segment node with no BGP route and a VTEP over VXLAN', () => {
    expect(split([otherSegment], { b1: 'pending' })).toMatchObject({ vxlan: ['b1'], paths: { b1: 'vxlan' } });
  });

  it('keeps a node on BGP as soon as BGP has programmed its route (the native route wins)', () => {
    expect(split([otherSegment], { b1: 'programmed' })).toMatchObject({ vxlan: [], paths: { b1: 'bgp' } });
  });

  it('also takes an off-segment node whose BGP route failed to install', () => {
    expect(split([otherSegment], { b1: 'failed' }).vxlan).toEqual(['b1']);
  });

  it('never encapsulates a node on our own segment: it waits for its session instead of flapping', () => {
    const s = split([sameSegment], { a2: 'pending' });
    expect(s.vxlan).toEqual([]);
    expect(s.reasons['a2']).toMatch(/L2 segment/);
  });

  it('leaves an off-segment node without a VTEP (plain bgp) to BGP, saying why', () => {
    const s = split([node('b2', '198.51.100.12', 4, { vtep: false })], { b2: 'pending' });
    expect(s).toMatchObject({ vxlan: [], paths: { b2: 'none' } });
    expect(s.reasons['b2']).toMatch(/no VTEP/);
  });

  it('refuses a VTEP of another VNI: one device carries one VNI', () => {
    const s = split([node('b3', '198.51.100.13', 5, { vni: 7 })], { b3: 'pending' });
    expect(s.vxlan).toEqual([]);
    expect(s.reasons['b3']).toMatch(/VNI 7 is not ours \(1\)/);
  });

  it('ignores nodes of another backend type (the BGP report stands for them)', () => {
    const vx: RemoteNode = { name: 'v', subnet: '10.244.9.0/24', publicIP: '198.51.100.19', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:09' } };
    expect(split([vx], {})).toEqual({ vxlan: [], paths: {}, reasons: {} });
  });

  it('decides per node in one pass: mesh neighbours by BGP, the far node by VXLAN', () => {
    expect(split([sameSegment, otherSegment, node('b2', '198.51.100.12', 4)], { a2: 'programmed', b1: 'pending', b2: 'programmed' })).toMatchObject({
      vxlan: ['b1'],
      paths: { a2: 'bgp', b1: 'vxlan', b2: 'bgp' },
    });
  });

  it('counts a node inside any of our underlay prefixes as on our segment', () => {
    expect(onSegment('198.51.100.11', [SEGMENT_A, '198.51.100.0/25'])).toBe(true);
    expect(onSegment('198.51.100.200', [SEGMENT_A, '198.51.100.0/25'])).toBe(false);
    expect(onSegment('2001:db8::1', [SEGMENT_A])).toBe(false);
  });
});

describe('asVxlanNode', () => {
  it('hands the VXLAN backend the node\'s VTEP as VXLAN data', () => {
    const n = node('b1', '198.51.100.11', 3);
    expect(asVxlanNode(n, { VNI: 1, VtepMAC: '0a:58:0a:f4:00:03' })).toEqual({ name: 'b1', subnet: '10.244.3.0/24', publicIP: '198.51.100.11', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:03' } });
  });

  it('keeps the IPv6 side only when the node published a v6 VTEP', () => {
    const dual: RemoteNode = { ...node('b1', '198.51.100.11', 3), ipv6Subnet: 'fd00:10:244:3::/64', publicIPv6: '2001:db8:2::11' };
    const vtep = { VNI: 1, VtepMAC: '0a:58:0a:f4:00:03' };
    expect(asVxlanNode(dual, vtep).ipv6Subnet).toBeUndefined();
    const withV6 = asVxlanNode({ ...dual, backendV6Data: { ASN: 64512, VNI: 1, VtepMAC: '0a:58:0a:f4:10:03' } }, vtep);
    expect(withV6).toMatchObject({ ipv6Subnet: 'fd00:10:244:3::/64', publicIPv6: '2001:db8:2::11', backendV6Data: { VNI: 1, VtepMAC: '0a:58:0a:f4:10:03' } });
  });
});

describe('crossSegmentNextHops', () => {
  it('hides exactly the addresses of nodes VXLAN can carry (mesh paths to them would go to a pod-blind router)', () => {
    const dual: RemoteNode = { ...node('b1', '198.51.100.11', 3), ipv6Subnet: 'fd00:10:244:3::/64', publicIPv6: '2001:db8:2::11' };
    const remotes = [node('a2', '192.0.2.12', 2), dual, node('b2', '198.51.100.12', 4, { vtep: false }), node('b3', '198.51.100.13', 5, { vni: 9 })];
    expect([...crossSegmentNextHops({ remotes, localSegments: [SEGMENT_A], vni: 1 })].sort()).toEqual(['198.51.100.11', '2001:db8:2::11']);
  });
});

describe('the route partition between the two backends', () => {
  const route = (index: number, nexthops?: number[]): RouteInfo => ({
    family: 4,
    dst: '10.244.3.0/24',
    table: 254,
    protocol: 87,
    scope: 0,
    type: 'unicast',
    onlink: false,
    ...(nexthops ? { nexthops: nexthops.map((i) => ({ index: i, onlink: false, weight: 1 })) } : { index }),
  });
  it('gives a route to VXLAN when it leaves by a VXLAN device (any hop), to BGP otherwise', () => {
    const devices = new Set([7]);
    expect(leavesBy(route(7), devices)).toBe(true);
    expect(leavesBy(route(2), devices)).toBe(false);
    expect(leavesBy(route(0, [2, 3]), devices)).toBe(false);
    expect(leavesBy(route(0, [2, 7]), devices)).toBe(true);
  });
});

describe('createBackend with CrossSubnet', () => {
  const logger = { child: () => logger, info: () => undefined, debug: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  it('builds the composite, its overlay on Backend.VNI/Port, and the plain BGP backend without it', async () => {
    const conf = (extra: Record<string, unknown>) => parseNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'bgp', ...extra } });
    const backend = await createBackend(conf({ CrossSubnet: 'vxlan', VNI: 4, Port: 4789 }), { netlink: {} as Netlink, logger });
    expect(backend).toBeInstanceOf(CrossSubnetBackend);
    expect(backend.type).toBe('bgp');
    expect((backend as CrossSubnetBackend).vxlan.options).toMatchObject({ vni: 4, port: 4789, directRouting: false });
    expect(await createBackend(conf({}), { netlink: {} as Netlink, logger })).not.toBeInstanceOf(CrossSubnetBackend);
  });
});
