// The BGP backend's facts (its details() for /status) as Prometheus series: per-peer state and
// prefix gauges, and the error counters an operator watches for a misbehaving or hostile peer —
// NOTIFICATIONs by direction and code, RFC 7606 actions on malformed UPDATEs, inbound connections
// refused before any session saw them. Series of peers that went away are removed.
import type { BackendDetails } from '../../modes/backend.js';
import type { DaemonMetrics } from './metrics.js';

type BgpDetails = NonNullable<BackendDetails['bgp']>;

/** Updates every BGP series from `bgp` (undefined: remove them all); returns the peers exported now. */
export function exportBgpMetrics(metrics: DaemonMetrics, bgp: BgpDetails | undefined, exportedBefore: ReadonlySet<string>): Set<string> {
  const { bgpPeerUp, bgpPeerPrefixes, bgpBfdUp } = metrics;
  const peers = bgp?.peers ?? [];
  const now = new Set<string>();
  for (const p of peers) {
    now.add(p.address);
    bgpPeerUp.set({ peer: p.address }, p.state === 'Established' ? 1 : 0);
    bgpPeerPrefixes.set({ peer: p.address, kind: 'received' }, p.prefixesReceived);
    bgpPeerPrefixes.set({ peer: p.address, kind: 'accepted' }, p.prefixesAccepted);
    bgpPeerPrefixes.set({ peer: p.address, kind: 'advertised' }, p.prefixesAdvertised);
    if (p.bfd) bgpBfdUp.set({ peer: p.address }, p.bfd.state === 'Up' ? 1 : 0);
    else bgpBfdUp.remove({ peer: p.address });
  }
  for (const peer of exportedBefore) {
    if (now.has(peer)) continue;
    bgpPeerUp.remove({ peer });
    bgpBfdUp.remove({ peer });
    for (const kind of ['received', 'accepted', 'advertised']) bgpPeerPrefixes.remove({ peer, kind });
  }

  metrics.bgpNotifications.update(
    peers.flatMap((p) =>
      (['sent', 'received'] as const).flatMap((direction) =>
        Object.entries((direction === 'sent' ? p.notificationsSent : p.notificationsReceived) ?? {}).map(([codeSubcode, n]) => {
          const [code = '', subcode = ''] = codeSubcode.split('/');
          return [{ peer: p.address, direction, code, subcode }, n] as const;
        }),
      ),
    ),
  );
  metrics.bgpUpdateErrors.update(
    peers.flatMap((p) =>
      p.updateErrors
        ? ([
            [{ peer: p.address, action: 'treat-as-withdraw' }, p.updateErrors.treatAsWithdraw],
            [{ peer: p.address, action: 'attribute-discard' }, p.updateErrors.attributeDiscard],
          ] as const)
        : [],
    ),
  );
  const rejected = bgp?.connectionsRejected;
  metrics.bgpConnectionsRejected.update(
    rejected
      ? ([
          [{ reason: 'unconfigured-address' }, rejected.unconfiguredAddress],
          [{ reason: 'peer-busy' }, rejected.peerBusy],
          [{ reason: 'accept-error' }, rejected.acceptError],
        ] as const)
      : [],
  );
  return now;
}
