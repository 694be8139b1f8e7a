// The RIB ↔ codec conversion, through the real codec: packed Adj-RIB-Out UPDATEs encode within
// the message size limit and decode back to the same per-family updates; End-of-RIB markers are
// recognised for both families.
import { describe, expect, it } from 'vitest';
import { AdjRibOut } from '../../src/bgp/rib/adj-rib-out.js';
import { endOfRibFamily, endOfRibMessage, inboundFromWire, outboundToWire } from '../../src/bgp/rib/wire-convert.js';
import { decodeMessage, encodeMessage, type CodecOptions, type UpdateMessage } from '../../src/bgp/wire/index.js';
import { ipv4Key, prefixKey } from '../../src/bgp/rib/prefix.js';
import { attrs, seq } from '../helpers/bgp-rib-fixtures.js';

const options: CodecOptions = { fourOctetAs: true, extendedMessage: false };

function roundTrip(m: UpdateMessage): UpdateMessage {
  const bytes = encodeMessage(m, options);
  const decoded = decodeMessage(bytes, options);
  if (decoded?.message.type !== 'update') throw new Error('not an UPDATE');
  return decoded.message;
}

describe('RIB ↔ wire conversion', () => {
  it('IPv4: packed UPDATEs fit 4096 bytes and decode to what was packed', () => {
    const a = attrs({ asPath: seq(65000, 4200000000), nextHop: '192.0.2.1', med: 5, communities: [1, 2], largeCommunities: [[1, 2, 3]], localPref: 120 });
    const out = new AdjRibOut('ipv4');
    out.set(new Map(Array.from({ length: 3000 }, (_, i) => [ipv4Key(0x0a000000 + i * 16, 28), a] as [number, typeof a])));
    const packed = out.drain();
    expect(packed.length).toBeGreaterThan(1);
    let total = 0;
    for (const u of packed) {
      const bytes = encodeMessage(outboundToWire(u), options);
      expect(bytes.length).toBeLessThanOrEqual(4096);
      const [back] = inboundFromWire(roundTrip(outboundToWire(u)));
      expect(back?.announce).toEqual(u.announce);
      expect(back?.attrs).toMatchObject({ nextHop: '192.0.2.1', med: 5, localPref: 120, communities: [1, 2], largeCommunities: [[1, 2, 3]], asPath: seq(65000, 4200000000) });
      total += back?.announce.length ?? 0;
    }
    expect(total).toBe(3000);
  });

  it('IPv6: announcements via MP_REACH and withdrawals via MP_UNREACH', () => {
    const a = attrs({ asPath: seq(65000), nextHop: '2001:db8::1', originatorId: '192.0.2.9', clusterList: ['192.0.2.10'] });
    const u = roundTrip(outboundToWire({ afi: 'ipv6', withdraw: [], attrs: a, announce: [prefixKey('2001:db8:1::/48')] }));
    const [back] = inboundFromWire(u);
    expect(back).toMatchObject({ afi: 'ipv6', announce: ['2001:db8:1::/48'], withdraw: [] });
    expect(back?.attrs).toMatchObject({ nextHop: '2001:db8::1', originatorId: '192.0.2.9', clusterList: ['192.0.2.10'] });
    const w = roundTrip(outboundToWire({ afi: 'ipv6', withdraw: [prefixKey('2001:db8:1::/48')], attrs: undefined, announce: [] }));
    expect(inboundFromWire(w)).toEqual([expect.objectContaining({ afi: 'ipv6', withdraw: ['2001:db8:1::/48'], announce: [] })]);
    expect(endOfRibFamily(w)).toBeUndefined();
  });

  it('recognises End-of-RIB for both families', () => {
    expect(endOfRibFamily(roundTrip(endOfRibMessage('ipv4')))).toBe('ipv4');
    expect(endOfRibFamily(roundTrip(endOfRibMessage('ipv6')))).toBe('ipv6');
    expect(inboundFromWire(roundTrip(endOfRibMessage('ipv4')))).toEqual([]);
  });
});
