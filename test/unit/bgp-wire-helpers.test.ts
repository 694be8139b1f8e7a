// Smaller pieces of the BGP codec: option negotiation, the allocation-free IPv6 parser against
// the reference one, RFC 9003 shutdown communication edge cases, tryDecodeMessage.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv6, parsePrefix } from '../../src/bgp/rib/prefix.js';
import { ipv6ParseInto } from '../../src/bgp/wire/bytes.js';
import { ipv4PrefixFromText } from '../../src/bgp/wire/nlri.js';
import {
  BgpError,
  decodeShutdownCommunication,
  encodeShutdownCommunication,
  INITIAL_OPTIONS,
  ipv6FromText,
  ipv6ToText,
  negotiateOptions,
  tryDecodeMessage,
  type OpenMessage,
} from '../../src/bgp/wire/index.js';
import { MARKER, hex } from '../fixtures/bgp/messages.js';

describe('negotiateOptions', () => {
  const base: OpenMessage = { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '192.0.2.1', capabilities: [] };
  it('needs both sides for 4-octet AS and extended messages; ADD-PATH by direction', () => {
    const mine: OpenMessage = { ...base, capabilities: [{ kind: 'fourOctetAs', asn: 65001 }, { kind: 'extendedMessage' }, { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 1 }, { afi: 2, safi: 1, sendReceive: 2 }] }] };
    const theirs: OpenMessage = { ...base, capabilities: [{ kind: 'fourOctetAs', asn: 65002 }, { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 3 }] }] };
    expect(negotiateOptions(mine, theirs, { external: true })).toEqual({ fourOctetAs: true, extendedMessage: false, addPath: [{ afi: 1, safi: 1 }], peer: { external: true } });
    expect(negotiateOptions(base, theirs)).toEqual(INITIAL_OPTIONS);
  });
});

describe('IPv6 text', () => {
  it('the allocation-free parser agrees with the reference parser', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ref = ipv6FromText(text);
        const out = new Uint8Array(16);
        const ok = ipv6ParseInto(text, text.length, out);
        if (text.includes('.')) return; // embedded IPv4: the reference parser's job
        expect(ok).toBe(true);
        expect(out).toEqual(ref);
        expect(ipv6FromText(ipv6ToText(out))).toEqual(ref);
      }),
      { numRuns: 2000 },
    );
  });
  it('rejects malformed text', () => {
    const out = new Uint8Array(16);
    for (const bad of ['', ':', '1:2', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:', '::1:']) expect(ipv6ParseInto(bad, bad.length, out)).toBe(false);
    expect(ipv6ToText(ipv6FromText('2001:db8:0:0:1:0:0:1') ?? new Uint8Array(16))).toBe('2001:db8::1:0:0:1');
  });
});

describe('prefix keys agree with the RIB (src/bgp/rib/prefix.ts)', () => {
  it('IPv6 text is the same RFC 5952 text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(ipv6ToText(b)).toBe(formatIpv6(b));
      }),
      { numRuns: 2000 },
    );
    expect(ipv6ToText(Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe(formatIpv6(Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])));
  });
  it('IPv4 keys are the same numbers', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (a, len) => {
        const text = `${a}/${len}`;
        expect(ipv4PrefixFromText(text)).toBe(parsePrefix(text, true).key);
      }),
    );
  });
});

describe('RFC 9003 shutdown communication', () => {
  it('exposes the text only when the data is exactly a length octet and valid UTF-8', () => {
    expect(decodeShutdownCommunication(encodeShutdownCommunication('bye'))).toBe('bye');
    expect(decodeShutdownCommunication(Uint8Array.of(0))).toBe('');
    expect(decodeShutdownCommunication(Uint8Array.of(5, 0x61))).toBeUndefined();
    expect(decodeShutdownCommunication(Uint8Array.of(1, 0xff))).toBeUndefined();
    expect(decodeShutdownCommunication(new Uint8Array(0))).toBeUndefined();
  });
});

describe('tryDecodeMessage', () => {
  it('returns the BgpError, the message, or undefined for an incomplete one', () => {
    expect(tryDecodeMessage(hex(`${MARKER} 0013 09`), INITIAL_OPTIONS)).toBeInstanceOf(BgpError);
    expect(tryDecodeMessage(hex(`${MARKER} 0013 04`), INITIAL_OPTIONS)).toEqual({ message: { type: 'keepalive' }, consumed: 19 });
    expect(tryDecodeMessage(hex(`${MARKER} 0017 02 00`), INITIAL_OPTIONS)).toBeUndefined();
  });
});

describe('IPv4 text', () => {
  it('parses dotted quads and rejects everything else', async () => {
    const { ipv4FromText, ipv4ToText } = await import('../../src/bgp/wire/index.js');
    fc.assert(
      fc.property(fc.ipV4(), (t) => {
        expect(ipv4ToText(ipv4FromText(t))).toBe(t);
      }),
    );
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1..2.3', '1.2.3.', 'a.b.c.d', '1.2.3.1234', ' 1.2.3.4']) expect(ipv4FromText(bad)).toBeNaN();
  });
});
