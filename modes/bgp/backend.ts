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
// The Loc-RIB changes on its own (UPDATEs arrive between reconciles), so the backend also syncs
// the kernel on every best-path batch and tells the daemon (onChange) when a node's state moved.
// Each sync is level-triggered: dump weft's routes, diff (route-diff.ts), write the minimum.
// Graceful restart: if weft routes are already in the kernel at start we are a restarting speaker
// (R and F bits set), and no route is removed until every peer has sent End-of-RIB (or the restart
// time has passed), so a SIGKILL + restart loses no packet. stop() deliberately does not send a
// Cease: peers see the TCP connection drop when the process exits, as after a crash, and keep our
// routes as stale for the restart time (RFC 4724) instead of withdrawing them.
import { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { formatPrefix } from '../../src/bgp/rib/prefix.js';
import { SessionAdapter } from '../../src/bgp/rib/session-adapter.js';
import { Speaker } from '../../src/bgp/speaker.js';
import { BgpListener } from '../../src/bgp/transport/listener.js';
import { rootLogger, type Logger } from '../../src/log.js';
import { isNetlinkError, Netlink, RTPROT_WEFT, type RouteInfo } from '../../src/netlink/index.js';
import type { Lease, RemoteNode } from '../../src/registry/types.js';
import type { Backend, BackendDetails, BackendStartResult, LocalNode, NodeReport, ReconcileReport } from '../backend.js';
import { canonical, importVerdict, type ImportFacts } from './import-policy.js';
import type { BgpOptions } from './options.js';
import { desiredPeers } from './peers.js';
import { planRoutes, type WantedRoute } from './route-diff.js';

export interface BgpBackendDeps {
  /** The kernel to program; left open by stop() (the caller owns it). */
  netlink?: Netlink;
  logger?: Logger;
  options: BgpOptions;
}

interface SyncResult {
  added: number;
  changed: number;
  removed: number;
  errors: number;
  /** Why a prefix is not in the kernel (pending/failed), by canonical prefix. */
  notInstalled: Map<string, { state: 'pending' | 'failed'; reason: string }>;
  installed: Set<string>;
}

export class BgpBackend implements Backend {
  readonly type = 'bgp' as const;
  private readonly nl: Netlink;
  private readonly ownsNetlink: boolean;
  private readonly log: Logger;
  private readonly options: BgpOptions;
  private readonly importLists: Map<string, PrefixList>;
  private local: LocalNode | undefined;
  private speaker: Speaker | undefined;
  private listener: BgpListener | undefined;
  private ownSubnets: string[] = [];
  private remotes: RemoteNode[] = [];
  /** Restarting: keep unlearned routes until every peer's End-of-RIB or this deadline. */
  private holdRemovalsUntil = 0;
  private readonly endOfRibFrom = new Set<string>();
  private running: Promise<unknown> = Promise.resolve();
  private syncScheduled = false;
  private last: SyncResult | undefined;
  private lastStates = '';
  private changeListeners: (() => void)[] = [];
  private stopped = false;

  constructor(deps: BgpBackendDeps) {
    this.options = deps.options;
    this.ownsNetlink = deps.netlink === undefined;
    this.nl = deps.netlink ?? Netlink.open();
    this.log = deps.logger ?? rootLogger().child({ component: 'bgp' });
    this.importLists = new Map(this.options.peers.filter((p) => p.importList.length > 0).map((p) => [p.address, new PrefixList(p.importList)]));
  }

  /** Called when a node's programmed state changed outside reconcile() (the daemon re-reports). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  async start(local: LocalNode): Promise<BackendStartResult> {
    this.local = local;
    const { asn, listenPort, gracefulRestart: gr } = this.options;
    const routerId = this.options.routerId ?? local.publicIP;
    const leftover = await this.nl.routes.list({ protocol: RTPROT_WEFT });
    const restarting = gr.enabled && leftover.length > 0;
    if (restarting) this.holdRemovalsUntil = Date.now() + gr.restartTime * 1000;
    this.listener = new BgpListener({ host: local.publicIP, port: listenPort });
    await this.listener.listen();
    const log = this.log;
    this.speaker = new Speaker({
      asn,
      routerId,
      ...(gr.enabled ? { gracefulRestart: { restartTime: gr.restartTime, restarting, forwardingPreserved: true } } : {}),
      createSession: SessionAdapter.factory({ listener: this.listener, log: { info: (o, m) => log.info(o, m), debug: (o, m) => log.debug(o, m) } }),
      log: (level, fields, message) => log[level](fields, message),
    });
    this.speaker.on('changes', () => this.scheduleSync());
    this.speaker.on('endOfRib', (peer) => {
      this.endOfRibFrom.add(peer);
      this.scheduleSync();
    });
    this.log.info({ routerId, asn, listen: `${local.publicIP}:${listenPort}`, restarting, keptRoutes: leftover.length }, 'bgp started');
    return { backendType: 'bgp', backendData: { ASN: asn }, mtu: local.underlay.mtu };
  }

  async claim(lease: Lease): Promise<void> {
    if (!this.speaker || !this.local) throw new Error('bgp: claim() before start()');
    this.ownSubnets = [lease.subnet, ...(lease.ipv6Subnet ? [lease.ipv6Subnet] : [])];
    // IPv4 only in this slice: the IPv6 podCIDR is not announced (see modes/README.md).
    this.speaker.setAnnouncements([{ prefix: lease.subnet, nextHop: this.local.publicIP, origin: 0, communities: this.options.communities }]);
    this.log.info({ subnet: lease.subnet, nextHop: this.local.publicIP }, 'announcing podCIDR');
  }

  async reconcile(remotes: RemoteNode[]): Promise<ReconcileReport> {
    if (!this.speaker || !this.local) throw new Error('bgp: reconcile() before start()');
    if (this.stopped) throw new Error('bgp: reconcile() after stop()');
    const started = performance.now();
    this.remotes = remotes;
    this.speaker.setPeers(desiredPeers(this.options, remotes, this.local.publicIP));
    const result = await this.sync();
    const report: ReconcileReport = { nodes: remotes.map((n) => this.nodeReport(n, result)), added: result.added, changed: result.changed, removed: result.removed, errors: result.errors, durationMs: 0 };
    report.durationMs = performance.now() - started;
    this.lastStates = statesKey(report.nodes);
    const level = report.errors > 0 ? 'warn' : report.added + report.changed + report.removed > 0 ? 'info' : 'debug';
    this.log[level]({ nodes: remotes.length, added: report.added, changed: report.changed, removed: report.removed, errors: report.errors, ms: Math.round(report.durationMs) }, 'reconciled');
    return report;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    if (this.ownsNetlink) this.nl.close();
    this.log.info('bgp stopped; sessions end with the process (no Cease), kernel routes left in place');
  }

  /** Peer states and prefix counts, for /status. */
  status(): ReturnType<Speaker['status']> {
    return this.speaker?.status() ?? [];
  }

  /** The speaker's peers for /status and `weft status` (IPv4 counts: the only family announced). */
  details(): BackendDetails {
    const routerId = this.options.routerId ?? this.local?.publicIP ?? '';
    const peers = this.status().map((p) => {
      const v4 = p.prefixes.ipv4;
      return {
        address: p.address,
        asn: p.asn,
        state: p.state,
        ...(p.uptime !== undefined ? { uptimeSeconds: p.uptime } : {}),
        prefixesReceived: v4.received,
        prefixesAccepted: v4.accepted,
        prefixesAdvertised: v4.advertised,
        ...(p.lastDown !== undefined ? { lastError: p.lastDown } : {}),
      };
    });
    return { bgp: { asn: this.options.asn, routerId, peers } };
  }

  private nodeReport(node: RemoteNode, result: SyncResult): NodeReport {
    const base = { node: node.name, subnet: node.subnet };
    if (result.installed.has(node.subnet)) return { ...base, state: 'programmed' };
    const why = result.notInstalled.get(node.subnet);
    if (why) return { ...base, state: why.state, reason: why.reason };
    if (node.backendType !== 'bgp' && this.options.peers.length === 0) return { ...base, state: 'pending', reason: `node runs the ${node.backendType} backend, not bgp` };
    return { ...base, state: 'pending', reason: 'no BGP route learned yet' };
  }

  private scheduleSync(): void {
    if (this.syncScheduled || this.stopped) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      if (this.stopped) return;
      void this.sync()
        .then((result) => {
          const key = statesKey(this.remotes.map((n) => this.nodeReport(n, result)));
          if (key !== this.lastStates) for (const l of this.changeListeners) l();
        })
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'route sync failed'));
    });
  }

  /** One level-triggered pass over the kernel; passes never overlap. */
  private sync(): Promise<SyncResult> {
    const pass = this.running.then(() => this.syncOnce());
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

  private async syncOnce(): Promise<SyncResult> {
    const speaker = this.speaker!;
    const result: SyncResult = { added: 0, changed: 0, removed: 0, errors: 0, notInstalled: new Map(), installed: new Set() };
    const facts: ImportFacts = { clusterNetworks: this.options.clusterNetworks, ownSubnets: this.ownSubnets, remoteSubnets: new Set(this.remotes.map((n) => n.subnet)), importLists: this.importLists };
    const wanted: WantedRoute[] = [];
    for (const [key, , multipath] of speaker.locRib.ipv4.entries()) {
      const prefix = canonical(formatPrefix(key));
      const refusals: string[] = [];
      const gateways = new Set<string>();
      for (const path of multipath) {
        const verdict = importVerdict(prefix, path.source.address, facts);
        if (verdict.accept) gateways.add(path.attrs.nextHop);
        else refusals.push(`${path.source.address}: ${verdict.reason}`);
      }
      if (gateways.size === 0) {
        result.notInstalled.set(prefix, { state: 'pending', reason: `refused by import policy (${refusals.join('; ')})` });
        continue;
      }
      const nexthops: WantedRoute['nexthops'] = [];
      const unreachable: string[] = [];
      for (const gw of [...gateways].sort()) {
        const hop = await this.resolve(gw);
        if (hop) nexthops.push(hop);
        else unreachable.push(gw);
      }
      if (nexthops.length === 0) result.notInstalled.set(prefix, { state: 'pending', reason: `next hop ${unreachable.join(', ')} unreachable` });
      else wanted.push({ dst: prefix, nexthops });
    }
    const actual = await this.nl.routes.list({ family: 4, protocol: RTPROT_WEFT });
    const held = this.removalsHeld();
    const plan = planRoutes(wanted, actual, { keepUnwanted: held });
    for (const dst of plan.inSync) result.installed.add(dst);
    const existing = new Set(actual.map((r) => r.dst));
    for (const want of plan.replace) {
      try {
        await this.nl.routes.replace(want.nexthops.length === 1 ? { dst: want.dst, gateway: want.nexthops[0]!.gateway, dev: want.nexthops[0]!.index } : { dst: want.dst, nexthops: want.nexthops.map((h) => ({ gateway: h.gateway, dev: h.index })) });
        result.installed.add(want.dst);
        if (existing.has(want.dst)) result.changed++;
        else result.added++;
        this.log.info({ subnet: want.dst, via: want.nexthops.map((h) => h.gateway) }, 'route installed');
      } catch (err) {
        result.errors++;
        result.notInstalled.set(want.dst, { state: 'failed', reason: `route: ${isNetlinkError(err) ? err.code : (err as Error).message}` });
      }
    }
    for (const route of plan.remove) await this.remove(route, result);
    return result;
  }

  private async remove(route: RouteInfo, result: SyncResult): Promise<void> {
    try {
      await this.nl.routes.delete({ dst: route.dst, protocol: RTPROT_WEFT, ...(route.metric !== undefined ? { metric: route.metric } : {}) });
      result.removed++;
      this.log.info({ subnet: route.dst }, 'route removed');
    } catch (err) {
      if (isNetlinkError(err) && err.code === 'ESRCH') return; // already gone
      result.errors++;
      this.log.warn({ subnet: route.dst, err: (err as Error).message }, 'route removal failed');
    }
  }

  /**
   * The gateway and device to reach a BGP next hop: itself when directly connected, else the
   * gateway of the route that resolves it (the kernel does not resolve IPv4 next hops
   * recursively). Never through one of our own routes, never a local address.
   */
  private async resolve(nextHop: string): Promise<{ gateway: string; index: number } | undefined> {
    if (nextHop === this.local?.publicIP) return undefined;
    const route = await this.nl.routes.get(nextHop).catch(() => undefined);
    if (!route || route.type !== 'unicast' || route.index === undefined || route.protocol === RTPROT_WEFT) return undefined;
    return { gateway: route.gateway ?? nextHop, index: route.index };
  }
}

function statesKey(nodes: NodeReport[]): string {
  return nodes.map((n) => `${n.node}=${n.state}`).join(',');
}
