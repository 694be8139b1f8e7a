// The bench side of bench/bgp-announcer.ts: starts the announcer inside a namespace (stopped by
// PID at cleanup) and turns its JSON-lines protocol into promises, its events into a list and
// waiters. Times are CLOCK_MONOTONIC ms, comparable with harness.monotonicMs().
import { type ChildProcess } from 'node:child_process';
import type { Announcement, PeerConfig } from '../src/bgp/speaker.js';
import { exitOf, helperScript, onJsonLines, type Cleanup } from './harness.js';

export interface AnnouncerEvent {
  event: 'ready' | 'established' | 'down';
  peer?: string;
  reason?: string;
  atMs: number;
}

interface Reply {
  id?: number;
  ok?: boolean;
  error?: string;
  event?: AnnouncerEvent['event'];
  [field: string]: unknown;
}

export class Announcer {
  readonly events: AnnouncerEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private readonly watchers = new Set<(e: AnnouncerEvent) => void>();
  private readonly exit: ReturnType<typeof exitOf>;

  private constructor(private readonly child: ChildProcess) {
    onJsonLines(child, (value) => {
      const r = value as Reply;
      if (r.event !== undefined) {
        const e = r as unknown as AnnouncerEvent;
        this.events.push(e);
        for (const w of this.watchers) w(e);
        return;
      }
      const waiter = r.id === undefined ? undefined : this.pending.get(r.id);
      if (!waiter) return;
      this.pending.delete(r.id!);
      if (r.ok) waiter.resolve(r);
      else waiter.reject(new Error(`bgp announcer: ${r.error ?? 'failed'}`));
    });
    this.exit = exitOf(child);
    void this.exit.exited.then((code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`bgp announcer exited (${code}): ${this.exit.stderr().trim()}`));
      this.pending.clear();
    });
  }

  /** Starts the announcer in `netns`; resolves once it listens (if asked to) and takes commands. */
  static async start(cleanup: Cleanup, netns: string, config: { asn: number; routerId: string; listen?: string; gracefulRestart?: boolean }): Promise<Announcer> {
    const child = cleanup.spawn(process.execPath, [helperScript('bgp-announcer'), JSON.stringify(config)], { netns });
    const a = new Announcer(child);
    await a.waitFor((e) => e.event === 'ready', 20_000, 'announcer ready');
    return a;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private request(cmd: Record<string, unknown>): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, ...cmd })}\n`);
    });
  }

  /** Sets what it originates; resolves with the time the speaker took it. */
  async announce(routes: Announcement[]): Promise<number> {
    return (await this.request({ cmd: 'announce', routes })).atMs as number;
  }

  async peers(peers: PeerConfig[]): Promise<number> {
    return (await this.request({ cmd: 'peers', peers })).atMs as number;
  }

  /** Its sessions' log lines about `peer` (JSON with atMs), as far as kept. */
  sessionLog(peer: string): { msg?: string; from?: string; to?: string; reason?: string; detail?: string; atMs: number }[] {
    return this.exit
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes(`"${peer}"`))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as { msg?: string; from?: string; to?: string; reason?: string; detail?: string; atMs: number }];
        } catch {
          return [];
        }
      });
  }

  /** The speaker's peers (state, prefix counts). */
  async status(): Promise<{ address: string; state: string }[]> {
    return (await this.request({ cmd: 'status' })).result as { address: string; state: string }[];
  }

  /** The first event (already seen or future) matching `match`. */
  waitFor(match: (e: AnnouncerEvent) => boolean, timeoutMs: number, what: string): Promise<AnnouncerEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(on);
        reject(new Error(`${what}: not within ${timeoutMs} ms; announcer stderr: ${this.exit.stderr().slice(-1000)}`));
      }, timeoutMs);
      const on = (e: AnnouncerEvent): void => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.watchers.delete(on);
        resolve(e);
      };
      this.watchers.add(on);
    });
  }

  /** Closes its sessions with a Cease and waits for it to exit (then the cleanup has nothing to stop). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.request({ cmd: 'exit' }).catch(() => undefined);
    await Promise.race([this.exit.exited, new Promise((r) => setTimeout(r, 3000))]);
  }
}
