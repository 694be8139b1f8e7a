// The Daemon: wires one registry to one backend and keeps the kernel matching the cluster.
//
//   underlay ─▶ backend.start ─▶ registry.register ─▶ backend.claim ─▶ CNI files (+ ip-masq)
//            ─▶ registry.watch ─▶ scheduler ─▶ backend.reconcile  (on every snapshot and resync)
//
// Its parts are injected (DaemonParts), so the same Daemon runs in production (built from flags
// by daemon/build.ts) and in tests (namespaces, a test registry). Stopping it stops the control
// plane only: the backend leaves the datapath in place, so pods keep talking through a restart.
import type { Backend, BackendDetails, LocalNode, ReconcileReport, Underlay } from '../../modes/backend.js';
import type { Logger } from '../log.js';
import type { Lease, NodeRegistry, RemoteNode, Snapshot } from '../registry/types.js';
import { DaemonHttpServer, type HttpEndpoint } from './http.js';
import type { DaemonMetrics } from './metrics.js';
import { exportBgpMetrics } from './bgp-metrics.js';
import { ReconcileScheduler, type Trigger } from './scheduler.js';

export interface DaemonParts {
  nodeName: string;
  registry: NodeRegistry;
  backend: Backend;
  /** Finds the underlay interface (and its address) this node's traffic leaves by. */
  selectUnderlay(): Promise<Underlay>;
  /**
   * Whether `address` is still configured on this node, asked on every resync (omitted when the
   * public IP was given by flag: it need not be local). A node re-addressed under a running daemon
   * would otherwise go on publishing, and tunnelling from, an address it no longer has.
   */
  hasLocalAddress?: (address: string) => Promise<boolean>;
  /** The daemon cannot go on as it is (its public IP went away): `weft daemon` exits so that its supervisor restarts it. */
  onFatal?: (reason: string) => void;
  /** Overrides the published IPs (default: the underlay's addresses). */
  publicIP?: string;
  publicIPv6?: string;
  /** Writes the CNI handoff (subnet file + conflist) for this lease and pod MTU. */
  writeCni(lease: Lease, mtu: number): Promise<void>;
  /** Installs masquerading for pod traffic leaving the cluster (when --ip-masq). */
  applyMasq?(lease: Lease): Promise<void>;
  resyncMs: number;
  /** Where /healthz etc. listen on TCP; omit for none. */
  health?: HttpEndpoint;
  /** The same endpoints on a Unix socket (for `weft status` and the lab); omit for none. */
  statusSocket?: string;
  metrics: DaemonMetrics;
  logger: Logger;
}

export interface DaemonStatus {
  node: string;
  backend: string;
  phase: Phase;
  ready: boolean;
  notReadyReason?: string;
  publicIP?: string;
  subnet?: string;
  ipv6Subnet?: string;
  mtu?: number;
  underlay?: string;
  registryRevision?: string;
  lastReconcile?: Omit<ReconcileReport, 'nodes'> & { at: string; trigger: Trigger };
  remoteNodes: { name: string; subnet: string; publicIP: string; state: string; reason?: string; datapath?: 'native' | 'vxlan' }[];
  /** BGP backend: the speaker's peers. */
  bgp?: BackendDetails['bgp'];
}

type Phase = 'starting' | 'running' | 'stopping' | 'stopped';

export class Daemon {
  private phase: Phase = 'starting';
  private lease: Lease | undefined;
  private local: LocalNode | undefined;
  private mtu: number | undefined;
  private cniWritten = false;
  private desired: RemoteNode[] = [];
  private snapshotSeen = false;
  private revision: string | undefined;
  private lastReport: ReconcileReport | undefined;
  private lastReconcile: DaemonStatus['lastReconcile'];
  private readonly scheduler: ReconcileScheduler;
  private http: DaemonHttpServer | undefined;
  /** Peers that have per-peer BGP metric label sets, so those of removed peers are dropped. */
  private bgpMetricPeers = new Set<string>();
  private boundHealth: HttpEndpoint | undefined;
  /** Why the daemon cannot go on (reported once through onFatal), if it cannot. */
  private fatal: string | undefined;

  constructor(private readonly parts: DaemonParts) {
    this.scheduler = new ReconcileScheduler({ resyncMs: parts.resyncMs, logger: parts.logger, run: (trigger) => this.reconcile(trigger) });
  }

  /** Where the HTTP endpoints actually listen (after start). */
  get healthEndpoint(): HttpEndpoint | undefined {
    return this.boundHealth;
  }

  async start(): Promise<void> {
    const { parts } = this;
    const log = parts.logger;
    // Up first: /healthz answers while we start, /readyz says why we are not ready yet.
    this.http = new DaemonHttpServer(this, parts.metrics.registry, log);
    if (parts.health) {
      this.boundHealth = await this.http.listen(parts.health);
      log.info({ addr: `${this.boundHealth.host}:${this.boundHealth.port}` }, 'health endpoints listening');
    }
    if (parts.statusSocket) {
      await this.http.listenUnix(parts.statusSocket);
      log.info({ socket: parts.statusSocket }, 'status socket listening');
    }
    const underlay = await parts.selectUnderlay();
    this.local = {
      name: parts.nodeName,
      publicIP: parts.publicIP ?? underlay.address,
      underlay,
      ...((parts.publicIPv6 ?? underlay.addressV6) ? { publicIPv6: parts.publicIPv6 ?? underlay.addressV6 } : {}),
    };
    log.info({ underlay: underlay.name, publicIP: this.local.publicIP, mtu: underlay.mtu }, 'underlay selected');
    const started = await parts.backend.start(this.local);
    parts.backend.onChange?.(() => this.scheduler.trigger('backend'));
    this.mtu = started.mtu;
    this.lease = await parts.registry.register({
      name: parts.nodeName,
      publicIP: this.local.publicIP,
      ...(this.local.publicIPv6 ? { publicIPv6: this.local.publicIPv6 } : {}),
      backendType: started.backendType,
      backendData: started.backendData,
      ...(started.backendV6Data ? { backendV6Data: started.backendV6Data } : {}),
    });
    log.info({ subnet: this.lease.subnet, ipv6Subnet: this.lease.ipv6Subnet, publicIP: this.lease.publicIP }, 'lease acquired');
    await parts.backend.claim(this.lease);
    await parts.writeCni(this.lease, started.mtu);
    this.cniWritten = true;
    if (parts.applyMasq) await parts.applyMasq(this.lease);
    parts.registry.watch((snapshot) => this.onSnapshot(snapshot));
    this.phase = 'running';
    this.scheduler.start();
  }

  /** Stops the control plane; the datapath stays. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.scheduler.stop();
    await this.scheduler.idle();
    await Promise.allSettled([this.parts.registry.close(), this.parts.backend.stop()]);
    await this.http?.close();
    this.phase = 'stopped';
    this.parts.logger.info('stopped; datapath left in place');
  }

  /** Resolves when no reconcile is running or pending. */
  settled(): Promise<void> {
    return this.scheduler.idle();
  }

  notReadyReason(): string | undefined {
    if (this.fatal !== undefined) return this.fatal;
    if (this.phase !== 'running') return `daemon ${this.phase}`;
    if (!this.cniWritten) return 'CNI files not written';
    if (!this.snapshotSeen) return 'no registry snapshot yet';
    if (!this.lastReport) return 'first reconcile not done';
    const programmed = new Set(this.lastReport.nodes.filter((n) => n.state === 'programmed').map((n) => n.node));
    const missing = this.desired.filter((n) => !programmed.has(n.name));
    if (missing.length > 0) return `${missing.length} of ${this.desired.length} remote nodes not programmed (${missing.slice(0, 3).map((n) => n.name).join(', ')}${missing.length > 3 ? ', …' : ''})`;
    return undefined;
  }

  status(): DaemonStatus {
    const reason = this.notReadyReason();
    const byNode = new Map((this.lastReport?.nodes ?? []).map((n) => [n.node, n]));
    const bgp = this.parts.backend.details?.().bgp;
    return {
      node: this.parts.nodeName,
      backend: this.parts.backend.type,
      phase: this.phase,
      ready: reason === undefined,
      ...(reason !== undefined ? { notReadyReason: reason } : {}),
      ...(this.lease ? { publicIP: this.lease.publicIP, subnet: this.lease.subnet } : {}),
      ...(this.lease?.ipv6Subnet ? { ipv6Subnet: this.lease.ipv6Subnet } : {}),
      ...(this.mtu !== undefined ? { mtu: this.mtu } : {}),
      ...(this.local ? { underlay: this.local.underlay.name } : {}),
      ...(this.revision !== undefined ? { registryRevision: this.revision } : {}),
      ...(this.lastReconcile ? { lastReconcile: this.lastReconcile } : {}),
      ...(bgp ? { bgp } : {}),
      remoteNodes: this.desired.map((n) => {
        const report = byNode.get(n.name);
        return { name: n.name, subnet: n.subnet, publicIP: n.publicIP, state: report?.state ?? 'pending', ...(report?.reason ? { reason: report.reason } : {}), ...(report?.datapath ? { datapath: report.datapath } : {}) };
      }),
    };
  }

  /** The BGP backend's peers and error totals into /metrics (nothing for other backends). */
  private updateBgpMetrics(): void {
    const bgp = this.parts.backend.details?.().bgp;
    if (!bgp && this.bgpMetricPeers.size === 0) return;
    this.bgpMetricPeers = exportBgpMetrics(this.parts.metrics, bgp, this.bgpMetricPeers);
  }

  /**
   * Whether our public IP has left this node (checked on resync). Re-registering in place would
   * mean restarting the backend on a new address (a new VXLAN local, new BGP sessions); a restart
   * of the process does exactly that and keeps the datapath meanwhile, so we ask for one.
   */
  private async publicIpGone(): Promise<boolean> {
    const { hasLocalAddress, onFatal, logger } = this.parts;
    const ip = this.local?.publicIP;
    if (this.fatal !== undefined) return true;
    if (!hasLocalAddress || ip === undefined || (await hasLocalAddress(ip))) return false;
    this.fatal = `public IP ${ip} is no longer configured on this node`;
    logger.error({ publicIP: ip }, 'public IP gone from this node; stopping so that weft restarts with its new address (datapath left in place)');
    onFatal?.(this.fatal);
    return true;
  }

  private onSnapshot(snapshot: Snapshot): void {
    this.desired = snapshot.nodes;
    this.snapshotSeen = true;
    this.revision = snapshot.revision;
    this.parts.metrics.snapshots.inc();
    this.parts.metrics.remoteNodesKnown.set(snapshot.nodes.length);
    this.parts.logger.debug({ nodes: snapshot.nodes.length, revision: snapshot.revision }, 'registry snapshot');
    this.scheduler.trigger('snapshot');
  }

  private async reconcile(trigger: Trigger): Promise<void> {
    // Until the first snapshot the desired set is unknown, not empty: reconciling now would
    // delete every remote node's entries left by a previous run and drop pod traffic.
    if (!this.snapshotSeen) return;
    if (trigger === 'resync' && (await this.publicIpGone())) return;
    const { metrics, logger } = this.parts;
    const end = metrics.reconcileDuration.startTimer();
    let report: ReconcileReport;
    try {
      report = await this.parts.backend.reconcile(this.desired);
    } catch (err) {
      end();
      metrics.reconciles.inc({ trigger, result: 'error' });
      throw err;
    }
    end();
    this.lastReport = report;
    const { nodes: _nodes, ...counts } = report;
    this.lastReconcile = { ...counts, at: new Date().toISOString(), trigger };
    const programmed = report.nodes.filter((n) => n.state === 'programmed').length;
    metrics.remoteNodesProgrammed.set(programmed);
    metrics.kernelWriteErrors.inc(report.errors);
    if (report.added) metrics.kernelEntriesChanged.inc({ change: 'added' }, report.added);
    if (report.changed) metrics.kernelEntriesChanged.inc({ change: 'changed' }, report.changed);
    if (report.removed) metrics.kernelEntriesChanged.inc({ change: 'removed' }, report.removed);
    metrics.reconciles.inc({ trigger, result: report.errors > 0 ? 'partial' : 'ok' });
    metrics.ready.set(this.notReadyReason() === undefined ? 1 : 0);
    this.updateBgpMetrics();
    const changedAnything = report.added + report.changed + report.removed > 0;
    const line = { trigger, nodes: report.nodes.length, programmed, added: report.added, changed: report.changed, removed: report.removed, errors: report.errors, durationMs: Math.round(report.durationMs) };
    if (report.errors > 0) {
      for (const n of report.nodes.filter((x) => x.state === 'failed')) logger.warn({ node: n.node, subnet: n.subnet, reason: n.reason }, 'remote node not programmed');
      logger.warn(line, 'reconcile left errors');
    } else if (changedAnything) {
      logger.info(line, 'reconciled');
    } else {
      logger.debug(line, 'reconciled (no change)');
    }
  }
}
