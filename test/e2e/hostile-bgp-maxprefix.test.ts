// Hostile input, part 5: a configured external peer with `MaxPrefixes` (net-conf.json
// Backend.Peers[].MaxPrefixes) announcing more than it may. Up to the limit its routes are used;
// one prefix more and weft resets the session with Cease / Maximum Number of Prefixes Reached
// (RFC 4486 subcode 1), whose data is AFI, SAFI and the limit (§4), and withdraws everything the
// peer gave. The limit counts what the peer sends, before policy: a peer flooding prefixes weft
// refuses anyway must not be able to grow its memory without bound. Nobody else notices.
import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { HOSTILE_ASN, peer, hostileStage } from '../helpers/hostile-bgp-lab.js';
import { waitFor, weftRoutes } from '../helpers/lab-probes.js';
import { announce } from '../helpers/raw-bgp-peer.js';

const ADDRESSES = ['192.0.2.100', '192.0.2.101', '192.0.2.102'];
const LIMIT = 5;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** RFC 4486 §4 data: AFI 1 (IPv4), SAFI 1 (unicast), the limit as 4 octets. */
const CEASE_DATA = `0001 01 ${LIMIT.toString(16).padStart(8, '0')}`.replace(/ /g, '');

describeKernel('weft --backend=bgp against a hostile peer: more prefixes than MaxPrefixes', ['etcd', 'etcdctl', 'ping'], () => {
  const s = hostileStage({ prefix: 'hm', peers: ADDRESSES.map((Address) => ({ Address, ASN: HOSTILE_ASN, MaxPrefixes: LIMIT, Import: ['198.51.100.0/24 le 32'] })) });
  const installedFrom = async (): Promise<string[]> => (await weftRoutes(s.lab, 1)).filter((r) => r.gateway === s.from).map((r) => r.dst);

  it(`uses up to ${LIMIT} prefixes, and at the ${LIMIT + 1}th resets with Cease / Maximum Number of Prefixes Reached (6/1, AFI/SAFI/limit) and withdraws them all`, async () => {
    const p = await s.established();
    const prefixes = Array.from({ length: LIMIT + 1 }, (_, i) => `198.51.100.${4 * i}/30`);
    p.send(announce(prefixes.slice(0, LIMIT), HOSTILE_ASN, s.from));
    await waitFor(`${LIMIT} routes installed`, async () => (await installedFrom()).length === LIMIT);
    expect(await p.staysUp(300)).toBe(true);
    p.send(announce(prefixes.slice(LIMIT), HOSTILE_ASN, s.from));
    const n = await p.notification();
    expect({ code: n.code, subcode: n.subcode, data: hex(n.data) }).toEqual({ code: 6, subcode: 1, data: CEASE_DATA });
    expect(await p.waitClosed()).toBe(true);
    p.close();
    await waitFor('every route of the peer withdrawn', async () => (await installedFrom()).length === 0);
    expect((await peer(s.lab, 1, s.from))?.state).not.toBe('Established');
    await s.expectUnharmed();
  });

  it(`counts prefixes weft refuses anyway (unregistered cluster /32s): ${LIMIT + 1} of them reset the session too`, async () => {
    const p = await s.established();
    const refused = Array.from({ length: LIMIT + 1 }, (_, i) => `10.244.250.${i}/32`);
    p.send(announce(refused, HOSTILE_ASN, s.from));
    const n = await p.notification();
    expect({ code: n.code, subcode: n.subcode, data: hex(n.data) }).toEqual({ code: 6, subcode: 1, data: CEASE_DATA });
    expect(await p.waitClosed()).toBe(true);
    p.close();
    await s.expectUnharmed();
  });

  s.lostNothing({ minSent: 10 });
});
