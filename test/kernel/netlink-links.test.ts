// Kernel test of nl.links: get and list, creating VXLAN (v4 and v6 local, port, VNI, underlay,
// learning, GBP), bridge and veth devices (also with the peer born in another namespace), setting
// up/down, MTU, MAC and master, and deleting — each result checked against `ip -j -d link`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import type { IpLink } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

describeKernel('netlink links', ['ip'], () => {
  const topo = new Topology('links');
  let node: UnderlayNode;
  let other: string;
  let nl: Netlink;

  const ipLink = async (ns: string, dev: string): Promise<IpLink | undefined> =>
    (await topo.json<IpLink>(ns, 'ip', ['-d', 'link', 'show'])).find((l) => l.ifname === dev);

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    other = await topo.namespace('other');
    nl = topo.netlink(node.ns);
  });
  afterAll(() => topo.destroy());

  it('lists the same devices, indices, MTUs, MACs and up flags as ip link', async () => {
    const ours = await nl.links.list();
    const theirs = await topo.json<IpLink>(node.ns, 'ip', ['link', 'show']);
    expect(ours.map((l) => ({ index: l.index, name: l.name, mtu: l.mtu, mac: l.mac, up: l.up }))).toEqual(
      theirs.map((l) => ({ index: l.ifindex, name: l.ifname, mtu: l.mtu, mac: l.address, up: l.flags.includes('UP') })),
    );
    expect(ours.find((l) => l.name === node.dev)).toMatchObject({ kind: 'veth', up: true, lowerUp: true });
  });

  it('gets a device by name and by index, and undefined for a missing one', async () => {
    const eth = await ipLink(node.ns, node.dev);
    const byName = await nl.links.get(node.dev);
    expect(byName).toMatchObject({ index: eth!.ifindex, name: node.dev, mac: eth!.address, mtu: eth!.mtu, kind: 'veth' });
    expect(await nl.links.get(eth!.ifindex)).toEqual(byName);
    expect(await nl.links.get('no-such-dev')).toBeUndefined();
    expect(await nl.links.get(99_999)).toBeUndefined();
  });

  it('creates a VXLAN device with VNI, port, IPv4 local, underlay, learning off and GBP', async () => {
    await nl.links.createVxlan({ name: 'vx4', vni: 4242, port: 8472, local: node.ipv4, underlay: node.dev, learning: false, gbp: true, mtu: 1400, mac: '02:00:5e:00:00:04' });
    const link = await ipLink(node.ns, 'vx4');
    expect(link?.linkinfo?.info_kind).toBe('vxlan');
    expect(link?.linkinfo?.info_data).toMatchObject({ id: 4242, port: 8472, local: node.ipv4, link: node.dev, learning: false, gbp: true });
    expect(link).toMatchObject({ mtu: 1400, address: '02:00:5e:00:00:04' });

    const eth = await nl.links.get(node.dev);
    expect(await nl.links.get('vx4')).toMatchObject({
      kind: 'vxlan',
      mtu: 1400,
      mac: '02:00:5e:00:00:04',
      vxlan: { vni: 4242, port: 8472, local: node.ipv4, underlayIndex: eth!.index, learning: false, gbp: true },
    });
  });

  it('creates a VXLAN device with an IPv6 local address, learning on and no GBP', async () => {
    await nl.links.createVxlan({ name: 'vx6', vni: 16_777_215, port: 4789, local: node.ipv6, underlay: node.dev, learning: true });
    const data = (await ipLink(node.ns, 'vx6'))?.linkinfo?.info_data;
    expect(data).toMatchObject({ id: 16_777_215, port: 4789, local6: node.ipv6, link: node.dev, learning: true });
    expect(data?.gbp).toBeUndefined();
    expect((await nl.links.get('vx6'))?.vxlan).toMatchObject({ vni: 16_777_215, port: 4789, local: node.ipv6, learning: true, gbp: false });
  });

  it('creates a VXLAN device without local address or underlay', async () => {
    await nl.links.createVxlan({ name: 'vxbare', vni: 7, port: 4789 });
    expect((await ipLink(node.ns, 'vxbare'))?.linkinfo?.info_data).toMatchObject({ id: 7, port: 4789, learning: false });
    const vxlan = (await nl.links.get('vxbare'))?.vxlan;
    expect(vxlan?.local).toBeUndefined();
    expect(vxlan?.underlayIndex).toBeUndefined();
  });

  it('creates a bridge and a veth pair inside one namespace', async () => {
    await nl.links.createBridge('br1', { mtu: 1450 });
    await nl.links.createVeth('va', 'vb', { mtu: 1380 });
    expect(await ipLink(node.ns, 'br1')).toMatchObject({ mtu: 1450, linkinfo: { info_kind: 'bridge' } });
    expect(await ipLink(node.ns, 'va')).toMatchObject({ mtu: 1380, linkinfo: { info_kind: 'veth' } });
    expect(await ipLink(node.ns, 'vb')).toMatchObject({ mtu: 1380, linkinfo: { info_kind: 'veth' } });
    expect((await nl.links.get('br1'))?.kind).toBe('bridge');
  });

  it('creates a veth whose peer is born in another namespace', async () => {
    await nl.links.createVeth('cross0', 'cross1', { peerNetns: other, mtu: 1300 });
    expect(await ipLink(node.ns, 'cross0')).toMatchObject({ mtu: 1300, linkinfo: { info_kind: 'veth' } });
    expect(await ipLink(node.ns, 'cross1')).toBeUndefined();
    expect(await ipLink(other, 'cross1')).toMatchObject({ mtu: 1300, linkinfo: { info_kind: 'veth' } });
    const inOther = topo.netlink(other);
    expect(await inOther.links.get('cross1')).toMatchObject({ kind: 'veth', mtu: 1300 });
  });

  it('sets a device up and down', async () => {
    await nl.links.set('va', { up: true });
    expect((await ipLink(node.ns, 'va'))?.flags).toContain('UP');
    expect((await nl.links.get('va'))?.up).toBe(true);
    await nl.links.set('va', { up: false });
    expect((await ipLink(node.ns, 'va'))?.flags).not.toContain('UP');
    expect((await nl.links.get('va'))?.up).toBe(false);
  });

  it('sets MTU and MAC, leaving the up flag alone', async () => {
    await nl.links.set('vb', { up: true });
    await nl.links.set('vb', { mtu: 1280, mac: '02:00:5e:00:00:0b' });
    const link = await ipLink(node.ns, 'vb');
    expect(link).toMatchObject({ mtu: 1280, address: '02:00:5e:00:00:0b' });
    expect(link?.flags).toContain('UP');
  });

  it('enslaves a device to a bridge and releases it again', async () => {
    await nl.links.set('va', { master: 'br1' });
    expect((await ipLink(node.ns, 'va'))?.master).toBe('br1');
    const bridge = await nl.links.get('br1');
    expect((await nl.links.get('va'))?.master).toBe(bridge!.index);

    await nl.links.set('va', { master: null });
    expect((await ipLink(node.ns, 'va'))?.master).toBeUndefined();
    expect((await nl.links.get('va'))?.master).toBeUndefined();
  });

  it('deletes devices by name and by index', async () => {
    await nl.links.delete('vxbare');
    const vx6 = await nl.links.get('vx6');
    await nl.links.delete(vx6!.index);
    const names = (await topo.json<IpLink>(node.ns, 'ip', ['link', 'show'])).map((l) => l.ifname);
    expect(names).not.toContain('vxbare');
    expect(names).not.toContain('vx6');
    expect(await nl.links.get('vxbare')).toBeUndefined();
  });

  it('sees a device deleted and recreated under the same name by someone else', async () => {
    await nl.links.set('vb', { up: true }); // caches the name → index of vb
    await topo.ip(node.ns, ['link', 'del', 'va']); // deletes the pair va/vb behind weft's back
    await topo.ip(node.ns, ['link', 'add', 'vb', 'type', 'veth', 'peer', 'name', 'vc']);
    await nl.links.set('vb', { mtu: 1290 });
    expect((await ipLink(node.ns, 'vb'))?.mtu).toBe(1290);
    await topo.ip(node.ns, ['link', 'del', 'vb']);
    await topo.ip(node.ns, ['link', 'add', 'vb', 'type', 'veth', 'peer', 'name', 'vc']);
    await nl.neighbours.replace({ dev: 'vb', ip: '192.0.2.200', mac: '02:00:5e:00:00:c8' });
    const neighbours = await topo.json<{ dst: string; dev: string }>(node.ns, 'ip', ['neigh', 'show', 'dev', 'vb']);
    expect(neighbours.map((n) => n.dst)).toEqual(['192.0.2.200']);
  });
});
