// Running commands for the lab: inside a network namespace (`ip netns exec`), with output
// captured, a deadline, and errors that carry the command line and its stderr. The lab builds its
// topology with iproute2 and reads state back as JSON, exactly as an operator would by hand.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export class CommandError extends Error {
  constructor(
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    super(`${command.join(' ')} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  netns?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs a command to completion; resolves with stdout, rejects with CommandError. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, command, ...args] : [command, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new CommandError(argv, typeof error.code === 'number' ? error.code : null, `${stderr}${error.killed ? ' (timed out)' : ''}`, stdout));
      else resolve(stdout);
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like run, but resolves with the exit status instead of rejecting (for probes such as ping). */
export function probe(command: string, args: string[], options: RunOptions = {}): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return run(command, args, options).then(
    (stdout) => ({ ok: true, stdout, stderr: '' }),
    (error: unknown) => ({ ok: false, stdout: '', stderr: error instanceof CommandError ? error.stderr : String(error) }),
  );
}

export async function ipJson<T>(args: string[], netns?: string): Promise<T> {
  const out = await run('ip', ['-j', ...(netns ? ['-n', netns] : []), ...args]);
  return JSON.parse(out.trim() === '' ? '[]' : out) as T;
}

/** Starts a long-running process detached into its own process group, output to a log file. */
export function startDetached(command: string, args: string[], options: { netns?: string; logFile: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, command, ...args] : [command, ...args];
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log], env: options.env ?? process.env });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process we started, by PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited in between
    }
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
}
