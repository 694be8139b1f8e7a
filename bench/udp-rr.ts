// UDP request/response latency, the two halves run as child processes inside namespaces by
// bench/encap.ts (`ip netns exec NS node dist/bench/udp-rr.js …`):
//
//   udp-rr.js server PORT                        echoes every datagram; prints "ready" once bound
//   udp-rr.js client HOST PORT COUNT WARMUP      one request in flight at a time; prints one JSON
//                                                line {rttUs: number[], lost}
//
// Each request carries a sequence number and only the matching reply counts, so a late reply can
// never be taken for the current one. A request unanswered after 500 ms is counted lost and sent
// again with a new number; more than 1 % lost fails the run (exit 1) instead of reporting a
// latency that skipped the slow cases. Warm-up round trips (ARP, caches) are not reported.
import { createSocket } from 'node:dgram';

const TIMEOUT_MS = 500;
const PAYLOAD = 32;

function server(port: number): void {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  socket.bind(port, () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => socket.close(() => process.exit(0)));
}

async function client(host: string, port: number, count: number, warmup: number): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  let waiting: { seq: number; resolve: (ok: boolean) => void } | undefined;
  socket.on('message', (msg) => {
    if (waiting && msg.length >= 4 && msg.readUInt32BE(0) === waiting.seq) waiting.resolve(true);
  });
  const payload = Buffer.alloc(PAYLOAD);
  let seq = 0;
  let lost = 0;
  const rttUs: number[] = [];
  const roundTrip = async (): Promise<number> => {
    for (;;) {
      seq = (seq + 1) >>> 0;
      payload.writeUInt32BE(seq, 0);
      const start = process.hrtime.bigint();
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
        waiting = {
          seq,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        };
        socket.send(payload, port, host);
      });
      waiting = undefined;
      if (ok) return Number(process.hrtime.bigint() - start) / 1000;
      lost++;
      if (lost > Math.max(3, (count + warmup) / 100)) throw new Error(`more than 1 % of requests to ${host}:${port} lost (${lost})`);
    }
  };
  for (let i = 0; i < warmup; i++) await roundTrip();
  lost = 0;
  for (let i = 0; i < count; i++) rttUs.push(await roundTrip());
  socket.close();
  process.stdout.write(`${JSON.stringify({ rttUs, lost })}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') {
  server(Number(args[0]));
} else if (mode === 'client') {
  client(args[0]!, Number(args[1]), Number(args[2]), Number(args[3])).catch((error: unknown) => {
    process.stderr.write(`udp-rr client: ${(error as Error).message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: udp-rr.js server PORT | client HOST PORT COUNT WARMUP\n');
  process.exit(2);
}
