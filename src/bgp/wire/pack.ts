// Packing prefixes into UPDATEs that fit the negotiated maximum (4096, or 65535 with RFC 8654):
// one UPDATE with many prefixes sharing its attributes would not encode, so splitUpdate cuts it
// into as few as fit, each carrying the same attributes (RFC 4271 §9.2: prefixes sharing
// attributes may share an UPDATE). Withdrawals (IPv4 Withdrawn Routes, MP_UNREACH) go first, in
// UPDATEs of their own when they do not fit beside the announcements.
import { prefixLengthOf } from './nlri.js';
import { hasAddPath, maxMessageLength, type CodecOptions } from './options.js';
import { AFI_IPV4, HEADER_LENGTH, SAFI_UNICAST, type Prefix, type UpdateMessage } from './types.js';
import { encodeMessage } from './message.js';

function size(afi: number, pf: Prefix, pathId: boolean): number {
  return 1 + ((prefixLengthOf(afi, pf) + 7) >> 3) + (pathId ? 4 : 0);
}

/** Cut `prefixes` (and parallel path ids) into runs of at most `room` octets each. */
function runs<T extends Prefix>(afi: number, prefixes: readonly T[], ids: readonly number[] | undefined, pathId: boolean, room: (first: boolean) => number): { prefixes: T[]; ids?: number[] }[] {
  const out: { prefixes: T[]; ids?: number[] }[] = [];
  let cur: { prefixes: T[]; ids?: number[] } = { prefixes: [] };
  let used = 0;
  prefixes.forEach((pf, i) => {
    const n = size(afi, pf, pathId);
    if (used + n > room(out.length === 0) && cur.prefixes.length > 0) {
      out.push(cur);
      cur = { prefixes: [] };
      used = 0;
    }
    cur.prefixes.push(pf);
    if (ids !== undefined) (cur.ids ??= []).push(ids[i] ?? 0);
    used += n;
  });
  if (cur.prefixes.length > 0) out.push(cur);
  return out;
}

/** Split an UPDATE into UPDATEs that each encode within the maximum message length. */
export function splitUpdate(m: UpdateMessage, options: CodecOptions): UpdateMessage[] {
  const max = maxMessageLength(options);
  const v4ids = hasAddPath(options, AFI_IPV4, SAFI_UNICAST);
  const mp = m.attributes.mpReach;
  const un = m.attributes.mpUnreach;
  if (encodedLength(m, options) <= max) return [m];
  const out: UpdateMessage[] = [];
  // 1. Withdrawals: IPv4 Withdrawn Routes, then MP_UNREACH, in UPDATEs without attributes.
  const bare = HEADER_LENGTH + 4;
  for (const r of runs(AFI_IPV4, m.withdrawn, m.withdrawnPathIds, v4ids, () => max - bare)) {
    const u: UpdateMessage = { type: 'update', withdrawn: r.prefixes, attributes: {}, nlri: [] };
    if (r.ids !== undefined) u.withdrawnPathIds = r.ids;
    out.push(u);
  }
  if (un !== undefined && un.withdrawnRaw === undefined) {
    const ids = hasAddPath(options, un.afi, un.safi);
    const head = bare + 3 + 4; // attribute header (extended length) + AFI/SAFI
    for (const r of runs(un.afi, un.withdrawn, un.pathIds, ids, () => max - head)) {
      const mu = { afi: un.afi, safi: un.safi, withdrawn: r.prefixes, ...(r.ids !== undefined ? { pathIds: r.ids } : {}) };
      out.push({ type: 'update', withdrawn: [], attributes: { mpUnreach: mu }, nlri: [] });
    }
  } else if (un !== undefined) {
    out.push({ type: 'update', withdrawn: [], attributes: { mpUnreach: un }, nlri: [] });
  }
  // 2. Announcements: the attributes repeated in each UPDATE; MP_REACH only where it has NLRI.
  const { mpUnreach: _unreach, mpReach: _reach, ...attrs } = m.attributes;
  if (mp !== undefined && (mp.nlri.length > 0 || mp.nlriRaw !== undefined)) {
    if (mp.nlriRaw !== undefined) {
      out.push({ type: 'update', withdrawn: [], attributes: { ...attrs, mpReach: mp }, nlri: [] });
    } else {
      const ids = hasAddPath(options, mp.afi, mp.safi);
      const empty = { ...mp, nlri: [] };
      const base = encodedLength({ type: 'update', withdrawn: [], attributes: { ...attrs, mpReach: empty }, nlri: [] }, options);
      // MP_REACH may grow into an extended-length attribute: reserve its extra length octet.
      for (const r of runs(mp.afi, mp.nlri, mp.pathIds, ids, () => max - base - 1)) {
        const reach = { ...mp, nlri: r.prefixes };
        if (r.ids !== undefined) reach.pathIds = r.ids;
        else delete reach.pathIds;
        out.push({ type: 'update', withdrawn: [], attributes: { ...attrs, mpReach: reach }, nlri: [] });
      }
    }
  }
  if (m.nlri.length > 0) {
    const base = encodedLength({ type: 'update', withdrawn: [], attributes: attrs, nlri: [] }, options);
    for (const r of runs(AFI_IPV4, m.nlri, m.nlriPathIds, v4ids, () => max - base)) {
      const u: UpdateMessage = { type: 'update', withdrawn: [], attributes: attrs, nlri: r.prefixes };
      if (r.ids !== undefined) u.nlriPathIds = r.ids;
      out.push(u);
    }
  }
  for (const u of out) if (encodedLength(u, options) > max) throw new RangeError(`attributes too large to fit an UPDATE of ${max} octets`);
  return out;
}

function encodedLength(m: UpdateMessage, options: CodecOptions): number {
  return encodeMessage(m, { ...options, extendedMessage: true }).length;
}
