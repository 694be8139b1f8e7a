// Interop with FRR 8 bfdd (static single-hop peers, IPv4 and IPv6) across a veth pair: the
// sessions reach Up on both sides (FRR's own view through vtysh), a silent path and a downed link
// on FRR's side bring ours Down with Control Detection Time Expired within the detection time
// (failover measured and printed), FRR's administrative shutdown reaches us as Down with its
// diagnostic, and our stop() reaches FRR as AdminDown.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BfdManager } from '../../src/bfd/index.js';
import { FrrBfdDaemon, cutBfd, reportFailover, restoreBfd, waitBfdState, waitFor, type Cut } from '../helpers/bfd-peers.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const W4 = '192.0.2.1';
const F4 = '192.0.2.2';
const W6 = '2001:db8:bfd:2::1';
const F6 = '2001:db8:bfd:2::2';
const DETECT_MS = 900;
const MARGIN_MS = 100;

const peerBlock = (peer: string, local: string): string => ` peer ${peer} local-address ${local}\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n !\n`;

describeKernel('BFD interop with FRR bfdd', ['nft', '/usr/lib/frr/bfdd', 'vtysh'], () => {
  const topo = new Topology('bfdfrr');
  let nsW = '';
  let nsF = '';
  let frr: FrrBfdDaemon;
  let ours: BfdManager;
  const figures: string[] = [];

  beforeAll(async () => {
    nsW = await topo.namespace('w');
    nsF = await topo.namespace('f');
    await topo.veth({ ns: nsW, dev: 'v0', addresses: [`${W4}/24`, `${W6}/64`] }, { ns: nsF, dev: 'v1', addresses: [`${F4}/24`, `${F6}/64`] });
    frr = new FrrBfdDaemon(nsF);
    await frr.start(`bfd\n${peerBlock(W4, F4)}${peerBlock(W6, F6)}!\n`);
    ours = new BfdManager({ netns: nsW });
    ours.setPeers([
      { peer: F4, local: W4, minTxMs: 300, minRxMs: 300, multiplier: 3 },
      { peer: F6, local: W6, minTxMs: 300, minRxMs: 300, multiplier: 3 },
    ]);
  });

  afterAll(async () => {
    if (figures.length > 0) console.log(`BFD failover against FRR bfdd:\n  ${figures.join('\n  ')}`);
    await ours?.stop();
    await frr?.stop();
    topo.destroy();
  });

  async function frrStatus(peer: string, want: string): Promise<void> {
    await waitFor(`FRR session to ${peer} ${want}`, () => frr.peer(peer), (p) => p?.status === want);
  }

  it('reaches Up on both sides, IPv4 and IPv6, with the negotiated timers', async () => {
    await Promise.all([waitBfdState(ours, F4, 'Up', 15_000), waitBfdState(ours, F6, 'Up', 15_000)]);
    await Promise.all([frrStatus(W4, 'up'), frrStatus(W6, 'up')]);
    await new Promise((r) => setTimeout(r, 1_000));
    for (const [peer, local] of [[F4, W4], [F6, W6]] as const) {
      const mine = ours.status().find((s) => s.peer === peer);
      const theirs = await frr.peer(local);
      expect(mine).toMatchObject({ state: 'Up', remoteState: 'Up', txIntervalMs: 300, detectTimeMs: DETECT_MS });
      expect(theirs).toMatchObject({ status: 'up', 'remote-id': mine?.localDiscriminator, id: mine?.remoteDiscriminator, 'remote-transmit-interval': 300, 'remote-receive-interval': 300 });
    }
  });

  async function measure(label: string, cutting: () => Promise<Cut>): Promise<void> {
    const downs = [waitBfdState(ours, F4, 'Down', 5_000), waitBfdState(ours, F6, 'Down', 5_000)];
    const cut = await cutting();
    const events = await Promise.all(downs);
    for (const [i, e] of events.entries()) {
      expect(e.diagnostic).toBe('Control Detection Time Expired');
      const ms = reportFailover(`FRR ${label} ${i === 0 ? 'IPv4' : 'IPv6'}`, cut, e, DETECT_MS);
      figures.push(`${label} ${i === 0 ? 'IPv4' : 'IPv6'}: ${ms} ms (detection time ${DETECT_MS} ms)`);
      expect(ms).toBeLessThanOrEqual(DETECT_MS + MARGIN_MS);
    }
  }

  it('goes Down within the detection time when the path goes silent (nftables drop on FRR side)', async () => {
    await measure('silent path', () => cutBfd(topo, nsF));
    await Promise.all([frrStatus(W4, 'down'), frrStatus(W6, 'down')]);
    await restoreBfd(topo, nsF);
    await Promise.all([waitBfdState(ours, F4, 'Up', 15_000), waitBfdState(ours, F6, 'Up', 15_000), frrStatus(W4, 'up')]);
  });

  it('goes Down within the detection time when FRR’s link goes down', async () => {
    // Otherwise the kernel flushes FRR's IPv6 address with the link and the v6 session cannot return.
    await topo.exec(nsF, 'sysctl', ['-qw', 'net.ipv6.conf.v1.keep_addr_on_down=1']);
    await measure('link down', async () => {
      const before = Date.now();
      await topo.ip(nsF, ['link', 'set', 'v1', 'down']);
      return { before, after: Date.now() };
    });
    await topo.ip(nsF, ['link', 'set', 'v1', 'up']);
    await Promise.all([waitBfdState(ours, F4, 'Up', 20_000), waitBfdState(ours, F6, 'Up', 20_000), frrStatus(W4, 'up'), frrStatus(W6, 'up')]);
  });

  it('sees FRR’s administrative shutdown as Down with FRR’s diagnostic, and comes back after no shutdown', async () => {
    const down = waitBfdState(ours, F4, 'Down', 5_000);
    const t0 = Date.now();
    await frr.vtysh('configure terminal', 'bfd', `peer ${W4} local-address ${F4}`, 'shutdown');
    const e = await down;
    console.log(`BFD FRR shutdown → our Down after ${e.at - t0} ms (${e.diagnostic})`);
    expect(e.diagnostic).toBe('Neighbor Signaled Session Down');
    const mine = ours.status().find((s) => s.peer === F4);
    // FRR 8.4 sends its AdminDown packets with diagnostic 0 (its own view says "ok" too), so the
    // Sta field is what carries the news; we report whatever diagnostic it sent.
    console.log(`BFD FRR shutdown: remote state ${mine?.remoteState}, remote diagnostic "${mine?.remoteDiagnostic}"`);
    expect(mine).toMatchObject({ state: 'Down', remoteState: 'AdminDown' });
    // The IPv6 session is untouched.
    expect(ours.status().find((s) => s.peer === F6)?.state).toBe('Up');
    await frr.vtysh('configure terminal', 'bfd', `peer ${W4} local-address ${F4}`, 'no shutdown');
    await waitBfdState(ours, F4, 'Up', 15_000);
  });

  it('our stop() reaches FRR as a neighbor-signalled Down', async () => {
    await Promise.all([frrStatus(W4, 'up'), frrStatus(W6, 'up')]);
    await ours.stop();
    const p = await waitFor('FRR sees us down', () => frr.peer(W4), (x) => x?.status === 'down', 3_000);
    console.log(`FRR after our stop(): status ${p?.status}, diagnostic "${p?.diagnostic}", remote-diagnostic "${p?.['remote-diagnostic']}"`);
    expect(p?.diagnostic).toMatch(/neighbor.*down/i);
    expect(p?.['remote-diagnostic']).toMatch(/administratively/i);
  });
});
