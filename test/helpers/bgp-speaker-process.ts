// Runs our BGP speaker as a child Node process inside a network namespace (`ip netns exec NS node
// child.js`), for interop tests and the ingest benchmark: the speaker gets the namespace's
// addresses and its own PID (so its RSS can be read from /proc), and the test talks to it over
// JSON lines (see bgp-speaker-child.ts). The child is compiled once per process with tsc into a
// temporary directory. Cleanup is by PID (and by the caller deleting the namespace), never by name.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: above this file in the source tree; from a compiled copy, the working directory. */
function findRepo(): string {
  const here = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  for (const dir of [here, process.cwd()]) if (existsSync(join(dir, 'test/helpers/bgp-speaker-child.ts'))) return dir;
  throw new Error('cannot find the weft repository (run from its root)');
}
const REPO = findRepo();
let compiled: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Compile the child entry (and what it imports) to JavaScript; returns the entry's path. */
export function compileSpeakerChild(): string {
  if (compiled) return compiled;
  // Inside the repository (node_modules/.cache, ignored by git) rather than /tmp: the transport
  // finds its native addon from the nearest ancestor holding binding.gyp.
  // One directory per process, named by PID; those of processes that are gone (a killed test
  // worker never runs its exit hook) are removed here.
  const cache = join(REPO, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  for (const name of readdirSync(cache)) {
    const pid = Number(/^weft-bgp-child-(\d+)$/.exec(name)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(cache, name), { recursive: true, force: true });
  }
  const out = join(cache, `weft-bgp-child-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(REPO, 'tsconfig.json'),
      compilerOptions: { outDir: join(out, 'js'), rootDir: REPO, noEmit: false, sourceMap: false, incremental: false, typeRoots: [join(REPO, 'node_modules/@types')] },
      include: [],
      files: [join(REPO, 'test/helpers/bgp-speaker-child.ts')],
    }),
  );
  execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { stdio: 'inherit' });
  writeFileSync(join(out, 'js', 'package.json'), '{"type":"module"}');
  process.on('exit', () => rmSync(out, { recursive: true, force: true }));
  compiled = join(out, 'js', 'test/helpers/bgp-speaker-child.js');
  return compiled;
}

export interface SpeakerEvent {
  event: string;
  t: number;
  [field: string]: unknown;
}

export class SpeakerProcess extends EventEmitter<{ event: [SpeakerEvent] }> {
  readonly pid: number;
  readonly events: SpeakerEvent[] = [];
  stderr = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    super();
    if (child.pid === undefined) throw new Error('speaker child did not start');
    this.pid = child.pid;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.event !== undefined) {
        this.events.push(msg as SpeakerEvent);
        this.emit('event', msg as SpeakerEvent);
      } else if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.ok) w?.resolve(msg.result);
        else w?.reject(new Error(msg.error));
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 100_000) this.stderr = this.stderr.slice(-50_000);
    });
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`speaker exited: ${this.stderr.slice(-2000)}`));
      this.waiting.clear();
    });
  }

  /** Start the speaker in `ns` with `config` (SpeakerConfig without createSession). */
  static async start(ns: string, config: Record<string, unknown>, nodeArgs: string[] = []): Promise<SpeakerProcess> {
    const entry = compileSpeakerChild();
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...nodeArgs, entry, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new SpeakerProcess(child);
    await p.waitFor((e) => e.event === 'ready', 20_000);
    return p;
  }

  command<T = unknown>(cmd: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolvePromise, reject) => {
      if (this.exited) return reject(new Error('speaker has exited'));
      this.waiting.set(id, { resolve: resolvePromise as (v: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...fields })}\n`);
    });
  }

  /** Resolves with the first event (already seen or future) matching `match`. */
  waitFor(match: (e: SpeakerEvent) => boolean, timeoutMs = 30_000): Promise<SpeakerEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.off('event', on);
        reject(new Error(`timed out waiting for a speaker event; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const on = (e: SpeakerEvent): void => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.off('event', on);
        resolvePromise(e);
      };
      this.on('event', on);
    });
  }

  /** Polls `fn` until it returns a truthy value. */
  async until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  rssKiB(): number {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0);
  }

  /** Ask it to exit; kill it by PID if it does not within a second. */
  async stop(): Promise<void> {
    if (this.exited) return;
    await Promise.race([this.command('exit').catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    await new Promise((r) => setTimeout(r, 200));
    if (!this.exited) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}
