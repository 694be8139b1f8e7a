// deploy/tor/frr-ebgp.conf, exercised: the template rendered with the lab's addresses runs as the
// lab's ToR (FRR 8 zebra + bfdd + bgpd in the underlay namespace, 192.0.2.1, AS 65000, loaded as
// an integrated config), three real weft daemons peer with it over eBGP, all in the rack's AS
// 65001, with the MD5 password. Without `as-override` a node would drop its rack neighbours'
// podCIDRs as AS loops; with it, every podCIDR must reach the other nodes and pods must reach each
// other. The template asks for BFD: nodes 1 and 2 speak it (their own --bgp-peers entry replaces
// the cluster-wide one with BFD on), node 3 does not, and its BGP session must be up all the same.
// A dead link to a BFD node must take its session down in about a second, not a hold time.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';
import { labNodes, waitForPodRoutes, type LabNode } from '../helpers/tor-checks.js';
import { renderTorTemplate } from '../helpers/tor-templates.js';

const id = () => `tf${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const PASSWORD = 'rack-md5-secret';

interface Summary {
  peers?: Record<string, { state?: string; remoteAs?: number }>;
}
interface Table {
  routes?: Record<string, { valid?: boolean; path?: string }[]>;
}

async function bfdPeers(lab: Lab): Promise<Map<string, string>> {
  const list = JSON.parse(await lab.vtysh(1, 'show bfd peers json')) as { peer?: string; status?: string }[];
  return new Map(list.map((p) => [p.peer ?? '?', p.status ?? '?']));
}

describeKernel('deploy/tor/frr-ebgp.conf: FRR 8 as an eBGP ToR, one AS per rack (as-override), MD5 and BFD', ['etcd', 'etcdctl', 'ping', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra', '/usr/lib/frr/bfdd'], () => {
  let lab: Lab;
  let nodes: LabNode[];

  beforeAll(async () => {
    const config = renderTorTemplate('frr-ebgp.conf', { ROUTER_ID: '192.0.2.1', NODE_RANGE: '192.0.2.0/24', TOR_ASN: 65000, RACK_ASN: 65001, POD_NETWORK: '10.244.0.0/16', POD_SUBNET_LEN: 24, MD5_PASSWORD: PASSWORD });
    lab = await Lab.up({
      id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'frr', torConfig: config, nodes: 3, podsPerNode: 1, resync: '1s',
      backendConfig: { ASN: 65001, NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 65000, Password: PASSWORD }] },
      nodeDaemonArgs: (index) => (index === 3 ? [] : ['--bgp-peers', JSON.stringify([{ Address: '192.0.2.1', ASN: 65000, Password: PASSWORD, BFD: true }])]),
    });
    nodes = await labNodes(lab);
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('brings up one MD5-protected eBGP session per node, all from the rack AS', async () => {
    const peers = await waitFor('every session Established', async () => {
      const p = (JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast summary json')) as Summary).peers ?? {};
      return nodes.every((n) => p[n.ip]?.state === 'Established') && p;
    }, 20_000);
    for (const n of nodes) {
      expect(peers[n.ip]?.remoteAs).toBe(65001);
      const neighbor = JSON.parse(await lab.vtysh(1, `show bgp neighbors ${n.ip} json`)) as Record<string, { authenticationEnabled?: number }>;
      expect(neighbor[n.ip]?.authenticationEnabled).toBe(1);
    }
  });

  it('runs BFD with the nodes that speak it, and keeps BGP up with the one that does not', async () => {
    await waitFor('BFD up with nodes 1 and 2', async () => {
      const bfd = await bfdPeers(lab);
      return bfd.get(nodes[0]!.ip) === 'up' && bfd.get(nodes[1]!.ip) === 'up';
    }, 10_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await bfdPeers(lab)).get(nodes[2]!.ip)).toMatch(/down|init/);
    const p = (JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast summary json')) as Summary).peers ?? {};
    for (const n of nodes) expect(p[n.ip]?.state).toBe('Established');
  });

  it('accepts each podCIDR with the rack AS as the path and installs it in the router\'s kernel', async () => {
    const table = await waitFor('the ToR to hold every podCIDR', async () => {
      const t = JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast json')) as Table;
      return nodes.every((n) => t.routes?.[n.subnet]?.some((r) => r.valid)) && t;
    }, 20_000);
    for (const n of nodes) expect(table.routes![n.subnet]![0]!.path).toBe('65001');
    const kernel = await lab.vtysh(1, 'show ip route bgp json');
    for (const n of nodes) expect(kernel).toContain(n.subnet);
  });

  it('gives every node its rack neighbours\' podCIDRs (as-override), and every pod a path to every other pod', async () => {
    await waitForPodRoutes(lab, nodes, (_from, to) => to.ip);
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(3 * 2);
  });

  it('without as-override, the nodes drop their rack neighbours\' podCIDRs as AS loops', async () => {
    await run('vtysh', ['--vty_socket', lab.state.tors![0]!.dir, '-c', 'configure terminal', '-c', 'router bgp 65000', '-c', 'address-family ipv4 unicast', '-c', 'no neighbor RACK as-override', '-c', 'end', '-c', 'clear bgp ipv4 unicast * soft out']);
    for (const n of nodes) await waitFor(`node${n.index} to drop the looped podCIDRs`, async () => (await weftRoutes(lab, n.index)).length === 0, 20_000);
    await run('vtysh', ['--vty_socket', lab.state.tors![0]!.dir, '-c', 'configure terminal', '-c', 'router bgp 65000', '-c', 'address-family ipv4 unicast', '-c', 'neighbor RACK as-override', '-c', 'end', '-c', 'clear bgp ipv4 unicast * soft out']);
    await waitForPodRoutes(lab, nodes, (_from, to) => to.ip);
  });

  it('takes a BFD node\'s session down within about a second of its link dying', async () => {
    const [node1, node2] = [nodes[0]!, nodes[1]!];
    const cut = Date.now();
    await run('ip', ['-n', lab.layout.underlayNetns, 'link', 'set', lab.nodeLayout(1).bridgePort, 'down']);
    await waitFor('BFD and BGP down toward node1', async () => {
      const p = (JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast summary json')) as Summary).peers ?? {};
      return (await bfdPeers(lab)).get(node1.ip) !== 'up' && p[node1.ip]?.state !== 'Established';
    }, 5000);
    await waitFor('node2 to lose the route to node1\'s podCIDR', async () => !(await weftRoutes(lab, node2.index)).some((r) => r.dst === node1.subnet), 5000);
    expect(Date.now() - cut).toBeLessThan(3000);
  });
});
