// Our speaker as an RFC 4456 route reflector for two BIRD clients (iBGP, AS 65000): a route from
// one client reaches the other with the original next hop, ORIGINATOR_ID = the first client's
// router ID and CLUSTER_LIST = our cluster ID; its withdrawal follows the same way.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { Bird } from '../helpers/bgp-speaker-peers.js';
import { SpeakerProcess } from '../helpers/bgp-speaker-process.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

function clientConfig(me: UnderlayNode, rr: UnderlayNode, statics: string[]): string {
  return `
router id ${me.ipv4};
log stderr all;
protocol device {}
protocol direct { ipv4; ipv6; }
protocol static s4 { ipv4; ${statics.map((p) => `route ${p} unreachable;`).join(' ')} }
protocol bgp reflector {
  local ${me.ipv4} as 65000;
  neighbor ${rr.ipv4} as 65000;
  direct;
  passive on;
  error wait time 1, 2;
  ipv4 { import all; export where proto = "s4"; gateway direct; };
}
`;
}

describeKernel('bgp speaker as route reflector for two BIRD clients', ['bird', 'birdc'], () => {
  let topo: Topology;
  let rr: UnderlayNode;
  let c1: UnderlayNode;
  let c2: UnderlayNode;
  let b1: Bird;
  let b2: Bird;
  let speaker: SpeakerProcess;
  const CLUSTER = '192.0.2.200';

  beforeAll(async () => {
    topo = new Topology('bgp-rr');
    const nodes = await topo.underlay(['rr', 'c1', 'c2']);
    rr = nodes[0]!;
    c1 = nodes[1]!;
    c2 = nodes[2]!;
    b1 = new Bird(c1.ns, clientConfig(c1, rr, ['203.0.113.0/24']));
    b2 = new Bird(c2.ns, clientConfig(c2, rr, []));
    await b1.start();
    await b2.start();
    speaker = await SpeakerProcess.start(rr.ns, { asn: 65000, routerId: rr.ipv4, clusterId: CLUSTER });
    await speaker.command('peers', {
      peers: [
        { address: c1.ipv4, asn: 65000, rrClient: true, families: ['ipv4'], connectRetryTime: 1, idleHoldTime: 1 },
        { address: c2.ipv4, asn: 65000, rrClient: true, families: ['ipv4'], connectRetryTime: 1, idleHoldTime: 1 },
      ],
    });
  });

  afterAll(async () => {
    await speaker?.stop();
    await b1?.stop();
    await b2?.stop();
    topo?.destroy();
  });

  it('reflects client 1\'s route to client 2 with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const shown = await speaker.until(async () => {
      const out = await b2.birdc('show', 'route', 'protocol', 'reflector', 'all');
      return out.includes('203.0.113.0/24') ? out : undefined;
    }, 20_000, 'reflected route at client 2');
    expect(shown).toContain(`BGP.originator_id: ${c1.ipv4}`);
    expect(shown).toContain(`BGP.cluster_list: ${CLUSTER}`);
    expect(shown).toContain(`BGP.next_hop: ${c1.ipv4}`);
    expect(shown).toContain('BGP.local_pref: 100');
    // Not reflected back to its originator.
    expect(await b1.birdc('show', 'route', 'protocol', 'reflector')).not.toContain('203.0.113.0/24');
  });

  it('reflects the withdrawal', async () => {
    await b1.birdc('disable', 's4');
    await speaker.until(async () => !(await b2.birdc('show', 'route', 'protocol', 'reflector')).includes('203.0.113.0/24'), 20_000, 'withdrawal at client 2');
  });
});
