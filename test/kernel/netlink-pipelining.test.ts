// Kernel test of the request engine under load: what the VXLAN backend writes per remote node
// (neighbour + FDB + onlink route) for 2000 nodes, all issued at once with Promise.all on one
// handle, must all land (counted back with ip/bridge -j); dumps issued while those writes are in
// flight must still answer correctly; and doing it all again (replace) is harmless.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { RTPROT_WEFT, type Netlink } from '../../src/netlink/index.js';
import { describeKernel } from '../helpers/env.js';
import type { BridgeFdb, IpLink, IpNeighbour, IpRoute } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

const NODES = 2000;
const DEVICE = 'vx0';

interface RemoteNode {
  vtep: string;
  subnet: string;
  mac: string;
  publicIP: string;
}

/** Remote node i (1…NODES): VTEP and public IP in 198.18.0.0/15, pod subnet a /30 of 198.19.0.0/16. */
function remote(i: number): RemoteNode {
  const [hi, lo] = [i >> 8, i & 255];
  return {
    vtep: `198.18.${hi}.${lo}`,
    subnet: `198.19.${i >> 6}.${(i & 63) << 2}/30`,
    mac: `02:00:5e:01:${hi.toString(16).padStart(2, '0')}:${lo.toString(16).padStart(2, '0')}`,
    publicIP: `198.18.${128 + hi}.${lo}`,
  };
}

describeKernel('netlink pipelining', ['ip', 'bridge'], () => {
  const topo = new Topology('pipe');
  const remotes = Array.from({ length: NODES }, (_, n) => remote(n + 1));
  let node: UnderlayNode;
  let nl: Netlink;

  const writeAll = (): Promise<void[]> =>
    Promise.all(
      remotes.flatMap((r) => [
        nl.neighbours.replace({ dev: DEVICE, ip: r.vtep, mac: r.mac }),
        nl.fdb.replace({ dev: DEVICE, mac: r.mac, dst: r.publicIP }),
        nl.routes.replace({ dst: r.subnet, gateway: r.vtep, dev: DEVICE, onlink: true }),
      ]),
    );

  const counts = async (): Promise<{ neighbours: number; fdb: number; routes: number }> => ({
    neighbours: (await topo.json<IpNeighbour>(node.ns, 'ip', ['neigh', 'show', 'dev', DEVICE, 'nud', 'permanent'])).length,
    fdb: (await topo.json<BridgeFdb>(node.ns, 'bridge', ['fdb', 'show', 'dev', DEVICE])).filter((e) => e.dst !== undefined).length,
    routes: (await topo.json<IpRoute>(node.ns, 'ip', ['route', 'show', 'proto', String(RTPROT_WEFT)])).length,
  });

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    await topo.ip(node.ns, ['link', 'add', DEVICE, 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'local', node.ipv4, 'dev', node.dev, 'nolearning']);
    await topo.ip(node.ns, ['link', 'set', DEVICE, 'up']);
    nl = topo.netlink(node.ns);
  });
  afterAll(() => topo.destroy());

  it(`lands ${NODES} neighbour + FDB + route triples issued concurrently, while dumps are answered correctly`, async () => {
    const links = topo.json<IpLink>(node.ns, 'ip', ['link', 'show']);
    const writes = writeAll();
    // Dumps queued behind and between thousands of writes on the same socket.
    const [linkDump, addressDump, routeDump] = await Promise.all([nl.links.list(), nl.addresses.list({ family: 4 }), nl.routes.list({ protocol: RTPROT_WEFT })]);
    await writes;

    expect(linkDump.map((l) => l.name)).toEqual((await links).map((l) => l.ifname));
    expect(addressDump.map((a) => a.cidr)).toEqual(['127.0.0.1/8', node.cidr4]);
    // Whatever part of the routes had landed when the dump ran, each one is one of ours, intact.
    const bySubnet = new Map(remotes.map((r) => [r.subnet, r]));
    expect(routeDump.length).toBeLessThanOrEqual(NODES);
    for (const route of routeDump) expect(route).toMatchObject({ gateway: bySubnet.get(route.dst)?.vtep, onlink: true });

    expect(await counts()).toEqual({ neighbours: NODES, fdb: NODES, routes: NODES });
  });

  it('answers dumps with every entry once the writes have landed', async () => {
    const [neighbours, fdb, routes] = await Promise.all([nl.neighbours.list({ dev: DEVICE }), nl.fdb.list({ dev: DEVICE }), nl.routes.list({ protocol: RTPROT_WEFT, dev: DEVICE })]);
    expect(neighbours.filter((n) => n.permanent)).toHaveLength(NODES);
    expect(fdb.filter((e) => e.dst !== undefined).map((e) => `${e.mac} ${e.dst}`).sort()).toEqual(remotes.map((r) => `${r.mac} ${r.publicIP}`).sort());
    expect(routes.map((r) => `${r.dst} ${r.gateway}`).sort()).toEqual(remotes.map((r) => `${r.subnet} ${r.vtep}`).sort());
  });

  it('replacing everything again is idempotent: same counts, no errors', async () => {
    await writeAll();
    expect(await counts()).toEqual({ neighbours: NODES, fdb: NODES, routes: NODES });
  });

  it('looks a device up once for any number of concurrent writes naming it', async () => {
    const fresh = topo.netlink(node.ns); // nothing cached yet
    const request = vi.spyOn(fresh.socket, 'request');
    await Promise.all(remotes.slice(0, 500).map((r) => fresh.neighbours.replace({ dev: DEVICE, ip: r.vtep, mac: r.mac })));
    const RTM_GETLINK = 18;
    expect(request.mock.calls.filter(([type]) => type === RTM_GETLINK)).toHaveLength(1);
    expect(request.mock.calls).toHaveLength(501);
  });

  it('deletes everything concurrently, while a dump is in flight', async () => {
    const deletes = Promise.all(
      remotes.flatMap((r) => [
        nl.routes.delete({ dst: r.subnet, dev: DEVICE }),
        nl.fdb.delete({ dev: DEVICE, mac: r.mac, dst: r.publicIP }),
        nl.neighbours.delete({ dev: DEVICE, ip: r.vtep }),
      ]),
    );
    const during = await nl.links.list();
    await deletes;
    expect(during.map((l) => l.name)).toContain(DEVICE);
    expect(await counts()).toEqual({ neighbours: 0, fdb: 0, routes: 0 });
  });
});
