// Structure-aware mutation of BGP messages. Knows just enough of the layout (header length and
// type; UPDATE withdrawn/attribute lengths, each attribute's flags/type/length, AS_PATH segment
// counts, MP_REACH next-hop length, NLRI prefix lengths; OPEN parameter and capability lengths) to
// aim at the fields a decoder trusts, on top of blind bit flips, inserts, deletes, truncation and
// splicing. It also assembles new UPDATEs and OPENs from the attributes and capabilities found in
// the seeds ("soup"), in random order, repeated and with corrupted flags.
//
// Works in one preallocated scratch buffer: a mutation allocates nothing, and the returned view is
// only valid until the next call (the caller copies what it keeps). The locator tolerates garbage:
// every read is bounds-checked and it simply finds fewer fields in a broken message.
import type { Rng } from './rng.js';

const MAX = 65535 + 1024;
const INTERESTING_U8 = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 33, 64, 127, 128, 129, 254, 255];
const INTERESTING_U16 = [0, 1, 18, 19, 20, 23, 28, 29, 255, 256, 4095, 4096, 4097, 0x7fff, 0x8000, 0xfffe, 0xffff];

export class BgpMutator {
  private readonly buf = new Uint8Array(MAX);
  private len = 0;
  private readonly spare = new Uint8Array(MAX);
  // Located length-like fields (offset, width 1 or 2 octets) of the current buffer: reused arrays.
  private readonly fieldAt = new Int32Array(4096);
  private readonly fieldWidth = new Uint8Array(4096);
  private nFields = 0;
  private readonly attrAt = new Int32Array(1024);
  private nAttrs = 0;
  /** Raw attributes (flags, type, length, value) and capabilities found in the seeds. */
  private readonly attributes: Uint8Array[] = [];
  private readonly capabilities: Uint8Array[] = [];
  private readonly prefixRuns: Uint8Array[] = [];

  constructor(seeds: readonly Uint8Array[]) {
    for (const s of seeds) this.harvest(s);
  }

  /** Mutate `seed` (1–5 stacked mutations, sometimes a synthesized message instead). */
  mutate(rng: Rng, seed: Uint8Array, pool: readonly Uint8Array[]): Uint8Array {
    if (rng.chance(0.12) && this.attributes.length > 0) this.soupUpdate(rng);
    else if (rng.chance(0.03) && this.capabilities.length > 0) this.soupOpen(rng);
    else this.load(seed);
    const n = 1 + rng.small(4);
    for (let i = 0; i < n; i++) this.one(rng, pool);
    // Mostly keep the marker intact and the header's length honest, so mutations reach the bodies
    // (otherwise a quarter of all cases die on Connection Not Synchronized).
    if (this.len >= 16 && rng.chance(0.85)) this.buf.fill(0xff, 0, 16);
    if (this.len >= 19 && rng.chance(0.7)) this.putU16(16, Math.min(this.len, 0xffff));
    return this.buf.subarray(0, this.len);
  }

  private load(b: Uint8Array): void {
    const n = Math.min(b.length, MAX);
    this.buf.set(b.subarray(0, n), 0);
    this.len = n;
  }

  private putU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 255;
    this.buf[at + 1] = v & 255;
  }

  private u8(at: number): number {
    return at < this.len ? (this.buf[at] ?? 0) : 0;
  }

  private u16(at: number): number {
    return (this.u8(at) << 8) | this.u8(at + 1);
  }

  private one(rng: Rng, pool: readonly Uint8Array[]): void {
    const r = rng.below(100);
    if (r < 30) this.locate();
    if (r < 22 && this.nFields > 0) return this.tweakLength(rng);
    if (r < 30 && this.nAttrs > 0) return this.corruptAttribute(rng);
    if (r < 45) return this.flipBit(rng);
    if (r < 55) return this.setByte(rng);
    if (r < 65) return this.insert(rng);
    if (r < 75) return this.remove(rng);
    if (r < 80) return this.duplicate(rng);
    if (r < 86) return this.truncate(rng);
    if (r < 94) return this.splice(rng, pool);
    return this.append(rng, pool);
  }

  private flipBit(rng: Rng): void {
    if (this.len === 0) return;
    const at = rng.below(this.len);
    this.buf[at] = (this.buf[at] ?? 0) ^ (1 << rng.below(8));
  }

  private setByte(rng: Rng): void {
    if (this.len === 0) return;
    this.buf[rng.below(this.len)] = rng.chance(0.5) ? rng.pick(INTERESTING_U8) : rng.below(256);
  }

  private insert(rng: Rng): void {
    const n = 1 + rng.small(64);
    if (this.len + n > MAX) return;
    const at = rng.below(this.len + 1);
    this.buf.copyWithin(at + n, at, this.len);
    const fill = rng.below(3);
    for (let i = 0; i < n; i++) this.buf[at + i] = fill === 0 ? 0 : fill === 1 ? 0xff : rng.below(256);
    this.len += n;
  }

  private remove(rng: Rng): void {
    if (this.len === 0) return;
    const at = rng.below(this.len);
    const n = Math.min(1 + rng.small(64), this.len - at);
    this.buf.copyWithin(at, at + n, this.len);
    this.len -= n;
  }

  private duplicate(rng: Rng): void {
    if (this.len === 0) return;
    const from = rng.below(this.len);
    const n = Math.min(1 + rng.small(128), this.len - from);
    const at = rng.below(this.len + 1);
    if (this.len + n > MAX) return;
    this.spare.set(this.buf.subarray(from, from + n), 0);
    this.buf.copyWithin(at + n, at, this.len);
    this.buf.set(this.spare.subarray(0, n), at);
    this.len += n;
  }

  private truncate(rng: Rng): void {
    // Mostly near a boundary that matters: inside the header, or a few octets short of the end.
    this.len = rng.chance(0.3) ? rng.below(Math.min(this.len, 24) + 1) : Math.max(0, this.len - 1 - rng.small(16));
  }

  /** Replace the tail from a random point with the tail of another input. */
  private splice(rng: Rng, pool: readonly Uint8Array[]): void {
    if (pool.length === 0) return;
    const other = rng.pick(pool);
    const at = rng.below(this.len + 1);
    const from = rng.below(other.length + 1);
    const n = Math.min(other.length - from, MAX - at);
    this.buf.set(other.subarray(from, from + n), at);
    this.len = at + n;
  }

  /** Another whole message after this one: framing of back-to-back messages. */
  private append(rng: Rng, pool: readonly Uint8Array[]): void {
    if (pool.length === 0) return;
    const other = rng.pick(pool);
    const n = Math.min(other.length, MAX - this.len);
    this.buf.set(other.subarray(0, n), this.len);
    this.len += n;
  }

  private tweakLength(rng: Rng): void {
    const i = rng.below(this.nFields);
    const at = this.fieldAt[i] ?? 0;
    const width = this.fieldWidth[i] ?? 1;
    const old = width === 2 ? this.u16(at) : this.u8(at);
    const max = width === 2 ? 0xffff : 0xff;
    let v: number;
    const how = rng.below(4);
    if (how === 0) v = old + (rng.chance(0.5) ? 1 : -1) * (1 + rng.small(8));
    else if (how === 1) v = rng.pick(width === 2 ? INTERESTING_U16 : INTERESTING_U8);
    else if (how === 2) v = rng.below(max + 1);
    else v = old + (rng.chance(0.5) ? 1 : -1);
    v = v < 0 ? 0 : v > max ? max : v;
    if (at + width > this.len) return;
    if (width === 2) this.putU16(at, v);
    else this.buf[at] = v;
  }

  /** Flags (Optional/Transitive/Partial/Extended Length) or type code of one attribute. */
  private corruptAttribute(rng: Rng): void {
    const at = this.attrAt[rng.below(this.nAttrs)] ?? 0;
    if (at + 2 > this.len) return;
    if (rng.chance(0.75)) {
      this.buf[at] = (this.buf[at] ?? 0) ^ rng.pick([0x80, 0x40, 0x20, 0x10, 0xc0, 0x0f, 0x01]);
    } else {
      this.buf[at + 1] = rng.chance(0.8) ? rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 0, 255]) : rng.below(256);
    }
  }

  // ------------------------------------------------------------------------------- synthesis

  private soupUpdate(rng: Rng): void {
    let p = 19;
    const b = this.buf;
    b.fill(0xff, 0, 16);
    b[18] = 2;
    // Withdrawn routes: sometimes a run of prefixes from the seeds.
    const w = rng.chance(0.2) && this.prefixRuns.length > 0 ? rng.pick(this.prefixRuns) : undefined;
    this.putU16(p, w?.length ?? 0);
    p += 2;
    if (w !== undefined) {
      b.set(w, p);
      p += w.length;
    }
    const alAt = p;
    p += 2;
    const n = rng.int(0, 10);
    for (let i = 0; i < n; i++) {
      const a = rng.pick(this.attributes);
      if (p + a.length > 60000) break;
      b.set(a, p);
      if (rng.chance(0.15)) b[p] = (b[p] ?? 0) ^ rng.pick([0x80, 0x40, 0x20]);
      p += a.length;
    }
    this.putU16(alAt, p - alAt - 2);
    const nlri = rng.chance(0.6) && this.prefixRuns.length > 0 ? rng.pick(this.prefixRuns) : undefined;
    if (nlri !== undefined) {
      b.set(nlri, p);
      p += nlri.length;
    }
    this.len = p;
    this.putU16(16, Math.min(p, 0xffff));
  }

  private soupOpen(rng: Rng): void {
    const b = this.buf;
    b.fill(0xff, 0, 16);
    b[18] = 1;
    b.set([4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1], 19);
    // One capabilities parameter: optional parameters length at 28, type 2 at 29, its length at 30.
    b[29] = 2;
    let p = 31;
    const n = rng.int(0, 8);
    for (let i = 0; i < n; i++) {
      const c = rng.pick(this.capabilities);
      if (p + c.length > 31 + 255) break;
      b.set(c, p);
      p += c.length;
    }
    b[30] = p - 31;
    b[28] = p - 29;
    this.len = p;
    this.putU16(16, p);
  }

  // -------------------------------------------------------------------------------- locating

  private addField(at: number, width: 1 | 2): void {
    if (this.nFields >= this.fieldAt.length || at + width > this.len) return;
    this.fieldAt[this.nFields] = at;
    this.fieldWidth[this.nFields] = width;
    this.nFields++;
  }

  /** Find the length fields and attributes of the message now in the buffer. */
  private locate(): void {
    this.nFields = 0;
    this.nAttrs = 0;
    if (this.len < 19) return;
    this.addField(16, 2);
    const type = this.u8(18);
    const end = Math.min(this.len, Math.max(19, this.u16(16)));
    if (type === 2) this.locateUpdate(end);
    else if (type === 1) this.locateOpen(end);
  }

  private locatePrefixes(start: number, end: number): void {
    let p = start;
    while (p < end && this.nFields < this.fieldAt.length) {
      this.addField(p, 1);
      p += 1 + ((this.u8(p) + 7) >> 3);
    }
  }

  private locateUpdate(end: number): void {
    this.addField(19, 2);
    const wl = this.u16(19);
    this.locatePrefixes(21, Math.min(end, 21 + wl));
    const alAt = 21 + wl;
    this.addField(alAt, 2);
    const al = this.u16(alAt);
    let p = alAt + 2;
    const attrEnd = Math.min(end, p + al);
    while (p + 3 <= attrEnd && this.nAttrs < this.attrAt.length) {
      const flags = this.u8(p);
      const type = this.u8(p + 1);
      const ext = (flags & 0x10) !== 0;
      this.attrAt[this.nAttrs++] = p;
      this.addField(p + 2, ext ? 2 : 1);
      const hdr = ext ? 4 : 3;
      const vlen = ext ? this.u16(p + 2) : this.u8(p + 2);
      const v = p + hdr;
      const vEnd = Math.min(attrEnd, v + vlen);
      if (type === 2 || type === 17) {
        // AS_PATH segments: type, count.
        for (let q = v; q + 2 <= vEnd; q += 2 + this.u8(q + 1) * 4) this.addField(q + 1, 1);
      } else if (type === 14 && v + 4 <= vEnd) {
        this.addField(v + 3, 1);
        this.locatePrefixes(v + 5 + this.u8(v + 3), vEnd);
      } else if (type === 15 && v + 3 <= vEnd) {
        this.locatePrefixes(v + 3, vEnd);
      }
      p = v + vlen;
    }
    this.locatePrefixes(Math.min(end, alAt + 2 + al), end);
  }

  private locateOpen(end: number): void {
    this.addField(28, 1);
    let p = 29;
    while (p + 2 <= end) {
      this.addField(p + 1, 1);
      const plen = this.u8(p + 1);
      if (this.u8(p) === 2) {
        for (let c = p + 2; c + 2 <= Math.min(end, p + 2 + plen); c += 2 + this.u8(c + 1)) this.addField(c + 1, 1);
      }
      p += 2 + plen;
    }
  }

  /** Collect the attributes, capabilities and prefix runs of a seed for synthesis. */
  private harvest(s: Uint8Array): void {
    this.load(s);
    if (this.len < 19) return;
    const end = Math.min(this.len, this.u16(16));
    const type = this.u8(18);
    if (type === 2) {
      const wl = this.u16(19);
      if (wl > 0) this.prefixRuns.push(s.slice(21, 21 + wl));
      const alAt = 21 + wl;
      const al = this.u16(alAt);
      let p = alAt + 2;
      const attrEnd = Math.min(end, p + al);
      while (p + 3 <= attrEnd) {
        const ext = (this.u8(p) & 0x10) !== 0;
        const vlen = ext ? this.u16(p + 2) : this.u8(p + 2);
        const next = p + (ext ? 4 : 3) + vlen;
        if (next > attrEnd) break;
        if (next - p < 2048) this.attributes.push(s.slice(p, next));
        p = next;
      }
      if (attrEnd < end) this.prefixRuns.push(s.slice(attrEnd, end));
    } else if (type === 1) {
      let p = 29;
      while (p + 2 <= end) {
        const plen = this.u8(p + 1);
        if (this.u8(p) === 2) {
          for (let c = p + 2; c + 2 <= Math.min(end, p + 2 + plen); c += 2 + this.u8(c + 1)) this.capabilities.push(s.slice(c, c + 2 + this.u8(c + 1)));
        }
        p += 2 + plen;
      }
    }
    this.len = 0;
  }
}
