// Interop of our speaker (child process in its own namespace) with BIRD 2: routes both ways and
// withdrawals for IPv4 and IPv6 over one eBGP session, route refresh in both directions, and
// graceful restart of BIRD with its routes retained (stale) and refreshed after its End-of-RIB.
// Documentation addresses only; every namespace and process is removed in afterAll, also on failure.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { Bird } from '../helpers/bgp-speaker-peers.js';
import { SpeakerProcess } from '../helpers/bgp-speaker-process.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

interface LocRoute {
  prefix: string;
  peer: string;
  nextHop: string;
  asPath: number[];
}
interface Status {
  address: string;
  state: string;
  established: boolean;
  prefixes: Record<'ipv4' | 'ipv6', { received: number; accepted: number; stale: number; advertised: number }>;
}

function birdConfig(me: UnderlayNode, weft: UnderlayNode, statics4: string[]): string {
  return `
router id ${me.ipv4};
log stderr all;
protocol device {}
protocol static s4 { ipv4; ${statics4.map((p) => `route ${p} unreachable;`).join(' ')} }
protocol static s6 { ipv6; route 2001:db8:100::/48 unreachable; }
protocol bgp weft {
  local ${me.ipv4} as 65001;
  neighbor ${weft.ipv4} as 65000;
  passive on;
  error wait time 1, 2;
  graceful restart on;
  ipv4 { import all; export where proto = "s4"; };
  ipv6 { import all; export where proto = "s6"; next hop address ${me.ipv6}; };
}
`;
}

describeKernel('bgp speaker ↔ BIRD 2 (eBGP, IPv4+IPv6)', ['bird', 'birdc'], () => {
  let topo: Topology;
  let weft: UnderlayNode;
  let peer: UnderlayNode;
  let bird: Bird;
  let speaker: SpeakerProcess;
  const loc = (afi: 'ipv4' | 'ipv6'): Promise<LocRoute[]> => speaker.command<LocRoute[]>('loc', { afi });
  const status = async (): Promise<Status> => (await speaker.command<Status[]>('status'))[0]!;

  beforeAll(async () => {
    topo = new Topology('bgp-bird');
    const nodes = await topo.underlay(['weft', 'bird']);
    weft = nodes[0]!;
    peer = nodes[1]!;
    bird = new Bird(peer.ns, birdConfig(peer, weft, ['203.0.113.0/24', '198.51.100.128/25']));
    await bird.start();
    speaker = await SpeakerProcess.start(weft.ns, { asn: 65000, routerId: weft.ipv4, gracefulRestart: { restartTime: 120, staleTime: 60 } });
    await speaker.command('peers', { peers: [{ address: peer.ipv4, asn: 65001, nextHopIpv6: weft.ipv6, connectRetryTime: 1, idleHoldTime: 1 }] });
    await speaker.waitFor((e) => e.event === 'established', 20_000);
  });

  afterAll(async () => {
    await speaker?.stop();
    await bird?.stop();
    topo?.destroy();
  });

  it('receives BIRD\'s IPv4 and IPv6 routes', async () => {
    const v4 = await speaker.until(async () => {
      const r = await loc('ipv4');
      return r.length === 2 ? r : undefined;
    }, 15_000, 'IPv4 routes from BIRD');
    expect(v4.map((r) => [r.prefix, r.nextHop, r.asPath])).toEqual(
      expect.arrayContaining([
        ['203.0.113.0/24', peer.ipv4, [65001]],
        ['198.51.100.128/25', peer.ipv4, [65001]],
      ]),
    );
    const v6 = await speaker.until(async () => {
      const r = await loc('ipv6');
      return r.length === 1 ? r : undefined;
    }, 15_000, 'IPv6 route from BIRD');
    expect(v6[0]).toMatchObject({ prefix: '2001:db8:100::/48', nextHop: peer.ipv6, asPath: [65001] });
  });

  it('announces to BIRD and withdraws', async () => {
    await speaker.command('announce', { routes: [{ prefix: '198.18.10.0/24', communities: ['65000:7'] }, { prefix: '2001:db8:200::/48' }] });
    const shown = await speaker.until(async () => {
      const out = await bird.birdc('show', 'route', 'protocol', 'weft', 'all');
      return out.includes('198.18.10.0/24') && out.includes('2001:db8:200::/48') ? out : undefined;
    }, 15_000, 'routes in BIRD');
    expect(shown).toMatch(/BGP\.as_path: 65000/);
    expect(shown).toMatch(/BGP\.community: \(65000,7\)/);
    expect(shown).toContain(`BGP.next_hop: ${weft.ipv4}`);
    expect(shown).toContain(`BGP.next_hop: ${weft.ipv6}`);
    await speaker.command('announce', { routes: [{ prefix: '2001:db8:200::/48' }] });
    await speaker.until(async () => !(await bird.birdc('show', 'route', 'protocol', 'weft')).includes('198.18.10.0/24'), 15_000, 'IPv4 withdrawal in BIRD');
    await speaker.command('announce', { routes: [] });
    await speaker.until(async () => !(await bird.birdc('show', 'route', 'protocol', 'weft')).includes('2001:db8:200::/48'), 15_000, 'IPv6 withdrawal in BIRD');
    await speaker.command('announce', { routes: [{ prefix: '198.18.10.0/24' }] });
  });

  it('sees BIRD\'s withdrawals', async () => {
    await bird.birdc('disable', 's6');
    await speaker.until(async () => (await loc('ipv6')).length === 0, 15_000, 'IPv6 withdrawal from BIRD');
    await bird.birdc('enable', 's6');
    await speaker.until(async () => (await loc('ipv6')).length === 1, 15_000, 'IPv6 route back');
  });

  it('answers BIRD\'s route refresh and requests one from BIRD', async () => {
    const counter = async (name: 'Import updates' | 'Export updates'): Promise<number> => {
      const out = await bird.birdc('show', 'protocols', 'all', 'weft');
      // "Import updates:  received  rejected  filtered  ignored  accepted" for the ipv4 channel (first).
      const m = new RegExp(`${name}:\\s+(\\d+)`).exec(out);
      return Number(m?.[1] ?? -1);
    };
    const imported = await counter('Import updates');
    await bird.birdc('reload', 'in', 'weft'); // BIRD sends ROUTE-REFRESH; we re-send our Adj-RIB-Out
    await speaker.until(async () => (await counter('Import updates')) > imported, 15_000, 'BIRD to receive our refreshed routes');
    const exported = await counter('Export updates');
    await speaker.command('refresh', { peer: peer.ipv4, afi: 'ipv4' });
    await speaker.until(async () => (await counter('Export updates')) > exported, 15_000, 'BIRD to re-send on our refresh request');
    expect((await loc('ipv4')).length).toBe(2);
  });

  it('keeps BIRD\'s routes across its graceful restart and drops the ones it no longer has after End-of-RIB', async () => {
    await bird.gracefulStop();
    await speaker.waitFor((e) => e.event === 'down', 10_000);
    const during = await status();
    expect(during.established).toBe(false);
    expect(during.prefixes.ipv4.stale).toBe(2);
    expect((await loc('ipv4')).map((r) => r.prefix).sort()).toEqual(['198.51.100.128/25', '203.0.113.0/24']);
    // BIRD comes back without 198.51.100.128/25.
    await bird.start(birdConfig(peer, weft, ['203.0.113.0/24']));
    await speaker.waitFor((e) => e.event === 'established' && speaker.events.filter((x) => x.event === 'established').length >= 2, 20_000);
    await speaker.until(async () => (await status()).prefixes.ipv4.stale === 0 && (await loc('ipv4')).length === 1, 20_000, 'stale routes swept after End-of-RIB');
    expect((await loc('ipv4')).map((r) => r.prefix)).toEqual(['203.0.113.0/24']);
    // Our routes went back to BIRD after its restart.
    await speaker.until(async () => (await bird.birdc('show', 'route', 'protocol', 'weft')).includes('198.18.10.0/24'), 15_000, 'our route back in BIRD');
  });
});
