// ReconcileScheduler: decides when the backend reconciles. Triggers (a registry snapshot, a
// kernel event, the resync timer) are coalesced: at most one pass runs at a time, and triggers
// arriving during a pass cause exactly one more pass afterwards with the newest desired state.
// A pass that throws is retried with capped exponential backoff, sooner than the next resync.
//
// Not here: what a pass does (the daemon passes `run`), or where triggers come from.
import type { Logger } from '../log.js';

export type Trigger = 'snapshot' | 'resync' | 'kernel' | 'backend' | 'retry' | 'start';

export interface SchedulerOptions {
  /** Period of the unconditional resync (ms); level-triggered repair of any drift. */
  resyncMs: number;
  run: (trigger: Trigger) => Promise<void>;
  logger: Logger;
  /** First retry delay after a failed pass (ms), doubled up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

export class ReconcileScheduler {
  private running = false;
  private pending: Trigger | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    this.stopped = false;
    this.armResync();
    this.trigger('start');
  }

  /** Asks for a pass; returns at once. */
  trigger(trigger: Trigger): void {
    if (this.stopped) return;
    // A snapshot outranks the others in logs; any pending trigger runs the same pass.
    this.pending = this.pending === 'snapshot' ? 'snapshot' : trigger;
    if (!this.running) void this.loop();
  }

  /** Resolves when no pass is running or pending (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.pending = undefined;
    clearTimeout(this.resyncTimer);
    clearTimeout(this.retryTimer);
  }

  private armResync(): void {
    clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => {
      this.trigger('resync');
      this.armResync();
    }, this.options.resyncMs);
    this.resyncTimer.unref();
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.pending !== undefined && !this.stopped) {
      const trigger = this.pending;
      this.pending = undefined;
      try {
        await this.options.run(trigger);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        const base = this.options.retryMs ?? 200;
        const delay = Math.min(this.options.maxRetryMs ?? 10_000, base * 2 ** (this.failures - 1));
        this.options.logger.warn({ err, trigger, failures: this.failures, retryInMs: delay }, 'reconcile failed');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.trigger('retry'), delay);
        this.retryTimer.unref();
      }
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
