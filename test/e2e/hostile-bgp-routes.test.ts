// Hostile input, part 3: well-formed announcements a configured external peer must not get into
// the kernel (issue 8's import policy, from a raw tool instead of a cooperative BIRD): this node's
// own podCIDR, an unregistered prefix inside the cluster network, a sub-prefix and a super-prefix
// of real podCIDRs, the default route, another node's exact podCIDR, and a thousand cluster /32s at
// once. Each time the session stays up (nothing here is a protocol error), the daemon installs none
// of it on any node, and nobody else notices: same witnesses as the other hostile-bgp files.
import { beforeAll, describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { HOSTILE_ASN, daemonPid, nodeIp, peer, processFootprint, subnets, hostileStage } from '../helpers/hostile-bgp-lab.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';
import { ORIGIN_IGP, announce, attr, nextHop, prefix, update, type RawBgpPeer } from '../helpers/raw-bgp-peer.js';

const ADDRESSES = Array.from({ length: 16 }, (_, i) => `192.0.2.${100 + i}`);

describeKernel('weft --backend=bgp against a hostile peer: announcements it must not install', ['etcd', 'etcdctl', 'ping'], () => {
  const s = hostileStage({ prefix: 'hr', peers: ADDRESSES.map((Address) => ({ Address, ASN: HOSTILE_ASN })) });
  let node1Subnet: string;
  let node2Subnet: string;

  /** Announces `prefixes`, waits until node1 has received them all, and checks the session holds. */
  const offer = async (prefixes: string[]): Promise<RawBgpPeer> => {
    const p = await s.established();
    for (let i = 0; i < prefixes.length; i += 500) p.send(announce(prefixes.slice(i, i + 500), HOSTILE_ASN, s.from));
    // While a big batch is parsed /status may answer late: a timed-out probe just means "not yet".
    await waitFor(`${prefixes.length} prefixes received`, async () => (await peer(s.lab, 1, s.from).catch(() => undefined))?.prefixesReceived === prefixes.length, 30_000);
    // A resync (1 s) and a route sync have run since: anything that would be installed is by now.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await p.staysUp(0)).toBe(true);
    expect((await peer(s.lab, 1, s.from))?.state).toBe('Established');
    return p;
  };

  beforeAll(async () => {
    [node1Subnet, node2Subnet] = (await subnets(s.lab)) as [string, string];
  });

  describe('the session stays up and no node installs', () => {
    it('this node\'s own podCIDR', async () => {
      const p = await offer([node1Subnet]);
      await s.expectUnharmed();
      p.close();
    });

    it('an unregistered prefix inside the cluster network (10.244.0.0/16)', async () => {
      const taken = await subnets(s.lab);
      const unregistered = [250, 251, 252].map((i) => `10.244.${i}.0/24`).find((s) => !taken.includes(s))!;
      const p = await offer([unregistered]);
      await s.expectUnharmed();
      p.close();
    });

    it('sub-prefixes of node2\'s and of node1\'s podCIDRs (more specific: would win over the real route)', async () => {
      const p = await offer([node2Subnet.replace('.0/24', '.128/25'), node2Subnet.replace('.0/24', '.7/32'), node1Subnet.replace('.0/24', '.0/25')]);
      await s.expectUnharmed();
      p.close();
    });

    it('the cluster network itself and the default route (super-prefixes)', async () => {
      const p = await offer(['10.244.0.0/16', '10.0.0.0/8', '0.0.0.0/0']);
      await s.expectUnharmed();
      p.close();
    });

    it('a thousand /32s inside the cluster network in two UPDATEs, without a memory jump', async () => {
      const pid = daemonPid(s.lab, 1);
      const rssBefore = processFootprint(pid).rssKiB;
      const many = Array.from({ length: 1000 }, (_, i) => `10.244.${240 + (i >> 8)}.${i & 255}/32`);
      const p = await offer(many);
      const rssAfter = processFootprint(pid).rssKiB;
      console.log(`1000 hostile /32s: node1 RSS ${rssBefore} → ${rssAfter} KiB`);
      expect(rssAfter - rssBefore).toBeLessThan(32 * 1024);
      await s.expectUnharmed();
      p.close();
      await waitFor('the session gone', async () => (await peer(s.lab, 1, s.from))?.state !== 'Established');
    });
  });

  describe('a flood of refused prefixes', () => {
    it('50 000 /32s inside the cluster network: the daemon stays up and answers /status, the mesh never notices', async () => {
      const pid = daemonPid(s.lab, 1);
      const rssBefore = processFootprint(pid).rssKiB;
      const started = Date.now();
      const many = Array.from({ length: 50_000 }, (_, i) => `10.244.${i >> 8}.${i & 255}/32`);
      const p = await offer(many);
      const took = Date.now() - started - 1500;
      const t0 = Date.now();
      await s.lab.daemonStatus(1);
      const rssAfter = processFootprint(pid).rssKiB;
      console.log(`50 000 hostile /32s: received and refused in ${took} ms; node1 RSS ${rssBefore} → ${rssAfter} KiB; /status afterwards ${Date.now() - t0} ms`);
      expect(rssAfter - rssBefore).toBeLessThan(96 * 1024);
      await s.expectUnharmed();
      p.close();
      await waitFor('the session gone', async () => (await peer(s.lab, 1, s.from))?.state !== 'Established');
    });
  });

  describe('another node\'s exact podCIDR', () => {
    it('does not take node2\'s traffic away from node2: node1 keeps routing node2\'s podCIDR via 192.0.2.12', async () => {
      const p = await offer([node2Subnet]);
      const route = (await weftRoutes(s.lab, 1)).find((r) => r.dst === node2Subnet);
      expect(route?.gateway).toBe(nodeIp(s.lab, 2));
      await s.expectUnharmed();
      p.close();
    });

    it('nor with an empty AS_PATH, which ties with node2\'s own iBGP path up to "eBGP over iBGP"', async () => {
      const p = await s.established();
      p.send(update({ attrs: [...ORIGIN_IGP, ...attr(0x40, 2, []), ...nextHop(s.from)], nlri: prefix(node2Subnet) }));
      await waitFor('the route received', async () => (await peer(s.lab, 1, s.from))?.prefixesReceived === 1);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await p.staysUp(0)).toBe(true);
      const route = (await weftRoutes(s.lab, 1)).find((r) => r.dst === node2Subnet);
      expect(route?.gateway).toBe(nodeIp(s.lab, 2));
      await s.expectUnharmed();
      p.close();
    });
  });

  s.lostNothing();
});
