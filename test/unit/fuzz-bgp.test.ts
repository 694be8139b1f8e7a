// The BGP decoder under the fuzz engine (src/fuzz): a bounded sample of structure-aware mutations
// with a fixed seed and today's seed (both printed: a failure names its seed and case, and
// `weft bench fuzz --target bgp --seed S` finds it again), the seeds themselves round-tripping
// exactly, every corpus input replayed through the oracle, and the bugs fuzzing found.
// WEFT_FUZZ_CASES raises the sample (the long runs are `weft bench fuzz`, not CI). The hang limit
// here is 100 ms, twice the long runs': CI machines are busier, and a real hang never returns anyway.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, ErrorAction, type UpdateMessage } from '../../src/bgp/wire/index.js';
import { bgpSeeds, OPTION_SETS } from '../../src/fuzz/bgp-seeds.js';
import { bgpTarget, checkBgpCase, parseBgpCase } from '../../src/fuzz/bgp-target.js';
import { loadCorpus } from '../../src/fuzz/corpus.js';
import { runCases, type RunResult } from '../../src/fuzz/engine.js';
import { dateSeed } from '../../src/fuzz/rng.js';

const CASES = Number(process.env.WEFT_FUZZ_CASES ?? 25_000);
const target = bgpTarget();
const pool = [...target.seeds(), ...loadCorpus(target).map((f) => f.case)];

function explain(r: RunResult): string {
  return r.findings.map((f) => `seed ${f.seed} case ${f.index}: ${f.reason}\n${f.text}`).join('\n');
}

describe('BGP decoder fuzzing (bounded sample)', () => {
  for (const seed of [1, dateSeed()]) {
    it(`seed ${seed}: ${CASES} mutated messages, no crash and no hang`, () => {
      console.log(`bgp fuzz sample: seed ${seed}, ${CASES} cases`);
      const r = runCases(target, { seed, from: 0, count: CASES, pool, hangMs: 100 });
      expect(r.cases).toBe(CASES);
      expect(r.crashes + r.hangs, explain(r)).toBe(0);
    });
  }

  it('the seeds cover every message type and decode back to exactly their octets', () => {
    const seeds = bgpSeeds();
    expect(new Set(seeds.map((s) => s.bytes[18]))).toEqual(new Set([1, 2, 3, 4, 5]));
    for (const s of seeds) {
      const d = decodeMessage(s.bytes, s.options);
      expect(d?.consumed, s.name).toBe(s.bytes.length);
      expect(encodeMessage(d!.message, s.options).equals(Buffer.from(s.bytes)), s.name).toBe(true);
      expect((d!.message as Partial<UpdateMessage>).errors, s.name).toBeUndefined();
    }
  });

  it('mutation is not a no-op: most cases differ from every seed', () => {
    const seedHex = new Set(pool.map((c) => Buffer.from(c.bytes).toString('hex')));
    let changed = 0;
    const r = runCases({ ...target, check: (c) => void (seedHex.has(Buffer.from(c.bytes).toString('hex')) || changed++) }, { seed: 3, from: 0, count: 2000, pool });
    expect(r.cases).toBe(2000);
    expect(changed).toBeGreaterThan(1700);
  });
});

describe('BGP corpus replay: every kept input satisfies the oracle', () => {
  const files = [
    ...loadCorpus(target).map((f) => ({ file: f.file, c: f.case })),
    // The older corpus of the fast-check fuzz test, same format.
    ...readdirSync(join(import.meta.dirname, '../fixtures/bgp/corpus'))
      .filter((f) => f.endsWith('.hex'))
      .map((f) => ({ file: f, c: parseBgpCase(readFileSync(join(import.meta.dirname, '../fixtures/bgp/corpus', f), 'utf8')) })),
  ];
  it('holds the seeds and the findings', () => expect(files.length).toBeGreaterThan(target.seeds().length));
  for (const { file, c } of files) {
    it(file.split('/').slice(-2).join('/'), () => expect(checkBgpCase(c)).toBeUndefined());
  }
});

describe('regressions found by fuzzing', () => {
  it('AS4_AGGREGATOR naming AS 0 is discarded (RFC 7607), so the merged AGGREGATOR stays what was sent', () => {
    // 2-octet session. AGGREGATOR 23456 (AS_TRANS) 192.0.2.2 + AS4_AGGREGATOR AS 0 0.0.0.0: the
    // merge used to produce AGGREGATOR AS 0, which re-encoded and then decoded as malformed.
    const options = OPTION_SETS[0]!;
    const bytes = encodeMessage(
      {
        type: 'update',
        withdrawn: [],
        attributes: { origin: 0, asPath: [{ type: 'sequence', asns: [65001] }], nextHop: '192.0.2.1', aggregator: { asn: 23456, address: '192.0.2.2' }, unknown: [{ flags: 0xc0, type: 18, value: new Uint8Array(8) }] },
        nlri: [],
      },
      options,
    );
    const m = decodeMessage(bytes, options)?.message as UpdateMessage;
    expect(m.attributes.aggregator).toEqual({ asn: 23456, address: '192.0.2.2' });
    expect(m.errors?.action).toBe(ErrorAction.AttributeDiscard);
    expect(m.errors?.problems.map((p) => p.reason)).toEqual(['AS4_AGGREGATOR AS 0']);
    expect(checkBgpCase({ bytes, options, split: 0 })).toBeUndefined();
  });
});
