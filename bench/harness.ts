// What the lab benches (encap, convergence, scale) share: the environment line every table starts
// with, percentiles, a monotonic clock that means the same thing in every process on this machine,
// child processes inside a namespace that are always stopped again, and one cleanup list that
// runs in `finally` and also on SIGINT/SIGTERM, so an interrupted bench leaves no namespace or
// process behind.
//
// What it is not: a lab (src/lab builds those) or a reporter of any one bench's figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, stopPid } from '../src/lab/exec.js';

export interface Environment {
  date: string;
  kernel: string;
  cpu: string;
  cores: number;
  node: string;
  /** 1-minute load average when the bench started: other work on the machine skews every figure. */
  load: number;
}

export function environment(): Environment {
  return { date: new Date().toISOString(), kernel: release(), cpu: cpus()[0]?.model.trim() ?? 'cpu', cores: cpus().length, node: process.version, load: loadavg()[0] ?? 0 };
}

export function environmentLine(env: Environment): string {
  const busy = env.load > env.cores / 2 ? ` — BUSY MACHINE (load ${env.load.toFixed(1)} on ${env.cores} cores): absolute figures are depressed, compare within the run` : `, load ${env.load.toFixed(1)}`;
  return `machine: ${env.cores} × ${env.cpu}, kernel ${env.kernel}, node ${env.node}, ${env.date.slice(0, 16).replace('T', ' ')} UTC${busy}`;
}

/** CLOCK_MONOTONIC in ms: comparable between processes on one machine (unlike performance.now()). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Nearest-rank percentile (p in 0–100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export interface Summary {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** p50, p99 (nearest rank), max and mean of a sample. */
export function summary(values: readonly number[]): Summary {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values), mean: mean(values) };
}

/** User + system CPU seconds a process has used so far (/proc/PID/stat, clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A compiled helper next to this file (dist/bench/NAME.js); the benches run from dist. */
export function helperScript(name: string): string {
  const path = join(dirname(fileURLToPath(import.meta.url)), `${name}.js`);
  if (!existsSync(path)) throw new Error(`bench helper ${path} missing: run \`npm run build\` and start the bench through bin/weft.js`);
  return path;
}

/** VmRSS and VmHWM of a process, MB. */
export function processMemoryMB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) / 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Cleanup actions run last-registered first, once, on finally or on a signal. */
export class Cleanup {
  private actions: { what: string; action: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, action: () => Promise<void> | void): void {
    this.actions.push({ what, action });
  }

  /** Starts a command (in a namespace) whose process is stopped by PID at cleanup. */
  spawn(command: string, args: string[], options: { netns?: string; stdio?: 'pipe' | 'ignore' } = {}): ChildProcess {
    // `ip netns exec` execs the command, so the PID is the command's own.
    const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, command, ...args] : [command, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: options.stdio === 'ignore' ? 'ignore' : ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    this.add(`stop ${command} (pid ${pid})`, async () => {
      if (child.exitCode === null && child.signalCode === null && isAlive(pid)) await stopPid(pid, 2000);
    });
    return child;
  }

  /** Runs the actions; a second call (finally after a signal) waits for the same run. */
  run(): Promise<void> {
    this.running ??= this.runActions();
    return this.running;
  }

  private async runActions(): Promise<void> {
    for (const { what, action } of this.actions.reverse()) {
      try {
        await action();
      } catch (error) {
        process.stderr.write(`cleanup: ${what}: ${(error as Error).message}\n`);
      }
    }
  }
}

/** Runs a bench body with a cleanup list that also runs (then exits 130) on SIGINT/SIGTERM. */
export async function withCleanup<T>(body: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stderr.write(`\n${signal}: cleaning up…\n`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body(cleanup);
  } catch (error) {
    // Children share our process group and die of the same Ctrl-C, so the body often fails right
    // after the signal: finish the cleanup and exit as interrupted rather than with that error.
    if (interrupted) {
      await cleanup.run();
      process.exit(130);
    }
    throw error;
  } finally {
    await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Reads JSON lines from a child's stdout, one callback per line. */
export function onJsonLines(child: ChildProcess, listener: (value: unknown) => void): void {
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line !== '') listener(JSON.parse(line) as unknown);
    }
  });
}

/** Collects a child's stderr (for error messages) and resolves with its exit code. */
export function exitOf(child: ChildProcess): { stderr: () => string; exited: Promise<number | null> } {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return { stderr: () => stderr, exited };
}
