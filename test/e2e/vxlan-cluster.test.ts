// End to end: `weft daemon --backend=vxlan` on three nodes built from namespaces, a real etcd,
// pods created by the CNI reference plugins from the conflist each daemon wrote — the lab, as
// `npm start` builds it. What a cluster operator relies on: every pod reaches every pod, the MTU
// is right to the byte, the wire carries VXLAN as configured, the cluster follows nodes coming
// and going, drift is repaired, and restarts (even SIGKILL) drop no packet.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probe, run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor, weftRoutes, continuousPing } from '../helpers/lab-probes.js';

const id = () => `wt${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const TOOLS = ['etcd', 'etcdctl', 'ping', 'tcpdump'];

describeKernel('weft daemon --backend=vxlan, three nodes (lab)', TOOLS, () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await Lab.up({ id: id(), runRoot: '/tmp/weft-test-labs', nodes: 3, podsPerNode: 2, resync: '1s', logLevel: 'debug' });
  }, 120_000);
  afterAll(async () => {
    await lab?.down();
  });

  it('gives every pod a working path to every pod on the other nodes', async () => {
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(6 * 5);
  });

  it('programs flannel.1 as configured: VNI 1, port 8472, learning off, MTU = underlay − 50', async () => {
    const [link] = JSON.parse(await run('ip', ['-j', '-d', '-n', lab.nodeLayout(1).netns, 'link', 'show', 'flannel.1'])) as { mtu: number; linkinfo: { info_kind: string; info_data: { id: number; port: number; learning: boolean; local: string } } }[];
    expect(link).toMatchObject({ mtu: 1450, linkinfo: { info_kind: 'vxlan', info_data: { id: 1, port: 8472, learning: false, local: '192.0.2.11' } } });
  });

  it('passes a DF ping of exactly MTU − 28 bytes across nodes and refuses one byte more', async () => {
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 2)!];
    expect((await probe('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', '1422', to.ip], { netns: from.netns })).ok).toBe(true);
    expect((await probe('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', '1423', to.ip], { netns: from.netns })).ok).toBe(false);
  });

  it('carries pod traffic as VXLAN VNI 1 on UDP 8472 over the underlay', async () => {
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 3)!];
    const capture = spawn('ip', ['netns', 'exec', lab.layout.underlayNetns, 'timeout', '5', 'tcpdump', '-n', '-l', '-c', '2', '-i', 'n3', '-T', 'vxlan', 'udp port 8472'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    capture.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    const done = new Promise((r) => capture.once('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    await probe('ping', ['-c', '3', '-i', '0.2', to.ip], { netns: from.netns });
    await done;
    expect(seen).toMatch(/VXLAN.*vni 1/);
    expect(seen).toContain(`${from.ip} > ${to.ip}: ICMP echo`);
  });

  it('removes stale entries a previous run left for nodes that no longer exist', async () => {
    const ns = lab.nodeLayout(1).netns;
    await run('ip', ['-n', ns, 'neigh', 'replace', '10.244.250.0', 'lladdr', '02:de:ad:00:00:01', 'dev', 'flannel.1', 'nud', 'permanent']);
    await run('bridge', ['-n', ns, 'fdb', 'replace', '02:de:ad:00:00:01', 'dev', 'flannel.1', 'dst', '192.0.2.250', 'self', 'permanent']);
    await run('ip', ['-n', ns, 'route', 'replace', '10.244.250.0/24', 'via', '10.244.250.0', 'dev', 'flannel.1', 'onlink', 'proto', '87']);
    await waitFor('stale route removed', async () => !(await weftRoutes(lab, 1)).some((r) => r.dst === '10.244.250.0/24'), 5000);
    const fdb = await run('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'flannel.1']);
    expect(fdb).not.toContain('02:de:ad:00:00:01');
  });

  it('repairs a route, an FDB entry and a neighbour deleted by hand within one resync period', async () => {
    const ns = lab.nodeLayout(1).netns;
    const victim = (await weftRoutes(lab, 1)).find((r) => r.dev === 'flannel.1')!;
    await run('ip', ['-n', ns, 'route', 'del', victim.dst]);
    await run('ip', ['-n', ns, 'neigh', 'flush', 'dev', 'flannel.1']);
    await waitFor('route restored', async () => (await weftRoutes(lab, 1)).some((r) => r.dst === victim.dst), 5000);
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('recreates flannel.1 when someone deletes it, and pods talk again', async () => {
    await run('ip', ['-n', lab.nodeLayout(2).netns, 'link', 'del', 'flannel.1']);
    await waitFor('device recreated and routes back', async () => (await weftRoutes(lab, 2)).length === 2, 8000);
    const results = await lab.connectivity();
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('loses no 10 ms ping while a daemon is SIGKILLed and restarted (the datapath outlives it)', async () => {
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 2)!];
    const ping = continuousPing(from.netns, to.ip);
    await new Promise((r) => setTimeout(r, 500));
    await lab.stopDaemon(1, 'SIGKILL');
    await lab.stopDaemon(2, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await lab.startDaemon(1);
    await lab.startDaemon(2);
    await lab.waitReady(1);
    await lab.waitReady(2);
    await new Promise((r) => setTimeout(r, 500));
    const { sent, received } = await ping.stop();
    expect(sent).toBeGreaterThan(100);
    expect(received).toBe(sent);
  });

  it('loses no ping across a graceful SIGTERM restart either, and keeps the VTEP MAC', async () => {
    const ns = lab.nodeLayout(3).netns;
    const macBefore = (JSON.parse(await run('ip', ['-j', '-n', ns, 'link', 'show', 'flannel.1'])) as { address: string }[])[0]!.address;
    const [from, to] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 3)!];
    const ping = continuousPing(from.netns, to.ip);
    await lab.stopDaemon(3, 'SIGTERM');
    await lab.startDaemon(3);
    await lab.waitReady(3);
    const { sent, received } = await ping.stop();
    expect(received).toBe(sent);
    const macAfter = (JSON.parse(await run('ip', ['-j', '-n', ns, 'link', 'show', 'flannel.1'])) as { address: string }[])[0]!.address;
    expect(macAfter).toBe(macBefore);
  });

  it('clears a removed node from the others within 2 s', async () => {
    const subnet = ((await lab.daemonStatus(3)) as { subnet: string }).subnet;
    await lab.stopDaemon(3, 'SIGTERM');
    await run('etcdctl', ['--endpoints', lab.layout.etcdEndpoint, 'del', `/weft/network/subnets/${subnet.replace('/', '-')}`], { netns: lab.layout.underlayNetns, env: { ...process.env, ETCDCTL_API: '3' } });
    const started = Date.now();
    for (const node of [1, 2]) await waitFor(`node3's route gone from node${node}`, async () => !(await weftRoutes(lab, node)).some((r) => r.dst === subnet), 2000);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
