// Interop with BIRD 2's BFD (a static single-hop neighbor, IPv4 and IPv6) across a veth pair:
// the sessions reach Up on both sides (BIRD's own view through birdc), a silent path and a downed
// link on BIRD's side bring ours Down with Control Detection Time Expired within the detection
// time (failover measured and printed), BIRD disabling its BFD protocol reaches us as a Down, and
// our stop() reaches BIRD as a Down.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BfdManager } from '../../src/bfd/index.js';
import { birdBfdSessions, cutBfd, reportFailover, restoreBfd, waitBfdState, waitFor, type Cut } from '../helpers/bfd-peers.js';
import { BirdDaemon } from '../helpers/bgp-peers.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const W4 = '203.0.113.1';
const B4 = '203.0.113.2';
const W6 = '2001:db8:bfd:3::1';
const B6 = '2001:db8:bfd:3::2';
const DETECT_MS = 900;
const MARGIN_MS = 100;

describeKernel('BFD interop with BIRD 2', ['nft', 'bird', 'birdc'], () => {
  const topo = new Topology('bfdbird');
  let nsW = '';
  let nsB = '';
  let bird: BirdDaemon;
  let ours: BfdManager;
  const figures: string[] = [];

  beforeAll(async () => {
    nsW = await topo.namespace('w');
    nsB = await topo.namespace('b');
    await topo.veth({ ns: nsW, dev: 'v0', addresses: [`${W4}/24`, `${W6}/64`] }, { ns: nsB, dev: 'v1', addresses: [`${B4}/24`, `${B6}/64`] });
    await topo.exec(nsB, 'sysctl', ['-qw', 'net.ipv6.conf.v1.keep_addr_on_down=1']);
    bird = new BirdDaemon(nsB);
    await bird.start(
      [
        `log "${bird.logFile}" all;`,
        `router id ${B4};`,
        'protocol device { scan time 1; }',
        'protocol bfd wbfd {',
        '  interface "v1" { min rx interval 300 ms; min tx interval 300 ms; idle tx interval 1000 ms; multiplier 3; };',
        `  neighbor ${W4} dev "v1" local ${B4};`,
        `  neighbor ${W6} dev "v1" local ${B6};`,
        '}',
        '',
      ].join('\n'),
    );
    ours = new BfdManager({ netns: nsW });
    ours.setPeers([
      { peer: B4, local: W4, minTxMs: 300, minRxMs: 300, multiplier: 3 },
      { peer: B6, local: W6, minTxMs: 300, minRxMs: 300, multiplier: 3 },
    ]);
  });

  afterAll(async () => {
    if (figures.length > 0) console.log(`BFD failover against BIRD:\n  ${figures.join('\n  ')}`);
    await ours?.stop();
    await bird?.stop();
    topo.destroy();
  });

  async function birdState(peer: string, want: string, ms = 15_000): Promise<void> {
    await waitFor(`BIRD session to ${peer} ${want}`, async () => (await birdBfdSessions(bird)).find((s) => s.address === peer)?.state, (s) => s === want, ms);
  }

  it('reaches Up on both sides, IPv4 and IPv6, with the negotiated timers', async () => {
    await Promise.all([waitBfdState(ours, B4, 'Up', 15_000), waitBfdState(ours, B6, 'Up', 15_000)]);
    await Promise.all([birdState(W4, 'Up'), birdState(W6, 'Up')]);
    await new Promise((r) => setTimeout(r, 1_000));
    console.log(`birdc show bfd sessions:\n${await bird.birdc('show', 'bfd', 'sessions')}`);
    for (const peer of [B4, B6]) expect(ours.status().find((s) => s.peer === peer)).toMatchObject({ state: 'Up', remoteState: 'Up', txIntervalMs: 300, detectTimeMs: DETECT_MS });
    for (const s of await birdBfdSessions(bird)) expect(s).toMatchObject({ state: 'Up', interval: '0.300', timeout: '0.900' });
  });

  async function measure(label: string, cutting: () => Promise<Cut>): Promise<void> {
    const downs = [waitBfdState(ours, B4, 'Down', 5_000), waitBfdState(ours, B6, 'Down', 5_000)];
    const cut = await cutting();
    const events = await Promise.all(downs);
    for (const [i, e] of events.entries()) {
      expect(e.diagnostic).toBe('Control Detection Time Expired');
      const family = i === 0 ? 'IPv4' : 'IPv6';
      const ms = reportFailover(`BIRD ${label} ${family}`, cut, e, DETECT_MS);
      figures.push(`${label} ${family}: ${ms} ms (detection time ${DETECT_MS} ms)`);
      expect(ms).toBeLessThanOrEqual(DETECT_MS + MARGIN_MS);
    }
  }

  it('goes Down within the detection time when the path goes silent (nftables drop on BIRD side)', async () => {
    await measure('silent path', () => cutBfd(topo, nsB));
    await Promise.all([birdState(W4, 'Down'), birdState(W6, 'Down')]);
    await restoreBfd(topo, nsB);
    await Promise.all([waitBfdState(ours, B4, 'Up', 15_000), waitBfdState(ours, B6, 'Up', 15_000), birdState(W4, 'Up'), birdState(W6, 'Up')]);
  });

  it('goes Down within the detection time when BIRD’s link goes down', async () => {
    await measure('link down', async () => {
      const before = Date.now();
      await topo.ip(nsB, ['link', 'set', 'v1', 'down']);
      return { before, after: Date.now() };
    });
    await topo.ip(nsB, ['link', 'set', 'v1', 'up']);
    await Promise.all([waitBfdState(ours, B4, 'Up', 20_000), waitBfdState(ours, B6, 'Up', 20_000), birdState(W4, 'Up', 20_000), birdState(W6, 'Up', 20_000)]);
  });

  it('sees BIRD disabling its BFD protocol as a Down, and comes back when it is enabled', async () => {
    const down = waitBfdState(ours, B4, 'Down', 5_000);
    const t0 = Date.now();
    await bird.birdc('disable', 'wbfd');
    const e = await down;
    const mine = ours.status().find((s) => s.peer === B4);
    console.log(`BFD BIRD disable → our Down after ${e.at - t0} ms (${e.diagnostic}); remote state ${mine?.remoteState}, remote diagnostic "${mine?.remoteDiagnostic}"`);
    expect(['Neighbor Signaled Session Down', 'Control Detection Time Expired']).toContain(e.diagnostic);
    await bird.birdc('enable', 'wbfd');
    await Promise.all([waitBfdState(ours, B4, 'Up', 15_000), waitBfdState(ours, B6, 'Up', 15_000), birdState(W4, 'Up'), birdState(W6, 'Up')]);
  });

  it('our stop() reaches BIRD as a Down', async () => {
    const t0 = Date.now();
    await ours.stop();
    await Promise.all([birdState(W4, 'Down', 3_000), birdState(W6, 'Down', 3_000)]);
    console.log(`BIRD sees our stop() as Down after ${Date.now() - t0} ms (polled every 100 ms)`);
    expect(Date.now() - t0).toBeLessThan(DETECT_MS);
  });
});
