// A BGP speaker for the BGP benches, run as a child inside a namespace of the bench's own:
//
//   ip netns exec <ns> node dist/bench/bgp-announcer.js '{"asn":64512,"routerId":"192.0.2.101","listen":"192.0.2.101"}'
//
// It plays the part of a joining node's daemon (bgp-convergence: listener up and podCIDR set
// before the registry write, peers set right after it, as modes/bgp/backend.ts does) or of the
// other nodes of a big cluster (bgp-scale: thousands of announcements, each with its own next
// hop). It is bgp-ts's Speaker with the real sessions and listener — the same code as the daemon —
// but installs nothing in a kernel.
//
// One JSON command per stdin line, one JSON answer per command; events carry CLOCK_MONOTONIC ms
// (process.hrtime), which every process on the machine shares, so the bench can time them against
// rtnetlink events and the etcd writer:
//
//   {"id":1,"cmd":"announce","routes":[{prefix,nextHop}]} → {"id":1,"ok":true,"atMs":…}
//   {"id":2,"cmd":"peers","peers":[PeerConfig]}            → {"id":2,"ok":true,"atMs":…}
//   {"id":3,"cmd":"status"}                                → {"id":3,"ok":true,"result":[PeerStatus]}
//   {"id":4,"cmd":"exit"}                                  → sessions closed with a Cease, then exit
//   events: {"event":"established"|"down","peer":A,"atMs":…}, {"event":"ready","atMs":…}
//   stderr: the sessions' log lines (state changes, collisions) as JSON with atMs
//
// What it is not: a daemon (no registry, no import policy, no kernel).
import { createInterface } from 'node:readline';
import { SessionAdapter } from '../src/bgp/rib/session-adapter.js';
import { Speaker, type Announcement, type PeerConfig } from '../src/bgp/speaker.js';
import { BgpListener } from '../src/bgp/transport/listener.js';

interface AnnouncerConfig {
  asn: number;
  routerId: string;
  /** Listen for inbound sessions on this address (port 179), as a daemon does. */
  listen?: string;
  /** Negotiate graceful restart like the daemon (default true). */
  gracefulRestart?: boolean;
}

interface Command {
  id: number;
  cmd: 'announce' | 'peers' | 'status' | 'exit';
  routes?: Announcement[];
  peers?: PeerConfig[];
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const write = (value: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as AnnouncerConfig;
  const listener = config.listen !== undefined ? new BgpListener({ host: config.listen, port: 179 }) : undefined;
  if (listener) await listener.listen();
  // Session state changes go to stderr with a CLOCK_MONOTONIC stamp: the bench shows them for slow joins.
  const sessionLog = (level: string) => (fields: Record<string, unknown>, message: string): void => void process.stderr.write(`${JSON.stringify({ level, ...fields, msg: message, atMs: nowMs() })}\n`);
  const sessions = SessionAdapter.factory({ ...(listener ? { listener } : {}), log: { info: sessionLog('info'), debug: sessionLog('debug') } });
  const speaker = new Speaker({
    asn: config.asn,
    routerId: config.routerId,
    ...(config.gracefulRestart === false ? {} : { gracefulRestart: { restartTime: 120 } }),
    createSession: (spec) => {
      const s = sessions(spec);
      s.on('established', () => write({ event: 'established', peer: spec.peer.address, atMs: nowMs() }));
      s.on('down', (info) => write({ event: 'down', peer: spec.peer.address, reason: info.reason, atMs: nowMs() }));
      return s;
    },
    log: (level, fields, message) => {
      if (level === 'warn') process.stderr.write(`${JSON.stringify({ ...fields, message })}\n`);
    },
  });

  const run = async (c: Command): Promise<Record<string, unknown>> => {
    switch (c.cmd) {
      case 'announce': {
        const atMs = nowMs();
        speaker.setAnnouncements(c.routes ?? []);
        return { atMs };
      }
      case 'peers': {
        const atMs = nowMs();
        speaker.setPeers(c.peers ?? []);
        return { atMs };
      }
      case 'status':
        return { result: speaker.status() };
      case 'exit':
        setImmediate(() => {
          void speaker
            .stop()
            .then(() => listener?.close())
            .finally(() => process.exit(0));
        });
        return {};
    }
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    let c: Command | undefined;
    try {
      c = JSON.parse(line) as Command;
    } catch {
      return;
    }
    const id = c.id;
    run(c).then(
      (r) => write({ id, ok: true, ...r }),
      (err: unknown) => write({ id, ok: false, error: (err as Error).message }),
    );
  });
  process.stdin.on('end', () => process.exit(0));
  write({ event: 'ready', atMs: nowMs(), pid: process.pid });
}

main().catch((err: unknown) => {
  process.stderr.write(`bgp-announcer: ${(err as Error).message}\n`);
  process.exit(1);
});
