// VxlanBackend: the Backend (modes/backend.ts) of the VXLAN overlay, flannel's vxlan backend with
// a level-triggered reconcile. It owns one VxlanOverlay per address family (flannel.<VNI>, and
// flannel-v6.<VNI> in dual stack), turns the daemon's calls into their passes, and folds their
// results into one ReconcileReport with one line per remote node.
//
//   const backend = new VxlanBackend({ netlink: Netlink.open({ netns }), options: { vni: 1 } });
//   const { backendData, mtu } = await backend.start(local);   // publish backendData (VTEP MAC)
//   await backend.claim(lease);                                 // device gets subnet's .0/32
//   const report = await backend.reconcile(remoteNodes);       // on every snapshot and resync
//   await backend.stop();                                       // datapath stays in place
//
// What it is not: a scheduler (the daemon decides when to reconcile) nor a validator of registry
// input. It keeps no timers or subscriptions; stop() only waits for a pass in flight and closes a
// netlink handle it opened itself. It never deletes the device or an entry on stop.
import { networkOf, parseCidr, type Family } from '../../src/net/addr.js';
import { Netlink } from '../../src/netlink/index.js';
import { rootLogger, type Logger } from '../../src/log.js';
import type { Lease, RemoteNode, VxlanBackendData } from '../../src/registry/types.js';
import type { Backend, BackendStartResult, LocalNode, NodeReport, ReconcileReport } from '../backend.js';
import { resolveVxlanOptions, vxlanDeviceMtu, vxlanDeviceName, type VxlanOptions } from './options.js';
import { VxlanOverlay, type OverlayPass } from './overlay.js';

export interface VxlanBackendDeps {
  /** The kernel to program; left open by stop() (the caller owns it). */
  netlink?: Netlink;
  /** Or a network namespace to open a handle in (closed by stop()). Default: our own namespace. */
  netns?: string;
  logger?: Logger;
  options?: Partial<VxlanOptions>;
}

export class VxlanBackend implements Backend {
  readonly type = 'vxlan' as const;
  readonly options: VxlanOptions;
  private readonly nl: Netlink;
  private readonly ownsNetlink: boolean;
  private readonly log: Logger;
  private overlays: VxlanOverlay[] = [];
  /** Reconciles run one at a time: two passes diffing the same kernel would fight. */
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(deps: VxlanBackendDeps = {}) {
    this.options = resolveVxlanOptions(deps.options);
    this.ownsNetlink = deps.netlink === undefined;
    this.nl = deps.netlink ?? Netlink.open(deps.netns !== undefined ? { netns: deps.netns } : {});
    this.log = deps.logger ?? rootLogger().child({ component: 'vxlan' });
  }

  async start(local: LocalNode): Promise<BackendStartResult> {
    const { vni, port, gbp, mtu, directRouting } = this.options;
    const overlay = (family: Family, publicIP: string): VxlanOverlay =>
      new VxlanOverlay(
        this.nl,
        { family, name: vxlanDeviceName(vni, family), vni, port, gbp, directRouting, local: publicIP, underlayIndex: local.underlay.index, mtu: vxlanDeviceMtu(local.underlay.mtu, family, mtu) },
        this.log.child({ family }),
      );
    this.overlays = [overlay(4, local.publicIP)];
    if (this.options.ipv6) {
      if (!local.publicIPv6) throw new Error('vxlan: dual stack asked for, but this node has no public IPv6 address');
      this.overlays.push(overlay(6, local.publicIPv6));
    }
    const devices = await Promise.all(this.overlays.map((o) => o.device.ensure()));
    const data = (i: number): VxlanBackendData => ({ VNI: vni, VtepMAC: devices[i]!.mac });
    // A pod has one interface for both families: it must fit the smaller of the two devices.
    const podMtu = Math.min(...devices.map((d) => d.mtu));
    this.log.info({ devices: this.overlays.map((o, i) => ({ name: o.spec.name, mac: devices[i]!.mac, mtu: devices[i]!.mtu, action: devices[i]!.action })) }, 'vxlan started');
    return { backendType: 'vxlan', backendData: data(0), ...(this.overlays[1] ? { backendV6Data: data(1) } : {}), mtu: podMtu };
  }

  async claim(lease: Lease): Promise<void> {
    const [v4, v6] = this.overlays;
    if (!v4) throw new Error('vxlan: claim() before start()');
    await v4.claim(networkOf(parseCidr(lease.subnet)).address);
    if (v6) {
      if (lease.ipv6Subnet) await v6.claim(networkOf(parseCidr(lease.ipv6Subnet)).address);
      else this.log.warn({ subnet: lease.subnet }, 'dual stack, but the lease has no IPv6 subnet: flannel-v6 carries no address');
    }
  }

  reconcile(remotes: RemoteNode[]): Promise<ReconcileReport> {
    if (this.overlays.length === 0) return Promise.reject(new Error('vxlan: reconcile() before start()'));
    if (this.stopped) return Promise.reject(new Error('vxlan: reconcile() after stop()'));
    const pass = this.running.then(() => this.pass(remotes));
    this.running = pass.catch(() => undefined);
    return pass;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    if (this.ownsNetlink) this.nl.close();
    this.log.info('vxlan stopped; device and entries left in place');
  }

  private async pass(remotes: RemoteNode[]): Promise<ReconcileReport> {
    const started = performance.now();
    const passes = await Promise.all(this.overlays.map((o) => o.reconcile(remotes)));
    const report: ReconcileReport = { nodes: [], added: 0, changed: 0, removed: 0, errors: 0, durationMs: 0 };
    for (const p of passes) {
      report.added += p.added;
      report.changed += p.changed;
      report.removed += p.removed;
      report.errors += p.errors;
    }
    report.nodes = remotes.map((node) => nodeReport(node, passes));
    report.durationMs = performance.now() - started;
    const failed = report.nodes.filter((n) => n.state === 'failed').length;
    const level = failed > 0 || report.errors > 0 ? 'warn' : report.added + report.changed + report.removed > 0 ? 'info' : 'debug';
    this.log[level]({ nodes: remotes.length, failed, added: report.added, changed: report.changed, removed: report.removed, errors: report.errors, ms: Math.round(report.durationMs) }, 'reconciled');
    return report;
  }
}

function nodeReport(node: RemoteNode, passes: OverlayPass[]): NodeReport {
  const base = { node: node.name, subnet: node.subnet };
  if (node.backendType !== 'vxlan') return { ...base, state: 'pending', reason: `node runs the ${node.backendType} backend, not vxlan` };
  const reasons: string[] = [];
  for (const p of passes) {
    const outcome = p.outcomes.get(node.name);
    if (outcome && !outcome.ok) reasons.push(p.family === 6 ? `ipv6 ${outcome.reason ?? 'failed'}` : (outcome.reason ?? 'failed'));
  }
  return reasons.length > 0 ? { ...base, state: 'failed', reason: reasons.join('; ') } : { ...base, state: 'programmed' };
}
