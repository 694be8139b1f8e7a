// The registry boundary under the fuzz engine (src/fuzz/registry-target.ts): batches of Node
// objects, etcd keys/values and raw entries, mutated, through remoteEntryOf / decodeEntry /
// validateRemoteEntries. Nothing may throw, every entry is a node or a typed skip, accepted nodes
// are well-formed and never overlap, and the result does not depend on arrival order. A bounded
// sample (fixed seed and today's, printed) plus a replay of the corpus.
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../src/fuzz/corpus.js';
import { runCases, type RunResult } from '../../src/fuzz/engine.js';
import { checkRegistryCase, registryEntries, registryTarget } from '../../src/fuzz/registry-target.js';
import { dateSeed } from '../../src/fuzz/rng.js';
import { validateRemoteEntries } from '../../src/registry/validate.js';

const CASES = Number(process.env.WEFT_FUZZ_CASES ?? 1000);
const target = registryTarget();
const corpus = loadCorpus(target);
const pool = [...target.seeds(), ...corpus.map((f) => f.case)];

function explain(r: RunResult): string {
  return r.findings.map((f) => `seed ${f.seed} case ${f.index}: ${f.reason}\n${f.text}`).join('\n');
}

describe('registry entry fuzzing (bounded sample)', () => {
  for (const seed of [1, dateSeed()]) {
    it(`seed ${seed}: ${CASES} mutated batches, no crash and no hang`, () => {
      console.log(`registry fuzz sample: seed ${seed}, ${CASES} cases`);
      const r = runCases(target, { seed, from: 0, count: CASES, pool, hangMs: 100 });
      expect(r.crashes + r.hangs, explain(r)).toBe(0);
    });
  }

  it('the seeds are valid: every entry becomes a node, apart from the deliberate duplicates', () => {
    const [plain, dual] = target.seeds();
    const a = validateRemoteEntries(registryEntries(plain!), { network: plain!.network });
    expect(a.skipped).toEqual([]);
    expect(a.nodes.map((n) => n.name)).toEqual(['10.244.101.0-24', 'n1', 'n2', 'r1']);
    const b = validateRemoteEntries(registryEntries(dual!), { network: dual!.network, local: dual!.local! });
    expect(b.skipped).toEqual([]);
    expect(b.nodes.filter((n) => n.ipv6Subnet !== undefined)).toHaveLength(3);
  });
});

describe('registry corpus replay', () => {
  it('holds at least the seeds', () => expect(corpus.length).toBeGreaterThanOrEqual(target.seeds().length));
  for (const { file, case: c } of corpus) {
    it(file.split('/').slice(-2).join('/'), () => expect(checkRegistryCase(c)).toBeUndefined());
  }
});
