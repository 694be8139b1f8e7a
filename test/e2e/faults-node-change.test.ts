// Faults, a node comes back different: its VTEP MAC changed (rebooted: the device is gone and is
// made anew) or its IP changed (re-addressed, its weft restarted). The node publishes what it is
// now, and the others follow within one resync period of its return: routes, FDB and neighbour
// entries (vxlan) or BGP session and next hop (bgp) point at the new MAC or IP, nothing at the old.
// A node re-addressed under a running daemon: the daemon notices at its next resync and exits
// (status 1) for its supervisor to restart it on the new address — the lab plays supervisor.
//
// Figures (seconds from the node's return to the others following) are printed and recorded in
// bench/results/reliability.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { anyVxlanTraceOf, FAULT_BACKENDS, faultLabId, hasVxlanPeer, recordFigure, RUN_ROOT, secondsUntil, secs, subnetOf, vtepMac, vxlanPeerOf } from '../helpers/faults.js';
import { weftRoutes } from '../helpers/lab-probes.js';

const TOOLS = ['etcd', 'etcdctl', 'ping', 'bridge'];
const RESYNC_S = 2;
/** Documentation range, free in the lab (nodes are .11–.13). */
const NEW_IP = '192.0.2.23';
const NEWER_IP = '192.0.2.33';

/** Re-addresses node `index`'s eth0 with its daemon stopped, as an operator re-IPing a node would. */
async function readdress(lab: Lab, index: number, ip: string): Promise<void> {
  const node = lab.state.nodes.find((n) => n.index === index)!;
  // Old address first: deleting a primary address takes the secondaries of its subnet with it.
  await run('ip', ['-n', node.netns, 'addr', 'del', `${node.ip}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', node.netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  node.ip = ip;
  lab.save();
}

/**
 * Re-addresses node `index` under its running daemon; resolves with the seconds until the daemon
 * logged that its public IP is gone, and until it exited. The caller restarts it, as a
 * supervisor would.
 */
async function readdressLive(lab: Lab, index: number, ip: string): Promise<{ noticed: number; exited: number }> {
  const pid = lab.state.nodes.find((n) => n.index === index)!.daemonPid!;
  const changedAt = Date.now();
  const changed = performance.now();
  await readdress(lab, index, ip);
  const exited = await secondsUntil(`node${index}'s daemon to exit`, () => Promise.resolve(!isAlive(pid)), (RESYNC_S + 5) * 1000, changed);
  const lines = (await run('grep', ['public IP gone from this node', `${lab.nodeLayout(index).dir}/daemon.log`])).trim().split('\n');
  expect(lines).toHaveLength(1);
  const noticedAt = (JSON.parse(lines[0]!) as { time: number }).time;
  return { noticed: (noticedAt - changedAt) / 1000, exited };
}

describeKernel('faults: a node changes its VTEP MAC or its IP', TOOLS, () => {
  describe.skipIf(!FAULT_BACKENDS.includes('vxlan'))('vxlan', () => {
    let lab: Lab;

    beforeAll(async () => {
      lab = await Lab.up({ id: faultLabId('nv'), runRoot: RUN_ROOT, nodes: 3, podsPerNode: 1, resync: `${RESYNC_S}s`, logLevel: 'debug' });
    }, 120_000);
    afterAll(async () => {
      await lab?.down();
    });

    it('node3 rebooted (device gone, new VTEP MAC): the others point at the new MAC', async () => {
      const before = await vxlanPeerOf(lab, 3);
      await lab.stopDaemon(3, 'SIGTERM');
      await run('ip', ['-n', lab.nodeLayout(3).netns, 'link', 'del', 'flannel.1']);
      await lab.startDaemon(3);
      await lab.waitReady(3);
      const back = performance.now();
      const after = await vxlanPeerOf(lab, 3);
      expect(after.mac).not.toBe(before.mac);
      const seconds = await secondsUntil('nodes 1 and 2 on node3\'s new MAC', async () => (await hasVxlanPeer(lab, 1, after)) && (await hasVxlanPeer(lab, 2, after)), (RESYNC_S + 5) * 1000, back);
      await recordFigure('node change: VTEP MAC changed (node rebooted) (vxlan)', { secondsToFollowAfterNodeReady: secs(seconds), resyncSeconds: RESYNC_S });
      expect(seconds).toBeLessThan(RESYNC_S);
      for (const n of [1, 2]) {
        const fdb = await run('bridge', ['-n', lab.nodeLayout(n).netns, 'fdb', 'show', 'dev', 'flannel.1']);
        expect(fdb).not.toContain(before.mac);
      }
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });

    it('node3 re-addressed (new IP): the others send its VXLAN traffic to the new IP', async () => {
      const subnet = await subnetOf(lab, 3);
      const mac = await vtepMac(lab, 3);
      await lab.stopDaemon(3, 'SIGTERM');
      await readdress(lab, 3, NEW_IP);
      await lab.startDaemon(3);
      await lab.waitReady(3);
      const back = performance.now();
      // Same lease and MAC: the IP is the only thing that moved.
      expect(await subnetOf(lab, 3)).toBe(subnet);
      const peer = { subnet, ip: NEW_IP, mac: await vtepMac(lab, 3) };
      expect(peer.mac).toBe(mac);
      const seconds = await secondsUntil('nodes 1 and 2 on node3\'s new IP', async () => (await hasVxlanPeer(lab, 1, peer)) && (await hasVxlanPeer(lab, 2, peer)), (RESYNC_S + 5) * 1000, back);
      await recordFigure('node change: node IP changed (vxlan)', { secondsToFollowAfterNodeReady: secs(seconds), resyncSeconds: RESYNC_S });
      expect(seconds).toBeLessThan(RESYNC_S);
      for (const n of [1, 2]) expect(await run('bridge', ['-n', lab.nodeLayout(n).netns, 'fdb', 'show', 'dev', 'flannel.1'])).not.toContain('192.0.2.13');
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
      // Nothing of the old node 3 is left behind under another name either.
      expect(await anyVxlanTraceOf(lab, 1, { subnet: '10.244.255.0/24', mac: '02:00:5e:00:53:00' })).toBe(false);
    });

    it('node3 re-addressed under its running daemon: it exits within one resync; restarted, the others follow', async () => {
      const subnet = await subnetOf(lab, 3);
      const gone = await readdressLive(lab, 3, NEWER_IP);
      expect(gone.noticed).toBeLessThan(RESYNC_S + 0.5);
      await lab.startDaemon(3);
      await lab.waitReady(3);
      const back = performance.now();
      const peer = { subnet, ip: NEWER_IP, mac: await vtepMac(lab, 3) };
      const seconds = await secondsUntil('nodes 1 and 2 on node3\'s newer IP', async () => (await hasVxlanPeer(lab, 1, peer)) && (await hasVxlanPeer(lab, 2, peer)), (RESYNC_S + 5) * 1000, back);
      await recordFigure('node change: node IP changed under a running daemon (vxlan)', { secondsUntilDaemonNoticed: secs(gone.noticed), secondsUntilDaemonExited: secs(gone.exited), secondsToFollowAfterRestartReady: secs(seconds), resyncSeconds: RESYNC_S });
      expect(seconds).toBeLessThan(RESYNC_S);
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });
  });

  describe.skipIf(!FAULT_BACKENDS.includes('bgp'))('bgp', () => {
    let lab: Lab;

    beforeAll(async () => {
      lab = await Lab.up({ id: faultLabId('nb'), runRoot: RUN_ROOT, backend: 'bgp', nodes: 3, podsPerNode: 1, resync: `${RESYNC_S}s`, logLevel: 'debug' });
    }, 120_000);
    afterAll(async () => {
      await lab?.down();
    });

    it('node3 re-addressed (new IP): the others peer with the new IP and route its podCIDR there', async () => {
      const subnet = await subnetOf(lab, 3);
      await lab.stopDaemon(3, 'SIGTERM');
      await readdress(lab, 3, NEW_IP);
      await lab.startDaemon(3);
      await lab.waitReady(3);
      const back = performance.now();
      const viaNewIp = async (n: number): Promise<boolean> => {
        const routes = (await weftRoutes(lab, n)).filter((r) => r.dst === subnet);
        return routes.length === 1 && routes[0]!.gateway === NEW_IP;
      };
      const seconds = await secondsUntil('nodes 1 and 2 route node3\'s podCIDR via its new IP', async () => (await viaNewIp(1)) && (await viaNewIp(2)), (RESYNC_S + 10) * 1000, back);
      await recordFigure('node change: node IP changed (bgp)', { secondsToFollowAfterNodeReady: secs(seconds), resyncSeconds: RESYNC_S });
      expect(seconds).toBeLessThan(RESYNC_S);
      for (const n of [1, 2]) {
        const status = (await lab.daemonStatus(n)) as { bgp?: { peers: { address: string; state: string }[] } };
        expect(status.bgp?.peers.map((p) => p.address)).not.toContain('192.0.2.13');
      }
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });

    it('node3 re-addressed under its running daemon: it exits within one resync; restarted, the others follow', async () => {
      const subnet = await subnetOf(lab, 3);
      const gone = await readdressLive(lab, 3, NEWER_IP);
      expect(gone.noticed).toBeLessThan(RESYNC_S + 0.5);
      await lab.startDaemon(3);
      await lab.waitReady(3);
      const back = performance.now();
      const viaNewerIp = async (n: number): Promise<boolean> => {
        const routes = (await weftRoutes(lab, n)).filter((r) => r.dst === subnet);
        return routes.length === 1 && routes[0]!.gateway === NEWER_IP;
      };
      const seconds = await secondsUntil('nodes 1 and 2 route node3\'s podCIDR via its newer IP', async () => (await viaNewerIp(1)) && (await viaNewerIp(2)), (RESYNC_S + 10) * 1000, back);
      await recordFigure('node change: node IP changed under a running daemon (bgp)', { secondsUntilDaemonNoticed: secs(gone.noticed), secondsUntilDaemonExited: secs(gone.exited), secondsToFollowAfterRestartReady: secs(seconds), resyncSeconds: RESYNC_S });
      expect(seconds).toBeLessThan(RESYNC_S);
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });
  });
});
