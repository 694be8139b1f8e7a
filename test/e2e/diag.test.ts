// End to end: `weft doctor` and `weft trace` on one lab (3 nodes × 2 pods, VXLAN). Doctor must be
// clean on a healthy node; then each fault it claims to detect is made by hand, one at a time, and
// for each: doctor names it, the fix it prints — run as printed, in the node's namespace, with no
// help from the daemon (resync 1h, so the daemon does not repair behind our back) — makes doctor
// clean again. Trace must be all ✓ on a healthy path and point at exactly the hop broken.
//
// Doctor is called as a function with the node's namespace (fast; no process per check), plus one
// CLI run per command as a child process inside the namespace, exactly as an operator would.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { doctor, type DoctorReport, type Finding } from '../../src/diag/doctor.js';
import { labTopology, trace, type TraceReport } from '../../src/diag/trace.js';
import { probe, run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { describeKernel } from '../helpers/env.js';

const RUN_ROOT = '/tmp/weft-test-labs';
const id = `wd${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`;

/** The CLI tests run the built dist/: rebuild it when any src/diag file is newer. */
async function ensureBuilt(): Promise<void> {
  const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => statSync(join(dir, f)).mtimeMs));
  const built = 'dist/src/diag/doctor.js';
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(newest('src/diag'), statSync('src/cli.ts').mtimeMs)) return;
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { timeoutMs: 120_000 }).catch((error: unknown) => {
    // tsc emits even with type errors elsewhere in the tree; only a missing output is fatal.
    if (!existsSync(built)) throw error;
  });
}

describeKernel('weft doctor and weft trace on a lab', ['etcd', 'etcdctl', 'nft', 'bridge'], () => {
  let lab: Lab;
  let binDir: string;

  beforeAll(async () => {
    binDir = mkdtempSync(join(tmpdir(), 'weft-cni-bin-'));
    cpSync('/usr/lib/cni', binDir, { recursive: true });
    [lab] = await Promise.all([Lab.up({ id, runRoot: RUN_ROOT, nodes: 3, podsPerNode: 2, resync: '1h' }), ensureBuilt()]);
  }, 120_000);
  afterAll(async () => {
    await lab?.down();
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  });

  const ns = (i: number): string => lab.nodeLayout(i).netns;
  const dir = (i: number): string => lab.nodeLayout(i).dir;
  const ipamDir = (i: number): string => join(dir(i), 'ipam', 'weft');
  const options = (i: number, extra: { serviceCidr?: string } = {}) => ({
    netns: ns(i),
    daemon: { socketPath: lab.statusSocket(i) },
    subnetFile: join(dir(i), 'subnet.env'),
    cniConfDir: join(dir(i), 'cni'),
    cniBinDir: binDir,
    ipamDir: join(dir(i), 'ipam'),
    netConf: join(lab.layout.runDir, 'net-conf.json'),
    ...extra,
  });
  const problems = (report: DoctorReport): Finding[] => report.findings.filter((f) => f.severity !== 'ok');
  const subnetOf = async (i: number): Promise<string> => /FLANNEL_SUBNET=([\d.]+)\.1\/24/.exec(readFileSync(join(dir(i), 'subnet.env'), 'utf8'))![1]!;

  /** Asserts the fault is found and named, runs every printed fix in node `i`'s namespace, asserts clean. */
  async function expectFoundAndFixed(i: number, check: string, names: string | RegExp, severity: 'warn' | 'error' = 'error'): Promise<Finding[]> {
    const before = await doctor(options(i));
    const found = problems(before).filter((f) => f.check === check);
    expect(found, JSON.stringify(problems(before), null, 1)).not.toEqual([]);
    expect(found.some((f) => f.severity === severity && (typeof names === 'string' ? f.what.includes(names) : names.test(f.what)))).toBe(true);
    for (const f of problems(before)) {
      expect(f.fix, `${f.check}: ${f.what}`).toBeTruthy();
      await run('sh', ['-c', f.fix!], { netns: ns(i) });
    }
    const after = await doctor(options(i));
    expect(problems(after)).toEqual([]);
    expect(after.errors).toBe(0);
    return found;
  }

  it('finds nothing wrong on a healthy node, and says the BGP checks do not apply', async () => {
    for (const i of [1, 2, 3]) {
      const report = await doctor(options(i));
      expect(problems(report)).toEqual([]);
      expect(report.findings.filter((f) => f.notApplicable).map((f) => f.what)).toEqual([expect.stringContaining('not applicable: backend vxlan'), expect.stringContaining('not applicable: backend vxlan')]);
    }
  });

  it('CLI: weft doctor inside the node namespace exits 0 on a healthy node and 1 on a broken one', async () => {
    const o = options(2);
    const args = ['netns', 'exec', ns(2), process.execPath, 'bin/weft.js', 'doctor', '--socket', o.daemon.socketPath, '--subnet-file', o.subnetFile, '--cni-conf-dir', o.cniConfDir, '--cni-bin-dir', binDir, '--cni-ipam-dir', o.ipamDir, '--net-conf', o.netConf];
    const cli = (extra: string[]) => new Promise<{ code: number; stdout: string }>((resolve) => execFile('ip', [...args, ...extra], (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout })));
    const healthy = await cli(['--json']);
    expect(healthy.code).toBe(0);
    expect((JSON.parse(healthy.stdout) as DoctorReport).errors).toBe(0);
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=0'], { netns: ns(2) });
    const broken = await cli([]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/✗ sysctl\.forwarding\s+net\.ipv4\.ip_forward = 0\n\s+why: .*\n\s+fix: sysctl -w net\.ipv4\.ip_forward=1/);
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns: ns(2) });
  });

  it('deleted FDB entry: names the node and restores it from the neighbour entry', async () => {
    const [entry] = JSON.parse(await run('bridge', ['-j', '-n', ns(1), 'fdb', 'show', 'dev', 'flannel.1'])) as { mac: string; dst: string }[];
    await run('bridge', ['-n', ns(1), 'fdb', 'del', entry!.mac, 'dev', 'flannel.1', 'dst', entry!.dst, 'self']);
    const [found] = await expectFoundAndFixed(1, 'vxlan.fdb', entry!.dst);
    expect(found!.fix).toBe(`bridge fdb replace ${entry!.mac} dev flannel.1 dst ${entry!.dst} self permanent`);
  });

  it('wrong device MTU: names flannel.1 and the expected 1450', async () => {
    await run('ip', ['-n', ns(1), 'link', 'set', 'flannel.1', 'mtu', '1400']);
    await expectFoundAndFixed(1, 'mtu', 'flannel.1 MTU 1400, expected 1450');
  });

  it('missing route: names the remote node and its podCIDR', async () => {
    const subnet = `${await subnetOf(3)}.0/24`;
    await run('ip', ['-n', ns(1), 'route', 'del', subnet]);
    await expectFoundAndFixed(1, 'vxlan.route', `node3: no route to ${subnet}`);
  });

  it('IP forwarding off', async () => {
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=0'], { netns: ns(1) });
    await expectFoundAndFixed(1, 'sysctl.forwarding', 'net.ipv4.ip_forward = 0');
  });

  it('strict rp_filter on flannel.1', async () => {
    await run('sysctl', ['-qw', 'net.ipv4.conf.flannel/1.rp_filter=1'], { netns: ns(1) });
    await expectFoundAndFixed(1, 'sysctl.rp_filter', 'flannel.1');
  });

  it('a FORWARD chain with policy drop', async () => {
    await run('nft', ['-f', '-'], { netns: ns(1), input: 'table ip weftdiag {\n chain weftfw {\n  type filter hook forward priority 0; policy drop;\n }\n}\n' });
    try {
      await expectFoundAndFixed(1, 'firewall.forward', 'ip weftdiag weftfw has policy drop');
    } finally {
      await run('nft', ['delete table ip weftdiag'], { netns: ns(1) });
    }
  });

  it('conflist deleted: the printed fix writes the same conflist the daemon wrote', async () => {
    const path = join(dir(1), 'cni', '10-weft.conflist');
    const original = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    unlinkSync(path);
    await expectFoundAndFixed(1, 'cni.conflist', `${path} is missing`);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(original);
  });

  it('plugin missing from the CNI bin dir', async () => {
    unlinkSync(join(binDir, 'portmap'));
    await expectFoundAndFixed(1, 'cni.plugins', '"portmap" is missing');
    expect(existsSync(join(binDir, 'portmap'))).toBe(true);
  });

  it('IPAM pool over 80 % used (filled with reservations of gone containers)', async () => {
    const base = await subnetOf(1);
    for (let host = 20; host < 230; host++) writeFileSync(join(ipamDir(1), `${base}.${host}`), `${id}-gone-${host}\r\neth0`);
    const [found] = await expectFoundAndFixed(1, 'ipam.usage', /212 of 253 addresses reserved \(84 %, over 80 %\), 210 of them stale/, 'warn');
    expect(found!.fix).toMatch(/^rm -f -- /);
    expect(readdirSync(ipamDir(1)).filter((f) => f.startsWith(base))).toHaveLength(2);
  });

  it('stale reservation: a container that no longer exists', async () => {
    const ip = `${await subnetOf(1)}.250`;
    writeFileSync(join(ipamDir(1), ip), `${id}-n1-p99\r\neth0`);
    await expectFoundAndFixed(1, 'ipam.stale', `${ip} (${id}-n1-p99`, 'warn');
    expect(existsSync(join(ipamDir(1), ip))).toBe(false);
  });

  it('duplicate pod IP: pod 1\'s address also configured in pod 2', async () => {
    const [pod1, pod2] = lab.state.pods.filter((p) => p.node === 1);
    await run('ip', ['-n', pod2!.netns, 'addr', 'add', `${pod1!.ip}/24`, 'dev', 'eth0']);
    const [found] = await expectFoundAndFixed(1, 'ipam.duplicate', `${pod1!.ip} is configured on 2 interfaces`);
    expect(found!.fix).toBe(`ip -n ${pod2!.netns} addr del ${pod1!.ip}/24 dev eth0`);
    expect((await probe('ping', ['-c', '1', '-W', '1', pod1!.ip], { netns: lab.state.pods.find((p) => p.node === 2)!.netns })).ok).toBe(true);
  });

  it('overlapping ranges: a service range inside the pod network', async () => {
    const report = await doctor(options(1, { serviceCidr: '10.244.128.0/17' }));
    expect(problems(report)).toEqual([expect.objectContaining({ check: 'ranges.overlap', severity: 'error', what: 'pod network 10.244.0.0/16 overlaps service range 10.244.128.0/17' })]);
  });

  it('trace: a healthy cross-node path is ✓ at every hop, read on both nodes and both pods', async () => {
    const [src, dst] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 2)!];
    const report = await trace(src.ip, dst.ip, await labTopology(id, RUN_ROOT));
    expect(report.hops.map((h) => [h.hop, h.state])).toEqual([
      ['pod route', 'ok'], ['veth', 'ok'], ['host route', 'ok'], ['vxlan neighbour', 'ok'], ['vxlan fdb', 'ok'], ['outer header', 'ok'], ['remote route', 'ok'], ['destination pod', 'ok'],
    ]);
    expect(report.hops[5]!.detail).toBe(`${lab.state.nodes[0]!.ip} → ${lab.state.nodes[1]!.ip} UDP dport 8472 VNI 1 (out eth0)`);
    expect(report.ok).toBe(true);
  });

  it('trace on a node (no --lab): checks this node\'s own hops and its pod, says the rest is not visible', async () => {
    const [src, dst] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 3)!];
    const args = ['netns', 'exec', ns(1), process.execPath, 'bin/weft.js', 'trace', src.ip, dst.ip, '--json', '--socket', lab.statusSocket(1), '--net-conf', join(lab.layout.runDir, 'net-conf.json'), '--cni-conf-dir', join(dir(1), 'cni')];
    const stdout = await run('ip', args);
    const report = JSON.parse(stdout) as TraceReport;
    expect(report.hops.map((h) => [h.hop, h.state])).toEqual([
      ['pod route', 'ok'], ['veth', 'ok'], ['host route', 'ok'], ['vxlan neighbour', 'ok'], ['vxlan fdb', 'ok'], ['outer header', 'ok'], ['remote route', 'not-visible'], ['destination pod', 'not-visible'],
    ]);
    expect(report.hops[0]!.where).toBe(src.netns);
  });

  it('trace: with node1\'s FDB entry for node2 deleted, points at exactly that hop; its fix restores the path', async () => {
    const [src, dst] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 2)!];
    const node2 = lab.state.nodes[1]!.ip;
    const entry = (JSON.parse(await run('bridge', ['-j', '-n', ns(1), 'fdb', 'show', 'dev', 'flannel.1'])) as { mac: string; dst: string }[]).find((e) => e.dst === node2)!;
    await run('bridge', ['-n', ns(1), 'fdb', 'del', entry.mac, 'dev', 'flannel.1', 'dst', node2, 'self']);
    const broken = await trace(src.ip, dst.ip, await labTopology(id, RUN_ROOT));
    expect(broken.firstBroken).toBe(4);
    expect(broken.hops.filter((h) => h.state !== 'ok').map((h) => h.hop)).toEqual(['vxlan fdb']);
    expect(broken.hops[4]).toMatchObject({ where: 'node1', fix: `bridge -n ${ns(1)} fdb replace ${entry.mac} dev flannel.1 dst ${node2} self permanent` });
    // The CLI prints the same, marking the hop; then its fix (from anywhere: it names the namespace).
    const cli = await new Promise<{ code: number; stdout: string }>((resolve) => execFile(process.execPath, ['bin/weft.js', 'trace', src.ip, dst.ip, '--lab', id, '--lab-root', RUN_ROOT], (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout })));
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^>> ✗ {2}5\. vxlan fdb/m);
    await run('sh', ['-c', broken.hops[4]!.fix!]);
    expect((await trace(src.ip, dst.ip, await labTopology(id, RUN_ROOT))).ok).toBe(true);
    expect((await probe('ping', ['-c', '1', '-W', '2', dst.ip], { netns: src.netns })).ok).toBe(true);
  });
});
