// Interop of one bgp-ts Session (child process in namespace "weft") with BIRD 2 (namespace
// "peer"), over a veth with documentation addresses: eBGP with 4-octet ASNs, IPv4+IPv6 unicast
// negotiated, TCP-MD5 (RFC 2385) and TTL security (RFC 5082) on both sides; hold timer expiry
// (BIRD frozen with SIGSTOP → we send Hold Timer Expired); NOTIFICATION both ways (BIRD disables
// the protocol with a message → we record Cease/2 and its text; we stop with an RFC 9003 message →
// BIRD logs it); a wrong MD5 password never reaches Established and the kernel counts the
// failures; with BIRD's TTL security off (it sends TTL 1) our GTSM socket drops its segments and
// the session never comes up; a connection from an unconfigured address is closed at once. Everything started is
// stopped by PID and the namespaces are deleted in afterAll, also on failure.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BirdDaemon } from '../helpers/bgp-peers.js';
import { SessionProcess } from '../helpers/bgp-session-process.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const run = promisify(execFile);
const WEFT4 = '192.0.2.1';
const PEER4 = '192.0.2.2';
const STRANGER4 = '192.0.2.99';
const PASSWORD = 'weft-md5-secret';

function birdConfig(logFile: string, ttlSecurity = true): string {
  return `
router id ${PEER4};
log "${logFile}" all;
protocol device {}
protocol bgp weft {
  local ${PEER4} as 4200000002;
  neighbor ${WEFT4} as 4200000001;
  hold time 6;
  keepalive time 2;
  connect retry time 1;
  error wait time 1, 2;
  password "${PASSWORD}";
  ttl security ${ttlSecurity ? 'on' : 'off'};
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
`;
}

describeKernel('bgp session ↔ BIRD 2 (eBGP, 4-octet AS, MD5, GTSM)', ['bird', 'birdc', 'nstat'], () => {
  let topo: Topology;
  let weftNs: string;
  let peerNs: string;
  let bird: BirdDaemon;
  const sessions: SessionProcess[] = [];
  const session = async (password: string): Promise<SessionProcess> => {
    const s = await SessionProcess.start(
      weftNs,
      {
        peerAddress: PEER4,
        peerAs: 4200000002,
        localAs: 4200000001,
        routerId: WEFT4,
        holdTime: 3,
        connectRetryTime: 1,
        idleHoldTime: 1,
        idleHoldMaxTime: 2,
        password,
        ttlSecurity: 1,
        families: ['ipv4', 'ipv6'],
      },
      { host: '::', port: 179 },
    );
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    topo = new Topology('bgp-sess-bird');
    weftNs = await topo.namespace('weft');
    peerNs = await topo.namespace('peer');
    await topo.veth({ ns: weftNs, dev: 'eth0', addresses: [`${WEFT4}/24`] }, { ns: peerNs, dev: 'eth0', addresses: [`${PEER4}/24`, `${STRANGER4}/24`] });
    bird = new BirdDaemon(peerNs);
    await bird.start(birdConfig(bird.logFile));
  });

  afterAll(async () => {
    for (const s of sessions) await s.stop();
    await bird?.stop();
    topo?.destroy();
  });

  it('reaches Established with MD5 + TTL security and negotiates 4-octet AS and both families', async () => {
    const s = await session(PASSWORD);
    const est = await s.waitFor((e) => e.event === 'established');
    expect(est).toMatchObject({ peerAs: 4200000002, peerRouterId: PEER4, fourOctetAs: true, holdTime: 3, keepaliveTime: 1 });
    expect(est.families).toEqual(['1/1', '2/1']);
    await bird.waitState('weft', 'Established');
  });

  it('sends Hold Timer Expired when BIRD stops talking (SIGSTOP), then recovers', async () => {
    const s = sessions[0]!;
    const from = s.events.length;
    bird.pause();
    try {
      const sent = await s.waitFor((e) => e.event === 'notificationSent', 8000, from);
      expect(sent).toMatchObject({ code: 4, subcode: 0 });
      const down = await s.waitFor((e) => e.event === 'down', 1000, from);
      expect(down).toMatchObject({ reason: 'hold-timer-expired', graceful: true });
    } finally {
      bird.resume();
    }
    await s.waitFor((e) => e.event === 'established', 20_000, from);
  });

  it('records BIRD’s Cease / Administrative Shutdown with its shutdown communication', async () => {
    const s = sessions[0]!;
    const from = s.events.length;
    await bird.birdc('disable', 'weft', '"peer maintenance"');
    const got = await s.waitFor((e) => e.event === 'notificationReceived', 5000, from);
    expect(got).toMatchObject({ code: 6, subcode: 2, shutdownMessage: 'peer maintenance' });
    await bird.birdc('enable', 'weft');
    await s.waitFor((e) => e.event === 'established', 20_000, from);
  });

  it('closes a connection from an unconfigured address at once', async () => {
    const script = `const s=require('net').connect({host:'${WEFT4}',port:179,localAddress:'${STRANGER4}'});const t=Date.now();s.on('error',()=>{});s.on('close',()=>{console.log(Date.now()-t)});`;
    const { stdout } = await run('ip', ['netns', 'exec', peerNs, process.execPath, '-e', script]);
    expect(Number(stdout.trim())).toBeLessThan(500);
    const status = await sessions[0]!.command<{ listener: { rejectedUnknown: number } }>('status');
    expect(status.listener.rejectedUnknown).toBeGreaterThanOrEqual(1);
  });

  it('stops with Cease / Administrative Shutdown and BIRD shows our shutdown text', async () => {
    const s = sessions[0]!;
    await s.command('stop', { message: 'weft maintenance window' });
    await bird.waitState('weft', 'Active', 10_000).catch(() => bird.waitState('weft', 'Connect', 5000));
    const show = await bird.birdc('show', 'protocols', 'all', 'weft');
    expect(show + bird.log()).toMatch(/weft maintenance window/);
    expect(show).toMatch(/Received: Administrative shutdown/);
    await s.stop();
  });

  it('never reaches Established with a wrong MD5 password; the kernel counts the bad signatures', async () => {
    const counter = async (): Promise<number> => {
      const { stdout } = await run('ip', ['netns', 'exec', peerNs, 'nstat', '-az', 'TcpExtTCPMD5Failure']);
      return Number(/TcpExtTCPMD5Failure\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    };
    const before = await counter();
    const s = await session('not-the-password');
    await new Promise((r) => setTimeout(r, 4000));
    expect(s.events.some((e) => e.event === 'established')).toBe(false);
    expect(s.events.some((e) => e.event === 'stateChange' && e.to === 'OpenConfirm')).toBe(false);
    expect(await bird.sessionState('weft')).not.toBe('Established');
    expect(await counter()).toBeGreaterThan(before);
  });

  it('TTL security: a peer that does not send TTL 255 never gets Established (kernel drops by IP_MINTTL)', async () => {
    for (const old of sessions) await old.stop();
    const counter = async (): Promise<number> => {
      const { stdout } = await run('ip', ['netns', 'exec', weftNs, 'nstat', '-az', 'TcpExtTCPMinTTLDrop']);
      return Number(/TcpExtTCPMinTTLDrop\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    };
    await bird.reconfigure(birdConfig(bird.logFile, false));
    const before = await counter();
    const s = await session(PASSWORD);
    await new Promise((r) => setTimeout(r, 4000));
    expect(s.events.some((e) => e.event === 'established')).toBe(false);
    expect(await counter()).toBeGreaterThan(before);
  });
});
