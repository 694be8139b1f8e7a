// A path: one route to a prefix as learned from one source (a peer, or our own announcements),
// i.e. the pair (source, interned attribute set). Paths are shared by every prefix that arrived
// with the same attributes from the same source, so a 1M-prefix table from one peer holds a
// handful of Path objects, not a million. Graceful-restart staleness is not stored here: it is
// where the Adj-RIB-In keeps the route (see adj-rib-in.ts).
import type { Attributes } from './attributes.js';
import { parseIpv4, parseIpv6 } from './prefix.js';

/** What the decision process needs to know about where a path came from. */
export interface PathSource {
  /** Unique id of the source: the peer's address text. */
  readonly id: string;
  readonly address: string;
  /** The peer's BGP identifier (router ID) as an unsigned 32-bit number. */
  readonly routerId: number;
  /** The peer's AS. */
  readonly asn: number;
  /** Internal peer (same AS): LOCAL_PREF is meaningful, loses to eBGP at §9.1.2.2 d). */
  readonly ibgp: boolean;
  /** Route-reflector client of ours (RFC 4456). */
  readonly rrClient: boolean;
  /** 32 hex digits of the address as IPv6 (IPv4-mapped), for "lowest peer address" ordering. */
  readonly addressOrder: string;
}

export interface Path {
  readonly source: PathSource;
  readonly attrs: Attributes;
}

export function addressOrder(address: string): string {
  if (address.includes(':')) return Buffer.from(parseIpv6(address)).toString('hex');
  return `00000000000000000000ffff${parseIpv4(address).toString(16).padStart(8, '0')}`;
}

export function makeSource(fields: Omit<PathSource, 'addressOrder'>): PathSource {
  return Object.freeze({ ...fields, addressOrder: addressOrder(fields.address) });
}

/** Router IDs are dotted quads on the wire and in config; numbers in comparisons. */
export function routerIdNumber(id: string | number): number {
  return typeof id === 'number' ? id >>> 0 : parseIpv4(id);
}
