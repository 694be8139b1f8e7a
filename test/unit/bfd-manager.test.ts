// BfdManager over real UDP on loopback (127.0.0.1 ↔ 127.0.0.2, a random high port, no root):
// declarative setPeers, demultiplexing, drops counted by reason, timer changes, stop() with
// AdminDown, and the configuration errors.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { BfdConfigError, BfdManager, encodeControlPacket, type BfdControlPacket, type BfdState } from '../../src/bfd/index.js';

const A = '127.0.0.1';
const B = '127.0.0.2';
const fast = { minTxMs: 50, minRxMs: 50, multiplier: 3 };
const port = 20_000 + Math.floor(Math.random() * 20_000);

const managers: BfdManager[] = [];
function manager(): BfdManager {
  const m = new BfdManager({ port });
  managers.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

function waitState(m: BfdManager, peer: string, want: BfdState, ms = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${peer} not ${want} within ${ms} ms: ${JSON.stringify(m.status())}`)), ms);
    const check = (p: string, state: BfdState, _prev: BfdState, diag: string): void => {
      if (p === peer && state === want) {
        clearTimeout(timer);
        m.off('state', check);
        resolve(diag);
      }
    };
    m.on('state', check);
    if (m.status().some((s) => s.peer === peer && s.state === want)) check(peer, want, want, m.status().find((s) => s.peer === peer)?.diagnostic ?? '');
  });
}

async function sendRaw(bytes: Buffer, to: string): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, A, () => r()));
  await new Promise<void>((r) => s.send(bytes, port, to, () => r()));
  s.close();
}

const packet = (p: Partial<BfdControlPacket>): Buffer =>
  encodeControlPacket({
    diagnostic: 0, state: 'Down', poll: false, final: false, controlPlaneIndependent: false, authenticationPresent: false, demand: false, multipoint: false,
    detectMult: 3, myDiscriminator: 99, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 300_000, requiredMinEchoRxUs: 0, ...p,
  });

describe('BfdManager on loopback', () => {
  it('brings two managers Up, negotiates the configured timers and reports them', async () => {
    const a = manager();
    const b = manager();
    a.setPeers([{ peer: B, local: A, ...fast }]);
    b.setPeers([{ peer: A, local: B, ...fast }]);
    await Promise.all([waitState(a, B, 'Up'), waitState(b, A, 'Up')]);
    await new Promise((r) => setTimeout(r, 300));
    const [s] = a.status();
    expect(s).toMatchObject({ peer: B, local: A, state: 'Up', remoteState: 'Up', txIntervalMs: 50, detectTimeMs: 150, upCount: 1, downCount: 0 });
    expect(s?.remoteDiscriminator).toBe(b.status()[0]?.localDiscriminator);
    const [endpoint] = a.stats().endpoints;
    expect(endpoint?.sourcePort).toBeGreaterThanOrEqual(49152);
  });

  it('stop() tells the peer: it goes Down with Neighbor Signaled Session Down, seeing Administratively Down', async () => {
    const a = manager();
    const b = manager();
    a.setPeers([{ peer: B, local: A, ...fast }]);
    b.setPeers([{ peer: A, local: B, ...fast }]);
    await Promise.all([waitState(a, B, 'Up'), waitState(b, A, 'Up')]);
    const down = waitState(b, A, 'Down', 1_000);
    await a.stop();
    expect(await down).toBe('Neighbor Signaled Session Down');
    expect(b.status()[0]).toMatchObject({ remoteState: 'AdminDown', remoteDiagnostic: 'Administratively Down' });
  });

  it('removing a peer from setPeers shuts its session down the same way', async () => {
    const a = manager();
    const b = manager();
    a.setPeers([{ peer: B, local: A, ...fast }]);
    b.setPeers([{ peer: A, local: B, ...fast }]);
    await Promise.all([waitState(a, B, 'Up'), waitState(b, A, 'Up')]);
    const down = waitState(b, A, 'Down', 1_000);
    a.setPeers([]);
    expect(a.status()).toEqual([]);
    expect(await down).toBe('Neighbor Signaled Session Down');
  });

  it('changes timers of a running session through a poll without dropping it', async () => {
    const a = manager();
    const b = manager();
    a.setPeers([{ peer: B, local: A, ...fast }]);
    b.setPeers([{ peer: A, local: B, ...fast }]);
    await Promise.all([waitState(a, B, 'Up'), waitState(b, A, 'Up')]);
    a.setPeers([{ peer: B, local: A, minTxMs: 200, minRxMs: 200, multiplier: 4 }]);
    await new Promise((r) => setTimeout(r, 800));
    expect(a.status()[0]).toMatchObject({ state: 'Up', upCount: 1, txIntervalMs: 200, detectTimeMs: 600 });
    expect(b.status()[0]).toMatchObject({ state: 'Up', upCount: 1, txIntervalMs: 200, detectTimeMs: 800 });
  });

  it('drops and counts what it cannot use, and keeps working', async () => {
    const a = manager();
    a.setPeers([{ peer: B, local: A, ...fast }]);
    await new Promise((r) => setTimeout(r, 100));
    await sendRaw(Buffer.from('not bfd'), A);
    const wrongVersion = packet({});
    wrongVersion[0] = 0x40;
    await sendRaw(wrongVersion, A);
    await sendRaw(packet({ state: 'Up', yourDiscriminator: 12345 }), A);
    // From 127.0.0.1 to 127.0.0.1: no session has those addresses.
    await sendRaw(packet({}), A);
    const mine = a.status()[0]?.localDiscriminator ?? 0;
    await sendRaw(packet({ state: 'Init', yourDiscriminator: mine }), A);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.stats().dropped).toEqual({ 'too-short': 1, 'bad-version': 1, 'unknown-discriminator': 1, 'no-session-for-addresses': 1, 'address-mismatch': 1 });
    expect(a.status()[0]?.state).toBe('Down');
  });

  it('survives a state listener that throws (logged, not thrown into the socket)', async () => {
    const warnings: string[] = [];
    const a = new BfdManager({ port, log: (level, _f, msg) => level === 'warn' && warnings.push(msg) });
    managers.push(a);
    const b = manager();
    a.on('state', () => {
      throw new Error('listener bug');
    });
    a.setPeers([{ peer: B, local: A, ...fast }]);
    b.setPeers([{ peer: A, local: B, ...fast }]);
    await waitState(b, A, 'Up');
    await new Promise((r) => setTimeout(r, 200));
    expect(a.status()[0]?.state).toBe('Up');
    expect(warnings).toContain('bfd state listener threw');
  });

  it('rejects a bad configuration as a whole, naming the field', () => {
    const a = manager();
    a.setPeers([{ peer: B, local: A }]);
    const attempts: [Parameters<BfdManager['setPeers']>[0], string][] = [
      [[{ peer: 'nope', local: A }], 'peer'],
      [[{ peer: B, local: '2001:db8::1' }], 'local'],
      [[{ peer: B, local: A, minTxMs: 0 }], 'minTxMs'],
      [[{ peer: B, local: A, minRxMs: 1.5 }], 'minRxMs'],
      [[{ peer: B, local: A, multiplier: 256 }], 'multiplier'],
      // The same session twice, spelled differently.
      [[{ peer: '2001:db8::2', local: '2001:db8::1' }, { peer: '2001:db8:0:0::2', local: '2001:db8::1' }], 'peer'],
    ];
    for (const [configs, field] of attempts) {
      let caught: unknown;
      try {
        a.setPeers(configs);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(BfdConfigError);
      expect((caught as BfdConfigError).field).toBe(field);
    }
    expect(a.status().map((s) => s.peer)).toEqual([B]);
  });

  it('retries a local address it cannot bind yet and reports why', async () => {
    const logs: string[] = [];
    const m = new BfdManager({ port, retryMs: 100, log: (_l, f, msg) => logs.push(`${msg} ${String(f.error)}`) });
    managers.push(m);
    // 192.0.2.1 (documentation range) is not configured on this host.
    m.setPeers([{ peer: '192.0.2.2', local: '192.0.2.1' }]);
    await new Promise((r) => setTimeout(r, 350));
    expect(m.stats().endpoints[0]).toMatchObject({ local: '192.0.2.1', open: false, lastError: 'EADDRNOTAVAIL' });
    expect(logs.filter((l) => l.includes('EADDRNOTAVAIL')).length).toBeGreaterThanOrEqual(2);
  });
});
