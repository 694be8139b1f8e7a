// MessageReader framing (pg-protocol style): the stream split at every byte boundary, for one and
// for two messages, yields exactly the messages; frames are bounded so a body cannot read into
// the next message; header errors surface as soon as the header is in.
import { describe, expect, it } from 'vitest';
import { BgpError, encodeMessage, MessageReader, type BgpMessage, type CodecOptions } from '../../src/bgp/wire/index.js';
import { FIXTURES, MARKER, hex } from '../fixtures/bgp/messages.js';

const O: CodecOptions = { fourOctetAs: true, extendedMessage: false };

function readAll(chunks: Uint8Array[], o: CodecOptions = O): BgpMessage[] {
  const r = new MessageReader(o);
  const out: BgpMessage[] = [];
  for (const c of chunks) {
    r.push(c);
    for (const m of r.messages()) out.push(m);
  }
  expect(r.buffered).toBe(0);
  return out;
}

const update = FIXTURES.find((f) => f.name.startsWith('UPDATE IPv4'));
const open = FIXTURES.find((f) => f.name.startsWith('OPEN'));
if (update === undefined || open === undefined) throw new Error('fixtures missing');

describe('MessageReader', () => {
  it('one message split at every boundary', () => {
    const b = update.bytes;
    for (let i = 0; i <= b.length; i++) expect(readAll([b.subarray(0, i), b.subarray(i)])).toEqual([update.message]);
  });

  it('two messages split at every pair of boundaries', () => {
    const b = Buffer.concat([open.bytes, update.bytes]);
    for (let i = 0; i <= b.length; i++) {
      for (let j = i; j <= b.length; j += 7) expect(readAll([b.subarray(0, i), b.subarray(i, j), b.subarray(j)])).toEqual([open.message, update.message]);
    }
  });

  it('byte by byte, many messages, across buffer growth and compaction', () => {
    const all = FIXTURES.filter((f) => f.options.fourOctetAs);
    const b = Buffer.concat(Array.from({ length: 50 }, () => all.map((f) => f.bytes)).flat());
    const got = readAll([...b].map((x) => Uint8Array.of(x)));
    expect(got).toEqual(Array.from({ length: 50 }, () => all.map((f) => f.message)).flat());
  });

  it('decoded values do not alias the receive buffer', () => {
    const n = FIXTURES.find((f) => f.name.startsWith('NOTIFICATION'));
    if (n === undefined) throw new Error('fixture missing');
    const r = new MessageReader(O);
    r.push(n.bytes);
    const m = r.next();
    r.push(Buffer.alloc(n.bytes.length, 0xff)); // overwrites the reused buffer
    expect(m).toEqual(n.message);
  });

  it('a bad marker fails as soon as the header is in, before the body arrives', () => {
    const r = new MessageReader(O);
    r.push(hex(`${'ff'.repeat(15)}fe 0fff 02`));
    expect(() => r.next()).toThrow(BgpError);
  });

  it('a body cannot read past its own length into the next message', () => {
    // An UPDATE whose Total Path Attribute Length claims the octets of the KEEPALIVE after it.
    const bad = hex(`${MARKER} 0017 02 0000 0013`);
    const r = new MessageReader(O);
    r.push(Buffer.concat([bad, encodeMessage({ type: 'keepalive' }, O)]));
    expect(() => r.next()).toThrow(expect.objectContaining({ code: 3, subcode: 1 }) as Error);
  });
});
