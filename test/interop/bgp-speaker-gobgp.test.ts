// Interop of our speaker with GoBGP 3 over eBGP: IPv4 and IPv6 routes both ways and withdrawals,
// and a route refresh we request (GoBGP's refresh counter moves).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { GoBgp } from '../helpers/bgp-speaker-peers.js';
import { SpeakerProcess } from '../helpers/bgp-speaker-process.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

interface LocRoute {
  prefix: string;
  nextHop: string;
  asPath: number[];
}

function gobgpConfig(me: UnderlayNode, weft: UnderlayNode): string {
  return `
[global.config]
  as = 65002
  router-id = "${me.ipv4}"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${weft.ipv4}"
    peer-as = 65000
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`;
}

type RibJson = Record<string, { nexthop?: string; attrs?: { type: number; as_paths?: { asns: number[] }[]; nexthop?: string }[] }[]>;

describeKernel('bgp speaker ↔ GoBGP 3 (eBGP, IPv4+IPv6)', ['gobgpd', 'gobgp'], () => {
  let topo: Topology;
  let weft: UnderlayNode;
  let peer: UnderlayNode;
  let gobgp: GoBgp;
  let speaker: SpeakerProcess;
  const loc = (afi: 'ipv4' | 'ipv6'): Promise<LocRoute[]> => speaker.command<LocRoute[]>('loc', { afi });
  const rib = (afi: 'ipv4' | 'ipv6'): Promise<RibJson> => gobgp.json<RibJson>('global', 'rib', '-a', afi);

  beforeAll(async () => {
    topo = new Topology('bgp-gobgp');
    const nodes = await topo.underlay(['weft', 'gobgp']);
    weft = nodes[0]!;
    peer = nodes[1]!;
    gobgp = new GoBgp(peer.ns, gobgpConfig(peer, weft));
    await gobgp.start();
    await gobgp.cli('global', 'rib', 'add', '-a', 'ipv4', '203.0.113.0/24', 'nexthop', peer.ipv4);
    await gobgp.cli('global', 'rib', 'add', '-a', 'ipv6', '2001:db8:300::/48', 'nexthop', peer.ipv6);
    speaker = await SpeakerProcess.start(weft.ns, { asn: 65000, routerId: weft.ipv4 });
    await speaker.command('peers', { peers: [{ address: peer.ipv4, asn: 65002, nextHopIpv6: weft.ipv6, connectRetryTime: 1, idleHoldTime: 1 }] });
    await speaker.waitFor((e) => e.event === 'established', 20_000);
  });

  afterAll(async () => {
    await speaker?.stop();
    await gobgp?.stop();
    topo?.destroy();
  });

  it('receives GoBGP\'s IPv4 and IPv6 routes', async () => {
    const v4 = await speaker.until(async () => ((await loc('ipv4')).length === 1 ? loc('ipv4') : undefined), 15_000, 'IPv4 from GoBGP');
    expect(v4[0]).toMatchObject({ prefix: '203.0.113.0/24', nextHop: peer.ipv4, asPath: [65002] });
    const v6 = await speaker.until(async () => ((await loc('ipv6')).length === 1 ? loc('ipv6') : undefined), 15_000, 'IPv6 from GoBGP');
    expect(v6[0]).toMatchObject({ prefix: '2001:db8:300::/48', nextHop: peer.ipv6, asPath: [65002] });
  });

  it('announces to GoBGP and withdraws', async () => {
    await speaker.command('announce', { routes: [{ prefix: '198.18.20.0/24' }, { prefix: '2001:db8:400::/48' }] });
    const v4 = await speaker.until(async () => {
      const r = await rib('ipv4');
      return r['198.18.20.0/24'] ? r : undefined;
    }, 15_000, 'IPv4 route in GoBGP');
    const path = v4['198.18.20.0/24']![0]!;
    expect(path.attrs?.find((a) => a.type === 2)?.as_paths?.[0]?.asns).toEqual([65000]);
    expect(path.attrs?.find((a) => a.type === 3)?.nexthop).toBe(weft.ipv4);
    const v6 = await speaker.until(async () => {
      const r = await rib('ipv6');
      return r['2001:db8:400::/48'] ? r : undefined;
    }, 15_000, 'IPv6 route in GoBGP');
    expect(JSON.stringify(v6['2001:db8:400::/48'])).toContain(weft.ipv6);
    await speaker.command('announce', { routes: [] });
    await speaker.until(async () => !(await rib('ipv4'))['198.18.20.0/24'] && !(await rib('ipv6'))['2001:db8:400::/48'], 15_000, 'withdrawals in GoBGP');
  });

  it('sees GoBGP\'s withdrawal', async () => {
    await gobgp.cli('global', 'rib', 'del', '-a', 'ipv4', '203.0.113.0/24');
    await speaker.until(async () => (await loc('ipv4')).length === 0, 15_000, 'withdrawal from GoBGP');
  });

  it('requests a route refresh that GoBGP receives', async () => {
    type Neighbor = { state?: { messages?: { received?: { refresh?: number } } } };
    const refreshes = async (): Promise<number> => (await gobgp.json<Neighbor>('neighbor', weft.ipv4)).state?.messages?.received?.refresh ?? 0;
    const before = await refreshes();
    await speaker.command('refresh', { peer: peer.ipv4, afi: 'ipv6' });
    await speaker.until(async () => (await refreshes()) > before, 15_000, 'GoBGP to count our ROUTE-REFRESH');
    expect((await loc('ipv6')).length).toBe(1);
  });
});
