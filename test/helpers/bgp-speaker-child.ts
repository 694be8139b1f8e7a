// Child-process entry that runs a weft BGP Speaker inside a network namespace for interop tests
// and the ingest benchmark (started under `ip netns exec` by bgp-speaker-process.ts, after being
// compiled to JavaScript). Protocol: one JSON object per line. stdin carries commands
// {id, cmd: 'peers'|'announce'|'loc'|'status'|'refresh'|'exit', ...}; stdout carries replies
// {id, ok, result|error} and events {event: 'established'|'down'|'endOfRib'|'changes', t, ...}
// where t is Date.now() in the child, so timings do not include pipe latency. Sessions are the
// real ones (src/bgp/session.ts through rib/session-adapter.ts), dialling out (no listener).
import { createInterface } from 'node:readline';
import { formatPrefix } from '../../src/bgp/rib/prefix.js';
import { Speaker, type Afi, type Announcement, type PeerConfig, type SpeakerConfig } from '../../src/bgp/speaker.js';
import { SessionAdapter } from '../../src/bgp/rib/session-adapter.js';

interface Command {
  id: number;
  cmd: string;
  peers?: PeerConfig[];
  routes?: Announcement[];
  afi?: Afi;
  peer?: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Omit<SpeakerConfig, 'createSession'> & { quietChanges?: boolean };
const realSession = SessionAdapter.factory({
  log: {
    info: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'info', ...obj, message: msg })}\n`),
    debug: () => undefined,
  },
});
const write = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const speaker = new Speaker({
  ...config,
  createSession: (spec) => {
    const s = realSession(spec);
    s.on('established', (info) => write({ event: 'established', t: Date.now(), peer: spec.peer.address, info }));
    s.on('down', (info) => write({ event: 'down', t: Date.now(), peer: spec.peer.address, info }));
    return s;
  },
  log: (level, fields, message) => {
    if (level !== 'debug') process.stderr.write(`${JSON.stringify({ level, ...fields, message })}\n`);
  },
});
speaker.on('endOfRib', (peer, afi) => write({ event: 'endOfRib', t: Date.now(), peer, afi, locRib: speaker.locRib[afi].size }));
let firstChange = true;
speaker.on('changes', (c) => {
  if (!config.quietChanges || firstChange) write({ event: 'changes', t: Date.now(), count: c.length });
  firstChange = false;
});

function dump(afi: Afi): unknown[] {
  return [...speaker.locRib[afi].entries()].map(([key, best, multipath]) => ({
    prefix: formatPrefix(key),
    peer: best.source.id,
    nextHop: best.attrs.nextHop,
    asPath: best.attrs.asPath.flatMap((s) => s.asns),
    localPref: best.attrs.localPref,
    med: best.attrs.med,
    communities: best.attrs.communities,
    originatorId: best.attrs.originatorId,
    clusterList: best.attrs.clusterList,
    multipath: multipath.length,
  }));
}

function run(c: Command): unknown {
  switch (c.cmd) {
    case 'peers':
      speaker.setPeers(c.peers ?? []);
      return null;
    case 'announce':
      speaker.setAnnouncements(c.routes ?? []);
      return null;
    case 'loc':
      return dump(c.afi ?? 'ipv4');
    case 'status':
      return speaker.status();
    case 'refresh':
      speaker.requestRouteRefresh(c.peer ?? '', c.afi ?? 'ipv4');
      return null;
    case 'memory':
      global.gc?.();
      return process.memoryUsage();
    case 'exit':
      void speaker.stop().then(() => setTimeout(() => process.exit(0), 50));
      return null;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let c: Command | undefined;
  try {
    c = JSON.parse(line) as Command;
    write({ id: c.id, ok: true, result: run(c) });
  } catch (err) {
    write({ id: c?.id, ok: false, error: (err as Error).message });
  }
});
process.stdin.on('end', () => process.exit(0));
write({ event: 'ready', t: Date.now(), pid: process.pid });
