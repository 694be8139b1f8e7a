// Kernel test of nl.neighbours: permanent ARP (IPv4) and NDP (IPv6) entries replaced, updated,
// listed and deleted, checked against `ip -j neigh`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import type { IpNeighbour } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

describeKernel('netlink neighbours', ['ip'], () => {
  const topo = new Topology('neigh');
  let node: UnderlayNode;
  let nl: Netlink;

  const ipNeighbours = (): Promise<IpNeighbour[]> => topo.json<IpNeighbour>(node.ns, 'ip', ['neigh', 'show', 'dev', node.dev, 'nud', 'permanent']);

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    nl = topo.netlink(node.ns);
  });
  afterAll(() => topo.destroy());

  it.each([
    ['IPv4', '192.0.2.50', '02:00:5e:00:01:50'],
    ['IPv6', '2001:db8:0:1::50', '02:00:5e:00:61:50'],
  ])('replaces a permanent %s entry, and repeating it is harmless', async (_family, ip, mac) => {
    await nl.neighbours.replace({ dev: node.dev, ip, mac });
    await nl.neighbours.replace({ dev: node.dev, ip, mac });
    expect((await ipNeighbours()).filter((n) => n.dst === ip)).toEqual([{ dst: ip, lladdr: mac, state: ['PERMANENT'] }]);
  });

  it('overwrites the MAC of an existing entry', async () => {
    await nl.neighbours.replace({ dev: node.dev, ip: '192.0.2.50', mac: '02:00:5e:00:01:51' });
    expect((await ipNeighbours()).find((n) => n.dst === '192.0.2.50')?.lladdr).toBe('02:00:5e:00:01:51');
  });

  it('accepts upper-case MACs and non-canonical IPv6 text', async () => {
    await nl.neighbours.replace({ dev: node.dev, ip: '2001:DB8:0:1:0:0:0:51', mac: '02:00:5E:00:61:51' });
    expect((await ipNeighbours()).find((n) => n.dst === '2001:db8:0:1::51')?.lladdr).toBe('02:00:5e:00:61:51');
  });

  it('lists the same permanent entries as ip, per family', async () => {
    const index = (await nl.links.get(node.dev))!.index;
    const ours = (await nl.neighbours.list({ dev: node.dev })).filter((n) => n.permanent);
    expect(ours.map((n) => ({ dst: n.ip, lladdr: n.mac })).sort(byDst)).toEqual((await ipNeighbours()).map((n) => ({ dst: n.dst, lladdr: n.lladdr })).sort(byDst));
    expect(ours.find((n) => n.ip === '192.0.2.50')).toEqual({ index, family: 4, ip: '192.0.2.50', mac: '02:00:5e:00:01:51', state: ['permanent'], permanent: true });

    const v4 = await nl.neighbours.list({ dev: node.dev, family: 4 });
    const v6 = await nl.neighbours.list({ dev: node.dev, family: 6 });
    expect(v4.every((n) => n.family === 4) && v6.every((n) => n.family === 6)).toBe(true);
    expect(v4.map((n) => n.ip)).toContain('192.0.2.50');
    expect(v6.map((n) => n.ip)).toEqual(expect.arrayContaining(['2001:db8:0:1::50', '2001:db8:0:1::51']));
  });

  it('lists entries of other states too, with their state names', async () => {
    await topo.ip(node.ns, ['neigh', 'replace', '192.0.2.60', 'lladdr', '02:00:5e:00:01:60', 'dev', node.dev, 'nud', 'stale']);
    const entry = (await nl.neighbours.list({ dev: node.dev })).find((n) => n.ip === '192.0.2.60');
    expect(entry).toMatchObject({ state: ['stale'], permanent: false, mac: '02:00:5e:00:01:60' });
  });

  it.each([
    ['IPv4', '192.0.2.50'],
    ['IPv6', '2001:db8:0:1::50'],
  ])('deletes a permanent %s entry', async (_family, ip) => {
    await nl.neighbours.delete({ dev: node.dev, ip });
    expect((await ipNeighbours()).map((n) => n.dst)).not.toContain(ip);
    expect((await nl.neighbours.list({ dev: node.dev })).map((n) => n.ip)).not.toContain(ip);
  });

  it('answers ENOENT when deleting an entry that is not there', async () => {
    await expect(nl.neighbours.delete({ dev: node.dev, ip: '192.0.2.50' })).rejects.toMatchObject({ code: 'ENOENT', operation: 'neighbour.delete' });
  });
});

function byDst(a: { dst: string }, b: { dst: string }): number {
  return a.dst.localeCompare(b.dst);
}
