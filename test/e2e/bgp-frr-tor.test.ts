// End to end: `weft daemon --backend=bgp` behind FRR as an eBGP ToR — the lab with `tor: 'frr'`:
// FRR 8 (zebra + bfdd + bgpd) in the underlay namespace at 192.0.2.1, AS 65000, dynamic
// neighbours for 192.0.2.0/24 with a TCP-MD5 password and BFD; node N runs with `--bgp-asn 6500N`
// and one Peers entry {Address 192.0.2.1, ASN 65000, Password, BFD, Import ["198.51.100.0/24"]}. The ToR
// announces the podCIDRs with itself as next hop and forwards pod traffic; it also originates
// 198.51.100.0/24, which the nodes install only because their Import list names it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { daemonGet } from '../../src/daemon/client.js';
import { probe } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { OUTSIDE_ADDRESS, OUTSIDE_PREFIX, TOR_PASSWORD, nodeAsn } from '../../src/lab/tor.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';

const id = () => `wf${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

interface BgpSummary {
  peers?: Record<string, { state?: string; remoteAs?: number; pfxRcd?: number }>;
}
interface BgpTable {
  routes?: Record<string, { valid?: boolean; path?: string; nexthops?: { ip?: string }[] }[]>;
}

describeKernel('weft daemon --backend=bgp behind an FRR eBGP ToR with TCP-MD5 (lab --tor=frr)', ['etcd', 'etcdctl', 'ping', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'], () => {
  let lab: Lab;
  let nodes: { index: number; ip: string; subnet: string }[];

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'frr', nodes: 3, podsPerNode: 1, resync: '1s', logLevel: 'debug' });
    nodes = await Promise.all(lab.state.nodes.map(async (n) => ({ index: n.index, ip: n.ip, subnet: ((await lab.daemonStatus(n.index)) as { subnet: string }).subnet })));
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('brings up one MD5 session with BFD per node, each from the node\'s own AS', async () => {
    const peers = await waitFor('every session Established', async () => {
      const summary = JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast summary json')) as BgpSummary;
      const p = summary.peers ?? {};
      return nodes.every((n) => p[n.ip]?.state === 'Established') && p;
    }, 20_000);
    for (const n of nodes) expect(peers[n.ip]?.remoteAs).toBe(nodeAsn(n.index));
    for (const n of nodes) {
      const neighbor = JSON.parse(await lab.vtysh(1, `show bgp neighbors ${n.ip} json`)) as Record<string, { authenticationEnabled?: number }>;
      expect(neighbor[n.ip]?.authenticationEnabled).toBe(1);
    }
    await waitFor('BFD up with every node', async () => {
      const bfd = JSON.parse(await lab.vtysh(1, 'show bfd peers json')) as { peer?: string; status?: string }[];
      return nodes.every((n) => bfd.some((p) => p.peer === n.ip && p.status === 'up'));
    }, 10_000);
  });

  it('never shows the MD5 password: not in a daemon\'s debug log, /status or /metrics', async () => {
    for (const n of nodes) {
      const socketPath = lab.statusSocket(n.index);
      const seen = {
        log: readFileSync(join(lab.nodeLayout(n.index).dir, 'daemon.log'), 'utf8'),
        status: (await daemonGet({ socketPath }, '/status')).body,
        metrics: (await daemonGet({ socketPath }, '/metrics')).body,
      };
      // The sessions are up, so the password was used: the log is not empty of BGP detail.
      expect(seen.log).toContain('Established');
      for (const [where, text] of Object.entries(seen)) expect(text.includes(TOR_PASSWORD), `node${n.index} ${where}`).toBe(false);
    }
  });

  it('exports every podCIDR to the ToR, which installs it via its node', async () => {
    const table = await waitFor('the ToR to hold every podCIDR', async () => {
      const t = JSON.parse(await lab.vtysh(1, 'show bgp ipv4 unicast json')) as BgpTable;
      return nodes.every((n) => t.routes?.[n.subnet]?.some((r) => r.valid)) && t;
    }, 20_000);
    for (const n of nodes) {
      const route = table.routes![n.subnet]![0]!;
      expect(route.path).toBe(String(nodeAsn(n.index)));
      expect(route.nexthops?.[0]?.ip).toBe(n.ip);
    }
    const kernel = await lab.vtysh(1, 'show ip route bgp json');
    for (const n of nodes) expect(kernel).toContain(n.subnet);
  });

  it('installs the other podCIDRs via the ToR, and the Import-listed outside prefix too', async () => {
    for (const node of nodes) {
      const expected = [...nodes.filter((o) => o !== node).map((o) => `${o.subnet} via 192.0.2.1`), `${OUTSIDE_PREFIX} via 192.0.2.1`].sort();
      await waitFor(`node${node.index}'s routes`, async () => {
        const routes = await weftRoutes(lab, node.index);
        return JSON.stringify(routes.map((r) => `${r.dst} via ${r.gateway}`).sort()) === JSON.stringify(expected);
      }, 20_000);
    }
  });

  it('gives every pod a working path to every other pod, and to the outside address, through the ToR', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(3 * 2);
    for (const pod of lab.state.pods) {
      expect((await probe('ping', ['-c', '1', '-W', '2', OUTSIDE_ADDRESS], { netns: pod.netns, timeoutMs: 5000 })).ok, `${pod.name} → ${OUTSIDE_ADDRESS}`).toBe(true);
    }
  });
});
