// The in-process fuzz loop: case `i` of a run is generated from (seed, target, i) alone, run
// through the target's oracle and timed. A case slower than the hang limit is re-run twice and is
// a hang finding only if it stays slow (a GC pause is not a hang). Synchronous code cannot be
// interrupted from inside, so a true infinite loop never returns here: pool.ts runs this loop in
// worker threads under a watchdog for that. Used directly by the CI tests (bounded samples).
import { performance } from 'node:perf_hooks';
import { caseSeed, Rng } from './rng.js';
import type { Failure, FuzzTarget } from './target.js';

export const DEFAULT_HANG_MS = 50;

export interface Finding {
  target: string;
  seed: number;
  index: number;
  kind: Failure['kind'];
  reason: string;
  /** The case in its corpus text form (note included). */
  text: string;
  ms: number;
}

export interface RunOptions<C> {
  seed: number;
  /** First case index and number of cases. */
  from: number;
  count: number;
  /** Extra seed cases (the target's seeds and the corpus); default: the target's seeds. */
  pool?: readonly C[];
  hangMs?: number;
  onFinding?: (f: Finding) => void;
  /** Called every `progressEvery` cases with the number done so far. */
  onProgress?: (done: number) => void;
  progressEvery?: number;
  /** Set to the index of the case being run (relative to `from`), for a watchdog in another thread. */
  current?: Int32Array;
}

export interface RunResult {
  cases: number;
  crashes: number;
  hangs: number;
  /** Findings, at most MAX_PER_SIGNATURE per distinct signature (all are counted). */
  findings: Finding[];
  slowestMs: number;
  wallMs: number;
}

/** The reason with its numbers blanked: findings differing only in offsets are one bug. */
export function signature(f: Pick<Finding, 'kind' | 'reason'>): string {
  return `${f.kind}:${f.reason.replace(/\d+/g, '#').slice(0, 160)}`;
}

const MAX_PER_SIGNATURE = 3;

export function runCases<C>(target: FuzzTarget<C>, options: RunOptions<C>): RunResult {
  const pool = options.pool ?? target.seeds();
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS;
  const every = options.progressEvery ?? 10_000;
  const rng = new Rng(0);
  const result: RunResult = { cases: 0, crashes: 0, hangs: 0, findings: [], slowestMs: 0, wallMs: 0 };
  const seen = new Map<string, number>();
  const started = performance.now();
  for (let k = 0; k < options.count; k++) {
    const index = options.from + k;
    if (options.current !== undefined) Atomics.store(options.current, 0, k);
    const c = target.generate(rng.reseed(caseSeed(options.seed, target.name, index)), pool);
    const t0 = performance.now();
    let failure = target.check(c);
    let ms = performance.now() - t0;
    if (failure === undefined && ms > hangMs) {
      // Confirm: the minimum of two more runs, so a GC pause or a busy neighbour is not a finding.
      for (let r = 0; r < 2 && ms > hangMs; r++) {
        const t1 = performance.now();
        target.check(c);
        ms = Math.min(ms, performance.now() - t1);
      }
      if (ms > hangMs) failure = { kind: 'hang', reason: `one case took ${ms.toFixed(1)} ms (limit ${hangMs} ms)` };
    }
    if (ms > result.slowestMs) result.slowestMs = ms;
    result.cases++;
    if (options.onProgress !== undefined && result.cases % every === 0) options.onProgress(result.cases);
    if (failure !== undefined) {
      if (failure.kind === 'hang') result.hangs++;
      else result.crashes++;
      const sig = signature(failure);
      const n = (seen.get(sig) ?? 0) + 1;
      seen.set(sig, n);
      if (n > MAX_PER_SIGNATURE) continue;
      const note = `${failure.kind}: ${failure.reason} (seed ${options.seed}, case ${index})`;
      const finding: Finding = { target: target.name, seed: options.seed, index, kind: failure.kind, reason: failure.reason, text: target.serialize(c, note), ms };
      result.findings.push(finding);
      options.onFinding?.(finding);
    }
  }
  result.wallMs = performance.now() - started;
  return result;
}
