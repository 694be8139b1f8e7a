// End to end: `"Backend": {"Type": "bgp", "CrossSubnet": "vxlan"}` on two L2 segments joined by a
// router that knows nothing of pods (test/helpers/cross-subnet-cluster.ts): a1 and a2 on segment
// A, b1 on segment B, a real `weft daemon` (dist/) on each, in the full mesh. What an operator
// relies on:
//  - a1 and a2 route to each other natively (BGP route via the other's IP on eth0);
//  - b1 is reached over VXLAN (flannel.1, onlink via its podCIDR's .0) and reaches them the same
//    way — the mesh does teach the far podCIDRs, but via the router, which would drop them;
//  - the two datapaths' proto-87 routes survive each other's resyncs; a native route that becomes
//    usable takes over from VXLAN and gives way again; pods reach each other throughout, also
//    across a SIGKILL + restart; the pod MTU is the VXLAN one (1450).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { daemonGet } from '../../src/daemon/client.js';
import { isAlive, probe } from '../../src/lab/exec.js';
import { CrossSubnetCluster } from '../helpers/cross-subnet-cluster.js';
import { describeKernel } from '../helpers/env.js';
import { continuousPing, waitFor, type RouteJson } from '../helpers/lab-probes.js';

describeKernel('weft daemon --backend=bgp with CrossSubnet "vxlan": two segments, a router, three nodes', ['etcd', 'etcdctl', 'ping'], () => {
  let c: CrossSubnetCluster;

  beforeAll(async () => {
    c = await CrossSubnetCluster.up();
  }, 90_000);
  afterAll(async () => {
    await c?.stop();
  }, 30_000);

  it('routes the two nodes of segment A natively to each other, over BGP', async () => {
    for (const [from, to] of [['a1', 'a2'], ['a2', 'a1']] as const) {
      const route = await waitFor(`${from}'s BGP route to ${to}`, async () => (await c.routes(c.node(from))).find((r) => r.dst === c.node(to).subnet), 20_000);
      expect(route).toMatchObject({ gateway: c.node(to).ul.ipv4, dev: 'eth0' });
    }
  });

  it('reaches the node of segment B over VXLAN, and B reaches A the same way (the mesh route via the router is not used)', async () => {
    for (const [from, to] of [['a1', 'b1'], ['a2', 'b1'], ['b1', 'a1'], ['b1', 'a2']] as const) {
      const dst = c.node(to).subnet;
      const route = await waitFor(`${from}'s VXLAN route to ${to}`, async () => (await c.routes(c.node(from))).find((r) => r.dst === dst && r.dev === 'flannel.1'), 20_000);
      expect(route).toMatchObject({ gateway: dst.replace(/\/24$/, ''), dev: 'flannel.1' });
      expect(route.flags).toContain('onlink');
    }
    // The mesh sessions across the router are up all the same: that is how b1's podCIDR is known.
    const peers = (await c.status(c.node('a1'))).bgp?.peers ?? [];
    expect(peers.map((p) => p.address).sort()).toEqual([c.node('a2').ul.ipv4, c.node('b1').ul.ipv4].sort());
    // b1's VTEP crossed the registry: a1 has its FDB entry on flannel.1, and none for a2.
    const fdb = await c.topo.json<{ dst?: string }>(c.node('a1').ul.ns, 'bridge', ['fdb', 'show', 'dev', 'flannel.1']);
    expect(fdb.some((e) => e.dst === c.node('b1').ul.ipv4)).toBe(true);
    expect(fdb.some((e) => e.dst === c.node('a2').ul.ipv4)).toBe(false);
  });

  it('reports every remote node programmed and publishes the VXLAN pod MTU (underlay 1500 − 50)', async () => {
    for (const n of c.nodes) {
      const status = await waitFor(`${n.name} programmed`, async () => {
        const s = await c.status(n);
        return s.remoteNodes.length === 2 && s.remoteNodes.every((r) => r.state === 'programmed') ? s : undefined;
      }, 10_000);
      expect(status.mtu).toBe(1450);
      expect(readFileSync(join(n.dir, 'subnet.env'), 'utf8')).toMatch(/FLANNEL_MTU=1450/);
    }
    // Which datapath carries each node, as /status (and weft status) tells the operator.
    const paths = async (name: 'a1' | 'b1'): Promise<Record<string, string | undefined>> => Object.fromEntries((await c.status(c.node(name))).remoteNodes.map((r) => [r.name, r.datapath]));
    expect(await paths('a1')).toEqual({ a2: 'native', b1: 'vxlan' });
    expect(await paths('b1')).toEqual({ a1: 'vxlan', a2: 'vxlan' });
  });

  it('lets every pod reach every other pod, natively within A and over VXLAN across the router', async () => {
    const failures: string[] = [];
    for (const from of c.nodes) {
      for (const to of c.nodes) {
        if (from !== to && !(await probe('ping', ['-c', '1', '-W', '2', to.pod.ip], { netns: from.pod.ns })).ok) failures.push(`${from.name} → ${to.name}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('keeps both datapaths\' routes across resyncs: neither backend removes the other\'s', async () => {
    const snapshot = async () => Object.fromEntries(await Promise.all(c.nodes.map(async (n) => [n.name, (await c.routes(n)).map((r) => `${r.dst} ${r.dev}`).sort()] as const)));
    const before = await snapshot();
    await new Promise((r) => setTimeout(r, 3500)); // three resync periods
    expect(await snapshot()).toEqual(before);
    for (const n of c.nodes) {
      const removed = readFileSync(join(n.dir, 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes('"route removed"'));
      expect(removed, `${n.name} removed routes`).toEqual([]);
    }
  });

  // b1's next hop becomes reachable from a1 without a gateway — the shape a ToR announcing with
  // next-hop-self gives: a /32 on-link route, the router answering ARP for it (proxy ARP) and
  // knowing b1's podCIDR. a1's mesh path to b1 is now usable, so BGP takes b1 over; when the
  // underlay forgets again, b1 goes back to VXLAN. Pods keep reaching each other in both states.
  it('moves b1 from VXLAN to a BGP route when one becomes usable (its VXLAN entries go), and back', async () => {
    const [a1, b1] = [c.node('a1'), c.node('b1')];
    const b1Route = async (): Promise<RouteJson | undefined> => (await c.routes(a1)).find((r) => r.dst === b1.subnet);
    const b1Fdb = async () => (await c.topo.json<{ dst?: string }>(a1.ul.ns, 'bridge', ['fdb', 'show', 'dev', 'flannel.1'])).some((e) => e.dst === b1.ul.ipv4);
    const ping = async () => (await probe('ping', ['-c', '1', '-W', '2', b1.pod.ip], { netns: a1.pod.ns })).ok;
    await c.topo.exec(c.router, 'sysctl', ['-qw', 'net.ipv4.conf.ra.proxy_arp=1']);
    await c.topo.ip(c.router, ['route', 'add', b1.subnet, 'via', b1.ul.ipv4]);
    await c.topo.ip(a1.ul.ns, ['route', 'add', `${b1.ul.ipv4}/32`, 'dev', 'eth0']);

    await waitFor('a1 routing b1 natively', async () => (await b1Route())?.dev === 'eth0', 10_000);
    expect(await b1Route()).toMatchObject({ gateway: b1.ul.ipv4, dev: 'eth0' });
    await waitFor('b1\'s FDB entry gone from a1', async () => !(await b1Fdb()), 5000);
    expect(await c.topo.json(a1.ul.ns, 'ip', ['neigh', 'show', 'dev', 'flannel.1', b1.subnet.replace(/\/24$/, '')])).toEqual([]);
    expect(await ping()).toBe(true);

    await c.topo.ip(a1.ul.ns, ['route', 'del', `${b1.ul.ipv4}/32`, 'dev', 'eth0']);
    await waitFor('a1 back on VXLAN for b1', async () => (await b1Route())?.dev === 'flannel.1' && (await b1Fdb()), 10_000);
    expect(await ping()).toBe(true);
  });

  it('loses no 10 ms ping, native or encapsulated, while a1\'s daemon is SIGKILLed and restarted', async () => {
    const a1 = c.node('a1');
    const pings = [continuousPing(a1.pod.ns, c.node('a2').pod.ip), continuousPing(a1.pod.ns, c.node('b1').pod.ip)];
    await new Promise((r) => setTimeout(r, 300));
    process.kill(a1.pid!, 'SIGKILL');
    await waitFor('a1\'s daemon gone', async () => !isAlive(a1.pid!));
    c.startDaemon(a1);
    await waitFor('a1 ready again', async () => (await daemonGet({ socketPath: join(a1.dir, 'weft.sock') }, '/readyz').catch(() => undefined))?.status === 200, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // a resync or two after the restart
    const [native, overlay] = await Promise.all(pings.map((p) => p.stop()));
    expect(native!.sent).toBeGreaterThan(50);
    expect({ native: native!.sent - native!.received, overlay: overlay!.sent - overlay!.received }).toEqual({ native: 0, overlay: 0 });
  });
});
