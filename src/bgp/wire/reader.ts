// Framing of the incoming TCP byte stream (pg-protocol style): chunks are appended to one growing
// buffer, a cursor walks it, and only complete messages are decoded — each from a subarray bounded
// to its own length. The header is checked as soon as its 19 octets are in, so a bad marker or
// length fails at once rather than after waiting for octets that will never come. Decoded values
// own their memory, so the buffer is compacted and reused.
import { HEADER_LENGTH, type BgpMessage } from './types.js';
import { checkHeader, decodeBody } from './message.js';
import type { CodecOptions } from './options.js';

export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private options: CodecOptions;

  constructor(options: CodecOptions) {
    this.options = options;
  }

  /** Switch options (after OPENs are exchanged): applies to messages not yet decoded. */
  setOptions(options: CodecOptions): void {
    this.options = options;
  }

  /** Octets received but not yet part of a decoded message. */
  get buffered(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    const need = this.end - this.start + chunk.length;
    if (this.end + chunk.length > this.buf.length) {
      if (need <= this.buf.length) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = Math.max(this.buf.length * 2, 8192);
        while (size < need) size *= 2;
        const next = Buffer.allocUnsafe(size);
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /**
   * The next complete message, or undefined until more octets arrive. Throws BgpError on a
   * malformed message (the stream is then unusable: send the NOTIFICATION and close).
   */
  next(): BgpMessage | undefined {
    const avail = this.end - this.start;
    if (avail < HEADER_LENGTH) return undefined;
    const { length, type } = checkHeader(this.buf, this.options, this.start);
    if (avail < length) return undefined;
    const whole = this.buf.subarray(this.start, this.start + length);
    this.start += length;
    if (this.start === this.end) this.start = this.end = 0;
    return decodeBody(type, whole.subarray(HEADER_LENGTH), whole, this.options);
  }

  /** All complete messages buffered now. */
  *messages(): Generator<BgpMessage> {
    for (let m = this.next(); m !== undefined; m = this.next()) yield m;
  }
}
