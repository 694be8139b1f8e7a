// Byte-level helpers of the codec: IPv4/IPv6 address text <-> bytes (RFC 5952 canonical IPv6
// text), and a growable Writer that reserves a length field and back-fills it (pg-protocol style).
// Deliberately tiny and allocation-aware: decode paths call these once per prefix.

export function ipv4ToText(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function ipv4FromBytes(b: Uint8Array, at: number): number {
  return (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
}

/** Dotted quad to number; NaN when not a valid IPv4 address (no leading '+', no empty parts). */
export function ipv4FromText(text: string): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return NaN;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return NaN;
    } else {
      return NaN;
    }
  }
  if (dots !== 3 || digits === 0) return NaN;
  return v * 256 + part;
}

const HEX = Array.from({ length: 65536 }, (_, i) => i.toString(16));

/** RFC 5952 text of 16 bytes at `at` (missing bytes read as 0). */
const groups = new Uint16Array(8);

export function ipv6ToText(b: Uint8Array, at = 0): string {
  const g = groups;
  for (let i = 0; i < 8; i++) g[i] = ((b[at + 2 * i] ?? 0) << 8) | (b[at + 2 * i + 1] ?? 0);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += HEX[g[i] ?? 0] ?? '0';
    if (i < 7) s += ':';
  }
  return s;
}

/**
 * Parse plain hex-and-colons IPv6 text into `out` (16 octets) without allocating; false when the
 * text is malformed or uses an embedded IPv4 tail (ipv6FromText handles those).
 */
export function ipv6ParseInto(text: string, end: number, out: Uint8Array): boolean {
  let gi = 0; // groups written before "::"
  let dbl = -1; // group index of "::"
  let p = 0;
  if (end >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    dbl = 0;
    p = 2;
  }
  while (p < end) {
    let v = 0;
    let digits = 0;
    while (p < end) {
      const c = text.charCodeAt(p);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = (v << 4) | d;
      digits++;
      p++;
    }
    if (digits === 0 || digits > 4 || gi >= 8) return false;
    out[gi * 2] = v >> 8;
    out[gi * 2 + 1] = v & 255;
    gi++;
    if (p === end) break;
    if (text.charCodeAt(p) !== 58) return false;
    p++;
    if (p < end && text.charCodeAt(p) === 58) {
      if (dbl >= 0) return false;
      dbl = gi;
      p++;
    } else if (p === end) {
      return false;
    }
  }
  if (dbl < 0) return gi === 8;
  if (gi > 7) return false;
  // Move the groups after "::" to the end and zero the gap.
  const tail = gi - dbl;
  for (let i = tail - 1; i >= 0; i--) {
    out[(8 - tail + i) * 2] = out[(dbl + i) * 2] ?? 0;
    out[(8 - tail + i) * 2 + 1] = out[(dbl + i) * 2 + 1] ?? 0;
  }
  out.fill(0, dbl * 2, (8 - tail) * 2);
  return true;
}

/** IPv6 text (with optional embedded IPv4 tail) to 16 bytes; undefined when malformed. */
export function ipv6FromText(text: string): Uint8Array | undefined {
  let head = text;
  let tail4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.includes('.', lastColon)) {
    tail4 = ipv4FromText(text.slice(lastColon + 1));
    if (Number.isNaN(tail4)) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = all[i] ?? '';
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const v = parseInt(group, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 255;
  }
  if (tail4 !== undefined) {
    out[12] = tail4 >>> 24;
    out[13] = (tail4 >>> 16) & 255;
    out[14] = (tail4 >>> 8) & 255;
    out[15] = tail4 & 255;
  }
  return out;
}

/** A copy that owns its memory (decoded values must not pin or alias the receive buffer). */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Growable output buffer; lengths are reserved and back-filled. */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 255;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Reserve `n` octets to fill later; returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.buf.fill(0, at, at + n);
    this.pos += n;
    return at;
  }

  putU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }

  putU8(at: number, v: number): void {
    this.buf[at] = v & 255;
  }

  /** The written octets (a view; copy if the Writer is reused). */
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
