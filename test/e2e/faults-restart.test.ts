// Faults, the daemons die: the datapath outlives them. Pods on every node ping a pod on the next
// node every 10 ms while daemons are SIGKILLed or SIGTERMed and started again: not one packet is
// lost. vxlan-cluster.test.ts and bgp-cluster.test.ts already restart one or two daemons of an
// etcd lab; here, on labs whose registry is the Kubernetes API (test server), every daemon of the
// cluster goes at once (for bgp: every speaker restarting together, so no peer can hold another's
// routes — each relies on its own routes kept in the kernel), and a daemon is killed again while
// it is still starting.
//
// Figures (packets lost of sent, seconds until every daemon was ready again) are printed and
// recorded in bench/results/reliability.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { FAULT_BACKENDS, faultLabId, pingRing, recordFigure, RUN_ROOT, secs, sleep } from '../helpers/faults.js';
import { weftRoutes } from '../helpers/lab-probes.js';

const TOOLS = ['ping', 'bridge'];
const NODES = [1, 2, 3];

async function restartAll(lab: Lab, signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
  await Promise.all(NODES.map((n) => lab.stopDaemon(n, signal)));
  await sleep(500);
  const started = performance.now();
  for (const n of NODES) await lab.startDaemon(n);
  await Promise.all(NODES.map((n) => lab.waitReady(n)));
  return (performance.now() - started) / 1000;
}

for (const backend of FAULT_BACKENDS) {
  describeKernel(`faults: daemons restarted under 10 ms pings (${backend}, kube registry)`, TOOLS, () => {
    let lab: Lab;

    beforeAll(async () => {
      lab = await Lab.up({ id: faultLabId(`r${backend[0]!}`), runRoot: RUN_ROOT, backend, registry: 'kube', nodes: 3, podsPerNode: 1, resync: '2s', logLevel: 'debug' });
    }, 120_000);
    afterAll(async () => {
      await lab?.down();
    });

    describe.each(['SIGKILL', 'SIGTERM'] as const)('%s', (signal) => {
      it(`loses no ping while every daemon is stopped with ${signal} at once and started again`, async () => {
        const routesBefore = await Promise.all(NODES.map((n) => weftRoutes(lab, n)));
        const ping = pingRing(lab);
        await sleep(300);
        const readySeconds = await restartAll(lab, signal);
        await sleep(500);
        const tally = await ping.stop();
        await recordFigure(`restart: all daemons ${signal} + start (${backend})`, { packetsLost: tally.lost, packetsSent: tally.sent, secondsUntilAllReady: secs(readySeconds) });
        expect(tally.sent).toBeGreaterThan(300);
        expect(tally.lost).toBe(0);
        // The same routes as before: nothing was flushed and rebuilt.
        expect(await Promise.all(NODES.map((n) => weftRoutes(lab, n)))).toEqual(routesBefore);
      });
    });

    it('loses no ping when a daemon is SIGKILLed again while it is still starting', async () => {
      const ping = pingRing(lab);
      await sleep(300);
      await lab.stopDaemon(2, 'SIGKILL');
      await lab.startDaemon(2);
      await sleep(150);
      await lab.stopDaemon(2, 'SIGKILL');
      await sleep(300);
      const started = performance.now();
      await lab.startDaemon(2);
      await lab.waitReady(2);
      const readySeconds = (performance.now() - started) / 1000;
      await sleep(500);
      const tally = await ping.stop();
      await recordFigure(`restart: daemon SIGKILLed during its start, started again (${backend})`, { packetsLost: tally.lost, packetsSent: tally.sent, secondsUntilReady: secs(readySeconds) });
      expect(tally.lost).toBe(0);
      expect((await lab.connectivity()).filter((r) => !r.ok)).toEqual([]);
    });
  });
}
