// The daemon's Prometheus metrics (prom-client, `weft_` prefix), on one Registry per daemon so
// tests and several daemons in one process never collide. The registry implementations register
// their skip counter on the same Registry (passed to them as `metrics`).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CounterMirror } from './counter-mirror.js';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly remoteNodesKnown = new Gauge({ name: 'weft_remote_nodes_known', help: 'Remote nodes in the latest registry snapshot.', registers: [this.registry] });
  readonly remoteNodesProgrammed = new Gauge({ name: 'weft_remote_nodes_programmed', help: 'Remote nodes whose kernel entries are all in place.', registers: [this.registry] });
  readonly reconcileDuration = new Histogram({
    name: 'weft_reconcile_duration_seconds',
    help: 'Duration of one reconcile pass (dump, diff, apply).',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconciles = new Counter({ name: 'weft_reconciles_total', help: 'Reconcile passes, by trigger and result.', labelNames: ['trigger', 'result'], registers: [this.registry] });
  readonly kernelWriteErrors = new Counter({ name: 'weft_kernel_write_errors_total', help: 'Kernel writes (netlink) that failed.', registers: [this.registry] });
  readonly kernelEntriesChanged = new Counter({ name: 'weft_kernel_entries_changed_total', help: 'Kernel entries written by reconciles, by kind of change.', labelNames: ['change'], registers: [this.registry] });
  readonly snapshots = new Counter({ name: 'weft_registry_snapshots_total', help: 'Registry snapshots received.', registers: [this.registry] });
  readonly bgpPeerUp = new Gauge({ name: 'weft_bgp_peer_up', help: 'BGP backend: 1 when the session with the peer is Established, else 0.', labelNames: ['peer'], registers: [this.registry] });
  readonly bgpBfdUp = new Gauge({ name: 'weft_bgp_peer_bfd_up', help: 'BGP backend: 1 when the BFD session with the peer is Up, else 0 (peers with BFD only).', labelNames: ['peer'], registers: [this.registry] });
  readonly bgpPeerPrefixes = new Gauge({ name: 'weft_bgp_peer_prefixes', help: 'BGP backend: prefixes per peer (both families), by kind (received, accepted, advertised).', labelNames: ['peer', 'kind'], registers: [this.registry] });
  // Hostile or broken BGP input, each counted where bgp-ts keeps the total (session, listener).
  readonly bgpNotifications = new CounterMirror(
    new Counter({ name: 'weft_bgp_notifications_total', help: 'BGP backend: NOTIFICATION messages per peer, by direction (sent, received) and RFC 4271 error code and subcode.', labelNames: ['peer', 'direction', 'code', 'subcode'], registers: [this.registry] }),
  );
  readonly bgpUpdateErrors = new CounterMirror(
    new Counter({ name: 'weft_bgp_update_errors_total', help: 'BGP backend: malformed UPDATEs a peer sent that RFC 7606 handled without a reset, by action (treat-as-withdraw, attribute-discard).', labelNames: ['peer', 'action'], registers: [this.registry] }),
  );
  readonly bgpConnectionsRejected = new CounterMirror(
    new Counter({ name: 'weft_bgp_connections_rejected_total', help: 'BGP backend: inbound TCP connections closed before a session saw them, by reason (unconfigured-address, peer-busy, accept-error).', labelNames: ['reason'], registers: [this.registry] }),
  );
  readonly ready = new Gauge({ name: 'weft_ready', help: '1 when every known remote node is programmed and the CNI files are written.', registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'weft_' });
  }
}
