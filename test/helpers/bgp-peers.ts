// Real BGP daemons for interop tests: BIRD 2, FRR 8 bgpd and GoBGP 3, each started inside a
// given network namespace with a config written to a private temporary directory, queried through
// its own CLI (birdc, vtysh, gobgp), paused/resumed (SIGSTOP/SIGCONT, for hold-timer tests) and
// stopped by the PID it reported — never by name. Reusable by the RIB/speaker tests: `start()`,
// `sessionState()` (normalised to RFC 4271 state names), `log()`, `stop()`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `ms`; resumes a stopped process first so it can exit. */
export async function stopPid(pid: number, ms = 3000): Promise<void> {
  // 0 or a negative number would signal a whole process group (ours included).
  if (!(pid > 0) || !alive(pid)) return;
  for (const sig of ['SIGCONT', 'SIGTERM'] as const) {
    try {
      process.kill(pid, sig);
    } catch {
      return;
    }
  }
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

async function readPidFile(path: string, what: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    if (existsSync(path)) {
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pid > 0) return pid;
    }
    await sleep(50);
  }
  throw new Error(`${what} did not write its PID file ${path}`);
}

export type PeerState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'unknown';

export abstract class PeerDaemon {
  readonly dir: string;
  protected pidValue = 0;

  constructor(
    readonly ns: string,
    kind: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `weft-${kind}-`));
    chmodSync(this.dir, 0o755);
    running.add(this);
  }

  get pid(): number {
    return this.pidValue;
  }

  abstract start(config: string): Promise<void>;
  /** The session state toward `neighbor`, RFC 4271 names. */
  abstract sessionState(neighbor: string): Promise<PeerState>;
  abstract log(): string;

  pause(): void {
    process.kill(this.pidValue, 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pidValue, 'SIGCONT');
  }

  async waitState(neighbor: string, want: PeerState, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    let last: PeerState = 'unknown';
    while (Date.now() < end) {
      last = await this.sessionState(neighbor).catch(() => 'unknown' as const);
      if (last === want) return;
      await sleep(200);
    }
    throw new Error(`${this.constructor.name}: session to ${neighbor} is ${last}, not ${want}; log:\n${this.log().slice(-3000)}`);
  }

  async stop(): Promise<void> {
    await stopPid(this.pidValue);
    this.pidValue = 0;
    rmSync(this.dir, { recursive: true, force: true });
    running.delete(this);
  }

  /** Last resort when the test process exits without its afterAll (a crash, a timeout kill). */
  killNow(): void {
    if (this.pidValue > 0) {
      try {
        process.kill(this.pidValue, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Daemons this process started and has not stopped yet; killed by PID if the process exits first.
const running = new Set<PeerDaemon>();
process.once('exit', () => {
  for (const daemon of running) daemon.killNow();
});

/** BIRD 2: `bird -c CONF -s SOCK -P PID`; the config should log to `logFile`. */
export class BirdDaemon extends PeerDaemon {
  readonly socket: string;
  readonly logFile: string;

  constructor(ns: string) {
    super(ns, 'bird');
    this.socket = join(this.dir, 'bird.ctl');
    this.logFile = join(this.dir, 'bird.log');
  }

  async start(config: string): Promise<void> {
    writeFileSync(join(this.dir, 'bird.conf'), config);
    await execFileAsync('ip', ['netns', 'exec', this.ns, 'bird', '-c', join(this.dir, 'bird.conf'), '-s', this.socket, '-P', join(this.dir, 'bird.pid')]);
    this.pidValue = await readPidFile(join(this.dir, 'bird.pid'), 'bird');
  }

  /** Replace the config and apply it (`birdc configure`). */
  async reconfigure(config: string): Promise<void> {
    writeFileSync(join(this.dir, 'bird.conf'), config);
    const out = await this.birdc('configure');
    if (!/Reconfigur/i.test(out)) throw new Error(`birdc configure: ${out}`);
  }

  async birdc(...args: string[]): Promise<string> {
    return (await execFileAsync('birdc', ['-s', this.socket, ...args])).stdout;
  }

  /** `neighbor` is the protocol name here. */
  async sessionState(protocol: string): Promise<PeerState> {
    const out = await this.birdc('show', 'protocols', 'all', protocol);
    const m = /BGP state:\s+(\w+)/.exec(out);
    return (m?.[1] as PeerState | undefined) ?? 'unknown';
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** FRR 8 bgpd alone (no zebra, no kernel routes), vty socket in its private directory. */
export class FrrDaemon extends PeerDaemon {
  readonly logFile: string;

  constructor(ns: string) {
    super(ns, 'frr');
    this.logFile = join(this.dir, 'bgpd.log');
  }

  async start(config: string): Promise<void> {
    writeFileSync(join(this.dir, 'bgpd.conf'), config);
    await execFileAsync('ip', [
      'netns', 'exec', this.ns, '/usr/lib/frr/bgpd', '-d', '-f', join(this.dir, 'bgpd.conf'), '-i', join(this.dir, 'bgpd.pid'),
      '-Z', '-n', '-S', '--vty_socket', this.dir, '-P', '0', '--log', `file:${this.logFile}`, '--log-level', 'debug',
    ]);
    this.pidValue = await readPidFile(join(this.dir, 'bgpd.pid'), 'bgpd');
  }

  async vtysh(command: string): Promise<string> {
    return (await execFileAsync('vtysh', ['--vty_socket', this.dir, '-c', command])).stdout;
  }

  async neighbor(address: string): Promise<Record<string, unknown>> {
    const j = JSON.parse(await this.vtysh(`show bgp neighbors ${address} json`)) as Record<string, Record<string, unknown>>;
    return j[address] ?? {};
  }

  async sessionState(address: string): Promise<PeerState> {
    const s = (await this.neighbor(address)).bgpState;
    return typeof s === 'string' ? (s as PeerState) : 'unknown';
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** GoBGP 3: `gobgpd -f CONF.toml` (stays in the foreground: `ip netns exec` execs it, same PID). */
export class GoBgpDaemon extends PeerDaemon {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(ns: string) {
    super(ns, 'gobgp');
  }

  async start(config: string): Promise<void> {
    writeFileSync(join(this.dir, 'gobgpd.toml'), config);
    const child = spawn('ip', ['netns', 'exec', this.ns, 'gobgpd', '-f', join(this.dir, 'gobgpd.toml'), '-l', 'info', '--api-hosts', '127.0.0.1:50051'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.pidValue = child.pid ?? 0;
    const collect = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-200_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    for (let i = 0; i < 100; i++) {
      try {
        await this.cli('global');
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`gobgpd did not start: ${this.output}`);
  }

  async cli(...args: string[]): Promise<string> {
    return (await execFileAsync('ip', ['netns', 'exec', this.ns, 'gobgp', ...args])).stdout;
  }

  async sessionState(address: string): Promise<PeerState> {
    const list = JSON.parse(await this.cli('neighbor', '-j')) as { state?: { neighbor_address?: string; session_state?: unknown } }[];
    const n = list.find((x) => x.state?.neighbor_address === address);
    const s = n?.state?.session_state;
    const names: Record<string, PeerState> = { 1: 'Idle', 2: 'Connect', 3: 'Active', 4: 'OpenSent', 5: 'OpenConfirm', 6: 'Established' };
    if (typeof s === 'number') return names[s] ?? 'unknown';
    if (typeof s === 'string') return (Object.values(names).find((v) => v.toLowerCase() === s.toLowerCase()) ?? 'unknown');
    return 'unknown';
  }

  log(): string {
    return this.output;
  }

  override async stop(): Promise<void> {
    await super.stop();
    this.child = undefined;
  }
}
