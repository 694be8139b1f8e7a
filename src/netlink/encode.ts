// Small helpers shared by the rtnetlink object modules: running the `netlink` package's struct
// formatters into plain buffers, and the few attribute layouts the package gets wrong or lacks.
import netlinkPackage from 'netlink';
import type { AttrStream as AttrStreamType, StreamData } from 'netlink';

const { AttrStream } = netlinkPackage;

/** Runs a formatter of the package and returns the bytes it produced. */
export function collect(format: (out: AttrStreamType) => void): Uint8Array[] {
  const out = new AttrStream();
  format(out);
  return out.bufs;
}

/** Flattens package stream data (a buffer, buffers, or a writer function) into one Buffer. */
export function toBuffer(data: StreamData): Buffer {
  const out = new AttrStream();
  out.emit(data);
  return Buffer.concat(out.bufs);
}

/** One netlink attribute (type, value), 4-byte aligned, as the kernel expects in nested blobs. */
export function attribute(type: number, value: Uint8Array): Buffer {
  const length = 4 + value.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  out.set(value, 4);
  return out;
}

/** Iterates the attributes of a blob: [type (nested/byteorder bits cleared), value]. */
export function* attributes(blob: Buffer): Generator<[number, Buffer]> {
  let offset = 0;
  while (offset + 4 <= blob.length) {
    const length = blob.readUInt16LE(offset);
    if (length < 4 || offset + length > blob.length) return;
    yield [blob.readUInt16LE(offset + 2) & 0x3fff, blob.subarray(offset + 4, offset + length)];
    offset += (length + 3) & ~3;
  }
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}

export function be16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value, 0);
  return out;
}

/**
 * Builds one rtnetlink payload (fixed header struct + attributes) in a single buffer. Used for
 * the messages written thousands at a time (neighbours, FDB, routes), where the package's
 * object-by-object formatting costs more than the kernel's own work.
 */
export class PayloadBuilder {
  private buffer: Buffer;
  private length: number;

  constructor(headerLength: number, capacity = 96) {
    this.buffer = Buffer.alloc(Math.max(capacity, headerLength));
    this.length = headerLength;
  }

  /** The fixed header struct (ndmsg, rtmsg…), zeroed, for the caller to fill in. */
  get header(): Buffer {
    return this.buffer;
  }

  attr(type: number, value: Uint8Array): this {
    const start = this.reserve(4 + value.length);
    this.buffer.writeUInt16LE(4 + value.length, start);
    this.buffer.writeUInt16LE(type, start + 2);
    this.buffer.set(value, start + 4);
    return this;
  }

  u32(type: number, value: number): this {
    const start = this.reserve(8);
    this.buffer.writeUInt16LE(8, start);
    this.buffer.writeUInt16LE(type, start + 2);
    this.buffer.writeUInt32LE(value >>> 0, start + 4);
    return this;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Reserves an aligned attribute of `size` bytes and returns where it starts. */
  private reserve(size: number): number {
    const start = (this.length + 3) & ~3;
    const end = start + ((size + 3) & ~3);
    if (end > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(end, this.buffer.length * 2));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length = start + size;
    return start;
  }
}
