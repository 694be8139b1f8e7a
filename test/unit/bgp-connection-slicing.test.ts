// A BGP connection hands a burst of messages to its handler a time slice at a time: a read full of
// UPDATEs (a peer sending a full table) must let timers run in between — BFD's 300 ms packets,
// keepalives, other sessions — and still deliver every message, in order, once.
// Over a real socket pair (a Unix socket in a temporary directory: no network involved).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SocketConnection } from '../../src/bgp/transport/connection.js';
import { ipv4Key } from '../../src/bgp/rib/prefix.js';
import { INITIAL_OPTIONS, encodeMessage, type BgpMessage } from '../../src/bgp/wire/index.js';
import { SLICE_MS } from '../../src/util/time-slice.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A connected pair: our SocketConnection on one end, a plain socket to write with on the other. */
async function pair(): Promise<{ conn: SocketConnection; writer: net.Socket }> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-conn-slice-'));
  const path = join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const writer = net.connect(path);
  const conn = new SocketConnection(await accepted, 'incoming');
  cleanups.push(() => {
    writer.destroy();
    conn.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { conn, writer };
}

const busy = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

it('lets timers run between slices of a burst, and still delivers every message in order', async () => {
  const { conn, writer } = await pair();
  const COUNT = 60;
  const got: number[] = [];
  let timerFiredAfter: number | undefined;
  const done = new Promise<void>((resolve, reject) => {
    conn.attach({
      message: (m: BgpMessage) => {
        if (m.type !== 'update') return;
        if (got.length === 0) setTimeout(() => (timerFiredAfter = got.length), 0);
        got.push(m.withdrawn[0]!);
        busy(2); // import policy and RIB work for a message's worth of prefixes
        if (got.length === COUNT) resolve();
      },
      decodeError: (e) => reject(e),
      closed: (why) => reject(new Error(why)),
    });
  });
  // One write, one read: every message is in the first chunk the connection sees.
  const prefixes = Array.from({ length: COUNT }, (_, i) => ipv4Key(0x0a000000 + i * 256, 24));
  const burst = Buffer.concat(prefixes.map((p) => encodeMessage({ type: 'update', withdrawn: [p], attributes: {}, nlri: [] }, INITIAL_OPTIONS)));
  writer.write(burst);
  await done;
  expect(got).toEqual(prefixes);
  // 60 × 2 ms of work in 10 ms slices: the timer set at the first message ran long before the last.
  expect(SLICE_MS).toBeLessThan(COUNT * 2);
  expect(timerFiredAfter).toBeDefined();
  expect(timerFiredAfter!).toBeLessThan(COUNT);
});
