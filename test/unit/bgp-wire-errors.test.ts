// RFC 4271 §6.1–6.6 error cases of the codec, each asserting the exact NOTIFICATION code,
// subcode and data; plus RFC 7313 ROUTE-REFRESH errors and OPEN validation (validate-open.ts).
import { describe, expect, it } from 'vitest';
import {
  BgpError,
  decodeMessage,
  encodeMessage,
  ErrorAction,
  ERR_FSM,
  ERR_HOLD_TIMER_EXPIRED,
  FSM_UNEXPECTED_IN_OPENSENT,
  validateOpen,
  type CodecOptions,
  type OpenMessage,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';
import { FIXTURES, MANDATORY4, MARKER, hex, updateBytes } from '../fixtures/bgp/messages.js';

const O: CodecOptions = { fourOctetAs: true, extendedMessage: false };

function error(bytes: Uint8Array, o: CodecOptions = O): { code: number; subcode: number; data: string } {
  try {
    decodeMessage(bytes, o);
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    return { code: e.code, subcode: e.subcode, data: Buffer.from(e.data).toString('hex') };
  }
  throw new Error('decoded without error');
}

function decoded(bytes: Uint8Array, o: CodecOptions = O): UpdateMessage {
  const m = decodeMessage(bytes, o)?.message;
  if (m?.type !== 'update') throw new Error('not an UPDATE');
  return m;
}

describe('§6.1 message header errors', () => {
  it('marker not all ones → Connection Not Synchronized', () => {
    expect(error(hex(`${'ff'.repeat(8)}00${'ff'.repeat(7)} 0013 04`))).toEqual({ code: 1, subcode: 1, data: '' });
  });
  it('length below 19 → Bad Message Length with the length field', () => {
    expect(error(hex(`${MARKER} 0012 04`))).toEqual({ code: 1, subcode: 2, data: '0012' });
  });
  it('length above 4096 → Bad Message Length; allowed with extended messages', () => {
    const big = Buffer.concat([hex(`${MARKER} 1001 02 0000 0000`), Buffer.alloc(4097 - 23)]);
    expect(error(big)).toEqual({ code: 1, subcode: 2, data: '1001' });
    // 4074 NLRI octets of 0.0.0.0/0 without attributes: decodes, to be treated as withdrawn.
    const m = decoded(big, { ...O, extendedMessage: true });
    expect([m.nlri.length, m.errors?.action]).toEqual([4074, ErrorAction.TreatAsWithdraw]);
  });
  it('length wrong for the type → Bad Message Length', () => {
    expect(error(hex(`${MARKER} 0014 04 00`))).toEqual({ code: 1, subcode: 2, data: '0014' }); // KEEPALIVE of 20
    expect(error(hex(`${MARKER} 001c 01 ${'00'.repeat(9)}`))).toEqual({ code: 1, subcode: 2, data: '001c' }); // OPEN of 28
    expect(error(hex(`${MARKER} 0016 02 000000`))).toEqual({ code: 1, subcode: 2, data: '0016' }); // UPDATE of 22
    expect(error(hex(`${MARKER} 0014 03 06`))).toEqual({ code: 1, subcode: 2, data: '0014' }); // NOTIFICATION of 20 (§6.4)
    // An OPEN may not use extended messages (RFC 8654 §3).
    expect(error(Buffer.concat([hex(`${MARKER} 1001 01`), Buffer.alloc(4097 - 19)]), { ...O, extendedMessage: true })).toEqual({ code: 1, subcode: 2, data: '1001' });
  });
  it('unknown type → Bad Message Type with the type octet', () => {
    expect(error(hex(`${MARKER} 0013 06`))).toEqual({ code: 1, subcode: 3, data: '06' });
  });
});

const OPEN: OpenMessage = { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '192.0.2.1', capabilities: [{ kind: 'fourOctetAs', asn: 65001 }] };

describe('§6.2 OPEN message errors', () => {
  it('unsupported version → data is the largest version we support', () => {
    const e = validateOpen({ ...OPEN, version: 3 });
    expect([e?.code, e?.subcode, Buffer.from(e?.data ?? []).toString('hex')]).toEqual([2, 1, '0004']);
  });
  it('bad peer AS', () => {
    expect(validateOpen(OPEN, { peerAs: 65002 })).toMatchObject({ code: 2, subcode: 2 });
    expect(validateOpen(OPEN, { peerAs: [65002, 65001] })).toBeUndefined();
    expect(validateOpen({ ...OPEN, myAs: 0 })).toMatchObject({ code: 2, subcode: 2 });
    expect(validateOpen({ ...OPEN, myAs: 23456 })).toMatchObject({ code: 2, subcode: 2 });
  });
  it('bad BGP identifier', () => {
    expect(validateOpen({ ...OPEN, bgpId: '0.0.0.0' })).toMatchObject({ code: 2, subcode: 3 });
    expect(validateOpen(OPEN, { localAs: 65001, localBgpId: '192.0.2.1' })).toMatchObject({ code: 2, subcode: 3 });
    expect(validateOpen(OPEN, { localAs: 65000, localBgpId: '192.0.2.1' })).toBeUndefined();
  });
  it('unsupported optional parameter (type 1, authentication) → subcode 4, parsing', () => {
    expect(error(hex(`${MARKER} 001f 01 04 fde9 005a c0000201 02 01 00`))).toEqual({ code: 2, subcode: 4, data: '' });
  });
  it('unacceptable hold time: 1 and 2 refused, 0 and 3 accepted', () => {
    expect(validateOpen({ ...OPEN, holdTime: 1 })).toMatchObject({ code: 2, subcode: 6 });
    expect(validateOpen({ ...OPEN, holdTime: 2 })).toMatchObject({ code: 2, subcode: 6 });
    expect(validateOpen({ ...OPEN, holdTime: 0 })).toBeUndefined();
    expect(validateOpen({ ...OPEN, holdTime: 3 })).toBeUndefined();
  });
  it('unsupported (required but missing) capability → subcode 7', () => {
    expect(validateOpen({ ...OPEN, capabilities: [] }, { requiredCapabilities: [{ kind: 'fourOctetAs', asn: 0 }] })).toMatchObject({ code: 2, subcode: 7 });
  });
  it('malformed OPEN bodies are OPEN Message Errors, not header errors', () => {
    // Optional Parameters Length 5 but 3 octets follow.
    expect(error(hex(`${MARKER} 0020 01 04 fde9 005a c0000201 05 02 01 00`))).toEqual({ code: 2, subcode: 0, data: '' });
    // Capability length overruns its parameter.
    expect(error(hex(`${MARKER} 0021 01 04 fde9 005a c0000201 04 02 02 41 04`))).toEqual({ code: 2, subcode: 0, data: '' });
    // 4-octet AS capability of 2 octets.
    expect(error(hex(`${MARKER} 0023 01 04 fde9 005a c0000201 06 02 04 41 02 0001`))).toEqual({ code: 2, subcode: 0, data: '' });
  });
  it('unknown capabilities are kept, not refused (RFC 5492)', () => {
    const m = decodeMessage(hex(`${MARKER} 0023 01 04 fde9 005a c0000201 06 02 04 99 02 abcd`), O)?.message;
    expect(m).toMatchObject({ type: 'open', capabilities: [{ kind: 'unknown', code: 0x99, value: Uint8Array.from([0xab, 0xcd]) }] });
  });
});

describe('§6.3 UPDATE message errors', () => {
  it('Withdrawn Routes Length too large → Malformed Attribute List', () => {
    expect(error(hex(`${MARKER} 0017 02 0010 0000`))).toEqual({ code: 3, subcode: 1, data: '' });
  });
  it('Total Path Attribute Length too large → Malformed Attribute List', () => {
    expect(error(hex(`${MARKER} 0018 02 0000 0002 40`))).toEqual({ code: 3, subcode: 1, data: '' });
  });
  it('unrecognized well-known attribute → subcode 2 with the attribute', () => {
    expect(error(updateBytes(`${MANDATORY4} 40 63 02 abcd`))).toEqual({ code: 3, subcode: 2, data: '406302abcd' });
  });
  it('missing well-known attribute → subcode 3 with the type code (treat-as-withdraw, RFC 7606 §3 d)', () => {
    const m = decoded(updateBytes('40 01 01 00   40 02 00'));
    expect(m.errors?.action).toBe(ErrorAction.TreatAsWithdraw);
    expect(m.errors?.problems.map((p) => [p.code, p.subcode, Buffer.from(p.data).toString('hex')])).toEqual([[3, 3, '03']]);
  });
  it('attribute flags error → subcode 4 with the attribute', () => {
    const m = decoded(updateBytes('c0 01 01 00   40 02 00   40 03 04 c0000201'));
    expect(m.errors?.problems.map((p) => [p.subcode, Buffer.from(p.data).toString('hex')])).toEqual([[4, 'c0010100']]);
  });
  it('attribute length error → subcode 5 with the attribute', () => {
    const m = decoded(updateBytes(`${MANDATORY4} 80 04 03 000001`));
    expect(m.errors?.problems[0]).toMatchObject({ code: 3, subcode: 5, data: Uint8Array.from([0x80, 4, 3, 0, 0, 1]) });
  });
  it('invalid ORIGIN → subcode 6 with the attribute', () => {
    const m = decoded(updateBytes('40 01 01 07   40 02 00   40 03 04 c0000201'));
    expect(m.errors?.problems[0]).toMatchObject({ code: 3, subcode: 6, data: Uint8Array.from([0x40, 1, 1, 7]) });
  });
  it('invalid NEXT_HOP → subcode 8 with the attribute', () => {
    const m = decoded(updateBytes('40 01 01 00   40 02 00   40 03 04 e0000001'));
    expect(m.errors?.problems[0]).toMatchObject({ code: 3, subcode: 8, data: Uint8Array.from([0x40, 3, 4, 0xe0, 0, 0, 1]) });
  });
  it('optional attribute error → subcode 9 with the attribute (MP_REACH with a bad next hop length)', () => {
    expect(error(updateBytes(`${MANDATORY4} 80 0e 0d 0002 01 08 2001 0db8 0000 0000 00`, ''))).toEqual({ code: 3, subcode: 9, data: '800e0d000201082001' + '0db800000000' + '00' });
  });
  it('invalid network field → subcode 10 (NLRI prefix length 33; NLRI overrun)', () => {
    expect(error(updateBytes(MANDATORY4, '21 0a000000 00'))).toEqual({ code: 3, subcode: 10, data: '' });
    expect(error(updateBytes(MANDATORY4, '18 0a00'))).toEqual({ code: 3, subcode: 10, data: '' });
  });
  it('malformed AS_PATH → subcode 11', () => {
    const m = decoded(updateBytes('40 01 01 00   40 02 04 02 05 0000   40 03 04 c0000201'));
    expect(m.errors?.problems[0]).toMatchObject({ code: 3, subcode: 11 });
  });
});

describe('§6.4–§6.6 and RFC 7313', () => {
  it('a NOTIFICATION is decoded whatever its code (no NOTIFICATION answers one, §6.4)', () => {
    const m = decodeMessage(hex(`${MARKER} 0015 03 63 63`), O)?.message;
    expect(m).toEqual({ type: 'notification', code: 0x63, subcode: 0x63, data: new Uint8Array(0) });
  });
  it('§6.5 Hold Timer Expired and §6.6 FSM Error encode as NOTIFICATIONs', () => {
    const hold = encodeMessage({ type: 'notification', code: ERR_HOLD_TIMER_EXPIRED, subcode: 0, data: new Uint8Array(0) }, O);
    expect(hold.subarray(16).toString('hex')).toBe('0015030400');
    const fsm = encodeMessage({ type: 'notification', code: ERR_FSM, subcode: FSM_UNEXPECTED_IN_OPENSENT, data: new Uint8Array(0) }, O);
    expect(fsm.subarray(16).toString('hex')).toBe('0015030501');
  });
  it('BoRR/EoRR of the wrong length → ROUTE-REFRESH Message Error / Invalid Message Length with the message (RFC 7313)', () => {
    const bad = hex(`${MARKER} 0018 05 0001 01 01 00`);
    expect(error(bad)).toEqual({ code: 7, subcode: 1, data: bad.toString('hex') });
    const eorr = hex(`${MARKER} 0016 05 0001 02`);
    expect(error(eorr)).toEqual({ code: 7, subcode: 1, data: eorr.toString('hex') });
  });
  it('a plain ROUTE-REFRESH of the wrong length → Bad Message Length', () => {
    expect(error(hex(`${MARKER} 0018 05 0001 00 01 00`))).toEqual({ code: 1, subcode: 2, data: '0018' });
    expect(error(hex(`${MARKER} 0014 05 00`))).toEqual({ code: 1, subcode: 2, data: '0014' });
  });
  it('every fixture decodes without error', () => {
    for (const f of FIXTURES) expect(() => decodeMessage(f.bytes, f.options)).not.toThrow();
  });
});
