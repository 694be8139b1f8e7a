// Property-based fuzzing of the BGP codec with fast-check: random octets, random valid messages
// and mutations of valid messages. Decode only ever yields a message or a BgpError, never hangs,
// and re-encodes stably; random valid messages round-trip exactly. Inputs that once failed live
// in test/fixtures/bgp/corpus/*.hex (first line `# options: {json}`) and are replayed here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  ipv4PrefixFromText,
  type BgpMessage,
  type Capability,
  type CodecOptions,
  type PathAttributes,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';
import { FIXTURES, MARKER, hex } from '../fixtures/bgp/messages.js';
import { checkInput, OPTION_SETS } from '../fixtures/bgp/fuzz-property.js';

const RUNS = Number(process.env.BGP_FUZZ_RUNS ?? 3000);
const options = fc.constantFrom(...OPTION_SETS);

// ------------------------------------------------------------------ arbitraries of valid messages
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const asn = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 65536, max: 0xffffffff }));
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255)).filter(([a]) => a !== 127).map((o) => o.join('.'));
const v4prefix = fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([a, len]) => ipv4PrefixFromText(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`));
const v6prefix = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, len]) => {
  const d = decodeMessage(encodeMessage({ type: 'update', withdrawn: [], nlri: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [`${a}/${len}`] } } }, OPTION_SETS[1] as CodecOptions), OPTION_SETS[1] as CodecOptions);
  const m = d?.message as UpdateMessage;
  return m.attributes.mpUnreach?.withdrawn[0] as string; // canonical text
});
const segment = (confed: boolean) => fc.record({ type: confed ? fc.constantFrom('confed-sequence' as const, 'confed-set' as const) : fc.constantFrom('set' as const, 'sequence' as const), asns: fc.array(asn, { minLength: 1, maxLength: 6 }) });
// Confederation segments come first (RFC 5065 §3).
const asPath = fc.tuple(fc.array(segment(true), { maxLength: 2 }), fc.array(segment(false), { maxLength: 3 })).map(([c, s]) => [...c, ...s]);

const attributes: fc.Arbitrary<PathAttributes> = fc
  .record(
    {
      origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
      asPath,
      nextHop: ipv4,
      med: u32,
      localPref: u32,
      atomicAggregate: fc.constant(true),
      aggregator: fc.record({ asn: asn, address: ipv4 }),
      communities: fc.array(u32, { minLength: 1, maxLength: 5 }),
      originatorId: ipv4,
      clusterList: fc.array(ipv4, { minLength: 1, maxLength: 3 }),
      largeCommunities: fc.uniqueArray(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 3, selector: (c) => c.join(':') }),
      mpReach: fc.record({ afi: fc.constant(2), safi: fc.constant(1), nextHop: fc.constant('2001:db8::1'), nlri: fc.array(v6prefix, { maxLength: 5 }) }),
      mpUnreach: fc.record({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: fc.array(v6prefix, { maxLength: 5 }) }),
      unknown: fc.array(fc.record({ flags: fc.constantFrom(0xe0, 0xc0 | 0x20), type: fc.integer({ min: 100, max: 255 }), value: fc.uint8Array({ maxLength: 8 }) }), { maxLength: 2 }),
    },
    { requiredKeys: ['origin', 'asPath', 'nextHop'] },
  )
  .map((a) => {
    // Unknown attributes are unique by type (a repeat would be discarded on decode).
    if (a.unknown !== undefined) a.unknown = a.unknown.filter((u, i, all) => all.findIndex((x) => x.type === u.type) === i);
    if (a.unknown?.length === 0) delete a.unknown;
    return a;
  });

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: fc.constantFrom(1, 2), safi: fc.constantFrom(1, 2) }),
  fc.constant({ kind: 'routeRefresh' as const }),
  fc.constant({ kind: 'enhancedRouteRefresh' as const }),
  fc.constant({ kind: 'extendedMessage' as const }),
  fc.record({ kind: fc.constant('gracefulRestart' as const), restartFlags: fc.nat(15), restartTime: fc.nat(4095), families: fc.array(fc.record({ afi: fc.constantFrom(1, 2), safi: fc.constant(1), forwardingPreserved: fc.boolean() }), { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('addPath' as const), families: fc.array(fc.record({ afi: fc.constantFrom(1, 2), safi: fc.constant(1), sendReceive: fc.integer({ min: 1, max: 3 }) }), { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('unknown' as const), code: fc.integer({ min: 128, max: 255 }), value: fc.uint8Array({ maxLength: 6 }) }),
);

const message: fc.Arbitrary<BgpMessage> = fc.oneof(
  fc.constant({ type: 'keepalive' as const }),
  fc.record({ type: fc.constant('routeRefresh' as const), afi: fc.nat(65535), safi: fc.nat(255), subtype: fc.nat(255) }),
  fc.record({ type: fc.constant('notification' as const), code: fc.integer({ min: 1, max: 5 }), subcode: fc.nat(255), data: fc.uint8Array({ maxLength: 20 }) }),
  fc
    .record({ type: fc.constant('open' as const), version: fc.constant(4), myAs: asn, holdTime: fc.nat(65535), bgpId: ipv4, capabilities: fc.array(capability, { maxLength: 6 }) })
    .map((o) => ({ ...o, capabilities: [...o.capabilities.filter((c) => c.kind !== 'fourOctetAs'), { kind: 'fourOctetAs' as const, asn: o.myAs }] })),
  fc.record({ type: fc.constant('update' as const), withdrawn: fc.array(v4prefix, { maxLength: 5 }), attributes, nlri: fc.array(v4prefix, { maxLength: 8 }) }),
);

// ------------------------------------------------------------------ mutations of valid messages
const seeds = FIXTURES.map((f) => f.bytes);
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(base: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'flip' && b.length > 0) b[at] = m.value;
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
  }
  // Keep the header's length honest half of the time, so mutations reach the bodies.
  if (b.length >= 19 && (muts.length & 1) === 0) b.writeUInt16BE(Math.min(b.length, 0xffff), 16);
  return b;
}

describe('fuzzing decode', () => {
  it('random octets', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), options, (b, o) => checkInput(b, o)), { numRuns: RUNS });
  });

  it('random octets behind a valid header', () => {
    const body = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 })).map(([type, rest]) => {
      const b = Buffer.concat([hex(MARKER), Buffer.from([0, 0, type]), rest]);
      b.writeUInt16BE(b.length, 16);
      return b;
    });
    fc.assert(fc.property(body, options, (b, o) => checkInput(b, o)), { numRuns: RUNS });
  });

  it('UPDATEs of random attributes (known type codes, random flags and values)', () => {
    const attr = fc.tuple(fc.constantFrom(0x40, 0x50, 0x80, 0x90, 0xc0, 0xd0, 0xe0, 0x00), fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 17, 18, 32), fc.nat(255)), fc.uint8Array({ maxLength: 40 }));
    const structured = fc.record({ type: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 17, 18, 32), value: fc.constantFrom(
      '0000', '02010001', '020200010002', '010200010002', '03010001', '0201fde9', '020100010001', '0002010000', '000201102001', '00020110' + '20010db8000000000000000000000001' + '0020' + '20010db8', '0001010400000001000a', '00020140', '0000fde9c0000201', 'c0000201', '00000001000000020000000300',
    ) });
    const one = fc.oneof(
      attr.map(([f, t, v]) => Buffer.concat([Buffer.from([f & 0xef, t, v.length]), v])),
      structured.map(({ type, value }) => {
        const v = Buffer.from(value, 'hex');
        const flags = [1, 2, 3, 5, 6].includes(type) ? 0x40 : [4, 9, 10, 14, 15].includes(type) ? 0x80 : 0xc0;
        return Buffer.concat([Buffer.from([flags, type, v.length]), v]);
      }),
    );
    const arb = fc.tuple(fc.array(one, { maxLength: 8 }), fc.array(fc.nat(255), { maxLength: 6 })).map(([attrs, nlri]) => {
      const a = Buffer.concat(attrs);
      const n = Buffer.from(nlri);
      const b = Buffer.concat([hex(MARKER), Buffer.from([0, 0, 2, 0, 0, a.length >> 8, a.length & 255]), a, n]);
      b.writeUInt16BE(b.length, 16);
      return b;
    });
    fc.assert(fc.property(arb, options, (b, o) => checkInput(b, o)), { numRuns: RUNS * 3 });
  });

  it('mutated valid messages', () => {
    const arb = fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([s, m]) => mutate(s, m));
    fc.assert(fc.property(arb, options, fc.nat(400), (b, o, split) => checkInput(b, o, split % (b.length + 1))), { numRuns: RUNS * 2 });
  });

  it('mutated random valid messages', () => {
    const arb = fc.tuple(message, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([m, muts]) => mutate(encodeMessage(m, OPTION_SETS[1] as CodecOptions), muts));
    fc.assert(fc.property(arb, options, (b, o) => checkInput(b, o)), { numRuns: RUNS });
  });

  it('random valid messages round-trip exactly (4-octet and 2-octet sessions)', () => {
    fc.assert(
      fc.property(message, fc.constantFrom(...OPTION_SETS.slice(0, 2)), (m, o) => {
        if (m.type === 'update' && !o.fourOctetAs) {
          // A 2-octet session cannot carry confederation segments with 4-octet ASNs (RFC 6793 §3).
          if (m.attributes.asPath?.some((s) => s.type.startsWith('confed') && s.asns.some((a) => a > 65535))) return;
          // RFC 6793 merges only where AS4_PATH is consistent; skip sets mixed with 4-octet ASNs.
          if (m.attributes.asPath?.some((s) => s.type === 'set' && s.asns.some((a) => a > 65535))) return;
        }
        let bytes: Buffer;
        try {
          bytes = encodeMessage(m, o);
        } catch (e) {
          if (e instanceof RangeError) return; // over 4096 octets
          throw e;
        }
        const d = decodeMessage(bytes, o);
        expect(d?.message).toEqual(m);
        checkInput(bytes, o);
      }),
      { numRuns: RUNS },
    );
  });
});

const CORPUS = join(import.meta.dirname, '../fixtures/bgp/corpus');

describe('corpus of inputs that once failed', () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.hex'));
  it('is not empty', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(f, () => {
      const text = readFileSync(join(CORPUS, f), 'utf8');
      const m = /^# options: (.*)$/m.exec(text);
      const o = JSON.parse(m?.[1] ?? '{"fourOctetAs":true,"extendedMessage":false}') as CodecOptions;
      checkInput(hex(text), o);
    });
  }
});
