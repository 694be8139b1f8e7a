// A CrossSubnet test cluster: two L2 segments joined by a router that knows nothing of pods, and
// real `weft daemon --backend=bgp` processes (dist/, via bin/weft.js) with
// `"CrossSubnet": "vxlan"`. Segment A (192.0.2.0/24, 2001:db8:0:1::/64) holds a1 and a2, segment
// B (198.51.100.0/24, 2001:db8:0:2::/64) holds b1; the router namespace forwards between them and
// runs the etcd the daemons register in. Each node gets one pod: a namespace behind a veth,
// gateway .1 (::1) on the node, address .2 (::2), as a CNI bridge would set it up.
//
// What it is not: the lab (src/lab), which has one segment. Everything is made with Topology
// (unique namespace names) and torn down by stop(), which the caller runs in afterAll whatever
// happened; processes are stopped by the PIDs recorded here, nothing else.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { daemonGet } from '../../src/daemon/client.js';
import { isAlive, probe, startDetached, stopPid } from '../../src/lab/exec.js';
import { waitFor, type RouteJson } from './lab-probes.js';
import { Topology, type UnderlayNode } from './topology.js';

const WEFT = join(import.meta.dirname, '..', '..', 'bin', 'weft.js');
const ETCD = 'http://192.0.2.1:2379';

export interface ClusterNode {
  name: 'a1' | 'a2' | 'b1';
  ul: UnderlayNode;
  dir: string;
  pid?: number;
  subnet: string;
  ipv6Subnet?: string;
  pod: { ns: string; ip: string; ipv6?: string };
}

export class CrossSubnetCluster {
  readonly topo = new Topology('xsub');
  readonly dir = mkdtempSync(join(tmpdir(), 'weft-xsub-'));
  readonly nodes: ClusterNode[] = [];
  router = '';
  private etcdPid: number | undefined;

  private constructor(readonly dualStack: boolean) {}

  /** Builds the topology, starts etcd and the three daemons, and adds a pod per node. */
  static async up(options: { dualStack?: boolean } = {}): Promise<CrossSubnetCluster> {
    const c = new CrossSubnetCluster(options.dualStack ?? false);
    try {
      await c.build();
    } catch (error) {
      await c.stop(); // the caller never gets a half-built cluster to clean up
      throw error;
    }
    return c;
  }

  node(name: ClusterNode['name']): ClusterNode {
    return this.nodes.find((n) => n.name === name)!;
  }

  async status(n: ClusterNode): Promise<DaemonStatus> {
    return JSON.parse((await daemonGet({ socketPath: join(n.dir, 'weft.sock') }, '/status')).body) as DaemonStatus;
  }

  /** `ip route show proto 87` (or `ip -6 …`) in the node's namespace. */
  async routes(n: ClusterNode, family: 4 | 6 = 4): Promise<RouteJson[]> {
    return this.topo.json<RouteJson>(n.ul.ns, 'ip', [`-${family}`, 'route', 'show', 'proto', '87']);
  }

  /** (Re)starts the node's daemon; its PID is recorded on the node. */
  startDaemon(n: ClusterNode): void {
    const args = [WEFT, 'daemon', '--backend', 'bgp', '--node-name', n.name, '--registry', 'etcd', '--etcd-endpoints', ETCD, '--net-conf', join(this.dir, 'net-conf.json'), '--iface', 'eth0'];
    args.push('--subnet-file', join(n.dir, 'subnet.env'), '--cni-conf-dir', join(n.dir, 'cni'), '--cni-ipam-dir', join(n.dir, 'ipam'), '--health-addr', '127.0.0.1:9420');
    args.push('--status-socket', join(n.dir, 'weft.sock'), '--resync', '1s', '--log-format', 'json', '--log-level', 'debug');
    n.pid = startDetached(process.execPath, args, { netns: n.ul.ns, logFile: join(n.dir, 'daemon.log') }).pid;
  }

  /** Stops what it started (by PID), deletes its namespaces and files. Never throws. */
  async stop(): Promise<void> {
    for (const n of this.nodes) if (n.pid !== undefined && isAlive(n.pid)) await stopPid(n.pid);
    if (this.etcdPid !== undefined) await stopPid(this.etcdPid);
    this.topo.destroy();
    if (process.env.KEEP_XSUB_LOGS === undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  private async build(): Promise<void> {
    const { topo } = this;
    const segA = await topo.underlay(['a1', 'a2'], { v4: '192.0.2.0/24', v6: '2001:db8:0:1::/64' });
    const segB = await topo.underlay(['b1'], { v4: '198.51.100.0/24', v6: '2001:db8:0:2::/64' });
    this.router = await topo.namespace('rt');
    // The router: one leg on each segment's bridge (the bridge namespaces are "<prefix>-ul", "-ul1").
    const [bridgeA, bridgeB] = topo.names.filter((ns) => /-ul1?$/.test(ns));
    await topo.veth({ ns: this.router, dev: 'ra', addresses: ['192.0.2.1/24', '2001:db8:0:1::1/64'] }, { ns: bridgeA!, dev: 'pr', master: 'br0' });
    await topo.veth({ ns: this.router, dev: 'rb', addresses: ['198.51.100.1/24', '2001:db8:0:2::1/64'] }, { ns: bridgeB!, dev: 'pr', master: 'br0' });
    await this.forwarding(this.router);
    const legs = [...segA.map((ul) => ({ ul, gw: ['192.0.2.1', '2001:db8:0:1::1'] })), ...segB.map((ul) => ({ ul, gw: ['198.51.100.1', '2001:db8:0:2::1'] }))];
    for (const { ul, gw } of legs) {
      await topo.ip(ul.ns, ['route', 'add', 'default', 'via', gw[0]!]);
      await topo.ip(ul.ns, ['-6', 'route', 'add', 'default', 'via', gw[1]!]);
      await this.forwarding(ul.ns);
      // Recorded before anything starts, so stop() finds every PID even if the build fails.
      this.nodes.push({ name: ul.name as ClusterNode['name'], ul, dir: join(this.dir, ul.name), subnet: '', pod: { ns: '', ip: '' } });
    }

    const etcdArgs = ['--name', 'xsub', '--data-dir', join(this.dir, 'etcd'), '--listen-client-urls', ETCD, '--advertise-client-urls', ETCD];
    etcdArgs.push('--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', 'xsub=http://127.0.0.1:2380');
    this.etcdPid = startDetached('etcd', etcdArgs, { netns: this.router, logFile: join(this.dir, 'etcd.log') }).pid;
    const v6 = this.dualStack ? { EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', IPv6SubnetLen: 64 } : {};
    writeFileSync(join(this.dir, 'net-conf.json'), JSON.stringify({ Network: '10.244.0.0/16', SubnetLen: 24, ...v6, Backend: { Type: 'bgp', CrossSubnet: 'vxlan', VNI: 1 } }));
    const etcdctl = ['--endpoints', ETCD, 'endpoint', 'health'];
    await waitFor('etcd', async () => (await probe('etcdctl', etcdctl, { netns: this.router, env: { ...process.env, ETCDCTL_API: '3' }, timeoutMs: 2000 })).ok, 20_000);

    for (const n of this.nodes) {
      mkdirSync(n.dir, { recursive: true });
      this.startDaemon(n);
    }
    for (const n of this.nodes) {
      const status = await waitFor(`${n.name}'s lease`, async () => {
        const s = await this.status(n).catch(() => undefined);
        return s?.subnet !== undefined && (!this.dualStack || s.ipv6Subnet !== undefined) ? s : undefined;
      }, 30_000);
      n.subnet = status.subnet!;
      if (status.ipv6Subnet !== undefined) n.ipv6Subnet = status.ipv6Subnet;
      n.pod = await this.pod(n, status.mtu ?? 1450);
    }
  }

  private async pod(n: ClusterNode, mtu: number): Promise<ClusterNode['pod']> {
    const { topo } = this;
    const base = n.subnet.replace(/\.0\/24$/, '');
    const ns = await topo.namespace(`${n.name}p`);
    // No DAD on the new veth (link-local included): a first ping must not race it.
    for (const where of [ns, n.ul.ns]) await topo.exec(where, 'sysctl', ['-qw', 'net.ipv6.conf.default.accept_dad=0']);
    await topo.veth({ ns: n.ul.ns, dev: 'vp0' }, { ns, dev: 'eth0', mtu });
    await topo.ip(n.ul.ns, ['address', 'add', `${base}.1/24`, 'dev', 'vp0']);
    await topo.ip(ns, ['address', 'add', `${base}.2/24`, 'dev', 'eth0']);
    await topo.ip(ns, ['route', 'add', 'default', 'via', `${base}.1`]);
    if (n.ipv6Subnet === undefined) return { ns, ip: `${base}.2` };
    const base6 = n.ipv6Subnet.replace(/::\/64$/, '::');
    await topo.ip(n.ul.ns, ['address', 'add', `${base6}1/64`, 'dev', 'vp0', 'nodad']);
    await topo.ip(ns, ['address', 'add', `${base6}2/64`, 'dev', 'eth0', 'nodad']);
    await topo.ip(ns, ['-6', 'route', 'add', 'default', 'via', `${base6}1`]);
    return { ns, ip: `${base}.2`, ipv6: `${base6}2` };
  }

  private async forwarding(ns: string): Promise<void> {
    await this.topo.exec(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  }
}
