// deploy/tor/bird-rr.conf, exercised: the template rendered with the lab's addresses runs as the
// lab's ToR (BIRD 2 in the underlay namespace, 192.0.2.1), three real weft daemons peer with it
// (NodeMesh off, one Peers entry with the MD5 password, AS 64512 everywhere). The reflector must
// bring up a session per node, reflect each podCIDR with the originating node as next hop, and
// pods must reach each other node to node.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor } from '../helpers/lab-probes.js';
import { labNodes, waitForPodRoutes, type LabNode } from '../helpers/tor-checks.js';
import { renderTorTemplate } from '../helpers/tor-templates.js';

const id = () => `tb${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const PASSWORD = 'rr-md5-secret';

describeKernel('deploy/tor/bird-rr.conf: BIRD 2 as the iBGP route reflector of weft nodes', ['etcd', 'etcdctl', 'ping', 'bird', 'birdc'], () => {
  let lab: Lab;
  let nodes: LabNode[];

  beforeAll(async () => {
    const config = renderTorTemplate('bird-rr.conf', { ROUTER_ID: '192.0.2.1', ROUTER_ADDRESS: '192.0.2.1', NODE_RANGE: '192.0.2.0/24', CLUSTER_ASN: 64512, POD_NETWORK: '10.244.0.0/16', POD_SUBNET_LEN: 24, MD5_PASSWORD: PASSWORD });
    lab = await Lab.up({
      id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'bird', torConfig: config, nodes: 3, podsPerNode: 1, resync: '1s',
      backendConfig: { ASN: 64512, NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 64512, Password: PASSWORD }] },
    });
    nodes = await labNodes(lab);
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('brings up one MD5-protected iBGP session per node', async () => {
    await waitFor('three Established sessions', async () => ((await lab.birdc('show', 'protocols', 'all')).match(/BGP state:\s+Established/g) ?? []).length === 3, 20_000);
    const out = await lab.birdc('show', 'protocols', 'all');
    for (const n of nodes) expect(out).toContain(`Neighbor address: ${n.ip}`);
  });

  it('reflects every podCIDR with the originating node as next hop', async () => {
    await waitFor('BIRD to learn all podCIDRs', async () => {
      const out = await lab.birdc('show', 'route');
      return nodes.every((n) => out.includes(n.subnet));
    }, 10_000);
    await waitForPodRoutes(lab, nodes, (_from, to) => to.ip);
  });

  it('lets every pod reach every other pod', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(3 * 2);
  });
});
