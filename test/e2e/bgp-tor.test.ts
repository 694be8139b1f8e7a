// End to end: `weft daemon --backend=bgp` behind a ToR — the lab with `tor: 'bird'`: BIRD in the
// underlay namespace is a dynamic iBGP route reflector (`neighbor range … internal; rr client`),
// NodeMesh is off and every node's only peer is 192.0.2.1. BIRD must reflect each podCIDR with
// the originating node as next hop (not itself), and pods must reach each other through those
// native routes — the ToR is only in the control plane.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor } from '../helpers/lab-probes.js';

const id = () => `wr${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

describeKernel('weft daemon --backend=bgp behind a BIRD route reflector (lab --tor=bird)', ['etcd', 'etcdctl', 'ping', 'bird', 'birdc'], () => {
  let lab: Lab;
  let nodes: { index: number; ip: string; subnet: string }[];

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'bird', nodes: 3, podsPerNode: 2, resync: '1s', logLevel: 'debug' });
    nodes = await Promise.all(lab.state.nodes.map(async (n) => ({ index: n.index, ip: n.ip, subnet: ((await lab.daemonStatus(n.index)) as { subnet: string }).subnet })));
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('BIRD holds every podCIDR with its node as next hop', async () => {
    await waitFor('BIRD to learn all podCIDRs', async () => {
      const out = await lab.birdc('show', 'route');
      return nodes.every((n) => out.includes(n.subnet));
    }, 10_000);
    const out = await lab.birdc('show', 'route');
    for (const n of nodes) expect(out).toMatch(new RegExp(`${n.subnet.replace(/\./g, '\\.')}\\s+unicast[^\\n]*\\n\\s+via ${n.ip.replace(/\./g, '\\.')} `));
  });

  it('every node peers with the reflector only, and installs the reflected routes via the originating nodes', async () => {
    for (const node of nodes) {
      const expected = nodes.filter((o) => o !== node).map((o) => `${o.subnet} via ${o.ip}`).sort();
      await waitFor(`node${node.index}'s routes`, async () => {
        const routes = JSON.parse(await run('ip', ['-j', '-n', lab.nodeLayout(node.index).netns, 'route', 'show', 'proto', '87'])) as { dst: string; gateway?: string }[];
        return JSON.stringify(routes.map((r) => `${r.dst} via ${r.gateway}`).sort()) === JSON.stringify(expected);
      });
      const log = await run('grep', ['-h', '"peer added"', `${lab.nodeLayout(node.index).dir}/daemon.log`]);
      expect(log.trim().split('\n').map((l) => (JSON.parse(l) as { peer: string }).peer)).toEqual(['192.0.2.1']);
    }
  });

  it('gives every pod a working path to every pod on the other nodes', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(6 * 5);
  });
});
