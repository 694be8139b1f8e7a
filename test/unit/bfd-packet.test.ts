// BFD Control packet codec: a byte fixture read field by field, round trips, every §6.8.6
// reception check that needs no session, and property tests that the decoder never throws and
// accepts exactly what the encoder can produce.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BfdEncodeError, decodeControlPacket, encodeControlPacket, type BfdControlPacket, type BfdDropReason } from '../../src/bfd/index.js';

const base: BfdControlPacket = {
  diagnostic: 0,
  state: 'Down',
  poll: false,
  final: false,
  controlPlaneIndependent: false,
  authenticationPresent: false,
  demand: false,
  multipoint: false,
  detectMult: 3,
  myDiscriminator: 0x01020304,
  yourDiscriminator: 0,
  desiredMinTxUs: 1_000_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 0,
};

// An Up packet with Poll, diagnostic 1, as FRR sends it when it switches to fast timers.
const fixture = Buffer.from(
  [
    '21', // version 1 (001), diag 1 (00001): Control Detection Time Expired
    'e0', // state Up (11), P=1, F=0, C=0, A=0, D=0, M=0
    '03', // detect mult 3
    '18', // length 24
    'aabbccdd', // my discriminator
    '11223344', // your discriminator
    '000493e0', // desired min tx 300 000 µs
    '000493e0', // required min rx 300 000 µs
    '0000c350', // required min echo rx 50 000 µs
  ].join(''),
  'hex',
);

function reasonOf(bytes: Uint8Array): BfdDropReason | 'accepted' {
  const r = decodeControlPacket(bytes);
  return r.ok ? 'accepted' : r.reason;
}

function withByte(buf: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(buf);
  copy[offset] = value;
  return copy;
}

describe('BFD control packet codec', () => {
  it('reads every field of a captured-style packet', () => {
    const r = decodeControlPacket(fixture);
    expect(r).toEqual({
      ok: true,
      packet: {
        diagnostic: 1,
        state: 'Up',
        poll: true,
        final: false,
        controlPlaneIndependent: false,
        authenticationPresent: false,
        demand: false,
        multipoint: false,
        detectMult: 3,
        myDiscriminator: 0xaabbccdd,
        yourDiscriminator: 0x11223344,
        desiredMinTxUs: 300_000,
        requiredMinRxUs: 300_000,
        requiredMinEchoRxUs: 50_000,
      },
    });
  });

  it('encodes back to the same bytes', () => {
    const r = decodeControlPacket(fixture);
    if (!r.ok) throw new Error(r.detail);
    expect(encodeControlPacket(r.packet).equals(fixture)).toBe(true);
  });

  it('round-trips each state and flag', () => {
    for (const state of ['AdminDown', 'Down', 'Init', 'Up'] as const) {
      for (const flags of [{ poll: true }, { final: true }, { controlPlaneIndependent: true }, { demand: true }]) {
        const p = { ...base, state, yourDiscriminator: 7, ...flags };
        expect(decodeControlPacket(encodeControlPacket(p))).toEqual({ ok: true, packet: p });
      }
    }
  });

  it('ignores octets beyond the length field (UDP payload longer than the packet)', () => {
    const longer = Buffer.concat([fixture, Buffer.from([1, 2, 3])]);
    expect(reasonOf(longer)).toBe('accepted');
  });

  describe('discards (§6.8.6)', () => {
    const down = encodeControlPacket(base);
    it.each<[string, Uint8Array, BfdDropReason]>([
      ['a datagram shorter than the mandatory section', fixture.subarray(0, 23), 'too-short'],
      ['version 0', withByte(fixture, 0, 0x01), 'bad-version'],
      ['version 2', withByte(fixture, 0, 0x41), 'bad-version'],
      ['a length field below 24', withByte(fixture, 3, 23), 'bad-length'],
      ['a length field beyond the datagram', withByte(fixture, 3, 25), 'length-exceeds-payload'],
      ['the A bit with a length below 26', withByte(fixture, 1, 0xe4), 'bad-length'],
      ['detect multiplier 0', withByte(fixture, 2, 0), 'zero-detect-mult'],
      ['the multipoint bit', withByte(fixture, 1, 0xe1), 'multipoint'],
      ['my discriminator 0', Buffer.concat([fixture.subarray(0, 4), Buffer.alloc(4), fixture.subarray(8)]), 'zero-my-discriminator'],
      ['your discriminator 0 in Up', Buffer.concat([fixture.subarray(0, 8), Buffer.alloc(4), fixture.subarray(12)]), 'zero-your-discriminator-not-down'],
      ['your discriminator 0 in Init', withByte(Buffer.concat([fixture.subarray(0, 8), Buffer.alloc(4), fixture.subarray(12)]), 1, 0x80), 'zero-your-discriminator-not-down'],
      ['an authentication section when none is configured', Buffer.concat([withByte(withByte(fixture, 1, 0xe4), 3, 28), Buffer.from([1, 4, 1, 0])]), 'authentication-not-configured'],
    ])('%s', (_name, bytes, reason) => {
      expect(reasonOf(bytes)).toBe(reason);
    });

    it('but accepts your discriminator 0 in Down and AdminDown', () => {
      expect(reasonOf(down)).toBe('accepted');
      expect(reasonOf(withByte(down, 1, 0x00))).toBe('accepted');
    });
  });

  it('refuses to encode fields that do not fit', () => {
    expect(() => encodeControlPacket({ ...base, detectMult: 256 })).toThrow(BfdEncodeError);
    expect(() => encodeControlPacket({ ...base, diagnostic: 32 })).toThrow(BfdEncodeError);
    expect(() => encodeControlPacket({ ...base, desiredMinTxUs: 2 ** 32 })).toThrow(BfdEncodeError);
    expect(() => encodeControlPacket({ ...base, myDiscriminator: -1 })).toThrow(BfdEncodeError);
    expect(() => encodeControlPacket({ ...base, authenticationPresent: true })).toThrow(/authentication/);
  });

  describe('properties', () => {
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    const validPacket = fc
      .record({
        diagnostic: fc.integer({ min: 0, max: 31 }),
        state: fc.constantFrom('AdminDown' as const, 'Down' as const, 'Init' as const, 'Up' as const),
        poll: fc.boolean(),
        final: fc.boolean(),
        controlPlaneIndependent: fc.boolean(),
        demand: fc.boolean(),
        detectMult: fc.integer({ min: 1, max: 255 }),
        myDiscriminator: fc.integer({ min: 1, max: 0xffff_ffff }),
        yourDiscriminator: u32,
        desiredMinTxUs: u32,
        requiredMinRxUs: u32,
        requiredMinEchoRxUs: u32,
      })
      .map((r): BfdControlPacket => ({ ...r, authenticationPresent: false, multipoint: false }))
      .filter((p) => p.yourDiscriminator !== 0 || p.state === 'Down' || p.state === 'AdminDown');

    it('decode(encode(p)) is p for every valid packet', () => {
      fc.assert(
        fc.property(validPacket, (p) => {
          expect(decodeControlPacket(encodeControlPacket(p))).toEqual({ ok: true, packet: p });
        }),
      );
    });

    it('never throws on arbitrary bytes, and accepts only what re-encodes to its first 24 octets', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
          const r = decodeControlPacket(bytes);
          if (r.ok) expect(encodeControlPacket(r.packet).equals(Buffer.from(bytes.subarray(0, 24)).fill(24, 3, 4))).toBe(true);
        }),
        { numRuns: 5000 },
      );
    });

    it('rejects every single-bit flip of the version field', () => {
      fc.assert(
        fc.property(validPacket, fc.integer({ min: 5, max: 7 }), (p, bit) => {
          const bytes = encodeControlPacket(p);
          bytes[0] = (bytes[0] ?? 0) ^ (1 << bit);
          expect(reasonOf(bytes)).toBe('bad-version');
        }),
      );
    });
  });
});
