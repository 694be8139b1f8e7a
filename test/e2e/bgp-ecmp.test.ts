// End to end: ECMP through two ToRs — the lab with `tor: 'frr', tors: 2`: two FRR eBGP ToRs
// (tor1 192.0.2.2, tor2 192.0.2.3, both AS 65000, each in a namespace of its own on the underlay
// bridge) and every node peering with both. Both ToRs announce each remote podCIDR with the same
// AS_PATH and themselves as next hop, so a node must install ONE route with two next hops, and
// pod traffic must flow through it. When tor1 fails (link down, then its daemons killed: no
// Cease reaches the nodes), BFD must notice within about a second, the route must shrink to tor2
// alone and pods must still reach each other.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes, type RouteJson } from '../helpers/lab-probes.js';

const id = () => `we${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

type MultipathRoute = RouteJson & { nexthops?: { gateway?: string; dev?: string }[] };

/** node `index`'s route to `subnet` as "via A" or "via A+B" (next hops sorted). */
async function routeTo(lab: Lab, index: number, subnet: string): Promise<string | undefined> {
  const route = ((await weftRoutes(lab, index)) as MultipathRoute[]).find((r) => r.dst === subnet);
  if (!route) return undefined;
  const gateways = route.nexthops ? route.nexthops.map((h) => h.gateway ?? '?') : [route.gateway ?? '?'];
  return `via ${gateways.sort().join('+')}`;
}

describeKernel('ECMP through two FRR ToRs (lab --tor=frr --tors=2)', ['etcd', 'etcdctl', 'ping', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'], () => {
  let lab: Lab;
  let nodes: { index: number; subnet: string }[];

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'frr', tors: 2, nodes: 2, podsPerNode: 1, resync: '1s', logLevel: 'debug' });
    nodes = await Promise.all(lab.state.nodes.map(async (n) => ({ index: n.index, subnet: ((await lab.daemonStatus(n.index)) as { subnet: string }).subnet })));
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('installs one route per remote podCIDR with both ToRs as next hops', async () => {
    for (const node of nodes) {
      const other = nodes.find((o) => o !== node)!;
      await waitFor(`node${node.index}: ${other.subnet} via both ToRs`, async () => (await routeTo(lab, node.index, other.subnet)) === 'via 192.0.2.2+192.0.2.3', 20_000);
      expect((await weftRoutes(lab, node.index)).filter((r) => r.dst === other.subnet)).toHaveLength(1);
    }
  });

  it('carries pod traffic over the multipath route', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(2);
  });

  it('keeps the other path when one ToR fails', async () => {
    // BFD only resets BGP after it has been Up (a session that never came up changes nothing).
    await waitFor('BFD up between tor1 and every node', async () => {
      const peers = JSON.parse(await lab.vtysh(1, 'show bfd peers json')) as { peer?: string; status?: string }[];
      return lab.state.nodes.every((n) => peers.some((p) => p.peer === n.ip && p.status === 'up'));
    }, 10_000);
    // The link goes down at once; killing the daemons afterwards may take a while (reaping).
    const failed = Date.now();
    const stopping = lab.stopTor(1);
    for (const node of nodes) {
      const other = nodes.find((o) => o !== node)!;
      await waitFor(`node${node.index}: ${other.subnet} via tor2 only`, async () => (await routeTo(lab, node.index, other.subnet)) === 'via 192.0.2.3', 20_000);
    }
    const converged = Date.now() - failed;
    await stopping;
    // BFD (300 ms × 3) noticed it, not a BGP hold time.
    expect(converged).toBeLessThan(3000);
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
