// The adapter between the speaker and the real Session: configuration mapping (graceful restart,
// timers, families) and event translation (Established capabilities, End-of-RIB, per-family
// updates with RFC 7606 treat-as-withdraw, route refresh), without sockets.
import { describe, expect, it } from 'vitest';
import type { Negotiated } from '../../src/bgp/negotiated.js';
import type { InboundUpdate, EstablishedInfo } from '../../src/bgp/rib/peer-session.js';
import { SessionAdapter, sessionConfigFor } from '../../src/bgp/rib/session-adapter.js';
import { endOfRibMessage } from '../../src/bgp/rib/wire-convert.js';
import { Session } from '../../src/bgp/session.js';
import type { SessionSpec } from '../../src/bgp/speaker.js';
import { ErrorAction, type OpenMessage } from '../../src/bgp/wire/index.js';
import { prefixKey } from '../../src/bgp/rib/prefix.js';

const spec: SessionSpec = {
  peer: { address: '192.0.2.11', asn: 65001, holdTime: 9, families: ['ipv4', 'ipv6'], connectRetryTime: 1, localAddress: '192.0.2.10' },
  localAsn: 65000,
  routerId: '192.0.2.10',
  gracefulRestart: { enabled: true, restartTime: 60, restarting: true, forwardingPreserved: true },
};

function adapter(): { session: Session; a: SessionAdapter } {
  const session = new Session(sessionConfigFor(spec), { dialer: { dial: () => ({ cancel: () => undefined }) } });
  return { session, a: new SessionAdapter(session, spec) };
}

describe('session adapter', () => {
  it('maps the peer configuration onto the Session', () => {
    expect(sessionConfigFor(spec)).toEqual({
      peerAddress: '192.0.2.11',
      peerAs: 65001,
      localAs: 65000,
      routerId: '192.0.2.10',
      holdTime: 9,
      localAddress: '192.0.2.10',
      families: ['ipv4', 'ipv6'],
      connectRetryTime: 1,
      gracefulRestart: { restartTime: 60, forwardingPreserved: true, restarting: true },
    });
    expect(sessionConfigFor({ ...spec, gracefulRestart: undefined }).gracefulRestart).toBeUndefined();
  });

  it('translates Established, updates, End-of-RIB, route refresh and down', () => {
    const { session, a } = adapter();
    const seen: unknown[] = [];
    a.on('established', (i: EstablishedInfo) => seen.push(['established', i]));
    a.on('update', (u: InboundUpdate) => seen.push(['update', u.afi, u.announce, u.withdraw, u.treatAsWithdraw]));
    a.on('endOfRib', (afi) => seen.push(['eor', afi]));
    a.on('routeRefresh', (afi) => seen.push(['refresh', afi]));
    a.on('down', (d) => seen.push(['down', d.graceful]));
    const negotiated: Negotiated = {
      peerAs: 65001,
      peerRouterId: '192.0.2.11',
      holdTime: 9,
      keepaliveTime: 3,
      fourOctetAs: true,
      extendedMessage: true,
      routeRefresh: true,
      enhancedRouteRefresh: false,
      families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }],
      gracefulRestart: { restartTime: 120, restarted: false, notification: false, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
      codec: { fourOctetAs: true, extendedMessage: true },
      remoteOpen: {} as OpenMessage,
      localAddress: '::ffff:192.0.2.10',
      remoteAddress: '192.0.2.11',
    };
    session.emit('established', negotiated);
    session.emit('update', { type: 'update', withdrawn: [prefixKey('198.18.0.0/24') as number], attributes: { origin: 0, asPath: [], nextHop: '192.0.2.11' }, nlri: [prefixKey('203.0.113.0/24') as number] }, ErrorAction.TreatAsWithdraw);
    session.emit('update', endOfRibMessage('ipv6'), ErrorAction.None);
    session.emit('routeRefresh', { type: 'routeRefresh', afi: 2, safi: 1, subtype: 0 });
    session.emit('down', { reason: 'hold-timer-expired' as never, detail: '', graceful: true });
    expect(seen).toEqual([
      [
        'established',
        {
          remoteRouterId: '192.0.2.11',
          remoteAsn: 65001,
          localAddress: '192.0.2.10',
          families: ['ipv4', 'ipv6'],
          extendedMessages: true,
          routeRefresh: true,
          gracefulRestart: { restartTime: 120, restarted: false, families: [{ afi: 'ipv4', forwardingPreserved: true }] },
        },
      ],
      ['update', 'ipv4', [prefixKey('203.0.113.0/24')], [prefixKey('198.18.0.0/24')], true],
      ['eor', 'ipv6'],
      ['refresh', 'ipv6'],
      ['down', true],
    ]);
  });
});
