// Faults (issue 10): the route reflector every node peers with restarts. With graceful restart
// (RFC 4724) the nodes are its helpers: when BIRD is killed, each keeps the routes it learned
// from it as stale — in the Loc-RIB and in the kernel — for BIRD's restart time; when BIRD is
// back, re-learns them, and at BIRD's End-of-RIB removes only what did not come back. Pods never
// notice (pod traffic goes node to node; the reflector only carries routes). Without graceful
// restart on BIRD's side the same kill withdraws the routes at once (RFC 4271: a session that
// dies takes its routes): measured as the contrast.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { continuousPing, waitFor, weftRoutes } from '../helpers/lab-probes.js';

const id = () => `wg${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

// One protocol per node, not `neighbor range`: a restarting BIRD (-R) waits for the End-of-RIB of
// the neighbours it knows before it sends its own, and dynamic neighbours are unknown until they
// reconnect — with a range it would end its RIB to node1 before node3 is back, and node1 would
// rightly drop node3's stale route.
const NODE_IPS = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const birdConf = (gracefulRestart: boolean): string => `router id 192.0.2.1;
protocol device {}
template bgp node {
  local 192.0.2.1 as 64512;
  direct;
  rr client;
  error wait time 1, 2;
  graceful restart ${gracefulRestart ? 'on' : 'off'};
  graceful restart time 30;
  ipv4 { import all; export all; };
}
${NODE_IPS.map((ip, i) => `protocol bgp node${i + 1} from node { neighbor ${ip} as 64512; }`).join('\n')}
`;

describeKernel('a peer router restarts: graceful restart keeps routes, without it they go (lab --tor=bird)', ['etcd', 'etcdctl', 'ping', 'bird', 'birdc'], () => {
  let lab: Lab;

  const allRoutes = async (): Promise<number[]> => Promise.all([1, 2, 3].map(async (n) => (await weftRoutes(lab, n)).length));
  const torEstablished = async (): Promise<boolean> => {
    const all = await Promise.all([1, 2, 3].map(async (n) => ((await lab.daemonStatus(n)) as DaemonStatus).bgp?.peers.find((p) => p.address === '192.0.2.1')?.state));
    return all.every((s) => s === 'Established');
  };

  async function restartBird(gracefulRestart: boolean): Promise<void> {
    process.kill(lab.state.torPid!, 'SIGKILL');
    await waitFor('BIRD gone', async () => {
      try {
        process.kill(lab.state.torPid!, 0);
        return false;
      } catch {
        return true;
      }
    });
    // -R: BIRD knows it is recovering (R and F bits), and defers its End-of-RIB until its
    // clients have re-sent their routes. Without it BIRD's new OPEN says forwarding was not
    // preserved, and helpers must drop the stale routes at once (RFC 4724 §4.2).
    await lab.startBird(birdConf(gracefulRestart), gracefulRestart ? ['-R'] : []);
  }

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', backend: 'bgp', tor: 'bird', nodes: 3, podsPerNode: 1, resync: '1s', torConfig: birdConf(true) });
    await waitFor('every node has its two routes', async () => (await allRoutes()).every((n) => n === 2), 15_000);
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('with graceful restart: no route leaves any kernel while BIRD is dead and comes back; no ping lost', async () => {
    const pod = lab.state.pods.find((p) => p.node === 2)!;
    const ping = continuousPing(lab.nodeLayout(1).netns, pod.ip);
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = performance.now();
    let fewest = 2;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        fewest = Math.min(fewest, ...(await allRoutes()));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await restartBird(true);
    await waitFor('sessions Established again', torEstablished, 20_000);
    const reestablished = (performance.now() - killedAt) / 1000;
    // Stale routes are swept at BIRD's End-of-RIB; give that a moment, then look again.
    await new Promise((r) => setTimeout(r, 1500));
    watching = false;
    await watcher;
    const { sent, received } = await ping.stop();
    console.log(`peer GR restart: BIRD SIGKILLed and restarted, sessions back after ${reestablished.toFixed(2)} s; fewest weft routes on any node meanwhile: ${fewest} of 2; pings ${received}/${sent}`);
    expect(fewest).toBe(2);
    expect(received).toBe(sent);
    expect(await allRoutes()).toEqual([2, 2, 2]);
    const stale = ((await lab.daemonStatus(1)) as { bgp?: { peers: { address: string; prefixesAccepted: number }[] } }).bgp?.peers.find((p) => p.address === '192.0.2.1');
    expect(stale?.prefixesAccepted).toBe(2);
  }, 60_000);

  it('without graceful restart: the routes leave the kernels as soon as BIRD dies, and return with it', async () => {
    writeFileSync(join(lab.layout.runDir, 'bird.conf'), birdConf(false));
    await lab.birdc('configure');
    await waitFor('sessions Established without GR', torEstablished, 20_000);
    await waitFor('routes back', async () => (await allRoutes()).every((n) => n === 2), 15_000);
    const killedAt = performance.now();
    process.kill(lab.state.torPid!, 'SIGKILL');
    await waitFor('every node without routes', async () => (await allRoutes()).every((n) => n === 0), 10_000);
    const gone = (performance.now() - killedAt) / 1000;
    console.log(`peer restart without GR: routes withdrawn from every kernel ${gone.toFixed(2)} s after BIRD died`);
    await lab.startBird(readFileSync(join(lab.layout.runDir, 'bird.conf'), 'utf8'));
    await waitFor('routes back after BIRD returned', async () => (await allRoutes()).every((n) => n === 2), 40_000);
  }, 90_000);
});
