// The lab: a real multi-node weft cluster on one machine, built from network namespaces.
//
//   <id>-ul     the underlay segment: bridge br0 (192.0.2.1, 2001:db8::1) and the registry — a
//               real etcd, or with `registry: 'kube'` the in-repo Kubernetes API test server
//               (src/testing/kube-apiserver-process.ts) holding one Node per lab node — and
//               with `tor: 'bird'` (BGP backend) BIRD as the iBGP route reflector of every node,
//               with `tor: 'frr'` FRR as the eBGP ToR (TCP-MD5) of every node (tor.ts)
//   <id>-tN     with `tor: 'frr', tors: 2`: two FRR ToRs (192.0.2.2, .3), ECMP between them
//   <id>-nN     node N: eth0 on br0 (192.0.2.1N), one `weft daemon` process
//   <id>-nN-pM  pod M of node N, created by the CNI reference plugins from the daemon's conflist
//
// `npm start`, `weft lab …`, the end-to-end tests and the benches all use this one builder.
// Everything is named from the lab id and recorded in <runDir>/state.json; `down` removes what
// the state names and anything else carrying the id's prefix, so it also works after a crash.
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { DAEMON_NODE_FLAGS } from '../daemon/node-flags.js';
import { daemonGet } from '../daemon/client.js';
import { cniAdd, cniDel } from './cni-runtime.js';
import { isAlive, probe, run, startDetached, stopPid } from './exec.js';
import { labLayout, nodeLayout, podNetns, type LabLayout, type NodeLayout } from './layout.js';
import { frrTorConfig, makeTorNamespace, nodeAsn, OUTSIDE_PREFIX, startFrr, stopFrr, TOR_ASN, TOR_PASSWORD, torLayout, vtysh, type LabTor } from './tor.js';
import { kubeControl, kubeNodePodCidr, startKubeApiServerProcess } from './kube-registry.js';

export interface LabOptions {
  id?: string;
  runRoot?: string;
  backend?: 'vxlan' | 'bgp';
  /** Where nodes are registered: a real etcd (default) or the Kubernetes API test server. */
  registry?: 'etcd' | 'kube';
  /** BGP only: a top-of-rack router (mesh off, every node peers with it): BIRD iBGP RR, FRR eBGP. */
  tor?: 'none' | 'bird' | 'frr';
  /** With `tor: 'frr'`: two ToRs, each node peering with both (ECMP). */
  tors?: 1 | 2;
  /** The ToR's configuration instead of the lab's own (e.g. a rendered deploy/tor template). */
  torConfig?: string | ((tor: LabTor) => string);
  /** Extra daemon flags for one node (e.g. its own --bgp-asn), kept for restarts. */
  nodeDaemonArgs?: (index: number) => string[];
  nodes?: number;
  podsPerNode?: number;
  underlayMtu?: number;
  ipv6?: boolean;
  /** Extra net-conf.json Backend fields (e.g. DirectRouting). */
  backendConfig?: Record<string, unknown>;
  /** Extra daemon flags for every node. */
  daemonArgs?: string[];
  resync?: string;
  logLevel?: string;
  /** Progress lines (step and timing); default: none. */
  onProgress?: (line: string) => void;
}

export interface LabNodeState {
  index: number;
  name: string;
  netns: string;
  ip: string;
  ipv6?: string;
  dir: string;
  daemonPid?: number;
  daemonArgs?: string[];
}

export interface LabPodState {
  name: string;
  netns: string;
  node: number;
  ip: string;
  ipv6?: string;
}

export interface LabState {
  id: string;
  runDir: string;
  created: string;
  backend: 'vxlan' | 'bgp';
  tor?: 'none' | 'bird' | 'frr';
  torPid?: number;
  /** FRR ToRs (`tor: 'frr'`) and their daemons' PIDs. */
  tors?: LabTor[];
  underlayMtu: number;
  ipv6: boolean;
  etcdPid?: number;
  /** Absent in state files of labs made before the option existed: etcd. */
  registry?: 'etcd' | 'kube';
  kubePid?: number;
  nodes: LabNodeState[];
  pods: LabPodState[];
  daemonArgs: string[];
}

export interface PingResult {
  from: string;
  to: string;
  address: string;
  ok: boolean;
}

const WEFT_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'weft.js');

function weftBin(): string {
  // From dist/src/lab/ or src/lab/: the repo's bin/weft.js (which runs the built CLI).
  for (const candidate of [WEFT_BIN, join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'weft.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('cannot find bin/weft.js');
}

export class Lab {
  private constructor(
    readonly layout: LabLayout,
    readonly state: LabState,
    private readonly progress: (line: string) => void,
  ) {}

  /** The lab recorded under `id`, if its state file exists. */
  static load(id: string, runRoot?: string): Lab | undefined {
    const layout = labLayout(id, runRoot);
    if (!existsSync(layout.stateFile)) return undefined;
    return new Lab(layout, JSON.parse(readFileSync(layout.stateFile, 'utf8')) as LabState, () => undefined);
  }

  /** Builds the whole lab; on any failure everything made so far is removed again. */
  static async up(options: LabOptions = {}): Promise<Lab> {
    const layout = labLayout(options.id ?? 'weft-lab', options.runRoot);
    const progress = options.onProgress ?? (() => undefined);
    if (existsSync(layout.stateFile) || (await labNamespaces(layout)).length > 0) {
      throw new Error(`lab "${layout.id}" already exists; run \`weft lab down${layout.id === 'weft-lab' ? '' : ` --id ${layout.id}`}\` first`);
    }
    mkdirSync(layout.runDir, { recursive: true });
    const state: LabState = {
      id: layout.id,
      runDir: layout.runDir,
      created: new Date().toISOString(),
      backend: options.backend ?? 'vxlan',
      registry: options.registry ?? 'etcd',
      tor: options.tor ?? 'none',
      underlayMtu: options.underlayMtu ?? 1500,
      ipv6: options.ipv6 ?? false,
      nodes: [],
      pods: [],
      daemonArgs: [...(options.daemonArgs ?? []), '--resync', options.resync ?? '10s', '--log-level', options.logLevel ?? 'info'],
    };
    const lab = new Lab(layout, state, progress);
    try {
      await lab.step('underlay segment', () => lab.makeUnderlay());
      if (state.registry === 'kube') await lab.step('Kubernetes API test server (registry)', () => lab.startKube());
      else await lab.step('etcd registry', () => lab.startEtcd());
      if (state.tor === 'bird') {
        if (state.backend !== 'bgp') throw new Error('a ToR router needs the bgp backend');
        await lab.step('BIRD route reflector (ToR)', () => lab.startBird(typeof options.torConfig === 'function' ? undefined : options.torConfig));
      }
      if (state.tor === 'frr') {
        if (state.backend !== 'bgp') throw new Error('a ToR router needs the bgp backend');
        await lab.step(`FRR eBGP ToR${options.tors === 2 ? 's' : ''}`, () => lab.startFrrTors(options.tors ?? 1, options.torConfig));
      }
      const count = options.nodes ?? 3;
      await lab.step(`${count} node namespaces`, () => Promise.all(Array.from({ length: count }, (_, i) => lab.makeNode(i + 1))));
      for (const node of state.nodes) {
        const extra = options.nodeDaemonArgs?.(node.index) ?? (state.tor === 'frr' ? ['--bgp-asn', String(nodeAsn(node.index))] : undefined);
        if (extra && extra.length > 0) node.daemonArgs = extra;
      }
      // Behind a ToR the nodes do not mesh: each peers with the reflector only.
      const torConf = state.tor === 'bird' ? { NodeMesh: false, Peers: [{ Address: layout.serviceIP, ASN: 64512 }] } : state.tor === 'frr' ? lab.frrNetConf() : {};
      lab.writeNetConf({ ...torConf, ...(options.backendConfig ?? {}) });
      await lab.step(`${count} weft daemons (--backend=${state.backend})`, async () => {
        for (const node of state.nodes) await lab.startDaemon(node.index);
        await Promise.all(state.nodes.map((n) => lab.waitReady(n.index)));
      });
      const pods = options.podsPerNode ?? 2;
      await lab.step(`${pods * count} pods (CNI bridge + host-local)`, async () => {
        for (const node of state.nodes) for (let p = 1; p <= pods; p++) await lab.addPod(node.index, p);
      });
      return lab;
    } catch (error) {
      progress(`failed: ${(error as Error).message}; removing what was built`);
      await lab.down();
      throw error;
    }
  }

  nodeLayout(index: number): NodeLayout {
    return nodeLayout(this.layout, index);
  }

  statusSocket(index: number): string {
    return join(this.nodeLayout(index).dir, 'weft.sock');
  }

  async step<T>(what: string, action: () => Promise<T>): Promise<T> {
    const start = performance.now();
    this.progress(`… ${what}`);
    const result = await action();
    this.progress(`✓ ${what} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
    this.save();
    return result;
  }

  /** Writes the state file atomically: `lab down` may read it at any moment (e.g. after a kill). */
  save(): void {
    const temp = `${this.layout.stateFile}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(temp, this.layout.stateFile);
  }

  private async makeUnderlay(): Promise<void> {
    const { underlayNetns: ns, bridge, serviceIP, serviceIPv6 } = this.layout;
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ns, 'link', 'add', bridge, 'mtu', String(this.state.underlayMtu), 'type', 'bridge']);
    await run('ip', ['-n', ns, 'addr', 'add', `${serviceIP}/24`, 'dev', bridge]);
    if (this.state.ipv6) await run('ip', ['-n', ns, 'addr', 'add', `${serviceIPv6}/64`, 'dev', bridge, 'nodad']);
    await run('ip', ['-n', ns, 'link', 'set', bridge, 'up']);
  }

  /** (Re)starts the lab's etcd on its data directory: a restarted etcd keeps every key. */
  async startEtcd(): Promise<void> {
    const dataDir = join(this.layout.runDir, 'etcd');
    mkdirSync(dataDir, { recursive: true });
    const child = startDetached(
      'etcd',
      ['--name', 'lab', '--data-dir', dataDir, '--listen-client-urls', this.layout.etcdEndpoint, '--advertise-client-urls', this.layout.etcdEndpoint, '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', 'lab=http://127.0.0.1:2380'],
      { netns: this.layout.underlayNetns, logFile: join(this.layout.runDir, 'etcd.log') },
    );
    this.state.etcdPid = child.pid;
    this.save();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const health = await probe('etcdctl', ['--endpoints', this.layout.etcdEndpoint, 'endpoint', 'health'], { netns: this.layout.underlayNetns, env: { ...process.env, ETCDCTL_API: '3' }, timeoutMs: 3000 });
      if (health.ok) return;
      if (child.pid === undefined || !isAlive(child.pid)) throw new Error(`etcd exited; see ${join(this.layout.runDir, 'etcd.log')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('etcd did not become healthy within 20 s');
  }

  /** Stops the lab's etcd (a registry outage); startEtcd() brings it back with its data. */
  async stopEtcd(): Promise<void> {
    if (this.state.etcdPid !== undefined) await stopPid(this.state.etcdPid);
    delete this.state.etcdPid;
    this.save();
  }

  /** An `etcdctl` (v3) command against the lab's etcd, from the underlay namespace. */
  etcdctl(...args: string[]): Promise<string> {
    return run('etcdctl', ['--endpoints', this.layout.etcdEndpoint, ...args], { netns: this.layout.underlayNetns, env: { ...process.env, ETCDCTL_API: '3' } });
  }

  /** Starts the Kubernetes API test server in the underlay namespace (registry: 'kube'). */
  private async startKube(): Promise<void> {
    this.state.kubePid = await startKubeApiServerProcess(this.layout, (pid) => {
      this.state.kubePid = pid;
      this.save();
    });
    this.save();
  }

  /** A test control of the lab's Kubernetes API test server (see kube-apiserver-process.ts). */
  kubeControl<T = unknown>(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<T> {
    return kubeControl<T>(this.layout, method, path, body);
  }

  /**
   * BIRD in the underlay namespace as a dynamic iBGP route reflector for the whole segment: it
   * reflects each node's podCIDR with the node as next hop and programs no kernel route itself.
   * `direct` because a neighbor range is otherwise taken as multihop; `error wait time 1, 2` so a
   * restarted daemon is accepted again at once (BIRD waits 60 s+ by default).
   */
  /** BIRD in the underlay namespace; `extraArgs` e.g. ['-R'] (graceful restart recovery after a crash). */
  async startBird(config?: string, extraArgs: string[] = []): Promise<void> {
    const { runDir, serviceIP, underlayNetns } = this.layout;
    const conf = join(runDir, 'bird.conf');
    writeFileSync(
      conf,
      config ??
        `router id ${serviceIP};
protocol device {}
protocol bgp tor {
  local ${serviceIP} as 64512;
  neighbor range 192.0.2.0/24 internal;
  direct;
  rr client;
  error wait time 1, 2;
  ipv4 { import all; export all; };
}
`,
    );
    const child = startDetached('bird', ['-f', '-c', conf, '-s', this.birdSocket, '-P', join(runDir, 'bird.pid'), ...extraArgs], { netns: underlayNetns, logFile: join(runDir, 'bird.log') });
    if (child.pid === undefined) throw new Error('could not start bird');
    this.state.torPid = child.pid;
    this.save();
    const deadline = Date.now() + 10_000;
    while (!(await probe('birdc', ['-s', this.birdSocket, 'show', 'status'], { netns: underlayNetns, timeoutMs: 2000 })).ok) {
      if (!isAlive(child.pid) || Date.now() > deadline) throw new Error(`bird did not start; see ${join(runDir, 'bird.log')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get birdSocket(): string {
    return join(this.layout.runDir, 'bird.ctl');
  }

  /** A `birdc` command against the lab's ToR. */
  birdc(...args: string[]): Promise<string> {
    return run('birdc', ['-s', this.birdSocket, ...args], { netns: this.layout.underlayNetns });
  }

  /** FRR ToR(s) (tor.ts); each one's PIDs are recorded as soon as they exist. */
  async startFrrTors(count: 1 | 2, config?: string | ((tor: LabTor) => string)): Promise<void> {
    this.state.tors = [];
    for (let i = 1; i <= count; i++) {
      const tor = torLayout(this.layout, i, count);
      this.state.tors.push(tor);
      await makeTorNamespace(this.layout, tor, this.state.underlayMtu);
      const text = typeof config === 'function' ? config(tor) : (config ?? frrTorConfig(tor));
      await startFrr(tor, text, () => this.save());
    }
  }

  /** Net-conf Backend behind FRR ToRs: eBGP (each node's AS from --bgp-asn), one MD5 peer per ToR, outside prefix imported. */
  private frrNetConf(): Record<string, unknown> {
    return { NodeMesh: false, Peers: (this.state.tors ?? []).map((t) => ({ Address: t.ip, ASN: TOR_ASN, Password: TOR_PASSWORD, BFD: true, Import: [OUTSIDE_PREFIX] })) };
  }

  /** A `vtysh -c` command against FRR ToR `index` (1-based). */
  vtysh(index: number, command: string): Promise<string> {
    const tor = this.state.tors?.[index - 1];
    if (!tor) throw new Error(`no FRR ToR ${index} in this lab`);
    return vtysh(tor, command);
  }

  /**
   * Takes FRR ToR `index` out like a failed box: its link goes down first (no Cease, no TCP FIN
   * reaches the nodes; BFD has to notice), then its daemons are killed.
   */
  async stopTor(index: number): Promise<void> {
    const tor = this.state.tors?.[index - 1];
    if (!tor) throw new Error(`no FRR ToR ${index} in this lab`);
    if (tor.bridgePort !== undefined) await run('ip', ['-n', this.layout.underlayNetns, 'link', 'set', tor.bridgePort, 'down']);
    await stopFrr(tor, 0);
    this.save();
  }

  private async makeNode(index: number): Promise<void> {
    const node = this.nodeLayout(index);
    const ul = this.layout.underlayNetns;
    const mtu = String(this.state.underlayMtu);
    mkdirSync(node.dir, { recursive: true });
    await run('ip', ['netns', 'add', node.netns]);
    await run('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', ul, 'link', 'add', node.bridgePort, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns]);
    await run('ip', ['-n', ul, 'link', 'set', node.bridgePort, 'master', this.layout.bridge, 'up']);
    await run('ip', ['-n', node.netns, 'link', 'set', 'eth0', 'mtu', mtu, 'up']);
    await run('ip', ['-n', node.netns, 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0']);
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { netns: node.netns });
    if (this.state.ipv6) {
      await run('ip', ['-n', node.netns, 'addr', 'add', `${node.ipv6}/64`, 'dev', 'eth0', 'nodad']);
      await run('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1'], { netns: node.netns });
    }
    // The controller-manager's part in a real cluster: the Node exists with its podCIDR before
    // the node's weft starts.
    if (this.state.registry === 'kube') await this.kubeControl('POST', '/nodes', { name: node.name, podCIDR: kubeNodePodCidr(this.layout, index), internalIP: node.ip });
    this.state.nodes.push({ index, name: node.name, netns: node.netns, ip: node.ip, ...(this.state.ipv6 ? { ipv6: node.ipv6 } : {}), dir: node.dir });
    this.state.nodes.sort((a, b) => a.index - b.index);
  }

  private writeNetConf(backend: Record<string, unknown>): void {
    const conf = {
      Network: this.layout.network,
      SubnetLen: 24,
      ...(this.state.ipv6 ? { EnableIPv6: true, IPv6Network: this.layout.ipv6Network, IPv6SubnetLen: 64 } : {}),
      Backend: { Type: this.state.backend, ...backend },
    };
    writeFileSync(join(this.layout.runDir, 'net-conf.json'), `${JSON.stringify(conf, null, 2)}\n`);
  }

  /** Starts (or restarts) node `index`'s daemon. */
  async startDaemon(index: number): Promise<number> {
    const node = this.nodeLayout(index);
    const args = [
      weftBin(),
      'daemon',
      '--backend', this.state.backend,
      '--node-name', node.name,
      ...(this.state.registry === 'kube' ? ['--registry', 'kube', '--kubeconfig', join(this.layout.runDir, 'kubeconfig')] : ['--registry', 'etcd', '--etcd-endpoints', this.layout.etcdEndpoint]),
      '--net-conf', join(this.layout.runDir, 'net-conf.json'),
      '--iface', 'eth0',
      '--subnet-file', join(node.dir, 'subnet.env'),
      '--cni-conf-dir', join(node.dir, 'cni'),
      '--cni-ipam-dir', join(node.dir, 'ipam'),
      '--health-addr', '127.0.0.1:9420',
      '--status-socket', this.statusSocket(index),
      '--log-format', 'json',
      ...this.state.daemonArgs,
      ...(this.state.nodes.find((n) => n.index === index)?.daemonArgs ?? []),
    ];
    const child = startDetached(process.execPath, [...DAEMON_NODE_FLAGS, ...args], { netns: node.netns, logFile: join(node.dir, 'daemon.log') });
    if (child.pid === undefined) throw new Error(`could not start the daemon of ${node.name}`);
    const entry = this.state.nodes.find((n) => n.index === index);
    if (entry) entry.daemonPid = child.pid;
    this.save();
    return child.pid;
  }

  /** Stops node `index`'s daemon with a signal (SIGTERM: graceful; SIGKILL: crash). */
  async stopDaemon(index: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const entry = this.state.nodes.find((n) => n.index === index);
    const pid = entry?.daemonPid;
    if (pid === undefined || !isAlive(pid)) return;
    if (signal === 'SIGKILL') {
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
    } else {
      await stopPid(pid);
    }
    delete entry!.daemonPid;
    this.save();
  }

  /** Waits until node `index`'s daemon answers /readyz with 200. */
  async waitReady(index: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      try {
        const res = await daemonGet({ socketPath: this.statusSocket(index) }, '/readyz', 1000);
        if (res.status === 200) return;
        last = res.body.trim();
      } catch (error) {
        last = (error as Error).message;
      }
      const pid = this.state.nodes.find((n) => n.index === index)?.daemonPid;
      if (pid !== undefined && !isAlive(pid)) throw new Error(`daemon of node${index} exited; see ${join(this.nodeLayout(index).dir, 'daemon.log')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`node${index} not ready within ${timeoutMs} ms: ${last}`);
  }

  /** node `index`'s daemon's /status. */
  async daemonStatus(index: number): Promise<unknown> {
    const res = await daemonGet({ socketPath: this.statusSocket(index) }, '/status');
    return JSON.parse(res.body) as unknown;
  }

  /** Creates pod `pod` on node `node` through the CNI plugins, as a container runtime would. */
  async addPod(node: number, pod: number): Promise<LabPodState> {
    const netns = podNetns(this.layout, node, pod);
    await run('ip', ['netns', 'add', netns]);
    const result = await cniAdd({ conflistPath: join(this.nodeLayout(node).dir, 'cni', '10-weft.conflist'), nodeNetns: this.nodeLayout(node).netns, podNetnsPath: `/run/netns/${netns}`, containerId: netns });
    const v4 = result.ips?.find((ip) => !ip.address.includes(':'))?.address.split('/')[0];
    const v6 = result.ips?.find((ip) => ip.address.includes(':'))?.address.split('/')[0];
    if (!v4) throw new Error(`pod ${netns}: CNI result without an IPv4 address: ${JSON.stringify(result)}`);
    const state: LabPodState = { name: `node${node}-pod${pod}`, netns, node, ip: v4, ...(v6 ? { ipv6: v6 } : {}) };
    this.state.pods.push(state);
    this.save();
    return state;
  }

  async removePod(name: string): Promise<void> {
    const pod = this.state.pods.find((p) => p.name === name);
    if (!pod) return;
    await cniDel({ conflistPath: join(this.nodeLayout(pod.node).dir, 'cni', '10-weft.conflist'), nodeNetns: this.nodeLayout(pod.node).netns, podNetnsPath: `/run/netns/${pod.netns}`, containerId: pod.netns }).catch(() => undefined);
    await run('ip', ['netns', 'del', pod.netns]).catch(() => undefined);
    this.state.pods = this.state.pods.filter((p) => p !== pod);
    this.save();
  }

  /** Pings every pod from every pod on another node (and v6 too when the lab is dual stack). */
  async connectivity(options: { family?: 4 | 6 } = {}): Promise<PingResult[]> {
    const family = options.family ?? 4;
    const pairs = this.state.pods.flatMap((from) => this.state.pods.filter((to) => to !== from).map((to) => ({ from, to })));
    const results: PingResult[] = [];
    const queue = [...pairs];
    const worker = async (): Promise<void> => {
      for (let pair = queue.shift(); pair; pair = queue.shift()) {
        const address = family === 4 ? pair.to.ip : pair.to.ipv6;
        if (!address) continue;
        let ok = false;
        for (let attempt = 0; attempt < 3 && !ok; attempt++) {
          ok = (await probe('ping', ['-c', '1', '-W', '1', address], { netns: pair.from.netns, timeoutMs: 5000 })).ok;
        }
        results.push({ from: pair.from.name, to: pair.to.name, address, ok });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return results;
  }

  /** Removes every process, namespace and file of this lab. Idempotent. */
  async down(): Promise<void> {
    await removeLab(this.layout, this.state);
  }
}

/** Namespaces carrying the lab's prefix (found even without a state file). */
async function labNamespaces(layout: LabLayout): Promise<string[]> {
  const out = await run('ip', ['-j', 'netns', 'list']).catch(() => '[]');
  const list = JSON.parse(out.trim() || '[]') as { name: string }[];
  return list.map((n) => n.name).filter((name) => name === layout.underlayNetns || name.startsWith(`${layout.id}-n`) || name.startsWith(`${layout.id}-t`));
}

/** The process is still one of ours (PIDs are reused after a reboot). */
function isOurs(pid: number, what: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(what);
  } catch {
    return false;
  }
}

export async function removeLab(layout: LabLayout, state?: LabState): Promise<void> {
  const recorded = state ?? (existsSync(layout.stateFile) ? (JSON.parse(readFileSync(layout.stateFile, 'utf8')) as LabState) : undefined);
  const pids = [...(recorded?.nodes.map((n) => n.daemonPid) ?? []).filter((p): p is number => p !== undefined).filter((p) => isOurs(p, 'weft')), ...(recorded?.etcdPid !== undefined && isOurs(recorded.etcdPid, 'etcd') ? [recorded.etcdPid] : []), ...(recorded?.kubePid !== undefined && isOurs(recorded.kubePid, 'kube-apiserver') ? [recorded.kubePid] : []), ...(recorded?.torPid !== undefined && isOurs(recorded.torPid, 'bird') ? [recorded.torPid] : []), ...(recorded?.tors ?? []).flatMap((t) => t.pids).filter((p) => isOurs(p, 'frr'))];
  await Promise.all(pids.map((pid) => stopPid(pid, 3000)));
  // Pods first (their veths go with them), then nodes, then the underlay.
  const namespaces = (await labNamespaces(layout)).sort((a, b) => b.length - a.length);
  for (const ns of namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  rmSync(layout.runDir, { recursive: true, force: true });
  // The run root (/run/weft-lab, or a test's) goes too once no other lab uses it.
  try {
    rmdirSync(dirname(layout.runDir));
  } catch {
    // another lab still lives there, or it is already gone
  }
}
