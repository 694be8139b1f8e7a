// End to end: BFD under the BGP backend. Three nodes peer with a BIRD route reflector (lab
// --tor=bird) with `BFD: true`; BIRD runs BFD too. When a node's link dies without a word (its
// bridge port goes down: no FIN, no NOTIFICATION), BFD's 300 ms × 3 detection resets the BGP
// session on both sides, so the dead node's routes leave the kernel in about a second instead of
// after the 90 s hold time. The link coming back brings BFD, the session and the routes back.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';

const id = () => `wf${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

describeKernel('weft --backend=bgp with BFD to a BIRD route reflector (lab --tor=bird)', ['etcd', 'etcdctl', 'ping', 'bird', 'birdc', 'nft'], () => {
  let lab: Lab;
  let subnets: string[];

  const torPeer = async (node: number): Promise<NonNullable<DaemonStatus['bgp']>['peers'][number] | undefined> =>
    ((await lab.daemonStatus(node)) as DaemonStatus).bgp?.peers.find((p) => p.address === '192.0.2.1');

  /** Polls every 10 ms until `check` holds; the elapsed milliseconds. */
  async function timeUntil(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
    const start = performance.now();
    for (;;) {
      if (await check()) return performance.now() - start;
      if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  beforeAll(async () => {
    lab = await Lab.up({
      id: id(),
      runRoot: '/tmp/weft-test-labs',
      backend: 'bgp',
      tor: 'bird',
      nodes: 3,
      podsPerNode: 1,
      resync: '1s',
      backendConfig: { NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 64512, BFD: true }] },
    });
    subnets = await Promise.all(lab.state.nodes.map(async (n) => ((await lab.daemonStatus(n.index)) as { subnet: string }).subnet));
    writeFileSync(
      join(lab.layout.runDir, 'bird.conf'),
      `router id 192.0.2.1;
protocol device {}
protocol bfd { interface "*" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; }; }
protocol bgp tor {
  local 192.0.2.1 as 64512;
  neighbor range 192.0.2.0/24 internal;
  direct;
  rr client;
  bfd on;
  error wait time 1, 2;
  ipv4 { import all; export all; };
}
`,
    );
    await lab.birdc('configure');
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('brings BFD Up with the reflector on every node, shown in /status and /metrics, with the TTL check installed', async () => {
    for (const node of [1, 2, 3]) await waitFor(`node${node}'s BFD Up`, async () => (await torPeer(node))?.bfd?.state === 'Up', 15_000);
    for (const node of [1, 2, 3]) await waitFor(`node${node}'s routes`, async () => (await weftRoutes(lab, node)).length === 2, 15_000);
    expect(await lab.birdc('show', 'bfd', 'sessions')).toMatch(/192\.0\.2\.11\s+\S+\s+Up/);
    const rules = await run('nft', ['list', 'table', 'inet', 'weft-bfd'], { netns: lab.nodeLayout(1).netns });
    expect(rules).toContain('udp dport 3784 ip ttl != 255');
  });

  it('takes a silently dead node\'s routes away on both sides in about a second, and brings them back with the link', async () => {
    const port = lab.nodeLayout(2).bridgePort;
    await run('ip', ['-n', lab.layout.underlayNetns, 'link', 'set', port, 'down']);
    try {
      const [own, others] = await Promise.all([
        timeUntil('node2 to lose its routes', async () => (await weftRoutes(lab, 2)).length === 0),
        timeUntil('node1 and node3 to lose node2\'s podCIDR', async () => {
          const [a, b] = await Promise.all([weftRoutes(lab, 1), weftRoutes(lab, 3)]);
          return !a.some((r) => r.dst === subnets[1]) && !b.some((r) => r.dst === subnets[1]);
        }),
      ]);
      console.log(`BFD failover (300 ms x 3): node2's own routes gone after ${Math.round(own)} ms; the others' route to node2 gone after ${Math.round(others)} ms`);
      expect(own).toBeLessThan(2000);
      expect(others).toBeLessThan(2000);
      const peer = await torPeer(2);
      expect(peer?.bfd).toMatchObject({ state: 'Down', diagnostic: 'Control Detection Time Expired' });
      expect(peer?.lastError).toContain('Cease / BFD Down (6/10) sent');
    } finally {
      await run('ip', ['-n', lab.layout.underlayNetns, 'link', 'set', port, 'up']);
    }
    await waitFor('node2\'s BFD Up again', async () => (await torPeer(2))?.bfd?.state === 'Up', 15_000);
    for (const node of [1, 2, 3]) await waitFor(`node${node}'s routes back`, async () => (await weftRoutes(lab, node)).length === 2, 15_000);
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
