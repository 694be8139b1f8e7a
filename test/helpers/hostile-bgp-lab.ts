// The stage of the hostile-peer tests: a 2-node `--backend=bgp` lab whose daemons have extra
// external peers configured at addresses of the underlay namespace (192.0.2.0/24, unused by the
// lab), where the raw BGP speaker (raw-bgp-peer.ts) connects from. Those peers are Passive, so weft
// only ever waits for them: every connection a test sees is one the test opened.
//
// One peer address per test case: after a session error weft holds the peer Idle for a growing
// time (5 s, 10 s, 20 s…, RFC 4271 §8.1.1 DampPeerOscillations), so reusing one address would
// serialize the cases behind that damping. And the witnesses every case checks: the daemon process
// is alive and answers /status, the node mesh sessions never reset, nothing of the peer's is in the
// kernel, pods still reach each other.
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { isAlive, run } from '../../src/lab/exec.js';
import { Lab } from '../../src/lab/lab.js';
import { continuousPing, waitFor, weftRoutes } from './lab-probes.js';
import { openMessage, RawBgpPeer } from './raw-bgp-peer.js';

export const HOSTILE_ASN = 65001;
export type PeerReport = NonNullable<DaemonStatus['bgp']>['peers'][number];

export interface HostileLabOptions {
  /** Lab id prefix (2 letters), made unique per run. */
  prefix: string;
  /** net-conf.json Backend.Peers entries (Passive is added). */
  peers: Record<string, unknown>[];
  /** Addresses to put on the underlay bridge besides the peers' (e.g. an unconfigured source). */
  extraAddresses?: string[];
}

export async function hostileLab(o: HostileLabOptions): Promise<Lab> {
  const lab = await Lab.up({
    id: `${o.prefix}${process.pid.toString(36)}${Math.random().toString(36).slice(2, 5)}`,
    runRoot: '/tmp/weft-test-labs',
    backend: 'bgp',
    nodes: 2,
    podsPerNode: 1,
    resync: '1s',
    backendConfig: { Peers: o.peers.map((p) => ({ ...p, Passive: true })) },
  });
  try {
    const addresses = [...o.peers.map((p) => p.Address as string), ...(o.extraAddresses ?? [])];
    const batch = addresses.map((a) => `addr add ${a}/24 dev ${lab.layout.bridge}\n`).join('');
    await run('ip', ['-n', lab.layout.underlayNetns, '-batch', '-'], { input: batch });
    await waitFor('the node mesh established', async () => (await mesh(lab)).every((m) => m.state === 'Established'), 15_000);
  } catch (error) {
    await lab.down();
    throw error;
  }
  return lab;
}

export function nodeIp(lab: Lab, node: number): string {
  return lab.nodeLayout(node).ip;
}

export function daemonPid(lab: Lab, node: number): number {
  const pid = lab.state.nodes.find((n) => n.index === node)?.daemonPid;
  if (pid === undefined) throw new Error(`node${node} has no daemon`);
  return pid;
}

export async function peers(lab: Lab, node: number): Promise<PeerReport[]> {
  return ((await lab.daemonStatus(node)) as DaemonStatus).bgp?.peers ?? [];
}

export async function peer(lab: Lab, node: number, address: string): Promise<PeerReport | undefined> {
  return (await peers(lab, node)).find((p) => p.address === address);
}

export interface MeshSession {
  node: number;
  peer: string;
  state: string;
  /** When it became Established (ms since the epoch, ±1 s: status reports whole seconds). */
  since: number;
}

/** Every node's session to every other node. */
export async function mesh(lab: Lab): Promise<MeshSession[]> {
  const ips = lab.state.nodes.map((n) => n.ip);
  const out: MeshSession[] = [];
  for (const n of lab.state.nodes) {
    for (const p of await peers(lab, n.index)) {
      if (ips.includes(p.address)) out.push({ node: n.index, peer: p.address, state: p.state, since: Date.now() - (p.uptimeSeconds ?? 0) * 1000 });
    }
  }
  return out;
}

export async function subnets(lab: Lab): Promise<string[]> {
  return Promise.all(lab.state.nodes.map(async (n) => ((await lab.daemonStatus(n.index)) as { subnet: string }).subnet));
}

/**
 * The daemons survived and nobody else noticed: processes alive, /status answering, every mesh
 * session still the one from `before` (Established, not re-established since), and each node's
 * weft routes exactly the other nodes' podCIDRs plus `alsoInstalled`.
 */
export async function expectUnharmed(lab: Lab, before: MeshSession[], alsoInstalled: string[] = []): Promise<void> {
  for (const n of lab.state.nodes) expect(isAlive(daemonPid(lab, n.index)), `node${n.index}'s daemon is alive`).toBe(true);
  const now = await mesh(lab);
  expect(now.map((m) => `${m.node}→${m.peer} ${m.state}`)).toEqual(before.map((m) => `${m.node}→${m.peer} Established`));
  for (const [i, m] of now.entries()) expect(Math.abs(m.since - before[i]!.since), `node${m.node}→${m.peer} not reset`).toBeLessThan(2000);
  const all = await subnets(lab);
  for (const [i, n] of lab.state.nodes.entries()) {
    const expected = [...all.filter((_, j) => j !== i), ...(n.index === 1 ? alsoInstalled : [])].sort();
    expect((await weftRoutes(lab, n.index)).map((r) => r.dst).sort(), `node${n.index}'s weft routes`).toEqual(expected);
  }
}

export async function expectPodsConnected(lab: Lab): Promise<void> {
  const results = await lab.connectivity();
  expect(results.filter((r) => !r.ok)).toEqual([]);
}

/** Open file descriptors and resident memory of a process. */
export function processFootprint(pid: number): { fds: number; rssKiB: number } {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds, rssKiB: Number(rss?.[1] ?? 0) };
}

/** A 10 ms ping from node1's pod to node2's for the whole file; stop() may be called twice. */
export function pingWitness(lab: Lab): { stop: () => Promise<{ sent: number; received: number }> } {
  const [p1, p2] = [lab.state.pods.find((p) => p.node === 1)!, lab.state.pods.find((p) => p.node === 2)!];
  const ping = continuousPing(p1.netns, p2.ip);
  let result: Promise<{ sent: number; received: number }> | undefined;
  return { stop: () => (result ??= ping.stop()) };
}

/** What every hostile-peer file works against; read its fields inside tests and hooks only. */
export interface HostileStage {
  readonly lab: Lab;
  /** The node mesh as it was once the lab was up: what expectUnharmed compares with. */
  readonly before: MeshSession[];
  /** This case's peer address: a fresh one of the configured peers' for each test. */
  readonly from: string;
  /** Moves this case to another fresh peer address (a second session in one case) and returns it. */
  nextAddress(): string;
  /** A session from `from` to node1 taken to Established (OPEN exchanged, keepalives running). */
  established(): Promise<RawBgpPeer>;
  /** The daemons survived and nobody else noticed (see expectUnharmed). */
  expectUnharmed(alsoInstalled?: string[]): Promise<void>;
}

/**
 * Registers, in the calling describe block, the lab's setup and teardown, the 10 ms ping witness
 * and the per-test peer address; `lostNothing` adds the closing test. A file's own beforeAll hooks
 * registered after this call run after the lab is up. `settled` waits, before the last witness
 * check, for what a file's last case leaves to settle.
 */
export function hostileStage(o: HostileLabOptions): HostileStage & { lostNothing: (o?: { minSent?: number; settled?: () => Promise<unknown> }) => void } {
  let lab: Lab | undefined;
  let before: MeshSession[] | undefined;
  let ping: ReturnType<typeof pingWitness> | undefined;
  let from: string | undefined;
  const free = o.peers.map((p) => p.Address as string);
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`hostile stage: ${what} is only there inside tests and hooks, once the lab is up`);
    return v;
  };

  beforeAll(async () => {
    lab = await hostileLab(o);
    before = await mesh(lab);
    ping = pingWitness(lab);
  }, 90_000);
  afterAll(async () => {
    try {
      await ping?.stop().catch(() => undefined);
    } finally {
      await lab?.down();
    }
  });
  beforeEach(() => {
    from = free.shift();
  });

  const stage = {
    get lab() { return ready(lab, 'the lab'); },
    get before() { return ready(before, 'the mesh'); },
    get from() { return ready(from, 'a peer address (all used: configure more peers)'); },
    nextAddress: () => (from = ready(free.shift(), 'another peer address')),
    established: async (): Promise<RawBgpPeer> => {
      const [l, a] = [stage.lab, stage.from];
      const p = await RawBgpPeer.connect({ netns: l.layout.underlayNetns, local: a, remote: nodeIp(l, 1) });
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: a }));
      p.keepAlive();
      await waitFor(`${a} Established on node1`, async () => (await peer(l, 1, a))?.state === 'Established');
      return p;
    },
    expectUnharmed: (alsoInstalled: string[] = []) => expectUnharmed(stage.lab, stage.before, alsoInstalled),
    lostNothing: ({ minSent = 100, settled }: { minSent?: number; settled?: () => Promise<unknown> } = {}) => {
      describe('and afterwards', () => {
        it('kept every pod reaching every other pod, and the 10 ms ping lost nothing through all of it', async () => {
          await expectPodsConnected(stage.lab);
          const { sent, received } = await ready(ping, 'the ping witness').stop();
          expect(sent).toBeGreaterThan(minSent);
          expect(received).toBe(sent);
          await settled?.();
          await stage.expectUnharmed();
        });
      });
    },
  };
  return stage;
}
