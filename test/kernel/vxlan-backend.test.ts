// Kernel test of the VXLAN backend (modes/vxlan): three nodes in namespaces on one underlay bridge
// (192.0.2.0/24 and 2001:db8::/64), dual stack, one VxlanBackend per node fed RemoteNode lists
// directly (no registry, no daemon), and one "pod" per node (a veth into a pod namespace with an
// address from the node's subnet). Checks what iproute2 sees (`ip -j -d link`, `ip -j neigh`,
// `bridge -j fdb`, `ip -j route`) and what packets do: pod-to-pod ping and ping6 through the
// overlay, DF pings at the MTU edge, VXLAN on the wire (tcpdump), removal of departed and stale
// entries, repair of hand-made drift and of a deleted or altered device, a restart that keeps the
// VTEP MAC and drops no packet, DirectRouting, an underlay of MTU 9000, GBP, and rollback of a node
// whose route the kernel refuses. Pod subnets (10.244.N.0/24, fd00:10:244:N::/64) exist only
// inside the test's namespaces. Every namespace and process started here is removed by PID/name.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VxlanBackend, type VxlanOptions } from '../../modes/vxlan/index.js';
import type { BackendStartResult, LocalNode } from '../../modes/backend.js';
import { createLogger } from '../../src/log.js';
import type { Netlink } from '../../src/netlink/index.js';
import type { RemoteNode } from '../../src/registry/types.js';
import { describeKernel } from '../helpers/env.js';
import { isWeftProtocol, type BridgeFdb, type IpAddressLink, type IpLink, type IpNeighbour, type IpRoute } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

const logger = createLogger({ level: process.env.WEFT_TEST_LOG ?? 'silent' });

interface Node {
  ul: UnderlayNode;
  pod: string;
  subnet: string;
  subnet6: string;
  podIp: string;
  podIp6: string;
  nl: Netlink;
  local: LocalNode;
  backend: VxlanBackend;
  started: BackendStartResult;
}

type IpVxlanLink = IpLink & { linkinfo: { info_kind: string; info_data: Record<string, unknown> } };

describeKernel('vxlan backend in a three-node namespace cluster', ['ip', 'bridge', 'ping', 'tcpdump', 'timeout'], () => {
  const topo = new Topology('vxlan');
  const children = new Set<ChildProcess>();
  const nodes: Node[] = [];

  /** Starts a process we will wait for; killed by PID in afterAll if it outlives its test. */
  const track = (cmd: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code);
      }),
    );
    return { child, output: () => out, exited };
  };

  const remote = (n: Node): RemoteNode => ({
    name: n.ul.name,
    subnet: n.subnet,
    ipv6Subnet: n.subnet6,
    publicIP: n.ul.ipv4,
    publicIPv6: n.ul.ipv6,
    backendType: 'vxlan',
    backendData: n.started.backendData,
    ...(n.started.backendV6Data ? { backendV6Data: n.started.backendV6Data } : {}),
  });
  const othersOf = (n: Node): RemoteNode[] => nodes.filter((o) => o !== n).map(remote);
  const reconcileAll = () => Promise.all(nodes.map((n) => n.backend.reconcile(othersOf(n))));

  const ping = async (from: string, to: string, extra: string[] = []): Promise<boolean> => {
    try {
      await topo.exec(from, 'ping', [...(to.includes(':') ? ['-6'] : []), '-c', '1', '-W', '2', ...extra, to]);
      return true;
    } catch {
      return false;
    }
  };
  /** Every pod to every pod on another node, v4 and v6; returns the failures. */
  const pingAll = async (): Promise<string[]> => {
    const pairs = nodes.flatMap((a) => nodes.filter((b) => b !== a).flatMap((b) => [[a, b.podIp] as const, [a, b.podIp6] as const]));
    const results = await Promise.all(pairs.map(async ([a, ip]) => ((await ping(a.pod, ip)) ? undefined : `${a.ul.name} → ${ip}`)));
    return results.filter((r): r is string => r !== undefined);
  };

  const link = async (ns: string, dev: string): Promise<IpVxlanLink | undefined> => (await topo.json<IpVxlanLink>(ns, 'ip', ['-d', 'link', 'show', 'dev', dev]))[0];
  const neighbours = (ns: string, dev: string) => topo.json<IpNeighbour>(ns, 'ip', ['neigh', 'show', 'dev', dev]);
  const fdb = async (ns: string, dev: string) => (await topo.json<BridgeFdb>(ns, 'bridge', ['fdb', 'show', 'dev', dev])).filter((f) => f.dst !== undefined);
  const weftRoutes = async (ns: string, family: 4 | 6) => (await topo.json<IpRoute>(ns, 'ip', [`-${family}`, 'route', 'show'])).filter((r) => isWeftProtocol(r.protocol));

  const newBackend = (n: Node, options: Partial<VxlanOptions> = {}): VxlanBackend =>
    new VxlanBackend({ netlink: n.nl, logger: logger.child({ node: n.ul.name }), options: { ipv6: true, ...options } });

  beforeAll(async () => {
    const underlay = await topo.underlay(['n1', 'n2', 'n3'], { v6: '2001:db8::/64' });
    for (const [i, ul] of underlay.entries()) {
      const k = i + 1;
      const pod = await topo.namespace(`pod${k}`);
      await topo.exec(ul.ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      const nl = topo.netlink(ul.ns);
      const eth = (await nl.links.get(ul.dev))!;
      const local: LocalNode = { name: ul.name, publicIP: ul.ipv4, publicIPv6: ul.ipv6, underlay: { name: ul.dev, index: eth.index, mtu: eth.mtu, address: ul.ipv4, addressV6: ul.ipv6 } };
      const node = { ul, pod, subnet: `10.244.${k}.0/24`, subnet6: `fd00:10:244:${k}::/64`, podIp: `10.244.${k}.2`, podIp6: `fd00:10:244:${k}::2`, nl, local } as Node;
      node.backend = newBackend(node);
      nodes.push(node);
    }
  });
  afterAll(() => {
    // By PID; SIGTERM so `timeout` passes it on to the tcpdump it runs.
    for (const child of children) {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      } catch {
        // exited meanwhile
      }
    }
    topo.destroy();
  });

  it('start() creates flannel.1 and flannel-v6.1 as configured and returns their VTEP MACs', async () => {
    for (const n of nodes) {
      n.started = await n.backend.start(n.local);
      const v4 = await link(n.ul.ns, 'flannel.1');
      const v6 = await link(n.ul.ns, 'flannel-v6.1');
      expect(v4).toMatchObject({ mtu: 1450, linkinfo: { info_kind: 'vxlan', info_data: { id: 1, port: 8472, learning: false, local: n.ul.ipv4, link: 'eth0' } } });
      expect(v6).toMatchObject({ mtu: 1430, linkinfo: { info_kind: 'vxlan', info_data: { id: 1, port: 8472, learning: false, local6: n.ul.ipv6, link: 'eth0' } } });
      expect(v4?.linkinfo.info_data.gbp).toBeFalsy();
      expect(v4?.flags).toContain('UP');
      expect(v6?.flags).toContain('UP');
      expect(n.started).toEqual({ backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: v4?.address }, backendV6Data: { VNI: 1, VtepMAC: v6?.address }, mtu: 1430 });
    }
  });

  it('claim() puts the subnet network address on the device as /32 and /128, replacing others of ours', async () => {
    const [n1] = nodes as [Node];
    await topo.ip(n1.ul.ns, ['address', 'add', '10.244.99.0/32', 'dev', 'flannel.1']); // an old lease's
    for (const n of nodes) await n.backend.claim({ subnet: n.subnet, ipv6Subnet: n.subnet6, publicIP: n.ul.ipv4 });
    for (const n of nodes) {
      const [v4] = await topo.json<IpAddressLink>(n.ul.ns, 'ip', ['-4', 'address', 'show', 'dev', 'flannel.1']);
      expect(v4?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([n.subnet.replace('/24', '/32')]);
      const [v6] = await topo.json<IpAddressLink>(n.ul.ns, 'ip', ['-6', 'address', 'show', 'dev', 'flannel-v6.1', 'scope', 'global']);
      expect(v6?.addr_info.filter((a) => a.local !== undefined).map((a) => `${a.local}/${a.prefixlen}`)).toEqual([n.subnet6.replace('/64', '/128')]);
    }
  });

  it('(setup) wires a pod into every node: pod0 (the node side, gateway) ↔ eth0, MTU as start() said', async () => {
    for (const [i, n] of nodes.entries()) {
      const k = i + 1;
      const mtu = String(n.started.mtu);
      await topo.ip(n.ul.ns, ['link', 'add', 'pod0', 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', mtu, 'netns', n.pod]);
      await topo.ip(n.ul.ns, ['address', 'add', `10.244.${k}.1/24`, 'dev', 'pod0']);
      await topo.ip(n.ul.ns, ['address', 'add', `fd00:10:244:${k}::1/64`, 'dev', 'pod0', 'nodad']);
      await topo.ip(n.ul.ns, ['link', 'set', 'pod0', 'up']);
      await topo.ip(n.pod, ['address', 'add', `${n.podIp}/24`, 'dev', 'eth0']);
      await topo.ip(n.pod, ['address', 'add', `${n.podIp6}/64`, 'dev', 'eth0', 'nodad']);
      await topo.ip(n.pod, ['link', 'set', 'eth0', 'up']);
      await topo.ip(n.pod, ['route', 'add', 'default', 'via', `10.244.${k}.1`]);
      await topo.ip(n.pod, ['-6', 'route', 'add', 'default', 'via', `fd00:10:244:${k}::1`]);
    }
  });

  it('reconcile() programs neighbour, FDB and onlink route per remote node, in both families', async () => {
    const reports = await reconcileAll();
    for (const report of reports) {
      expect(report.nodes.map((r) => r.state)).toEqual(['programmed', 'programmed']);
      expect(report).toMatchObject({ added: 12, changed: 0, removed: 0, errors: 0 });
    }
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const mac = (n: Node, f: 4 | 6) => (f === 4 ? n.started.backendData : n.started.backendV6Data) as { VtepMAC: string };
    expect(await neighbours(n1.ul.ns, 'flannel.1')).toEqual(
      expect.arrayContaining([expect.objectContaining({ dst: '10.244.2.0', lladdr: mac(n2, 4).VtepMAC, state: ['PERMANENT'] }), expect.objectContaining({ dst: '10.244.3.0', lladdr: mac(n3, 4).VtepMAC, state: ['PERMANENT'] })]),
    );
    expect((await neighbours(n1.ul.ns, 'flannel-v6.1')).filter((x) => x.state.includes('PERMANENT')).map((x) => [x.dst, x.lladdr])).toEqual(
      expect.arrayContaining([
        ['fd00:10:244:2::', mac(n2, 6).VtepMAC],
        ['fd00:10:244:3::', mac(n3, 6).VtepMAC],
      ]),
    );
    const fdb4 = await fdb(n1.ul.ns, 'flannel.1');
    expect(fdb4.map((f) => [f.mac, f.dst])).toEqual(
      expect.arrayContaining([
        [mac(n2, 4).VtepMAC, n2.ul.ipv4],
        [mac(n3, 4).VtepMAC, n3.ul.ipv4],
      ]),
    );
    expect(fdb4).toHaveLength(2);
    for (const f of fdb4) expect(f.flags).toContain('self');
    for (const f of fdb4) expect(f.state).toBe('permanent');
    expect((await fdb(n1.ul.ns, 'flannel-v6.1')).map((f) => [f.mac, f.dst])).toEqual(
      expect.arrayContaining([
        [mac(n2, 6).VtepMAC, n2.ul.ipv6],
        [mac(n3, 6).VtepMAC, n3.ul.ipv6],
      ]),
    );
    const routes4 = await weftRoutes(n1.ul.ns, 4);
    expect(routes4.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev, onlink: r.flags.includes('onlink') }))).toEqual([
      { dst: '10.244.2.0/24', gateway: '10.244.2.0', dev: 'flannel.1', onlink: true },
      { dst: '10.244.3.0/24', gateway: '10.244.3.0', dev: 'flannel.1', onlink: true },
    ]);
    const routes6 = await weftRoutes(n1.ul.ns, 6);
    expect(routes6.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }))).toEqual([
      { dst: 'fd00:10:244:2::/64', gateway: 'fd00:10:244:2::', dev: 'flannel-v6.1' },
      { dst: 'fd00:10:244:3::/64', gateway: 'fd00:10:244:3::', dev: 'flannel-v6.1' },
    ]);
  });

  it('is idempotent: a second pass writes nothing, and overlapping calls run one after the other', async () => {
    for (const report of await reconcileAll()) expect(report).toMatchObject({ added: 0, changed: 0, removed: 0, errors: 0 });
    const [n1] = nodes as [Node];
    const [gone, back] = await Promise.all([n1.backend.reconcile([]), n1.backend.reconcile(othersOf(n1))]);
    expect(gone).toMatchObject({ removed: 12, errors: 0 });
    expect(back).toMatchObject({ added: 12, errors: 0 });
  });

  it('carries pod-to-pod ping and ping6 between every pair of nodes', async () => {
    expect(await pingAll()).toEqual([]);
  });

  it('passes a DF ping of MTU − 28 bytes and refuses one byte more (device and pod MTU)', async () => {
    const [n1, n2] = nodes as [Node, Node];
    // From the node over flannel.1 (1450): 1422 + 28 = 1450 inner, 1500 on the underlay.
    expect(await ping(n1.ul.ns, '10.244.2.0', ['-M', 'do', '-s', '1422'])).toBe(true);
    expect(await ping(n1.ul.ns, '10.244.2.0', ['-M', 'do', '-s', '1423', '-W', '1'])).toBe(false);
    // From a pod, whose MTU (1430) fits both devices.
    expect(await ping(n1.pod, n2.podIp, ['-M', 'do', '-s', '1402'])).toBe(true);
    expect(await ping(n1.pod, n2.podIp, ['-M', 'do', '-s', '1403', '-W', '1'])).toBe(false);
    // IPv6 over flannel-v6.1 (1430): 1430 − 40 − 8 = 1382 of payload.
    expect(await ping(n1.pod, n2.podIp6, ['-M', 'do', '-s', '1382'])).toBe(true);
    expect(await ping(n1.pod, n2.podIp6, ['-M', 'do', '-s', '1383', '-W', '1'])).toBe(false);
  });

  it('puts VXLAN with VNI 1 on UDP 8472 on the underlay', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const capture = track('ip', ['netns', 'exec', n2.ul.ns, 'timeout', '5', 'tcpdump', '-n', '-l', '-c', '4', '-i', 'eth0', '-T', 'vxlan', 'udp port 8472']);
    const deadline = Date.now() + 3000;
    while (!capture.output().includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await topo.exec(n1.pod, 'ping', ['-c', '2', '-i', '0.2', n2.podIp]);
    await capture.exited;
    expect(capture.output()).toMatch(new RegExp(`${n1.ul.ipv4.replace(/\./g, '\\.')}\\.\\d+ > ${n2.ul.ipv4.replace(/\./g, '\\.')}\\.8472: VXLAN.*vni 1`));
    expect(capture.output()).toContain(`${n1.podIp} > ${n2.podIp}: ICMP echo request`);
  });

  it('reports nodes of another backend as pending and a bad node as failed, programming the rest', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const bgp: RemoteNode = { ...remote(n3), name: 'n9', subnet: '10.244.9.0/24', ipv6Subnet: 'fd00:10:244:9::/64', backendType: 'bgp', backendData: { ASN: 64512 } };
    const badMac: RemoteNode = { ...remote(n3), name: 'n8', subnet: '10.244.8.0/24', ipv6Subnet: 'fd00:10:244:8::/64', backendData: { VNI: 1, VtepMAC: 'not-a-mac' } };
    const report = await n1.backend.reconcile([remote(n2), remote(n3), bgp, badMac]);
    expect(report.nodes).toEqual([
      { node: 'n2', subnet: n2.subnet, state: 'programmed' },
      { node: 'n3', subnet: n3.subnet, state: 'programmed' },
      { node: 'n9', subnet: '10.244.9.0/24', state: 'pending', reason: expect.stringContaining('bgp') as string },
      { node: 'n8', subnet: '10.244.8.0/24', state: 'failed', reason: expect.stringContaining('MAC') as string },
    ]);
    expect(report).toMatchObject({ added: 0, changed: 0, removed: 0 });
  });

  it('rolls a node back when the kernel refuses its route: no neighbour or FDB entry is left', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    // A (mis)published node claiming n1's own subnet: its gateway is our local address, which the
    // kernel refuses as a route's next hop after the neighbour and FDB writes went through.
    const impostor: RemoteNode = { ...remote(n2), name: 'imp', subnet: n1.subnet, ipv6Subnet: 'fd00:10:244:7::/64', publicIP: '192.0.2.77', backendData: { VNI: 1, VtepMAC: '02:00:5e:00:53:77' } };
    delete impostor.backendV6Data;
    // A neighbour entry for that address already exists (a previous run's): rollback restores it.
    await topo.ip(n1.ul.ns, ['neigh', 'replace', '10.244.1.0', 'lladdr', '02:00:5e:00:53:01', 'dev', 'flannel.1', 'nud', 'permanent']);
    const report = await n1.backend.reconcile([remote(n2), remote(n3), impostor]);
    const imp = report.nodes.find((r) => r.node === 'imp');
    expect(imp).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^route: E/) as string });
    expect(report.errors).toBeGreaterThan(0);
    expect((await neighbours(n1.ul.ns, 'flannel.1')).map((x) => x.lladdr)).not.toContain('02:00:5e:00:53:77');
    expect((await neighbours(n1.ul.ns, 'flannel.1')).find((x) => x.dst === '10.244.1.0')).toMatchObject({ lladdr: '02:00:5e:00:53:01', state: ['PERMANENT'] });
    expect((await fdb(n1.ul.ns, 'flannel.1')).map((f) => f.mac)).not.toContain('02:00:5e:00:53:77');
    expect(report.nodes.filter((r) => r.node !== 'imp').map((r) => r.state)).toEqual(['programmed', 'programmed']);
    // Without the impostor the restored entry is nobody's: it goes.
    expect(await n1.backend.reconcile(othersOf(n1))).toMatchObject({ added: 0, changed: 0, removed: 1, errors: 0 });
  });

  it('removes a departed node’s entries, then programs it again when it returns', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const gone = await n1.backend.reconcile([remote(n2)]);
    expect(gone).toMatchObject({ added: 0, removed: 6, errors: 0 });
    expect((await neighbours(n1.ul.ns, 'flannel.1')).map((x) => x.dst)).toEqual(['10.244.2.0']);
    expect((await fdb(n1.ul.ns, 'flannel.1')).map((f) => f.dst)).toEqual([n2.ul.ipv4]);
    expect((await weftRoutes(n1.ul.ns, 4)).map((r) => r.dst)).toEqual(['10.244.2.0/24']);
    expect((await weftRoutes(n1.ul.ns, 6)).map((r) => r.dst)).toEqual(['fd00:10:244:2::/64']);
    expect((await fdb(n1.ul.ns, 'flannel-v6.1')).map((f) => f.dst)).toEqual([n2.ul.ipv6]);
    expect(await ping(n1.pod, n3.podIp)).toBe(false);
    expect(await n1.backend.reconcile(othersOf(n1))).toMatchObject({ added: 6, removed: 0, errors: 0 });
    expect(await ping(n1.pod, n3.podIp)).toBe(true);
  });

  it('removes stale entries a previous run left behind, and nothing that is not ours', async () => {
    const [n1] = nodes as [Node];
    const ns = n1.ul.ns;
    await topo.ip(ns, ['neigh', 'replace', '10.244.50.0', 'lladdr', '02:00:5e:00:53:50', 'dev', 'flannel.1', 'nud', 'permanent']);
    await topo.bridge(ns, ['fdb', 'append', '02:00:5e:00:53:50', 'dev', 'flannel.1', 'dst', '192.0.2.50', 'self', 'permanent']);
    await topo.ip(ns, ['route', 'replace', '10.244.50.0/24', 'via', '10.244.50.0', 'dev', 'flannel.1', 'onlink', 'proto', '87']);
    await topo.ip(ns, ['-6', 'route', 'replace', 'fd00:10:244:50::/64', 'via', 'fd00:10:244:50::', 'dev', 'flannel-v6.1', 'onlink', 'proto', '87']);
    // Not ours: a static route through our device, a neighbour on the underlay.
    await topo.ip(ns, ['route', 'replace', '10.244.51.0/24', 'via', '10.244.50.0', 'dev', 'flannel.1', 'onlink', 'proto', 'static']);
    await topo.ip(ns, ['neigh', 'replace', '192.0.2.51', 'lladdr', '02:00:5e:00:53:51', 'dev', 'eth0', 'nud', 'permanent']);
    const report = await n1.backend.reconcile(othersOf(n1));
    expect(report).toMatchObject({ added: 0, changed: 0, removed: 4, errors: 0 });
    expect((await neighbours(ns, 'flannel.1')).map((x) => x.dst).sort()).toEqual(['10.244.2.0', '10.244.3.0']);
    expect((await fdb(ns, 'flannel.1')).map((f) => f.mac)).not.toContain('02:00:5e:00:53:50');
    expect((await weftRoutes(ns, 4)).map((r) => r.dst)).toEqual(['10.244.2.0/24', '10.244.3.0/24']);
    expect((await weftRoutes(ns, 6)).map((r) => r.dst)).toEqual(['fd00:10:244:2::/64', 'fd00:10:244:3::/64']);
    expect(await topo.json<IpRoute>(ns, 'ip', ['route', 'show', '10.244.51.0/24'])).toHaveLength(1);
    expect((await neighbours(ns, 'eth0')).map((x) => x.dst)).toContain('192.0.2.51');
    await topo.ip(ns, ['route', 'del', '10.244.51.0/24']);
  });

  it('repairs a route, an FDB entry and a neighbour deleted by hand, and a changed MTU', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const ns = n1.ul.ns;
    await topo.ip(ns, ['route', 'del', '10.244.2.0/24']);
    await topo.bridge(ns, ['fdb', 'del', (n3.started.backendData as { VtepMAC: string }).VtepMAC, 'dev', 'flannel.1', 'dst', n3.ul.ipv4, 'self']);
    await topo.ip(ns, ['neigh', 'del', '10.244.3.0', 'dev', 'flannel.1']);
    await topo.ip(ns, ['-6', 'neigh', 'del', 'fd00:10:244:2::', 'dev', 'flannel-v6.1']);
    await topo.ip(ns, ['link', 'set', 'flannel.1', 'mtu', '1300']);
    expect(await ping(n1.pod, n2.podIp)).toBe(false);
    const report = await n1.backend.reconcile(othersOf(n1));
    expect(report).toMatchObject({ added: 4, changed: 1, removed: 0, errors: 0 });
    expect((await link(ns, 'flannel.1'))?.mtu).toBe(1450);
    expect(await pingAll()).toEqual([]);
  });

  it('brings a device that was set down back up, with its routes', async () => {
    const [n1] = nodes as [Node];
    await topo.ip(n1.ul.ns, ['link', 'set', 'flannel.1', 'down']); // the kernel drops its routes with it
    const report = await n1.backend.reconcile(othersOf(n1));
    expect(report).toMatchObject({ changed: 1, errors: 0 });
    expect(report.added).toBeGreaterThanOrEqual(2);
    expect((await link(n1.ul.ns, 'flannel.1'))?.flags).toContain('UP');
    expect(await pingAll()).toEqual([]);
  });

  it('recreates a deleted device with the same MAC and re-adds its address and entries', async () => {
    const [n1] = nodes as [Node];
    const ns = n1.ul.ns;
    await topo.ip(ns, ['link', 'del', 'flannel.1']);
    const report = await n1.backend.reconcile(othersOf(n1));
    expect(report).toMatchObject({ added: 7, changed: 1, removed: 0, errors: 0 }); // 6 entries + the /32
    expect((await link(ns, 'flannel.1'))?.address).toBe((n1.started.backendData as { VtepMAC: string }).VtepMAC);
    expect(await pingAll()).toEqual([]);
  });

  it('recreates a device whose create-only attributes were changed (port, VNI), keeping its MAC', async () => {
    const [n1] = nodes as [Node];
    const ns = n1.ul.ns;
    const mac = (n1.started.backendData as { VtepMAC: string }).VtepMAC;
    await topo.ip(ns, ['link', 'del', 'flannel.1']);
    await topo.ip(ns, ['link', 'add', 'flannel.1', 'address', mac, 'type', 'vxlan', 'id', '7', 'dstport', '4789', 'local', n1.ul.ipv4, 'dev', 'eth0']);
    await topo.ip(ns, ['link', 'set', 'flannel.1', 'up']);
    const report = await n1.backend.reconcile(othersOf(n1));
    expect(report.errors).toBe(0);
    expect(await link(ns, 'flannel.1')).toMatchObject({ address: mac, mtu: 1450, linkinfo: { info_data: { id: 1, port: 8472, learning: false } } });
    expect(await pingAll()).toEqual([]);
  });

  it('restarts without losing a packet: a new instance reuses the device and MAC and flushes nothing', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const ns = n1.ul.ns;
    const flood = track('ip', ['netns', 'exec', n1.pod, 'ping', '-q', '-i', '0.01', '-c', '150', '-W', '1', n2.podIp]);
    await new Promise((r) => setTimeout(r, 200));
    await n1.backend.stop();
    const entriesAfterStop = [await neighbours(ns, 'flannel.1'), await fdb(ns, 'flannel.1'), await weftRoutes(ns, 4)].map((x) => x.length);
    expect(entriesAfterStop).toEqual([2, 2, 2]);
    n1.backend = newBackend(n1);
    const restarted = await n1.backend.start(n1.local);
    expect(restarted).toEqual(n1.started);
    await n1.backend.claim({ subnet: n1.subnet, ipv6Subnet: n1.subnet6, publicIP: n1.ul.ipv4 });
    expect(await n1.backend.reconcile(othersOf(n1))).toMatchObject({ added: 0, changed: 0, removed: 0, errors: 0 });
    expect(await flood.exited).toBe(0);
    expect(flood.output()).toMatch(/150 packets transmitted, 150 received, 0% packet loss/);
  });

  it('DirectRouting: a node on our segment gets a plain route to its public IP, one behind a router VXLAN', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const ns = n1.ul.ns;
    await n1.backend.stop();
    n1.backend = newBackend(n1, { directRouting: true });
    await n1.backend.start(n1.local);
    await n1.backend.claim({ subnet: n1.subnet, ipv6Subnet: n1.subnet6, publicIP: n1.ul.ipv4 });
    // A far node: its public IP is reached through a gateway (n3 stands in as the router).
    await topo.ip(ns, ['route', 'add', '198.51.100.0/24', 'via', n3.ul.ipv4]);
    const far: RemoteNode = { name: 'far', subnet: '10.244.60.0/24', publicIP: '198.51.100.60', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '02:00:5e:00:53:60' } };
    const report = await n1.backend.reconcile([...othersOf(n1), far]);
    expect(report.errors).toBe(0);
    expect(report.nodes.map((r) => r.state)).toEqual(['programmed', 'programmed', 'programmed']);
    const routes4 = await weftRoutes(ns, 4);
    expect(routes4.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }))).toEqual([
      { dst: '10.244.2.0/24', gateway: n2.ul.ipv4, dev: 'eth0' },
      { dst: '10.244.3.0/24', gateway: n3.ul.ipv4, dev: 'eth0' },
      { dst: '10.244.60.0/24', gateway: '10.244.60.0', dev: 'flannel.1' },
    ]);
    expect((await weftRoutes(ns, 6)).map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev }))).toEqual([
      { dst: 'fd00:10:244:2::/64', gateway: n2.ul.ipv6, dev: 'eth0' },
      { dst: 'fd00:10:244:3::/64', gateway: n3.ul.ipv6, dev: 'eth0' },
    ]);
    expect((await neighbours(ns, 'flannel.1')).map((x) => x.dst)).toEqual(['10.244.60.0']);
    expect((await fdb(ns, 'flannel.1')).map((f) => [f.mac, f.dst])).toEqual([['02:00:5e:00:53:60', '198.51.100.60']]);
    expect(await fdb(ns, 'flannel-v6.1')).toEqual([]);
    expect(await pingAll()).toEqual([]);
    // Back to VXLAN for everyone: the direct routes are replaced, the far node goes.
    await n1.backend.stop();
    n1.backend = newBackend(n1);
    await n1.backend.start(n1.local);
    const back = await n1.backend.reconcile(othersOf(n1));
    expect(back.nodes.map((r) => r.state)).toEqual(['programmed', 'programmed']);
    expect(back).toMatchObject({ added: 8, changed: 4, removed: 3, errors: 0 });
    await topo.ip(ns, ['route', 'del', '198.51.100.0/24']);
    expect(await pingAll()).toEqual([]);
  });

  describe('device options on another underlay segment', () => {
    let m: UnderlayNode;
    let nl: Netlink;
    let local: LocalNode;

    beforeAll(async () => {
      [m] = (await topo.underlay(['m'], { v4: '198.51.100.0/24', v6: '2001:db8:2::/64' })) as [UnderlayNode];
      await topo.ip(m.ns, ['link', 'set', 'eth0', 'mtu', '9000']);
      nl = topo.netlink(m.ns);
      const eth = (await nl.links.get('eth0'))!;
      local = { name: 'm', publicIP: m.ipv4, publicIPv6: m.ipv6, underlay: { name: 'eth0', index: eth.index, mtu: eth.mtu, address: m.ipv4, addressV6: m.ipv6 } };
    });

    it('derives 8950 (and 8930 over IPv6) from an underlay MTU of 9000', async () => {
      const backend = new VxlanBackend({ netlink: nl, logger, options: { ipv6: true } });
      expect((await backend.start(local)).mtu).toBe(8930);
      expect((await link(m.ns, 'flannel.1'))?.mtu).toBe(8950);
      expect((await link(m.ns, 'flannel-v6.1'))?.mtu).toBe(8930);
      await backend.stop();
    });

    it('takes MTU, VNI, port and GBP from the options, and recreates a device whose GBP differs', async () => {
      const gbp = new VxlanBackend({ netlink: nl, logger, options: { vni: 42, port: 4789, gbp: true, mtu: 1400 } });
      const first = await gbp.start(local);
      expect(first).toMatchObject({ mtu: 1400, backendData: { VNI: 42 } });
      expect(await link(m.ns, 'flannel.42')).toMatchObject({ mtu: 1400, linkinfo: { info_data: { id: 42, port: 4789, gbp: true, learning: false } } });
      await gbp.stop();
      const plain = new VxlanBackend({ netlink: nl, logger, options: { vni: 42, port: 4789, mtu: 1400 } });
      expect(await plain.start(local)).toEqual(first);
      expect((await link(m.ns, 'flannel.42'))?.linkinfo.info_data.gbp).toBeFalsy();
      await plain.stop();
    });

    it('opens its own handle when given a namespace name, and closes it on stop()', async () => {
      const own = new VxlanBackend({ netns: m.ns, logger, options: { vni: 5 } });
      expect((await own.start(local)).mtu).toBe(8950);
      expect(await link(m.ns, 'flannel.5')).toBeDefined();
      await own.stop();
      await expect(own.reconcile([])).rejects.toThrow('after stop()');
      expect(await link(m.ns, 'flannel.5')).toBeDefined(); // stop() leaves the datapath in place
    });

    it('programs 2000 remote nodes in one pipelined pass, and removes them in one', async () => {
      const backend = new VxlanBackend({ netlink: nl, logger, options: { vni: 1 } });
      await backend.start(local);
      const hex = (i: number) => [(i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':');
      const many: RemoteNode[] = Array.from({ length: 2000 }, (_, i) => ({
        name: `r${i}`,
        subnet: `10.${100 + (i >> 8)}.${i & 255}.0/24`,
        publicIP: `198.18.${i >> 8}.${i & 255}`,
        backendType: 'vxlan',
        backendData: { VNI: 1, VtepMAC: `02:00:5e:00:${hex(i)}` },
      }));
      const added = await backend.reconcile(many);
      expect(added).toMatchObject({ added: 6000, changed: 0, removed: 0, errors: 0 });
      expect(added.nodes.every((n) => n.state === 'programmed')).toBe(true);
      expect(await weftRoutes(m.ns, 4)).toHaveLength(2000);
      expect(await backend.reconcile(many)).toMatchObject({ added: 0, changed: 0, removed: 0, errors: 0 });
      expect(await backend.reconcile([])).toMatchObject({ added: 0, removed: 6000, errors: 0 });
      expect(await weftRoutes(m.ns, 4)).toEqual([]);
      expect(await fdb(m.ns, 'flannel.1')).toEqual([]);
      expect(added.durationMs).toBeLessThan(5000);
      await backend.stop();
    });
  });
});
