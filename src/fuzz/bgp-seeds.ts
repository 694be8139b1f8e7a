// The BGP seed corpus: valid messages of every kind the codec knows, built with the codec's own
// encoder so they are valid by construction — OPENs with every capability (and one long enough for
// RFC 9072 extended parameters), UPDATEs carrying every attribute type (AS4_PATH/AS4_AGGREGATOR on
// a 2-octet session, MP_REACH/MP_UNREACH IPv6 with a link-local next hop, RFC 8950 IPv4-over-IPv6,
// an unknown family, ADD-PATH, communities, large communities, extended communities as the opaque
// optional transitive attribute 16), End-of-RIB, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH, and one
// extended (> 4096 octets) UPDATE. Mutation starts from these. Also the session option sets the
// fuzzer decodes under.
import { encodeMessage, ipv4PrefixFromText, type BgpMessage, type CodecOptions, type PathAttributes } from '../bgp/wire/index.js';

/** Session options cases are decoded under; index 0–1 are the plain 2- and 4-octet sessions. */
export const OPTION_SETS: readonly CodecOptions[] = [
  { fourOctetAs: false, extendedMessage: false },
  { fourOctetAs: true, extendedMessage: false },
  { fourOctetAs: true, extendedMessage: true, addPath: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }], peer: { external: true } },
  { fourOctetAs: true, extendedMessage: false, peer: { external: true, enforceFirstAs: 65001 } },
  { fourOctetAs: false, extendedMessage: true, peer: { external: false, confederationMember: true } },
];

export interface BgpSeed {
  name: string;
  bytes: Uint8Array;
  options: CodecOptions;
}

const p4 = (t: string): number => ipv4PrefixFromText(t);

const EVERY_ATTRIBUTE: PathAttributes = {
  origin: 1,
  asPath: [
    { type: 'confed-sequence', asns: [65010, 65011] },
    { type: 'sequence', asns: [65001, 4200000001, 174] },
    { type: 'set', asns: [64512, 64513] },
  ],
  nextHop: '192.0.2.1',
  med: 100,
  localPref: 200,
  atomicAggregate: true,
  aggregator: { asn: 4200000001, address: '192.0.2.9' },
  communities: [0xfde90064, 0xffffff01],
  originatorId: '192.0.2.3',
  clusterList: ['192.0.2.4', '192.0.2.5'],
  largeCommunities: [
    [4200000001, 1, 2],
    [65001, 0, 4294967295],
  ],
  // RFC 4360 extended communities: not decoded by the codec, kept as an optional transitive attribute.
  unknown: [{ flags: 0xe0, type: 16, value: Uint8Array.from([0x00, 0x02, 0xfd, 0xe9, 0x00, 0x00, 0x00, 0x64, 0x01, 0x03, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x01]) }],
};

function messages(): { name: string; options: number; message: BgpMessage }[] {
  const out: { name: string; options: number; message: BgpMessage }[] = [];
  const add = (name: string, options: number, message: BgpMessage): void => void out.push({ name, options, message });
  add('keepalive', 0, { type: 'keepalive' });
  add('open every capability', 0, {
    type: 'open',
    version: 4,
    myAs: 4200000001,
    holdTime: 90,
    bgpId: '192.0.2.1',
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'enhancedRouteRefresh' },
      { kind: 'extendedMessage' },
      { kind: 'gracefulRestart', restartFlags: 0xc, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: false }] },
      { kind: 'addPath', families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 1 }] },
      { kind: 'unknown', code: 73, value: Uint8Array.from([4, 0x6e, 0x6f, 0x64, 0x65, 0]) },
      { kind: 'fourOctetAs', asn: 4200000001 },
    ],
  });
  add('open 2-octet minimal', 0, { type: 'open', version: 4, myAs: 65001, holdTime: 3, bgpId: '10.0.0.1', capabilities: [] });
  add('open extended optional parameters (RFC 9072)', 0, {
    type: 'open',
    version: 4,
    myAs: 65001,
    holdTime: 180,
    bgpId: '10.0.0.2',
    capabilities: [...Array.from({ length: 70 }, (_, i) => ({ kind: 'multiprotocol' as const, afi: 1 + (i % 2), safi: 1 + (i % 3) })), { kind: 'fourOctetAs', asn: 65001 }],
  });
  add('update every attribute', 1, { type: 'update', withdrawn: [p4('10.9.0.0/16')], attributes: EVERY_ATTRIBUTE, nlri: [p4('10.1.0.0/16'), p4('10.2.3.0/24'), p4('0.0.0.0/0'), p4('192.0.2.128/25'), p4('192.0.2.77/32')] });
  add('update every attribute, 2-octet session (AS4_PATH, AS4_AGGREGATOR)', 0, {
    type: 'update',
    withdrawn: [],
    attributes: { ...EVERY_ATTRIBUTE, asPath: [{ type: 'sequence', asns: [65001, 4200000001, 174, 4200000002] }, { type: 'set', asns: [4200000003, 64512] }] },
    nlri: [p4('10.1.0.0/16')],
  });
  add('update MP_REACH IPv6 with link-local next hop', 1, {
    type: 'update',
    withdrawn: [],
    attributes: {
      origin: 0,
      asPath: [{ type: 'sequence', asns: [65001] }],
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nextHopLinkLocal: 'fe80::1', nlri: ['2001:db8:1::/48', '2001:db8:2:3::/64', '::/0', '2001:db8::1/128'] },
      communities: [1],
    },
    nlri: [],
  });
  add('update MP_UNREACH IPv6', 1, { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48', '2001:db8:ff00::/40'] } }, nlri: [] });
  add('update MP_REACH and MP_UNREACH IPv6 with ADD-PATH', 2, {
    type: 'update',
    withdrawn: [p4('10.0.0.0/8')],
    withdrawnPathIds: [7],
    attributes: {
      origin: 2,
      asPath: [{ type: 'sequence', asns: [65001, 65002] }],
      nextHop: '192.0.2.1',
      mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: ['2001:db8:1::/48'], pathIds: [1] },
      mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:2::/48'], pathIds: [2] },
    },
    nlri: [p4('10.3.0.0/16')],
    nlriPathIds: [3],
  });
  add('update IPv4 NLRI over an IPv6 next hop (RFC 8950)', 1, {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [65001] }], mpReach: { afi: 1, safi: 1, nextHop: '2001:db8::1', nlri: [p4('10.4.0.0/16')] } },
    nlri: [],
  });
  add('update MP_REACH of an unknown family (kept raw)', 1, {
    type: 'update',
    withdrawn: [],
    attributes: {
      origin: 0,
      asPath: [],
      mpReach: { afi: 25, safi: 70, nextHop: '', nlri: [], nextHopRaw: Uint8Array.from([192, 0, 2, 1]), nlriRaw: Uint8Array.from([0, 0x18, 1, 2, 3]) },
      mpUnreach: { afi: 16388, safi: 133, withdrawn: [], withdrawnRaw: Uint8Array.from([0x20, 1, 2, 3, 4]) },
    },
    nlri: [],
  });
  add('update first AS enforced', 3, { type: 'update', withdrawn: [], attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [65001, 65002] }], nextHop: '192.0.2.1', med: 0 }, nlri: [p4('10.5.0.0/24')] });
  add('update confederation member, 2-octet, extended', 4, {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 'confed-set', asns: [65020] }, { type: 'sequence', asns: [70000, 65001] }], nextHop: '192.0.2.1', localPref: 100, aggregator: { asn: 70000, address: '192.0.2.2' } },
    nlri: [p4('10.6.0.0/15')],
  });
  add('end-of-rib IPv4', 1, { type: 'update', withdrawn: [], attributes: {}, nlri: [] });
  add('end-of-rib IPv6', 1, { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } }, nlri: [] });
  add('withdraw only', 0, { type: 'update', withdrawn: [p4('192.0.2.0/24'), p4('198.51.100.0/22')], attributes: {}, nlri: [] });
  add('notification cease with shutdown message', 0, { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: 'maintenance ✓' });
  add('notification update error with data', 0, { type: 'notification', code: 3, subcode: 11, data: Uint8Array.from([0x40, 0x02, 0x00]) });
  add('route-refresh', 0, { type: 'routeRefresh', afi: 1, safi: 1, subtype: 0 });
  add('route-refresh BoRR', 0, { type: 'routeRefresh', afi: 2, safi: 1, subtype: 1 });
  add('update extended message (> 4096 octets)', 2, {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [65001] }], nextHop: '192.0.2.1', communities: Array.from({ length: 1100 }, (_, i) => 0xfde90000 + i) },
    nlri: [p4('10.7.0.0/16')],
    nlriPathIds: [9],
  });
  return out;
}

/** The seed messages as bytes, each with the options it was encoded for. */
export function bgpSeeds(): BgpSeed[] {
  return messages().map(({ name, options, message }) => {
    const o = OPTION_SETS[options] as CodecOptions;
    return { name, options: o, bytes: Uint8Array.from(encodeMessage(message, o)) };
  });
}
