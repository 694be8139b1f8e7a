// Kernel test of nl.fdb: permanent forwarding-database entries in a VXLAN device's own table
// (AF_BRIDGE, NTF_SELF) towards IPv4 and IPv6 tunnel endpoints, replaced, moved, listed and
// deleted, checked against `bridge -j fdb`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import type { BridgeFdb } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

describeKernel('netlink fdb', ['ip', 'bridge'], () => {
  const topo = new Topology('fdb');
  let node: UnderlayNode;
  let nl: Netlink;

  const bridgeFdb = async (dev: string): Promise<BridgeFdb[]> =>
    (await topo.json<BridgeFdb>(node.ns, 'bridge', ['fdb', 'show', 'dev', dev])).filter((e) => e.dst !== undefined);

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    nl = topo.netlink(node.ns);
    await nl.links.createVxlan({ name: 'vx4', vni: 1, port: 8472, local: node.ipv4, underlay: node.dev, learning: false });
    await nl.links.createVxlan({ name: 'vx6', vni: 2, port: 8472, local: node.ipv6, underlay: node.dev, learning: false });
    await nl.links.set('vx4', { up: true });
    await nl.links.set('vx6', { up: true });
  });
  afterAll(() => topo.destroy());

  it.each([
    ['IPv4', 'vx4', '02:00:5e:10:00:01', '198.51.100.7'],
    ['IPv6', 'vx6', '02:00:5e:10:00:02', '2001:db8:5::7'],
  ])('replaces a permanent self entry towards an %s endpoint, and repeating it is harmless', async (_family, dev, mac, dst) => {
    await nl.fdb.replace({ dev, mac, dst });
    await nl.fdb.replace({ dev, mac, dst });
    expect(await bridgeFdb(dev)).toEqual([{ mac, dst, flags: ['self'], state: 'permanent' }]);
  });

  it('moves a MAC to another endpoint when replaced with a new dst', async () => {
    await nl.fdb.replace({ dev: 'vx4', mac: '02:00:5e:10:00:01', dst: '198.51.100.8' });
    expect((await bridgeFdb('vx4')).map((e) => e.dst)).toEqual(['198.51.100.8']);
  });

  it('lists the same entries as bridge fdb, with device index, dst and flags', async () => {
    const vx4 = (await nl.links.get('vx4'))!.index;
    const vx6 = (await nl.links.get('vx6'))!.index;
    expect(await nl.fdb.list({ dev: 'vx4' })).toEqual([{ index: vx4, mac: '02:00:5e:10:00:01', dst: '198.51.100.8', self: true, permanent: true, state: ['permanent'] }]);
    expect(await nl.fdb.list({ dev: 'vx6' })).toEqual([{ index: vx6, mac: '02:00:5e:10:00:02', dst: '2001:db8:5::7', self: true, permanent: true, state: ['permanent'] }]);

    const all = await nl.fdb.list();
    const theirs = await topo.json<BridgeFdb>(node.ns, 'bridge', ['fdb', 'show']);
    expect(all.map((e) => `${e.mac} ${e.dst ?? '-'}`).sort()).toEqual(theirs.map((e) => `${e.mac} ${e.dst ?? '-'}`).sort());
  });

  it('keeps several endpoints for the all-zeros MAC (flooding list) when given with append semantics by ip', async () => {
    // A flood list is made of several 00:00:00:00:00:00 entries (bridge fdb append); weft lists them all.
    for (const dst of ['198.51.100.21', '198.51.100.22']) {
      await topo.bridge(node.ns, ['fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx4', 'dst', dst]);
    }
    const flood = (await nl.fdb.list({ dev: 'vx4' })).filter((e) => e.mac === '00:00:00:00:00:00');
    expect(flood.map((e) => e.dst).sort()).toEqual(['198.51.100.21', '198.51.100.22']);
  });

  it('deletes one endpoint of a MAC by dst, leaving the others', async () => {
    await nl.fdb.delete({ dev: 'vx4', mac: '00:00:00:00:00:00', dst: '198.51.100.21' });
    expect((await bridgeFdb('vx4')).filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst)).toEqual(['198.51.100.22']);
  });

  it.each([
    ['IPv4', 'vx4', '02:00:5e:10:00:01', '198.51.100.8'],
    ['IPv6', 'vx6', '02:00:5e:10:00:02', '2001:db8:5::7'],
  ])('deletes an entry towards an %s endpoint', async (_family, dev, mac, dst) => {
    await nl.fdb.delete({ dev, mac, dst });
    expect((await bridgeFdb(dev)).map((e) => e.mac)).not.toContain(mac);
    expect((await nl.fdb.list({ dev })).map((e) => e.mac)).not.toContain(mac);
  });

  it('deletes an entry by MAC alone', async () => {
    await nl.fdb.replace({ dev: 'vx4', mac: '02:00:5e:10:00:03', dst: '198.51.100.9' });
    await nl.fdb.delete({ dev: 'vx4', mac: '02:00:5e:10:00:03' });
    expect((await bridgeFdb('vx4')).map((e) => e.mac)).not.toContain('02:00:5e:10:00:03');
  });

  it('answers ENOENT when deleting an entry that is not there', async () => {
    await expect(nl.fdb.delete({ dev: 'vx4', mac: '02:00:5e:10:00:99', dst: '198.51.100.99' })).rejects.toMatchObject({ code: 'ENOENT', operation: 'fdb.delete' });
  });
});
