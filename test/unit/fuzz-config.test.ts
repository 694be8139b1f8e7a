// Configuration parsing under the fuzz engine (src/fuzz/config-target.ts): mutated net-conf.json
// (through parseNetConfText and the BGP backend's resolveBgpOptions) and mutated daemon flags and
// environment (resolveDaemonConfig). Invalid input is one ConfigError naming a field, in one line;
// valid net-conf.json keeps its address plan and survives being written back. A bounded sample
// (fixed seed and today's, printed), the corpus replayed, and the bugs fuzzing found.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseNetConfText } from '../../src/config/netconf.js';
import { checkConfigCase, configTarget } from '../../src/fuzz/config-target.js';
import { loadCorpus } from '../../src/fuzz/corpus.js';
import { runCases, signature, type RunResult } from '../../src/fuzz/engine.js';
import { dateSeed } from '../../src/fuzz/rng.js';

const CASES = Number(process.env.WEFT_FUZZ_CASES ?? 3000);
const target = configTarget();
const corpus = loadCorpus(target);
const pool = [...target.seeds(), ...corpus.map((f) => f.case)];

/**
 * Bugs found by fuzzing and not fixed yet, matched by the failure they cause (empty: every finding
 * so far is fixed). Corpus inputs failing this way are expected to; once none does, the test says
 * so and the entry goes.
 */
const KNOWN_OPEN: { reason: RegExp; where: string }[] = [];
const isKnownOpen = (reason: string): boolean => KNOWN_OPEN.some((k) => k.reason.test(reason));

function explain(r: RunResult): string {
  return r.findings.map((f) => `seed ${f.seed} case ${f.index}: ${f.reason}\n${f.text}`).join('\n');
}

describe('config fuzzing (bounded sample)', () => {
  for (const seed of [1, dateSeed()]) {
    it(`seed ${seed}: ${CASES} mutated net-conf.json documents and flag sets, only one-line ConfigErrors`, () => {
      console.log(`config fuzz sample: seed ${seed}, ${CASES} cases`);
      const r = runCases(target, { seed, from: 0, count: CASES, pool, hangMs: 100 });
      // A known open bug may turn up; nothing else.
      const unexpected = r.findings.filter((f) => !isKnownOpen(f.reason));
      expect(unexpected.map(signature), explain(r)).toEqual([]);
      expect(r.hangs).toBe(0);
    });
  }
});

describe('config corpus replay', () => {
  const results = corpus.map(({ file, case: c }) => ({ name: file.split('/').pop()!, failure: checkConfigCase(c) }));
  it('holds at least the seeds', () => expect(corpus.length).toBeGreaterThanOrEqual(target.seeds().length));
  for (const { name, failure } of results) {
    it(name, () => {
      if (failure !== undefined) expect(isKnownOpen(failure.reason), failure.reason).toBe(true);
    });
  }
  for (const k of KNOWN_OPEN) {
    it(`open: ${k.where}`, () => expect(results.some((r) => r.failure !== undefined && k.reason.test(r.failure.reason)), 'fixed? remove it from KNOWN_OPEN').toBe(true));
  }
});

describe('regressions found by fuzzing', () => {
  const errorOf = (text: string): ConfigError => {
    try {
      parseNetConfText(text);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('parsed');
  };

  it('an unknown key holding a newline is quoted in the field, and the message stays one line', () => {
    const e = errorOf('{"Network":"10.244.0.0/16","Ne\\nwork":"x"}');
    expect(e.field).toBe('"Ne\\nwork"');
    expect(e.message).toMatch(/^net-conf\.json: "Ne\\nwork": expected one of the keys Network, /);
    expect(e.message).not.toMatch(/[\r\n]/);
  });

  it('an unknown empty key still names a field', () => {
    expect(errorOf('{"":1}').field).toBe('""');
    expect(errorOf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","":1}}').field).toBe('Backend.""');
  });

  it('text that is not JSON gives one line even though the parser quotes the newline', () => {
    const e = errorOf('{"Network":\n"10.244.0.0/16",}');
    expect(e.field).toBe('(document)');
    expect(e.message).not.toMatch(/[\r\n]/);
  });

  it('any value quoted in expected/problem is escaped: a config file cannot forge a log line', () => {
    const e = new ConfigError('--iface', 'x', 'a name (parser said: "a\nFAKE LOG LINE")', { problem: 'tab\there' });
    expect(e.message).toBe('--iface: expected a name (parser said: "a\\nFAKE LOG LINE"), got tab\\there');
  });
});
