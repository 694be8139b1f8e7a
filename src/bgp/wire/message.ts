// Whole messages: the 19-octet header (RFC 4271 §4.1: all-ones marker, length, type) and
// dispatch to the five bodies — OPEN, UPDATE, NOTIFICATION, KEEPALIVE (§4.4), ROUTE-REFRESH
// (RFC 2918, RFC 7313 subtypes). Header errors follow §6.1 exactly: Connection Not Synchronized,
// Bad Message Length with the length field as data, Bad Message Type with the type octet; message
// length may reach 65535 only with RFC 8654 extended messages (never for OPEN). Each body is
// decoded from a subarray bounded to the message, so no field can read into the next one.
import { Writer } from './bytes.js';
import {
  BgpError,
  ERR_MESSAGE_HEADER,
  ERR_ROUTE_REFRESH_MESSAGE,
  HEADER_BAD_MESSAGE_LENGTH,
  HEADER_BAD_MESSAGE_TYPE,
  HEADER_CONNECTION_NOT_SYNCHRONIZED,
  ROUTE_REFRESH_INVALID_MESSAGE_LENGTH,
} from './errors.js';
import { decodeNotificationBody, encodeNotificationBody } from './notification.js';
import { decodeOpenBody, encodeOpenBody } from './open.js';
import { maxMessageLength, type CodecOptions } from './options.js';
import {
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  MSG_UPDATE,
  type BgpMessage,
} from './types.js';
import { decodeUpdateBody, encodeUpdateBody } from './update.js';

export interface DecodedMessage {
  message: BgpMessage;
  /** Octets taken from the input (the message's length field). */
  consumed: number;
}

/** Smallest and largest length per type (header included); largest 0 = the negotiated maximum. */
const LIMITS: Record<number, [min: number, max: number]> = {
  [MSG_OPEN]: [29, MAX_MESSAGE_LENGTH],
  [MSG_UPDATE]: [23, 0],
  [MSG_NOTIFICATION]: [21, 0],
  [MSG_KEEPALIVE]: [19, 19],
  [MSG_ROUTE_REFRESH]: [19, 0],
};

function lengthError(b: Uint8Array, at: number, reason: string): BgpError {
  return new BgpError(ERR_MESSAGE_HEADER, HEADER_BAD_MESSAGE_LENGTH, b.subarray(at + 16, at + 18), reason);
}

/**
 * Check the header at b[at..at+19) and return the message length and type. Throws the §6.1
 * error. Needs only the header, so a bogus length is caught before waiting for its octets.
 */
export function checkHeader(b: Uint8Array, options: CodecOptions, at = 0): { length: number; type: number } {
  for (let i = at; i < at + 16; i++) {
    if (b[i] !== 0xff) throw new BgpError(ERR_MESSAGE_HEADER, HEADER_CONNECTION_NOT_SYNCHRONIZED, undefined, 'marker is not all ones');
  }
  const length = ((b[at + 16] ?? 0) << 8) | (b[at + 17] ?? 0);
  const type = b[at + 18] ?? 0;
  const max = maxMessageLength(options);
  if (length < HEADER_LENGTH || length > max) throw lengthError(b, at, `length ${length} outside ${HEADER_LENGTH}..${max}`);
  const limits = LIMITS[type];
  if (limits === undefined) throw new BgpError(ERR_MESSAGE_HEADER, HEADER_BAD_MESSAGE_TYPE, b.subarray(at + 18, at + 19), `message type ${type}`);
  const [lo, hi] = limits;
  if (length < lo || (hi !== 0 && length > hi)) throw lengthError(b, at, `length ${length} invalid for message type ${type}`);
  return { length, type };
}

/**
 * Decode one message from the start of `b`. Returns undefined when `b` does not yet hold a whole
 * message; throws BgpError (the NOTIFICATION to send) when it is malformed.
 */
export function decodeMessage(b: Uint8Array, options: CodecOptions): DecodedMessage | undefined {
  if (b.length < HEADER_LENGTH) return undefined;
  const { length, type } = checkHeader(b, options);
  if (b.length < length) return undefined;
  const body = b.subarray(HEADER_LENGTH, length);
  return { message: decodeBody(type, body, b.subarray(0, length), options), consumed: length };
}

/** decodeMessage with the error returned instead of thrown (anything but a BgpError still throws). */
export function tryDecodeMessage(b: Uint8Array, options: CodecOptions): DecodedMessage | BgpError | undefined {
  try {
    return decodeMessage(b, options);
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
}

/** Decode a body whose header checkHeader accepted (`whole` is the entire message). */
export function decodeBody(type: number, body: Uint8Array, whole: Uint8Array, options: CodecOptions): BgpMessage {
  switch (type) {
    case MSG_OPEN:
      return decodeOpenBody(body);
    case MSG_UPDATE:
      return decodeUpdateBody(body, options);
    case MSG_NOTIFICATION:
      return decodeNotificationBody(body);
    case MSG_KEEPALIVE:
      return { type: 'keepalive' };
    default:
      if (body.length !== 4) {
        // RFC 7313 §5: a BoRR/EoRR of the wrong length is a ROUTE-REFRESH Message Error carrying the
        // whole message; any other ROUTE-REFRESH of the wrong length is a header length error.
        const subtype = body.length >= 3 ? body[2] : undefined;
        if (subtype === 1 || subtype === 2) throw new BgpError(ERR_ROUTE_REFRESH_MESSAGE, ROUTE_REFRESH_INVALID_MESSAGE_LENGTH, whole, `ROUTE-REFRESH length ${whole.length}`);
        throw lengthError(whole, 0, `ROUTE-REFRESH length ${whole.length}`);
      }
      return { type: 'routeRefresh', afi: ((body[0] ?? 0) << 8) | (body[1] ?? 0), subtype: body[2] ?? 0, safi: body[3] ?? 0 };
  }
}

const TYPE_CODES = { open: MSG_OPEN, update: MSG_UPDATE, notification: MSG_NOTIFICATION, keepalive: MSG_KEEPALIVE, routeRefresh: MSG_ROUTE_REFRESH } as const;

/** Encode a message into `w` (appending). Throws RangeError when it would exceed the maximum. */
export function encodeInto(w: Writer, m: BgpMessage, options: CodecOptions): void {
  const start = w.pos;
  w.ensure(HEADER_LENGTH);
  w.buf.fill(0xff, start, start + 16);
  w.pos += 16;
  const lenAt = w.reserve(2);
  w.u8(TYPE_CODES[m.type]);
  switch (m.type) {
    case 'open':
      encodeOpenBody(w, m);
      break;
    case 'update':
      encodeUpdateBody(w, m, options);
      break;
    case 'notification':
      encodeNotificationBody(w, m);
      break;
    case 'keepalive':
      break;
    case 'routeRefresh':
      w.u16(m.afi);
      w.u8(m.subtype);
      w.u8(m.safi);
      break;
  }
  const length = w.pos - start;
  const max = m.type === 'open' ? MAX_MESSAGE_LENGTH : maxMessageLength(options);
  if (length > max) {
    w.pos = start;
    throw new RangeError(`${m.type} message of ${length} octets exceeds the maximum of ${max}`);
  }
  w.putU16(lenAt, length);
}

/** Encode one message to a new Buffer. */
export function encodeMessage(m: BgpMessage, options: CodecOptions): Buffer {
  const w = new Writer(m.type === 'update' ? 4096 : 64);
  encodeInto(w, m, options);
  return Buffer.from(w.result());
}
