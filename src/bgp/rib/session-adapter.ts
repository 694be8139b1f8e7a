// The speaker's PeerSession port over the real Session (src/bgp/session.ts): translates the
// session's events and negotiated capabilities into RIB terms (families, End-of-RIB per RFC 4724,
// per-family updates with the RFC 7606 treat-as-withdraw outcome) and the speaker's packed
// Adj-RIB-Out UPDATEs into codec messages. Also builds a Session from a peer's configuration.
// It holds no routing state of its own.
import { EventEmitter } from 'node:events';
import type { Negotiated } from '../negotiated.js';
import { Session, type SessionConfig, type SessionDeps } from '../session.js';
import { AFI_IPV4, AFI_IPV6, ErrorAction, ROUTE_REFRESH_NORMAL, SAFI_UNICAST } from '../wire/index.js';
import type { SessionSpec } from '../speaker.js';
import type { OutboundUpdate } from './adj-rib-out.js';
import type { EstablishedInfo, PeerErrorCounts, PeerSession, PeerSessionEvents } from './peer-session.js';
import type { Afi } from './prefix.js';
import { endOfRibFamily, endOfRibMessage, inboundFromWire, outboundToWire } from './wire-convert.js';

function afiOf(afi: number, safi: number): Afi | undefined {
  if (safi !== SAFI_UNICAST) return undefined;
  return afi === AFI_IPV4 ? 'ipv4' : afi === AFI_IPV6 ? 'ipv6' : undefined;
}

/** The Session configuration for a speaker's peer. */
export function sessionConfigFor(spec: SessionSpec): SessionConfig {
  const p = spec.peer;
  const gr = spec.gracefulRestart;
  const c: SessionConfig = { peerAddress: p.address, peerAs: p.asn, localAs: spec.localAsn, routerId: spec.routerId };
  if (p.port !== undefined) c.port = p.port;
  if (p.passive !== undefined) c.passive = p.passive;
  if (p.holdTime !== undefined) c.holdTime = p.holdTime;
  if (p.password !== undefined) c.password = p.password;
  if (p.ttlSecurity !== undefined) c.ttlSecurity = p.ttlSecurity;
  if (p.multihop !== undefined) c.multihop = p.multihop;
  if (p.keepaliveTime !== undefined) c.keepaliveTime = p.keepaliveTime;
  if (p.localAddress !== undefined) c.localAddress = p.localAddress;
  if (p.families !== undefined) c.families = p.families;
  if (p.connectRetryTime !== undefined) c.connectRetryTime = p.connectRetryTime;
  if (p.idleHoldTime !== undefined) c.idleHoldTime = p.idleHoldTime;
  if (gr?.enabled) c.gracefulRestart = { restartTime: gr.restartTime ?? 120, forwardingPreserved: gr.forwardingPreserved === true, restarting: gr.restarting === true };
  return c;
}

export class SessionAdapter extends EventEmitter<PeerSessionEvents> implements PeerSession {
  constructor(
    readonly session: Session,
    private readonly spec: SessionSpec,
  ) {
    super();
    session.on('stateChange', (c) => this.emit('state', c.to));
    session.on('established', (n) => this.emit('established', this.established(n)));
    session.on('down', (d) => this.emit('down', { reason: d.detail ? `${d.reason}: ${d.detail}` : d.reason, graceful: d.graceful }));
    session.on('update', (u, outcome) => {
      const eor = endOfRibFamily(u);
      if (eor !== undefined) {
        this.emit('endOfRib', eor);
        return;
      }
      for (const update of inboundFromWire(u, { treatAsWithdraw: outcome === ErrorAction.TreatAsWithdraw })) this.emit('update', update);
    });
    session.on('routeRefresh', (m) => {
      const afi = afiOf(m.afi, m.safi);
      if (afi !== undefined && m.subtype === ROUTE_REFRESH_NORMAL) this.emit('routeRefresh', afi);
    });
  }

  errorCounts(): PeerErrorCounts {
    const { notificationsSent, notificationsReceived, updateErrors } = this.session.stats;
    return { notificationsSent, notificationsReceived, updateErrors };
  }

  /** A factory for Speaker's `createSession`: real Sessions sharing `deps` (listener, dialer…). */
  static factory(deps: SessionDeps = {}): (spec: SessionSpec) => PeerSession {
    return (spec) => new SessionAdapter(new Session(sessionConfigFor(spec), deps), spec);
  }

  private established(n: Negotiated): EstablishedInfo {
    const families = n.families.map((f) => afiOf(f.afi, f.safi)).filter((f): f is Afi => f !== undefined);
    const gr = n.gracefulRestart;
    return {
      remoteRouterId: n.peerRouterId,
      remoteAsn: n.peerAs,
      // Our end of the connection: the next hop we advertise unless configured otherwise.
      localAddress: (n.localAddress || this.spec.peer.localAddress || '').replace(/^::ffff:/, ''),
      families,
      extendedMessages: n.extendedMessage,
      routeRefresh: n.routeRefresh,
      gracefulRestart: gr
        ? {
            restartTime: gr.restartTime,
            restarted: gr.restarted,
            families: gr.families.flatMap((f) => {
              const afi = afiOf(f.afi, f.safi);
              return afi ? [{ afi, forwardingPreserved: f.forwardingPreserved }] : [];
            }),
          }
        : undefined,
    };
  }

  start(): void {
    this.session.start();
  }

  stop(): Promise<void> {
    return this.session.stop();
  }

  send(updates: OutboundUpdate[]): void {
    for (const u of updates) this.session.send(outboundToWire(u));
  }

  sendEndOfRib(afi: Afi): void {
    this.session.send(endOfRibMessage(afi));
  }

  sendRouteRefresh(afi: Afi): void {
    this.session.sendRouteRefresh(afi);
  }

  reset(code: number, subcode: number, data: Uint8Array): void {
    this.session.reset(code, subcode, data);
  }
}
