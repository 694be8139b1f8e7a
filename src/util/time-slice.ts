// Long runs of work on the daemon's one thread give timers and I/O a turn every few milliseconds.
// BFD sends every 300 ms and its peers declare the path dead after 900 ms of silence (RFC 5880
// §6.8.4), keepalives and /healthz answers wait behind whatever runs: a full table's worth of
// routes diffed in one go, or a 64 KiB read of UPDATEs judged by import policy, must not hold
// the loop for longer than a slice.
import { performance } from 'node:perf_hooks';

/** How long synchronous work may run before it yields. */
export const SLICE_MS = 10;

/** Resolves after the event loop has run timers and I/O (setImmediate: after the poll phase). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class TimeSlice {
  private start = performance.now();

  constructor(private readonly ms = SLICE_MS) {}

  /** This slice is used up: the caller should yield (next()) before going on. */
  get due(): boolean {
    return performance.now() - this.start >= this.ms;
  }

  /** Yields to the event loop, then starts a new slice. */
  async next(): Promise<void> {
    await yieldToLoop();
    this.restart();
  }

  restart(): void {
    this.start = performance.now();
  }
}
