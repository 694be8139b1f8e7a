// Reporting of skipped registry entries: one log line and one counter increment each time an
// entry starts being skipped (or is skipped for a different reason), never on every snapshot, so
// a persistent bad entry in a 5000-node cluster does not flood the logs or inflate the counter.
// Shared by every registry implementation. Not here: deciding what is bad (validate.ts).
import { Counter, register as defaultRegister, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { SkipListener, SkipReason, SkippedEntry } from './types.js';

export const SKIPPED_METRIC = 'weft_registry_entries_skipped_total';

/**
 * The skip counter on `registry` (default: prom-client's global register). Returns the existing
 * counter when one is already registered there, since several registry instances (tests,
 * restarts inside one process) share one metrics registry and prom-client rejects duplicates.
 */
export function skippedEntriesCounter(registry: Registry = defaultRegister): Counter<'reason'> {
  const existing = registry.getSingleMetric(SKIPPED_METRIC);
  if (existing instanceof Counter) return existing;
  return new Counter({
    name: SKIPPED_METRIC,
    help: 'Remote node entries skipped at the registry boundary, by reason (counted when an entry starts being skipped).',
    labelNames: ['reason'],
    registers: [registry],
  });
}

export interface SkipReporterOptions {
  logger: Logger;
  /** Where the counter lives; default prom-client's global register. */
  metrics?: Registry;
  /** Also told about each newly skipped entry (e.g. the daemon's /status). */
  onSkip?: SkipListener;
}

/**
 * Remembers which entries are currently skipped and why, and reports only changes. Feed it the
 * full skipped list of every validation pass (`update`); entries that disappear from the list
 * (fixed or deleted) are forgotten, so if they go bad again they are reported again.
 */
export class SkipReporter {
  private readonly counter: Counter<'reason'>;
  private readonly current = new Map<string, SkipReason>();

  constructor(private readonly options: SkipReporterOptions) {
    this.counter = skippedEntriesCounter(options.metrics);
  }

  /** Reports newly skipped entries and returns them; never throws (a listener error is logged). */
  update(skipped: readonly SkippedEntry[]): SkippedEntry[] {
    const fresh: SkippedEntry[] = [];
    const seen = new Set<string>();
    for (const s of skipped) {
      seen.add(s.entry);
      if (this.current.get(s.entry) === s.reason) continue;
      this.current.set(s.entry, s.reason);
      fresh.push(s);
      this.counter.inc({ reason: s.reason });
      this.options.logger.warn({ node: s.entry, reason: s.reason, detail: s.detail }, 'registry entry skipped');
      try {
        this.options.onSkip?.(s);
      } catch (err) {
        this.options.logger.error({ err, node: s.entry }, 'skip listener threw');
      }
    }
    for (const [entry, reason] of this.current) {
      if (seen.has(entry)) continue;
      this.current.delete(entry);
      this.options.logger.info({ node: entry, previousReason: reason }, 'registry entry no longer skipped');
    }
    return fresh;
  }

  /** Entries skipped right now and why (for status pages). */
  snapshot(): ReadonlyMap<string, SkipReason> {
    return this.current;
  }
}
