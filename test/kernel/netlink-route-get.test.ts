// Kernel test of nl.routes.get (RTM_GETROUTE for one destination, `ip route get`): a neighbour on
// the same segment comes back without a gateway, a destination behind a router with it, IPv4 and
// IPv6 alike, and an unroutable destination as undefined — each checked against `ip -j route get`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import type { IpRoute } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

describeKernel('netlink routes.get', ['ip'], () => {
  const topo = new Topology('routeget');
  let a: UnderlayNode;
  let b: UnderlayNode;
  let nl: Netlink;
  let eth: number;

  beforeAll(async () => {
    [a, b] = (await topo.underlay(['a', 'b'])) as [UnderlayNode, UnderlayNode];
    nl = topo.netlink(a.ns);
    eth = (await nl.links.get(a.dev))!.index;
    await topo.ip(a.ns, ['route', 'add', '198.51.100.0/24', 'via', b.ipv4]);
    await topo.ip(a.ns, ['-6', 'route', 'add', '2001:db8:100::/64', 'via', b.ipv6]);
  });
  afterAll(() => topo.destroy());

  it.each([
    { what: 'IPv4 neighbour on the segment', dst: () => b.ipv4, gateway: () => undefined },
    { what: 'IPv4 destination behind a router', dst: () => '198.51.100.7', gateway: () => b.ipv4 },
    { what: 'IPv6 neighbour on the segment', dst: () => b.ipv6, gateway: () => undefined },
    { what: 'IPv6 destination behind a router', dst: () => '2001:db8:100::7', gateway: () => b.ipv6 },
  ])('$what', async ({ dst, gateway }) => {
    const route = await nl.routes.get(dst());
    expect(route).toMatchObject({ index: eth, family: dst().includes(':') ? 6 : 4 });
    expect(route?.gateway).toBe(gateway());
    const [ip] = await topo.json<IpRoute>(a.ns, 'ip', ['route', 'get', dst()]);
    expect(ip?.gateway).toBe(gateway());
    expect(ip?.dev).toBe(a.dev);
  });

  it('answers undefined when nothing routes the destination', async () => {
    expect(await nl.routes.get('203.0.113.9')).toBeUndefined();
    expect(await nl.routes.get('2001:db8:ffff::9')).toBeUndefined();
  });
});
