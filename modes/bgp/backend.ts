// BgpBackend: the Backend (modes/backend.ts) of native routing. No encapsulation: this node's
// podCIDR is announced over BGP with the node's IP as next hop, and the podCIDRs learned from the
// other nodes (full mesh) or from configured peers (a ToR / route reflector) become kernel routes
// with weft's protocol number. Pod MTU = underlay MTU.
//
//   const backend = new BgpBackend({ netlink, options: resolveBgpOptions(conf.backend.bgp, [conf.network]) });
//   await backend.start(local);      // listener on <node IP>:ListenPort, publish {ASN}
//   await backend.claim(lease);      // announce the podCIDR
//   await backend.reconcile(nodes);  // peers follow the registry; kernel follows the Loc-RIB
//   await backend.stop();            // sessions left to die with the process: routes stay
//
// Dual stack: the IPv6 podCIDR is announced over the same (IPv4) sessions with MP-BGP (RFC 4760),
// next hop = the node's IPv6 address, and IPv6 routes are installed like IPv4 ones.
//
// Import policy (import-policy.ts) is the speaker's importFilter: it judges every path as it
// arrives, so a refused route never competes for best path. Its facts (which podCIDRs are
// registered, which peers are nodes) follow the registry; when they change, the speaker
// re-imports what every peer sent (kept for that purpose).
//
// The Loc-RIB changes on its own (UPDATEs arrive between reconciles), so the backend also syncs
// the kernel on every best-path batch and tells the daemon (onChange) when a node's state moved.
// Two kinds of pass, never overlapping:
//  - full (reconcile, i.e. every registry snapshot and resync period, and the end of a graceful
//    restart): level-triggered — dump weft's routes, resolve next hops (cached 10 s), diff
//    (route-diff.ts), write the minimum; this also repairs drift;
//  - incremental (between reconciles): only the prefixes whose best paths changed, against the
//    kernel as the last full pass saw it plus our writes since. One route change then costs one write, not a pass over the whole table (at 5000
//    nodes: ~1 ms instead of ~200 ms, weft bench bgp-scale).
// Writes go out with bounded concurrency, so the netlink layer packs them into shared datagrams.
// Graceful restart: if weft routes are already in the kernel at start we are a restarting speaker
// (R and F bits set), and no route is removed until every peer has sent End-of-RIB (or the restart
// time has passed), so a SIGKILL + restart loses no packet. stop() deliberately does not send a
// Cease: peers see the TCP connection drop when the process exits, as after a crash, and keep our
// routes as stale for the restart time (RFC 4724) instead of withdrawing them.
import type { Attributes } from '../../src/bgp/rib/attributes.js';
import { applyBfdGtsm } from '../../src/bfd/gtsm-nft.js';
import { BfdManager, type BfdPeerStatus } from '../../src/bfd/index.js';
import { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { formatPrefix, type Afi, type PrefixKey } from '../../src/bgp/rib/prefix.js';
import { SessionAdapter } from '../../src/bgp/rib/session-adapter.js';
import { Speaker } from '../../src/bgp/speaker.js';
import { BgpListener } from '../../src/bgp/transport/listener.js';
import { CEASE_BFD_DOWN } from '../../src/bgp/wire/errors.js';
import { mapPooled } from '../../src/util/map-pooled.js';
import { TimeSlice } from '../../src/util/time-slice.js';
import { rootLogger, type Logger } from '../../src/log.js';
import { isNetlinkError, Netlink, RTPROT_WEFT, type RouteInfo } from '../../src/netlink/index.js';
import type { Lease, RemoteNode } from '../../src/registry/types.js';
import type { Backend, BackendDetails, BackendStartResult, LocalNode, NodeReport, ReconcileReport } from '../backend.js';
import { canonical, importVerdict, type ImportFacts, type SubnetOwner } from './import-policy.js';
import type { BgpOptions } from './options.js';
import { desiredPeers, type LocalBgpNode } from './peers.js';
import { planRoutesSliced, routeMatches, type WantedRoute } from './route-diff.js';

export interface BgpBackendDeps {
  /** The kernel to program; left open by stop() (the caller owns it). */
  netlink?: Netlink;
  logger?: Logger;
  options: BgpOptions;
  /**
   * Routes leaving by these ifindexes are not the BGP backend's, though they carry its protocol
   * number (CrossSubnet: VXLAN routes on flannel.<VNI>): never listed as its own, never removed.
   */
  foreignDevices?: () => Promise<ReadonlySet<number>>;
  /**
   * Asked after a next hop resolved: a reason not to use it, or undefined (CrossSubnet: a node the
   * VXLAN datapath carries is not reached through the router between segments).
   */
  refuseNextHop?: (nextHop: string, resolved: RouteInfo) => string | undefined;
}

interface PassCounts {
  added: number;
  changed: number;
  removed: number;
  errors: number;
}

type NotInstalled = { state: 'pending' | 'failed'; reason: string };
type Hop = { gateway: string; index: number };

/** Kernel writes in flight at once (see src/util/map-pooled.ts). */
const WRITES_IN_FLIGHT = 128;
/**
 * How long a next hop's resolution is trusted. Re-resolving 5000 next hops costs ~200 ms, too much
 * for every registry snapshot; an underlay route change is followed within this time, like any
 * other drift within a resync period.
 */
const HOP_CACHE_MS = 10_000;

export class BgpBackend implements Backend {
  readonly type = 'bgp' as const;
  private readonly nl: Netlink;
  private readonly ownsNetlink: boolean;
  private readonly log: Logger;
  private readonly options: BgpOptions;
  private readonly foreignDevices: BgpBackendDeps['foreignDevices'];
  private readonly refuseNextHop: BgpBackendDeps['refuseNextHop'];
  private readonly importLists: Map<string, PrefixList>;
  private local: LocalNode | undefined;
  private speaker: Speaker | undefined;
  private listener: BgpListener | undefined;
  private ownSubnets: string[] = [];
  private remotes: RemoteNode[] = [];
  private facts: ImportFacts;
  private factsKey = '';
  /** Why a registered podCIDR was last refused, for the node report. */
  private readonly refusals = new Map<string, string>();
  private clusterId: string | undefined;
  /** BFD sessions with the peers that asked for it (RFC 5880/5881), if any does. */
  private bfd: BfdManager | undefined;
  /** Restarting: keep unlearned routes until every peer's End-of-RIB or this deadline. */
  private holdRemovalsUntil = 0;
  private readonly endOfRibFrom = new Set<string>();
  private running: Promise<unknown> = Promise.resolve();
  /** Prefixes whose best paths changed since the last pass (incremental work). */
  private readonly dirty = new Map<string, { afi: Afi; key: PrefixKey }>();
  private incrementalQueued = false;
  /** Prefixes in the kernel as we want them, and why the others are not. */
  private readonly installed = new Set<string>();
  private readonly notInstalled = new Map<string, NotInstalled>();
  /** Our routes in the kernel by dst: the last full dump plus our writes since. */
  private readonly kernel = new Map<string, RouteInfo>();
  /** Next-hop resolutions, each trusted for HOP_CACHE_MS (the underlay changes rarely). */
  private hops = new Map<string, { hop: Hop | string; at: number }>();
  private lastStates = '';
  private changeListeners: (() => void)[] = [];
  private stopped = false;

  constructor(deps: BgpBackendDeps) {
    this.options = deps.options;
    this.foreignDevices = deps.foreignDevices;
    this.refuseNextHop = deps.refuseNextHop;
    this.ownsNetlink = deps.netlink === undefined;
    this.nl = deps.netlink ?? Netlink.open();
    this.log = deps.logger ?? rootLogger().child({ component: 'bgp' });
    this.importLists = new Map(this.options.peers.filter((p) => p.importList.length > 0).map((p) => [p.address, new PrefixList(p.importList)]));
    this.facts = { clusterNetworks: this.options.clusterNetworks, ownSubnets: [], remoteSubnets: new Map(), nodePeers: new Map(), peeredNodes: new Set(), importLists: this.importLists };
  }

  /** Called when a node's programmed state changed outside reconcile() (the daemon re-reports). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  async start(local: LocalNode): Promise<BackendStartResult> {
    this.local = local;
    const { asn, listenPort, gracefulRestart: gr } = this.options;
    const routerId = this.options.routerId ?? local.publicIP;
    const rr = this.options.routeReflector;
    this.clusterId = rr === undefined ? undefined : rr.clusterId !== '' ? rr.clusterId : routerId;
    const leftover = await this.ownRoutes();
    const restarting = gr.enabled && leftover.length > 0;
    if (restarting) this.holdRemovalsUntil = Date.now() + gr.restartTime * 1000;
    this.listener = new BgpListener({ host: local.publicIP, port: listenPort });
    await this.listener.listen();
    const log = this.log;
    this.speaker = new Speaker({
      asn,
      routerId,
      ...(this.clusterId !== undefined ? { clusterId: this.clusterId } : {}),
      importFilter: (peer, afi, key, received) => this.accepts(peer, afi, key, received),
      ...(gr.enabled ? { gracefulRestart: { restartTime: gr.restartTime, restarting, forwardingPreserved: true } } : {}),
      createSession: SessionAdapter.factory({ listener: this.listener, log: { info: (o, m) => log.info(o, m), debug: (o, m) => log.debug(o, m) } }),
      log: (level, fields, message) => log[level](fields, message),
    });
    this.speaker.on('changes', (changes) => {
      for (const c of changes) this.dirty.set(c.prefix, { afi: c.afi, key: c.key });
      this.scheduleIncremental();
    });
    this.speaker.on('endOfRib', (peer) => {
      this.endOfRibFrom.add(peer);
      // The end of a graceful restart may allow removals: that takes a full pass.
      if (this.holdRemovalsUntil !== 0) void this.fullPass().then(() => this.notifyIfChanged(), (err: unknown) => this.log.warn({ err: (err as Error).message }, 'route sync failed'));
    });
    if (this.options.peers.some((p) => p.bfd)) this.startBfd();
    this.log.info({ routerId, asn, listen: `${local.publicIP}:${listenPort}`, routeReflector: this.clusterId, restarting, keptRoutes: leftover.length }, 'bgp started');
    return { backendType: 'bgp', backendData: { ASN: asn, ...(this.clusterId !== undefined ? { RouteReflector: this.clusterId } : {}) }, mtu: local.underlay.mtu };
  }

  async claim(lease: Lease): Promise<void> {
    if (!this.speaker || !this.local) throw new Error('bgp: claim() before start()');
    const local = this.local;
    const v6 = lease.ipv6Subnet !== undefined && local.publicIPv6 !== undefined ? { prefix: lease.ipv6Subnet, nextHop: local.publicIPv6 } : undefined;
    if (lease.ipv6Subnet !== undefined && v6 === undefined) throw new Error(`bgp: an IPv6 podCIDR (${lease.ipv6Subnet}) but no IPv6 address on the underlay to announce it from`);
    this.ownSubnets = [lease.subnet, ...(v6 ? [v6.prefix] : [])];
    this.facts = { ...this.facts, ownSubnets: this.ownSubnets };
    const announce = [{ prefix: lease.subnet, nextHop: local.publicIP }, ...(v6 ? [v6] : [])];
    this.speaker.setAnnouncements(announce.map((a) => ({ ...a, origin: 0 as const, communities: this.options.communities })));
    for (const a of announce) this.log.info({ subnet: a.prefix, nextHop: a.nextHop }, 'announcing podCIDR');
  }

  async reconcile(remotes: RemoteNode[]): Promise<ReconcileReport> {
    if (!this.speaker || !this.local) throw new Error('bgp: reconcile() before start()');
    if (this.stopped) throw new Error('bgp: reconcile() after stop()');
    const started = performance.now();
    this.remotes = remotes;
    const local: LocalBgpNode = { publicIP: this.local.publicIP, ownSubnets: this.ownSubnets, ...(this.local.publicIPv6 !== undefined && this.ownSubnets.length > 1 ? { publicIPv6: this.local.publicIPv6 } : {}) };
    const desired = desiredPeers(this.options, remotes, local);
    this.updateFacts(remotes, desired.nodePeers);
    this.speaker.setPeers(desired.peers);
    this.bfd?.setPeers(this.options.peers.filter((p) => p.bfd).map((p) => ({ peer: p.address, local: this.local!.publicIP })));
    const result = await this.fullPass();
    const report: ReconcileReport = { nodes: remotes.map((n) => this.nodeReport(n)), added: result.added, changed: result.changed, removed: result.removed, errors: result.errors, durationMs: 0 };
    report.durationMs = performance.now() - started;
    this.lastStates = statesKey(report.nodes);
    const level = report.errors > 0 ? 'warn' : report.added + report.changed + report.removed > 0 ? 'info' : 'debug';
    this.log[level]({ nodes: remotes.length, added: report.added, changed: report.changed, removed: report.removed, errors: report.errors, ms: Math.round(report.durationMs) }, 'reconciled');
    return report;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // BFD's AdminDown tells peers we left on purpose; RFC 5882 §3.2: that must not take their
    // BGP sessions (and our routes) down, so graceful restart still holds.
    await this.bfd?.stop();
    await this.running;
    if (this.ownsNetlink) this.nl.close();
    this.log.info('bgp stopped; sessions end with the process (no Cease), kernel routes left in place');
  }

  /** Peer states and prefix counts, for /status. */
  status(): ReturnType<Speaker['status']> {
    return this.speaker?.status() ?? [];
  }

  /** The speaker's peers for /status and `weft status` (prefix counts over both families). */
  details(): BackendDetails {
    const routerId = this.options.routerId ?? this.local?.publicIP ?? '';
    const external = new Set(this.options.peers.map((p) => p.address));
    const bfd = new Map(this.bfdStatus().map((b) => [b.peer, b]));
    const peers = this.status().map((p) => {
      const b = bfd.get(p.address);
      const { ipv4, ipv6 } = p.prefixes;
      return {
        address: p.address,
        asn: p.asn,
        state: p.state,
        kind: external.has(p.address) ? ('external' as const) : ('node' as const),
        ...(p.uptime !== undefined ? { uptimeSeconds: p.uptime } : {}),
        ...(p.families.length > 0 ? { families: p.families } : {}),
        prefixesReceived: ipv4.received + ipv6.received,
        prefixesAccepted: ipv4.accepted + ipv6.accepted,
        prefixesAdvertised: ipv4.advertised + ipv6.advertised,
        ...(p.lastDown !== undefined ? { lastError: p.lastDown } : {}),
        ...(b !== undefined ? { bfd: { state: b.state, diagnostic: b.diagnostic } } : {}),
        ...(p.errors !== undefined ? { notificationsSent: p.errors.notificationsSent, notificationsReceived: p.errors.notificationsReceived, updateErrors: p.errors.updateErrors } : {}),
      };
    });
    const l = this.listener?.stats;
    const connectionsRejected = l !== undefined ? { unconfiguredAddress: l.rejectedUnknown, peerBusy: l.rejectedBusy, acceptError: l.acceptErrors } : undefined;
    return { bgp: { asn: this.options.asn, routerId, ...(this.clusterId !== undefined ? { routeReflector: this.clusterId } : {}), peers, ...(connectionsRejected ? { connectionsRejected } : {}) } };
  }

  /**
   * BFD down (detection time expired, or the peer's path went down) resets the BGP session at once,
   * without graceful restart: the path is dead, so routes through it must go now (RFC 5882 §4.3),
   * not in hold-time seconds. A peer's AdminDown (it is shutting BFD off) is not a failure.
   */
  private startBfd(): void {
    const log = this.log.child({ component: 'bfd' });
    this.bfd = new BfdManager({ log: (level, fields, msg) => log[level](fields, msg) });
    // The socket cannot check the received TTL (src/bfd/transport.ts): nftables does.
    applyBfdGtsm().then(
      () => log.info('BFD TTL check (GTSM, RFC 5881 §5) installed: nftables table inet weft-bfd'),
      (err: unknown) => log.warn({ err: (err as Error).message }, 'BFD TTL check not installed: BFD packets from beyond one hop are not filtered'),
    );
    this.bfd.on('state', (peer, state, previous, diagnostic) => {
      this.log.info({ peer, state, previous, diagnostic }, 'BFD state');
      if (previous === 'Up' && state === 'Down') this.speaker?.resetPeer(peer, CEASE_BFD_DOWN, `BFD down: ${diagnostic}`);
      for (const l of this.changeListeners) l();
    });
  }

  /** BFD sessions for /status (empty without BFD peers). */
  bfdStatus(): BfdPeerStatus[] {
    return this.bfd?.status() ?? [];
  }

  /** The speaker's import filter: the registry-driven policy on every received path. */
  private accepts(peer: string, _afi: Afi, key: PrefixKey, received: Attributes): boolean {
    const prefix = formatPrefix(key);
    const verdict = importVerdict(prefix, peer, received.nextHop, this.facts);
    if (verdict.accept) {
      this.refusals.delete(prefix);
      return true;
    }
    // Remembered only for registered podCIDRs (bounded by the node count): the node report's "why".
    if (this.facts.remoteSubnets.has(prefix)) this.refusals.set(prefix, `${peer}: ${verdict.reason}`);
    else this.log.debug({ peer, prefix, reason: verdict.reason }, 'route refused');
    return false;
  }

  /** New registry facts for the import policy; what peers sent is re-judged when they changed. */
  private updateFacts(remotes: readonly RemoteNode[], nodePeers: ImportFacts['nodePeers']): void {
    const remoteSubnets = new Map<string, SubnetOwner>();
    for (const n of remotes) {
      const owner: SubnetOwner = { node: n.name, nextHops: new Set([n.publicIP, ...(n.publicIPv6 !== undefined ? [n.publicIPv6] : [])]) };
      remoteSubnets.set(n.subnet, owner);
      if (n.ipv6Subnet !== undefined) remoteSubnets.set(canonical(n.ipv6Subnet), owner);
    }
    this.facts = { ...this.facts, remoteSubnets, nodePeers, peeredNodes: new Set([...nodePeers.values()].map((p) => p.node)) };
    const key = JSON.stringify([[...remoteSubnets].map(([s, o]) => [s, o.node, [...o.nextHops]]), [...nodePeers], this.ownSubnets]);
    if (key === this.factsKey) return;
    this.factsKey = key;
    this.refusals.clear();
    this.speaker?.reimport().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'import policy re-run failed'));
  }

  private nodeReport(node: RemoteNode): NodeReport {
    const base = { node: node.name, subnet: node.subnet };
    if (this.installed.has(node.subnet)) return { ...base, state: 'programmed' };
    const why = this.notInstalled.get(node.subnet);
    if (why) return { ...base, state: why.state, reason: why.reason };
    const refused = this.refusals.get(node.subnet);
    if (refused !== undefined) return { ...base, state: 'pending', reason: `refused by import policy (${refused})` };
    if (node.backendType !== 'bgp' && this.options.peers.length === 0) return { ...base, state: 'pending', reason: `node runs the ${node.backendType} backend, not bgp` };
    return { ...base, state: 'pending', reason: 'no BGP route learned yet' };
  }

  private scheduleIncremental(): void {
    if (this.incrementalQueued || this.stopped) return;
    this.incrementalQueued = true;
    // Queued behind the running pass; all changes up to the moment it starts are taken at once.
    const pass = this.running.then(async () => {
      this.incrementalQueued = false;
      if (this.stopped || this.dirty.size === 0) return;
      await this.incrementalPass();
      this.notifyIfChanged();
    });
    this.running = pass.catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'route sync failed'));
  }

  /** Tell the daemon when a node's state moved since the last report (it reconciles and reports). */
  private notifyIfChanged(): void {
    const key = statesKey(this.remotes.map((n) => this.nodeReport(n)));
    if (key !== this.lastStates) for (const l of this.changeListeners) l();
  }

  /** A full level-triggered pass over the kernel, queued behind any running pass. */
  private fullPass(): Promise<PassCounts> {
    const pass = this.running.then(() => this.runFullPass());
    this.running = pass.catch(() => undefined);
    return pass;
  }

  private removalsHeld(): boolean {
    if (this.holdRemovalsUntil === 0) return false;
    const peers = this.speaker?.status() ?? [];
    const allBack = peers.length > 0 && peers.every((p) => this.endOfRibFrom.has(p.address));
    if (allBack || Date.now() >= this.holdRemovalsUntil) {
      this.holdRemovalsUntil = 0;
      this.log.info({ endOfRib: allBack }, 'graceful restart over: routes not re-learned are removed now');
      return false;
    }
    return true;
  }

  /** What the kernel should hold for one Loc-RIB prefix: a route, or why not. */
  private async wantedFor(afi: Afi, key: PrefixKey, prefix: string): Promise<WantedRoute | NotInstalled | undefined> {
    const multipath = this.speaker!.locRib[afi].multipath(key);
    if (multipath.length === 0) return undefined;
    // Every path in the Loc-RIB passed the import filter; the multipath set is the ECMP group.
    const gateways = [...new Set(multipath.map((p) => p.attrs.nextHop))].sort();
    const nexthops: Hop[] = [];
    const why: string[] = [];
    const now = Date.now();
    for (const gw of gateways) {
      let cached = this.hops.get(gw);
      if (cached === undefined || now - cached.at > HOP_CACHE_MS) {
        cached = { hop: await this.resolve(gw), at: now };
        this.hops.set(gw, cached);
      }
      const hop = cached.hop;
      if (typeof hop === 'string') why.push(hop);
      else nexthops.push(hop);
    }
    if (nexthops.length === 0) return { state: 'pending', reason: why.join('; ') };
    return { dst: prefix, nexthops };
  }

  private async runFullPass(): Promise<PassCounts> {
    const speaker = this.speaker!;
    const counts: PassCounts = { added: 0, changed: 0, removed: 0, errors: 0 };
    // Everything is looked at again: pending incremental work is covered; next hops whose
    // resolution is older than HOP_CACHE_MS are resolved again, the others' entries dropped.
    this.dirty.clear();
    const now = Date.now();
    for (const [gw, c] of this.hops) if (now - c.at > HOP_CACHE_MS) this.hops.delete(gw);
    this.installed.clear();
    this.notInstalled.clear();
    const wanted: WantedRoute[] = [];
    // A full table takes long enough to block BFD and keepalives: a time slice at a time.
    const slice = new TimeSlice();
    for (const afi of ['ipv4', 'ipv6'] as const) {
      for (const [key] of speaker.locRib[afi].entries()) {
        if (slice.due) await slice.next();
        const prefix = formatPrefix(key);
        const want = await this.wantedFor(afi, key, prefix);
        if (want === undefined) continue;
        if ('state' in want) this.notInstalled.set(prefix, want);
        else wanted.push(want);
      }
    }
    const actual = await this.ownRoutes();
    this.kernel.clear();
    for (const r of actual) this.kernel.set(r.dst, r);
    slice.restart();
    const plan = await planRoutesSliced(wanted, actual, { keepUnwanted: this.removalsHeld() }, slice);
    for (const dst of plan.inSync) this.installed.add(dst);
    await mapPooled(plan.replace, WRITES_IN_FLIGHT, (want) => this.install(want, counts));
    await mapPooled(plan.remove, WRITES_IN_FLIGHT, (route) => this.remove(route, counts));
    return counts;
  }

  private async incrementalPass(): Promise<void> {
    const work = [...this.dirty.values()];
    this.dirty.clear();
    const counts: PassCounts = { added: 0, changed: 0, removed: 0, errors: 0 };
    const held = this.removalsHeld();
    const replace: WantedRoute[] = [];
    const remove: RouteInfo[] = [];
    const slice = new TimeSlice();
    for (const { afi, key } of work) {
      if (slice.due) await slice.next();
      const prefix = formatPrefix(key);
      const want = await this.wantedFor(afi, key, prefix);
      const have = this.kernel.get(prefix);
      this.installed.delete(prefix);
      this.notInstalled.delete(prefix);
      if (want !== undefined && !('state' in want)) {
        if (have !== undefined && routeMatches(have, want)) this.installed.add(prefix);
        else replace.push(want);
        continue;
      }
      if (want !== undefined) this.notInstalled.set(prefix, want);
      if (have !== undefined && !held) remove.push(have);
    }
    await mapPooled(replace, WRITES_IN_FLIGHT, (want) => this.install(want, counts));
    await mapPooled(remove, WRITES_IN_FLIGHT, (route) => this.remove(route, counts));
    if (counts.added + counts.changed + counts.removed + counts.errors > 0) {
      this.log.info({ prefixes: work.length, added: counts.added, changed: counts.changed, removed: counts.removed, errors: counts.errors }, 'routes synced');
    }
  }

  private async install(want: WantedRoute, counts: PassCounts): Promise<void> {
    const existed = this.kernel.has(want.dst);
    const single = want.nexthops.length === 1 ? want.nexthops[0]! : undefined;
    try {
      await this.nl.routes.replace(single ? { dst: want.dst, gateway: single.gateway, dev: single.index } : { dst: want.dst, nexthops: want.nexthops.map((h) => ({ gateway: h.gateway, dev: h.index })) });
    } catch (err) {
      counts.errors++;
      this.notInstalled.set(want.dst, { state: 'failed', reason: `route: ${isNetlinkError(err) ? err.code : (err as Error).message}` });
      return;
    }
    this.installed.add(want.dst);
    this.kernel.set(want.dst, {
      family: want.dst.includes(':') ? 6 : 4,
      dst: want.dst,
      table: 254,
      protocol: RTPROT_WEFT,
      scope: 0,
      type: 'unicast',
      onlink: false,
      ...(single ? { gateway: single.gateway, index: single.index } : { nexthops: want.nexthops.map((h) => ({ gateway: h.gateway, index: h.index })) }),
    } as RouteInfo);
    if (existed) counts.changed++;
    else counts.added++;
    this.log.debug({ subnet: want.dst, via: want.nexthops.map((h) => h.gateway) }, 'route installed');
  }

  private async remove(route: RouteInfo, result: PassCounts): Promise<void> {
    try {
      // The device too: with a foreign datapath (CrossSubnet) the same destination may have been
      // taken over by it since the dump, and that route is not ours to delete.
      await this.nl.routes.delete({ dst: route.dst, protocol: RTPROT_WEFT, ...(route.metric !== undefined ? { metric: route.metric } : {}), ...(route.index !== undefined && !route.nexthops?.length ? { dev: route.index } : {}) });
      result.removed++;
      if (this.kernel.get(route.dst) === route) this.kernel.delete(route.dst);
      this.log.debug({ subnet: route.dst }, 'route removed');
    } catch (err) {
      if (isNetlinkError(err) && err.code === 'ESRCH') {
        if (this.kernel.get(route.dst) === route) this.kernel.delete(route.dst);
        return; // already gone
      }
      result.errors++;
      this.log.warn({ subnet: route.dst, err: (err as Error).message }, 'route removal failed');
    }
  }

  /** weft's routes in the kernel that are this backend's (not on a foreign device). */
  private async ownRoutes(): Promise<RouteInfo[]> {
    const routes = await this.nl.routes.list({ protocol: RTPROT_WEFT });
    if (!this.foreignDevices) return routes;
    const foreign = await this.foreignDevices();
    const on = (index: number | undefined): boolean => index !== undefined && foreign.has(index);
    return routes.filter((r) => !on(r.index) && !(r.nexthops ?? []).some((h) => on(h.index)));
  }

  /**
   * The gateway and device to reach a BGP next hop: itself when directly connected, else the
   * gateway of the route that resolves it (the kernel does not resolve IPv4 next hops
   * recursively). Never through one of our own routes, never a local address. A string: why not.
   */
  private async resolve(nextHop: string): Promise<{ gateway: string; index: number } | string> {
    if (nextHop === '' || nextHop === this.local?.publicIP || nextHop === this.local?.publicIPv6) return `next hop ${nextHop || '(none)'} is this node`;
    const route = await this.nl.routes.get(nextHop).catch(() => undefined);
    if (!route || route.type !== 'unicast' || route.index === undefined || route.protocol === RTPROT_WEFT) return `next hop ${nextHop} unreachable`;
    const refused = this.refuseNextHop?.(nextHop, route);
    if (refused !== undefined) return `next hop ${nextHop}: ${refused}`;
    return { gateway: route.gateway ?? nextHop, index: route.index };
  }
}

function statesKey(nodes: NodeReport[]): string {
  return nodes.map((n) => `${n.node}=${n.state}`).join(',');
}
