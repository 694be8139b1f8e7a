// The path attribute table, like BIRD's attrs.c: one row per attribute type with its expected
// flags, its RFC 7606 action when malformed, a decoder and an encoder. Rows: RFC 4271 §5 ORIGIN,
// AS_PATH, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR; RFC 1997
// COMMUNITIES; RFC 4456 ORIGINATOR_ID, CLUSTER_LIST; RFC 4760 MP_REACH_NLRI / MP_UNREACH_NLRI
// (RFC 2545 link-local and RFC 8950 IPv6 next hops, RFC 7911 path ids); RFC 6793 AS4_PATH,
// AS4_AGGREGATOR; RFC 8092 LARGE_COMMUNITY. The list walk and RFC 7606 bookkeeping are in
// attributes.ts.
import { decodeAsPath, encodeAsPath } from './as-path.js';
import { needsAs4, toAs4Path, toTwoOctetPath } from './as4.js';
import { copyBytes, ipv4FromBytes, ipv4FromText, ipv4ToText, ipv6FromText, ipv6ParseInto, ipv6ToText, type Writer } from './bytes.js';
import {
  ErrorAction,
  UPDATE_ATTRIBUTE_LENGTH_ERROR,
  UPDATE_INVALID_NEXT_HOP_ATTRIBUTE,
  UPDATE_INVALID_ORIGIN_ATTRIBUTE,
  UPDATE_MALFORMED_AS_PATH,
  UPDATE_MALFORMED_ATTRIBUTE_LIST,
  UPDATE_OPTIONAL_ATTRIBUTE_ERROR,
} from './errors.js';
import { decodePrefixes, encodePrefixes } from './nlri.js';
import { hasAddPath, type CodecOptions } from './options.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  ATTR_AGGREGATOR,
  ATTR_AS4_AGGREGATOR,
  ATTR_AS4_PATH,
  ATTR_AS_PATH,
  ATTR_ATOMIC_AGGREGATE,
  ATTR_CLUSTER_LIST,
  ATTR_COMMUNITIES,
  ATTR_FLAG_EXTENDED_LENGTH,
  ATTR_FLAG_OPTIONAL,
  ATTR_FLAG_TRANSITIVE,
  ATTR_LARGE_COMMUNITY,
  ATTR_LOCAL_PREF,
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  ATTR_MULTI_EXIT_DISC,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  ATTR_ORIGINATOR_ID,
  SAFI_MULTICAST,
  SAFI_UNICAST,
  type Aggregator,
  type AsPathSegment,
  type LargeCommunity,
  type MpReachNlri,
  type MpUnreachNlri,
  type PathAttributes,
  type UpdateErrorReport,
} from './types.js';

const WELL_KNOWN = ATTR_FLAG_TRANSITIVE;
const OPTIONAL = ATTR_FLAG_OPTIONAL;
export const OPTIONAL_TRANSITIVE = ATTR_FLAG_OPTIONAL | ATTR_FLAG_TRANSITIVE;

/** A malformation found by a row decoder: subcode, why, and (when not the row's) the action. */
interface Malformed {
  subcode: number;
  reason: string;
  action?: ErrorAction;
  /** NOTIFICATION data when not the whole attribute (RFC 4271 gives none for Malformed AS_PATH). */
  data?: Uint8Array;
}

/** Attribute type codes seen in one UPDATE: a 256-bit set as eight 32-bit words. */
export type SeenTypes = number[];

/** Decode-time state of one UPDATE's attribute list. */
export interface AttributeContext {
  options: CodecOptions;
  attrs: PathAttributes;
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  report?: UpdateErrorReport;
}

export interface AttributeRow {
  type: number;
  name: string;
  /** Expected Optional and Transitive bits. */
  flags: number;
  /** RFC 7606 action when this attribute is malformed (flags, length or value). */
  onMalformed: ErrorAction;
  decode(v: Uint8Array, ctx: AttributeContext): Malformed | undefined;
  encode(a: PathAttributes, o: CodecOptions, w: Writer): void;
}

const u16 = (v: Uint8Array, at: number): number => ((v[at] ?? 0) << 8) | (v[at + 1] ?? 0);
const u32 = (v: Uint8Array, at: number): number => ipv4FromBytes(v, at);

function lengthError(name: string, len: number, expected: string): Malformed {
  return { subcode: UPDATE_ATTRIBUTE_LENGTH_ERROR, reason: `${name} length ${len}, expected ${expected}` };
}

/** Write one attribute: flags, type, length (extended only when needed), then `body`. */
export function writeAttribute(w: Writer, flags: number, type: number, body: (w: Writer) => void): void {
  const start = w.pos;
  w.u8(flags | ATTR_FLAG_EXTENDED_LENGTH);
  w.u8(type);
  const lenAt = w.reserve(2);
  body(w);
  const len = w.pos - lenAt - 2;
  if (len > 0xffff) throw new RangeError(`attribute ${type} is ${len} octets, over 65535`);
  if (len <= 255) {
    w.buf.copyWithin(lenAt + 1, lenAt + 2, w.pos);
    w.pos -= 1;
    w.putU8(start, flags & ~ATTR_FLAG_EXTENDED_LENGTH);
    w.putU8(lenAt, len);
  } else {
    w.putU16(lenAt, len);
  }
}

function ipv4OrThrow(text: string, what: string): number {
  const v = ipv4FromText(text);
  if (Number.isNaN(v)) throw new RangeError(`${what} "${text}" is not an IPv4 address`);
  return v;
}

function decodeMpNextHop(afi: number, safi: number, nh: Uint8Array, into: MpReachNlri): string | undefined {
  // IPv6 next hops, also for IPv4 NLRI (RFC 8950, 16 or 32 octets).
  if (afi === AFI_IPV6 || nh.length === 16 || nh.length === 32) {
    if (nh.length !== 16 && nh.length !== 32) return `IPv6 next hop length ${nh.length}, expected 16 or 32`;
    into.nextHop = ipv6ToText(nh, 0);
    if (nh.length === 32) into.nextHopLinkLocal = ipv6ToText(nh, 16);
    return undefined;
  }
  if (nh.length !== 4) return `IPv4 next hop length ${nh.length}, expected 4`;
  into.nextHop = ipv4ToText(u32(nh, 0));
  void safi;
  return undefined;
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  return ipv6ParseInto(text, text.length, out) ? out : ipv6FromText(text);
}

function knownFamily(afi: number, safi: number): boolean {
  return (afi === AFI_IPV4 || afi === AFI_IPV6) && (safi === SAFI_UNICAST || safi === SAFI_MULTICAST);
}

export const ROWS: AttributeRow[] = [
  {
    type: ATTR_ORIGIN,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.1
    decode(v, ctx) {
      if (v.length !== 1) return lengthError('ORIGIN', v.length, '1');
      const o = v[0] ?? 0;
      if (o > 2) return { subcode: UPDATE_INVALID_ORIGIN_ATTRIBUTE, reason: `ORIGIN value ${o}` };
      ctx.attrs.origin = o as 0 | 1 | 2;
      return undefined;
    },
    encode(a, _o, w) {
      if (a.origin !== undefined) writeAttribute(w, WELL_KNOWN, ATTR_ORIGIN, (x) => x.u8(a.origin ?? 0));
    },
  },
  {
    type: ATTR_AS_PATH,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.2
    decode(v, ctx) {
      const path = decodeAsPath(v, ctx.options.fourOctetAs ? 4 : 2);
      if (typeof path === 'string') return { subcode: UPDATE_MALFORMED_AS_PATH, reason: `AS_PATH: ${path}`, data: new Uint8Array(0) };
      const peer = ctx.options.peer;
      if (peer?.external === true && peer.confederationMember !== true && path.some((s) => s.type === 'confed-sequence' || s.type === 'confed-set')) {
        return { subcode: UPDATE_MALFORMED_AS_PATH, reason: 'AS_PATH: confederation segment from an external peer', data: new Uint8Array(0) };
      }
      const first = peer?.enforceFirstAs;
      if (peer?.external === true && first !== undefined && ctx.options.fourOctetAs && !(path[0]?.type === 'sequence' && path[0].asns[0] === first)) {
        return { subcode: UPDATE_MALFORMED_AS_PATH, reason: `AS_PATH does not start with the peer's AS ${first}`, data: new Uint8Array(0) };
      }
      ctx.attrs.asPath = path;
      return undefined;
    },
    encode(a, o, w) {
      const path = a.asPath;
      if (path === undefined) return;
      writeAttribute(w, WELL_KNOWN, ATTR_AS_PATH, (x) => encodeAsPath(x, o.fourOctetAs ? path : toTwoOctetPath(path), o.fourOctetAs ? 4 : 2));
    },
  },
  {
    type: ATTR_NEXT_HOP,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.3
    decode(v, ctx) {
      if (v.length !== 4) return lengthError('NEXT_HOP', v.length, '4');
      const first = v[0] ?? 0;
      // Not a valid host address (RFC 4271 §6.3): this network, loopback, multicast, class E.
      if (first === 0 || first === 127 || first >= 224) return { subcode: UPDATE_INVALID_NEXT_HOP_ATTRIBUTE, reason: `NEXT_HOP ${ipv4ToText(u32(v, 0))}` };
      ctx.attrs.nextHop = ipv4ToText(u32(v, 0));
      return undefined;
    },
    encode(a, _o, w) {
      if (a.nextHop === undefined) return;
      const nh = ipv4OrThrow(a.nextHop, 'NEXT_HOP');
      writeAttribute(w, WELL_KNOWN, ATTR_NEXT_HOP, (x) => x.u32(nh));
    },
  },
  {
    type: ATTR_MULTI_EXIT_DISC,
    name: 'MULTI_EXIT_DISC',
    flags: OPTIONAL,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.4
    decode(v, ctx) {
      if (v.length !== 4) return lengthError('MULTI_EXIT_DISC', v.length, '4');
      ctx.attrs.med = u32(v, 0);
      return undefined;
    },
    encode(a, _o, w) {
      if (a.med !== undefined) writeAttribute(w, OPTIONAL, ATTR_MULTI_EXIT_DISC, (x) => x.u32(a.med ?? 0));
    },
  },
  {
    type: ATTR_LOCAL_PREF,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.5
    decode(v, ctx) {
      if (ctx.options.peer?.external === true && ctx.options.peer.confederationMember !== true) {
        return { subcode: UPDATE_MALFORMED_ATTRIBUTE_LIST, reason: 'LOCAL_PREF from an external peer', action: ErrorAction.AttributeDiscard };
      }
      if (v.length !== 4) return lengthError('LOCAL_PREF', v.length, '4');
      ctx.attrs.localPref = u32(v, 0);
      return undefined;
    },
    encode(a, _o, w) {
      if (a.localPref !== undefined) writeAttribute(w, WELL_KNOWN, ATTR_LOCAL_PREF, (x) => x.u32(a.localPref ?? 0));
    },
  },
  {
    type: ATTR_ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.AttributeDiscard, // RFC 7606 §7.6
    decode(v, ctx) {
      if (v.length !== 0) return lengthError('ATOMIC_AGGREGATE', v.length, '0');
      ctx.attrs.atomicAggregate = true;
      return undefined;
    },
    encode(a, _o, w) {
      if (a.atomicAggregate === true) writeAttribute(w, WELL_KNOWN, ATTR_ATOMIC_AGGREGATE, () => undefined);
    },
  },
  {
    type: ATTR_AGGREGATOR,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onMalformed: ErrorAction.AttributeDiscard, // RFC 7606 §7.7
    decode(v, ctx) {
      const size = ctx.options.fourOctetAs ? 8 : 6;
      if (v.length !== size) return lengthError('AGGREGATOR', v.length, String(size));
      const asn = size === 8 ? u32(v, 0) : u16(v, 0);
      // RFC 7607: an AGGREGATOR naming AS 0 is malformed.
      if (asn === 0) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: 'AGGREGATOR AS 0' };
      ctx.attrs.aggregator = { asn, address: ipv4ToText(u32(v, size - 4)) };
      return undefined;
    },
    encode(a, o, w) {
      const ag = a.aggregator;
      if (ag === undefined) return;
      const addr = ipv4OrThrow(ag.address, 'AGGREGATOR address');
      writeAttribute(w, OPTIONAL_TRANSITIVE, ATTR_AGGREGATOR, (x) => {
        if (o.fourOctetAs) x.u32(ag.asn);
        else x.u16(ag.asn > 0xffff ? 23456 : ag.asn);
        x.u32(addr);
      });
    },
  },
  {
    type: ATTR_COMMUNITIES,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.8
    decode(v, ctx) {
      if (v.length === 0 || v.length % 4 !== 0) return lengthError('COMMUNITIES', v.length, 'a non-zero multiple of 4');
      const list = new Array<number>(v.length / 4);
      for (let i = 0; i < list.length; i++) list[i] = u32(v, 4 * i);
      ctx.attrs.communities = list;
      return undefined;
    },
    encode(a, _o, w) {
      const list = a.communities;
      if (list !== undefined && list.length > 0) writeAttribute(w, OPTIONAL_TRANSITIVE, ATTR_COMMUNITIES, (x) => list.forEach((c) => x.u32(c)));
    },
  },
  {
    type: ATTR_ORIGINATOR_ID,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.9
    decode(v, ctx) {
      if (ctx.options.peer?.external === true && ctx.options.peer.confederationMember !== true) {
        return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: 'ORIGINATOR_ID from an external peer', action: ErrorAction.AttributeDiscard };
      }
      if (v.length !== 4) return lengthError('ORIGINATOR_ID', v.length, '4');
      ctx.attrs.originatorId = ipv4ToText(u32(v, 0));
      return undefined;
    },
    encode(a, _o, w) {
      if (a.originatorId === undefined) return;
      const id = ipv4OrThrow(a.originatorId, 'ORIGINATOR_ID');
      writeAttribute(w, OPTIONAL, ATTR_ORIGINATOR_ID, (x) => x.u32(id));
    },
  },
  {
    type: ATTR_CLUSTER_LIST,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 7606 §7.10
    decode(v, ctx) {
      if (ctx.options.peer?.external === true && ctx.options.peer.confederationMember !== true) {
        return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: 'CLUSTER_LIST from an external peer', action: ErrorAction.AttributeDiscard };
      }
      if (v.length === 0 || v.length % 4 !== 0) return lengthError('CLUSTER_LIST', v.length, 'a non-zero multiple of 4');
      const list: string[] = [];
      for (let p = 0; p < v.length; p += 4) list.push(ipv4ToText(u32(v, p)));
      ctx.attrs.clusterList = list;
      return undefined;
    },
    encode(a, _o, w) {
      const list = a.clusterList;
      if (list === undefined || list.length === 0) return;
      const ids = list.map((c) => ipv4OrThrow(c, 'CLUSTER_LIST id'));
      writeAttribute(w, OPTIONAL, ATTR_CLUSTER_LIST, (x) => ids.forEach((c) => x.u32(c)));
    },
  },
  {
    type: ATTR_MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL,
    onMalformed: ErrorAction.SessionReset, // RFC 7606 §7.11 (next hop or NLRI cannot be located)
    decode(v, ctx) {
      if (v.length < 5) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: `MP_REACH_NLRI length ${v.length}` };
      const afi = u16(v, 0);
      const safi = v[2] ?? 0;
      const nhLen = v[3] ?? 0;
      if (4 + nhLen + 1 > v.length) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: `MP_REACH_NLRI next hop length ${nhLen} overruns the attribute` };
      const nh = v.subarray(4, 4 + nhLen);
      const nlriStart = 4 + nhLen + 1; // one reserved octet (RFC 4760 §3, ignored on receipt)
      const mp: MpReachNlri = { afi, safi, nextHop: '', nlri: [] };
      if (!knownFamily(afi, safi)) {
        mp.nextHopRaw = copyBytes(nh);
        mp.nlriRaw = copyBytes(v.subarray(nlriStart));
        ctx.attrs.mpReach = mp;
        return undefined;
      }
      const bad = decodeMpNextHop(afi, safi, nh, mp);
      if (bad !== undefined) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: `MP_REACH_NLRI: ${bad}` };
      const ids = hasAddPath(ctx.options, afi, safi) ? [] : undefined;
      if (!decodePrefixes(afi, v, nlriStart, v.length, mp.nlri, ids)) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: 'MP_REACH_NLRI: malformed NLRI' };
      if (ids !== undefined) mp.pathIds = ids;
      ctx.attrs.mpReach = mp;
      return undefined;
    },
    encode(a, o, w) {
      const mp = a.mpReach;
      if (mp === undefined) return;
      writeAttribute(w, OPTIONAL, ATTR_MP_REACH_NLRI, (x) => {
        x.u16(mp.afi);
        x.u8(mp.safi);
        if (!knownFamily(mp.afi, mp.safi)) {
          const nh = mp.nextHopRaw ?? new Uint8Array(0);
          x.u8(nh.length);
          x.bytes(nh);
          x.u8(0);
          x.bytes(mp.nlriRaw ?? new Uint8Array(0));
          return;
        }
        if (mp.afi === AFI_IPV6 || mp.nextHop.includes(':')) {
          const g = ipv6Bytes(mp.nextHop);
          if (g === undefined) throw new RangeError(`MP_REACH next hop "${mp.nextHop}" is not an IPv6 address`);
          const ll = mp.nextHopLinkLocal === undefined ? undefined : ipv6Bytes(mp.nextHopLinkLocal);
          if (mp.nextHopLinkLocal !== undefined && ll === undefined) throw new RangeError(`link-local next hop "${mp.nextHopLinkLocal}" is not an IPv6 address`);
          x.u8(ll === undefined ? 16 : 32);
          x.bytes(g);
          if (ll !== undefined) x.bytes(ll);
        } else {
          x.u8(4);
          x.u32(ipv4OrThrow(mp.nextHop, 'MP_REACH next hop'));
        }
        x.u8(0);
        encodePrefixes(x, mp.afi, mp.nlri, hasAddPath(o, mp.afi, mp.safi) ? (mp.pathIds ?? []) : undefined);
      });
    },
  },
  {
    type: ATTR_MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL,
    onMalformed: ErrorAction.SessionReset, // RFC 7606 §7.12 (withdrawn NLRI cannot be parsed)
    decode(v, ctx) {
      if (v.length < 3) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: `MP_UNREACH_NLRI length ${v.length}` };
      const afi = u16(v, 0);
      const safi = v[2] ?? 0;
      const mp: MpUnreachNlri = { afi, safi, withdrawn: [] };
      if (!knownFamily(afi, safi)) {
        mp.withdrawnRaw = copyBytes(v.subarray(3));
      } else {
        const ids = hasAddPath(ctx.options, afi, safi) ? [] : undefined;
        if (!decodePrefixes(afi, v, 3, v.length, mp.withdrawn, ids)) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: 'MP_UNREACH_NLRI: malformed NLRI' };
        if (ids !== undefined) mp.pathIds = ids;
      }
      ctx.attrs.mpUnreach = mp;
      return undefined;
    },
    encode(a, o, w) {
      const mp = a.mpUnreach;
      if (mp === undefined) return;
      writeAttribute(w, OPTIONAL, ATTR_MP_UNREACH_NLRI, (x) => {
        x.u16(mp.afi);
        x.u8(mp.safi);
        if (!knownFamily(mp.afi, mp.safi)) x.bytes(mp.withdrawnRaw ?? new Uint8Array(0));
        else encodePrefixes(x, mp.afi, mp.withdrawn, hasAddPath(o, mp.afi, mp.safi) ? (mp.pathIds ?? []) : undefined);
      });
    },
  },
  {
    type: ATTR_AS4_PATH,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    onMalformed: ErrorAction.AttributeDiscard, // RFC 6793 §6, RFC 7606 §7.2 note
    decode(v, ctx) {
      if (ctx.options.fourOctetAs) return undefined; // from a 4-octet speaker: ignored (RFC 6793 §4.1)
      const path = decodeAsPath(v, 4);
      if (typeof path === 'string') return { subcode: UPDATE_MALFORMED_AS_PATH, reason: `AS4_PATH: ${path}` };
      ctx.as4Path = path;
      return undefined;
    },
    encode(a, o, w) {
      const path = a.asPath;
      if (o.fourOctetAs || path === undefined || !needsAs4(path)) return;
      const four = toAs4Path(path);
      if (four.length > 0) writeAttribute(w, OPTIONAL_TRANSITIVE, ATTR_AS4_PATH, (x) => encodeAsPath(x, four, 4));
    },
  },
  {
    type: ATTR_AS4_AGGREGATOR,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onMalformed: ErrorAction.AttributeDiscard, // RFC 6793 §6
    decode(v, ctx) {
      if (ctx.options.fourOctetAs) return undefined;
      if (v.length !== 8) return lengthError('AS4_AGGREGATOR', v.length, '8');
      // RFC 7607 §2: AS 0 here is malformed too; merged in, it became an AGGREGATOR naming AS 0.
      if (u32(v, 0) === 0) return { subcode: UPDATE_OPTIONAL_ATTRIBUTE_ERROR, reason: 'AS4_AGGREGATOR AS 0' };
      ctx.as4Aggregator = { asn: u32(v, 0), address: ipv4ToText(u32(v, 4)) };
      return undefined;
    },
    encode(a, o, w) {
      const ag = a.aggregator;
      if (o.fourOctetAs || ag === undefined || ag.asn <= 0xffff) return;
      const addr = ipv4OrThrow(ag.address, 'AGGREGATOR address');
      writeAttribute(w, OPTIONAL_TRANSITIVE, ATTR_AS4_AGGREGATOR, (x) => {
        x.u32(ag.asn);
        x.u32(addr);
      });
    },
  },
  {
    type: ATTR_LARGE_COMMUNITY,
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    onMalformed: ErrorAction.TreatAsWithdraw, // RFC 8092 §6
    decode(v, ctx) {
      if (v.length === 0 || v.length % 12 !== 0) return lengthError('LARGE_COMMUNITY', v.length, 'a non-zero multiple of 12');
      const list: LargeCommunity[] = [];
      const seen = new Set<string>();
      for (let p = 0; p < v.length; p += 12) {
        const c: LargeCommunity = [u32(v, p), u32(v, p + 4), u32(v, p + 8)];
        const key = `${c[0]}:${c[1]}:${c[2]}`;
        if (seen.has(key)) continue; // RFC 8092 §5: redundant values silently removed
        seen.add(key);
        list.push(c);
      }
      ctx.attrs.largeCommunities = list;
      return undefined;
    },
    encode(a, _o, w) {
      const list = a.largeCommunities;
      if (list === undefined || list.length === 0) return;
      writeAttribute(w, OPTIONAL_TRANSITIVE, ATTR_LARGE_COMMUNITY, (x) => {
        for (const c of list) {
          x.u32(c[0]);
          x.u32(c[1]);
          x.u32(c[2]);
        }
      });
    },
  },
];

export const TABLE: (AttributeRow | undefined)[] = [];
for (const row of ROWS) TABLE[row.type] = row;

export function attributeName(type: number): string {
  return TABLE[type]?.name ?? `attribute ${type}`;
}
