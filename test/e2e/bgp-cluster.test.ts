// End to end: `weft daemon --backend=bgp` on three nodes of one L2 segment (the lab), a real etcd,
// pods from the CNI reference plugins. No encapsulation: each node announces its podCIDR over an
// iBGP full mesh and installs the others' as native routes (proto 87 = weft) via their node IPs.
// What an operator relies on: every pod reaches every pod at the full underlay MTU, a removed node
// disappears from the others, and a SIGKILLed daemon's restart drops no packet (graceful restart:
// routes stay in the kernel and in the peers' RIBs).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { daemonGet } from '../../src/daemon/client.js';
import { probe, run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes, continuousPing } from '../helpers/lab-probes.js';

const id = () => `wb${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

async function subnetOf(lab: Lab, node: number): Promise<string> {
  return ((await lab.daemonStatus(node)) as { subnet: string }).subnet;
}

describeKernel('weft daemon --backend=bgp, three nodes in a full mesh (lab)', ['etcd', 'etcdctl', 'ping'], () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', nodes: 3, podsPerNode: 2, resync: '1s', logLevel: 'debug' });
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('installs every other node\'s podCIDR as a proto 87 route via that node\'s IP, nothing else', async () => {
    const nodes = await Promise.all(lab.state.nodes.map(async (n) => ({ index: n.index, ip: n.ip, subnet: await subnetOf(lab, n.index) })));
    for (const node of nodes) {
      const expected = nodes.filter((o) => o !== node).map((o) => ({ dst: o.subnet, gateway: o.ip, dev: 'eth0' }));
      await waitFor(`node${node.index}'s routes`, async () => (await weftRoutes(lab, node.index)).length === expected.length);
      const routes = (await weftRoutes(lab, node.index)).map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }));
      expect(routes.sort((a, b) => a.dst.localeCompare(b.dst))).toEqual(expected.sort((a, b) => a.dst.localeCompare(b.dst)));
    }
  });

  it('gives every pod a working path to every pod on the other nodes', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(6 * 5);
  });

  it('shows the two other nodes as Established peers in /status and weft_bgp_peer_up 1 in /metrics', async () => {
    const node = 1;
    const others = lab.state.nodes.filter((n) => n.index !== node).map((n) => n.ip).sort();
    const peersOf = async (): Promise<NonNullable<DaemonStatus['bgp']>['peers']> => ((await lab.daemonStatus(node)) as DaemonStatus).bgp?.peers ?? [];
    await waitFor('node1\'s peers established with one accepted prefix each', async () => {
      const peers = await peersOf();
      return peers.length === 2 && peers.every((p) => p.state === 'Established' && p.prefixesAccepted === 1);
    });
    const status = (await lab.daemonStatus(node)) as DaemonStatus;
    expect(status.bgp?.asn).toBe(64512);
    expect(status.bgp?.routerId).toBe(lab.state.nodes.find((n) => n.index === node)!.ip);
    const peers = [...status.bgp!.peers].sort((a, b) => a.address.localeCompare(b.address));
    expect(peers.map((p) => p.address)).toEqual(others);
    for (const p of peers) {
      expect(p).toMatchObject({ asn: 64512, state: 'Established', prefixesReceived: 1, prefixesAccepted: 1, prefixesAdvertised: 1 });
      expect(p.uptimeSeconds).toBeGreaterThanOrEqual(0);
    }
    // The gauges are refreshed after each reconcile (resync 1s).
    await waitFor('weft_bgp_peer_up 1 for both peers', async () => {
      const metrics = (await daemonGet({ socketPath: lab.statusSocket(node) }, '/metrics')).body;
      return others.every((ip) => metrics.includes(`weft_bgp_peer_up{peer="${ip}"} 1`) && metrics.includes(`weft_bgp_peer_prefixes{peer="${ip}",kind="accepted"} 1`));
    }, 5000);
  });

  it('passes a DF ping at the full underlay MTU − 28 (1472 bytes: no encapsulation), not one byte more', async () => {
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 3)!];
    expect((await probe('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', '1472', to.ip], { netns: from.netns })).ok).toBe(true);
    expect((await probe('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', '1473', to.ip], { netns: from.netns })).ok).toBe(false);
  });

  it('loses no 10 ms ping while a daemon is SIGKILLed and restarted (routes stay in the kernel)', async () => {
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 2)!];
    const ping = continuousPing(from.netns, to.ip);
    await new Promise((r) => setTimeout(r, 300));
    await lab.stopDaemon(2, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    expect((await weftRoutes(lab, 1)).some((r) => r.gateway === '192.0.2.12')).toBe(true);
    await lab.startDaemon(2);
    await lab.waitReady(2);
    await new Promise((r) => setTimeout(r, 500));
    const { sent, received } = await ping.stop();
    expect(sent).toBeGreaterThan(100);
    expect(received).toBe(sent);
    expect(await weftRoutes(lab, 2)).toHaveLength(2);
    // It knew it was restarting (weft routes already in the kernel) and said so to its peers.
    expect(await run('grep', ['-c', '"restarting":true', `${lab.nodeLayout(2).dir}/daemon.log`])).toMatch(/^1\b/);
  });

  it('loses no ping across a graceful SIGTERM restart either (no Cease: peers keep our routes)', async () => {
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 3)!];
    const ping = continuousPing(from.netns, to.ip);
    await new Promise((r) => setTimeout(r, 300));
    await lab.stopDaemon(3, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await lab.startDaemon(3);
    await lab.waitReady(3);
    await new Promise((r) => setTimeout(r, 300));
    const { sent, received } = await ping.stop();
    expect(sent).toBeGreaterThan(50);
    expect(received).toBe(sent);
  });

  it('removes a deleted node\'s session and route from the others within 2 s', async () => {
    const subnet = await subnetOf(lab, 3);
    const node3 = lab.state.nodes.find((n) => n.index === 3)!.ip;
    const peersOf = async (node: number): Promise<string[]> => (((await lab.daemonStatus(node)) as DaemonStatus).bgp?.peers ?? []).map((p) => p.address);
    // SIGTERM sends no Cease: the others keep node3's route as stale (graceful restart) until the
    // registry says the node is gone — that deletion, not the hold timer, must remove both.
    await lab.stopDaemon(3, 'SIGTERM');
    for (const node of [1, 2]) expect(await peersOf(node)).toContain(node3);
    await run('etcdctl', ['--endpoints', lab.layout.etcdEndpoint, 'del', `/weft/network/subnets/${subnet.replace('/', '-')}`], { netns: lab.layout.underlayNetns, env: { ...process.env, ETCDCTL_API: '3' } });
    const started = Date.now();
    for (const node of [1, 2]) {
      await waitFor(`node3's route gone from node${node}`, async () => !(await weftRoutes(lab, node)).some((r) => r.dst === subnet), 2000);
      await waitFor(`node3's session gone from node${node}`, async () => !(await peersOf(node)).includes(node3), 2000);
    }
    expect(Date.now() - started).toBeLessThan(2000);
    const results = (await lab.connectivity()).filter((r) => !r.from.startsWith('node3') && !r.to.startsWith('node3'));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
