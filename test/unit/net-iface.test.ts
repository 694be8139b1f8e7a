// Unit tests of underlay selection over an injected Netlink view: the orders flannel uses (lowest
// metric default route, multipath next hops, regex on addresses before names) without a kernel.
import { describe, expect, it } from 'vitest';
import { selectUnderlay, UnderlayError, type UnderlayNetlink } from '../../src/net/iface.js';
import type { AddressInfo, LinkInfo, RouteInfo } from '../../src/netlink/index.js';

function link(index: number, name: string, mtu = 1500): LinkInfo {
  return { index, name, mtu, up: true, lowerUp: true };
}
function addr(index: number, cidr: string, scope = 0): AddressInfo {
  return { index, family: cidr.includes(':') ? 6 : 4, cidr, scope, tentative: false };
}
function defaultRoute(fields: Partial<RouteInfo>): RouteInfo {
  return { family: 4, dst: '0.0.0.0/0', table: 254, protocol: 4, scope: 0, type: 'unicast', onlink: false, ...fields };
}

function fake(links: LinkInfo[], addresses: AddressInfo[], routes: RouteInfo[]): UnderlayNetlink {
  return {
    links: { list: () => Promise.resolve(links) },
    addresses: { list: () => Promise.resolve(addresses) },
    routes: { list: () => Promise.resolve(routes) },
  };
}

const LINKS = [link(1, 'lo', 65536), link(2, 'eth0'), link(3, 'eth1', 9000), link(4, 'en192')];
const ADDRS = [addr(1, '127.0.0.1/8', 254), addr(2, '192.0.2.10/24'), addr(2, 'fe80::1/64', 253), addr(3, '198.51.100.2/24'), addr(3, '2001:db8::2/64'), addr(4, '203.0.113.4/24')];

describe('selectUnderlay (injected netlink)', () => {
  it('takes the lowest-metric default route, and a multipath route\'s first next hop', async () => {
    const routes = [defaultRoute({ index: 2, metric: 200 }), defaultRoute({ index: 3, metric: 100 }), defaultRoute({ type: 'unreachable', metric: 1 })];
    expect((await selectUnderlay(fake(LINKS, ADDRS, routes))).underlay).toEqual({ name: 'eth1', index: 3, mtu: 9000, address: '198.51.100.2' });
    const multipath = [defaultRoute({ nexthops: [{ index: 4, onlink: false, weight: 1 }, { index: 2, onlink: false, weight: 1 }] })];
    expect((await selectUnderlay(fake(LINKS, ADDRS, multipath))).underlay.name).toBe('en192');
  });

  it('matches a regex against addresses before names', async () => {
    // "192" is in eth0's address and in en192's name: the address wins.
    expect((await selectUnderlay(fake(LINKS, ADDRS, []), { ifaceRegex: ['192'] })).chosenBy).toBe('--iface-regex 192');
    expect((await selectUnderlay(fake(LINKS, ADDRS, []), { ifaceRegex: ['192'] })).underlay.name).toBe('eth0');
  });

  it('ignores link-local IPv6 and wants a global one for dual stack', async () => {
    await expect(selectUnderlay(fake(LINKS, ADDRS, []), { iface: ['eth0'], ipv6: true })).rejects.toThrow(UnderlayError);
    expect((await selectUnderlay(fake(LINKS, ADDRS, []), { iface: ['eth0', 'eth1'], ipv6: true })).underlay).toMatchObject({ name: 'eth1', addressV6: '2001:db8::2' });
    // --public-ipv6 stands in for a missing interface address.
    expect(await selectUnderlay(fake(LINKS, ADDRS, []), { iface: ['eth0'], ipv6: true, publicIPv6: '2001:db8::99' })).toMatchObject({ publicIPv6: '2001:db8::99', underlay: { name: 'eth0' } });
  });

  it('never falls back to the default route after an explicit choice', async () => {
    const error = (await selectUnderlay(fake(LINKS, ADDRS, [defaultRoute({ index: 2 })]), { iface: ['wlan0'] }).catch((e: unknown) => e)) as UnderlayError;
    expect(error).toBeInstanceOf(UnderlayError);
    expect(error.tried).toEqual(['--iface wlan0: no such interface']);
  });

  it('reports an interface without IPv4 and moves on', async () => {
    const links = [...LINKS, link(5, 'v6only')];
    const addresses = [...ADDRS, addr(5, '2001:db8:5::1/64')];
    const chosen = await selectUnderlay(fake(links, addresses, []), { iface: ['v6only', '2001:db8:5::1', 'eth0'] });
    expect(chosen.underlay.name).toBe('eth0');
    await expect(selectUnderlay(fake(links, addresses, []), { iface: ['v6only'] })).rejects.toThrow('--iface v6only: v6only has no global IPv4 address');
  });
});
