// End to end: a weft node as the cluster's route reflector (RFC 4456), mesh off. node1 runs with
// --bgp-route-reflector and publishes its cluster ID; node2 and node3 find it in the registry and
// peer with it alone; node1 reflects each client's podCIDR to the other with the owner's address
// kept as next hop, so pod traffic still goes node to node, not through the reflector.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';

const id = () => `wr${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

describeKernel('weft --backend=bgp with a weft node as route reflector (mesh off)', ['etcd', 'etcdctl', 'ping'], () => {
  let lab: Lab;
  const status = async (node: number): Promise<DaemonStatus> => (await lab.daemonStatus(node)) as DaemonStatus;

  beforeAll(async () => {
    lab = await Lab.up({
      id: id(),
      runRoot: '/tmp/weft-test-labs',
      backend: 'bgp',
      nodes: 3,
      podsPerNode: 1,
      resync: '1s',
      backendConfig: { NodeMesh: false },
      nodeDaemonArgs: (index) => (index === 1 ? ['--bgp-route-reflector', '1.0.0.1'] : []),
    });
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('has the clients peer with the reflector only, and the reflector with every client', async () => {
    const [n1, n2, n3] = lab.state.nodes;
    await waitFor('every session Established', async () => {
      const all = await Promise.all([1, 2, 3].map(status));
      return all.every((s) => (s.bgp?.peers ?? []).length > 0 && s.bgp!.peers.every((p) => p.state === 'Established'));
    }, 15_000);
    const reflector = await status(1);
    expect(reflector.bgp?.routeReflector).toBe('1.0.0.1');
    expect(reflector.bgp!.peers.map((p) => p.address).sort()).toEqual([n2!.ip, n3!.ip].sort());
    for (const client of [2, 3]) expect((await status(client)).bgp!.peers.map((p) => p.address)).toEqual([n1!.ip]);
  });

  it('reflects each podCIDR with its owner as next hop: routes go node to node', async () => {
    const subnets = await Promise.all([1, 2, 3].map(async (n) => (await status(n)).subnet));
    for (const node of [1, 2, 3]) {
      await waitFor(`node${node}'s two routes`, async () => (await weftRoutes(lab, node)).length === 2, 10_000);
      const routes = (await weftRoutes(lab, node)).map((r) => [r.dst, r.gateway]).sort();
      const expected = lab.state.nodes.filter((n) => n.index !== node).map((n) => [subnets[n.index - 1], n.ip]).sort();
      expect(routes).toEqual(expected);
    }
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
