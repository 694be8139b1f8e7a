// Adj-RIB-Out (RFC 4271 §3.2, §9.2) for one peer and one address family, declarative in the style
// of MetalLB's native speaker: the owner states what should be advertised (`set` for the whole
// table, `setRoute` for one prefix); this diffs against what was already sent and `drain` returns
// the UPDATEs to send: prefixes sharing an attribute set packed together, each message within the
// peer's maximum message size (4096, or 65535 with RFC 8654 extended messages), and withdrawals
// for whatever is no longer wanted. Unlike MetalLB it remembers nothing it did not send: while
// the session is down the desired table accumulates, and `reset` after a drop makes the next
// `drain` a full initial advertisement.
//
// Attributes here are already the ones for this peer (next hop, AS_PATH, LOCAL_PREF rewritten by
// the export step); this file only decides what to send and how to pack it. IPv6 NLRI travel in
// MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), which the size accounting includes.
import type { Attributes, AttributeTable } from './attributes.js';
import type { Afi, PrefixKey } from './prefix.js';
import { prefixLength } from './prefix.js';
import { PrefixMap } from './prefix-map.js';

/** One UPDATE's worth: withdrawals and/or prefixes announced with one attribute set. */
export interface OutboundUpdate {
  afi: Afi;
  withdraw: PrefixKey[];
  /** Present when `announce` is non-empty. */
  attrs: Attributes | undefined;
  announce: PrefixKey[];
}

export interface AdjRibOutOptions {
  /** 4096, or 65535 with extended messages negotiated. */
  maxMessageSize?: number;
  /** Encoded size of the attributes other than MP_REACH (default: a safe upper bound). */
  attributesSize?: (attrs: Attributes, afi: Afi) => number;
  /** Interning table the sets come from: sets held here are retained in it, so it can be swept. */
  table?: AttributeTable;
}

const HEADER = 19;
/** Withdrawn Routes Length + Total Path Attribute Length. */
const UPDATE_FIXED = HEADER + 2 + 2;

export function nlriSize(key: PrefixKey): number {
  return 1 + Math.ceil(prefixLength(key) / 8);
}

/**
 * An upper bound of the encoded size of an attribute set (4-octet ASes, 4-byte attribute headers),
 * excluding MP_REACH_NLRI: overestimating only costs a little packing, underestimating would
 * produce an oversized message.
 */
export function estimateAttributesSize(a: Attributes, afi: Afi): number {
  const H = 4;
  let n = H + 1; // ORIGIN
  n += H + a.asPath.reduce((s, seg) => s + 2 + 4 * seg.asns.length, 0); // AS_PATH
  n += H + a.asPath.reduce((s, seg) => s + 2 + 4 * seg.asns.length, 0); // AS4_PATH when 2-octet
  if (afi === 'ipv4') n += H + 4; // NEXT_HOP
  if (a.med !== undefined) n += H + 4;
  if (a.localPref !== undefined) n += H + 4;
  if (a.atomicAggregate) n += H;
  if (a.aggregator) n += 2 * (H + 8); // AGGREGATOR (+ AS4_AGGREGATOR)
  if (a.communities.length > 0) n += H + 4 * a.communities.length;
  if (a.largeCommunities.length > 0) n += H + 12 * a.largeCommunities.length;
  if (a.originatorId !== undefined) n += H + 4;
  if (a.clusterList.length > 0) n += H + 4 * a.clusterList.length;
  for (const o of a.opaque) n += H + o.value.length;
  return n;
}

/** MP_REACH_NLRI without its NLRI: header, AFI, SAFI, next hop length and value, reserved. */
function mpReachOverhead(a: Attributes): number {
  return 4 + 2 + 1 + 1 + (a.nextHopLinkLocal !== undefined ? 32 : 16) + 1;
}

/** MP_UNREACH_NLRI without its NLRI: header, AFI, SAFI. */
const MP_UNREACH_OVERHEAD = 4 + 2 + 1;

export class AdjRibOut {
  /** What the peer has been sent (and not withdrawn). */
  private readonly sent = new PrefixMap<Attributes>();
  /** Differences from `sent` still to send: attributes to announce, null to withdraw. */
  private pendingChanges = new Map<PrefixKey, Attributes | null>();
  maxMessageSize: number;
  private readonly attributesSize: (attrs: Attributes, afi: Afi) => number;
  private readonly table: AttributeTable | undefined;
  /** References to each set from `sent` and `pendingChanges`. */
  private readonly held = new Map<Attributes, number>();

  constructor(
    readonly afi: Afi,
    options: AdjRibOutOptions = {},
  ) {
    this.maxMessageSize = options.maxMessageSize ?? 4096;
    this.attributesSize = options.attributesSize ?? estimateAttributesSize;
    this.table = options.table;
  }

  private hold(a: Attributes | null | undefined): void {
    if (!a) return;
    const n = this.held.get(a) ?? 0;
    this.held.set(a, n + 1);
    if (n === 0) this.table?.retain(a);
  }

  private drop(a: Attributes | null | undefined): void {
    if (!a) return;
    const n = (this.held.get(a) ?? 0) - 1;
    if (n > 0) {
      this.held.set(a, n);
      return;
    }
    this.held.delete(a);
    this.table?.release(a);
  }

  private setPending(key: PrefixKey, a: Attributes | null | undefined): void {
    const old = this.pendingChanges.get(key);
    if (a === undefined) this.pendingChanges.delete(key);
    else this.pendingChanges.set(key, a);
    this.hold(a);
    this.drop(old);
  }

  private setSent(key: PrefixKey, a: Attributes | undefined): void {
    const old = this.sent.get(key);
    if (a === undefined) this.sent.delete(key);
    else this.sent.set(key, a);
    this.hold(a);
    this.drop(old);
  }

  /** Prefixes currently advertised to the peer. */
  get advertised(): number {
    return this.sent.size;
  }

  get pending(): boolean {
    return this.pendingChanges.size > 0;
  }

  sentAttributes(key: PrefixKey): Attributes | undefined {
    return this.sent.get(key);
  }

  /** What the peer will have once everything pending is sent. */
  desired(): Map<PrefixKey, Attributes> {
    const out = new Map(this.sent.entries());
    for (const [k, a] of this.pendingChanges) {
      if (a === null) out.delete(k);
      else out.set(k, a);
    }
    return out;
  }

  /** Declare the whole table this peer should have. */
  set(desired: ReadonlyMap<PrefixKey, Attributes>): void {
    for (const k of [...this.pendingChanges.keys()]) if (!desired.has(k) && !this.sent.has(k)) this.setPending(k, undefined);
    for (const [k, a] of desired) this.setRoute(k, a);
    for (const k of this.sent.keys()) if (!desired.has(k)) this.setPending(k, null);
  }

  /** Declare one prefix: attributes to advertise it with, or undefined to not advertise it. */
  setRoute(key: PrefixKey, attrs: Attributes | undefined): void {
    // Most calls during a table load say "not for this peer" about a prefix it never had.
    if (attrs === undefined && this.pendingChanges.size === 0 && this.sent.size === 0) return;
    const sent = this.sent.get(key);
    if (sent === attrs) this.setPending(key, undefined);
    else this.setPending(key, attrs ?? null);
  }

  /** The session went down: nothing is advertised any more; everything desired is pending. */
  reset(): void {
    const desired = this.desired();
    const previouslyHeld = [...this.held.keys()];
    this.held.clear();
    this.sent.clear();
    this.pendingChanges.clear();
    for (const [k, a] of desired) this.setPending(k, a);
    // Released only after the new holds, so a set still in use never leaves the table in between.
    for (const a of previouslyHeld) this.table?.release(a);
  }

  /** Forget everything (peer removed). */
  clear(): void {
    for (const a of this.held.keys()) this.table?.release(a);
    this.held.clear();
    this.sent.clear();
    this.pendingChanges.clear();
  }

  /** Route refresh (RFC 2918): re-advertise everything, as if nothing had been sent. */
  refresh(): void {
    this.reset();
  }

  /** The packed UPDATEs that bring the peer to the desired table; marks them as sent. */
  drain(): OutboundUpdate[] {
    if (this.pendingChanges.size === 0) return [];
    const withdraw: PrefixKey[] = [];
    const groups = new Map<Attributes, PrefixKey[]>();
    for (const [k, a] of this.pendingChanges) {
      if (a === null) {
        withdraw.push(k);
        this.setSent(k, undefined);
      } else {
        let g = groups.get(a);
        if (!g) groups.set(a, (g = []));
        g.push(k);
        this.setSent(k, a);
      }
      this.drop(a);
    }
    this.pendingChanges = new Map();
    const out: OutboundUpdate[] = [];
    const max = this.maxMessageSize;
    if (withdraw.length > 0) {
      const room = max - UPDATE_FIXED - (this.afi === 'ipv6' ? MP_UNREACH_OVERHEAD : 0);
      for (const chunk of pack(withdraw, room)) out.push({ afi: this.afi, withdraw: chunk, attrs: undefined, announce: [] });
    }
    for (const [attrs, keys] of groups) {
      const overhead = this.attributesSize(attrs, this.afi) + (this.afi === 'ipv6' ? mpReachOverhead(attrs) : 0);
      const room = max - UPDATE_FIXED - overhead;
      if (room < 17) throw new Error(`attributes too large for a ${max}-byte UPDATE (${overhead} bytes)`);
      for (const chunk of pack(keys, room)) out.push({ afi: this.afi, withdraw: [], attrs, announce: chunk });
    }
    return out;
  }
}

function pack(keys: PrefixKey[], room: number): PrefixKey[][] {
  const chunks: PrefixKey[][] = [];
  let chunk: PrefixKey[] = [];
  let used = 0;
  for (const k of keys) {
    const size = nlriSize(k);
    if (used + size > room && chunk.length > 0) {
      chunks.push(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(k);
    used += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
