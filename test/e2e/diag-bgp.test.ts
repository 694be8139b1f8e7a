// End to end: `weft doctor`'s BGP checks on one lab (3 nodes, --backend=bgp, iBGP full mesh, resync
// 1h so the daemon repairs nothing behind our back). Healthy: no errors. Peer down (node3's daemon
// SIGKILLed): node1's doctor names node3's IP as a peer that is not Established, and is clean again
// once node3's daemon is back. Missing route (node2's podCIDR deleted by hand on node1): doctor
// names it, and the fix it prints — run as printed in node1's namespace — restores it: ping works.
//
// Doctor is called as a function with the node's namespace, as in diag.test.ts.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { doctor, type DoctorReport, type Finding } from '../../src/diag/doctor.js';
import { probe, run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';

const RUN_ROOT = '/tmp/weft-test-labs';
const id = `wg${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

async function waitFor<T>(what: string, get: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(value, null, 1).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describeKernel('weft doctor BGP checks on a lab (bgp backend)', ['etcd', 'etcdctl', 'ping'], () => {
  let lab: Lab;
  let binDir: string;

  beforeAll(async () => {
    binDir = mkdtempSync(join(tmpdir(), 'weft-cni-bin-'));
    cpSync('/usr/lib/cni', binDir, { recursive: true });
    lab = await Lab.up({ id, runRoot: RUN_ROOT, backend: 'bgp', nodes: 3, podsPerNode: 1, resync: '1h' });
  }, 60_000);
  afterAll(async () => {
    await lab?.down();
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  });

  const ns = (i: number): string => lab.nodeLayout(i).netns;
  const dir = (i: number): string => lab.nodeLayout(i).dir;
  const options = (i: number) => ({
    netns: ns(i),
    daemon: { socketPath: lab.statusSocket(i) },
    subnetFile: join(dir(i), 'subnet.env'),
    cniConfDir: join(dir(i), 'cni'),
    cniBinDir: binDir,
    ipamDir: join(dir(i), 'ipam'),
    netConf: join(lab.layout.runDir, 'net-conf.json'),
  });
  const problems = (report: DoctorReport): Finding[] => report.findings.filter((f) => f.severity !== 'ok');
  const nodeIp = (i: number): string => lab.state.nodes.find((n) => n.index === i)!.ip;
  const subnetOf = async (i: number): Promise<string> => ((await lab.daemonStatus(i)) as { subnet: string }).subnet;
  /** Doctor on node `i` once every peer session and route has settled (BGP converges on its own). */
  const clean = (i: number, timeoutMs = 20_000): Promise<DoctorReport> => waitFor(`a clean doctor on node${i}`, () => doctor(options(i)), (r) => problems(r).length === 0, timeoutMs);

  it('finds nothing wrong on a healthy node: peers Established, a route to every remote node', async () => {
    const report = await clean(1);
    expect(report.backend).toBe('bgp');
    expect(report.errors).toBe(0);
    expect(report.findings.filter((f) => f.notApplicable)).toEqual([]);
    expect(report.findings.find((f) => f.check === 'bgp.peers')?.what).toMatch(/^2 of 2 BGP peers Established/);
    expect(report.findings.find((f) => f.check === 'bgp.routes')?.what).toMatch(/^2 of 2 remote nodes have a proto 87 route/);
  });

  it('peer down: names node3 as a mesh peer not Established; clean again once its daemon is back', async () => {
    await lab.stopDaemon(3, 'SIGKILL');
    try {
      const report = await waitFor('a bgp.peers error on node1', () => doctor(options(1)), (r) => r.findings.some((f) => f.check === 'bgp.peers' && f.severity === 'error'), 30_000);
      const found = problems(report).filter((f) => f.check === 'bgp.peers');
      expect(found).toHaveLength(1);
      expect(found[0]!.what).toContain(`mesh peer ${nodeIp(3)} (node3`);
      expect(found[0]!.what).toMatch(/is (Idle|Connect|Active|OpenSent|OpenConfirm), not Established/);
      expect(found[0]!.fix).toContain('weft status');
      expect(found[0]!.fix).toContain('node3');
      // Graceful restart keeps node3's routes meanwhile: only the peer is reported.
      expect(problems(report).map((f) => f.check)).toEqual(['bgp.peers']);
    } finally {
      await lab.startDaemon(3);
      await lab.waitReady(3);
    }
    await clean(1, 30_000);
  }, 60_000);

  it('missing route: names node2 and its podCIDR; the printed fix restores it and ping works', async () => {
    const subnet = await subnetOf(2);
    await run('ip', ['-n', ns(1), 'route', 'del', subnet, 'proto', '87']);
    const from = lab.state.pods.find((p) => p.node === 1)!;
    const to = lab.state.pods.find((p) => p.node === 2)!;
    expect((await probe('ping', ['-c1', '-W1', to.ip], { netns: from.netns })).ok).toBe(false);
    const report = await doctor(options(1));
    const found = problems(report);
    expect(found.map((f) => f.check)).toEqual(['bgp.routes']);
    expect(found[0]!.severity).toBe('error');
    expect(found[0]!.what).toContain(`node2: no route to ${subnet} via ${nodeIp(2)}`);
    expect(found[0]!.fix).toBe(`ip route replace ${subnet} via ${nodeIp(2)} proto 87`);
    await run('sh', ['-c', found[0]!.fix!], { netns: ns(1) });
    expect(problems(await doctor(options(1)))).toEqual([]);
    expect((await probe('ping', ['-c1', '-W2', to.ip], { netns: from.netns })).ok).toBe(true);
  });
});
