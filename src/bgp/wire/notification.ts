// NOTIFICATION message body (RFC 4271 §4.5) and the RFC 9003 shutdown communication carried in
// Cease / Administrative Shutdown and Administrative Reset: one length octet, then up to 255
// octets of UTF-8. Decoding exposes the text only when the data is exactly such a message.
import type { Writer } from './bytes.js';
import { copyBytes } from './bytes.js';
import { CEASE_ADMINISTRATIVE_RESET, CEASE_ADMINISTRATIVE_SHUTDOWN, ERR_CEASE } from './errors.js';
import type { NotificationMessage } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return code === ERR_CEASE && (subcode === CEASE_ADMINISTRATIVE_SHUTDOWN || subcode === CEASE_ADMINISTRATIVE_RESET);
}

/** The RFC 9003 text in `data`, or undefined when absent or malformed (then: log and ignore). */
export function decodeShutdownCommunication(data: Uint8Array): string | undefined {
  if (data.length < 1 || data[0] !== data.length - 1) return undefined;
  try {
    return utf8.decode(data.subarray(1));
  } catch {
    return undefined;
  }
}

/** Length octet + UTF-8, cut at a character boundary to at most 255 octets. */
export function encodeShutdownCommunication(text: string): Uint8Array {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 255) {
    let end = 255;
    while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** Decode a NOTIFICATION body (the header guaranteed at least 2 octets). */
export function decodeNotificationBody(b: Uint8Array): NotificationMessage {
  const code = b[0] ?? 0;
  const subcode = b[1] ?? 0;
  const data = copyBytes(b.subarray(2));
  const m: NotificationMessage = { type: 'notification', code, subcode, data };
  if (carriesShutdownCommunication(code, subcode)) {
    const text = decodeShutdownCommunication(data);
    if (text !== undefined) m.shutdownMessage = text;
  }
  return m;
}

export function encodeNotificationBody(w: Writer, m: NotificationMessage): void {
  w.u8(m.code);
  w.u8(m.subcode);
  w.bytes(m.shutdownMessage !== undefined && carriesShutdownCommunication(m.code, m.subcode) ? encodeShutdownCommunication(m.shutdownMessage) : m.data);
}
