// `weft trace <src-pod-ip> <dst-pod-ip>`: the packet trace an operator does by hand, done against
// live kernel state, hop by hop:
//
//   pod route → veth to cni0 → host route → VXLAN neighbour → VXLAN FDB → outer header
//   → remote node's route via cni0 → destination pod's address
//
// Each hop is read where it lives (a pod's namespace, a node's namespace) when that place is
// visible: with --lab every node and pod namespace of the lab is; on a real node only this node's
// own hops are, and the rest is reported as "not visible from here" rather than guessed. Every
// hop is checked even after a broken one (an operator wants the whole picture), and the first
// broken hop is marked, with why it breaks the path and the command that fixes it.
//
// Not here: BGP next hops (the BGP backend does not exist yet) and probing with real packets.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { readSubnetEnv } from '../cni/subnet-env.js';
import { LabNotFoundError } from '../command-failure.js';
import { DEFAULT_VXLAN_PORT, DEFAULT_VXLAN_VNI, parseNetConfText } from '../config/netconf.js';
import { firstHost, ipToBigInt, rangeOf } from '../net/prefix-math.js';
import { daemonGet } from '../daemon/client.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import { Lab } from '../lab/lab.js';
import { labLayout } from '../lab/layout.js';
import { networkOf, parseCidr } from '../net/addr.js';
import { Netlink, RTPROT_WEFT, type LinkInfo } from '../netlink/index.js';
import { vxlanDeviceName } from '../../modes/vxlan/options.js';
import { hostLocal, readConflist } from './checks/cni.js';
import { defaultPodLocator, readReservations } from './checks/reservations.js';
import { command, iprouteArgv, iprouteCommand } from './checks/types.js';

export type HopState = 'ok' | 'broken' | 'not-visible';

export interface Hop {
  hop: string;
  /** Where it was read: a node or pod name. */
  where: string;
  state: HopState;
  detail: string;
  why?: string;
  fix?: string;
}

export interface TraceReport {
  src: string;
  dst: string;
  hops: Hop[];
  /** Index into hops of the first broken one. */
  firstBroken?: number;
  ok: boolean;
}

export interface TraceNode {
  name: string;
  subnet: string;
  publicIP: string;
  /** Namespace to enter; undefined = this process's own. */
  netns?: string;
  visible: boolean;
}

export interface TracePod {
  name: string;
  netns: string;
}

/** What trace can see: the nodes (and which of them it can enter) and the pods' namespaces. */
export interface TraceTopology {
  nodes: TraceNode[];
  pod(ip: string): TracePod | undefined;
  vni: number;
  port: number;
}

function inPrefix(prefix: string, ip: string): boolean {
  const r = rangeOf(prefix);
  const n = ipToBigInt(ip);
  return n >= r.start && n <= r.end;
}

/** The veth peer's ifindex (IFLA_LINK), which the typed netlink layer does not expose; iproute2 does. */
function peerIndex(netns: string, dev: string): Promise<number | undefined> {
  const [tool, ...args] = iprouteArgv(netns, 'ip', '-j', 'link', 'show', 'dev', dev);
  return new Promise((resolve) => {
    execFile(tool!, args, (error, stdout) => {
      if (error) return resolve(undefined);
      try {
        const [link] = JSON.parse(stdout) as { link_index?: number }[];
        resolve(link?.link_index);
      } catch {
        resolve(undefined);
      }
    });
  });
}

class Handles {
  private readonly open = new Map<string, Netlink>();
  get(netns: string | undefined): Netlink {
    const key = netns ?? '';
    let nl = this.open.get(key);
    if (!nl) {
      nl = Netlink.open(netns ? { netns } : {});
      this.open.set(key, nl);
    }
    return nl;
  }
  close(): void {
    for (const nl of this.open.values()) nl.close();
  }
}

export async function trace(src: string, dst: string, topo: TraceTopology): Promise<TraceReport> {
  for (const ip of [src, dst]) if (isIP(ip) !== 4) throw new Error(`"${ip}": expected an IPv4 pod address`);
  const nodeOf = (ip: string): TraceNode | undefined => topo.nodes.find((n) => inPrefix(n.subnet, ip));
  const a = nodeOf(src);
  const b = nodeOf(dst);
  if (!a) throw new Error(`${src} is in no node's subnet (${topo.nodes.map((n) => `${n.name} ${n.subnet}`).join(', ')})`);
  if (!b) throw new Error(`${dst} is in no node's subnet (${topo.nodes.map((n) => `${n.name} ${n.subnet}`).join(', ')})`);
  const hops: Hop[] = [];
  const handles = new Handles();
  const vxlanDev = vxlanDeviceName(topo.vni, 4);
  const hidden = (hop: string, where: string, what: string): void => void hops.push({ hop, where, state: 'not-visible', detail: `${what}: not visible from here` });
  try {
    const srcPod = topo.pod(src);
    const dstPod = topo.pod(dst);
    const gatewayA = firstHost(a.subnet);

    // 1. the source pod's own route towards dst
    let podDev: string | undefined;
    if (srcPod) {
      const nl = handles.get(srcPod.netns);
      const [route, addresses, links] = await Promise.all([nl.routes.get(dst), nl.addresses.list({ family: 4 }), nl.links.list()]);
      const holds = addresses.find((x) => x.cidr.startsWith(`${src}/`));
      podDev = route?.index !== undefined ? links.find((l) => l.index === route.index)?.name : undefined;
      if (!holds) hops.push({ hop: 'pod address', where: srcPod.name, state: 'broken', detail: `${src} is not configured in ${srcPod.name}`, why: 'the source pod does not own this address', fix: 'recreate the pod (its CNI ADD assigns the address)' });
      else if (!route) hops.push({ hop: 'pod route', where: srcPod.name, state: 'broken', detail: `${srcPod.name} has no route to ${dst}`, why: 'the pod has nowhere to send the packet', fix: iprouteCommand(srcPod.netns, 'ip', 'route', 'replace', 'default', 'via', gatewayA, 'dev', 'eth0') });
      else hops.push({ hop: 'pod route', where: srcPod.name, state: 'ok', detail: `${src} → ${dst} via ${route.gateway ?? 'direct'} dev ${podDev ?? route.index}` });
    } else hidden('pod route', src, `source pod ${src}'s namespace`);

    // 2. the pod's veth and its host end on cni0
    const nodeA = a.visible ? handles.get(a.netns) : undefined;
    if (srcPod && podDev && nodeA) {
      const peer = await peerIndex(srcPod.netns, podDev);
      const [hostEnd, bridge] = await Promise.all([peer ? nodeA.links.get(peer) : Promise.resolve(undefined), nodeA.links.get('cni0')]);
      hops.push(vethHop(srcPod.name, a, hostEnd, bridge, gatewayA));
    } else hidden('veth', a.name, `${src}'s veth on ${a.name}`);

    // 3. the host route on the source node
    const sameNode = a === b;
    const gatewayB = networkOf(parseCidr(b.subnet)).address;
    if (nodeA) {
      const route = await nodeA.routes.get(dst);
      const links = await nodeA.links.list();
      const dev = route?.index !== undefined ? links.find((l) => l.index === route.index)?.name : undefined;
      const fix = iprouteCommand(a.netns, 'ip', 'route', 'replace', b.subnet, 'via', gatewayB, 'dev', vxlanDev, 'onlink', 'proto', String(RTPROT_WEFT));
      if (sameNode) hops.push(dev === 'cni0' ? { hop: 'host route', where: a.name, state: 'ok', detail: `${dst} is local: dev cni0` } : { hop: 'host route', where: a.name, state: 'broken', detail: `${dst} routed via ${dev ?? 'nothing'}, not cni0`, why: 'a local pod must be reached over the bridge', fix: iprouteCommand(a.netns, 'ip', 'addr', 'replace', `${gatewayA}/${parseCidr(a.subnet).prefixLen}`, 'dev', 'cni0') });
      else if (!route || dev !== vxlanDev) hops.push({ hop: 'host route', where: a.name, state: 'broken', detail: `${a.name} routes ${dst} ${route ? `via ${route.gateway ?? '-'} dev ${dev ?? route.index}` : 'nowhere'}, not into ${vxlanDev}`, why: `without the overlay route to ${b.subnet} the packet never reaches ${b.name}`, fix });
      else if (route.gateway !== gatewayB) hops.push({ hop: 'host route', where: a.name, state: 'broken', detail: `${a.name} routes ${dst} via ${route.gateway ?? '-'}, not ${gatewayB} (${b.name}'s VTEP address)`, why: `the neighbour lookup that follows picks the wrong VTEP`, fix });
      else hops.push({ hop: 'host route', where: a.name, state: 'ok', detail: `${b.subnet} via ${gatewayB} dev ${vxlanDev}${route.onlink ? ' onlink' : ''}` });
    } else hidden('host route', a.name, `${a.name}'s routing table`);

    if (!sameNode) await overlayHops(hops, handles, a, b, gatewayB, vxlanDev, topo);

    // 7. the destination node's route to the pod
    const nodeB = b.visible ? handles.get(b.netns) : undefined;
    if (nodeB) {
      const route = await nodeB.routes.get(dst);
      const bridge = await nodeB.links.get('cni0');
      if (!sameNode) {
        if (!route || !bridge || route.index !== bridge.index) hops.push({ hop: 'remote route', where: b.name, state: 'broken', detail: `${b.name} routes ${dst} ${route ? `via ifindex ${route.index ?? '-'}` : 'nowhere'}, not dev cni0`, why: `${b.name} does not deliver to its own pods`, fix: iprouteCommand(b.netns, 'ip', 'addr', 'replace', `${firstHost(b.subnet)}/${parseCidr(b.subnet).prefixLen}`, 'dev', 'cni0') });
        else hops.push({ hop: 'remote route', where: b.name, state: 'ok', detail: `${b.name}: ${dst} dev cni0` });
      }
    } else hidden('remote route', b.name, `${b.name}'s routing table`);

    // 8. the destination pod holds the address on an up interface whose host end is on cni0
    if (dstPod) {
      const nl = handles.get(dstPod.netns);
      const [addresses, links] = await Promise.all([nl.addresses.list({ family: 4 }), nl.links.list()]);
      const holds = addresses.find((x) => x.cidr.startsWith(`${dst}/`));
      const link = holds ? links.find((l) => l.index === holds.index) : undefined;
      if (!holds || !link) hops.push({ hop: 'destination pod', where: dstPod.name, state: 'broken', detail: `${dst} is not configured in ${dstPod.name}`, why: 'nothing answers for the destination', fix: 'recreate the pod (its CNI ADD assigns the address)' });
      else if (!link.up) hops.push({ hop: 'destination pod', where: dstPod.name, state: 'broken', detail: `${link.name} in ${dstPod.name} is down`, why: 'the pod cannot receive', fix: iprouteCommand(dstPod.netns, 'ip', 'link', 'set', link.name, 'up') });
      else {
        const peer = nodeB ? await peerIndex(dstPod.netns, link.name) : undefined;
        const [hostEnd, bridge] = nodeB && peer ? await Promise.all([nodeB.links.get(peer), nodeB.links.get('cni0')]) : [undefined, undefined];
        if (nodeB) {
          const veth = vethHop(dstPod.name, b, hostEnd, bridge, undefined);
          if (veth.state !== 'ok') hops.push({ ...veth, hop: 'destination veth' });
        }
        if (!hops.some((h) => h.hop === 'destination veth')) hops.push({ hop: 'destination pod', where: dstPod.name, state: 'ok', detail: `${dstPod.name}: ${holds.cidr} on ${link.name}${hostEnd ? ` (host end ${hostEnd.name} on cni0)` : ''}` });
      }
    } else hidden('destination pod', dst, `destination pod ${dst}'s namespace`);
  } finally {
    handles.close();
  }
  const firstBroken = hops.findIndex((h) => h.state === 'broken');
  return { src, dst, hops, ...(firstBroken >= 0 ? { firstBroken } : {}), ok: firstBroken < 0 && hops.every((h) => h.state === 'ok') };
}

function vethHop(pod: string, node: TraceNode, hostEnd: LinkInfo | undefined, bridge: LinkInfo | undefined, gateway: string | undefined): Hop {
  const ns = node.netns ? ['-n', node.netns] : [];
  if (!hostEnd) return { hop: 'veth', where: node.name, state: 'broken', detail: `${pod}'s veth has no host end on ${node.name}`, why: 'the pod is cut off from its node', fix: 'recreate the pod (CNI ADD makes the veth pair)' };
  if (!bridge) return { hop: 'veth', where: node.name, state: 'broken', detail: `${node.name} has no cni0 bridge`, why: 'pods on this node have no gateway', fix: 'recreate a pod on the node (the bridge plugin creates cni0)' };
  if (hostEnd.master !== bridge.index) return { hop: 'veth', where: node.name, state: 'broken', detail: `${hostEnd.name} is not on cni0`, why: 'frames from the pod never reach the bridge that holds its gateway', fix: command('ip', ...ns, 'link', 'set', hostEnd.name, 'master', 'cni0') };
  if (!hostEnd.up || !bridge.up) {
    const down = !hostEnd.up ? hostEnd.name : 'cni0';
    return { hop: 'veth', where: node.name, state: 'broken', detail: `${down} on ${node.name} is down`, why: 'the pod is cut off from its node', fix: command('ip', ...ns, 'link', 'set', down, 'up') };
  }
  return { hop: 'veth', where: node.name, state: 'ok', detail: `${pod} eth0 ⇄ ${hostEnd.name} on cni0${gateway ? ` (gateway ${gateway})` : ''}, MTU ${hostEnd.mtu}` };
}

/** 4–6: neighbour, FDB and the outer header on the source node; cross-checked with the destination's device. */
async function overlayHops(hops: Hop[], handles: Handles, a: TraceNode, b: TraceNode, gatewayB: string, dev: string, topo: TraceTopology): Promise<void> {
  const ns = a.netns ? ['-n', a.netns] : [];
  if (!a.visible) {
    for (const hop of ['vxlan neighbour', 'vxlan fdb', 'outer header']) hops.push({ hop, where: a.name, state: 'not-visible', detail: `${a.name}'s ${dev}: not visible from here` });
    return;
  }
  const nodeA = handles.get(a.netns);
  const device = await nodeA.links.get(dev);
  const remote = b.visible ? await handles.get(b.netns).links.get(dev) : undefined;
  if (!device) {
    hops.push({ hop: 'vxlan neighbour', where: a.name, state: 'broken', detail: `${a.name} has no ${dev}`, why: 'nothing encapsulates the packet', fix: `restart the weft daemon on ${a.name} (it creates ${dev})` });
    return;
  }
  const [neighbours, fdb] = await Promise.all([nodeA.neighbours.list({ dev: device.index, family: 4 }), nodeA.fdb.list({ dev: device.index })]);
  const neighbour = neighbours.find((n) => n.ip === gatewayB);
  const towardsB = fdb.find((f) => f.self && f.dst === b.publicIP);
  const mac = remote?.mac ?? neighbour?.mac ?? towardsB?.mac;
  if (!neighbour?.mac) hops.push({ hop: 'vxlan neighbour', where: a.name, state: 'broken', detail: `${a.name}: no neighbour ${gatewayB} on ${dev}`, why: `the kernel cannot resolve ${b.name}'s VTEP MAC (learning is off; nobody answers ARP there): the packet is dropped`, ...(mac ? { fix: command('ip', ...ns, 'neigh', 'replace', gatewayB, 'lladdr', mac, 'dev', dev, 'nud', 'permanent') } : {}) });
  else if (remote?.mac && neighbour.mac !== remote.mac) hops.push({ hop: 'vxlan neighbour', where: a.name, state: 'broken', detail: `${a.name}: neighbour ${gatewayB} → ${neighbour.mac}, but ${b.name}'s ${dev} has MAC ${remote.mac}`, why: `${b.name} drops frames for a MAC that is not its own`, fix: command('ip', ...ns, 'neigh', 'replace', gatewayB, 'lladdr', remote.mac, 'dev', dev, 'nud', 'permanent') });
  else hops.push({ hop: 'vxlan neighbour', where: a.name, state: 'ok', detail: `${gatewayB} lladdr ${neighbour.mac} dev ${dev}${neighbour.permanent ? ' permanent' : ` ${neighbour.state.join(',')}`}` });

  const wantMac = neighbour?.mac ?? mac;
  const entry = wantMac ? fdb.find((f) => f.self && f.mac === wantMac) : undefined;
  const fdbFix = wantMac ? command('bridge', ...ns, 'fdb', 'replace', wantMac, 'dev', dev, 'dst', b.publicIP, 'self', 'permanent') : undefined;
  if (!entry) hops.push({ hop: 'vxlan fdb', where: a.name, state: 'broken', detail: `${a.name}: no FDB entry ${wantMac ?? "(VTEP MAC)"} on ${dev}`, why: `${dev} does not know which node IP owns ${b.name}'s VTEP MAC: the frame is dropped (learning is off)`, ...(fdbFix ? { fix: fdbFix } : {}) });
  else if (entry.dst !== b.publicIP) hops.push({ hop: 'vxlan fdb', where: a.name, state: 'broken', detail: `${a.name}: FDB ${entry.mac} → ${entry.dst ?? 'nothing'}, not ${b.publicIP} (${b.name})`, why: 'the encapsulated packet goes to the wrong node', ...(fdbFix ? { fix: fdbFix } : {}) });
  else hops.push({ hop: 'vxlan fdb', where: a.name, state: 'ok', detail: `${entry.mac} dst ${entry.dst} dev ${dev} self${entry.permanent ? ' permanent' : ''}` });

  const v = device.vxlan;
  const underlay = await nodeA.routes.get(b.publicIP);
  const underlayDev = underlay?.index !== undefined ? await nodeA.links.get(underlay.index) : undefined;
  const problems: string[] = [];
  if (!v) problems.push(`${dev} is not a VXLAN device`);
  else {
    if (v.vni !== topo.vni) problems.push(`VNI ${v.vni}, configured ${topo.vni}`);
    if (remote?.vxlan && (remote.vxlan.vni !== v.vni || remote.vxlan.port !== v.port)) problems.push(`${b.name}'s ${dev} expects VNI ${remote.vxlan.vni} port ${remote.vxlan.port}`);
    if (remote?.vxlan?.local && remote.vxlan.local !== b.publicIP) problems.push(`${b.name}'s ${dev} listens on ${remote.vxlan.local}, not ${b.publicIP}`);
  }
  if (!underlay) problems.push(`${a.name} has no underlay route to ${b.publicIP}`);
  const header = v ? `${v.local ?? a.publicIP} → ${b.publicIP} UDP dport ${v.port} VNI ${v.vni}${underlay?.index !== undefined ? ` (out ${underlayDev?.name ?? `ifindex ${underlay.index}`}${underlay.gateway ? ` via ${underlay.gateway}` : ''})` : ''}` : '';
  if (problems.length > 0) hops.push({ hop: 'outer header', where: a.name, state: 'broken', detail: `${header ? `${header}: ` : ''}${problems.join('; ')}`, why: `${b.name} never decapsulates the packet`, fix: `make both nodes use the same net-conf.json Backend (VNI ${topo.vni}, port ${topo.port}) and restart weft on the node that differs` });
  else hops.push({ hop: 'outer header', where: a.name, state: 'ok', detail: header });
}

/** The lab's topology: every node and pod namespace is visible. */
export async function labTopology(id: string, runRoot?: string): Promise<TraceTopology> {
  const lab = Lab.load(id, runRoot);
  if (!lab) throw new LabNotFoundError(id, labLayout(id, runRoot).stateFile);
  const nodes: TraceNode[] = [];
  for (const n of lab.state.nodes) {
    const env = await readSubnetEnv(join(n.dir, 'subnet.env'));
    if (env) nodes.push({ name: n.name, subnet: env.subnet, publicIP: n.ip, netns: n.netns, visible: true });
  }
  const { vni, port } = vxlanSettings(join(lab.layout.runDir, 'net-conf.json'));
  return { nodes, vni, port, pod: (ip) => lab.state.pods.find((p) => p.ip === ip) };
}

/** A real node's topology: this node is visible, the others (and pod namespaces) are not. */
export async function localTopology(socket: string, netConf: string, cni: { confDir: string; ipamDir?: string }): Promise<TraceTopology> {
  const res = await daemonGet({ socketPath: socket }, '/status');
  if (res.status !== 200) throw new Error(`daemon answered ${res.status}: ${res.body.trim()}`);
  const status = JSON.parse(res.body) as DaemonStatus;
  if (!status.subnet || !status.publicIP) throw new Error('the daemon has no lease yet');
  const nodes: TraceNode[] = [
    { name: status.node, subnet: status.subnet, publicIP: status.publicIP, visible: true },
    ...status.remoteNodes.map((n) => ({ name: n.name, subnet: n.subnet, publicIP: n.publicIP, visible: false })),
  ];
  // This node's pods: their host-local reservation names the container, the default locator its
  // namespace (see checks/reservations.ts). Other nodes' pods stay out of sight.
  const { network, dir } = hostLocal({ ...(cni.ipamDir ? { ipamDir: cni.ipamDir } : {}), status }, readConflist({ cniConfDir: cni.confDir }));
  const reservations = readReservations(dir, network);
  const locate = defaultPodLocator();
  const pod = (ip: string): TracePod | undefined => {
    const r = reservations.find((x) => x.ip === ip);
    const where = r ? locate(r) : undefined;
    return r && where?.netns ? { name: /^[0-9a-f]{64}$/.test(r.containerId) ? r.containerId.slice(0, 12) : r.containerId, netns: where.netns } : undefined;
  };
  return { nodes, ...vxlanSettings(netConf), pod };
}

function vxlanSettings(path: string): { vni: number; port: number } {
  if (!existsSync(path)) return { vni: DEFAULT_VXLAN_VNI, port: DEFAULT_VXLAN_PORT };
  const conf = parseNetConfText(readFileSync(path, 'utf8'));
  return { vni: conf.backend.vxlan.vni, port: conf.backend.vxlan.port };
}

const MARK: Record<HopState, string> = { ok: '✓', broken: '✗', 'not-visible': '?' };

export function formatTrace(report: TraceReport): string {
  const lines = [`trace ${report.src} → ${report.dst}`, ''];
  report.hops.forEach((h, i) => {
    const first = i === report.firstBroken;
    lines.push(`${first ? '>>' : '  '} ${MARK[h.state]} ${String(i + 1).padStart(2)}. ${h.hop.padEnd(16)} [${h.where}] ${h.detail}`);
    if (first) {
      if (h.why) lines.push(`        why: ${h.why}`);
      if (h.fix) lines.push(`        fix: ${h.fix}`);
    }
  });
  lines.push('', report.ok ? 'path complete' : report.firstBroken !== undefined ? `broken at hop ${report.firstBroken + 1} (${report.hops[report.firstBroken]!.hop})` : 'no broken hop seen, but parts are not visible from here');
  return lines.join('\n');
}

export async function runTrace(src: string, dst: string, options: { lab?: string; labRoot?: string; socket?: string; netConf?: string; cniConfDir?: string; cniIpamDir?: string; json?: boolean }): Promise<void> {
  const topo = options.lab ? await labTopology(options.lab, options.labRoot) : await localTopology(options.socket ?? process.env.WEFT_STATUS_SOCKET ?? '/run/weft/weft.sock', options.netConf ?? '/etc/weft/net-conf.json', { confDir: options.cniConfDir ?? '/etc/cni/net.d', ...(options.cniIpamDir ? { ipamDir: options.cniIpamDir } : {}) });
  const report = await trace(src, dst, topo);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTrace(report)}\n`);
  if (report.firstBroken !== undefined) process.exitCode = 1;
}
