// The speaker tests' and the ingest benchmark's view of real daemons: the session work's
// BirdDaemon and GoBgpDaemon (bgp-peers.ts) plus what the RIB side needs on top — a config kept
// for restarts, BIRD's graceful-restart shutdown, RSS from /proc, GoBGP JSON queries.
import { readFileSync } from 'node:fs';
import { BirdDaemon, GoBgpDaemon, alive } from './bgp-peers.js';

function rss(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export class Bird extends BirdDaemon {
  constructor(
    ns: string,
    private config: string,
  ) {
    super(ns);
  }

  /** Start (again), with `config` or the last one. */
  override async start(config = this.config): Promise<void> {
    this.config = config;
    await super.start(config);
  }

  /** `birdc graceful restart`: BIRD exits keeping forwarding state; peers see a GR-eligible drop. */
  async gracefulStop(): Promise<void> {
    const pid = this.pid;
    await this.birdc('graceful', 'restart').catch(() => undefined);
    const end = Date.now() + 5000;
    while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    this.pidValue = 0;
  }

  rssKiB(): number {
    return rss(this.pid);
  }
}

export class GoBgp extends GoBgpDaemon {
  constructor(
    ns: string,
    private readonly config: string,
  ) {
    super(ns);
  }

  override async start(config = this.config): Promise<void> {
    await super.start(config);
  }

  async json<T>(...args: string[]): Promise<T> {
    return JSON.parse(await this.cli(...args, '-j')) as T;
  }

  rssKiB(): number {
    return rss(this.pid);
  }
}
