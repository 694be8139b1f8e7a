// A Prometheus counter that follows totals kept elsewhere — a BGP session's NOTIFICATIONs, the BGP
// listener's refused connections — which the daemon reads, not observes as they happen. Each
// update() brings every label set to its source's current total by incrementing with the
// difference. A total that went down means its source was made anew (a peer removed and configured
// again): the series restarts from the new total, which rate() reads as a counter reset. Label
// sets missing from an update are removed: their peer is gone.
import type { Counter } from 'prom-client';

export class CounterMirror<L extends string> {
  private last = new Map<string, { labels: Partial<Record<L, string>>; value: number }>();

  constructor(private readonly counter: Counter<L>) {}

  /** Every label set at its current total (0 included: the series is there before the first error). */
  update(totals: Iterable<readonly [Partial<Record<L, string>>, number]>): void {
    const next = new Map<string, { labels: Partial<Record<L, string>>; value: number }>();
    for (const [labels, value] of totals) {
      const key = Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      const before = this.last.get(key);
      if (before === undefined || value < before.value) {
        if (before !== undefined) this.counter.remove(labels);
        this.counter.inc(labels, value);
      } else if (value > before.value) {
        this.counter.inc(labels, value - before.value);
      }
      next.set(key, { labels, value });
    }
    for (const [key, { labels }] of this.last) if (!next.has(key)) this.counter.remove(labels);
    this.last = next;
  }
}
