// Capabilities Advertisement (RFC 5492) inside the OPEN's optional parameter 2: multiprotocol
// (RFC 4760), route refresh (RFC 2918), enhanced route refresh (RFC 7313), extended messages
// (RFC 8654), graceful restart (RFC 4724), 4-octet AS (RFC 6793), ADD-PATH (RFC 7911). Unknown
// capabilities are kept as received and re-encoded unchanged (RFC 5492 §3: ignore, don't fail).
// Malformed known capabilities are an OPEN Message Error (unspecific subcode), never a header error.
import { BgpError, ERR_OPEN_MESSAGE } from './errors.js';
import { copyBytes, type Writer } from './bytes.js';
import {
  CAP_ADD_PATH,
  CAP_ENHANCED_ROUTE_REFRESH,
  CAP_EXTENDED_MESSAGE,
  CAP_FOUR_OCTET_AS,
  CAP_GRACEFUL_RESTART,
  CAP_MULTIPROTOCOL,
  CAP_ROUTE_REFRESH,
  type Capability,
} from './types.js';

/** OPEN Message Error subcode 0: no more specific subcode applies (malformed parameters). */
export const OPEN_UNSPECIFIC = 0;

function malformed(code: number, reason: string): BgpError {
  return new BgpError(ERR_OPEN_MESSAGE, OPEN_UNSPECIFIC, new Uint8Array(0), `capability ${code}: ${reason}`);
}

/** Decode one capability value (`v` is bounded to the capability). */
export function decodeCapability(code: number, v: Uint8Array): Capability {
  const u16 = (at: number): number => ((v[at] ?? 0) << 8) | (v[at + 1] ?? 0);
  switch (code) {
    case CAP_MULTIPROTOCOL:
      if (v.length !== 4) throw malformed(code, `length ${v.length}, expected 4`);
      return { kind: 'multiprotocol', afi: u16(0), safi: v[3] ?? 0 };
    case CAP_ROUTE_REFRESH:
      if (v.length !== 0) throw malformed(code, `length ${v.length}, expected 0`);
      return { kind: 'routeRefresh' };
    case CAP_ENHANCED_ROUTE_REFRESH:
      if (v.length !== 0) throw malformed(code, `length ${v.length}, expected 0`);
      return { kind: 'enhancedRouteRefresh' };
    case CAP_EXTENDED_MESSAGE:
      if (v.length !== 0) throw malformed(code, `length ${v.length}, expected 0`);
      return { kind: 'extendedMessage' };
    case CAP_FOUR_OCTET_AS:
      if (v.length !== 4) throw malformed(code, `length ${v.length}, expected 4`);
      return { kind: 'fourOctetAs', asn: (u16(0) * 65536 + u16(2)) >>> 0 };
    case CAP_GRACEFUL_RESTART: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) throw malformed(code, `length ${v.length}`);
      const families: { afi: number; safi: number; forwardingPreserved: boolean }[] = [];
      for (let p = 2; p < v.length; p += 4) families.push({ afi: u16(p), safi: v[p + 2] ?? 0, forwardingPreserved: ((v[p + 3] ?? 0) & 0x80) !== 0 });
      return { kind: 'gracefulRestart', restartFlags: (v[0] ?? 0) >> 4, restartTime: u16(0) & 0x0fff, families };
    }
    case CAP_ADD_PATH: {
      if (v.length % 4 !== 0) throw malformed(code, `length ${v.length}`);
      const families: { afi: number; safi: number; sendReceive: number }[] = [];
      for (let p = 0; p < v.length; p += 4) families.push({ afi: u16(p), safi: v[p + 2] ?? 0, sendReceive: v[p + 3] ?? 0 });
      return { kind: 'addPath', families };
    }
    default:
      return { kind: 'unknown', code, value: copyBytes(v) };
  }
}

/** Decode a capabilities optional parameter value (a run of code/length/value triples). */
export function decodeCapabilities(v: Uint8Array, out: Capability[]): void {
  let p = 0;
  while (p < v.length) {
    if (p + 2 > v.length) throw malformed(v[p] ?? 0, 'truncated header');
    const code = v[p] ?? 0;
    const len = v[p + 1] ?? 0;
    if (p + 2 + len > v.length) throw malformed(code, `length ${len} overruns the parameter`);
    out.push(decodeCapability(code, v.subarray(p + 2, p + 2 + len)));
    p += 2 + len;
  }
}

/** Write one capability as code, length, value. */
export function encodeCapability(w: Writer, c: Capability): void {
  const start = w.pos;
  w.u8(c.kind === 'unknown' ? c.code : codeOf(c.kind));
  const lenAt = w.reserve(1);
  switch (c.kind) {
    case 'multiprotocol':
      w.u16(c.afi);
      w.u8(0);
      w.u8(c.safi);
      break;
    case 'fourOctetAs':
      w.u32(c.asn);
      break;
    case 'gracefulRestart':
      w.u16(((c.restartFlags & 0xf) << 12) | (c.restartTime & 0x0fff));
      for (const f of c.families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwardingPreserved ? 0x80 : 0);
      }
      break;
    case 'addPath':
      for (const f of c.families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.sendReceive);
      }
      break;
    case 'unknown':
      w.bytes(c.value);
      break;
    default:
      break;
  }
  const len = w.pos - start - 2;
  if (len > 255) throw new RangeError(`capability ${c.kind} is ${len} octets, over 255`);
  w.putU8(lenAt, len);
}

function codeOf(kind: Exclude<Capability['kind'], 'unknown'>): number {
  switch (kind) {
    case 'multiprotocol':
      return CAP_MULTIPROTOCOL;
    case 'routeRefresh':
      return CAP_ROUTE_REFRESH;
    case 'enhancedRouteRefresh':
      return CAP_ENHANCED_ROUTE_REFRESH;
    case 'extendedMessage':
      return CAP_EXTENDED_MESSAGE;
    case 'fourOctetAs':
      return CAP_FOUR_OCTET_AS;
    case 'gracefulRestart':
      return CAP_GRACEFUL_RESTART;
    case 'addPath':
      return CAP_ADD_PATH;
  }
}
