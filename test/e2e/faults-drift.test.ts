// Faults, the kernel changed by hand under a running daemon: every resync dumps the kernel and
// diffs, so whatever was deleted or altered is back within one resync period (2 s in these labs).
// test/e2e/vxlan-cluster.test.ts already pins the repair of a deleted route plus flushed
// neighbours and of a deleted device (pods talk again) and diag.test.ts what `weft doctor` says;
// here each kind of drift is timed while pods ping, and the alterations (entries pointing at the
// wrong place, a wrong MTU or MAC) that a mere "is it there" check would miss.
//
// Figures (seconds to repair, packets lost of sent while broken) are printed and recorded in
// bench/results/reliability.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { FAULT_BACKENDS, faultLabId, hasVxlanPeer, pingRing, recordFigure, RUN_ROOT, secondsUntil, secs, sleep, subnetOf, vtepMac, vxlanPeerOf, type VxlanPeer } from '../helpers/faults.js';
import { weftRoutes } from '../helpers/lab-probes.js';

const TOOLS = ['etcd', 'etcdctl', 'ping', 'bridge'];
const RESYNC_S = 2;
/** A resync pass itself takes a moment on a loaded 2-core machine. */
const WITHIN_S = RESYNC_S + 0.5;

/** Breaks something at `at`, waits for `repaired`, and records how long it took and what was lost. */
async function timedRepair(lab: Lab, scenario: string, breakIt: () => Promise<void>, repaired: () => Promise<boolean>): Promise<number> {
  const ping = pingRing(lab);
  await sleep(300);
  const broken = performance.now();
  await breakIt();
  const seconds = await secondsUntil(`repair of: ${scenario}`, repaired, (RESYNC_S + 5) * 1000, broken);
  await sleep(300);
  const tally = await ping.stop();
  await recordFigure(`kernel drift: ${scenario} (${lab.state.backend})`, { secondsToRepair: secs(seconds), resyncSeconds: RESYNC_S, packetsLost: tally.lost, packetsSent: tally.sent });
  return seconds;
}

describeKernel('faults: kernel drift repaired within one resync period', TOOLS, () => {
  describe.skipIf(!FAULT_BACKENDS.includes('vxlan'))('vxlan', () => {
    let lab: Lab;
    let ns: string;
    let peer2: VxlanPeer;
    let peer3: VxlanPeer;
    const healthy = async (): Promise<boolean> => (await hasVxlanPeer(lab, 1, peer2)) && (await hasVxlanPeer(lab, 1, peer3));

    beforeAll(async () => {
      lab = await Lab.up({ id: faultLabId('dv'), runRoot: RUN_ROOT, nodes: 3, podsPerNode: 1, resync: `${RESYNC_S}s`, logLevel: 'debug' });
      ns = lab.nodeLayout(1).netns;
      [peer2, peer3] = await Promise.all([vxlanPeerOf(lab, 2), vxlanPeerOf(lab, 3)]);
    }, 120_000);
    afterAll(async () => {
      await lab?.down();
    });

    it('an FDB entry pointed at a wrong node IP is pointed back', async () => {
      const seconds = await timedRepair(
        lab,
        'FDB entry altered (wrong dst)',
        () => run('bridge', ['-n', ns, 'fdb', 'replace', peer2.mac, 'dev', 'flannel.1', 'dst', '192.0.2.250', 'self', 'permanent']).then(() => undefined),
        healthy,
      );
      expect(seconds).toBeLessThan(WITHIN_S);
      const fdb = await run('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'flannel.1']);
      expect(fdb).not.toContain('192.0.2.250');
    });

    it('a neighbour entry given a wrong MAC gets the VTEP MAC back', async () => {
      const seconds = await timedRepair(
        lab,
        'neighbour altered (wrong MAC)',
        () => run('ip', ['-n', ns, 'neigh', 'replace', peer3.subnet.split('/')[0]!, 'lladdr', '02:00:5e:00:53:99', 'dev', 'flannel.1', 'nud', 'permanent']).then(() => undefined),
        healthy,
      );
      expect(seconds).toBeLessThan(WITHIN_S);
    });

    it('a route sent via another node\'s gateway is sent via its own again', async () => {
      const seconds = await timedRepair(
        lab,
        'route altered (wrong gateway)',
        () => run('ip', ['-n', ns, 'route', 'replace', peer2.subnet, 'via', peer3.subnet.split('/')[0]!, 'dev', 'flannel.1', 'onlink', 'proto', '87']).then(() => undefined),
        healthy,
      );
      expect(seconds).toBeLessThan(WITHIN_S);
    });

    it('a remote node\'s route, FDB entry and neighbour all deleted come back', async () => {
      const seconds = await timedRepair(
        lab,
        'route, FDB entry and neighbour deleted',
        async () => {
          await run('ip', ['-n', ns, 'route', 'del', peer2.subnet]);
          await run('bridge', ['-n', ns, 'fdb', 'del', peer2.mac, 'dev', 'flannel.1', 'dst', peer2.ip, 'self']);
          await run('ip', ['-n', ns, 'neigh', 'del', peer2.subnet.split('/')[0]!, 'dev', 'flannel.1']);
        },
        healthy,
      );
      expect(seconds).toBeLessThan(WITHIN_S);
    });

    it('a changed device MTU is set back to underlay − 50', async () => {
      const mtu = async (): Promise<number> => (JSON.parse(await run('ip', ['-j', '-n', ns, 'link', 'show', 'flannel.1'])) as { mtu: number }[])[0]!.mtu;
      const seconds = await timedRepair(
        lab,
        'device MTU changed',
        () => run('ip', ['-n', ns, 'link', 'set', 'flannel.1', 'mtu', '1300']).then(() => undefined),
        async () => (await mtu()) === 1450,
      );
      expect(seconds).toBeLessThan(WITHIN_S);
    });

    it('a changed device MAC is set back to the published VTEP MAC (the others still point at it)', async () => {
      const published = await vtepMac(lab, 1);
      const peer1 = await vxlanPeerOf(lab, 1);
      const seconds = await timedRepair(
        lab,
        'device MAC changed',
        () => run('ip', ['-n', ns, 'link', 'set', 'flannel.1', 'address', '02:00:5e:00:53:42']).then(() => undefined),
        async () => (await vtepMac(lab, 1)) === published,
      );
      expect(seconds).toBeLessThan(WITHIN_S);
      expect(await hasVxlanPeer(lab, 2, peer1)).toBe(true);
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });

    it('a deleted device is recreated with its MAC and every entry', async () => {
      const mac = await vtepMac(lab, 1);
      const seconds = await timedRepair(lab, 'device deleted', () => run('ip', ['-n', ns, 'link', 'del', 'flannel.1']).then(() => undefined), healthy);
      expect(seconds).toBeLessThan(WITHIN_S);
      expect(await vtepMac(lab, 1)).toBe(mac);
    });
  });

  describe.skipIf(!FAULT_BACKENDS.includes('bgp'))('bgp', () => {
    let lab: Lab;
    let ns: string;
    let subnet2: string;
    let subnet3: string;
    const viaOwnNode = async (): Promise<boolean> => {
      const routes = await weftRoutes(lab, 1);
      return routes.some((r) => r.dst === subnet2 && r.gateway === '192.0.2.12') && routes.some((r) => r.dst === subnet3 && r.gateway === '192.0.2.13');
    };

    beforeAll(async () => {
      lab = await Lab.up({ id: faultLabId('db'), runRoot: RUN_ROOT, backend: 'bgp', nodes: 3, podsPerNode: 1, resync: `${RESYNC_S}s`, logLevel: 'debug' });
      ns = lab.nodeLayout(1).netns;
      [subnet2, subnet3] = await Promise.all([subnetOf(lab, 2), subnetOf(lab, 3)]);
    }, 120_000);
    afterAll(async () => {
      await lab?.down();
    });

    it('a deleted proto 87 route comes back', async () => {
      const seconds = await timedRepair(lab, 'proto 87 route deleted', () => run('ip', ['-n', ns, 'route', 'del', subnet2]).then(() => undefined), viaOwnNode);
      expect(seconds).toBeLessThan(WITHIN_S);
    });

    it('a proto 87 route sent via the wrong node is sent via its own again', async () => {
      const seconds = await timedRepair(lab, 'proto 87 route altered (wrong next hop)', () => run('ip', ['-n', ns, 'route', 'replace', subnet2, 'via', '192.0.2.13', 'dev', 'eth0', 'proto', '87']).then(() => undefined), viaOwnNode);
      expect(seconds).toBeLessThan(WITHIN_S);
    });

    it('every proto 87 route flushed comes back', async () => {
      const seconds = await timedRepair(lab, 'all proto 87 routes flushed', () => run('ip', ['-n', ns, 'route', 'flush', 'proto', '87']).then(() => undefined), viaOwnNode);
      expect(seconds).toBeLessThan(WITHIN_S);
    });
  });
});
