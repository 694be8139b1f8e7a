// Compact prefix keys for the RIB tables (RFC 4271 §4.3 NLRI, RFC 4760 for IPv6).
//
// A 1,000,000-prefix table is kept in several maps (Adj-RIB-In, Loc-RIB, Adj-RIB-Out), so the key
// must be cheap: an IPv4 prefix is the number `address * 64 + length` (exact below 2^53, hashed by
// value, no string per prefix), an IPv6 prefix is its canonical text (rare enough that a string is
// fine and it keeps the key exact). This file parses, formats and classifies keys; it deliberately
// knows nothing of paths or attributes.

export type Afi = 'ipv4' | 'ipv6';
/** IPv4 prefixes are numbers, IPv6 prefixes canonical "addr/len" strings. */
export type PrefixKey = number | string;

export class PrefixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrefixError';
  }
}

export function afiOfKey(key: PrefixKey): Afi {
  return typeof key === 'number' ? 'ipv4' : 'ipv6';
}

export function ipv4Key(address: number, length: number): number {
  return (address >>> 0) * 64 + length;
}

export function ipv4KeyAddress(key: number): number {
  return Math.floor(key / 64);
}

export function ipv4KeyLength(key: number): number {
  return key % 64;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new PrefixError(`"${text}" is not an IPv4 address`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) throw new PrefixError(`"${text}" is not an IPv4 address`);
    const octet = Number(part);
    if (octet > 255) throw new PrefixError(`"${text}" is not an IPv4 address`);
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(address: number): string {
  return `${(address >>> 24) & 255}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/** Parse an IPv6 address to 16 bytes; throws PrefixError on anything malformed. */
export function parseIpv6(text: string): Uint8Array {
  const bad = (): PrefixError => new PrefixError(`"${text}" is not an IPv6 address`);
  let head = text;
  let tail4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) throw bad();
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw bad();
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) throw bad();
    const v = parseInt(group, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 255;
  });
  if (tail4 !== undefined) {
    bytes[12] = tail4 >>> 24;
    bytes[13] = (tail4 >>> 16) & 255;
    bytes[14] = (tail4 >>> 8) & 255;
    bytes[15] = tail4 & 255;
  }
  return bytes;
}

/** RFC 5952 canonical text: lowercase, no leading zeros, longest zero run (≥2) as "::". */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number): string => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const left = groups.slice(0, bestStart).map(hex).join(':');
  const right = groups.slice(bestStart + bestLen).map(hex).join(':');
  return `${left}::${right}`;
}

function maskIpv6(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = (bytes[i] ?? 0) & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

export interface ParsedPrefix {
  afi: Afi;
  key: PrefixKey;
  length: number;
}

/**
 * Parse "a.b.c.d/n" or "x::/n". Host bits must be zero unless `allowHostBits` (then masked), as a
 * prefix with host bits set is nearly always a typo in configuration.
 */
export function parsePrefix(text: string, allowHostBits = false): ParsedPrefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new PrefixError(`"${text}" is not a prefix (expected ADDRESS/LENGTH)`);
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw new PrefixError(`"${text}": bad prefix length "${lenText}"`);
  const length = Number(lenText);
  if (addr.includes(':')) {
    if (length > 128) throw new PrefixError(`"${text}": IPv6 prefix length ${length} is over 128`);
    const bytes = parseIpv6(addr);
    const masked = maskIpv6(bytes, length);
    if (!allowHostBits && masked.some((b, i) => b !== bytes[i])) {
      throw new PrefixError(`"${text}" has host bits set (did you mean ${formatIpv6(masked)}/${length}?)`);
    }
    return { afi: 'ipv6', key: `${formatIpv6(masked)}/${length}`, length };
  }
  if (length > 32) throw new PrefixError(`"${text}": IPv4 prefix length ${length} is over 32`);
  const address = parseIpv4(addr);
  const masked = length === 0 ? 0 : (address & (~0 << (32 - length))) >>> 0;
  if (!allowHostBits && masked !== address) {
    throw new PrefixError(`"${text}" has host bits set (did you mean ${formatIpv4(masked)}/${length}?)`);
  }
  return { afi: 'ipv4', key: ipv4Key(masked, length), length };
}

export function prefixKey(text: string): PrefixKey {
  return parsePrefix(text).key;
}

export function formatPrefix(key: PrefixKey): string {
  if (typeof key === 'string') return key;
  return `${formatIpv4(ipv4KeyAddress(key))}/${ipv4KeyLength(key)}`;
}

export function prefixLength(key: PrefixKey): number {
  if (typeof key === 'number') return ipv4KeyLength(key);
  return Number(key.slice(key.indexOf('/') + 1));
}
