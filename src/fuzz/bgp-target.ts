// Fuzz target: the BGP wire decoder (src/bgp/wire). A case is some octets, the session options
// they are decoded under and a split point for the stream reader. The oracle: decoding gives a
// message, "need more octets" or a BgpError with a real NOTIFICATION code (1–7) — never another
// exception; an UPDATE's RFC 7606 report is never a session reset (that must be thrown); what
// decodes re-encodes and decodes to the same message, and re-encodes to the same octets again
// (a decoded message too big to re-encode within the maximum length is not a round-trip case);
// and the MessageReader, fed the octets in two pieces, reaches the same first outcome.
//
// Corpus files (.hex): `# options: {json}`, optionally `# split: N`, comments, then hex — the
// format of test/fixtures/bgp/corpus, which is replayed the same way.
import { isDeepStrictEqual } from 'node:util';
import { BgpError, decodeMessage, encodeMessage, ErrorAction, MessageReader, type BgpMessage, type CodecOptions, type DecodedMessage } from '../bgp/wire/index.js';
import { BgpMutator } from './bgp-mutate.js';
import { bgpSeeds, OPTION_SETS } from './bgp-seeds.js';
import type { Rng } from './rng.js';
import { describeThrown, type Failure, type FuzzTarget } from './target.js';

export interface BgpCase {
  bytes: Uint8Array;
  options: CodecOptions;
  /** Where the stream reader's input is cut in two. */
  split: number;
}

/** A broken oracle property: thrown inside checkBgpCase, reported as a crash. */
class PropertyBroken extends Error {
  override name = 'PropertyBroken';
}

function outcome(bytes: Uint8Array, options: CodecOptions): DecodedMessage | BgpError | undefined {
  try {
    return decodeMessage(bytes, options);
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    if (!Number.isInteger(e.code) || e.code < 1 || e.code > 7) throw new PropertyBroken(`BgpError with code ${e.code}`);
    if (!Number.isInteger(e.subcode) || e.subcode < 0 || e.subcode > 255) throw new PropertyBroken(`BgpError with subcode ${e.subcode}`);
    if (!(e.data instanceof Uint8Array)) throw new PropertyBroken('BgpError data is not octets');
    return e;
  }
}

const withoutReport = (m: BgpMessage): unknown => (m.type === 'update' ? { ...m, errors: undefined } : m);

function checkRoundTrip(d: DecodedMessage, options: CodecOptions): void {
  const m = d.message;
  if (m.type === 'update' && m.errors !== undefined && m.errors.action >= ErrorAction.SessionReset) throw new PropertyBroken('UPDATE decoded with a session-reset report instead of a thrown BgpError');
  let once: Buffer;
  try {
    once = encodeMessage(m, options);
  } catch (e) {
    // Merging AS4_PATH or re-adding attributes can make the message longer than the maximum.
    if (e instanceof RangeError && / exceeds the maximum /.test(e.message)) return;
    throw new PropertyBroken(`decoded ${m.type} does not re-encode: ${describeThrown(e)}`);
  }
  const again = outcome(once, options);
  if (again === undefined) throw new PropertyBroken('re-encoded message does not decode whole');
  if (again instanceof BgpError) throw new PropertyBroken(`re-encoded ${m.type} is rejected: ${again.message}`);
  if (again.consumed !== once.length) throw new PropertyBroken('re-encoded message length disagrees with its header');
  if (!isDeepStrictEqual(withoutReport(again.message), withoutReport(m))) throw new PropertyBroken(`re-encoded ${m.type} decodes differently`);
  const twice = encodeMessage(again.message, options);
  if (!once.equals(twice)) throw new PropertyBroken(`unstable re-encoding of ${m.type}`);
}

function checkReader(c: BgpCase, first: DecodedMessage | BgpError | undefined): void {
  const r = new MessageReader(c.options);
  const split = Math.min(c.split, c.bytes.length);
  let got: BgpMessage | BgpError | undefined;
  let count = 0;
  try {
    r.push(c.bytes.subarray(0, split));
    for (const m of r.messages()) if (count++ === 0) got = m;
    r.push(c.bytes.subarray(split));
    for (const m of r.messages()) if (count++ === 0) got = m;
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    if (count === 0) got = e;
  }
  if (first === undefined) {
    if (got !== undefined) throw new PropertyBroken('reader found a message where decode wanted more octets');
  } else if (first instanceof BgpError) {
    if (!(got instanceof BgpError) || got.code !== first.code || got.subcode !== first.subcode) throw new PropertyBroken(`reader disagrees with decode: ${first.message} vs ${got instanceof BgpError ? got.message : (got?.type ?? 'nothing')}`);
  } else if (got === undefined || got instanceof BgpError || !isDeepStrictEqual(got, first.message)) {
    throw new PropertyBroken(`reader disagrees with decode on a ${first.message.type}`);
  }
}

/** The oracle, throwing: exported for tests that want the exception itself. */
export function checkBgpCaseOrThrow(c: BgpCase): void {
  const first = outcome(c.bytes, c.options);
  if (first !== undefined && !(first instanceof BgpError)) {
    if (first.consumed < 19 || first.consumed > c.bytes.length) throw new PropertyBroken(`consumed ${first.consumed} of ${c.bytes.length} octets`);
    checkRoundTrip(first, c.options);
  }
  checkReader(c, first);
}

export function checkBgpCase(c: BgpCase): Failure | undefined {
  try {
    checkBgpCaseOrThrow(c);
    return undefined;
  } catch (e) {
    return { kind: 'crash', reason: describeThrown(e) };
  }
}

// ---------------------------------------------------------------------------------- corpus text

function hexLines(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  const lines: string[] = [];
  for (let i = 0; i < h.length; i += 64) lines.push(h.slice(i, i + 64));
  return lines.join('\n');
}

export function serializeBgpCase(c: BgpCase, note?: string): string {
  const head = [`# options: ${JSON.stringify(c.options)}`, `# split: ${c.split}`];
  if (note !== undefined) for (const line of note.split('\n')) head.push(`# ${line}`);
  return `${head.join('\n')}\n${hexLines(c.bytes)}\n`;
}

export function parseBgpCase(text: string): BgpCase {
  const options = /^# options: (.*)$/m.exec(text);
  const split = /^# split: (\d+)$/m.exec(text);
  const hex = text
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  const bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  return {
    bytes,
    options: JSON.parse(options?.[1] ?? '{"fourOctetAs":true,"extendedMessage":false}') as CodecOptions,
    split: split === null ? Math.floor(bytes.length / 2) : Number(split[1]),
  };
}

// ---------------------------------------------------------------------------------- the target

export function bgpTarget(): FuzzTarget<BgpCase> {
  let mutator: BgpMutator | undefined;
  let mutatorPool: readonly BgpCase[] | undefined;
  let poolBytes: Uint8Array[] = [];
  return {
    name: 'bgp',
    ext: 'hex',
    seeds: () => bgpSeeds().map((s) => ({ bytes: s.bytes, options: s.options, split: Math.floor(s.bytes.length / 2) })),
    generate(rng: Rng, pool: readonly BgpCase[]): BgpCase {
      if (mutator === undefined || mutatorPool !== pool) {
        poolBytes = pool.map((c) => c.bytes);
        mutator = new BgpMutator(poolBytes);
        mutatorPool = pool;
      }
      const base = rng.pick(pool);
      const options = rng.chance(0.7) ? base.options : rng.pick(OPTION_SETS);
      let bytes: Uint8Array;
      if (rng.chance(0.03)) {
        // Raw noise, half of it behind a valid marker so it gets past the first check.
        bytes = new Uint8Array(rng.small(600));
        for (let i = 0; i < bytes.length; i++) bytes[i] = i < 16 && rng.chance(0.5) ? 0xff : rng.below(256);
      } else {
        bytes = mutator.mutate(rng, base.bytes, poolBytes);
      }
      return { bytes, options, split: rng.below(bytes.length + 1) };
    },
    check: checkBgpCase,
    serialize: serializeBgpCase,
    parse: parseBgpCase,
  };
}
