// Conversion between the codec's UPDATE messages (src/bgp/wire/types.ts) and the RIB's per-family
// updates: one decoded UPDATE becomes an IPv4 and/or an IPv6 InboundUpdate (RFC 4760: IPv4 in the
// classic fields, IPv6 in MP_REACH/MP_UNREACH), and an OutboundUpdate becomes one UPDATE. Also
// recognises and builds End-of-RIB markers (RFC 4724 §2). Attribute sets are converted once per
// message; prefix keys are the same numbers/strings on both sides, so NLRI arrays pass through.
import type { OutboundUpdate } from './adj-rib-out.js';
import type { AttributeValues, Attributes } from './attributes.js';
import type { InboundUpdate } from './peer-session.js';
import type { Afi } from './prefix.js';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST, type PathAttributes, type UpdateMessage } from '../wire/types.js';

export interface ConvertOptions {
  /** True when the codec reported treat-as-withdraw for this UPDATE (RFC 7606). */
  treatAsWithdraw?: boolean;
}

function afiOf(afi: number, safi: number): Afi | undefined {
  if (safi !== SAFI_UNICAST) return undefined;
  return afi === AFI_IPV4 ? 'ipv4' : afi === AFI_IPV6 ? 'ipv6' : undefined;
}

/** The End-of-RIB family of `msg`, if it is one (RFC 4724 §2). */
export function endOfRibFamily(msg: UpdateMessage): Afi | undefined {
  const a = msg.attributes;
  if (msg.withdrawn.length > 0 || msg.nlri.length > 0) return undefined;
  const keys = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  if (keys.length === 0) return 'ipv4';
  if (keys.length === 1 && a.mpUnreach && a.mpUnreach.withdrawn.length === 0 && !a.mpUnreach.withdrawnRaw?.length) {
    return afiOf(a.mpUnreach.afi, a.mpUnreach.safi);
  }
  return undefined;
}

function attributeValues(a: PathAttributes, nextHop: string, nextHopLinkLocal: string | undefined): AttributeValues {
  return {
    origin: a.origin ?? 0,
    asPath: a.asPath ?? [],
    nextHop,
    nextHopLinkLocal,
    med: a.med,
    localPref: a.localPref,
    atomicAggregate: a.atomicAggregate,
    aggregator: a.aggregator,
    communities: a.communities,
    largeCommunities: a.largeCommunities,
    originatorId: a.originatorId,
    clusterList: a.clusterList,
    opaque: a.unknown,
  };
}

/** The per-family updates in one decoded UPDATE (End-of-RIB excluded: check `endOfRibFamily` first). */
export function inboundFromWire(msg: UpdateMessage, options: ConvertOptions = {}): InboundUpdate[] {
  const out: InboundUpdate[] = [];
  const a = msg.attributes;
  const treatAsWithdraw = options.treatAsWithdraw === true;
  if (msg.withdrawn.length > 0 || msg.nlri.length > 0) {
    out.push({
      afi: 'ipv4',
      withdraw: msg.withdrawn,
      announce: msg.nlri,
      attrs: msg.nlri.length > 0 ? attributeValues(a, a.nextHop ?? '', undefined) : undefined,
      treatAsWithdraw,
    });
  }
  const reach = a.mpReach ? afiOf(a.mpReach.afi, a.mpReach.safi) : undefined;
  const unreach = a.mpUnreach ? afiOf(a.mpUnreach.afi, a.mpUnreach.safi) : undefined;
  for (const afi of new Set([reach, unreach])) {
    if (afi === undefined) continue;
    const announce = reach === afi ? (a.mpReach?.nlri ?? []) : [];
    const withdraw = unreach === afi ? (a.mpUnreach?.withdrawn ?? []) : [];
    if (announce.length === 0 && withdraw.length === 0) continue;
    // IPv4 via MP_REACH merges with the classic fields' family.
    const existing = out.find((u) => u.afi === afi);
    const attrs = announce.length > 0 && a.mpReach ? attributeValues(a, a.mpReach.nextHop, a.mpReach.nextHopLinkLocal) : undefined;
    if (existing) {
      existing.withdraw = [...existing.withdraw, ...withdraw];
      if (announce.length > 0) {
        out.push({ afi, withdraw: [], announce, attrs, treatAsWithdraw });
      }
    } else {
      out.push({ afi, withdraw, announce, attrs, treatAsWithdraw });
    }
  }
  return out;
}

function wireAttributes(a: Attributes): PathAttributes {
  const w: PathAttributes = { origin: a.origin, asPath: a.asPath.map((s) => ({ type: s.type, asns: [...s.asns] })) };
  if (a.med !== undefined) w.med = a.med;
  if (a.localPref !== undefined) w.localPref = a.localPref;
  if (a.atomicAggregate) w.atomicAggregate = true;
  if (a.aggregator) w.aggregator = { ...a.aggregator };
  if (a.communities.length > 0) w.communities = [...a.communities];
  if (a.largeCommunities.length > 0) w.largeCommunities = a.largeCommunities.map((c) => [c[0], c[1], c[2]]);
  if (a.originatorId !== undefined) w.originatorId = a.originatorId;
  if (a.clusterList.length > 0) w.clusterList = [...a.clusterList];
  if (a.opaque.length > 0) w.unknown = a.opaque.map((o) => ({ ...o }));
  return w;
}

/** One UPDATE for one packed OutboundUpdate. */
export function outboundToWire(u: OutboundUpdate): UpdateMessage {
  if (u.afi === 'ipv4') {
    const attributes: PathAttributes = u.attrs && u.announce.length > 0 ? { ...wireAttributes(u.attrs), nextHop: u.attrs.nextHop } : {};
    // IPv4 keys are numbers by construction (prefix.ts).
    return { type: 'update', withdrawn: u.withdraw as number[], attributes, nlri: u.announce as number[] };
  }
  const attributes: PathAttributes = u.attrs && u.announce.length > 0 ? wireAttributes(u.attrs) : {};
  if (u.withdraw.length > 0) attributes.mpUnreach = { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: u.withdraw };
  if (u.attrs && u.announce.length > 0) {
    attributes.mpReach = { afi: AFI_IPV6, safi: SAFI_UNICAST, nextHop: u.attrs.nextHop, nlri: u.announce };
    if (u.attrs.nextHopLinkLocal !== undefined) attributes.mpReach.nextHopLinkLocal = u.attrs.nextHopLinkLocal;
  }
  return { type: 'update', withdrawn: [], attributes, nlri: [] };
}

/** The End-of-RIB marker for a family. */
export function endOfRibMessage(afi: Afi): UpdateMessage {
  if (afi === 'ipv4') return { type: 'update', withdrawn: [], attributes: {}, nlri: [] };
  return { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi: AFI_IPV6, safi: SAFI_UNICAST, withdrawn: [] } }, nlri: [] };
}
