// Runs one bgp-ts Session in a child Node process inside a network namespace (see
// bgp-session-child.ts) and collects its JSON-line events. The child is compiled once per test
// process with tsc into a temporary directory; it is stopped by its PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SessionConfig } from '../../src/bgp/session.js';
import { alive, stopPid } from './bgp-peers.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let compiled: string | undefined;

/** Compiles the child once per test process (seconds on a busy machine): call it before timing anything. */
export function compileChild(): string {
  if (compiled !== undefined) return compiled;
  // In the repository's ignored cache, per test process; the directories of processes that died
  // without their exit handler (vitest may kill a worker) are swept by the next run.
  const cache = join(REPO, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  for (const name of readdirSync(cache)) {
    const pid = Number(/^weft-session-child-(\d+)$/.exec(name)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(cache, name), { recursive: true, force: true });
  }
  const out = join(cache, `weft-session-child-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'tsconfig.json'),
    JSON.stringify({
      extends: join(REPO, 'tsconfig.json'),
      compilerOptions: { outDir: join(out, 'js'), rootDir: REPO, noEmit: false, sourceMap: false, incremental: false, typeRoots: [join(REPO, 'node_modules/@types')] },
      include: [],
      files: [join(REPO, 'test/helpers/bgp-session-child.ts')],
    }),
  );
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(out, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (err) {
    // Type errors elsewhere in the tree (work in progress) still emit JavaScript; only a missing
    // entry is fatal.
    if (!existsSync(join(out, 'js', 'test/helpers/bgp-session-child.js'))) throw err;
  }
  writeFileSync(join(out, 'js', 'package.json'), '{"type":"module"}');
  // The compiled child finds the addon through binding.gyp above it: give it a link to ours.
  writeFileSync(join(out, 'js', 'binding.gyp'), '{}');
  execFileSync('ln', ['-s', join(REPO, 'build'), join(out, 'js', 'build')]);
  process.on('exit', () => rmSync(out, { recursive: true, force: true }));
  compiled = join(out, 'js', 'test/helpers/bgp-session-child.js');
  return compiled;
}

export interface SessionEvent {
  event: string;
  t: number;
  [field: string]: unknown;
}

export class SessionProcess {
  readonly events: SessionEvent[] = [];
  stderr = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: { id?: number; result?: unknown; event?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.event !== undefined) {
        this.events.push(msg as SessionEvent);
        for (const l of this.listeners) l();
      } else if (msg.id !== undefined) {
        this.waiting.get(msg.id)?.(msg.result);
        this.waiting.delete(msg.id);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    child.on('exit', (code) => {
      this.events.push({ event: 'exit', t: Date.now(), code });
      for (const l of this.listeners) l();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** `startAt` (wall clock, ms): the child starts its session then, not at once ('ready' follows). */
  static async start(ns: string, session: SessionConfig, listen?: { host: string; port: number }, startAt?: number): Promise<SessionProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, compileChild(), JSON.stringify({ session, listen, startAt })], { stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new SessionProcess(child);
    await p.waitFor((e) => e.event === 'ready', 15_000);
    return p;
  }

  command<T = unknown>(cmd: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((r) => {
      this.waiting.set(id, r as (v: unknown) => void);
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...fields })}\n`);
    });
  }

  /** The first event (seen or future) matching `match`, searching from index `from`. */
  waitFor(match: (e: SessionEvent) => boolean, ms = 20_000, from = 0): Promise<SessionEvent> {
    return new Promise((resolvePromise, reject) => {
      const check = (): boolean => {
        const e = this.events.slice(from).find((x) => match(x) || x.event === 'exit');
        if (e === undefined) return false;
        if (e.event === 'exit' && !match(e)) {
          clearTimeout(timer);
          this.listeners.delete(listener);
          reject(new Error(`session child exited (${String(e.code)}): ${this.stderr.slice(-1500)}`));
          return true;
        }
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolvePromise(e);
        return true;
      };
      const listener = (): void => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out; events: ${JSON.stringify(this.events.slice(-8))} stderr: ${this.stderr.slice(-1000)}`));
      }, ms);
      this.listeners.add(listener);
      check();
    });
  }

  async stop(): Promise<void> {
    await stopPid(this.pid, 2000);
  }
}
