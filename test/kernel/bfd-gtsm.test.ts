// RFC 5881 §5 GTSM on receive: what this kernel does with IP_MINTTL / IPV6_MINHOPCOUNT on a UDP
// socket, and the netfilter rule that does enforce it. The first test pins down the limitation
// documented in src/bfd/transport.ts — if a kernel starts enforcing the options for UDP it fails,
// and that header should be updated. The second pins down the nftables table weft installs
// instead (src/bfd/gtsm-nft.ts).
import type dgram from 'node:dgram';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BfdManager, encodeControlPacket } from '../../src/bfd/index.js';
import { applyBfdGtsm, BFD_GTSM_TABLE } from '../../src/bfd/gtsm-nft.js';
import { bindUdp } from '../../src/bfd/transport.js';
import { waitBfdState } from '../helpers/bfd-peers.js';
import { describeKernel } from '../helpers/env.js';
import { Topology } from '../helpers/topology.js';

const A4 = '198.51.100.1';
const B4 = '198.51.100.2';
const A6 = '2001:db8:bfd:1::1';
const B6 = '2001:db8:bfd:1::2';
const PORT = 3784;

function down(myDiscriminator: number): Buffer {
  return encodeControlPacket({
    diagnostic: 0, state: 'Down', poll: false, final: false, controlPlaneIndependent: false, authenticationPresent: false, demand: false, multipoint: false,
    detectMult: 3, myDiscriminator, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 1_000_000, requiredMinEchoRxUs: 0,
  });
}

describeKernel('BFD receive-side TTL check (GTSM)', ['nft'], () => {
  const topo = new Topology('bfdttl');
  let nsA = '';
  let nsB = '';
  let m: BfdManager;
  const senders: dgram.Socket[] = [];

  async function sendFrom(address: string, to: string, ttl: number, discriminator: number): Promise<void> {
    const s = await bindUdp(address, 0, nsB);
    senders.push(s);
    s.setTTL(ttl);
    await new Promise<void>((resolve, reject) => s.send(down(discriminator), PORT, to, (err) => (err ? reject(err) : resolve())));
    await new Promise((r) => setTimeout(r, 100));
  }

  beforeAll(async () => {
    nsA = await topo.namespace('a');
    nsB = await topo.namespace('b');
    await topo.veth({ ns: nsA, dev: 'v0', addresses: [`${A4}/24`, `${A6}/64`] }, { ns: nsB, dev: 'v1', addresses: [`${B4}/24`, `${B6}/64`] });
    // Passive, so our manager never answers and each probe is judged on its own.
    m = new BfdManager({ netns: nsA });
    m.setPeers([{ peer: B4, local: A4, passive: true }, { peer: B6, local: A6, passive: true }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(m.stats().endpoints.every((e) => e.open && e.minTtlSet === true)).toBe(true);
  });

  afterAll(async () => {
    for (const s of senders) s.close();
    await m?.stop();
    topo.destroy();
  });

  it('IP_MINTTL and IPV6_MINHOPCOUNT are set but not enforced for UDP on this kernel', async () => {
    await sendFrom(B4, A4, 64, 0x64);
    await sendFrom(B6, A6, 64, 0x66);
    expect(m.stats().received).toBe(2);
    await Promise.all([waitBfdState(m, B4, 'Init', 1_000), waitBfdState(m, B6, 'Init', 1_000)]);
    console.log(`kernel ${(await topo.exec(nsA, 'uname', ['-r'])).trim()}: UDP datagrams with TTL/hop limit 64 reach a socket with IP_MINTTL/IPV6_MINHOPCOUNT 255`);
  });

  it('weft\'s nftables table enforces it: TTL 64 is dropped, 255 passes; applying twice changes nothing', async () => {
    await applyBfdGtsm({ netns: nsA });
    const once = await topo.exec(nsA, 'nft', ['list', 'table', 'inet', BFD_GTSM_TABLE]);
    await applyBfdGtsm({ netns: nsA });
    expect(await topo.exec(nsA, 'nft', ['list', 'table', 'inet', BFD_GTSM_TABLE])).toBe(once);
    const before = m.stats().received;
    await sendFrom(B4, A4, 64, 0x65);
    await sendFrom(B6, A6, 64, 0x67);
    expect(m.stats().received).toBe(before);
    await sendFrom(B4, A4, 255, 0x68);
    await sendFrom(B6, A6, 255, 0x69);
    expect(m.stats().received).toBe(before + 2);
  });
});
