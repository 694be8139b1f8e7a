// CrossSubnetBackend: net-conf.json `"Backend": {"Type": "bgp", "CrossSubnet": "vxlan"}`. Native
// routing over BGP first; the nodes on other L2 segments that BGP gives us no route to are reached
// over a VXLAN overlay instead (Calico's CrossSubnet, inverted: Calico encapsulates across subnets
// by rule, we encapsulate only what BGP cannot route). It is a composition of the two real
// backends, BgpBackend and VxlanBackend (flannel.<VNI>, VNI/Port from Backend.VNI/Port), and adds
// only the split (cross-subnet-split.ts) and the kernel partition.
//
//   start    both backends; publishes backendType "bgp" with {ASN, VNI, VtepMAC} (v6: the
//            flannel-v6 VTEP), so a remote node knows both how to peer and how to tunnel to us.
//            Pod MTU = the VXLAN device's (underlay − 50): some pod traffic is encapsulated, and
//            a pod cannot know which. Our underlay prefixes (our L2 segments) are read here.
//   reconcile  1. every remote bgp node goes to the BgpBackend (peers, import facts, routes);
//            2. its report says which podCIDRs have an installed route; the split sends the
//               others that are off-segment with a VTEP of our VNI to the VxlanBackend;
//            3. the VxlanBackend programs neighbour + FDB + onlink route for exactly those, and
//               removes the entries of nodes that left its set (a BGP route appeared).
//            The BGP backend's onChange (routes arrive between reconciles) is passed on, so the
//            daemon reconciles again and the split follows within one pass.
//
// Ownership of proto-weft routes (both backends remove proto-weft routes they do not want):
// VXLAN routes are those whose output device is a VXLAN device, BGP routes all others. The BGP
// backend is told the VXLAN devices (BgpBackendDeps.foreignDevices) and deletes by device; the
// VXLAN backend is handed a Netlink that shows it only routes on its devices (kernel-view.ts). A
// dst has one route (same metric, main table): when BGP installs a route for a node VXLAN carried,
// its replace takes the route over and the next pass drops the node's neighbour/FDB; the reverse
// when BGP withdraws. Mesh paths to a node VXLAN can carry, whose next hop is only reachable
// through a gateway, are not installed (BgpBackendDeps.refuseNextHop): the router between
// segments does not know pods.
//
// What it is not: a third datapath. Nodes running plain bgp (no VTEP) and nodes on our own
// segment are exactly as under BgpBackend alone.
import { rootLogger, type Logger } from '../../src/log.js';
import { networkOf, parseCidr } from '../../src/net/addr.js';
import { Netlink } from '../../src/netlink/index.js';
import type { BackendData, Lease, RemoteNode, VxlanBackendData } from '../../src/registry/types.js';
import type { Backend, BackendDetails, BackendStartResult, LocalNode, NodeReport, ReconcileReport } from '../backend.js';
import { VxlanBackend, vxlanDeviceName, type VxlanOptions } from '../vxlan/index.js';
import { BgpBackend } from './backend.js';
import { crossSegmentNextHops, splitCrossSubnet, type NodePath } from './cross-subnet-split.js';
import { vxlanShare } from './kernel-view.js';
import type { BgpOptions } from './options.js';

export interface CrossSubnetBackendDeps {
  /** The kernel to program; left open by stop() (the caller owns it). */
  netlink?: Netlink;
  logger?: Logger;
  bgp: BgpOptions;
  /** The overlay: VNI, Port, MTU, GBP, dual stack. DirectRouting is forced off (BGP does that job). */
  vxlan: Partial<VxlanOptions>;
}

export class CrossSubnetBackend implements Backend {
  readonly type = 'bgp' as const;
  readonly bgp: BgpBackend;
  readonly vxlan: VxlanBackend;
  private readonly nl: Netlink;
  private readonly ownsNetlink: boolean;
  private readonly log: Logger;
  private segments: string[] = [];
  private hiddenNextHops: ReadonlySet<string> = new Set();
  private lastPaths = new Map<string, NodePath['path']>();
  private running: Promise<unknown> = Promise.resolve();

  constructor(deps: CrossSubnetBackendDeps) {
    this.ownsNetlink = deps.netlink === undefined;
    this.nl = deps.netlink ?? Netlink.open();
    this.log = deps.logger ?? rootLogger().child({ component: 'bgp' });
    this.vxlan = new VxlanBackend({ netlink: vxlanShare(this.nl, () => this.vxlanDevices()), logger: this.log.child({ datapath: 'vxlan' }), options: { ...deps.vxlan, directRouting: false } });
    this.bgp = new BgpBackend({
      netlink: this.nl,
      logger: this.log,
      options: deps.bgp,
      foreignDevices: () => this.vxlanDevices(),
      refuseNextHop: (nextHop, resolved) => (resolved.gateway !== undefined && this.hiddenNextHops.has(nextHop) ? 'only reachable through a router; the node is carried over VXLAN' : undefined),
    });
  }

  onChange(listener: () => void): void {
    this.bgp.onChange(listener);
  }

  details(): BackendDetails {
    return this.bgp.details();
  }

  async start(local: LocalNode): Promise<BackendStartResult> {
    const addresses = await this.nl.addresses.list({ dev: local.underlay.index, family: 4 });
    this.segments = [...new Set(addresses.map((a) => formatNetwork(a.cidr)))];
    if (this.segments.length === 0) throw new Error(`bgp CrossSubnet: no IPv4 address on the underlay ${local.underlay.name} to tell our L2 segment by`);
    const overlay = await this.vxlan.start(local);
    const routed = await this.bgp.start(local);
    const vtep = overlay.backendData as VxlanBackendData;
    const asn = (routed.backendData as { ASN: number }).ASN;
    const backendData: BackendData = { ...routed.backendData, VNI: vtep.VNI, VtepMAC: vtep.VtepMAC };
    const v6 = overlay.backendV6Data as VxlanBackendData | undefined;
    this.log.info({ segments: this.segments, vni: vtep.VNI, vtepMac: vtep.VtepMAC, mtu: overlay.mtu }, 'CrossSubnet: off-segment nodes without a BGP route go over VXLAN');
    return { backendType: 'bgp', backendData, ...(v6 !== undefined ? { backendV6Data: { ASN: asn, VNI: v6.VNI, VtepMAC: v6.VtepMAC } } : {}), mtu: overlay.mtu };
  }

  async claim(lease: Lease): Promise<void> {
    await this.vxlan.claim(lease);
    await this.bgp.claim(lease);
  }

  reconcile(remotes: RemoteNode[]): Promise<ReconcileReport> {
    const pass = this.running.then(() => this.pass(remotes));
    this.running = pass.catch(() => undefined);
    return pass;
  }

  async stop(): Promise<void> {
    await this.running;
    await this.bgp.stop();
    await this.vxlan.stop();
    if (this.ownsNetlink) this.nl.close();
  }

  private async pass(remotes: RemoteNode[]): Promise<ReconcileReport> {
    const started = performance.now();
    const vni = this.vxlan.options.vni;
    this.hiddenNextHops = crossSegmentNextHops({ remotes, localSegments: this.segments, vni });
    const routed = await this.bgp.reconcile(remotes);
    const bgpNodes = new Map(routed.nodes.map((n) => [n.node, n]));
    const split = splitCrossSubnet({ remotes, localSegments: this.segments, bgp: bgpNodes, vni });
    const overlay = await this.vxlan.reconcile(split.vxlan);
    const overlayNodes = new Map(overlay.nodes.map((n) => [n.node, n]));
    this.logPathChanges(split.paths);
    const nodes = remotes.map((node): NodeReport => {
      const bgp = bgpNodes.get(node.name) ?? { node: node.name, subnet: node.subnet, state: 'pending' };
      const path = split.paths.get(node.name);
      if (path?.path === 'vxlan') {
        const r = overlayNodes.get(node.name) ?? { ...bgp, state: 'pending' as const, reason: 'not reported' };
        return { ...r, datapath: 'vxlan', ...(r.reason !== undefined ? { reason: `VXLAN (no BGP route): ${r.reason}` } : {}) };
      }
      if (path?.path === 'none' && bgp.state !== 'programmed') return { ...bgp, reason: `${bgp.reason ?? 'no BGP route'}; ${path.reason}` };
      return { ...bgp, datapath: 'native' };
    });
    return {
      nodes,
      added: routed.added + overlay.added,
      changed: routed.changed + overlay.changed,
      removed: routed.removed + overlay.removed,
      errors: routed.errors + overlay.errors,
      durationMs: performance.now() - started,
    };
  }

  /** The VXLAN devices' ifindexes now (by name: a deleted device is recreated with a new index). */
  private async vxlanDevices(): Promise<ReadonlySet<number>> {
    const { vni, ipv6 } = this.vxlan.options;
    const names = [vxlanDeviceName(vni, 4), ...(ipv6 ? [vxlanDeviceName(vni, 6)] : [])];
    const links = await Promise.all(names.map((n) => this.nl.links.get(n)));
    return new Set(links.flatMap((l) => (l !== undefined ? [l.index] : [])));
  }

  /** One line per node whose path changed: the operator's answer to "why is this encapsulated?". */
  private logPathChanges(paths: ReadonlyMap<string, NodePath>): void {
    const now = new Map<string, NodePath['path']>();
    for (const [node, p] of paths) {
      now.set(node, p.path);
      const before = this.lastPaths.get(node);
      if (before !== p.path && (p.path === 'vxlan' || before === 'vxlan')) this.log.info({ remote: node, path: p.path, previous: before ?? null }, p.path === 'vxlan' ? 'node reached over VXLAN (no BGP route, other segment)' : 'node left VXLAN');
    }
    this.lastPaths = now;
  }
}

/** "192.0.2.11/24" → "192.0.2.0/24". */
function formatNetwork(cidr: string): string {
  const n = networkOf(parseCidr(cidr));
  return `${n.address}/${n.prefixLen}`;
}
