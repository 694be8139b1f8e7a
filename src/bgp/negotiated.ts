// What two OPENs agree on (RFC 4271 §4.2 hold time; RFC 5492 capabilities: RFC 4760 families,
// RFC 6793 4-octet AS, RFC 2918/7313 route refresh, RFC 8654 extended messages, RFC 4724 graceful
// restart) and the codec options that follow from it. Pure: the FSM calls it when the peer's OPEN
// is accepted; the session exposes the result as `negotiated`.
import { AFI_IPV4, SAFI_UNICAST, negotiateOptions, type AfiSafi, type CodecOptions, type OpenMessage } from './wire/index.js';

export interface NegotiatedGracefulRestart {
  /** The peer's restart time, seconds. */
  restartTime: number;
  /** R bit: the peer has just restarted. */
  restarted: boolean;
  /** N bit (RFC 8538). */
  notification: boolean;
  families: { afi: number; safi: number; forwardingPreserved: boolean }[];
}

export interface Negotiated {
  peerAs: number;
  peerRouterId: string;
  /** min(ours, theirs) seconds; 0 = no hold timer and no keepalives. */
  holdTime: number;
  keepaliveTime: number;
  fourOctetAs: boolean;
  extendedMessage: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** Families both sides announced (RFC 4760 §8: none announced at all means IPv4 unicast). */
  families: AfiSafi[];
  /** The peer's graceful-restart capability, when both sides sent one. */
  gracefulRestart: NegotiatedGracefulRestart | undefined;
  /** Codec options for messages in both directions. */
  codec: CodecOptions;
  /** The peer's OPEN as received. */
  remoteOpen: OpenMessage;
  /**
   * Addresses of the connection the session runs on (our side is the usual next hop). Always set
   * by the FSM; optional only so hand-built values in tests need not invent them.
   */
  localAddress?: string;
  remoteAddress?: string;
}

function families(open: OpenMessage): AfiSafi[] {
  const mp = open.capabilities.flatMap((c) => (c.kind === 'multiprotocol' ? [{ afi: c.afi, safi: c.safi }] : []));
  return mp.length > 0 ? mp : [{ afi: AFI_IPV4, safi: SAFI_UNICAST }];
}

export function negotiate(local: OpenMessage, remote: OpenMessage, keepaliveTime: number | undefined, addresses = { localAddress: '', remoteAddress: '' }): Negotiated {
  const holdTime = Math.min(local.holdTime, remote.holdTime);
  // RFC 4271 §10: keepalive one third of the hold time, never above it; 0 when hold is 0.
  const keepalive = holdTime === 0 ? 0 : Math.max(1, Math.min(keepaliveTime ?? Math.floor(holdTime / 3), Math.floor(holdTime / 3)));
  const has = (o: OpenMessage, kind: string): boolean => o.capabilities.some((c) => c.kind === kind);
  const theirs = families(remote);
  const common = families(local).filter((f) => theirs.some((t) => t.afi === f.afi && t.safi === f.safi));
  const gr = remote.capabilities.find((c) => c.kind === 'gracefulRestart');
  return {
    peerAs: remote.myAs,
    peerRouterId: remote.bgpId,
    holdTime,
    keepaliveTime: keepalive,
    fourOctetAs: has(local, 'fourOctetAs') && has(remote, 'fourOctetAs'),
    extendedMessage: has(local, 'extendedMessage') && has(remote, 'extendedMessage'),
    routeRefresh: has(local, 'routeRefresh') && has(remote, 'routeRefresh'),
    enhancedRouteRefresh: has(local, 'enhancedRouteRefresh') && has(remote, 'enhancedRouteRefresh'),
    families: common,
    gracefulRestart:
      gr?.kind === 'gracefulRestart' && has(local, 'gracefulRestart')
        ? { restartTime: gr.restartTime, restarted: (gr.restartFlags & 0x8) !== 0, notification: (gr.restartFlags & 0x4) !== 0, families: gr.families }
        : undefined,
    codec: negotiateOptions(local, remote, { external: remote.myAs !== local.myAs }),
    remoteOpen: remote,
    localAddress: addresses.localAddress,
    remoteAddress: addresses.remoteAddress,
  };
}
