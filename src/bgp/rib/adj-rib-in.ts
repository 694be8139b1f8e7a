// Adj-RIB-In (RFC 4271 §3.2): the routes one peer sent us for one address family, after import
// policy, plus (optionally) exactly what was received before policy, for soft reconfiguration.
//
// Graceful restart (RFC 4724 §4.2) lives here as two maps: when the peer's session drops its routes
// move to `stale` wholesale (no per-route rewrite); routes it re-sends move back to `fresh`; at its
// End-of-RIB, or when the restart timer fires, whatever is still stale is dropped. Lookups see
// fresh first, then stale, so forwarding continues on retained routes meanwhile.
//
// Paths are interned per attribute set: every prefix that came with the same attributes points at
// one Path, and the attribute table counts Paths, not prefixes.
import type { Attributes, AttributeTable } from './attributes.js';
import type { Path, PathSource } from './path.js';
import type { Afi, PrefixKey } from './prefix.js';
import { PrefixMap } from './prefix-map.js';

interface Shared {
  path: Path;
  refs: number;
}

export class AdjRibIn {
  private fresh = new PrefixMap<Path>();
  private stale: PrefixMap<Path> | undefined;
  private readonly paths = new Map<Attributes, Shared>();
  /** Pre-policy attributes as received, kept only with soft reconfiguration inbound. */
  readonly received: PrefixMap<Attributes> | undefined;

  constructor(
    readonly source: PathSource,
    readonly afi: Afi,
    private readonly table: AttributeTable,
    keepReceived = false,
  ) {
    this.received = keepReceived ? new PrefixMap() : undefined;
  }

  /** Prefixes accepted (fresh and still-stale). */
  get size(): number {
    return this.fresh.size + (this.stale?.size ?? 0);
  }

  get staleCount(): number {
    return this.stale?.size ?? 0;
  }

  get(key: PrefixKey): Path | undefined {
    return this.fresh.get(key) ?? this.stale?.get(key);
  }

  isStale(key: PrefixKey): boolean {
    return this.stale?.has(key) === true && !this.fresh.has(key);
  }

  keys(): IterableIterator<PrefixKey> {
    if (!this.stale || this.stale.size === 0) return this.fresh.keys();
    const fresh = this.fresh;
    const stale = this.stale;
    return (function* () {
      yield* fresh.keys();
      yield* stale.keys();
    })();
  }

  *entries(): IterableIterator<[PrefixKey, Path]> {
    yield* this.fresh.entries();
    if (this.stale) yield* this.stale.entries();
  }

  /** The last set looked up: an UPDATE's prefixes all share one, so skip the lookup for them. */
  private last: Shared | undefined;

  private pathFor(attrs: Attributes): Shared {
    if (this.last?.path.attrs === attrs) return this.last;
    const found = this.paths.get(attrs);
    if (found) {
      this.last = found;
      return found;
    }
    const shared: Shared = { path: Object.freeze({ source: this.source, attrs }), refs: 0 };
    this.paths.set(attrs, shared);
    this.table.retain(attrs);
    this.last = shared;
    return shared;
  }

  private unref(path: Path): void {
    const shared = this.paths.get(path.attrs);
    if (!shared) return;
    if (--shared.refs <= 0) {
      if (this.last === shared) this.last = undefined;
      this.paths.delete(path.attrs);
      this.table.release(path.attrs);
    }
  }

  /** Store or replace a route; returns whether what the Loc-RIB sees for `key` changed. */
  set(key: PrefixKey, attrs: Attributes): boolean {
    const shared = this.pathFor(attrs);
    const old = this.fresh.get(key);
    if (old === shared.path) return false;
    shared.refs++;
    this.fresh.set(key, shared.path);
    if (old) this.unref(old);
    const stale = this.stale?.get(key);
    if (stale) {
      this.stale?.delete(key);
      this.unref(stale);
      // Refreshed with the same attributes: the path the Loc-RIB sees is the same object.
      if (stale === shared.path) return false;
    }
    return true;
  }

  /** Remove a route (withdrawn, or filtered by policy); returns whether it existed. */
  delete(key: PrefixKey): boolean {
    const old = this.fresh.get(key);
    if (old) {
      this.fresh.delete(key);
      this.unref(old);
    }
    const stale = this.stale?.get(key);
    if (stale) {
      this.stale?.delete(key);
      this.unref(stale);
    }
    return old !== undefined || stale !== undefined;
  }

  /** The session went down with graceful restart: everything we hold becomes stale. */
  markStale(): void {
    if (this.stale && this.stale.size > 0) {
      for (const [k, p] of this.fresh) {
        const old = this.stale.get(k);
        this.stale.set(k, p);
        if (old) this.unref(old);
      }
    } else {
      this.stale = this.fresh;
    }
    this.fresh = new PrefixMap();
  }

  /** Drop the routes still stale (End-of-RIB received or restart timer expired); returns their keys. */
  sweepStale(): PrefixKey[] {
    const stale = this.stale;
    this.stale = undefined;
    if (!stale) return [];
    for (const p of stale.values()) this.unref(p);
    return [...stale.keys()];
  }

  /** Drop everything (session gone without graceful restart); returns the keys that were held. */
  clear(): PrefixKey[] {
    const keys = [...this.keys()];
    for (const p of this.fresh.values()) this.unref(p);
    if (this.stale) for (const p of this.stale.values()) this.unref(p);
    this.fresh = new PrefixMap();
    this.stale = undefined;
    if (this.received) {
      for (const a of this.received.values()) this.table.release(a);
      this.received.clear();
    }
    return keys;
  }
}
