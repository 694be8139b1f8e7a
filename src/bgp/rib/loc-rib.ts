// Loc-RIB (RFC 4271 §3.2, §9.1.2): for each prefix, the best path and its equal-cost set across all
// Adj-RIBs-In of one address family, and the stream of best-path changes consumers program into
// the kernel.
//
// Changes are coalesced: writers mark prefixes dirty (`touch`) while applying one UPDATE (or one
// peer going away) and call `flush`, which re-runs the decision process once per dirty prefix and
// emits a single 'changes' event with the whole batch, so a 1M-prefix table costs one listener call
// per UPDATE, not one per prefix. A prefix whose best path and ECMP set did not change emits nothing.
//
// Memory: a prefix's entry is the winning Path itself (Paths are shared per attribute set), or an
// array only when there is more than one equal path. Candidates are read from the Adj-RIBs-In on
// demand instead of being copied here.
import { EventEmitter } from 'node:events';
import type { AdjRibIn } from './adj-rib-in.js';
import { selectBest, type DecisionOptions } from './decision.js';
import type { Path } from './path.js';
import { formatPrefix, type Afi, type PrefixKey } from './prefix.js';
import { PrefixMap } from './prefix-map.js';
import type { TimeSlice } from '../../util/time-slice.js';

type Entry = Path | readonly Path[];

function bestOf(e: Entry | undefined): Path | undefined {
  if (e === undefined) return undefined;
  return Array.isArray(e) ? (e as readonly Path[])[0] : (e as Path);
}

function setOf(e: Entry | undefined): readonly Path[] {
  if (e === undefined) return [];
  return Array.isArray(e) ? (e as readonly Path[]) : [e as Path];
}

/** One prefix's change; best/multipath/previous are derived on access (most batches are only counted). */
export class BestPathChange {
  constructor(
    readonly afi: Afi,
    readonly key: PrefixKey,
    private readonly entry: Entry | undefined,
    private readonly previousEntry: Entry | undefined,
  ) {}

  /** Text form, e.g. "192.0.2.0/24". */
  get prefix(): string {
    return formatPrefix(this.key);
  }

  /** The new best path; undefined when the prefix is gone. */
  get best(): Path | undefined {
    return bestOf(this.entry);
  }

  /** Best first, then the equal-cost paths; empty when gone. */
  get multipath(): readonly Path[] {
    return setOf(this.entry);
  }

  get previous(): Path | undefined {
    return bestOf(this.previousEntry);
  }
}

function sameSet(a: readonly Path[], b: readonly Path[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

export interface LocRibEvents {
  changes: [BestPathChange[]];
}

export class LocRib extends EventEmitter<LocRibEvents> {
  private readonly table = new PrefixMap<Entry>();
  private readonly sources: AdjRibIn[] = [];
  /** Prefixes to re-decide; an array (duplicates are harmless: the second pass finds no change). */
  private dirty: PrefixKey[] = [];
  /** dirty[0, dirtyFrom) are decided already (a flush cut short by its time slice). */
  private dirtyFrom = 0;

  constructor(
    readonly afi: Afi,
    public options: DecisionOptions = {},
  ) {
    super();
  }

  get size(): number {
    return this.table.size;
  }

  addSource(rib: AdjRibIn): void {
    if (!this.sources.includes(rib)) this.sources.push(rib);
  }

  /** Forget a source; its prefixes are marked dirty (call `flush`). */
  removeSource(rib: AdjRibIn): void {
    const i = this.sources.indexOf(rib);
    if (i < 0) return;
    this.sources.splice(i, 1);
    for (const key of rib.keys()) this.dirty.push(key);
  }

  touch(key: PrefixKey): void {
    this.dirty.push(key);
  }

  touchAll(keys: Iterable<PrefixKey>): void {
    for (const key of keys) this.dirty.push(key);
  }

  /** Re-run selection for every prefix (hooks such as IGP cost or resolvability changed). */
  touchEverything(): void {
    for (const key of this.table.keys()) this.dirty.push(key);
    for (const s of this.sources) for (const key of s.keys()) this.dirty.push(key);
  }

  best(key: PrefixKey): Path | undefined {
    return bestOf(this.table.get(key));
  }

  multipath(key: PrefixKey): readonly Path[] {
    return setOf(this.table.get(key));
  }

  *entries(): IterableIterator<[PrefixKey, Path, readonly Path[]]> {
    for (const [key, e] of this.table) yield [key, bestOf(e) as Path, setOf(e)];
  }

  /** All paths to `key` from every source. */
  candidates(key: PrefixKey): Path[] {
    const out: Path[] = [];
    for (const s of this.sources) {
      const p = s.get(key);
      if (p) out.push(p);
    }
    return out;
  }

  /** Prefixes touched and not decided yet. */
  get pending(): boolean {
    return this.dirtyFrom < this.dirty.length;
  }

  /**
   * Decide every dirty prefix; emits one 'changes' event and returns the changes. With a slice,
   * stops once it is used up (a peer with a full table going away touches every prefix at once):
   * the rest stays dirty for the next flush (see `pending`).
   */
  flush(slice?: TimeSlice): BestPathChange[] {
    if (!this.pending) return [];
    const dirty = this.dirty;
    const changes: BestPathChange[] = [];
    const single = this.sources.length === 1 ? this.sources[0] : undefined;
    const resolvable = this.options.resolvable;
    let i = this.dirtyFrom;
    for (; i < dirty.length; i++) {
      if (slice !== undefined && (i & 1023) === 1023 && slice.due) break;
      const key = dirty[i]!;
      const before = this.table.get(key);
      let after: Entry | undefined;
      if (single) {
        // The common case (one upstream) without building candidate arrays.
        const p = single.get(key);
        after = p && (!resolvable || resolvable(p.attrs.nextHop)) ? p : undefined;
      } else {
        const sel = selectBest(this.candidates(key), this.options);
        after = sel.multipath.length > 1 ? Object.freeze(sel.multipath) : sel.best;
      }
      if (before === after) continue;
      if (before !== undefined && after !== undefined && Array.isArray(before) && Array.isArray(after) && sameSet(before as readonly Path[], after as readonly Path[])) continue;
      if (after === undefined) this.table.delete(key);
      else this.table.set(key, after);
      changes.push(new BestPathChange(this.afi, key, after, before));
    }
    if (i >= dirty.length) {
      this.dirty = [];
      this.dirtyFrom = 0;
    } else {
      this.dirtyFrom = i;
    }
    if (changes.length > 0) this.emit('changes', changes);
    return changes;
  }
}
