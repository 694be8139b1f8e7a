// The first-AS check (RFC 4271 §6.3) is on by default for external peers: once the OPENs are
// exchanged, the codec options the FSM gives the connection name the peer's AS, so an UPDATE whose
// AS_PATH does not start with it — an empty one above all, which would tie with an iBGP path and
// then win on "eBGP over iBGP" (found by test/e2e/hostile-bgp-routes.test.ts: a configured external
// peer took a node's podCIDR away from that node) — is treat-as-withdraw (RFC 7606 §7.2).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Fsm, type FsmConfig } from '../../src/bgp/fsm.js';
import { buildOpen } from '../../src/bgp/session.js';
import { ErrorAction, decodeMessage, type CodecOptions } from '../../src/bgp/wire/index.js';
import { FakeDialer, peerOpen } from '../helpers/bgp-fake-transport.js';

function optionsAfterOpen(peerAs: number, over: Partial<FsmConfig> = {}): CodecOptions | undefined {
  const dialer = new FakeDialer();
  const fsm = new Fsm(
    {
      peerAddress: '192.0.2.2',
      localAs: 65001,
      peerAs,
      routerId: '192.0.2.1',
      holdTime: 90,
      connectRetryTime: 120,
      openSentHoldTime: 240,
      passive: false,
      idleHoldTime: 1,
      idleHoldMaxTime: 8,
      idleHoldResetTime: 60,
      localOpen: buildOpen({ peerAddress: '192.0.2.2', localAs: 65001, peerAs, routerId: '192.0.2.1' }),
      ...over,
    },
    dialer,
  );
  fsm.start();
  const conn = dialer.connect();
  conn.receive(peerOpen({ myAs: peerAs }));
  return conn.options;
}

/** An UPDATE announcing 198.51.100.0/24 with the given AS_PATH attribute value (hex). */
function updateWithAsPath(asPathHex: string): Uint8Array {
  const attrs = `400101 00 4002${(asPathHex.length / 2).toString(16).padStart(2, '0')}${asPathHex} 400304c0000202`.replace(/ /g, '');
  const body = `0000 ${(attrs.length / 2).toString(16).padStart(4, '0')} ${attrs} 18c63364`.replace(/ /g, '');
  return Buffer.from(`${'ff'.repeat(16)}${(19 + body.length / 2).toString(16).padStart(4, '0')}02${body}`, 'hex');
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('first-AS check for external peers', () => {
  it('names the external peer\'s AS in the codec options once its OPEN is accepted', () => {
    expect(optionsAfterOpen(65002)?.peer).toEqual({ external: true, enforceFirstAs: 65002 });
  });

  it('makes an empty AS_PATH from that peer treat-as-withdraw, and its own AS first acceptable', () => {
    const options = optionsAfterOpen(65002)!;
    const empty = decodeMessage(updateWithAsPath(''), options)?.message;
    expect(empty?.type === 'update' && empty.errors?.action).toBe(ErrorAction.TreatAsWithdraw);
    // AS_SEQUENCE of one AS, 65002 (0x0000fdea).
    const prepended = decodeMessage(updateWithAsPath('02010000fdea'), options)?.message;
    expect(prepended?.type === 'update' && prepended.errors).toBeUndefined();
  });

  it('is off for internal peers (they do not prepend) and when configured off (a route server)', () => {
    expect(optionsAfterOpen(65001)?.peer).toEqual({ external: false });
    expect(optionsAfterOpen(65002, { enforceFirstAs: false })?.peer).toEqual({ external: true });
  });
});
