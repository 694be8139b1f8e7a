// Unit tests of the VXLAN backend's pure parts: options and derived names/MTUs (options.ts), the
// desired entries per remote node (desired.ts) and the diff against a kernel dump (diff.ts) —
// what is written, in which order, what it overwrites (for rollback) and what is removed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredFamily, fastIpv4Subnet, type NodeEntries } from '../../modes/vxlan/desired.js';
import { deviceDifferences, type VxlanDeviceSpec } from '../../modes/vxlan/device.js';
import { planFamily, type ActualFamily } from '../../modes/vxlan/diff.js';
import { resolveVxlanOptions, vxlanDeviceMtu, vxlanDeviceName } from '../../modes/vxlan/options.js';
import { canonicalPrefix, networkOf, parseCidr } from '../../src/net/addr.js';
import type { FdbInfo, LinkInfo, NeighbourInfo, RouteInfo } from '../../src/netlink/index.js';
import type { RemoteNode } from '../../src/registry/types.js';

const DEV = 7;
const ETH = 2;
const MAC2 = '02:00:00:00:00:02';
const MAC3 = '02:00:00:00:00:03';

function node(k: number, extra: Partial<RemoteNode> = {}): RemoteNode {
  return {
    name: `n${k}`,
    subnet: `10.244.${k}.0/24`,
    ipv6Subnet: `fd00:10:244:${k}::/64`,
    publicIP: `192.0.2.${10 + k}`,
    publicIPv6: `2001:db8::${10 + k}`,
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: `02:00:00:00:00:0${k}` },
    backendV6Data: { VNI: 1, VtepMAC: `02:00:00:00:06:0${k}` },
    ...extra,
  };
}

const neigh = (ip: string, mac: string, permanent = true): NeighbourInfo => ({ index: DEV, family: ip.includes(':') ? 6 : 4, ip, mac, permanent, state: [permanent ? 'permanent' : 'reachable'] });
const fdb = (mac: string, dst?: string): FdbInfo => ({ index: DEV, mac, self: true, permanent: true, state: ['permanent'], ...(dst ? { dst } : {}) });
const route = (dst: string, gateway: string, index = DEV, onlink = true, metric?: number): RouteInfo => ({
  family: dst.includes(':') ? 6 : 4,
  dst,
  gateway,
  index,
  onlink,
  table: 254,
  protocol: 87,
  scope: 0,
  type: 'unicast',
  ...(metric !== undefined ? { metric } : {}),
});

/** The kernel as it is after programming `entries` exactly. */
function programmed(entries: NodeEntries[]): ActualFamily {
  return {
    neighbours: entries.flatMap((e) => (e.neighbour ? [neigh(e.neighbour.ip, e.neighbour.mac)] : [])),
    fdb: entries.flatMap((e) => (e.fdb ? [fdb(e.fdb.mac, e.fdb.dst)] : [])),
    routes: entries.map((e) => route(e.route.dst, e.route.gateway, e.route.index, e.route.onlink, e.route.dst.includes(':') ? 1024 : undefined)),
  };
}
const empty: ActualFamily = { neighbours: [], fdb: [], routes: [] };

describe('vxlan options', () => {
  it('defaults to VNI 1, port 8472, no GBP, no DirectRouting, IPv4 only', () => {
    expect(resolveVxlanOptions()).toEqual({ vni: 1, port: 8472, gbp: false, directRouting: false, ipv6: false });
    expect(resolveVxlanOptions({ vni: 4, mtu: undefined, ipv6: true })).toEqual({ vni: 4, port: 8472, gbp: false, directRouting: false, ipv6: true });
  });

  it('names devices as flannel does and derives the MTU from the underlay', () => {
    expect(vxlanDeviceName(1, 4)).toBe('flannel.1');
    expect(vxlanDeviceName(42, 6)).toBe('flannel-v6.42');
    expect(vxlanDeviceMtu(1500, 4)).toBe(1450);
    expect(vxlanDeviceMtu(1500, 6)).toBe(1430);
    expect(vxlanDeviceMtu(9000, 4)).toBe(8950);
    expect(vxlanDeviceMtu(9000, 4, 1400)).toBe(1400);
  });
});

describe('vxlan device attributes', () => {
  const spec: VxlanDeviceSpec = { name: 'flannel.1', vni: 1, port: 8472, local: '192.0.2.11', underlayIndex: ETH, gbp: false, mtu: 1450 };
  const link = (vxlan: Partial<NonNullable<LinkInfo['vxlan']>>, kind = 'vxlan'): LinkInfo => ({
    index: DEV,
    name: 'flannel.1',
    kind,
    mtu: 1300,
    up: false,
    lowerUp: false,
    vxlan: { vni: 1, port: 8472, local: '192.0.2.11', underlayIndex: ETH, learning: false, gbp: false, ...vxlan },
  });

  it('reuses a device that differs only in what can be set in place (MTU, up)', () => {
    expect(deviceDifferences(link({}), spec)).toEqual([]);
  });

  it('names every create-only attribute that differs', () => {
    expect(deviceDifferences(link({ vni: 2, port: 4789, local: '192.0.2.99', underlayIndex: 9, learning: true, gbp: true }), spec)).toEqual(['vni', 'port', 'local', 'underlay', 'learning', 'gbp']);
    const { vxlan: _vxlan, ...veth } = link({}, 'veth');
    expect(deviceDifferences(veth, spec)).toEqual(['kind veth']);
  });
});

describe('vxlan desired entries', () => {
  it('gives each VXLAN node a neighbour, an FDB entry and an onlink route via its network address', () => {
    const { nodes, rejected } = desiredFamily([node(2), node(3)], { family: 4, deviceIndex: DEV });
    expect(rejected).toEqual([]);
    expect(nodes[0]).toEqual({
      node: 'n2',
      subnet: '10.244.2.0/24',
      direct: false,
      neighbour: { ip: '10.244.2.0', mac: MAC2 },
      fdb: { mac: MAC2, dst: '192.0.2.12' },
      route: { dst: '10.244.2.0/24', gateway: '10.244.2.0', index: DEV, onlink: true },
    });
    expect(nodes).toHaveLength(2);
  });

  it('uses the IPv6 subnet, public IP and VTEP MAC in the v6 family, and skips nodes without them', () => {
    const { nodes } = desiredFamily([node(2), node(3, { backendV6Data: undefined })], { family: 6, deviceIndex: DEV });
    expect(nodes).toEqual([
      {
        node: 'n2',
        subnet: 'fd00:10:244:2::/64',
        direct: false,
        neighbour: { ip: 'fd00:10:244:2::', mac: '02:00:00:00:06:02' },
        fdb: { mac: '02:00:00:00:06:02', dst: '2001:db8::12' },
        route: { dst: 'fd00:10:244:2::/64', gateway: 'fd00:10:244:2::', index: DEV, onlink: true },
      },
    ]);
  });

  it('ignores nodes of another backend (the backend reports them pending)', () => {
    expect(desiredFamily([node(2, { backendType: 'bgp', backendData: { ASN: 64512 } })], { family: 4, deviceIndex: DEV })).toEqual({ nodes: [], rejected: [] });
  });

  it('gives a directly reachable node a plain route via its public IP and no VXLAN entries', () => {
    const { nodes } = desiredFamily([node(2), node(3)], { family: 4, deviceIndex: DEV, direct: new Map([['192.0.2.12', ETH]]) });
    expect(nodes[0]).toEqual({ node: 'n2', subnet: '10.244.2.0/24', direct: true, route: { dst: '10.244.2.0/24', gateway: '192.0.2.12', index: ETH, onlink: false } });
    expect(nodes[1]?.direct).toBe(false);
  });

  it('canonicalises what the kernel will echo back (MAC case, IPv6 text form)', () => {
    const { nodes } = desiredFamily([node(2, { publicIPv6: '2001:DB8:0::12', backendV6Data: { VNI: 1, VtepMAC: '02:AA:00:00:06:02' } })], { family: 6, deviceIndex: DEV });
    expect(nodes[0]?.fdb).toEqual({ mac: '02:aa:00:00:06:02', dst: '2001:db8::12' });
  });

  it('rejects, with a reason, a node it cannot program and a node clashing with an earlier one', () => {
    const { nodes, rejected } = desiredFamily(
      [node(2), node(3, { backendData: { VNI: 1, VtepMAC: 'zz' } }), node(4, { backendData: { VNI: 1, VtepMAC: MAC2 } }), node(5, { subnet: '10.244.2.0/24' }), node(6, { publicIP: '2001:db8::6' })],
      { family: 4, deviceIndex: DEV },
    );
    expect(nodes.map((n) => n.node)).toEqual(['n2']);
    expect(rejected.map((r) => [r.node, r.reason])).toEqual([
      ['n3', expect.stringContaining('MAC')],
      ['n4', `VTEP MAC ${MAC2} also used by n2`],
      ['n5', 'subnet 10.244.2.0/24 also claimed by n2'],
      ['n6', expect.stringContaining('not IPv4')],
    ]);
  });
});

describe('vxlan IPv4 fast path', () => {
  it('agrees with the general parser on every IPv4 prefix (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, len) => {
        const text = `${ip}/${len}`;
        expect(fastIpv4Subnet(text)).toEqual({ subnet: canonicalPrefix(text), address: networkOf(parseCidr(text)).address });
      }),
    );
  });

  it('leaves anything unusual to the general parser', () => {
    for (const odd of ['010.0.0.0/8', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/8', '10.0.0.0', 'fd00::/64', '10.0.0.0/08']) expect(fastIpv4Subnet(odd), odd).toBeUndefined();
  });
});

describe('vxlan diff', () => {
  const want4 = desiredFamily([node(2), node(3)], { family: 4, deviceIndex: DEV }).nodes;

  it('writes every node in order neighbour → FDB → route when the kernel has nothing', () => {
    const plan = planFamily(4, want4, empty);
    expect(plan.nodes.map((n) => [n.node, n.steps.map((s) => s.kind)])).toEqual([
      ['n2', ['neighbour', 'fdb', 'route']],
      ['n3', ['neighbour', 'fdb', 'route']],
    ]);
    expect(plan.nodes.flatMap((n) => n.steps).every((s) => s.previous === undefined)).toBe(true);
    expect(plan.inSync).toEqual([]);
  });

  it('writes and removes nothing when the kernel matches (v4 metric 0, v6 metric 1024)', () => {
    expect(planFamily(4, want4, programmed(want4))).toEqual({ nodes: [], inSync: ['n2', 'n3'], removeRoutes: [], removeFdb: [], removeNeighbours: [] });
    const want6 = desiredFamily([node(2)], { family: 6, deviceIndex: DEV }).nodes;
    expect(planFamily(6, want6, programmed(want6)).inSync).toEqual(['n2']);
  });

  it('on a new VTEP MAC: changes the neighbour, adds the FDB entry, removes the old one', () => {
    const actual = programmed(want4);
    const moved = desiredFamily([node(2, { backendData: { VNI: 1, VtepMAC: '02:00:00:00:00:22' } }), node(3)], { family: 4, deviceIndex: DEV }).nodes;
    const plan = planFamily(4, moved, actual);
    expect(plan.nodes).toEqual([
      {
        node: 'n2',
        subnet: '10.244.2.0/24',
        steps: [
          { kind: 'neighbour', want: { ip: '10.244.2.0', mac: '02:00:00:00:00:22' }, previous: { ip: '10.244.2.0', mac: MAC2 } },
          { kind: 'fdb', want: { mac: '02:00:00:00:00:22', dst: '192.0.2.12' } },
        ],
      },
    ]);
    expect(plan.removeFdb.map((f) => f.mac)).toEqual([MAC2]);
    expect(plan.removeNeighbours).toEqual([]);
  });

  it('on a new public IP: replaces the FDB entry in place (remembering the old one), removes nothing', () => {
    const moved = desiredFamily([node(2, { publicIP: '192.0.2.99' }), node(3)], { family: 4, deviceIndex: DEV }).nodes;
    const plan = planFamily(4, moved, programmed(want4));
    expect(plan.nodes[0]?.steps).toEqual([{ kind: 'fdb', want: { mac: MAC2, dst: '192.0.2.99' }, previous: { mac: MAC2, dst: '192.0.2.12' } }]);
    expect(plan.removeFdb).toEqual([]);
  });

  it('repairs drift: a missing route, a non-permanent neighbour, an FDB entry towards the wrong host', () => {
    const actual = programmed(want4);
    actual.routes = actual.routes.filter((r) => r.dst !== '10.244.3.0/24');
    actual.neighbours = [neigh('10.244.2.0', MAC2, false), neigh('10.244.3.0', MAC3)];
    actual.fdb = [fdb(MAC2, '192.0.2.12'), fdb(MAC3, '192.0.2.99'), fdb(MAC3, '192.0.2.98')];
    const plan = planFamily(4, want4, actual);
    expect(plan.nodes.map((n) => [n.node, n.steps.map((s) => s.kind)])).toEqual([
      ['n2', ['neighbour']],
      ['n3', ['fdb', 'route']],
    ]);
    expect(plan.nodes[0]?.steps[0]?.previous).toBeUndefined(); // a transient entry is not restored
    expect(plan.removeFdb.map((f) => f.dst)).toEqual(['192.0.2.98']); // .99 is rewritten in place
  });

  it('removes what no node wants: its neighbour, FDB entry and route, and extra routes of another metric', () => {
    const actual = programmed(want4);
    actual.neighbours.push(neigh('10.244.9.0', '02:00:00:00:00:09'), neigh('10.244.8.0', '02:00:00:00:00:08', false));
    actual.fdb.push(fdb('02:00:00:00:00:09', '192.0.2.19'), fdb('33:33:00:00:00:01'));
    actual.routes.push(route('10.244.9.0/24', '10.244.9.0'), route('10.244.2.0/24', '10.244.2.0', DEV, true, 50));
    const plan = planFamily(4, want4, actual);
    expect(plan.nodes).toEqual([]);
    expect(plan.removeNeighbours.map((n) => n.ip)).toEqual(['10.244.9.0']); // transient .8.0 is the kernel's
    expect(plan.removeFdb.map((f) => f.mac)).toEqual(['02:00:00:00:00:09']); // no dst: the multicast list
    expect(plan.removeRoutes.map((r) => [r.dst, r.metric])).toEqual([
      ['10.244.9.0/24', undefined],
      ['10.244.2.0/24', 50],
    ]);
  });

  it('switching a node to DirectRouting changes its route (remembering the old one) and removes its VXLAN entries', () => {
    const direct = desiredFamily([node(2), node(3)], { family: 4, deviceIndex: DEV, direct: new Map([['192.0.2.12', ETH]]) }).nodes;
    const plan = planFamily(4, direct, programmed(want4));
    expect(plan.nodes).toEqual([
      {
        node: 'n2',
        subnet: '10.244.2.0/24',
        steps: [{ kind: 'route', want: { dst: '10.244.2.0/24', gateway: '192.0.2.12', index: ETH, onlink: false }, previous: { dst: '10.244.2.0/24', gateway: '10.244.2.0', index: DEV, onlink: true } }],
      },
    ]);
    expect(plan.removeNeighbours.map((n) => n.ip)).toEqual(['10.244.2.0']);
    expect(plan.removeFdb.map((f) => f.mac)).toEqual([MAC2]);
    expect(plan.removeRoutes).toEqual([]);
  });
});
