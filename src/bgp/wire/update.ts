// UPDATE message body (RFC 4271 §4.3): Withdrawn Routes, Path Attributes, NLRI, with RFC 7911
// path ids when ADD-PATH is on for IPv4 unicast. Structural errors (lengths that do not add up,
// unparsable NLRI or withdrawn routes) reset the session (RFC 4271 §6.3, RFC 7606 §5.3);
// attribute problems are handled per attributes.ts and reported on `errors`.
import { checkMandatory, decodeAttributes, encodeAttributes, type AttributeContext } from './attributes.js';
import type { Writer } from './bytes.js';
import { BgpError, ERR_UPDATE_MESSAGE, UPDATE_INVALID_NETWORK_FIELD, UPDATE_MALFORMED_ATTRIBUTE_LIST } from './errors.js';
import { decodeIpv4Prefixes, encodePrefixes } from './nlri.js';
import { hasAddPath, type CodecOptions } from './options.js';
import { AFI_IPV4, SAFI_UNICAST, type UpdateMessage } from './types.js';

export function decodeUpdateBody(b: Uint8Array, options: CodecOptions): UpdateMessage {
  const n = b.length;
  const wl = ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  if (4 + wl > n) throw new BgpError(ERR_UPDATE_MESSAGE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, `withdrawn routes length ${wl} exceeds the message`);
  const al = ((b[2 + wl] ?? 0) << 8) | (b[3 + wl] ?? 0);
  if (4 + wl + al > n) throw new BgpError(ERR_UPDATE_MESSAGE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, `total path attribute length ${al} exceeds the message`);
  const addPath = hasAddPath(options, AFI_IPV4, SAFI_UNICAST);
  const withdrawn: number[] = [];
  const withdrawnPathIds = addPath ? [] : undefined;
  if (!decodeIpv4Prefixes(b, 2, 2 + wl, withdrawn, withdrawnPathIds)) throw new BgpError(ERR_UPDATE_MESSAGE, UPDATE_INVALID_NETWORK_FIELD, undefined, 'malformed withdrawn routes');
  const ctx: AttributeContext = { options, attrs: {} };
  const seen = decodeAttributes(b, 4 + wl, 4 + wl + al, ctx);
  const nlri: number[] = [];
  const nlriPathIds = addPath ? [] : undefined;
  if (!decodeIpv4Prefixes(b, 4 + wl + al, n, nlri, nlriPathIds)) throw new BgpError(ERR_UPDATE_MESSAGE, UPDATE_INVALID_NETWORK_FIELD, undefined, 'malformed NLRI');
  const mp = ctx.attrs.mpReach;
  const announces = nlri.length > 0 || (mp !== undefined && (mp.nlri.length > 0 || (mp.nlriRaw?.length ?? 0) > 0));
  if (announces) checkMandatory(ctx, nlri.length > 0, seen);
  const m: UpdateMessage = { type: 'update', withdrawn, attributes: ctx.attrs, nlri };
  if (withdrawnPathIds !== undefined) m.withdrawnPathIds = withdrawnPathIds;
  if (nlriPathIds !== undefined) m.nlriPathIds = nlriPathIds;
  if (ctx.report !== undefined) m.errors = ctx.report;
  return m;
}

export function encodeUpdateBody(w: Writer, m: UpdateMessage, options: CodecOptions): void {
  const addPath = hasAddPath(options, AFI_IPV4, SAFI_UNICAST);
  const wlAt = w.reserve(2);
  encodePrefixes(w, AFI_IPV4, m.withdrawn, addPath ? (m.withdrawnPathIds ?? []) : undefined);
  w.putU16(wlAt, w.pos - wlAt - 2);
  const alAt = w.reserve(2);
  encodeAttributes(w, m.attributes, options);
  w.putU16(alAt, w.pos - alAt - 2);
  encodePrefixes(w, AFI_IPV4, m.nlri, addPath ? (m.nlriPathIds ?? []) : undefined);
}
