// A failed accept(2) must not kill the daemon: Node reports it as an 'error' event on the listening
// server, which without a listener is an uncaught exception. The BGP listener counts it and keeps
// serving (found while writing test/e2e/hostile-bgp-connections.test.ts). The failure is simulated
// by emitting the event Node would emit; the connection after it shows the listener still works.
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { BgpListener } from '../../src/bgp/transport/listener.js';

let listener: BgpListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

it('counts an accept failure after listening and keeps accepting (here: refusing an unknown address)', async () => {
  listener = new BgpListener({ host: '127.0.0.1', port: 0 });
  await listener.listen();
  const server = (listener as unknown as { server: net.Server }).server;
  expect(() => server.emit('error', Object.assign(new Error('accept ENFILE'), { code: 'ENFILE', syscall: 'accept' }))).not.toThrow();
  expect(listener.stats.acceptErrors).toBe(1);

  const socket = net.connect({ host: '127.0.0.1', port: listener.port });
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('close', resolve));
  expect(listener.stats.rejectedUnknown).toBe(1);
});

it('still rejects the listen() promise when the port is taken, without counting it as an accept error', async () => {
  const first = new BgpListener({ host: '127.0.0.1', port: 0 });
  await first.listen();
  try {
    listener = new BgpListener({ host: '127.0.0.1', port: first.port });
    await expect(listener.listen()).rejects.toThrow(/EADDRINUSE/);
    expect(listener.stats.acceptErrors).toBe(0);
    listener = undefined;
  } finally {
    await first.close();
  }
});
