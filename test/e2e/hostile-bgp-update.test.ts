// Hostile input, part 2: malformed UPDATEs from an Established external peer (the raw tool of
// raw-bgp-peer.ts) against a real `weft daemon --backend=bgp`. RFC 7606 decides what each one costs:
//  - session reset, with the RFC 4271 §6.3 NOTIFICATION (code 3, the subcode, and the offending
//    attribute as data) when the message cannot be parsed safely any further;
//  - treat-as-withdraw, when an attribute the route depends on is broken: the session stays up and
//    a route the peer had announced before is withdrawn (gone from the kernel);
//  - attribute discard, when the attribute does not matter to the route: the route is installed
//    without it, the session stays up.
// The peer's Import list admits 198.51.100.0/24 and longer, so its routes there really become kernel
// routes and a withdrawal is visible. Also: node1 never passes a hostile peer's routes on to another
// external peer (no transit). After every case: the daemons alive, the mesh sessions never
// reset, the kernel holding exactly what the case expects, and a pod-to-pod ping losing nothing.
import { beforeEach, describe, expect, it } from 'vitest';
import { ipv4PrefixText, type NotificationMessage } from '../../src/bgp/wire/index.js';
import { describeKernel } from '../helpers/env.js';
import { HOSTILE_ASN, nodeIp, peer, subnets, hostileStage } from '../helpers/hostile-bgp-lab.js';
import { metric, waitFor, weftRoutes } from '../helpers/lab-probes.js';
import { ORIGIN_IGP, announce, asPath, attr, message, nextHop, prefix, update, type RawBgpPeer } from '../helpers/raw-bgp-peer.js';

const ADDRESSES = Array.from({ length: 56 }, (_, i) => `192.0.2.${100 + i}`);
const hex = (n: NotificationMessage): { code: number; subcode: number; data: string } => ({ code: n.code, subcode: n.subcode, data: Buffer.from(n.data).toString('hex') });
const h = (bytes: number[]): string => Buffer.from(bytes).toString('hex');

/** MP_REACH_NLRI (optional, type 14) for IPv4 unicast with a 4-octet next hop. */
const mpReach = (via: number[], nlri: number[], flags = 0x80): number[] => attr(flags, 14, [0, 1, 1, 4, ...via, 0, ...nlri]);
const LOCAL_AS = 64512;

describeKernel('weft --backend=bgp against a hostile peer: malformed UPDATEs (RFC 4271 §6.3, RFC 7606)', ['etcd', 'etcdctl', 'ping'], () => {
  const s = hostileStage({ prefix: 'hu', peers: ADDRESSES.map((Address) => ({ Address, ASN: HOSTILE_ASN, Import: ['198.51.100.0/24 le 32'] })) });
  /** This case's prefix: a /30 of 198.51.100.0/24 (admitted by the peer's Import list). */
  let pfx: string;
  let caseNo = 0;

  const installed = async (p: string): Promise<boolean> => (await weftRoutes(s.lab, 1)).some((r) => r.dst === p && r.gateway === s.from);
  /** An Established session that has announced `pfx` (valid), now installed on node1. */
  const withRoute = async (): Promise<RawBgpPeer> => {
    const p = await s.established();
    p.send(announce([pfx], HOSTILE_ASN, s.from));
    await waitFor(`${pfx} installed via ${s.from}`, () => installed(pfx));
    return p;
  };

  beforeEach(() => {
    pfx = `198.51.100.${4 * caseNo++}/30`;
  });

  describe('session reset: the NOTIFICATION, the close, and the peer\'s routes gone', () => {
    type Expected = { code: number; subcode: number; data: string | ((from: string, pfx: string) => string) };
    const resets: [string, (from: string, pfx: string) => Uint8Array, Expected][] = [
      ['a Withdrawn Routes Length beyond the message → Malformed Attribute List (3/1)', () => update({ withdrawnLength: 200 }), { code: 3, subcode: 1, data: '' }],
      ['a Total Path Attribute Length beyond the message → Malformed Attribute List (3/1)', () => update({ attrs: ORIGIN_IGP, attrsLength: 300 }), { code: 3, subcode: 1, data: '' }],
      [
        'an unrecognized well-known attribute (type 240) → Unrecognized Well-known Attribute (3/2) with the attribute',
        (f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop(f), ...attr(0x40, 240, [1, 2])], nlri: prefix(p) }),
        { code: 3, subcode: 2, data: h(attr(0x40, 240, [1, 2])) },
      ],
      ['an attribute header cut off by the end of the list → Malformed Attribute List (3/1) with the remainder', (f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop(f), 0x40], nlri: prefix(p) }), { code: 3, subcode: 1, data: '40' }],
      [
        'an attribute length running past the list → Attribute Length Error (3/5) with the remainder',
        (_f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), 0x40, 3, 10, 192, 0, 2, 9], nlri: prefix(p) }),
        { code: 3, subcode: 5, data: '40030ac0000209' },
      ],
      [
        'MP_REACH_NLRI flagged well-known → Attribute Flags Error (3/4) with the attribute (RFC 7606 §7.11: NLRI not locatable)',
        (f, p) => update({ attrs: [...mpReach([192, 0, 2, Number(f.split('.')[3])], prefix(p), 0x40), ...ORIGIN_IGP, ...asPath(HOSTILE_ASN)] }),
        { code: 3, subcode: 4, data: (f, p) => h(mpReach([192, 0, 2, Number(f.split('.')[3])], prefix(p), 0x40)) },
      ],
      [
        'MP_REACH_NLRI with a /40 IPv4 prefix → Optional Attribute Error (3/9) with the attribute',
        () => update({ attrs: [...mpReach([192, 0, 2, 1], [40, 10, 0, 0, 0, 0]), ...ORIGIN_IGP, ...asPath(HOSTILE_ASN)] }),
        { code: 3, subcode: 9, data: h(mpReach([192, 0, 2, 1], [40, 10, 0, 0, 0, 0])) },
      ],
      [
        'MP_REACH_NLRI twice → Malformed Attribute List (3/1)',
        (_f, p) => update({ attrs: [...mpReach([192, 0, 2, 1], prefix(p)), ...mpReach([192, 0, 2, 1], prefix(p)), ...ORIGIN_IGP, ...asPath(HOSTILE_ASN)] }),
        { code: 3, subcode: 1, data: '' },
      ],
      ['an NLRI prefix length of 33 → Invalid Network Field (3/10)', (f) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop(f)], nlri: [33, 10, 0, 0, 0, 0] }), { code: 3, subcode: 10, data: '' }],
      ['a withdrawn prefix length of 33 → Invalid Network Field (3/10)', () => update({ withdrawn: [33, 10, 0, 0, 0, 0] }), { code: 3, subcode: 10, data: '' }],
      ['an UPDATE of 4097 octets (extended messages not negotiated) → Bad Message Length (1/2)', () => message(2, new Array<number>(4078).fill(0)), { code: 1, subcode: 2, data: '1001' }],
    ];
    for (const [name, bytes, expected] of resets) {
      it(name, async () => {
        const p = await withRoute();
        p.send(bytes(s.from, pfx));
        const n = await p.notification();
        const data = typeof expected.data === 'string' ? expected.data : expected.data(s.from, pfx);
        expect(hex(n)).toEqual({ ...expected, data });
        expect(await p.waitClosed()).toBe(true);
        p.close();
        await waitFor(`${pfx} withdrawn with the session`, async () => !(await installed(pfx)));
        // Counted for the operator: this peer, this NOTIFICATION, once.
        const sent = { peer: s.from, direction: 'sent', code: String(expected.code), subcode: String(expected.subcode) };
        expect(await waitFor('the NOTIFICATION in /metrics', () => metric(s.lab, 1, 'weft_bgp_notifications_total', sent))).toBe(1);
        await s.expectUnharmed();
      });
    }
  });

  describe('treat-as-withdraw: the session stays up, the route the peer announced before is withdrawn', () => {
    const broken: [string, (from: string, pfx: string) => Uint8Array][] = [
      ['NEXT_HOP missing (Missing Well-known Attribute)', (_f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN)], nlri: prefix(p) })],
      ['ORIGIN missing', (f, p) => update({ attrs: [...asPath(HOSTILE_ASN), ...nextHop(f)], nlri: prefix(p) })],
      ['AS_PATH missing', (f, p) => update({ attrs: [...ORIGIN_IGP, ...nextHop(f)], nlri: prefix(p) })],
      ['ORIGIN flagged optional transitive (Attribute Flags Error)', (f, p) => update({ attrs: [...attr(0xc0, 1, [0]), ...asPath(HOSTILE_ASN), ...nextHop(f)], nlri: prefix(p) })],
      ['ORIGIN of 2 octets (Attribute Length Error)', (f, p) => update({ attrs: [...attr(0x40, 1, [0, 0]), ...asPath(HOSTILE_ASN), ...nextHop(f)], nlri: prefix(p) })],
      ['ORIGIN value 3 (Invalid ORIGIN Attribute)', (f, p) => update({ attrs: [...attr(0x40, 1, [3]), ...asPath(HOSTILE_ASN), ...nextHop(f)], nlri: prefix(p) })],
      ['NEXT_HOP 127.0.0.1 (Invalid NEXT_HOP Attribute)', (_f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop('127.0.0.1')], nlri: prefix(p) })],
      ['NEXT_HOP 0.0.0.0', (_f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop('0.0.0.0')], nlri: prefix(p) })],
      ['NEXT_HOP 224.0.0.5 (multicast)', (_f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop('224.0.0.5')], nlri: prefix(p) })],
      ['NEXT_HOP of 5 octets', (_f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...attr(0x40, 3, [192, 0, 2, 1, 0])], nlri: prefix(p) })],
      ['AS_PATH with segment type 9 (Malformed AS_PATH)', (f, p) => update({ attrs: [...ORIGIN_IGP, ...attr(0x40, 2, [9, 1, 0, 0, 0xfd, 0xe9]), ...nextHop(f)], nlri: prefix(p) })],
      ['AS_PATH whose segment claims more ASNs than it holds', (f, p) => update({ attrs: [...ORIGIN_IGP, ...attr(0x40, 2, [2, 3, 0, 0, 0xfd, 0xe9]), ...nextHop(f)], nlri: prefix(p) })],
      ['COMMUNITIES of 3 octets', (f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop(f), ...attr(0xc0, 8, [0, 1, 2])], nlri: prefix(p) })],
      ['MULTI_EXIT_DISC of 3 octets', (f, p) => update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN), ...nextHop(f), ...attr(0x80, 4, [0, 0, 1])], nlri: prefix(p) })],
    ];
    for (const [name, bytes] of broken) {
      it(name, async () => {
        const p = await withRoute();
        p.send(bytes(s.from, pfx));
        await waitFor(`${pfx} withdrawn`, async () => !(await installed(pfx)));
        expect(await p.staysUp(300)).toBe(true);
        expect(await peer(s.lab, 1, s.from)).toMatchObject({ state: 'Established', prefixesAccepted: 0, updateErrors: { treatAsWithdraw: 1, attributeDiscard: 0 } });
        expect(await waitFor('the treat-as-withdraw in /metrics', () => metric(s.lab, 1, 'weft_bgp_update_errors_total', { peer: s.from, action: 'treat-as-withdraw' }))).toBe(1);
        await s.expectUnharmed();
        p.close();
      });
    }
  });

  describe('attribute discard: the route is installed (the broken attribute dropped), the session stays up', () => {
    const discarded: [string, (from: string) => number[]][] = [
      ['AGGREGATOR naming AS 0 (Optional Attribute Error, RFC 7607)', () => attr(0xc0, 7, [0, 0, 0, 0, 192, 0, 2, 1])],
      ['LOCAL_PREF from an external peer', () => attr(0x40, 5, [0, 0, 0, 200])],
      ['ATOMIC_AGGREGATE of 1 octet', () => attr(0x40, 6, [1])],
      ['MULTI_EXIT_DISC twice', () => [...attr(0x80, 4, [0, 0, 0, 1]), ...attr(0x80, 4, [0, 0, 0, 2])]],
      ['ORIGINATOR_ID and CLUSTER_LIST from an external peer', () => [...attr(0x80, 9, [192, 0, 2, 1]), ...attr(0x80, 10, [192, 0, 2, 1])]],
      ['an unknown optional transitive attribute (not an error at all: the route is used)', () => attr(0xc0, 250, [1, 2, 3])],
    ];
    for (const [name, extra] of discarded) {
      it(name, async () => {
        const p = await s.established();
        p.send(announce([pfx], HOSTILE_ASN, s.from, extra(s.from)));
        await waitFor(`${pfx} installed`, () => installed(pfx));
        expect(await p.staysUp(300)).toBe(true);
        expect(await peer(s.lab, 1, s.from)).toMatchObject({ state: 'Established', prefixesAccepted: 1 });
        await s.expectUnharmed([pfx]);
        p.close();
        await waitFor(`${pfx} gone with the session`, async () => !(await installed(pfx)));
      });
    }
  });

  describe('well-formed but unusable: the session stays up, nothing is installed', () => {
    it('ignores a route whose NEXT_HOP is node1\'s own address', async () => {
      const p = await s.established();
      p.send(announce([pfx], HOSTILE_ASN, nodeIp(s.lab, 1)));
      await waitFor('the route received', async () => (await peer(s.lab, 1, s.from))?.prefixesReceived === 1);
      expect(await p.staysUp(500)).toBe(true);
      await s.expectUnharmed();
      p.close();
    });

    it('ignores a route whose AS_PATH already holds our AS (a loop)', async () => {
      const p = await s.established();
      p.send(update({ attrs: [...ORIGIN_IGP, ...asPath(HOSTILE_ASN, LOCAL_AS), ...nextHop(s.from)], nlri: prefix(pfx) }));
      await waitFor('the route received', async () => (await peer(s.lab, 1, s.from))?.prefixesReceived === 1);
      expect(await p.staysUp(500)).toBe(true);
      expect((await peer(s.lab, 1, s.from))?.prefixesAccepted).toBe(0);
      await s.expectUnharmed();
      p.close();
    });
  });

  describe('no transit', () => {
    it('announces only node1\'s own podCIDR to another external peer, never what a hostile one gave it', async () => {
      const witness = await s.established();
      const witnessFrom = s.from;
      s.nextAddress();
      const hostile = await withRoute();
      await new Promise((r) => setTimeout(r, 500));
      const announced = witness.received.flatMap((m) => (m.type === 'update' ? m.nlri.map(ipv4PrefixText) : []));
      const [node1Subnet] = await subnets(s.lab);
      expect(announced).toEqual([node1Subnet]);
      const update1 = witness.received.find((m) => m.type === 'update' && m.nlri.length > 0);
      expect(update1?.type === 'update' && { asPath: update1.attributes.asPath, nextHop: update1.attributes.nextHop, localPref: update1.attributes.localPref }).toEqual({ asPath: [{ type: 'sequence', asns: [LOCAL_AS] }], nextHop: nodeIp(s.lab, 1), localPref: undefined });
      expect((await peer(s.lab, 1, witnessFrom))?.prefixesAdvertised).toBe(1);
      hostile.close();
      witness.close();
    });
  });

  s.lostNothing({ settled: () => waitFor('no hostile route left', async () => (await weftRoutes(s.lab, 1)).every((r) => !r.dst.startsWith('198.51.100.'))) });
});
