// End to end: `weft daemon --backend=bgp` in a dual-stack cluster (lab --ipv6). Each node announces
// its IPv4 and IPv6 podCIDRs over one IPv4 session per peer (MP-BGP, RFC 4760) with its own IPv6
// address as the IPv6 next hop; the others install both as proto 87 routes. Every pod reaches
// every other pod over both families, natively.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor } from '../helpers/lab-probes.js';

const id = () => `wd${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
}

describeKernel('weft daemon --backend=bgp, dual stack (lab --ipv6)', ['etcd', 'etcdctl', 'ping'], () => {
  let lab: Lab;
  const routes = async (node: number, family: '-4' | '-6'): Promise<Route[]> =>
    JSON.parse(await run('ip', [family, '-j', '-n', lab.nodeLayout(node).netns, 'route', 'show', 'proto', '87'])) as Route[];

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', ipv6: true, nodes: 3, podsPerNode: 1, resync: '1s' });
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('installs every other node\'s IPv6 podCIDR via that node\'s IPv6 address, next to the IPv4 one', async () => {
    const statuses = await Promise.all(lab.state.nodes.map(async (n) => ({ node: n, status: (await lab.daemonStatus(n.index)) as DaemonStatus & { ipv6Subnet?: string } })));
    for (const { node } of statuses) {
      const others = statuses.filter((s) => s.node !== node);
      await waitFor(`node${node.index}'s IPv6 routes`, async () => (await routes(node.index, '-6')).length === others.length);
      const v6 = (await routes(node.index, '-6')).map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }));
      const expected = others.map((o) => ({ dst: o.status.ipv6Subnet, gateway: o.node.ipv6, dev: 'eth0' }));
      expect(v6.sort((a, b) => a.dst.localeCompare(b.dst))).toEqual(expected.sort((a, b) => String(a.dst).localeCompare(String(b.dst))));
      expect(await routes(node.index, '-4')).toHaveLength(others.length);
    }
  });

  it('negotiates both families with each peer and counts both podCIDRs', async () => {
    await waitFor('node1 peers with 2 prefixes each', async () => {
      const peers = ((await lab.daemonStatus(1)) as DaemonStatus).bgp?.peers ?? [];
      return peers.length === 2 && peers.every((p) => p.state === 'Established' && p.prefixesAccepted === 2);
    });
    const peers = ((await lab.daemonStatus(1)) as DaemonStatus).bgp!.peers;
    for (const p of peers) expect(p).toMatchObject({ families: ['ipv4', 'ipv6'], prefixesAdvertised: 2, kind: 'node' });
  });

  it('gives every pod a working path to every pod on the other nodes, over IPv4 and IPv6', async () => {
    for (const family of [4, 6] as const) {
      const results = await lab.connectivity({ family });
      expect(results.filter((r) => !r.ok), `IPv${family}`).toEqual([]);
      expect(results).toHaveLength(3 * 2);
    }
  });
});
