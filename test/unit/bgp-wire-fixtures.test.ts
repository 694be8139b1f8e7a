// Byte fixtures of the BGP codec both ways (test/fixtures/bgp/messages.ts, commented field by
// field), and OPENs captured from real BIRD 2, FRR 8 and GoBGP 3 (test/fixtures/bgp/opens,
// made by capture-opens.sh): the fixture count is asserted so a missing capture fails.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AS_TRANS, decodeMessage, encodeMessage, INITIAL_OPTIONS, validateOpen, type Capability, type OpenMessage } from '../../src/bgp/wire/index.js';
import { FIXTURES } from '../fixtures/bgp/messages.js';

describe('byte fixtures', () => {
  for (const f of FIXTURES) {
    it(`decodes and encodes: ${f.name}`, () => {
      expect(f.bytes.readUInt16BE(16)).toBe(f.bytes.length);
      const d = decodeMessage(f.bytes, f.options);
      expect(d?.consumed).toBe(f.bytes.length);
      expect(d?.message).toEqual(f.message);
      expect(encodeMessage(f.message, f.options).toString('hex')).toBe(f.bytes.toString('hex'));
    });
  }
});

const OPENS = join(import.meta.dirname, '../fixtures/bgp/opens');

function kinds(caps: Capability[]): string[] {
  return caps.map((c) => (c.kind === 'unknown' ? `unknown:${c.code}` : c.kind === 'multiprotocol' ? `mp:${c.afi}/${c.safi}` : c.kind));
}

function open(name: string): { bytes: Buffer; m: OpenMessage } {
  const bytes = readFileSync(join(OPENS, name));
  const d = decodeMessage(bytes, INITIAL_OPTIONS);
  if (d?.message.type !== 'open') throw new Error(`${name} is not an OPEN`);
  expect(d.consumed).toBe(bytes.length);
  return { bytes, m: d.message };
}

describe('OPENs captured from real speakers', () => {
  it('has all three captures', () => {
    expect(readdirSync(OPENS).filter((f) => f.endsWith('.bin')).sort()).toEqual(['bird2.bin', 'frr8.bin', 'gobgp3.bin']);
  });

  it('BIRD 2: 4-octet AS behind AS_TRANS, IPv4+IPv6, GR, extended messages, enhanced route refresh', () => {
    const { bytes, m } = open('bird2.bin');
    expect(bytes.readUInt16BE(20)).toBe(AS_TRANS);
    expect(m).toMatchObject({ version: 4, myAs: 4200000001, holdTime: 240, bgpId: '192.0.2.2' });
    expect(kinds(m.capabilities)).toEqual(['mp:1/1', 'mp:2/1', 'routeRefresh', 'extendedMessage', 'gracefulRestart', 'fourOctetAs', 'enhancedRouteRefresh', 'unknown:71']);
    expect(m.capabilities.find((c) => c.kind === 'gracefulRestart')).toEqual({
      kind: 'gracefulRestart',
      restartFlags: 0,
      restartTime: 120,
      families: [
        { afi: 1, safi: 1, forwardingPreserved: false },
        { afi: 2, safi: 1, forwardingPreserved: false },
      ],
    });
    expect(validateOpen(m, { peerAs: 4200000001 })).toBeUndefined();
    expect(encodeMessage(m, INITIAL_OPTIONS).equals(bytes)).toBe(true);
  });

  it('FRR 8: IPv4+IPv6, old and new route refresh, ADD-PATH, hostname, GR, LLGR', () => {
    const { m } = open('frr8.bin');
    expect(m).toMatchObject({ version: 4, myAs: 4200000002, holdTime: 180, bgpId: '192.0.2.2' });
    const k = kinds(m.capabilities);
    for (const want of ['mp:1/1', 'mp:2/1', 'routeRefresh', 'enhancedRouteRefresh', 'fourOctetAs', 'addPath', 'gracefulRestart', 'unknown:128', 'unknown:73']) expect(k).toContain(want);
    const addPath = m.capabilities.find((c) => c.kind === 'addPath');
    expect(addPath?.kind === 'addPath' && addPath.families.every((f) => f.sendReceive === 1)).toBe(true);
    expect(validateOpen(m, { peerAs: 4200000002 })).toBeUndefined();
  });

  it('GoBGP 3: IPv4+IPv6, route refresh, 4-octet AS, extended next hop and FQDN kept as unknown', () => {
    const { bytes, m } = open('gobgp3.bin');
    expect(m).toMatchObject({ version: 4, myAs: 4200000003, holdTime: 90, bgpId: '192.0.2.2' });
    const k = kinds(m.capabilities);
    for (const want of ['mp:1/1', 'mp:2/1', 'routeRefresh', 'fourOctetAs', 'unknown:73', 'unknown:5']) expect(k).toContain(want);
    expect(validateOpen(m, { peerAs: 4200000003 })).toBeUndefined();
    expect(encodeMessage(m, INITIAL_OPTIONS).equals(bytes)).toBe(true);
  });
});
