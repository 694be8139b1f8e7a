// Kernel test of nl.routes, IPv4 and IPv6: replace/delete/list with gateway, device, onlink,
// table (also an id above 255, which does not fit rtm_table), protocol, metric, scope, preferred
// source, blackhole/unreachable types and weighted multipath — each checked against `ip -j route`.
// Also pins down ownership: every route weft writes carries RTPROT_WEFT, a delete only matches
// weft's routes, and list({protocol: RTPROT_WEFT}) shows nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkError, RTPROT_WEFT, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, type Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import { isWeftProtocol, type IpRoute } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

const RTPROT_STATIC = 4;

describeKernel('netlink routes', ['ip'], () => {
  const topo = new Topology('routes');
  let a: UnderlayNode;
  let b: UnderlayNode;
  let c: UnderlayNode;
  let nl: Netlink;
  let eth: number;

  /** What `ip -j route show [table T] DST` says about one prefix (family from the prefix). */
  const ipRoute = async (dst: string, table?: number): Promise<IpRoute[]> =>
    topo.json<IpRoute>(a.ns, 'ip', [dst.includes(':') ? '-6' : '-4', 'route', 'show', ...(table === undefined ? [] : ['table', String(table)]), dst]);

  beforeAll(async () => {
    [a, b, c] = (await topo.underlay(['a', 'b', 'c'])) as [UnderlayNode, UnderlayNode, UnderlayNode];
    nl = topo.netlink(a.ns);
    eth = (await nl.links.get(a.dev))!.index;
  });
  afterAll(() => topo.destroy());

  describe.each([
    { family: 4, dst: '198.51.100.0/24', via: () => b.ipv4, outside: '198.18.0.1', src: () => a.ipv4 },
    { family: 6, dst: '2001:db8:100::/64', via: () => b.ipv6, outside: '2001:db8:ffff::1', src: () => a.ipv6 },
  ])('IPv$family', ({ family, dst, via, outside, src }) => {
    it('replaces a route via a gateway on a device, marked with RTPROT_WEFT', async () => {
      await nl.routes.replace({ dst, gateway: via(), dev: a.dev });
      const [route, ...rest] = await ipRoute(dst);
      expect(rest).toEqual([]);
      expect(route).toMatchObject({ dst, gateway: via(), dev: a.dev });
      expect(isWeftProtocol(route?.protocol)).toBe(true);
      expect(route?.flags).not.toContain('onlink');
    });

    it('replaces the route in place: repeating it or changing the gateway leaves one route', async () => {
      await nl.routes.replace({ dst, gateway: via(), dev: a.dev });
      await nl.routes.replace({ dst, gateway: family === 4 ? c.ipv4 : c.ipv6, dev: a.dev });
      expect((await ipRoute(dst)).map((r) => r.gateway)).toEqual([family === 4 ? c.ipv4 : c.ipv6]);
    });

    it('lists the route as ip shows it', async () => {
      const ours = (await nl.routes.list({ family: family as 4 | 6, protocol: RTPROT_WEFT })).filter((r) => r.dst === dst);
      expect(ours).toEqual([
        expect.objectContaining({ family, dst, gateway: family === 4 ? c.ipv4 : c.ipv6, index: eth, table: 254, protocol: RTPROT_WEFT, type: 'unicast', scope: RT_SCOPE_UNIVERSE, onlink: false }),
      ]);
    });

    it('installs a gateway outside every connected prefix when asked for onlink', async () => {
      const onlinkDst = family === 4 ? '198.18.10.0/24' : '2001:db8:110::/64';
      await nl.routes.replace({ dst: onlinkDst, gateway: outside, dev: a.dev, onlink: true });
      const [route] = await ipRoute(onlinkDst);
      expect(route).toMatchObject({ dst: onlinkDst, gateway: outside, dev: a.dev });
      expect(route?.flags).toContain('onlink');
      expect((await nl.routes.list({ protocol: RTPROT_WEFT })).find((r) => r.dst === onlinkDst)).toMatchObject({ gateway: outside, onlink: true, index: eth });
    });

    it('replaces a device-only route with link scope, as ip route chooses', async () => {
      const devDst = family === 4 ? '198.18.11.0/24' : '2001:db8:111::/64';
      await nl.routes.replace({ dst: devDst, dev: a.dev });
      const [route] = await ipRoute(devDst);
      expect(route).toMatchObject({ dst: devDst, dev: a.dev });
      expect(route?.gateway).toBeUndefined();
      if (family === 4) expect(route?.scope).toBe('link'); // IPv6 routes have no scope of their own
      if (family === 4) expect((await nl.routes.list({ dev: a.dev })).find((r) => r.dst === devDst)?.scope).toBe(RT_SCOPE_LINK);
    });

    it('puts the route into a table above 255 with a metric and a preferred source', async () => {
      await nl.routes.replace({ dst, gateway: via(), dev: a.dev, table: 1000, metric: 77, src: src() });
      const [route] = await ipRoute(dst, 1000);
      expect(route).toMatchObject({ dst, gateway: via(), dev: a.dev, metric: 77, prefsrc: src() });
      expect(await nl.routes.list({ table: 1000, family: family as 4 | 6 })).toEqual([
        expect.objectContaining({ dst, table: 1000, metric: 77, src: src(), gateway: via(), protocol: RTPROT_WEFT }),
      ]);
      expect((await nl.routes.list()).filter((r) => r.table === 1000)).toEqual([]); // default: main table only
      expect((await nl.routes.list({ table: 'all' })).some((r) => r.table === 1000 && r.dst === dst)).toBe(true);
    });

    it('keeps two routes to one prefix apart by metric', async () => {
      await nl.routes.replace({ dst, gateway: via(), dev: a.dev, table: 1000, metric: 78 });
      expect((await ipRoute(dst, 1000)).map((r) => r.metric).sort()).toEqual([77, 78]);
      await nl.routes.delete({ dst, table: 1000, metric: 78 });
      expect((await ipRoute(dst, 1000)).map((r) => r.metric)).toEqual([77]);
    });

    it('uses a small table id in rtm_table and names the protocol it is given', async () => {
      await nl.routes.replace({ dst, gateway: via(), dev: a.dev, table: 100, protocol: RTPROT_STATIC });
      expect(await ipRoute(dst, 100)).toEqual([expect.objectContaining({ dst, gateway: via(), protocol: 'static' })]);
      expect((await nl.routes.list({ table: 100, family: family as 4 | 6 })).map((r) => r.protocol)).toEqual([RTPROT_STATIC]);
    });

    it.each(['blackhole', 'unreachable'] as const)('replaces a %s route', async (type) => {
      const typedDst = family === 4 ? `198.18.12${type === 'blackhole' ? 0 : 1}.0/24` : `2001:db8:12${type === 'blackhole' ? 0 : 1}::/64`;
      await nl.routes.replace({ dst: typedDst, type });
      expect(await ipRoute(typedDst)).toEqual([expect.objectContaining({ type, dst: typedDst })]);
      expect((await nl.routes.list({ protocol: RTPROT_WEFT })).find((r) => r.dst === typedDst)?.type).toBe(type);
      await nl.routes.delete({ dst: typedDst, type });
      expect(await ipRoute(typedDst)).toEqual([]);
    });

    it('replaces a weighted multipath (ECMP) route', async () => {
      const ecmpDst = family === 4 ? '203.0.113.0/24' : '2001:db8:113::/64';
      const gw = (n: UnderlayNode): string => (family === 4 ? n.ipv4 : n.ipv6);
      await nl.routes.replace({ dst: ecmpDst, nexthops: [{ gateway: gw(b), dev: a.dev, weight: 3 }, { gateway: gw(c), dev: a.dev }] });
      const [route] = await ipRoute(ecmpDst);
      expect(route?.nexthops).toEqual([
        { gateway: gw(b), dev: a.dev, weight: 3, flags: [] },
        { gateway: gw(c), dev: a.dev, weight: 1, flags: [] },
      ]);
      expect((await nl.routes.list({ protocol: RTPROT_WEFT })).find((r) => r.dst === ecmpDst)?.nexthops).toEqual([
        { gateway: gw(b), index: eth, weight: 3, onlink: false },
        { gateway: gw(c), index: eth, weight: 1, onlink: false },
      ]);
      expect((await nl.routes.list({ dev: a.dev })).map((r) => r.dst)).toContain(ecmpDst);
    });

    it('replaces a multipath route whose next hops are onlink, with the maximum weight', async () => {
      const ecmpDst = family === 4 ? '203.0.113.128/25' : '2001:db8:114::/64';
      const far = family === 4 ? ['198.18.50.1', '198.18.50.2'] : ['2001:db8:50::1', '2001:db8:50::2'];
      await nl.routes.replace({ dst: ecmpDst, nexthops: far.map((gateway) => ({ gateway, dev: a.dev, onlink: true, weight: 256 })) });
      const [route] = await ipRoute(ecmpDst);
      expect(route?.nexthops?.map((nh) => [nh.gateway, nh.weight, nh.flags])).toEqual(far.map((gateway) => [gateway, 256, ['onlink']]));
    });

    it('deletes a route by destination and table', async () => {
      await nl.routes.delete({ dst, table: 1000 });
      expect(await ipRoute(dst, 1000)).toEqual([]);
      await nl.routes.delete({ dst });
      expect(await ipRoute(dst)).toEqual([]);
    });

    it("neither deletes nor lists a route with another protocol at the same destination", async () => {
      const foreign = family === 4 ? '198.18.130.0/24' : '2001:db8:130::/64';
      await topo.ip(a.ns, ['route', 'add', foreign, 'via', via(), 'dev', a.dev, 'proto', 'static']);
      const error = await nl.routes.delete({ dst: foreign }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NetlinkError);
      expect((error as NetlinkError).code).toBe('ESRCH');
      expect(await ipRoute(foreign)).toEqual([expect.objectContaining({ dst: foreign, protocol: 'static' })]);

      expect((await nl.routes.list({ protocol: RTPROT_WEFT })).map((r) => r.dst)).not.toContain(foreign);
      expect((await nl.routes.list()).find((r) => r.dst === foreign)?.protocol).toBe(RTPROT_STATIC);
      // Asked explicitly for that protocol, the delete does remove it.
      await nl.routes.delete({ dst: foreign, protocol: RTPROT_STATIC });
      expect(await ipRoute(foreign)).toEqual([]);
    });

    it('lists with the protocol filter only routes weft made, and all of them', async () => {
      const ours = await nl.routes.list({ family: family as 4 | 6, protocol: RTPROT_WEFT, table: 'all' });
      expect(ours.length).toBeGreaterThan(0);
      expect(ours.every((r) => r.protocol === RTPROT_WEFT)).toBe(true);
      const theirs = await topo.json<IpRoute>(a.ns, 'ip', [`-${family}`, 'route', 'show', 'table', 'all', 'proto', String(RTPROT_WEFT)]);
      expect(ours.map((r) => r.dst).sort()).toEqual(theirs.map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`)).sort());
    });
  });

  it('writes an explicit scope (host) for a device route', async () => {
    await nl.routes.replace({ dst: '198.18.140.0/24', dev: a.dev, scope: RT_SCOPE_HOST });
    expect((await ipRoute('198.18.140.0/24'))[0]?.scope).toBe('host');
    await nl.routes.replace({ dst: '198.18.140.0/24', dev: a.dev, scope: RT_SCOPE_UNIVERSE });
    expect((await ipRoute('198.18.140.0/24'))[0]?.scope).toBeUndefined(); // universe is not printed
  });

  it('masks host bits of the destination, as ip route does', async () => {
    await nl.routes.replace({ dst: '198.18.141.77/24', dev: a.dev });
    expect((await ipRoute('198.18.141.0/24')).map((r) => r.dst)).toEqual(['198.18.141.0/24']);
    await nl.routes.delete({ dst: '198.18.141.0/24', dev: a.dev });
    expect(await ipRoute('198.18.141.0/24')).toEqual([]);
  });

  it('replaces a default route in a table of its own', async () => {
    await nl.routes.replace({ dst: '0.0.0.0/0', gateway: b.ipv4, dev: a.dev, table: 4000 });
    await nl.routes.replace({ dst: '::/0', gateway: b.ipv6, dev: a.dev, table: 4000 });
    expect(await topo.json<IpRoute>(a.ns, 'ip', ['route', 'show', 'table', '4000'])).toEqual([expect.objectContaining({ dst: 'default', gateway: b.ipv4 })]);
    expect(await topo.json<IpRoute>(a.ns, 'ip', ['-6', 'route', 'show', 'table', '4000'])).toEqual([expect.objectContaining({ dst: 'default', gateway: b.ipv6 })]);
    expect((await nl.routes.list({ table: 4000 })).map((r) => r.dst).sort()).toEqual(['0.0.0.0/0', '::/0']);
  });

  it('refuses a gateway of the other family before asking the kernel', async () => {
    await expect(nl.routes.replace({ dst: '198.18.142.0/24', gateway: b.ipv6, dev: a.dev })).rejects.toThrow(RangeError);
    await expect(nl.routes.replace({ dst: '198.18.142.0/24', nexthops: [{ gateway: b.ipv4, weight: 0 }] })).rejects.toThrow(RangeError);
  });

  it('follows a device that was deleted and recreated under the same name', async () => {
    await topo.ip(a.ns, ['link', 'add', 'tmp0', 'type', 'veth', 'peer', 'name', 'tmp1']);
    await topo.ip(a.ns, ['link', 'set', 'tmp0', 'up']);
    await nl.routes.replace({ dst: '198.18.143.0/24', dev: 'tmp0' }); // caches tmp0's index
    await topo.ip(a.ns, ['link', 'del', 'tmp0']);
    await topo.ip(a.ns, ['link', 'add', 'tmp0', 'type', 'veth', 'peer', 'name', 'tmp1']);
    await topo.ip(a.ns, ['link', 'set', 'tmp0', 'up']);
    await nl.routes.replace({ dst: '198.18.143.0/24', dev: 'tmp0' });
    expect(await ipRoute('198.18.143.0/24')).toEqual([expect.objectContaining({ dev: 'tmp0' })]);
  });
});
