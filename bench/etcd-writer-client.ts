// The bench side of bench/etcd-writer.ts: starts the writer inside the lab's underlay namespace
// and turns its JSON-lines protocol into promises (and watch events into a callback).
import { type ChildProcess } from 'node:child_process';
import { exitOf, helperScript, onJsonLines, type Cleanup } from './harness.js';

export interface WriteTiming {
  /** CLOCK_MONOTONIC ms just before the request left the writer, and when etcd answered. */
  sentMs: number;
  ackMs: number;
}

export interface WatchEvent {
  event: 'put' | 'delete';
  key: string;
  atMs: number;
}

interface Reply {
  id?: number;
  ok?: boolean;
  error?: string;
  event?: 'put' | 'delete';
  [field: string]: unknown;
}

export class EtcdWriter {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private watchListener: ((e: WatchEvent) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    onJsonLines(child, (value) => {
      const r = value as Reply;
      if (r.event !== undefined) {
        this.watchListener?.(r as unknown as WatchEvent);
        return;
      }
      const waiter = r.id === undefined ? undefined : this.pending.get(r.id);
      if (!waiter) return;
      this.pending.delete(r.id!);
      if (r.ok) waiter.resolve(r);
      else waiter.reject(new Error(`etcd writer: ${r.error ?? 'failed'}`));
    });
    const { stderr, exited } = exitOf(child);
    void exited.then((code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`etcd writer exited (${code}): ${stderr().trim()}`));
      this.pending.clear();
    });
  }

  static start(cleanup: Cleanup, netns: string, endpoint: string): EtcdWriter {
    const child = cleanup.spawn(process.execPath, [helperScript('etcd-writer'), endpoint], { netns });
    return new EtcdWriter(child);
  }

  private request(cmd: Record<string, unknown>): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, ...cmd })}\n`);
    });
  }

  async put(key: string, value: string): Promise<WriteTiming> {
    const r = await this.request({ op: 'put', key, value });
    return { sentMs: r.sentMs as number, ackMs: r.ackMs as number };
  }

  async delete(key: string): Promise<WriteTiming> {
    const r = await this.request({ op: 'delete', key });
    return { sentMs: r.sentMs as number, ackMs: r.ackMs as number };
  }

  async putMany(entries: { key: string; value: string }[]): Promise<void> {
    const r = await this.request({ op: 'putMany', entries });
    if (r.count !== entries.length) throw new Error(`etcd writer wrote ${String(r.count)} of ${entries.length} entries`);
  }

  async count(prefix: string): Promise<number> {
    return (await this.request({ op: 'count', prefix })).count as number;
  }

  async watch(prefix: string, listener: (e: WatchEvent) => void): Promise<void> {
    this.watchListener = listener;
    await this.request({ op: 'watch', prefix });
  }

  close(): void {
    this.child.stdin?.end();
  }
}
