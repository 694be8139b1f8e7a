// What a fuzz target is to the engine: a deterministic generator of cases from a PRNG, an oracle
// that says whether one case fails (and how), and the text form a case is kept in under
// test/fixtures/fuzz-corpus/<target>/. A target knows its input format and its notion of failure;
// the engine (engine.ts, pool.ts) knows nothing of BGP, registries or config.
import type { Rng } from './rng.js';

export type TargetName = 'bgp' | 'registry' | 'config';
export const TARGET_NAMES: readonly TargetName[] = ['bgp', 'registry', 'config'];

/** A case the oracle rejected. `kind` crash: an exception of the wrong type, or an invariant broken. */
export interface Failure {
  kind: 'crash' | 'hang';
  /** One line: what went wrong (the exception's name and message, or the broken invariant). */
  reason: string;
}

export interface FuzzTarget<C> {
  name: TargetName;
  /** Corpus file extension (without the dot). */
  ext: string;
  /** The seed inputs: valid (or deliberately borderline) cases mutation starts from. */
  seeds(): C[];
  /** Build case number `index` from `rng` (already seeded for this case), given extra seeds from the corpus. */
  generate(rng: Rng, pool: readonly C[]): C;
  /** The oracle: undefined when the case behaves, else the failure. Never throws. */
  check(c: C): Failure | undefined;
  /** The corpus file text of a case (a comment line may carry the failure). */
  serialize(c: C, note?: string): string;
  parse(text: string): C;
}

/** One-line text of any thrown value, for failure reasons. */
export function describeThrown(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : `non-Error thrown: ${String(e)}`;
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
