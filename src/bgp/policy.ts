// Per-peer routing policy: import and export prefix lists, the max-prefix limit, communities added
// on export, and the well-known communities of RFC 1997 (NO_EXPORT, NO_ADVERTISE,
// NO_EXPORT_SUBCONFED). Exceeding max-prefix resets the session with Cease / Maximum Number of
// Prefixes Reached (RFC 4486 subcode 1) whose data is AFI, SAFI and the limit (RFC 4486 §4).
//
// This is deliberately not a route-map language: weft needs filters, a limit and tagging, and a
// small fixed policy is easier to get right and to explain than a general one.
import { PrefixList } from './rib/prefix-list.js';
import type { Afi, PrefixKey } from './rib/prefix.js';
import { NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED } from './rib/attributes.js';

export { PrefixList, PrefixListError, parsePrefixListEntry } from './rib/prefix-list.js';

export interface MaxPrefixConfig {
  /** Most prefixes accepted per address family. */
  limit: number;
  /** Only log when exceeded, keep the session (default false: reset with Cease). */
  warningOnly?: boolean;
}

export interface PolicyConfig {
  /** Import filter, entries "[permit|deny ]CIDR[ ge N][ le N]"; absent = accept everything. */
  importPrefixes?: readonly string[];
  /** Export filter, same syntax; absent = advertise everything the other rules allow. */
  exportPrefixes?: readonly string[];
  maxPrefix?: MaxPrefixConfig;
  /** Communities added to every route advertised to this peer ("AS:VALUE" or a well-known name). */
  exportCommunities?: readonly string[];
  /** Large communities added on export ("GA:LD1:LD2", RFC 8092). */
  exportLargeCommunities?: readonly string[];
  /** LOCAL_PREF given to routes learned from this peer when it is external (default 100). */
  importLocalPref?: number;
}

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const WELL_KNOWN: Record<string, number> = {
  'no-export': NO_EXPORT,
  'no-advertise': NO_ADVERTISE,
  'no-export-subconfed': NO_EXPORT_SUBCONFED,
  'local-as': NO_EXPORT_SUBCONFED,
  blackhole: 0xffff029a,
  'graceful-shutdown': 0xffff0000,
};

/** Parse "65000:100" or a well-known name to the 32-bit community value. */
export function parseCommunity(text: string): number {
  const named = WELL_KNOWN[text.toLowerCase()];
  if (named !== undefined) return named;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m) throw new PolicyError(`community "${text}": expected AS:VALUE (each 0-65535) or one of ${Object.keys(WELL_KNOWN).join(', ')}`);
  const as = Number(m[1]);
  const value = Number(m[2]);
  if (as > 65535 || value > 65535) throw new PolicyError(`community "${text}": both halves must be 0-65535`);
  return as * 65536 + value;
}

export function formatCommunity(value: number): string {
  return `${Math.floor(value / 65536)}:${value % 65536}`;
}

export function parseLargeCommunity(text: string): [number, number, number] {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(text);
  const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (parts.length !== 3 || parts.some((n) => n > 0xffffffff)) {
    throw new PolicyError(`large community "${text}": expected GA:LD1:LD2, each 0-4294967295`);
  }
  return parts as [number, number, number];
}

export interface AdvertiseTarget {
  /** The receiving peer is in another AS. */
  external: boolean;
  /** The receiving peer is in another member AS of our confederation. */
  confederationMember?: boolean;
}

/**
 * RFC 1997 well-known communities: NO_ADVERTISE goes to nobody, NO_EXPORT not outside the AS (a
 * confederation counts as one AS), NO_EXPORT_SUBCONFED not to any external peer.
 */
export function wellKnownAllows(communities: readonly number[], target: AdvertiseTarget): boolean {
  if (communities.length === 0) return true;
  if (communities.includes(NO_ADVERTISE)) return false;
  if (target.external || target.confederationMember === true) {
    if (communities.includes(NO_EXPORT_SUBCONFED)) return false;
    if (target.external && target.confederationMember !== true && communities.includes(NO_EXPORT)) return false;
  }
  return true;
}

/** RFC 4760 AFI/SAFI numbers of the families we carry (unicast only). */
export function afiSafi(afi: Afi): { afi: number; safi: number } {
  return afi === 'ipv4' ? { afi: 1, safi: 1 } : { afi: 2, safi: 1 };
}

/** Data of the Cease/Maximum Number of Prefixes Reached NOTIFICATION: AFI(2) SAFI(1) limit(4). */
export function maxPrefixCeaseData(afi: Afi, limit: number): Uint8Array {
  const { afi: a, safi } = afiSafi(afi);
  const data = new Uint8Array(7);
  const view = new DataView(data.buffer);
  view.setUint16(0, a);
  view.setUint8(2, safi);
  view.setUint32(3, Math.min(limit, 0xffffffff) >>> 0);
  return data;
}

export const CEASE = 6;
export const CEASE_MAX_PREFIXES = 1;

/** A peer's compiled policy: parsed once when the peer is configured, errors thrown then. */
export class PeerPolicy {
  readonly importList: PrefixList | undefined;
  readonly exportList: PrefixList | undefined;
  readonly exportCommunities: readonly number[];
  readonly exportLargeCommunities: readonly (readonly [number, number, number])[];
  readonly maxPrefix: MaxPrefixConfig | undefined;
  readonly importLocalPref: number | undefined;

  constructor(config: PolicyConfig = {}) {
    this.importList = config.importPrefixes ? new PrefixList(config.importPrefixes) : undefined;
    this.exportList = config.exportPrefixes ? new PrefixList(config.exportPrefixes) : undefined;
    this.exportCommunities = (config.exportCommunities ?? []).map(parseCommunity);
    this.exportLargeCommunities = (config.exportLargeCommunities ?? []).map(parseLargeCommunity);
    if (config.maxPrefix && (!Number.isInteger(config.maxPrefix.limit) || config.maxPrefix.limit < 1)) {
      throw new PolicyError(`max-prefix limit must be a positive integer, got ${config.maxPrefix.limit}`);
    }
    this.maxPrefix = config.maxPrefix;
    this.importLocalPref = config.importLocalPref;
  }

  accepts(key: PrefixKey): boolean {
    return this.importList === undefined || this.importList.permits(key);
  }

  exports(key: PrefixKey): boolean {
    return this.exportList === undefined || this.exportList.permits(key);
  }

  /** True when `accepted` prefixes exceed the limit and the session must be reset. */
  exceedsMaxPrefix(accepted: number): boolean {
    return this.maxPrefix !== undefined && accepted > this.maxPrefix.limit;
  }
}
