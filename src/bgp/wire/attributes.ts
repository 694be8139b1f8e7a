// The path attribute list of an UPDATE (RFC 4271 §4.3, §5): walking it with the rows of
// attribute-table.ts, RFC 7606 handling (§3: flags conflicts, repeated attributes, unrecognized
// well-known ones, missing mandatory ones; §4: overruns; the strongest action wins; session resets
// thrown at once as the NOTIFICATION with the whole attribute as data, RFC 4271 §6.3), RFC 6793
// AS4 merging for 2-octet peers, and encoding in RFC 7606 §5.1 order.
import { mergeAs4Aggregator, mergeAs4Path } from './as4.js';
import { attributeName, OPTIONAL_TRANSITIVE, ROWS, TABLE, writeAttribute, type AttributeContext, type SeenTypes } from './attribute-table.js';
import { copyBytes, type Writer } from './bytes.js';
import {
  BgpError,
  ErrorAction,
  ERR_UPDATE_MESSAGE,
  UPDATE_ATTRIBUTE_FLAGS_ERROR,
  UPDATE_ATTRIBUTE_LENGTH_ERROR,
  UPDATE_MALFORMED_ATTRIBUTE_LIST,
  UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE,
  UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
} from './errors.js';
import type { CodecOptions } from './options.js';
import {
  ATTR_AS_PATH,
  ATTR_FLAG_EXTENDED_LENGTH,
  ATTR_FLAG_OPTIONAL,
  ATTR_FLAG_PARTIAL,
  ATTR_FLAG_TRANSITIVE,
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  type PathAttributes,
} from './types.js';

export type { AttributeContext, SeenTypes };
export { writeAttribute };

/** Record an RFC 7606 problem; a session reset is thrown at once as the NOTIFICATION to send. */
export function recordProblem(ctx: AttributeContext, code: number, subcode: number, data: Uint8Array, action: ErrorAction, reason: string): void {
  if (action === ErrorAction.SessionReset) throw new BgpError(code, subcode, data, reason, action);
  const report = (ctx.report ??= { action: ErrorAction.None, problems: [] });
  report.problems.push({ code, subcode, data: copyBytes(data), action, reason });
  if (action > report.action) report.action = action;
}

/**
 * Decode the path attribute list b[start, end) into ctx.attrs. A truncated or overrunning
 * attribute ends the list: RFC 7606 §4 asks for treat-as-withdraw, but only when the MP_REACH /
 * MP_UNREACH NLRI could still be located (§5.3); we cannot know whether one follows the break
 * unless one was already parsed, so without that it is a session reset.
 */
export function decodeAttributes(b: Uint8Array, start: number, end: number, ctx: AttributeContext): SeenTypes {
  const seen: SeenTypes = [0, 0, 0, 0, 0, 0, 0, 0];
  let p = start;
  while (p < end) {
    const flags = b[p] ?? 0;
    const type = b[p + 1] ?? 0;
    const ext = (flags & ATTR_FLAG_EXTENDED_LENGTH) !== 0;
    const hdr = ext ? 4 : 3;
    const len = p + hdr > end ? -1 : ext ? ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0) : (b[p + 2] ?? 0);
    if (len < 0 || p + hdr + len > end) {
      const located = ctx.attrs.mpReach !== undefined || ctx.attrs.mpUnreach !== undefined;
      const subcode = len < 0 ? UPDATE_MALFORMED_ATTRIBUTE_LIST : UPDATE_ATTRIBUTE_LENGTH_ERROR;
      recordProblem(ctx, ERR_UPDATE_MESSAGE, subcode, b.subarray(p, end), located ? ErrorAction.TreatAsWithdraw : ErrorAction.SessionReset, `attribute ${type} overruns the attribute list`);
      break;
    }
    const at = p;
    const v = b.subarray(p + hdr, p + hdr + len);
    p += hdr + len;
    // RFC 7606 §3 g: a repeated MP_REACH/MP_UNREACH resets; any other repeat is discarded.
    const word = type >> 5;
    const bit = 1 << (type & 31);
    if (((seen[word] ?? 0) & bit) !== 0) {
      if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI) {
        recordProblem(ctx, ERR_UPDATE_MESSAGE, UPDATE_MALFORMED_ATTRIBUTE_LIST, new Uint8Array(0), ErrorAction.SessionReset, `${attributeName(type)} repeated`);
      }
      recordProblem(ctx, ERR_UPDATE_MESSAGE, UPDATE_MALFORMED_ATTRIBUTE_LIST, b.subarray(at, p), ErrorAction.AttributeDiscard, `${attributeName(type)} repeated`);
      continue;
    }
    seen[word] = (seen[word] ?? 0) | bit;
    const row = TABLE[type];
    if (row === undefined) {
      if ((flags & ATTR_FLAG_OPTIONAL) === 0) {
        recordProblem(ctx, ERR_UPDATE_MESSAGE, UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, b.subarray(at, p), ErrorAction.SessionReset, `unrecognized well-known attribute ${type}`);
      }
      if ((flags & ATTR_FLAG_TRANSITIVE) !== 0) {
        (ctx.attrs.unknown ??= []).push({ flags: (flags | ATTR_FLAG_PARTIAL) & ~ATTR_FLAG_EXTENDED_LENGTH, type, value: copyBytes(v) });
      }
      continue;
    }
    if ((flags & OPTIONAL_TRANSITIVE) !== row.flags) {
      // RFC 7606 §3 c: conflicting Optional/Transitive bits make the attribute malformed.
      recordProblem(ctx, ERR_UPDATE_MESSAGE, UPDATE_ATTRIBUTE_FLAGS_ERROR, b.subarray(at, p), row.onMalformed, `${row.name} flags 0x${flags.toString(16)}`);
      continue;
    }
    const bad = row.decode(v, ctx);
    if (bad !== undefined) recordProblem(ctx, ERR_UPDATE_MESSAGE, bad.subcode, bad.data ?? b.subarray(at, p), bad.action ?? row.onMalformed, bad.reason);
  }
  if (!ctx.options.fourOctetAs) mergeAs4(ctx);
  return seen;
}

function mergeAs4(ctx: AttributeContext): void {
  const { aggregator, useAs4Path } = mergeAs4Aggregator(ctx.attrs.aggregator, ctx.as4Aggregator);
  if (aggregator !== undefined) ctx.attrs.aggregator = aggregator;
  if (useAs4Path && ctx.as4Path !== undefined && ctx.attrs.asPath !== undefined) ctx.attrs.asPath = mergeAs4Path(ctx.attrs.asPath, ctx.as4Path);
}

/**
 * RFC 4271 §6.3 / RFC 7606 §3 d: ORIGIN, AS_PATH and (with IPv4 NLRI) NEXT_HOP must be present
 * when the UPDATE announces anything; a missing one is treat-as-withdraw.
 */
export function checkMandatory(ctx: AttributeContext, hasIpv4Nlri: boolean, seen: SeenTypes): void {
  const need = hasIpv4Nlri ? [ATTR_ORIGIN, ATTR_AS_PATH, ATTR_NEXT_HOP] : [ATTR_ORIGIN, ATTR_AS_PATH];
  for (const t of need) {
    if ((((seen[t >> 5] ?? 0) >>> (t & 31)) & 1) === 0) recordProblem(ctx, ERR_UPDATE_MESSAGE, UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE, Uint8Array.of(t), ErrorAction.TreatAsWithdraw, `missing ${attributeName(t)}`);
  }
}

// RFC 7606 §5.1: MP_UNREACH/MP_REACH go first, so a receiver can always locate the NLRI.
const ENCODE_ORDER = [...ROWS.filter((r) => r.type === ATTR_MP_UNREACH_NLRI || r.type === ATTR_MP_REACH_NLRI), ...ROWS.filter((r) => r.type !== ATTR_MP_UNREACH_NLRI && r.type !== ATTR_MP_REACH_NLRI)];

/** Encode all attributes: MP ones first, then type-code order, then unknown ones as received. */
export function encodeAttributes(w: Writer, a: PathAttributes, o: CodecOptions): void {
  for (const row of ENCODE_ORDER) row.encode(a, o, w);
  for (const u of a.unknown ?? []) writeAttribute(w, u.flags & ~ATTR_FLAG_EXTENDED_LENGTH, u.type, (x) => x.bytes(u.value));
}

