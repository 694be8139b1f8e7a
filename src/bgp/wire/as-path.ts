// AS_PATH and AS4_PATH segment lists (RFC 4271 §4.3 and §5.1.2: AS_SET / AS_SEQUENCE; RFC 5065
// AS_CONFED_SEQUENCE / AS_CONFED_SET; RFC 6793 2- or 4-octet ASNs). Decoding reports what is
// malformed as a string (RFC 7606 §7.2); encoding splits segments longer than 255 ASNs.
import { ipv4FromBytes, type Writer } from './bytes.js';
import type { AsPathSegment, AsPathSegmentType } from './types.js';

const u16 = (v: Uint8Array, at: number): number => ((v[at] ?? 0) << 8) | (v[at + 1] ?? 0);

const SEGMENT_TYPES: (AsPathSegmentType | undefined)[] = [undefined, 'set', 'sequence', 'confed-sequence', 'confed-set'];
const SEGMENT_CODES: Record<AsPathSegmentType, number> = { set: 1, sequence: 2, 'confed-sequence': 3, 'confed-set': 4 };

export function decodeAsPath(v: Uint8Array, asSize: 2 | 4): AsPathSegment[] | string {
  const out: AsPathSegment[] = [];
  let p = 0;
  while (p < v.length) {
    if (p + 2 > v.length) return 'truncated segment header';
    const type = SEGMENT_TYPES[v[p] ?? 0];
    const n = v[p + 1] ?? 0;
    if (type === undefined) return `unknown segment type ${v[p]}`;
    if (n === 0) return 'zero-length segment';
    if (p + 2 + n * asSize > v.length) return 'segment overruns the attribute';
    const asns: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) asns[i] = asSize === 4 ? ipv4FromBytes(v, p + 2 + 4 * i) : u16(v, p + 2 + 2 * i);
    out.push({ type, asns });
    p += 2 + n * asSize;
  }
  return out;
}

export function encodeAsPath(w: Writer, path: readonly AsPathSegment[], asSize: 2 | 4): void {
  for (const s of path) {
    // A segment holds at most 255 ASNs: longer ones are split (sets split lose nothing on the wire).
    for (let i = 0; i < s.asns.length || (i === 0 && s.asns.length === 0); i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      if (chunk.length === 0) break;
      w.u8(SEGMENT_CODES[s.type]);
      w.u8(chunk.length);
      for (const a of chunk) {
        if (asSize === 4) w.u32(a);
        else w.u16(a);
      }
    }
  }
}
