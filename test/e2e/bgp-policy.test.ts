// End to end: the BGP backend's import policy and next-hop check against a peer that announces
// what it should not. The lab runs behind BIRD (`tor: 'bird'`), whose configuration is then
// extended to originate: an outside prefix the nodes' Import list allows (installed), one it does
// not (refused), an unregistered cluster prefix and a sub-prefix of node1's podCIDR (refused: only
// a registered node's exact podCIDR is accepted), and the podCIDR of a registered node ("ghost",
// put into etcd by hand) with a next hop nobody can reach (held back and reported pending).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor } from '../helpers/lab-probes.js';

const id = () => `wp${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

interface NodeStatus {
  subnet: string;
  remoteNodes: { name: string; subnet: string; state: string; reason?: string }[];
}

describeKernel('weft --backend=bgp import policy against a misbehaving peer (lab --tor=bird)', ['etcd', 'etcdctl', 'ping', 'bird', 'birdc'], () => {
  let lab: Lab;
  let subnets: string[];
  let ghost: string;
  let unregistered: string;
  let subPrefix: string;

  const routes = async (node: number): Promise<{ dst: string; gateway?: string }[]> =>
    JSON.parse(await run('ip', ['-j', '-n', lab.nodeLayout(node).netns, 'route', 'show', 'proto', '87'])) as { dst: string; gateway?: string }[];

  beforeAll(async () => {
    lab = await Lab.up({
      id: id(),
      runRoot: '/tmp/weft-test-labs',
      backend: 'bgp',
      tor: 'bird',
      nodes: 3,
      podsPerNode: 1,
      resync: '1s',
      backendConfig: { NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 64512, Import: ['198.51.100.0/24'] }] },
    });
    subnets = await Promise.all(lab.state.nodes.map(async (n) => ((await lab.daemonStatus(n.index)) as NodeStatus).subnet));
    const free = [200, 201, 202, 203, 204].map((i) => `10.244.${i}.0/24`).filter((s) => !subnets.includes(s));
    [ghost, unregistered] = [free[0]!, free[1]!];
    subPrefix = subnets[0]!.replace('.0/24', '.128/25');
    const key = `/weft/network/subnets/${ghost.replace('/', '-')}`;
    const value = JSON.stringify({ PublicIP: '203.0.113.9', NodeName: 'ghost', BackendType: 'bgp', BackendData: { ASN: 64512 } });
    await run('etcdctl', ['--endpoints', lab.layout.etcdEndpoint, 'put', key, value], { netns: lab.layout.underlayNetns, env: { ...process.env, ETCDCTL_API: '3' } });
    const statics = ['198.51.100.0/24', '203.0.113.0/24', unregistered, subPrefix, ghost].map((p) => `route ${p} unreachable;`).join(' ');
    writeFileSync(
      join(lab.layout.runDir, 'bird.conf'),
      `router id 192.0.2.1;
protocol device {}
protocol static hostile { ipv4; ${statics} }
protocol bgp tor {
  local 192.0.2.1 as 64512;
  neighbor range 192.0.2.0/24 internal;
  direct;
  rr client;
  error wait time 1, 2;
  ipv4 { import all; export filter { if net = ${ghost} then bgp_next_hop = 203.0.113.9; accept; }; };
}
`,
    );
    await lab.birdc('configure');
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('installs an outside prefix the peer\'s Import list allows, via the peer', async () => {
    for (const node of [1, 2, 3]) await waitFor(`198.51.100.0/24 on node${node}`, async () => (await routes(node)).some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.1'), 10_000);
  });

  it('refuses an outside prefix not in the Import list, an unregistered cluster prefix and a sub-prefix of a podCIDR', async () => {
    // BIRD exports everything in its table to every client; the allowed prefix arrived with these.
    const out = await lab.birdc('show', 'route', 'protocol', 'hostile');
    for (const p of ['203.0.113.0/24', unregistered, subPrefix]) expect(out).toContain(p);
    for (const node of [1, 2, 3]) {
      const dsts = (await routes(node)).map((r) => r.dst);
      expect(dsts).not.toContain('203.0.113.0/24');
      expect(dsts).not.toContain(unregistered);
      expect(dsts).not.toContain(subPrefix);
    }
  });

  it('holds back a registered node\'s podCIDR whose next hop is unreachable, and reports it pending with the reason', async () => {
    let ghostReport: NodeStatus['remoteNodes'][number] | undefined;
    await waitFor('the ghost node reported', async () => {
      ghostReport = ((await lab.daemonStatus(2)) as NodeStatus).remoteNodes.find((n) => n.name === 'ghost');
      return ghostReport?.reason?.includes('unreachable') === true;
    }, 10_000);
    expect(ghostReport).toMatchObject({ subnet: ghost, state: 'pending', reason: 'next hop 203.0.113.9 unreachable' });
    expect((await routes(2)).map((r) => r.dst)).not.toContain(ghost);
  });

  it('keeps the real podCIDRs and pod connectivity untouched', async () => {
    for (const [i, node] of [1, 2, 3].entries()) {
      const expected = subnets.filter((_, j) => j !== i).sort();
      expect((await routes(node)).map((r) => r.dst).filter((d) => d.startsWith('10.244.')).sort()).toEqual(expected);
    }
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
