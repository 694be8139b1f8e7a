// Interop of one bgp-ts Session with FRR 8 bgpd: iBGP over an IPv6 transport (2001:db8::/64) with
// a 4-octet AS, IPv4 and IPv6 unicast negotiated, TCP-MD5 on a v6 session, and NOTIFICATIONs both
// ways — FRR shuts the neighbor down with a message (we record Cease/2 and the text) and we stop
// with an RFC 9003 message (FRR reports it). Processes stopped by PID, namespaces deleted in afterAll.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FrrDaemon } from '../helpers/bgp-peers.js';
import { SessionProcess } from '../helpers/bgp-session-process.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const WEFT6 = '2001:db8::1';
const PEER6 = '2001:db8::2';
const AS = 4200000001;
const PASSWORD = 'frr-md5-secret';

const frrConfig = `
frr defaults traditional
hostname peer
router bgp ${AS}
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 timers bgp 2 6
 neighbor ${WEFT6} remote-as ${AS}
 neighbor ${WEFT6} password ${PASSWORD}
 neighbor ${WEFT6} timers connect 1
 address-family ipv4 unicast
  neighbor ${WEFT6} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor ${WEFT6} activate
 exit-address-family
`;

describeKernel('bgp session ↔ FRR 8 (iBGP over IPv6, 4-octet AS, MD5)', ['vtysh', '/usr/lib/frr/bgpd'], () => {
  let topo: Topology;
  let frr: FrrDaemon;
  let s: SessionProcess | undefined;

  beforeAll(async () => {
    topo = new Topology('bgp-sess-frr');
    const weftNs = await topo.namespace('weft');
    const peerNs = await topo.namespace('peer');
    await topo.veth({ ns: weftNs, dev: 'eth0' }, { ns: peerNs, dev: 'eth0' });
    // nodad: usable at once instead of after duplicate address detection.
    await topo.ip(weftNs, ['addr', 'add', `${WEFT6}/64`, 'dev', 'eth0', 'nodad']);
    await topo.ip(peerNs, ['addr', 'add', `${PEER6}/64`, 'dev', 'eth0', 'nodad']);
    frr = new FrrDaemon(peerNs);
    await frr.start(frrConfig);
    s = await SessionProcess.start(
      weftNs,
      { peerAddress: PEER6, peerAs: AS, localAs: AS, routerId: '192.0.2.1', holdTime: 6, connectRetryTime: 1, idleHoldTime: 1, idleHoldMaxTime: 2, password: PASSWORD, families: ['ipv4', 'ipv6'] },
      { host: '::', port: 179 },
    );
  });

  afterAll(async () => {
    await s?.stop();
    await frr?.stop();
    topo?.destroy();
  });

  it('reaches Established (iBGP over IPv6 with MD5) with both families and 4-octet AS', async () => {
    const est = await s!.waitFor((e) => e.event === 'established');
    expect(est).toMatchObject({ peerAs: AS, fourOctetAs: true, routeRefresh: true, holdTime: 6, keepaliveTime: 2 });
    expect(est.families).toEqual(['1/1', '2/1']);
    await frr.waitState(WEFT6, 'Established');
  });

  it('records FRR’s neighbor shutdown message', async () => {
    const from = s!.events.length;
    await frr.vtysh(`configure terminal\nrouter bgp ${AS}\nneighbor ${WEFT6} shutdown message peer maintenance`);
    const got = await s!.waitFor((e) => e.event === 'notificationReceived', 5000, from);
    expect(got).toMatchObject({ code: 6, subcode: 2, shutdownMessage: 'peer maintenance' });
    await frr.vtysh(`configure terminal\nrouter bgp ${AS}\nno neighbor ${WEFT6} shutdown`);
    await s!.waitFor((e) => e.event === 'established', 20_000, from);
  });

  it('stops with Cease / Administrative Shutdown and FRR reports our text', async () => {
    await frr.waitState(WEFT6, 'Established');
    await s!.command('stop', { message: 'weft maintenance window' });
    const end = Date.now() + 5000;
    let n: Record<string, unknown> = {};
    while (Date.now() < end) {
      n = await frr.neighbor(WEFT6);
      if (n.bgpState !== 'Established') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(n.bgpState).not.toBe('Established');
    expect(JSON.stringify(n) + frr.log()).toMatch(/weft maintenance window/);
  });
});
