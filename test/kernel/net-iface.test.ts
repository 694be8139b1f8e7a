// Underlay selection against a real kernel, inside a node namespace with two interfaces: eth0 on
// the shared underlay (192.0.2.10, 2001:db8:0:1::a, MTU 9000) and eth1 towards a "gateway"
// namespace (198.51.100.2) that carries the default route. Every rule of flannel's order, the
// --public-ip override, dual stack, and the errors that name what was tried.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { selectUnderlay, selectUnderlayIn, UnderlayError } from '../../src/net/iface.js';
import type { Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import { namespacesWithPrefix, Topology, type UnderlayNode } from '../helpers/topology.js';

describeKernel('underlay interface selection', [], () => {
  const topo = new Topology('iface');
  let node: UnderlayNode;
  let gwNs = '';
  let nl: Netlink;
  let eth0Index = 0;
  let eth1Index = 0;

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    gwNs = await topo.namespace('gw');
    await topo.ip(node.ns, ['link', 'set', 'eth0', 'mtu', '9000']);
    await topo.veth({ ns: node.ns, dev: 'eth1', addresses: ['198.51.100.2/24'] }, { ns: gwNs, dev: 'eth0', addresses: ['198.51.100.1/24'] });
    await topo.ip(node.ns, ['route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'eth1']);
    nl = topo.netlink(node.ns);
    const links = await topo.json<{ ifname: string; ifindex: number }>(node.ns, 'ip', ['link', 'show']);
    eth0Index = links.find((l) => l.ifname === 'eth0')!.ifindex;
    eth1Index = links.find((l) => l.ifname === 'eth1')!.ifindex;
  });

  afterAll(() => {
    const prefix = topo.prefix;
    topo.destroy();
    expect(namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('without flags takes the default route\'s interface', async () => {
    expect(await selectUnderlay(nl)).toEqual({
      underlay: { name: 'eth1', index: eth1Index, mtu: 1500, address: '198.51.100.2' },
      publicIP: '198.51.100.2',
      chosenBy: 'default route',
    });
  });

  it('--iface by name or by address, tried in order', async () => {
    const byName = await selectUnderlay(nl, { iface: ['nope0', 'eth0'] });
    expect(byName).toEqual({ underlay: { name: 'eth0', index: eth0Index, mtu: 9000, address: '192.0.2.10' }, publicIP: '192.0.2.10', chosenBy: '--iface eth0' });
    const byAddress = await selectUnderlay(nl, { iface: ['192.0.2.99', '198.51.100.2'] });
    expect(byAddress.underlay).toMatchObject({ name: 'eth1', address: '198.51.100.2' });
    expect(byAddress.chosenBy).toBe('--iface 198.51.100.2');
    // A v6 address selects its interface; the v4 address is the interface's own.
    expect((await selectUnderlay(nl, { iface: [node.ipv6], ipv6: true })).underlay).toEqual({ name: 'eth0', index: eth0Index, mtu: 9000, address: '192.0.2.10', addressV6: node.ipv6 });
  });

  it('--iface-regex matches addresses first, then names', async () => {
    expect((await selectUnderlay(nl, { ifaceRegex: ['^192\\.0\\.2\\.'] })).underlay.name).toBe('eth0');
    expect((await selectUnderlay(nl, { ifaceRegex: ['^nomatch', 'th1$'] })).underlay.name).toBe('eth1');
    // --iface first, then the regex.
    expect((await selectUnderlay(nl, { iface: ['nope0'], ifaceRegex: ['^eth0$'] })).chosenBy).toBe('--iface-regex ^eth0$');
  });

  it('--public-ip and --public-ipv6 replace what is published, not the interface', async () => {
    const chosen = await selectUnderlay(nl, { iface: ['eth0'], publicIP: '203.0.113.7', publicIPv6: '2001:db8:ffff::7', ipv6: true });
    expect(chosen).toMatchObject({ publicIP: '203.0.113.7', publicIPv6: '2001:db8:ffff::7', underlay: { name: 'eth0', address: '192.0.2.10', addressV6: node.ipv6 } });
  });

  it('names everything it tried when nothing matches', async () => {
    const error = await selectUnderlay(nl, { iface: ['nope0', '192.0.2.99'], ifaceRegex: ['^wlan'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnderlayError);
    expect((error as UnderlayError).tried).toEqual([
      '--iface nope0: no such interface',
      '--iface 192.0.2.99: no interface holds this address',
      '--iface-regex ^wlan: no interface address or name matches',
    ]);
    expect((error as Error).message).toBe('no usable underlay interface: --iface nope0: no such interface; --iface 192.0.2.99: no interface holds this address; --iface-regex ^wlan: no interface address or name matches');
    // Dual stack needs an IPv6 address on the chosen interface: eth1 has none.
    await expect(selectUnderlay(nl, { iface: ['eth1'], ipv6: true })).rejects.toThrow('--iface eth1: eth1 has no global IPv6 address (dual stack)');
    // Loopback is never an underlay.
    await expect(selectUnderlay(nl, { iface: ['lo'] })).rejects.toThrow('--iface lo: loopback is never an underlay');
  });

  it('without a default route asks for --iface (opening its own handle in the namespace)', async () => {
    await topo.ip(node.ns, ['route', 'del', 'default']);
    try {
      await expect(selectUnderlayIn({}, { netns: node.ns })).rejects.toThrow('no usable underlay interface: default route: there is no IPv4 default route (give --iface or --iface-regex)');
      expect((await selectUnderlayIn({ iface: ['eth0'] }, { netns: node.ns })).underlay.name).toBe('eth0');
    } finally {
      await topo.ip(node.ns, ['route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'eth1']);
    }
  });
});
