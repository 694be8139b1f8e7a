// BFD test helpers: FRR 8 bfdd as a standalone daemon in a namespace (no zebra needed for static
// single-hop peers), BIRD 2's view of its BFD sessions (BIRD itself is started with BirdDaemon
// from bgp-peers.ts), nftables cuts that silence BFD inside one namespace, and a wait on a
// BfdManager's 'state' events that also says when the event came (for failover measurements).
//
// Like bgp-peers.ts: daemons get a private temporary directory, are stopped by the PID they
// wrote, never by name; nftables tables are created in the test's own namespaces only.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BfdManager, BfdState } from '../../src/bfd/index.js';
import { PeerDaemon, type BirdDaemon, type PeerState } from './bgp-peers.js';
import type { Topology } from './topology.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface BfdStateEvent {
  state: BfdState;
  previous: BfdState;
  diagnostic: string;
  /** Date.now() when the event was emitted. */
  at: number;
}

/** The next (or current) time `peer` is in `want` on `m`. */
export function waitBfdState(m: BfdManager, peer: string, want: BfdState, ms = 10_000): Promise<BfdStateEvent> {
  return new Promise((resolve, reject) => {
    const current = m.status().find((s) => s.peer === peer);
    if (current?.state === want) {
      resolve({ state: want, previous: want, diagnostic: current.diagnostic, at: Date.now() });
      return;
    }
    const listener = (p: string, state: BfdState, previous: BfdState, diagnostic: string): void => {
      if (p !== peer || state !== want) return;
      clearTimeout(timer);
      m.off('state', listener);
      resolve({ state, previous, diagnostic, at: Date.now() });
    };
    const timer = setTimeout(() => {
      m.off('state', listener);
      reject(new Error(`BFD session to ${peer} not ${want} within ${ms} ms: ${JSON.stringify(m.status())} ${JSON.stringify(m.stats())}`));
    }, ms);
    m.on('state', listener);
  });
}

/** Poll `read` until it returns `want` (a peer daemon's own view). */
export async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < end) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  throw new Error(`${what}: last ${JSON.stringify(last)} ${lastError instanceof Error ? lastError.message : ''}`);
}

/** One peer from `show bfd peers json`. */
export interface FrrBfdPeer {
  peer: string;
  local?: string;
  status: string;
  diagnostic: string;
  'remote-diagnostic': string;
  id: number;
  'remote-id': number;
  'transmit-interval': number;
  'receive-interval': number;
  'remote-transmit-interval': number;
  'remote-receive-interval': number;
}

/**
 * FRR 8 bfdd alone: it drops privileges to the frr user, so its directory belongs to frr; the
 * zebra socket path points into that directory too (nothing listens there: static peers do not
 * need zebra).
 */
export class FrrBfdDaemon extends PeerDaemon {
  readonly logFile: string;

  constructor(ns: string) {
    super(ns, 'bfdd');
    this.logFile = join(this.dir, 'bfdd.log');
  }

  async start(config: string): Promise<void> {
    const conf = join(this.dir, 'bfdd.conf');
    writeFileSync(conf, config);
    const { stdout } = await execFileAsync('id', ['-u', 'frr']);
    const gid = (await execFileAsync('id', ['-g', 'frr'])).stdout;
    chownSync(this.dir, Number(stdout.trim()), Number(gid.trim()));
    await execFileAsync('ip', [
      'netns', 'exec', this.ns, '/usr/lib/frr/bfdd', '-d', '-f', conf, '-i', join(this.dir, 'bfdd.pid'), '--vty_socket', this.dir,
      '--bfdctl', join(this.dir, 'bfdd.sock'), '-z', join(this.dir, 'zserv.api'), '--log', `file:${this.logFile}`, '--log-level', 'debug',
    ]);
    for (let i = 0; i < 100 && this.pidValue === 0; i++) {
      const path = join(this.dir, 'bfdd.pid');
      if (existsSync(path)) this.pidValue = Number(readFileSync(path, 'utf8').trim()) || 0;
      if (this.pidValue === 0) await sleep(50);
    }
    if (this.pidValue === 0) throw new Error(`bfdd did not write its PID file; log:\n${this.log()}`);
  }

  async vtysh(...commands: string[]): Promise<string> {
    return (await execFileAsync('vtysh', ['--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])])).stdout;
  }

  async peers(): Promise<FrrBfdPeer[]> {
    return JSON.parse(await this.vtysh('show bfd peers json')) as FrrBfdPeer[];
  }

  async peer(address: string): Promise<FrrBfdPeer | undefined> {
    return (await this.peers()).find((p) => p.peer === address);
  }

  /** BGP states do not apply; this is only here to satisfy PeerDaemon. */
  async sessionState(): Promise<PeerState> {
    return 'unknown';
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

export interface BirdBfdSession {
  address: string;
  iface: string;
  state: string;
  since: string;
  interval: string;
  timeout: string;
}

/** Rows of `birdc show bfd sessions`: IP address, Interface, State, Since, Interval, Timeout. */
export async function birdBfdSessions(bird: BirdDaemon): Promise<BirdBfdSession[]> {
  const out = await bird.birdc('show', 'bfd', 'sessions');
  const rows: BirdBfdSession[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    // Time columns may have one or two words ("03:50:01.123" or "2026-11-25 03:50:01").
    if (f.length >= 6 && /^[0-9a-f:.]+$/i.test(f[0] ?? '') && /[.:]/.test(f[0] ?? '')) {
      rows.push({ address: f[0] ?? '', iface: f[1] ?? '', state: f[2] ?? '', since: f[3] ?? '', interval: f.at(-2) ?? '', timeout: f.at(-1) ?? '' });
    }
  }
  return rows;
}

const NFT_TABLE = 'weft_bfd_test';

export interface Cut {
  /** Date.now() before the nft command started and after it returned: the cut lies in between. */
  before: number;
  after: number;
}

/**
 * Silence BFD in `ns` (single-hop port, both directions): what a dead link looks like to both
 * ends, without the carrier change a link-down would also signal. One nft transaction, so both
 * directions go at the same instant.
 */
export async function cutBfd(topo: Topology, ns: string, port = 3784): Promise<Cut> {
  const script = [
    `add table inet ${NFT_TABLE}`,
    `add chain inet ${NFT_TABLE} in { type filter hook input priority 0 ; }`,
    `add chain inet ${NFT_TABLE} out { type filter hook output priority 0 ; }`,
    `add rule inet ${NFT_TABLE} in udp dport ${port} drop`,
    `add rule inet ${NFT_TABLE} out udp dport ${port} drop`,
  ].join(' ; ');
  const before = Date.now();
  await topo.exec(ns, 'nft', [script]);
  return { before, after: Date.now() };
}

export async function restoreBfd(topo: Topology, ns: string): Promise<void> {
  await topo.exec(ns, 'nft', ['delete', 'table', 'inet', NFT_TABLE]).catch(() => undefined);
}

/**
 * Print and return a failover figure the way every BFD test reports it: from the moment the cut
 * command returned (the cut is at most `after - before` earlier) to the Down event.
 */
export function reportFailover(label: string, cut: Cut, event: BfdStateEvent, detectTimeMs: number): number {
  const ms = event.at - cut.after;
  console.log(`BFD failover ${label}: ${ms} ms from cut to Down (${event.diagnostic}); detection time ${detectTimeMs} ms; cut command took ${cut.after - cut.before} ms`);
  return ms;
}
