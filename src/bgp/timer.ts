// Clock and one-shot timers for the BGP state machine (RFC 4271 §10 timers: ConnectRetry, Hold,
// Keepalive, plus the idle hold of DampPeerOscillations). The clock is injectable so the FSM can
// be driven by a fake one; the default reads the global timer functions at call time, which is
// what lets vitest's fake timers stand in for it too. Deliberately not a scheduler: each Timer is
// one named deadline, restarted or stopped by the FSM.
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A session's timers must not keep a process alive on their own.
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Timer {
  private handle: unknown;
  private armed = false;

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  get running(): boolean {
    return this.armed;
  }

  /** (Re)start with a duration in seconds; 0 stops it (RFC 4271: a zero timer never fires). */
  start(seconds: number): void {
    this.stop();
    if (seconds <= 0) return;
    this.armed = true;
    this.handle = this.clock.setTimeout(() => {
      this.armed = false;
      this.fire();
    }, seconds * 1000);
  }

  stop(): void {
    if (!this.armed) return;
    this.armed = false;
    this.clock.clearTimeout(this.handle);
  }
}
