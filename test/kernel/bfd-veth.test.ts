// Two BfdManagers in two network namespaces joined by a veth pair, over the real RFC 5881 port:
// IPv4 and IPv6 sessions come Up, both sides see the same discriminators, the packets carry TTL /
// hop limit 255 (a netfilter rule dropping anything else stays at zero), a silent path is
// detected within the detection time (measured), and stop() brings the other side Down at once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BfdManager } from '../../src/bfd/index.js';
import { cutBfd, reportFailover, restoreBfd, waitBfdState } from '../helpers/bfd-peers.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const A4 = '192.0.2.1';
const B4 = '192.0.2.2';
const A6 = '2001:db8:bfd::1';
const B6 = '2001:db8:bfd::2';
const timers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };

describeKernel('BFD between two managers across a veth pair', ['nft'], () => {
  const topo = new Topology('bfd');
  let nsA = '';
  let nsB = '';
  let a: BfdManager;
  let b: BfdManager;

  beforeAll(async () => {
    nsA = await topo.namespace('a');
    nsB = await topo.namespace('b');
    await topo.veth({ ns: nsA, dev: 'v0', addresses: [`${A4}/24`, `${A6}/64`] }, { ns: nsB, dev: 'v1', addresses: [`${B4}/24`, `${B6}/64`] });
    // GTSM as an operator would enforce it: anything to 3784 with a TTL/hop limit below 255 is
    // dropped and counted. Our sessions must come Up through it with the counters at zero.
    await topo.exec(nsB, 'nft', ['add', 'table', 'inet', 'gtsm']);
    await topo.exec(nsB, 'nft', ['add', 'chain', 'inet', 'gtsm', 'in', '{ type filter hook input priority 0 ; }']);
    await topo.exec(nsB, 'nft', ['add', 'rule', 'inet', 'gtsm', 'in', 'udp', 'dport', '3784', 'ip', 'ttl', '!=', '255', 'counter', 'drop']);
    await topo.exec(nsB, 'nft', ['add', 'rule', 'inet', 'gtsm', 'in', 'udp', 'dport', '3784', 'ip6', 'hoplimit', '!=', '255', 'counter', 'drop']);
    a = new BfdManager({ netns: nsA });
    b = new BfdManager({ netns: nsB });
  });

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    topo.destroy();
  });

  it('brings IPv4 and IPv6 sessions Up with 255 as TTL and hop limit', async () => {
    a.setPeers([{ peer: B4, local: A4, ...timers }, { peer: B6, local: A6, ...timers }]);
    b.setPeers([{ peer: A4, local: B4, ...timers }, { peer: A6, local: B6, ...timers }]);
    await Promise.all([waitBfdState(a, B4, 'Up'), waitBfdState(a, B6, 'Up'), waitBfdState(b, A4, 'Up'), waitBfdState(b, A6, 'Up')]);
    await new Promise((r) => setTimeout(r, 500));
    for (const [m, other] of [[a, b], [b, a]] as const) {
      for (const s of m.status()) {
        const mirror = other.status().find((o) => o.peer === s.local);
        expect(s).toMatchObject({ state: 'Up', remoteState: 'Up', txIntervalMs: 100, detectTimeMs: 300, remoteDiscriminator: mirror?.localDiscriminator });
      }
    }
    const counters = await topo.exec(nsB, 'nft', ['list', 'table', 'inet', 'gtsm']);
    expect(counters.match(/packets \d+/g)).toEqual(['packets 0', 'packets 0']);
    expect(b.stats().dropped).toEqual({});
  });

  it('detects a silent path within the detection time', async () => {
    const downs = [waitBfdState(a, B4, 'Down'), waitBfdState(a, B6, 'Down')];
    const detect = a.status().find((s) => s.peer === B4)?.detectTimeMs ?? 0;
    const cut = await cutBfd(topo, nsB);
    const [d4, d6] = await Promise.all(downs);
    if (d4 === undefined || d6 === undefined) throw new Error('no events');
    for (const [label, e] of [['IPv4 veth', d4], ['IPv6 veth', d6]] as const) {
      expect(e.diagnostic).toBe('Control Detection Time Expired');
      const ms = reportFailover(label, cut, e, detect);
      expect(ms).toBeLessThanOrEqual(detect + 100);
    }
  });

  it('recovers when the path returns', async () => {
    await restoreBfd(topo, nsB);
    await Promise.all([waitBfdState(a, B4, 'Up'), waitBfdState(a, B6, 'Up'), waitBfdState(b, A4, 'Up')]);
    expect(a.status().find((s) => s.peer === B4)).toMatchObject({ upCount: 2, downCount: 1 });
  });

  it('stop() on one side brings the other Down with Neighbor Signaled Session Down at once', async () => {
    const downs = [waitBfdState(b, A4, 'Down', 2_000), waitBfdState(b, A6, 'Down', 2_000)];
    const t0 = Date.now();
    await a.stop();
    for (const e of await Promise.all(downs)) {
      expect(e.diagnostic).toBe('Neighbor Signaled Session Down');
      expect(e.at - t0).toBeLessThan(100);
    }
    expect(b.status().map((s) => s.remoteDiagnostic)).toEqual(['Administratively Down', 'Administratively Down']);
  });
});
