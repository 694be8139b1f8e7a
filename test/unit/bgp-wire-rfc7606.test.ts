// RFC 7606 revised UPDATE error handling: each attribute rule of §7 (and RFC 6793 §6, RFC 8092
// §6) and the general rules of §3–§5, asserting the outcome — attribute discard (the attribute is
// gone, routes stay), treat-as-withdraw (the UPDATE's routes are to be withdrawn) or session reset
// (a BgpError is thrown) — and that an UPDATE keeps the strongest.
import { describe, expect, it } from 'vitest';
import { BgpError, decodeMessage, ErrorAction, type CodecOptions, type UpdateMessage } from '../../src/bgp/wire/index.js';
import { MANDATORY4, updateBytes } from '../fixtures/bgp/messages.js';

const IBGP: CodecOptions = { fourOctetAs: true, extendedMessage: false, peer: { external: false } };
const EBGP: CodecOptions = { fourOctetAs: true, extendedMessage: false, peer: { external: true } };
const OLD: CodecOptions = { fourOctetAs: false, extendedMessage: false };

type Outcome = 'none' | 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';
const NAMES: Outcome[] = ['none', 'attribute-discard', 'treat-as-withdraw', 'session-reset'];

function outcome(bytes: Buffer, o: CodecOptions = IBGP): { outcome: Outcome; m?: UpdateMessage; subcode?: number } {
  try {
    const m = decodeMessage(bytes, o)?.message;
    if (m?.type !== 'update') throw new Error('not an UPDATE');
    return { outcome: NAMES[m.errors?.action ?? ErrorAction.None] ?? 'none', m, subcode: m.errors?.problems[0]?.subcode };
  } catch (e) {
    if (e instanceof BgpError) return { outcome: 'session-reset', subcode: e.subcode };
    throw e;
  }
}

const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde9';
const NEXT_HOP = '40 03 04 c0000201';

describe('RFC 7606 §7: per-attribute rules', () => {
  const rules: [string, string, Outcome, CodecOptions?][] = [
    ['§7.1 ORIGIN of length 2', `40 01 02 0000 ${AS_PATH} ${NEXT_HOP}`, 'treat-as-withdraw'],
    ['§7.1 ORIGIN of undefined value', `40 01 01 03 ${AS_PATH} ${NEXT_HOP}`, 'treat-as-withdraw'],
    ['§7.2 AS_PATH with an unknown segment type', `${ORIGIN} 40 02 06 07 01 0000fde9 ${NEXT_HOP}`, 'treat-as-withdraw'],
    ['§7.2 AS_PATH with a zero-length segment', `${ORIGIN} 40 02 02 02 00 ${NEXT_HOP}`, 'treat-as-withdraw'],
    ['§7.2 AS_PATH segment overrunning the attribute', `${ORIGIN} 40 02 06 02 02 0000fde9 ${NEXT_HOP}`, 'treat-as-withdraw'],
    ['§7.2 AS_PATH with confederation segments from an external peer', `${ORIGIN} 40 02 06 03 01 0000fde9 ${NEXT_HOP}`, 'treat-as-withdraw', EBGP],
    ['§7.2 AS_PATH not starting with the external peer\'s AS (first-AS check on)', `${ORIGIN} 40 02 06 02 01 0000fdea ${NEXT_HOP}`, 'treat-as-withdraw', { ...EBGP, peer: { external: true, enforceFirstAs: 65001 } }],
    ['§7.2 AS_PATH starting with the external peer\'s AS (first-AS check on)', `${ORIGIN} ${AS_PATH} ${NEXT_HOP}`, 'none', { ...EBGP, peer: { external: true, enforceFirstAs: 65001 } }],
    ['§7.3 NEXT_HOP of length 5', `${ORIGIN} ${AS_PATH} 40 03 05 c000020100`, 'treat-as-withdraw'],
    ['§7.3 NEXT_HOP 0.0.0.0', `${ORIGIN} ${AS_PATH} 40 03 04 00000000`, 'treat-as-withdraw'],
    ['§7.4 MULTI_EXIT_DISC of length 3', `${MANDATORY4} 80 04 03 000000`, 'treat-as-withdraw'],
    ['§7.5 LOCAL_PREF of length 2', `${MANDATORY4} 40 05 02 0064`, 'treat-as-withdraw'],
    ['§7.5 LOCAL_PREF from an external peer', `${MANDATORY4} 40 05 04 00000064`, 'attribute-discard', EBGP],
    ['§7.6 ATOMIC_AGGREGATE of length 1', `${MANDATORY4} 40 06 01 00`, 'attribute-discard'],
    ['§7.7 AGGREGATOR of length 7', `${MANDATORY4} c0 07 07 0000fde9 c00002`, 'attribute-discard'],
    ['§7.7 AGGREGATOR of AS 0 (RFC 7607)', `${MANDATORY4} c0 07 08 00000000 c0000201`, 'attribute-discard'],
    ['§7.8 COMMUNITIES of length 5', `${MANDATORY4} c0 08 05 ffffff0100`, 'treat-as-withdraw'],
    ['§7.8 COMMUNITIES of length 0', `${MANDATORY4} c0 08 00`, 'treat-as-withdraw'],
    ['§7.9 ORIGINATOR_ID of length 3', `${MANDATORY4} 80 09 03 c00002`, 'treat-as-withdraw'],
    ['§7.9 ORIGINATOR_ID from an external peer', `${MANDATORY4} 80 09 04 c0000201`, 'attribute-discard', EBGP],
    ['§7.10 CLUSTER_LIST of length 6', `${MANDATORY4} 80 0a 06 c0000201 0000`, 'treat-as-withdraw'],
    ['§7.10 CLUSTER_LIST from an external peer', `${MANDATORY4} 80 0a 04 c0000201`, 'attribute-discard', EBGP],
    ['§7.11 MP_REACH_NLRI with an IPv6 next hop of 8 octets', `80 0e 0d 0002 01 08 20010db800000000 00 ${MANDATORY4}`, 'session-reset'],
    ['§7.11 MP_REACH_NLRI with malformed NLRI', `80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81 ${ORIGIN} ${AS_PATH}`, 'session-reset'],
    ['§7.11 MP_REACH_NLRI shorter than its fixed fields', `80 0e 02 0002 ${MANDATORY4}`, 'session-reset'],
    ['§7.12 MP_UNREACH_NLRI with malformed NLRI', `80 0f 05 0002 01 40 20`, 'session-reset'],
    ['RFC 8092 §6 LARGE_COMMUNITY of length 13', `${MANDATORY4} c0 20 0d ${'00'.repeat(13)}`, 'treat-as-withdraw'],
    ['RFC 6793 §6 AS4_AGGREGATOR of length 6 (2-octet session)', `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 12 06 0000fde9 c000`, 'attribute-discard', OLD],
    ['RFC 6793 §6 malformed AS4_PATH (2-octet session)', `${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 11 03 02 01 00`, 'attribute-discard', OLD],
  ];
  for (const [name, attrs, want, o] of rules) {
    it(`${name} → ${want}`, () => {
      const nlri = attrs.includes('80 0e') || attrs.includes('80 0f') ? '' : '18 0a0000';
      expect(outcome(updateBytes(attrs, nlri), o).outcome).toBe(want);
    });
  }

  it('attribute discard drops the attribute and keeps the routes', () => {
    const { m } = outcome(updateBytes(`${MANDATORY4} 40 06 01 00 80 04 04 00000005`));
    expect(m?.attributes.atomicAggregate).toBeUndefined();
    expect(m?.attributes.med).toBe(5);
    expect(m?.nlri.length).toBe(1);
  });

  it('a malformed AS4_PATH leaves the 2-octet AS_PATH in place', () => {
    const { m } = outcome(updateBytes(`${ORIGIN} 40 02 04 02 01 fde9 ${NEXT_HOP} c0 11 03 02 01 00`), OLD);
    expect(m?.attributes.asPath).toEqual([{ type: 'sequence', asns: [65001] }]);
  });

  it('AS4_PATH from a 4-octet speaker is ignored, not an error', () => {
    const { outcome: o, m } = outcome(updateBytes(`${MANDATORY4} c0 11 06 02 01 0000fdea`));
    expect(o).toBe('none');
    expect(m?.attributes.asPath).toEqual([{ type: 'sequence', asns: [65001] }]);
  });

  it('duplicate large communities are removed silently (RFC 8092 §5)', () => {
    const c = '0000fde9 00000001 00000002';
    const { outcome: o, m } = outcome(updateBytes(`${MANDATORY4} c0 20 18 ${c} ${c}`));
    expect(o).toBe('none');
    expect(m?.attributes.largeCommunities).toEqual([[65001, 1, 2]]);
  });
});

describe('RFC 7606 §3–§5: general rules', () => {
  it('§3 c: conflicting Optional/Transitive flags make the attribute malformed (its own action)', () => {
    expect(outcome(updateBytes(`c0 01 01 00 ${AS_PATH} ${NEXT_HOP}`)).outcome).toBe('treat-as-withdraw'); // ORIGIN marked optional
    expect(outcome(updateBytes(`${MANDATORY4} 40 07 08 0000fde9 c0000201`)).outcome).toBe('attribute-discard'); // AGGREGATOR marked well-known
  });

  it('§3 d: a missing well-known mandatory attribute is treat-as-withdraw, only when announcing', () => {
    expect(outcome(updateBytes(`${ORIGIN} ${AS_PATH}`)).outcome).toBe('treat-as-withdraw'); // NEXT_HOP missing
    expect(outcome(updateBytes('', '', '18 0a0000')).outcome).toBe('none'); // withdraw only
    // MP_REACH alone needs no NEXT_HOP.
    expect(outcome(updateBytes(`80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8 ${ORIGIN} ${AS_PATH}`, '')).outcome).toBe('none');
  });

  it('§3 g: a repeated attribute keeps the first occurrence; a repeated MP_REACH resets', () => {
    const { outcome: o, m } = outcome(updateBytes(`${MANDATORY4} 80 04 04 00000001 80 04 04 00000002`));
    expect(o).toBe('attribute-discard');
    expect(m?.attributes.med).toBe(1);
    const mp = '80 0f 03 0002 01';
    const r = outcome(updateBytes(`${mp} ${mp}`, ''));
    expect([r.outcome, r.subcode]).toEqual(['session-reset', 1]);
  });

  it('§3: the strongest action of several problems wins', () => {
    // ATOMIC_AGGREGATE malformed (discard) + MED malformed (treat-as-withdraw).
    const { outcome: o, m } = outcome(updateBytes(`${MANDATORY4} 40 06 01 00 80 04 02 0000`));
    expect(o).toBe('treat-as-withdraw');
    expect(m?.errors?.problems.map((p) => p.action)).toEqual([ErrorAction.AttributeDiscard, ErrorAction.TreatAsWithdraw]);
    // ... and a session reset beats everything.
    expect(outcome(updateBytes(`${MANDATORY4} 40 06 01 00 40 63 00`)).outcome).toBe('session-reset');
  });

  it('§4: an attribute overrunning the list is treat-as-withdraw once the MP attribute was located, else a reset', () => {
    expect(outcome(updateBytes(`${MANDATORY4} 80 04 09 000000`)).outcome).toBe('session-reset');
    const mp = '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8';
    expect(outcome(updateBytes(`${mp} ${ORIGIN} ${AS_PATH} 80 04 09 00`, '')).outcome).toBe('treat-as-withdraw');
  });

  it('§5.3: NLRI and withdrawn-routes length errors reset the session', () => {
    expect(outcome(updateBytes(MANDATORY4, '19 0a0000')).outcome).toBe('session-reset'); // /25 needs 4 octets, 3 follow
    expect(outcome(updateBytes(MANDATORY4, '21 0a000000')).outcome).toBe('session-reset'); // /33
    expect(outcome(updateBytes(MANDATORY4, '18 0a00')).outcome).toBe('session-reset');
    expect(outcome(updateBytes('', '', '30 0a')).outcome).toBe('session-reset');
  });

  it('unknown attributes: optional transitive kept with Partial, optional non-transitive dropped, well-known reset', () => {
    const { m } = outcome(updateBytes(`${MANDATORY4} c0 63 01 07 80 64 01 08`));
    expect(m?.attributes.unknown).toEqual([{ flags: 0xe0, type: 0x63, value: Uint8Array.of(7) }]);
    expect(outcome(updateBytes(`${MANDATORY4} 40 63 01 07`)).outcome).toBe('session-reset');
  });
});
