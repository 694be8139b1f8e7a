// Child-process entry hosting ONE real bgp-ts Session (and its BgpListener) inside a network
// namespace, for the session interop tests: started under `ip netns exec NS node child.js CONFIG`
// by bgp-session-process.ts after being compiled to JavaScript. Node sockets cannot enter a
// namespace, so the session lives in a process that was started there.
// Protocol, one JSON object per line: stdin {id, cmd: 'stop'|'status'|'exit', message?};
// stdout replies {id, ok, result} and events {event, t, ...}: ready, stateChange, established,
// down, notificationSent, notificationReceived, update.
import { createInterface } from 'node:readline';
import { Session, type SessionConfig } from '../../src/bgp/session.js';
import { BgpListener } from '../../src/bgp/transport/listener.js';
import type { NotificationMessage } from '../../src/bgp/wire/index.js';

interface ChildConfig {
  session: SessionConfig;
  listen?: { host: string; port: number };
  /** Start the session at this wall-clock time (ms): two children dial each other at one instant. */
  startAt?: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const write = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
};
const note = (n: NotificationMessage): Record<string, unknown> => ({ code: n.code, subcode: n.subcode, shutdownMessage: n.shutdownMessage });

async function main(): Promise<void> {
  let listener: BgpListener | undefined;
  if (cfg.listen !== undefined) {
    listener = new BgpListener({ host: cfg.listen.host, port: cfg.listen.port });
    await listener.listen();
  }
  const session = new Session(cfg.session, listener !== undefined ? { listener } : {});
  session.on('stateChange', (c) => write({ event: 'stateChange', ...c }));
  session.on('established', (n) =>
    write({
      event: 'established',
      peerAs: n.peerAs,
      peerRouterId: n.peerRouterId,
      holdTime: n.holdTime,
      keepaliveTime: n.keepaliveTime,
      fourOctetAs: n.fourOctetAs,
      extendedMessage: n.extendedMessage,
      routeRefresh: n.routeRefresh,
      families: n.families.map((f) => `${f.afi}/${f.safi}`),
      gracefulRestart: n.gracefulRestart !== undefined,
    }),
  );
  session.on('down', (d) => write({ event: 'down', reason: d.reason, detail: d.detail, graceful: d.graceful }));
  session.on('notificationSent', (n) => write({ event: 'notificationSent', ...note(n) }));
  session.on('notificationReceived', (n) => write({ event: 'notificationReceived', ...note(n) }));
  session.on('update', (u, outcome) => write({ event: 'update', nlri: u.nlri.length, mp: u.attributes.mpReach?.nlri.length ?? 0, outcome }));
  if (cfg.startAt !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, cfg.startAt! - Date.now())));
  session.start();
  write({ event: 'ready' });

  createInterface({ input: process.stdin }).on('line', (line) => {
    const c = JSON.parse(line) as { id: number; cmd: string; message?: string };
    const reply = (result: unknown): void => write({ id: c.id, ok: true, result });
    if (c.cmd === 'stop') {
      void session.stop(c.message).then(() => reply(session.state));
    } else if (c.cmd === 'status') {
      reply({ state: session.state, stats: session.stats, listener: listener?.stats });
    } else if (c.cmd === 'exit') {
      reply(null);
      setTimeout(() => process.exit(0), 50);
    }
  });
  process.stdin.on('end', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
