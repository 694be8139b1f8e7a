// Hostile input, part 6: a configured external peer sends a full table — 200 000 prefixes, all
// admitted by its Import list, installed, re-checked by every resync (1 s here) and re-judged when
// a node joins the registry, then withdrawn at once when the session drops. weft must take all of
// it without holding its one thread for long: BFD with that same peer (FRR bfdd on the peer's
// address, 300 ms × 3) sees weft's packets throughout and never declares the path down, which a
// stall of 900 ms would do. Nobody else notices: same witnesses as the other hostile-bgp files.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/lab/exec.js';
import { RTPROT_WEFT } from '../../src/netlink/index.js';
import { FrrBfdDaemon, waitFor as waitForPeer } from '../helpers/bfd-peers.js';
import { describeKernel } from '../helpers/env.js';
import { HOSTILE_ASN, hostileStage, nodeIp, peer, subnets } from '../helpers/hostile-bgp-lab.js';
import { waitFor } from '../helpers/lab-probes.js';
import { announce } from '../helpers/raw-bgp-peer.js';

const ADDRESS = '192.0.2.100';
const JOINED_SUBNET = '10.244.250.0/24';
const COUNT = 200_000;
/** 100.64.0.0/10 as /32s: outside the cluster network, inside the peer's Import list. */
const PREFIXES = Array.from({ length: COUNT }, (_, i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`);
/** UPDATEs of 700 /32s (5 octets each): under the 4096-octet limit. */
const UPDATES = Array.from({ length: Math.ceil(COUNT / 700) }, (_, i) => announce(PREFIXES.slice(i * 700, (i + 1) * 700), HOSTILE_ASN, ADDRESS));

interface FrrCounters {
  peer: string;
  'session-up': number;
  'session-down': number;
}

describeKernel('weft --backend=bgp against a peer sending a full table, with BFD', ['etcd', 'etcdctl', 'ping', '/usr/lib/frr/bfdd', 'vtysh'], () => {
  const s = hostileStage({ prefix: 'hf', peers: [{ Address: ADDRESS, ASN: HOSTILE_ASN, Import: ['100.64.0.0/10 le 32'], BFD: true }] });
  let bfdd: FrrBfdDaemon | undefined;
  const counters = async (): Promise<FrrCounters | undefined> => (JSON.parse(await bfdd!.vtysh('show bfd peers counters json')) as FrrCounters[]).find((c) => c.peer === nodeIp(s.lab, 1));
  const kernelRoutes = async (): Promise<number> => (await run('ip', ['-n', s.lab.nodeLayout(1).netns, 'route', 'show', 'proto', String(RTPROT_WEFT), 'root', '100.64.0.0/10'])).split('\n').filter((l) => l.trim() !== '').length;

  const etcdctl = (...args: string[]): Promise<string> => run('etcdctl', ['--endpoints', s.lab.layout.etcdEndpoint, ...args], { netns: s.lab.layout.underlayNetns, env: { ...process.env, ETCDCTL_API: '3' } });
  const subnetKey = (subnet: string): string => `/weft/network/subnets/${subnet.replace('/', '-')}`;
  /** A third node's entry (node2's, with another subnet and address): nothing runs behind it. */
  const joinNode = async (): Promise<void> => {
    const node2 = JSON.parse(await etcdctl('get', subnetKey((await subnets(s.lab))[1]!), '--print-value-only')) as Record<string, unknown>;
    await etcdctl('put', subnetKey(JOINED_SUBNET), JSON.stringify({ ...node2, PublicIP: '192.0.2.50' }));
  };
  const leaveNode = async (): Promise<void> => void (await etcdctl('del', subnetKey(JOINED_SUBNET)));

  beforeAll(async () => {
    bfdd = new FrrBfdDaemon(s.lab.layout.underlayNetns);
    await bfdd.start(`bfd\n peer ${nodeIp(s.lab, 1)} local-address ${ADDRESS}\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n !\n!\n`);
    await waitForPeer('FRR bfdd up with node1', () => bfdd!.peer(nodeIp(s.lab, 1)), (p) => p?.status === 'up');
    await waitFor('node1 sees BFD Up', async () => (await peer(s.lab, 1, ADDRESS))?.bfd?.state === 'Up');
  }, 60_000);
  afterAll(async () => {
    await bfdd?.stop();
  });

  it(`installs ${COUNT} prefixes, keeps them through resyncs and withdraws them all, and BFD never goes down`, async () => {
    const before = await counters();
    expect(before?.['session-down']).toBe(0);
    const p = await s.established();
    const started = Date.now();
    for (const u of UPDATES) p.send(u);
    await waitFor(`${COUNT} prefixes accepted`, async () => (await peer(s.lab, 1, ADDRESS).catch(() => undefined))?.prefixesAccepted === COUNT, 60_000);
    await waitFor(`${COUNT} routes in node1's kernel`, async () => (await kernelRoutes()) === COUNT, 60_000);
    const installedMs = Date.now() - started;
    // Full passes over the whole table (resync 1 s), each diffing 200 000 routes against the kernel;
    // and a node joining the registry meanwhile, which has every path of the table judged again.
    await joinNode();
    await waitFor('node1 knows the joined node', async () => JSON.stringify(await s.lab.daemonStatus(1)).includes(JOINED_SUBNET));
    await new Promise((r) => setTimeout(r, 3000));
    expect(await kernelRoutes()).toBe(COUNT);
    await leaveNode();
    const dropped = Date.now();
    p.close();
    await waitFor('every route withdrawn', async () => (await kernelRoutes()) === 0, 60_000);
    const withdrawnMs = Date.now() - dropped;
    const after = await counters();
    console.log(`full table: ${COUNT} prefixes received and installed in ${installedMs} ms, withdrawn in ${withdrawnMs} ms; FRR bfdd session down events ${after?.['session-down']}`);
    expect(after?.['session-down']).toBe(0);
    expect((await peer(s.lab, 1, ADDRESS))?.bfd?.state).toBe('Up');
    await s.expectUnharmed();
  }, 240_000);

  s.lostNothing({ minSent: 300 });
});
