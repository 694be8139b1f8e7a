// The path attributes a route carries inside the RIB (RFC 4271 §5, RFC 1997 communities,
// RFC 8092 large communities, RFC 4456 ORIGINATOR_ID/CLUSTER_LIST), and the table that interns
// them: a full Internet table has ~1M prefixes but only tens of thousands of distinct attribute
// sets, so identical sets become one frozen object shared by every prefix (and comparisons in the
// decision process become pointer comparisons). Sets are reference counted and leave the table
// when the last route using them goes.
//
// This is the RIB's own model, decoupled from the wire codec's message types: the speaker converts
// once per UPDATE, never per prefix. Next hops live here too (they are an attribute); the NLRI do not.

export const ORIGIN_IGP = 0;
export const ORIGIN_EGP = 1;
export const ORIGIN_INCOMPLETE = 2;
export type Origin = 0 | 1 | 2;

export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';
export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

/** An attribute the RIB does not interpret, passed on as received (optional transitive ones). */
export interface OpaqueAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

export interface AttributeValues {
  origin: Origin;
  asPath: readonly AsPathSegment[];
  /** IPv4 or IPv6 (global) next hop address text. */
  nextHop: string;
  /** IPv6 link-local next hop, when the MP_REACH carried two (RFC 2545). */
  nextHopLinkLocal?: string | undefined;
  med?: number | undefined;
  localPref?: number | undefined;
  atomicAggregate?: boolean | undefined;
  aggregator?: { readonly asn: number; readonly address: string } | undefined;
  /** RFC 1997 communities as 32-bit numbers (high 16 bits = AS). */
  communities?: readonly number[] | undefined;
  largeCommunities?: readonly (readonly [number, number, number])[] | undefined;
  originatorId?: string | undefined;
  clusterList?: readonly string[] | undefined;
  opaque?: readonly OpaqueAttribute[] | undefined;
}

/** An interned, frozen attribute set; never mutate: derive a new set with `table.derive`. */
export interface Attributes extends Readonly<Required<Pick<AttributeValues, 'origin' | 'asPath' | 'nextHop'>>> {
  readonly nextHopLinkLocal: string | undefined;
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly atomicAggregate: boolean;
  readonly aggregator: { readonly asn: number; readonly address: string } | undefined;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly (readonly [number, number, number])[];
  readonly originatorId: string | undefined;
  readonly clusterList: readonly string[];
  readonly opaque: readonly OpaqueAttribute[];
  /** RFC 4271 §9.1.2.2 a): AS_SET counts 1, confederation segments 0. */
  readonly asPathLength: number;
  /** The neighbouring AS for MED comparison: first AS of the leading AS_SEQUENCE, or undefined. */
  readonly neighbourAs: number | undefined;
  /** Canonical text of everything above; equal keys ⇔ equal sets. */
  readonly key: string;
}

export const NO_EXPORT = 0xffffff01;
export const NO_ADVERTISE = 0xffffff02;
export const NO_EXPORT_SUBCONFED = 0xffffff03;

export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === 'sequence') n += s.asns.length;
    else if (s.type === 'set') n += 1;
  }
  return n;
}

export function neighbourAs(segments: readonly AsPathSegment[]): number | undefined {
  // Confederation segments come first on paths inside a confederation; the neighbour AS that MED
  // comparison cares about is the first AS outside it.
  for (const s of segments) {
    if (s.type === 'confed-sequence' || s.type === 'confed-set') continue;
    return s.type === 'sequence' ? s.asns[0] : undefined;
  }
  return undefined;
}

export function asPathContains(segments: readonly AsPathSegment[], asn: number): boolean {
  return segments.some((s) => s.asns.includes(asn));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function canonicalKey(v: AttributeValues): string {
  // One string per attribute set; built once per UPDATE, never per prefix.
  const path = v.asPath.map((s) => `${s.type[0]}${s.type.startsWith('confed') ? (s.type.endsWith('set') ? 'S' : 'Q') : ''}${s.asns.join(',')}`).join(' ');
  return [
    v.origin,
    path,
    v.nextHop,
    v.nextHopLinkLocal ?? '',
    v.med ?? '',
    v.localPref ?? '',
    v.atomicAggregate === true ? 1 : 0,
    v.aggregator ? `${v.aggregator.asn}@${v.aggregator.address}` : '',
    (v.communities ?? []).join(','),
    (v.largeCommunities ?? []).map((c) => c.join(':')).join(','),
    v.originatorId ?? '',
    (v.clusterList ?? []).join(','),
    (v.opaque ?? []).map((o) => `${o.type}/${o.flags}/${hex(o.value)}`).join(','),
  ].join('|');
}

interface Entry {
  attrs: Attributes;
  refs: number;
}

/** Interns attribute sets; one per speaker (sets are shared across peers and families). */
export class AttributeTable {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /** The shared set equal to `values` (not yet referenced: call `retain` for each user). */
  intern(values: AttributeValues): Attributes {
    const key = canonicalKey(values);
    const found = this.entries.get(key);
    if (found) return found.attrs;
    const attrs: Attributes = Object.freeze({
      origin: values.origin,
      asPath: Object.freeze(values.asPath.map((s) => Object.freeze({ type: s.type, asns: Object.freeze([...s.asns]) }))),
      nextHop: values.nextHop,
      nextHopLinkLocal: values.nextHopLinkLocal,
      med: values.med,
      localPref: values.localPref,
      atomicAggregate: values.atomicAggregate === true,
      aggregator: values.aggregator ? Object.freeze({ ...values.aggregator }) : undefined,
      communities: Object.freeze([...(values.communities ?? [])]),
      largeCommunities: Object.freeze((values.largeCommunities ?? []).map((c) => Object.freeze([c[0], c[1], c[2]] as const))),
      originatorId: values.originatorId,
      clusterList: Object.freeze([...(values.clusterList ?? [])]),
      opaque: Object.freeze([...(values.opaque ?? [])]),
      asPathLength: asPathLength(values.asPath),
      neighbourAs: neighbourAs(values.asPath),
      key,
    });
    this.entries.set(key, { attrs, refs: 0 });
    return attrs;
  }

  /** A new interned set: `base` with `changes` applied. */
  derive(base: Attributes, changes: Partial<AttributeValues>): Attributes {
    return this.intern({ ...base, ...changes });
  }

  retain(attrs: Attributes, count = 1): void {
    const e = this.entries.get(attrs.key);
    if (e) e.refs += count;
  }

  release(attrs: Attributes, count = 1): void {
    const e = this.entries.get(attrs.key);
    if (!e) return;
    e.refs -= count;
    if (e.refs <= 0) this.entries.delete(attrs.key);
  }

  /** Drop `attrs` if nobody retained it (it was interned only to be looked at). */
  sweepOne(attrs: Attributes): void {
    const e = this.entries.get(attrs.key);
    if (e && e.refs <= 0) this.entries.delete(attrs.key);
  }

  /** Drop sets nobody retained (interned for a lookup, then filtered out). */
  sweep(): void {
    for (const [key, e] of this.entries) if (e.refs <= 0) this.entries.delete(key);
  }
}

/** Plain values of a set, for `derive`-style edits and tests. */
export function valuesOf(a: Attributes): AttributeValues {
  return {
    origin: a.origin,
    asPath: a.asPath,
    nextHop: a.nextHop,
    nextHopLinkLocal: a.nextHopLinkLocal,
    med: a.med,
    localPref: a.localPref,
    atomicAggregate: a.atomicAggregate,
    aggregator: a.aggregator,
    communities: a.communities,
    largeCommunities: a.largeCommunities,
    originatorId: a.originatorId,
    clusterList: a.clusterList,
    opaque: a.opaque,
  };
}
