// deploy/tor/bird-ebgp.conf, exercised: the template rendered with the lab's addresses runs as the
// lab's ToR (BIRD 2 in the underlay namespace, 192.0.2.1, AS 65000), three real weft daemons peer
// with it over eBGP, each node in an AS of its own (`--bgp-asn 6510N`), with the MD5 password.
// Every podCIDR must reach the other nodes and pods must reach each other. The template asks for
// BFD: nodes 1 and 2 speak it (their own --bgp-peers entry replaces the cluster-wide one with BFD
// on), node 3 does not, and its BGP session must be up all the same. A dead link to a BFD node
// must take its session down in about a second, not a hold time.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';
import { labNodes, waitForPodRoutes, type LabNode } from '../helpers/tor-checks.js';
import { renderTorTemplate } from '../helpers/tor-templates.js';

const id = () => `te${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const PASSWORD = 'ebgp-md5-secret';
const asnOf = (index: number): number => 65100 + index;

/** `show bfd sessions`: state by neighbour address. */
async function bfdSessions(lab: Lab): Promise<Map<string, string>> {
  const out = await lab.birdc('show', 'bfd', 'sessions');
  return new Map([...out.matchAll(/^(\d+\.\d+\.\d+\.\d+)\s+\S+\s+(\w+)/gm)].map((m) => [m[1]!, m[2]!]));
}

describeKernel('deploy/tor/bird-ebgp.conf: BIRD 2 as an eBGP ToR, one AS per node, MD5 and BFD', ['etcd', 'etcdctl', 'ping', 'bird', 'birdc'], () => {
  let lab: Lab;
  let nodes: LabNode[];

  beforeAll(async () => {
    const config = renderTorTemplate('bird-ebgp.conf', { ROUTER_ID: '192.0.2.1', ROUTER_ADDRESS: '192.0.2.1', NODE_RANGE: '192.0.2.0/24', NODE_INTERFACE: 'br0', TOR_ASN: 65000, POD_NETWORK: '10.244.0.0/16', POD_SUBNET_LEN: 24, MD5_PASSWORD: PASSWORD });
    lab = await Lab.up({
      id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'bird', torConfig: config, nodes: 3, podsPerNode: 1, resync: '1s',
      backendConfig: { NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 65000, Password: PASSWORD }] },
      nodeDaemonArgs: (index) => ['--bgp-asn', String(asnOf(index)), ...(index === 3 ? [] : ['--bgp-peers', JSON.stringify([{ Address: '192.0.2.1', ASN: 65000, Password: PASSWORD, BFD: true }])])],
    });
    nodes = await labNodes(lab);
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('brings up one MD5-protected eBGP session per node, each from the node\'s own AS', async () => {
    await waitFor('three Established sessions', async () => ((await lab.birdc('show', 'protocols', 'all')).match(/BGP state:\s+Established/g) ?? []).length === 3, 20_000);
    const out = await lab.birdc('show', 'protocols', 'all');
    for (const n of nodes) expect(out).toMatch(new RegExp(`Neighbor address: ${n.ip.replace(/\./g, '\\.')}\\s+Neighbor AS:\\s+${asnOf(n.index)}`));
  });

  it('runs BFD with the nodes that speak it, and keeps BGP up with the one that does not', async () => {
    await waitFor('BFD up with nodes 1 and 2', async () => {
      const bfd = await bfdSessions(lab);
      return bfd.get(nodes[0]!.ip) === 'Up' && bfd.get(nodes[1]!.ip) === 'Up';
    }, 10_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await bfdSessions(lab)).get(nodes[2]!.ip)).toMatch(/Down|Init/);
    expect(((await lab.birdc('show', 'protocols', 'all')).match(/BGP state:\s+Established/g) ?? []).length).toBe(3);
  });

  it('learns every podCIDR with the node\'s AS as the path and installs it in the router\'s kernel', async () => {
    await waitFor('BIRD to learn all podCIDRs', async () => {
      const out = await lab.birdc('show', 'route', 'all');
      return nodes.every((n) => out.includes(n.subnet));
    }, 10_000);
    const out = await lab.birdc('show', 'route', 'all');
    for (const n of nodes) expect(out).toMatch(new RegExp(`${n.subnet.replace(/\./g, '\\.')}[^]*?BGP.as_path: ${asnOf(n.index)}\\n`));
  });

  it('gives every node the other podCIDRs, and every pod a path to every other pod', async () => {
    // On one shared segment BIRD keeps the originating node as next hop toward another node
    // (third-party next hop, RFC 4271 §5.1.3), so traffic goes node to node.
    await waitForPodRoutes(lab, nodes, (_from, to) => to.ip);
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(3 * 2);
  });

  it('takes a BFD node\'s session down within about a second of its link dying', async () => {
    const [node1, node2] = [nodes[0]!, nodes[1]!];
    const cut = Date.now();
    await run('ip', ['-n', lab.layout.underlayNetns, 'link', 'set', lab.nodeLayout(1).bridgePort, 'down']);
    await waitFor('BFD down toward node1 and two sessions left', async () => (await bfdSessions(lab)).get(node1.ip) !== 'Up' && ((await lab.birdc('show', 'protocols', 'all')).match(/BGP state:\s+Established/g) ?? []).length === 2, 5000);
    await waitFor('node2 to lose the route to node1\'s podCIDR', async () => !(await weftRoutes(lab, node2.index)).some((r) => r.dst === node1.subnet), 5000);
    expect(Date.now() - cut).toBeLessThan(3000);
  });
});
