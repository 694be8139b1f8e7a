// Hostile input, part 1: a real `weft daemon --backend=bgp` against an unconfigured tool acting as
// its external peer (raw-bgp-peer.ts), breaking the message header (RFC 4271 §6.1), the OPEN
// (§6.2) and its capabilities, the FSM's order of messages (§6.6 with RFC 6608 subcodes), the
// hold timer (§6.5, also against a peer dribbling octets), a second connection from an
// Established peer (§6.8), ROUTE-REFRESH (RFC 7313), and floods of valid messages.
// Each case pins the exact NOTIFICATION weft answers with (code, subcode, and data where the RFC
// defines it), that weft then closes the connection, and that nobody else noticed: the daemons are
// alive and answer /status, the node mesh sessions were never reset, no weft route appeared, and a
// 10 ms ping between pods on the two nodes, running through the whole file, loses nothing.
import { describe, expect, it } from 'vitest';
import type { NotificationMessage } from '../../src/bgp/wire/index.js';
import { describeKernel } from '../helpers/env.js';
import { HOSTILE_ASN, nodeIp, peer, hostileStage } from '../helpers/hostile-bgp-lab.js';
import { KEEPALIVE, announce, encode, message, openMessage, update, RawBgpPeer } from '../helpers/raw-bgp-peer.js';
import { waitFor } from '../helpers/lab-probes.js';

/** One configured peer address per case (see hostile-bgp-lab.ts on damping). */
const ADDRESSES = Array.from({ length: 32 }, (_, i) => `192.0.2.${100 + i}`);
const hex = (n: NotificationMessage): { code: number; subcode: number; data: string } => ({ code: n.code, subcode: n.subcode, data: Buffer.from(n.data).toString('hex') });

describeKernel('weft --backend=bgp against a hostile peer: header, OPEN, FSM and hold-timer errors', ['etcd', 'etcdctl', 'ping'], () => {
  const s = hostileStage({ prefix: 'ho', peers: ADDRESSES.map((Address) => ({ Address, ASN: HOSTILE_ASN })) });

  /** A connection from this case's address to node1; weft has already sent its OPEN on it. */
  const connect = async (): Promise<RawBgpPeer> => {
    const p = await RawBgpPeer.connect({ netns: s.lab.layout.underlayNetns, local: s.from, remote: nodeIp(s.lab, 1) });
    await p.waitFor((m) => m.type === 'open', 5000, 'weft\'s OPEN');
    return p;
  };
  const open = (o: Partial<{ asn: number; bgpId: string; holdTime: number; version: number }> = {}): Uint8Array => encode(openMessage({ asn: HOSTILE_ASN, bgpId: s.from, ...o }));

  /** Sends `bytes`, expects exactly this NOTIFICATION and the connection closed, then the witnesses. */
  const expectAnswer = async (p: RawBgpPeer, bytes: Uint8Array, expected: { code: number; subcode: number; data: string }): Promise<void> => {
    p.send(bytes);
    expect(hex(await p.notification())).toEqual(expected);
    expect(await p.waitClosed()).toBe(true);
    p.close();
    expect((await peer(s.lab, 1, s.from))?.state).not.toBe('Established');
    await s.expectUnharmed();
  };

  describe('message header (RFC 4271 §6.1)', () => {
    it('answers a marker that is not all ones with Connection Not Synchronized (1/1)', async () => {
      await expectAnswer(await connect(), message(4, [], { marker: 0xfe }), { code: 1, subcode: 1, data: '' });
    });

    it('answers a length below 19 with Bad Message Length (1/2) carrying the length field', async () => {
      await expectAnswer(await connect(), message(4, [], { length: 18 }), { code: 1, subcode: 2, data: '0012' });
    });

    it('answers a length above 4096 (no extended messages before the OPENs) at the header, without waiting for the body', async () => {
      await expectAnswer(await connect(), message(2, [0, 0, 0, 0], { length: 4097 }), { code: 1, subcode: 2, data: '1001' });
    });

    it('answers a 20-octet KEEPALIVE with Bad Message Length (1/2)', async () => {
      await expectAnswer(await connect(), message(4, [0]), { code: 1, subcode: 2, data: '0014' });
    });

    it('answers an OPEN shorter than 29 octets with Bad Message Length (1/2)', async () => {
      await expectAnswer(await connect(), message(1, [4, 0xfd, 0xe9, 0, 90]), { code: 1, subcode: 2, data: '0018' });
    });

    it('answers message type 9 with Bad Message Type (1/3) carrying the type', async () => {
      await expectAnswer(await connect(), message(9, []), { code: 1, subcode: 3, data: '09' });
    });
  });

  describe('OPEN (RFC 4271 §6.2)', () => {
    it('answers version 3 with Unsupported Version Number (2/1) carrying the version we support, 4', async () => {
      await expectAnswer(await connect(), open({ version: 3 }), { code: 2, subcode: 1, data: '0004' });
    });

    it('answers an AS other than the configured one with Bad Peer AS (2/2)', async () => {
      await expectAnswer(await connect(), open({ asn: 65002 }), { code: 2, subcode: 2, data: '' });
    });

    it('answers BGP identifier 0.0.0.0 with Bad BGP Identifier (2/3)', async () => {
      await expectAnswer(await connect(), open({ bgpId: '0.0.0.0' }), { code: 2, subcode: 3, data: '' });
    });

    it('answers an optional parameter other than capabilities (type 1, authentication) with Unsupported Optional Parameter (2/4)', async () => {
      // version 4, My AS 65001, hold 90, identifier, one parameter: type 1, length 2, two octets.
      const body = [4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 200, 4, 1, 2, 0, 0];
      await expectAnswer(await connect(), message(1, body), { code: 2, subcode: 4, data: '' });
    });

    it('answers hold times 1 and 2 with Unacceptable Hold Time (2/6)', async () => {
      await expectAnswer(await connect(), open({ holdTime: 2 }), { code: 2, subcode: 6, data: '' });
      s.nextAddress();
      await expectAnswer(await connect(), open({ holdTime: 1 }), { code: 2, subcode: 6, data: '' });
    });

    it('answers optional parameters whose length disagrees with the message with an OPEN Message Error (2/0)', async () => {
      const body = [4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 200, 9, 2, 2, 2, 0];
      await expectAnswer(await connect(), message(1, body), { code: 2, subcode: 0, data: '' });
    });
  });

  describe('capabilities (RFC 5492)', () => {
    it('answers a 4-octet AS capability of 3 octets with an OPEN Message Error (2/0)', async () => {
      // One parameter (type 2, length 5) holding capability 65 with length 3.
      const body = [4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 200, 7, 2, 5, 65, 3, 0, 0xfd, 0xe9];
      await expectAnswer(await connect(), message(1, body), { code: 2, subcode: 0, data: '' });
    });
  });

  describe('finite state machine (RFC 4271 §6.6, RFC 6608 subcodes)', () => {
    it('answers an UPDATE before any OPEN (OpenSent) with 5/1 and installs nothing', async () => {
      await expectAnswer(await connect(), announce(['198.51.100.0/24'], HOSTILE_ASN, s.from), { code: 5, subcode: 1, data: '' });
    });

    it('answers a KEEPALIVE before any OPEN with 5/1', async () => {
      await expectAnswer(await connect(), KEEPALIVE, { code: 5, subcode: 1, data: '' });
    });

    it('answers an UPDATE after the OPENs but before our KEEPALIVE (OpenConfirm) with 5/2', async () => {
      const p = await connect();
      p.send(open());
      await p.waitFor((m) => m.type === 'keepalive', 5000, 'weft\'s KEEPALIVE');
      await expectAnswer(p, announce(['198.51.100.0/24'], HOSTILE_ASN, s.from), { code: 5, subcode: 2, data: '' });
    });

    it('answers a second OPEN in Established with 5/3', async () => {
      const p = await connect();
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from }));
      await expectAnswer(p, open(), { code: 5, subcode: 3, data: '' });
    });
  });

  describe('a second connection from an Established peer (RFC 4271 §6.8)', () => {
    const second = async (): Promise<{ first: RawBgpPeer; next: RawBgpPeer }> => {
      const first = await connect();
      await first.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from }));
      first.keepAlive();
      await waitFor('Established', async () => (await peer(s.lab, 1, s.from))?.state === 'Established');
      return { first, next: await connect() };
    };

    it('gets its own NOTIFICATION for garbage (1/1) while the Established session stays up', async () => {
      const { first, next } = await second();
      next.send(message(4, [], { marker: 0 }));
      expect(hex(await next.notification())).toEqual({ code: 1, subcode: 1, data: '' });
      expect(await next.waitClosed()).toBe(true);
      expect(await first.staysUp(300)).toBe(true);
      expect((await peer(s.lab, 1, s.from))?.state).toBe('Established');
      await s.expectUnharmed();
      next.close();
      first.close();
    });

    it('is refused with Cease / Connection Collision Resolution (6/7) for a new OPEN without graceful restart, the old session kept', async () => {
      const { first, next } = await second();
      next.send(open());
      expect(hex(await next.notification())).toEqual({ code: 6, subcode: 7, data: '' });
      expect(await first.staysUp(300)).toBe(true);
      expect((await peer(s.lab, 1, s.from))?.state).toBe('Established');
      await s.expectUnharmed();
      next.close();
      first.close();
    });
  });

  describe('ROUTE-REFRESH (RFC 2918, RFC 7313) and message floods in Established', () => {
    it('answers a Beginning-of-RIB-Refresh of 22 octets with ROUTE-REFRESH Message Error (7/1) carrying the message', async () => {
      const p = await connect();
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from }));
      const bad = message(5, [0, 1, 1, 1, 0, 0, 0]);
      await expectAnswer(p, bad, { code: 7, subcode: 1, data: Buffer.from(bad).toString('hex') });
    });

    it('stays up through 100 000 KEEPALIVEs and 20 000 End-of-RIB markers (empty UPDATEs) sent at once, /status answering', async () => {
      const p = await connect();
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from }));
      const burst = Buffer.concat([...Array.from({ length: 100_000 }, () => KEEPALIVE), ...Array.from({ length: 20_000 }, () => update({}))]);
      const t0 = Date.now();
      p.send(burst);
      await s.lab.daemonStatus(1);
      console.log(`flood of ${burst.length} octets in Established: /status answered after ${Date.now() - t0} ms`);
      expect(await p.staysUp(1000)).toBe(true);
      expect((await peer(s.lab, 1, s.from))?.state).toBe('Established');
      await s.expectUnharmed();
      p.close();
    });
  });

  describe('hold timer (RFC 4271 §6.5)', () => {
    it('sends Hold Timer Expired (4/0) when an Established peer with hold time 3 goes silent, after 3 s', async () => {
      const p = await connect();
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from, holdTime: 3 }));
      const silentSince = Date.now();
      expect((await peer(s.lab, 1, s.from))?.state).toBe('Established');
      expect(hex(await p.notification(8000))).toEqual({ code: 4, subcode: 0, data: '' });
      const after = Date.now() - silentSince;
      expect(after).toBeGreaterThan(2500);
      expect(after).toBeLessThan(6000);
      expect(await p.waitClosed()).toBe(true);
      await s.expectUnharmed();
    });
  });

  describe('a peer that is slow or rude on purpose', () => {
    it('gets Hold Timer Expired (4/0) while dribbling one octet of a message every 500 ms: a partial message is not a sign of life', async () => {
      const p = await connect();
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from, holdTime: 3 }));
      const dribble = announce(['198.51.100.0/24'], HOSTILE_ASN, s.from);
      let i = 0;
      const t = setInterval(() => p.send(dribble.subarray(i, ++i)), 500);
      try {
        expect(hex(await p.notification(8000))).toEqual({ code: 4, subcode: 0, data: '' });
      } finally {
        clearInterval(t);
      }
      expect(i).toBeLessThan(dribble.length);
      expect(await p.waitClosed()).toBe(true);
      await s.expectUnharmed();
    });

    it('gets nothing back for a NOTIFICATION with a malformed shutdown communication; weft just closes and waits for the next attempt', async () => {
      const p = await connect();
      await p.handshake(openMessage({ asn: HOSTILE_ASN, bgpId: s.from }));
      // Cease / Administrative Shutdown whose length octet (200) promises more than follows, not UTF-8.
      p.send(message(3, [6, 2, 200, 0xff, 0xfe, 0xfd]));
      expect(await p.waitClosed()).toBe(true);
      expect(p.received.filter((m) => m.type === 'notification')).toEqual([]);
      await waitFor('the peer down', async () => (await peer(s.lab, 1, s.from))?.state !== 'Established');
      await s.expectUnharmed();
    });
  });

  s.lostNothing();
});
