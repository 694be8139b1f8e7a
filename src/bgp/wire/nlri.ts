// NLRI prefix lists (RFC 4271 §4.3 <length, prefix>; RFC 4760 for IPv6; RFC 7911 ADD-PATH path
// identifiers in front of each prefix). The hot path of a full-table ingest: IPv4 prefixes
// become plain numbers (`address * 64 + length`), IPv6 ones RFC 5952 strings, pushed onto arrays
// the caller owns; no object per prefix. Host bits past the length are cleared (RFC 4271 says
// they are irrelevant), so what decodes re-encodes stably.
import { ipv4ToText, ipv6FromText, ipv6ParseInto, ipv6ToText, type Writer } from './bytes.js';
import { AFI_IPV4, AFI_IPV6, type Prefix } from './types.js';

/** Decode IPv4 prefixes in b[start, end). Returns false when malformed (the caller raises the error). */
export function decodeIpv4Prefixes(b: Uint8Array, start: number, end: number, out: number[], pathIds: number[] | undefined): boolean {
  let p = start;
  while (p < end) {
    if (pathIds !== undefined) {
      if (p + 4 > end) return false;
      pathIds.push((((b[p] ?? 0) << 24) | ((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0)) >>> 0);
      p += 4;
    }
    const len = b[p++] ?? 0;
    if (len > 32) return false;
    const n = (len + 7) >> 3;
    if (p + n > end) return false;
    let a = 0;
    switch (n) {
      case 4:
        a = ((b[p] ?? 0) << 24) | ((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0);
        break;
      case 3:
        a = ((b[p] ?? 0) << 24) | ((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8);
        break;
      case 2:
        a = ((b[p] ?? 0) << 24) | ((b[p + 1] ?? 0) << 16);
        break;
      case 1:
        a = (b[p] ?? 0) << 24;
        break;
      default:
        a = 0;
    }
    p += n;
    const masked = len === 0 ? 0 : (a & (-1 << (32 - len))) >>> 0;
    out.push(masked * 64 + len);
  }
  return true;
}

const scratch = new Uint8Array(16);

/** Decode IPv6 prefixes in b[start, end) to "addr/len" text. Returns false when malformed. */
export function decodeIpv6Prefixes(b: Uint8Array, start: number, end: number, out: string[], pathIds: number[] | undefined): boolean {
  let p = start;
  while (p < end) {
    if (pathIds !== undefined) {
      if (p + 4 > end) return false;
      pathIds.push((((b[p] ?? 0) << 24) | ((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0)) >>> 0);
      p += 4;
    }
    const len = b[p++] ?? 0;
    if (len > 128) return false;
    const n = (len + 7) >> 3;
    if (p + n > end) return false;
    scratch.fill(0);
    for (let i = 0; i < n; i++) scratch[i] = b[p + i] ?? 0;
    if ((len & 7) !== 0) scratch[n - 1] = (scratch[n - 1] ?? 0) & (0xff00 >> (len & 7));
    p += n;
    out.push(`${ipv6ToText(scratch)}/${len}`);
  }
  return true;
}

/** Decode prefixes of a known family; false when malformed. */
export function decodePrefixes(afi: number, b: Uint8Array, start: number, end: number, out: Prefix[], pathIds: number[] | undefined): boolean {
  if (afi === AFI_IPV4) return decodeIpv4Prefixes(b, start, end, out as number[], pathIds);
  if (afi === AFI_IPV6) return decodeIpv6Prefixes(b, start, end, out as string[], pathIds);
  return false;
}

/** Octets `prefixes` take on the wire. */
export function prefixesLength(afi: number, prefixes: readonly Prefix[], withPathIds: boolean): number {
  let n = 0;
  for (const pf of prefixes) n += 1 + ((prefixLengthOf(afi, pf) + 7) >> 3) + (withPathIds ? 4 : 0);
  return n;
}

export function prefixLengthOf(afi: number, pf: Prefix): number {
  if (typeof pf === 'number') return pf % 64;
  const slash = pf.lastIndexOf('/');
  return slash < 0 ? (afi === AFI_IPV6 ? 128 : 32) : Number(pf.slice(slash + 1));
}

export function ipv4PrefixText(pf: number): string {
  return `${ipv4ToText(Math.floor(pf / 64))}/${pf % 64}`;
}

/** "a.b.c.d/n" to the numeric key; NaN when malformed. */
export function ipv4PrefixFromText(text: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text);
  if (!m) return NaN;
  const o = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (o.some((x) => x > 255) || len > 32) return NaN;
  const a = ((o[0] ?? 0) * 16777216 + (o[1] ?? 0) * 65536 + (o[2] ?? 0) * 256 + (o[3] ?? 0)) >>> 0;
  const masked = len === 0 ? 0 : (a & (-1 << (32 - len))) >>> 0;
  return masked * 64 + len;
}

function encodeIpv4Prefix(w: Writer, pf: number): void {
  if (!Number.isInteger(pf) || pf < 0 || pf % 64 > 32 || pf >= 2 ** 38) throw new RangeError(`bad IPv4 prefix key ${pf}`);
  const len = pf % 64;
  const a = Math.floor(pf / 64);
  const n = (len + 7) >> 3;
  w.ensure(1 + n);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = len;
  if (n > 0) buf[p++] = (a >>> 24) & 255;
  if (n > 1) buf[p++] = (a >>> 16) & 255;
  if (n > 2) buf[p++] = (a >>> 8) & 255;
  if (n > 3) buf[p++] = a & 255;
  w.pos = p;
}

const v6 = new Uint8Array(16);

function encodeIpv6Prefix(w: Writer, pf: string): void {
  const slash = pf.lastIndexOf('/');
  let len = -1;
  if (slash > 0 && slash < pf.length - 1 && pf.length - slash <= 4) {
    len = 0;
    for (let i = slash + 1; i < pf.length; i++) {
      const c = pf.charCodeAt(i) - 48;
      if (c < 0 || c > 9) {
        len = -1;
        break;
      }
      len = len * 10 + c;
    }
  }
  let ok = len >= 0 && len <= 128 && ipv6ParseInto(pf, slash, v6);
  if (!ok && len >= 0 && len <= 128 && pf.includes('.')) {
    const slow = ipv6FromText(pf.slice(0, slash));
    if (slow !== undefined) {
      v6.set(slow);
      ok = true;
    }
  }
  if (!ok) throw new RangeError(`bad IPv6 prefix "${pf}"`);
  const n = (len + 7) >> 3;
  if ((len & 7) !== 0) v6[n - 1] = (v6[n - 1] ?? 0) & (0xff00 >> (len & 7));
  w.ensure(1 + n);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = len;
  for (let i = 0; i < n; i++) buf[p++] = v6[i] ?? 0;
  w.pos = p;
}

/** Write prefixes of a family (IPv4: numbers, IPv6: strings), each led by its path id if given. */
export function encodePrefixes(w: Writer, afi: number, prefixes: readonly Prefix[], pathIds: readonly number[] | undefined): void {
  for (let i = 0; i < prefixes.length; i++) {
    if (pathIds !== undefined) w.u32(pathIds[i] ?? 0);
    const pf = prefixes[i] as Prefix;
    if (afi === AFI_IPV4) {
      if (typeof pf !== 'number') throw new RangeError(`IPv4 prefix must be a number key, got "${pf}"`);
      encodeIpv4Prefix(w, pf);
    } else if (afi === AFI_IPV6) {
      if (typeof pf !== 'string') throw new RangeError(`IPv6 prefix must be a string, got ${pf}`);
      encodeIpv6Prefix(w, pf);
    } else {
      throw new RangeError(`no prefix encoding for AFI ${afi}`);
    }
  }
}
