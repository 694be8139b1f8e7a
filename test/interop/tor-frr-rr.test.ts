// deploy/tor/frr-rr.conf, exercised: the template rendered with the lab's addresses runs as the
// lab's ToR (FRR 8 in the underlay namespace, 192.0.2.1, loaded as an integrated config), three
// real weft daemons peer with it (NodeMesh off, one Peers entry with the MD5 password, AS 64512
// everywhere). The reflector must bring up a session per node, reflect each podCIDR with the
// originating node as next hop, and pods must reach each other node to node.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor } from '../helpers/lab-probes.js';
import { labNodes, waitForPodRoutes, type LabNode } from '../helpers/tor-checks.js';
import { renderTorTemplate } from '../helpers/tor-templates.js';

const id = () => `tr${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const PASSWORD = 'rr-md5-secret';

interface Summary {
  peers?: Record<string, { state?: string; remoteAs?: number }>;
}
interface Table {
  routes?: Record<string, { valid?: boolean; nexthops?: { ip?: string }[] }[]>;
}

describeKernel('deploy/tor/frr-rr.conf: FRR 8 as the iBGP route reflector of weft nodes', ['etcd', 'etcdctl', 'ping', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'], () => {
  let lab: Lab;
  let nodes: LabNode[];

  beforeAll(async () => {
    const config = renderTorTemplate('frr-rr.conf', { ROUTER_ID: '192.0.2.1', NODE_RANGE: '192.0.2.0/24', CLUSTER_ASN: 64512, POD_NETWORK: '10.244.0.0/16', POD_SUBNET_LEN: 24, MD5_PASSWORD: PASSWORD });
    lab = await Lab.up({
      id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'frr', torConfig: config, nodes: 3, podsPerNode: 1, resync: '1s',
      backendConfig: { ASN: 64512, NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 64512, Password: PASSWORD }] },
      nodeDaemonArgs: () => [],
    });
    nodes = await labNodes(lab);
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('brings up one MD5-protected iBGP session per node', async () => {
    const peers = await waitFor('every session Established', async () => {
      const p = (JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast summary json')) as Summary).peers ?? {};
      return nodes.every((n) => p[n.ip]?.state === 'Established') && p;
    }, 20_000);
    for (const n of nodes) {
      expect(peers[n.ip]?.remoteAs).toBe(64512);
      const neighbor = JSON.parse(await lab.vtysh(1, `show bgp neighbors ${n.ip} json`)) as Record<string, { authenticationEnabled?: number }>;
      expect(neighbor[n.ip]?.authenticationEnabled).toBe(1);
    }
  });

  it('reflects every podCIDR with the originating node as next hop', async () => {
    const table = await waitFor('the reflector to hold every podCIDR', async () => {
      const t = JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast json')) as Table;
      return nodes.every((n) => t.routes?.[n.subnet]?.some((r) => r.valid)) && t;
    }, 20_000);
    for (const n of nodes) expect(table.routes![n.subnet]![0]!.nexthops?.[0]?.ip).toBe(n.ip);
    await waitForPodRoutes(lab, nodes, (_from, to) => to.ip);
  });

  it('lets every pod reach every other pod', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(3 * 2);
  });
});
