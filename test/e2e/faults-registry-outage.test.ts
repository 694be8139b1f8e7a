// Faults, the registry goes away: the datapath must not care, and the cluster must catch up when
// the registry is back — including with a node that was removed while nobody could see it.
//
//   etcd  (vxlan and bgp labs side by side): etcd stopped for 30 s; meanwhile node3's daemon
//         stops; etcd returns and node3's subnet key is deleted by hand. Pings between the other
//         nodes never drop one packet, and nodes 1 and 2 remove every trace of node3.
//   kube  (vxlan and bgp labs on the Kubernetes API test server): first the API answers every
//         request 503 for 10 s with the watches dropped — pods keep talking, nothing is removed,
//         and every daemon is watching again soon after; then the open watches go silent and are
//         dropped, node3's Node is deleted and the history compacted, so the re-watch is answered
//         410 Gone: the daemons relist and remove node3, without a lost ping.
//
// Figures (packets lost of sent, seconds to converge) are printed and recorded in
// bench/results/reliability.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { Lab, type LabOptions } from '../../src/lab/lab.js';
import type { KubeControlState } from '../../src/testing/kube-apiserver-process.js';
import { describeKernel } from '../helpers/env.js';
import { anyVxlanTraceOf, FAULT_BACKENDS, faultLabId, pingRing, recordFigure, RUN_ROOT, secondsUntil, secs, sleep, subnetOf, vtepMac } from '../helpers/faults.js';
import { weftRoutes } from '../helpers/lab-probes.js';

const TOOLS = ['etcd', 'etcdctl', 'ping', 'bridge'];
const RESYNC_S = 2;
const OUTAGE_MS = 30_000;
/** The registries' reconnect backoff is capped at 10 s: the longest a returning registry waits to be seen. */
const BACKOFF_CAP_S = 10;
/**
 * The kube registry backs off like client-go (0.5 s doubling, equal jitter, cap 30 s: thousands of
 * nodes must not hammer a struggling API server). After 10 s of failures its next try is at most
 * 16 s away: the longest the API's return can go unseen in this scenario.
 */
const KUBE_RETRY_AFTER_10S_OUTAGE_S = 16;

const labOptions = (tag: string, extra: LabOptions): LabOptions => ({ id: faultLabId(tag), runRoot: RUN_ROOT, nodes: 3, podsPerNode: 1, resync: `${RESYNC_S}s`, logLevel: 'debug', ...extra });

/** Whether node `node` still has anything of the node whose subnet and VTEP MAC are given. */
async function traceOf(lab: Lab, node: number, gone: { subnet: string; mac?: string }): Promise<boolean> {
  if (lab.state.backend === 'vxlan') return anyVxlanTraceOf(lab, node, { subnet: gone.subnet, mac: gone.mac! });
  return (await weftRoutes(lab, node)).some((r) => r.dst === gone.subnet);
}

async function gonePeer(lab: Lab, node: number): Promise<{ subnet: string; mac?: string }> {
  return { subnet: await subnetOf(lab, node), ...(lab.state.backend === 'vxlan' ? { mac: await vtepMac(lab, node) } : {}) };
}

describeKernel('faults: registry outage', TOOLS, () => {
  describe('etcd stopped for 30 s', () => {
    const labs: Lab[] = [];

    beforeAll(async () => {
      const built = await Promise.allSettled(FAULT_BACKENDS.map((backend) => Lab.up(labOptions(`e${backend[0]!}`, { backend }))));
      for (const b of built) if (b.status === 'fulfilled') labs.push(b.value);
      const failed = built.find((b) => b.status === 'rejected');
      if (failed) throw failed.reason;
    }, 120_000);
    afterAll(async () => {
      await Promise.all(labs.map((lab) => lab.down()));
    });

    it('keeps pods talking through the outage, then removes node3 (deleted while etcd was down) from the others', async () => {
      await Promise.all(
        labs.map(async (lab) => {
          const backend = lab.state.backend;
          const gone = await gonePeer(lab, 3);
          const routesBefore = await Promise.all([1, 2].map((n) => weftRoutes(lab, n)));
          const ping = pingRing(lab, [3]);
          await sleep(300);
          await lab.stopEtcd();
          const outageStart = Date.now();
          await sleep(5000);
          await lab.stopDaemon(3, 'SIGTERM');
          await sleep(OUTAGE_MS - (Date.now() - outageStart));
          // The datapath is as it was: nothing removed or added while the registry was away.
          expect(await Promise.all([1, 2].map((n) => weftRoutes(lab, n)))).toEqual(routesBefore);
          await lab.startEtcd();
          const back = performance.now();
          await lab.etcdctl('del', `/weft/network/subnets/${gone.subnet.replace('/', '-')}`);
          const seconds = await secondsUntil(`node3 gone from nodes 1 and 2 (${backend})`, async () => !(await traceOf(lab, 1, gone)) && !(await traceOf(lab, 2, gone)), (BACKOFF_CAP_S + RESYNC_S + 5) * 1000, back);
          await sleep(300);
          const tally = await ping.stop();
          await recordFigure(`registry outage: etcd down 30 s, node removed meanwhile (${backend})`, { packetsLost: tally.lost, packetsSent: tally.sent, outageSeconds: OUTAGE_MS / 1000, secondsToRemoveNodeAfterEtcdReturned: secs(seconds) });
          // Two streams for 30 s at a nominal 100/s; a loaded machine sends fewer, never none.
          expect(tally.sent).toBeGreaterThan(2 * 1500);
          expect(tally.lost).toBe(0);
          expect(seconds).toBeLessThan(BACKOFF_CAP_S + RESYNC_S);
          for (const n of [1, 2]) await lab.waitReady(n, 5000);
        }),
      );
    }, 120_000);
  });

  describe('Kubernetes API: watches dropped, re-watch answered 410 Gone', () => {
    const labs: Lab[] = [];

    beforeAll(async () => {
      const built = await Promise.allSettled(FAULT_BACKENDS.map((backend) => Lab.up(labOptions(`k${backend[0]!}`, { backend, registry: 'kube' }))));
      for (const b of built) if (b.status === 'fulfilled') labs.push(b.value);
      const failed = built.find((b) => b.status === 'rejected');
      if (failed) throw failed.reason;
    }, 120_000);
    afterAll(async () => {
      await Promise.all(labs.map((lab) => lab.down()));
    });

    it('gives every pod a path to every other pod with the kube registry', async () => {
      for (const lab of labs) expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });

    it('keeps pods talking and every route in place while the API fails every request for 10 s', async () => {
      await Promise.all(
        labs.map(async (lab) => {
          const backend = lab.state.backend;
          const routesBefore = await Promise.all([1, 2, 3].map((n) => weftRoutes(lab, n)));
          const ping = pingRing(lab);
          await sleep(300);
          await lab.kubeControl('POST', '/fail-next', { count: 1_000_000, code: 503 });
          await lab.kubeControl('POST', '/drop-watches', { abrupt: true });
          await sleep(10_000);
          expect(await Promise.all([1, 2, 3].map((n) => weftRoutes(lab, n)))).toEqual(routesBefore);
          await lab.kubeControl('POST', '/fail-next', { count: 0 });
          const back = performance.now();
          const seconds = await secondsUntil(`every daemon watching again (${backend})`, async () => (await lab.kubeControl<KubeControlState>('GET', '/state')).openWatches >= 3, (KUBE_RETRY_AFTER_10S_OUTAGE_S + 5) * 1000, back);
          const tally = await ping.stop();
          await recordFigure(`registry outage: kube API failing (503) for 10 s (${backend})`, { packetsLost: tally.lost, packetsSent: tally.sent, outageSeconds: 10, secondsUntilWatchingAgain: secs(seconds) });
          expect(tally.lost).toBe(0);
          expect(seconds).toBeLessThan(KUBE_RETRY_AFTER_10S_OUTAGE_S + 1);
          expect(await Promise.all([1, 2, 3].map((n) => weftRoutes(lab, n)))).toEqual(routesBefore);
          // Watching again for a while resets the backoff: the next drop is followed at once.
          await sleep(2500);
        }),
      );
    }, 60_000);

    it('relists after the 410, removes node3 (deleted while the watches were down), loses no ping', async () => {
      await Promise.all(
        labs.map(async (lab) => {
          const backend = lab.state.backend;
          const gone = await gonePeer(lab, 3);
          const ping = pingRing(lab, [3]);
          await sleep(300);
          await lab.stopDaemon(3, 'SIGTERM');
          const before = await lab.kubeControl<KubeControlState>('GET', '/state');
          // Silence first, so the open watches cannot see the deletion as an event; compacting
          // then makes every re-watch from an older resourceVersion a 410.
          await lab.kubeControl('POST', '/silent', { silent: true });
          await lab.kubeControl('POST', '/delete-node', { name: 'node3' });
          await lab.kubeControl('POST', '/compact');
          await sleep(1000);
          // Still there: nothing told the daemons yet.
          expect(await traceOf(lab, 1, gone)).toBe(true);
          const dropped = performance.now();
          await lab.kubeControl('POST', '/drop-watches', { abrupt: true });
          await lab.kubeControl('POST', '/silent', { silent: false });
          const seconds = await secondsUntil(`node3 gone from nodes 1 and 2 (${backend}, kube)`, async () => !(await traceOf(lab, 1, gone)) && !(await traceOf(lab, 2, gone)), (BACKOFF_CAP_S + RESYNC_S) * 1000, dropped);
          await sleep(300);
          const tally = await ping.stop();
          const after = await lab.kubeControl<KubeControlState>('GET', '/state');
          await recordFigure(`registry outage: kube watch dropped + 410 Gone, node removed meanwhile (${backend})`, { packetsLost: tally.lost, packetsSent: tally.sent, secondsToRemoveNodeAfterWatchDropped: secs(seconds) });
          expect(tally.lost).toBe(0);
          expect(seconds).toBeLessThan(RESYNC_S + 1);
          expect(after.watchRequests).toBeGreaterThan(before.watchRequests);
          // The path was the 410 and a relist, not a lucky event.
          for (const n of [1, 2]) expect(await run('grep', ['-c', 'watch expired (410 Gone), relisting', `${lab.nodeLayout(n).dir}/daemon.log`])).toMatch(/^[1-9]/);
          for (const n of [1, 2]) await lab.waitReady(n, 5000);
        }),
      );
    }, 60_000);
  });
});
