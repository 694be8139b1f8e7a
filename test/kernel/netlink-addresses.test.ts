// Kernel test of nl.addresses: add, replace, delete and list of IPv4 and IPv6 interface addresses,
// checked against `ip -j address`; adding an address twice is EEXIST, replacing it twice is fine.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NetlinkError, type Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import type { IpAddressInfo, IpAddressLink } from '../helpers/iproute-json.js';
import { Topology } from '../helpers/topology.js';

describeKernel('netlink addresses', ['ip'], () => {
  const topo = new Topology('addrs');
  let ns: string;
  let nl: Netlink;

  const ipAddresses = async (dev: string): Promise<IpAddressInfo[]> =>
    (await topo.json<IpAddressLink>(ns, 'ip', ['address', 'show', 'dev', dev]))[0]?.addr_info ?? [];
  const ipCidrs = async (dev: string, family?: 'inet' | 'inet6'): Promise<string[]> =>
    (await ipAddresses(dev)).filter((a) => !family || a.family === family).map((a) => `${a.local}/${a.prefixlen}`);

  beforeAll(async () => {
    ns = await topo.namespace('a');
    const peer = await topo.namespace('b');
    await topo.veth({ ns, dev: 'eth0' }, { ns: peer, dev: 'eth0' });
    nl = topo.netlink(ns);
  });
  afterAll(() => topo.destroy());

  it.each([
    ['IPv4', '192.0.2.1/24'],
    ['IPv6', '2001:db8:1::1/64'],
  ])('adds an %s address', async (_family, cidr) => {
    await nl.addresses.add('eth0', cidr);
    expect(await ipCidrs('eth0')).toContain(cidr);
  });

  it('adds IPv6 addresses without duplicate address detection (never tentative)', async () => {
    const address = (await ipAddresses('eth0')).find((a) => a.local === '2001:db8:1::1');
    expect(address).toMatchObject({ nodad: true, scope: 'global' });
    expect(address?.tentative).toBeUndefined();
  });

  it.each([
    ['IPv4', '192.0.2.1/24'],
    ['IPv6', '2001:db8:1::1/64'],
  ])('refuses to add an %s address that is already there with EEXIST', async (_family, cidr) => {
    const error = await nl.addresses.add('eth0', cidr).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({ code: 'EEXIST', errno: 17, operation: 'address.add' });
    expect((error as NetlinkError).target).toContain(cidr);
  });

  it.each([
    ['IPv4', '198.51.100.1/24'],
    ['IPv6', '2001:db8:2::1/64'],
  ])('replaces an %s address: creates it, and repeating is harmless', async (_family, cidr) => {
    await nl.addresses.replace('eth0', cidr);
    await nl.addresses.replace('eth0', cidr);
    expect((await ipCidrs('eth0')).filter((c) => c === cidr)).toHaveLength(1);
  });

  it('lists the same addresses as ip, per device and per family', async () => {
    const ours = await nl.addresses.list({ dev: 'eth0' });
    expect(ours.map((a) => a.cidr).sort()).toEqual((await ipCidrs('eth0')).sort());
    expect((await nl.addresses.list({ dev: 'eth0', family: 4 })).map((a) => a.cidr).sort()).toEqual((await ipCidrs('eth0', 'inet')).sort());
    expect((await nl.addresses.list({ dev: 'eth0', family: 6 })).map((a) => a.cidr).sort()).toEqual((await ipCidrs('eth0', 'inet6')).sort());

    const index = (await nl.links.get('eth0'))!.index;
    expect(ours.find((a) => a.cidr === '192.0.2.1/24')).toEqual({ index, family: 4, cidr: '192.0.2.1/24', scope: 0, tentative: false });
    expect(ours.find((a) => a.cidr === '2001:db8:1::1/64')).toEqual({ index, family: 6, cidr: '2001:db8:1::1/64', scope: 0, tentative: false });
  });

  it('lists every device when no device is given, loopback included', async () => {
    const all = await nl.addresses.list();
    expect(all.map((a) => a.cidr)).toEqual(expect.arrayContaining(['127.0.0.1/8', '::1/128', '192.0.2.1/24', '2001:db8:1::1/64']));
  });

  it('reports an IPv6 address still in duplicate address detection as tentative, as ip does', async () => {
    await topo.ip(ns, ['address', 'add', '2001:db8:3::1/64', 'dev', 'eth0']); // with DAD (≥ 1 s)
    const ours = (await nl.addresses.list({ dev: 'eth0', family: 6 })).find((a) => a.cidr === '2001:db8:3::1/64');
    const theirs = (await ipAddresses('eth0')).find((a) => a.local === '2001:db8:3::1');
    expect(theirs?.tentative).toBe(true);
    expect(ours?.tentative).toBe(true);
  });

  it.each([
    ['IPv4', '192.0.2.1/24'],
    ['IPv6', '2001:db8:1::1/64'],
  ])('deletes an %s address', async (_family, cidr) => {
    await nl.addresses.delete('eth0', cidr);
    expect(await ipCidrs('eth0')).not.toContain(cidr);
    expect((await nl.addresses.list({ dev: 'eth0' })).map((a) => a.cidr)).not.toContain(cidr);
  });

  it('answers EADDRNOTAVAIL when deleting an address that is not there', async () => {
    await expect(nl.addresses.delete('eth0', '192.0.2.1/24')).rejects.toMatchObject({ code: 'EADDRNOTAVAIL', operation: 'address.delete' });
  });
});
