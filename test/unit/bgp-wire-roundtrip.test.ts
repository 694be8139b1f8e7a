// encode → decode → equal for every BGP message and every path attribute the codec knows, under
// 2-octet and 4-octet AS sessions, ADD-PATH, extended lengths and extended messages.
import { describe, expect, it } from 'vitest';
import {
  COMMUNITY_NO_ADVERTISE,
  COMMUNITY_NO_EXPORT,
  COMMUNITY_NO_EXPORT_SUBCONFED,
  COMMUNITY_NO_PEER,
  decodeMessage,
  encodeMessage,
  endOfRib,
  endOfRibFamily,
  MessageReader,
  type BgpMessage,
  type CodecOptions,
  type PathAttributes,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';
import { p4 } from '../fixtures/bgp/messages.js';

const OLD: CodecOptions = { fourOctetAs: false, extendedMessage: false };
const NEW: CodecOptions = { fourOctetAs: true, extendedMessage: false };

function roundTrip(m: BgpMessage, o: CodecOptions): BgpMessage {
  const bytes = encodeMessage(m, o);
  const d = decodeMessage(bytes, o);
  expect(d?.consumed).toBe(bytes.length);
  if (d === undefined) throw new Error('incomplete');
  // And once more: what decodes re-encodes to the same bytes.
  expect(encodeMessage(d.message, o).equals(bytes)).toBe(true);
  return d.message;
}

function update(attributes: PathAttributes, nlri: number[] = [p4('10.0.0.0/8')]): UpdateMessage {
  return { type: 'update', withdrawn: [], attributes, nlri };
}

const BASE: PathAttributes = { origin: 0, asPath: [{ type: 'sequence', asns: [65001] }], nextHop: '192.0.2.1' };

describe('messages round-trip', () => {
  const messages: [string, BgpMessage][] = [
    ['KEEPALIVE', { type: 'keepalive' }],
    ['OPEN without capabilities', { type: 'open', version: 4, myAs: 65001, holdTime: 0, bgpId: '10.0.0.1', capabilities: [] }],
    [
      'OPEN with every capability kind',
      {
        type: 'open',
        version: 4,
        myAs: 4200000000,
        holdTime: 3,
        bgpId: '192.0.2.254',
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'multiprotocol', afi: 2, safi: 1 },
          { kind: 'routeRefresh' },
          { kind: 'enhancedRouteRefresh' },
          { kind: 'extendedMessage' },
          { kind: 'fourOctetAs', asn: 4200000000 },
          { kind: 'gracefulRestart', restartFlags: 0xc, restartTime: 4095, families: [{ afi: 2, safi: 1, forwardingPreserved: true }] },
          { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
          { kind: 'unknown', code: 73, value: Uint8Array.from([2, 0x76, 0x6d, 0]) },
        ],
      },
    ],
    ['NOTIFICATION with data', { type: 'notification', code: 3, subcode: 5, data: Uint8Array.from([0x40, 1, 2, 0, 0]) }],
    ['NOTIFICATION hold timer expired', { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) }],
    ['NOTIFICATION Cease/Admin Reset with UTF-8 text', { type: 'notification', code: 6, subcode: 4, data: Uint8Array.from([...Buffer.from('\x0cmaintenance ☕', 'latin1')].slice(0, 1).concat([...Buffer.from('maintenance ☕')])), shutdownMessage: 'maintenance ☕' }],
    ['ROUTE-REFRESH', { type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 }],
    ['ROUTE-REFRESH EoRR', { type: 'routeRefresh', afi: 2, safi: 1, subtype: 2 }],
    ['UPDATE empty (IPv4 End-of-RIB)', endOfRib(1, 1)],
    ['UPDATE MP End-of-RIB', endOfRib(2, 1)],
  ];
  for (const [name, m] of messages) {
    it(name, () => {
      if (m.type === 'notification' && m.shutdownMessage !== undefined) {
        // data is derived from the text on encode: length octet + UTF-8.
        const text = Buffer.from(m.shutdownMessage);
        m.data = Uint8Array.from([text.length, ...text]);
      }
      expect(roundTrip(m, NEW)).toEqual(m);
    });
  }

  it('OPEN with more than 255 octets of capabilities uses RFC 9072 extended parameters', () => {
    const m: BgpMessage = { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '10.0.0.1', capabilities: Array.from({ length: 40 }, (_, i) => ({ kind: 'unknown' as const, code: 200, value: Uint8Array.from([i, 1, 2, 3, 4]) })) };
    const bytes = encodeMessage(m, NEW);
    expect(bytes[28]).toBe(255);
    expect(bytes[29]).toBe(255);
    expect(roundTrip(m, NEW)).toEqual(m);
  });

  it('shutdown communication longer than 255 octets is cut at a character boundary', () => {
    const bytes = encodeMessage({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: '€'.repeat(100) }, NEW);
    const d = decodeMessage(bytes, NEW)?.message;
    expect(d?.type === 'notification' && d.shutdownMessage).toBe('€'.repeat(85));
  });
});

describe('path attributes round-trip', () => {
  const cases: [string, PathAttributes][] = [
    ['ORIGIN EGP', { ...BASE, origin: 1 }],
    ['AS_PATH with SET, SEQUENCE and confederation segments', { ...BASE, asPath: [{ type: 'confed-sequence', asns: [64512, 64513] }, { type: 'confed-set', asns: [64514] }, { type: 'sequence', asns: [65001, 65002] }, { type: 'set', asns: [65010, 65011] }] }],
    ['empty AS_PATH (iBGP origination)', { ...BASE, asPath: [] }],
    ['MULTI_EXIT_DISC', { ...BASE, med: 0xffffffff }],
    ['LOCAL_PREF', { ...BASE, localPref: 200 }],
    ['ATOMIC_AGGREGATE and AGGREGATOR', { ...BASE, atomicAggregate: true, aggregator: { asn: 65001, address: '192.0.2.7' } }],
    ['COMMUNITIES with the well-known ones', { ...BASE, communities: [COMMUNITY_NO_EXPORT, COMMUNITY_NO_ADVERTISE, COMMUNITY_NO_EXPORT_SUBCONFED, COMMUNITY_NO_PEER, 65001 * 65536 + 100] }],
    ['ORIGINATOR_ID and CLUSTER_LIST', { ...BASE, originatorId: '192.0.2.33', clusterList: ['192.0.2.1', '198.51.100.1'] }],
    ['LARGE_COMMUNITY', { ...BASE, largeCommunities: [[4200000000, 1, 2], [65001, 0xffffffff, 0]] }],
    ['unknown optional transitive (Partial set)', { ...BASE, unknown: [{ flags: 0xe0, type: 99, value: Uint8Array.from([1, 2, 3]) }] }],
    ['extended-length attribute (COMMUNITIES over 255 octets)', { ...BASE, communities: Array.from({ length: 100 }, (_, i) => 65001 * 65536 + i) }],
    ['MP_REACH IPv6 with a global next hop only', { origin: 0, asPath: [], mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: ['2001:db8::/32', '::/0', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128'] } }],
    ['MP_REACH IPv4 unicast', { origin: 0, asPath: [], mpReach: { afi: 1, safi: 1, nextHop: '192.0.2.1', nlri: [p4('10.0.0.0/8'), p4('0.0.0.0/0'), p4('192.0.2.255/32')] } }],
    ['MP_REACH IPv4 unicast with an IPv6 next hop (RFC 8950)', { origin: 0, asPath: [], mpReach: { afi: 1, safi: 1, nextHop: '2001:db8::1', nextHopLinkLocal: 'fe80::1', nlri: [p4('10.0.0.0/8')] } }],
    ['MP_UNREACH IPv6', { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8::/48', 'fe80::/10'] } }],
    ['MP_REACH of an unknown family kept raw', { origin: 0, asPath: [], mpReach: { afi: 25, safi: 70, nextHop: '', nlri: [], nextHopRaw: Uint8Array.from([1, 2, 3, 4]), nlriRaw: Uint8Array.from([9, 9]) } }],
  ];
  for (const [name, attributes] of cases) {
    for (const [label, o] of [['4-octet', NEW], ['2-octet', OLD]] as const) {
      it(`${name} (${label} session)`, () => {
        const nlri = attributes.nextHop === undefined ? [] : [p4('10.0.0.0/8')];
        const m = update(attributes, nlri);
        expect(roundTrip(m, o)).toEqual(m);
      });
    }
  }

  it('4-octet ASNs survive a 2-octet session through AS4_PATH / AS4_AGGREGATOR', () => {
    const m = update({ ...BASE, asPath: [{ type: 'confed-sequence', asns: [64512] }, { type: 'sequence', asns: [4200000001, 65001, 4200000002] }, { type: 'set', asns: [4200000003, 1] }], aggregator: { asn: 4200000009, address: '192.0.2.9' } });
    const bytes = encodeMessage(m, OLD);
    expect(bytes.includes(Buffer.from([0xc0, 17]))).toBe(true); // AS4_PATH present
    expect(roundTrip(m, OLD)).toEqual(m);
  });

  it('regression: adjacent AS4_PATH sequences are not joined (found by fuzzing)', () => {
    const m = update({ ...BASE, asPath: [{ type: 'sequence', asns: [1] }, { type: 'sequence', asns: [65536, 1] }] });
    expect(roundTrip(m, OLD)).toEqual(m);
  });

  it('regression: a 4-octet AS followed by 2-octet ones in a 2-octet session (found by fuzzing)', () => {
    const m = update({ ...BASE, asPath: [{ type: 'sequence', asns: [65536] }, { type: 'sequence', asns: [1] }] });
    expect(roundTrip(m, OLD)).toEqual(m);
  });

  it('ADD-PATH path identifiers in IPv4 NLRI, withdrawn routes and MP_REACH', () => {
    const o: CodecOptions = { ...NEW, addPath: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] };
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [p4('10.9.0.0/16')],
      withdrawnPathIds: [7],
      attributes: { ...BASE, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: ['2001:db8::/32', '2001:db8::/32'], pathIds: [1, 2] } },
      nlri: [p4('10.0.0.0/8'), p4('10.0.0.0/8')],
      nlriPathIds: [1, 2],
    };
    expect(roundTrip(m, o)).toEqual(m);
  });

  it('an UPDATE over 4096 octets needs extended messages (RFC 8654)', () => {
    const nlri = Array.from({ length: 1500 }, (_, i) => p4(`10.${i >> 8}.${i & 255}.0/24`));
    const m = update(BASE, nlri);
    expect(() => encodeMessage(m, NEW)).toThrow(RangeError);
    const ext = { ...NEW, extendedMessage: true };
    expect(encodeMessage(m, ext).length).toBeGreaterThan(4096);
    expect(roundTrip(m, ext)).toEqual(m);
  });

  it('host bits beyond the prefix length are cleared on decode', () => {
    const bytes = encodeMessage(update(BASE, [p4('10.0.0.0/7')]), NEW);
    bytes[bytes.length - 1] = 0x0b; // the NLRI octet 11: its last bit is past /7
    const d = decodeMessage(bytes, NEW)?.message as UpdateMessage;
    expect(d.nlri).toEqual([p4('10.0.0.0/7')]);
  });
});

describe('End-of-RIB', () => {
  it('recognises both forms and nothing else', () => {
    expect(endOfRibFamily(endOfRib(1, 1))).toEqual({ afi: 1, safi: 1 });
    expect(endOfRibFamily(endOfRib(2, 1))).toEqual({ afi: 2, safi: 1 });
    expect(endOfRibFamily(update(BASE))).toBeUndefined();
    expect(endOfRibFamily({ type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8::/32'] } }, nlri: [] })).toBeUndefined();
    const viaWire = decodeMessage(encodeMessage(endOfRib(2, 1), NEW), NEW)?.message as UpdateMessage;
    expect(endOfRibFamily(viaWire)).toEqual({ afi: 2, safi: 1 });
  });
});

describe('MessageReader', () => {
  it('yields nothing until a message is complete and reuses its buffer', () => {
    const r = new MessageReader(NEW);
    const ka = encodeMessage({ type: 'keepalive' }, NEW);
    r.push(ka.subarray(0, 10));
    expect(r.next()).toBeUndefined();
    r.push(ka.subarray(10));
    expect(r.next()).toEqual({ type: 'keepalive' });
    expect(r.buffered).toBe(0);
  });
});

describe('splitUpdate', () => {
  it('cuts a large UPDATE into ones that fit, keeping every prefix and the attributes', async () => {
    const { splitUpdate } = await import('../../src/bgp/wire/index.js');
    const nlri = Array.from({ length: 3000 }, (_, i) => p4(`10.${i >> 8}.${i & 255}.0/24`));
    const v6 = Array.from({ length: 1500 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`);
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: nlri.slice(0, 1200),
      attributes: { ...BASE, communities: [1, 2, 3], mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: v6 }, mpUnreach: { afi: 2, safi: 1, withdrawn: v6.slice(0, 900) } },
      nlri,
    };
    const parts = splitUpdate(m, NEW);
    for (const u of parts) {
      const bytes = encodeMessage(u, NEW);
      expect(bytes.length).toBeLessThanOrEqual(4096);
      expect(decodeMessage(bytes, NEW)?.message).toEqual(u);
      if (u.nlri.length > 0 || (u.attributes.mpReach?.nlri.length ?? 0) > 0) expect(u.attributes.communities).toEqual([1, 2, 3]);
    }
    expect(parts.flatMap((u) => u.nlri)).toEqual(nlri);
    expect(parts.flatMap((u) => u.withdrawn)).toEqual(nlri.slice(0, 1200));
    expect(parts.flatMap((u) => u.attributes.mpReach?.nlri ?? [])).toEqual(v6);
    expect(parts.flatMap((u) => u.attributes.mpUnreach?.withdrawn ?? [])).toEqual(v6.slice(0, 900));
    // Nearly full: no more UPDATEs than the octets need.
    const total = parts.reduce((n, u) => n + encodeMessage(u, NEW).length, 0);
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(total / 4096) + 4);
    expect(splitUpdate(update(BASE), NEW)).toHaveLength(1);
  });
});
