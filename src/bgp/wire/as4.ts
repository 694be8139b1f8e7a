// RFC 6793 §4.2.3 with a 2-octet ("OLD") peer: the receiver merges AS_PATH with AS4_PATH and
// AGGREGATOR with AS4_AGGREGATOR; the sender replaces ASNs above 65535 by AS_TRANS and carries the
// real path in AS4_PATH (confederation segments stay out of AS4_PATH, §3).
import { AS_TRANS, type Aggregator, type AsPathSegment } from './types.js';

/** Path length as RFC 6793 counts it: a set counts 1, confederation segments 0. */
export function as4Count(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === 'sequence') n += s.asns.length;
    else if (s.type === 'set') n += 1;
  }
  return n;
}

export function needsAs4(path: readonly AsPathSegment[]): boolean {
  return path.some((s) => s.asns.some((a) => a > 0xffff));
}

/** The AS_PATH to send to a 2-octet peer: ASNs above 65535 become AS_TRANS. */
export function toTwoOctetPath(path: readonly AsPathSegment[]): AsPathSegment[] {
  return path.map((s) => ({ type: s.type, asns: s.asns.map((a) => (a > 0xffff ? AS_TRANS : a)) }));
}

/** The AS4_PATH to send: the path without confederation segments. */
export function toAs4Path(path: readonly AsPathSegment[]): AsPathSegment[] {
  return path.filter((s) => s.type === 'sequence' || s.type === 'set').map((s) => ({ type: s.type, asns: [...s.asns] }));
}

/**
 * Reconstruct the real path: if AS_PATH is shorter than AS4_PATH, AS4_PATH is ignored; otherwise
 * the leading (count(AS_PATH) − count(AS4_PATH)) ASes of AS_PATH (leading confederation segments
 * kept whole; confederation segments belong at the start, RFC 5065 §3) followed by AS4_PATH.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const four = as4Path.filter((s) => s.type === 'sequence' || s.type === 'set');
  let take = as4Count(asPath) - as4Count(four);
  if (take < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  let leading = true;
  for (const s of asPath) {
    if (s.type === 'confed-sequence' || s.type === 'confed-set') {
      // Only leading confederation segments are meaningful; a misplaced one is not carried over.
      if (leading) out.push({ type: s.type, asns: [...s.asns] });
      continue;
    }
    leading = false;
    if (take <= 0) break;
    if (s.type === 'set') {
      out.push({ type: 'set', asns: [...s.asns] });
      take -= 1;
    } else {
      const n = Math.min(take, s.asns.length);
      out.push({ type: 'sequence', asns: s.asns.slice(0, n) });
      take -= n;
    }
  }
  // Join the taken part and AS4_PATH where they meet (both sequences); leave the rest as received.
  four.forEach((s, i) => {
    const last = out[out.length - 1];
    if (i === 0 && s.type === 'sequence' && last?.type === 'sequence' && last.asns.length + s.asns.length <= 255) last.asns.push(...s.asns);
    else out.push({ type: s.type, asns: [...s.asns] });
  });
  return out;
}

/** AGGREGATOR merge: AS4_AGGREGATOR counts only when AGGREGATOR says AS_TRANS. */
export function mergeAs4Aggregator(aggregator: Aggregator | undefined, as4: Aggregator | undefined): { aggregator: Aggregator | undefined; useAs4Path: boolean } {
  if (aggregator === undefined || as4 === undefined) return { aggregator, useAs4Path: true };
  if (aggregator.asn !== AS_TRANS) return { aggregator, useAs4Path: false };
  return { aggregator: as4, useAs4Path: true };
}
