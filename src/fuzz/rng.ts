// The fuzzer's source of randomness: a small seeded PRNG (mulberry32) and a per-case seed
// derivation. Every case is generated from (run seed, target, case index) alone, so any case of a
// long run — including the one a watchdog killed a worker in — can be rebuilt from its index, and a
// CI failure from the seed it printed. Not cryptographic, not for anything but test inputs.

export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Restart from another seed (one Rng serves every case of a run: no allocation per case). */
  reseed(seed: number): this {
    this.s = seed >>> 0;
    return this;
  }

  /** Next 32 random bits as an unsigned integer. */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.below(items.length)] as T;
  }

  /** Small numbers far more often than large ones: lengths and counts of mutations. */
  small(max: number): number {
    return Math.min(max, this.below(1 << this.below(Math.ceil(Math.log2(max + 1)) + 1)));
  }
}

/** Seed of one case: a hash of the run seed, the target and the case index (all 32-bit mixes). */
export function caseSeed(runSeed: number, target: string, index: number): number {
  let h = (runSeed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ (index >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ Math.floor(index / 4294967296), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seed from today's date (UTC, YYYYMMDD): CI varies daily and the printed seed reproduces it. */
export function dateSeed(now = new Date()): number {
  return now.getUTCFullYear() * 10000 + (now.getUTCMonth() + 1) * 100 + now.getUTCDate();
}
