// OPEN message body (RFC 4271 §4.2) with optional parameters (RFC 5492 capabilities; RFC 9072
// extended optional parameters length, decoded, and used on encode only when needed) and the
// RFC 6793 My AS rule: AS_TRANS in the 2-octet field when the real AS does not fit. This is
// well-formedness only; whether the OPEN is acceptable (version, hold time, identifier, peer AS)
// is validate-open.ts.
import { decodeCapabilities, encodeCapability, OPEN_UNSPECIFIC } from './capabilities.js';
import { ipv4FromBytes, ipv4FromText, ipv4ToText, type Writer } from './bytes.js';
import { BgpError, ERR_OPEN_MESSAGE, OPEN_UNSUPPORTED_OPTIONAL_PARAMETER } from './errors.js';
import { AS_TRANS, type Capability, type OpenMessage } from './types.js';

const PARAM_CAPABILITIES = 2;
const PARAM_EXTENDED_LENGTH = 255;

function malformed(reason: string): BgpError {
  return new BgpError(ERR_OPEN_MESSAGE, OPEN_UNSPECIFIC, new Uint8Array(0), reason);
}

/** Decode an OPEN body (`b` is bounded to the message body; the header checked its length ≥ 10). */
export function decodeOpenBody(b: Uint8Array): OpenMessage {
  const version = b[0] ?? 0;
  const as2 = ((b[1] ?? 0) << 8) | (b[2] ?? 0);
  const holdTime = ((b[3] ?? 0) << 8) | (b[4] ?? 0);
  const bgpId = ipv4ToText(ipv4FromBytes(b, 5));
  let optLen = b[9] ?? 0;
  let p = 10;
  let extended = false;
  // RFC 9072: Non-Ext OP Len 255 and Non-Ext OP Type 255 announce 2-octet lengths.
  if (optLen === 255 && b[10] === PARAM_EXTENDED_LENGTH) {
    if (b.length < 13) throw malformed('truncated extended optional parameters length');
    optLen = ((b[11] ?? 0) << 8) | (b[12] ?? 0);
    p = 13;
    extended = true;
  }
  if (p + optLen !== b.length) throw malformed(`optional parameters length ${optLen} does not match the message (${b.length - p} octets)`);
  const capabilities: Capability[] = [];
  const end = p + optLen;
  while (p < end) {
    const hdr = extended ? 3 : 2;
    if (p + hdr > end) throw malformed('truncated optional parameter');
    const type = b[p] ?? 0;
    const len = extended ? ((b[p + 1] ?? 0) << 8) | (b[p + 2] ?? 0) : (b[p + 1] ?? 0);
    if (p + hdr + len > end) throw malformed(`optional parameter ${type} overruns the parameters`);
    if (type !== PARAM_CAPABILITIES) throw new BgpError(ERR_OPEN_MESSAGE, OPEN_UNSUPPORTED_OPTIONAL_PARAMETER, new Uint8Array(0), `optional parameter type ${type}`);
    decodeCapabilities(b.subarray(p + hdr, p + hdr + len), capabilities);
    p += hdr + len;
  }
  const four = capabilities.find((c) => c.kind === 'fourOctetAs');
  return { type: 'open', version, myAs: four?.kind === 'fourOctetAs' ? four.asn : as2, holdTime, bgpId, capabilities };
}

export function encodeOpenBody(w: Writer, m: OpenMessage): void {
  const id = ipv4FromText(m.bgpId);
  if (Number.isNaN(id)) throw new RangeError(`BGP identifier "${m.bgpId}" is not a dotted quad`);
  w.u8(m.version);
  w.u16(m.myAs > 0xffff ? AS_TRANS : m.myAs);
  w.u16(m.holdTime);
  w.u32(id);
  const lenAt = w.reserve(1);
  const start = w.pos;
  // One capability per parameter would waste octets; one parameter holds them all when it fits.
  if (m.capabilities.length > 0) {
    w.u8(PARAM_CAPABILITIES);
    const plenAt = w.reserve(1);
    for (const c of m.capabilities) encodeCapability(w, c);
    const plen = w.pos - plenAt - 1;
    if (plen <= 255) {
      w.putU8(plenAt, plen);
    } else {
      // RFC 9072 form: rewrite with 2-octet lengths.
      const caps = Buffer.from(w.buf.subarray(plenAt + 1, w.pos));
      w.pos = start;
      w.u8(PARAM_EXTENDED_LENGTH);
      w.u16(caps.length + 3);
      w.u8(PARAM_CAPABILITIES);
      w.u16(caps.length);
      w.bytes(caps);
      w.putU8(lenAt, 255);
      return;
    }
  }
  w.putU8(lenAt, w.pos - start);
}
