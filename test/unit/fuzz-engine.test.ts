// The fuzz engine itself (src/fuzz): a case is a pure function of (seed, target, index), so any
// finding can be rebuilt; a slow case is a hang only if it stays slow; failures of one kind are
// kept a few times, not a million; corpus files are named by the hash of the case and read back
// as the same case.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bgpTarget } from '../../src/fuzz/bgp-target.js';
import { configTarget } from '../../src/fuzz/config-target.js';
import { loadCorpus, saveCase } from '../../src/fuzz/corpus.js';
import { runCases } from '../../src/fuzz/engine.js';
import { registryTarget } from '../../src/fuzz/registry-target.js';
import { caseSeed, Rng } from '../../src/fuzz/rng.js';
import type { FuzzTarget } from '../../src/fuzz/target.js';

const targets = [bgpTarget(), registryTarget(), configTarget()] as FuzzTarget<unknown>[];
const scratch = mkdtempSync(join(tmpdir(), 'weft-fuzz-corpus-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('fuzz engine', () => {
  it.each(targets.map((t) => [t.name, t] as const))('%s: case i is the same whenever it is generated', (_name, t) => {
    const seeds = t.seeds();
    const at = (i: number): string => t.serialize(t.generate(new Rng(caseSeed(42, t.name, i)), seeds));
    const first = [0, 1, 7, 123_456_789].map(at);
    expect([0, 1, 7, 123_456_789].map(at)).toEqual(first);
    expect(new Set(first).size).toBe(4);
  });

  it.each(targets.map((t) => [t.name, t] as const))('%s: corpus files are named by hash and read back as the same case', (_name, t) => {
    const c = t.generate(new Rng(caseSeed(5, t.name, 9)), t.seeds());
    const saved = saveCase(t, c, 'a note', scratch);
    expect(saved.added).toBe(true);
    expect(saveCase(t, c, 'another note', scratch).added).toBe(false);
    expect(saved.file).toMatch(new RegExp(`/${t.name}/[0-9a-f]{16}\\.${t.ext}$`));
    const back = loadCorpus(t, scratch);
    expect(back.map((f) => t.serialize(f.case))).toEqual([t.serialize(c)]);
  });

  it('a case that stays slow is a hang; a failure is reported with its seed and index, a few per kind', () => {
    const fake: FuzzTarget<number> = {
      name: 'config',
      ext: 'txt',
      seeds: () => [0],
      generate: (rng) => rng.below(10),
      check(n) {
        if (n === 3) {
          const until = performance.now() + 30;
          while (performance.now() < until);
        }
        return n === 7 ? { kind: 'crash', reason: `TypeError: broke at ${n}` } : undefined;
      },
      serialize: (n) => String(n),
      parse: Number,
    };
    const r = runCases(fake, { seed: 1, from: 100, count: 120, hangMs: 20 });
    expect(r.cases).toBe(120);
    expect(r.hangs).toBeGreaterThan(5);
    expect(r.crashes).toBeGreaterThan(5);
    // All counted, but each kind kept at most three times.
    expect(r.findings.filter((f) => f.kind === 'crash')).toHaveLength(3);
    expect(r.findings.filter((f) => f.kind === 'hang')).toHaveLength(3);
    const f = r.findings.find((x) => x.kind === 'crash')!;
    expect(fake.generate(new Rng(caseSeed(1, 'config', f.index)), [0])).toBe(7);
    expect(f.index).toBeGreaterThanOrEqual(100);
  });

  it('the scratch corpus held only what this test wrote', () => {
    expect(readdirSync(scratch).sort()).toEqual(['bgp', 'config', 'registry']);
  });
});
