// Adj-RIB-Out diffing: add, change, remove → the exact UPDATEs; packing of prefixes that share
// attributes; message size limits (4096, 65535 with extended messages) for IPv4 and IPv6; state
// across a session reset and a route refresh.
import { describe, expect, it } from 'vitest';
import { AdjRibOut, estimateAttributesSize, nlriSize, type OutboundUpdate } from '../../src/bgp/rib/adj-rib-out.js';
import { AttributeTable } from '../../src/bgp/rib/attributes.js';
import { formatPrefix, ipv4Key, prefixKey } from '../../src/bgp/rib/prefix.js';
import { attrs, seq } from '../helpers/bgp-rib-fixtures.js';

const k = prefixKey;
const show = (updates: OutboundUpdate[]): unknown[] =>
  updates.map((u) => ({ withdraw: u.withdraw.map(formatPrefix), announce: u.announce.map(formatPrefix), nextHop: u.attrs?.nextHop }));

const a1 = attrs({ nextHop: '192.0.2.1', asPath: seq(65000) });
const a2 = attrs({ nextHop: '192.0.2.2', asPath: seq(65000) });

describe('AdjRibOut diffing', () => {
  it('announces new prefixes packed by attribute set', () => {
    const out = new AdjRibOut('ipv4');
    out.set(new Map([[k('10.0.0.0/24'), a1], [k('10.0.1.0/24'), a1], [k('10.0.2.0/24'), a2]]));
    expect(show(out.drain())).toEqual([
      { withdraw: [], announce: ['10.0.0.0/24', '10.0.1.0/24'], nextHop: '192.0.2.1' },
      { withdraw: [], announce: ['10.0.2.0/24'], nextHop: '192.0.2.2' },
    ]);
    expect(out.advertised).toBe(3);
    expect(out.drain()).toEqual([]);
  });

  it('sends only the difference: changed attributes re-announced, removed withdrawn, unchanged silent', () => {
    const out = new AdjRibOut('ipv4');
    out.set(new Map([[k('10.0.0.0/24'), a1], [k('10.0.1.0/24'), a1], [k('10.0.2.0/24'), a1]]));
    out.drain();
    out.set(new Map([[k('10.0.0.0/24'), a1], [k('10.0.1.0/24'), a2], [k('10.0.3.0/24'), a1]]));
    expect(show(out.drain())).toEqual([
      { withdraw: ['10.0.2.0/24'], announce: [], nextHop: undefined },
      { withdraw: [], announce: ['10.0.1.0/24'], nextHop: '192.0.2.2' },
      { withdraw: [], announce: ['10.0.3.0/24'], nextHop: '192.0.2.1' },
    ]);
    out.set(new Map());
    expect(show(out.drain())).toEqual([{ withdraw: ['10.0.0.0/24', '10.0.1.0/24', '10.0.3.0/24'], announce: [], nextHop: undefined }]);
    expect(out.advertised).toBe(0);
  });

  it('cancels a change that is undone before it is sent', () => {
    const out = new AdjRibOut('ipv4');
    out.setRoute(k('10.0.0.0/24'), a1);
    out.drain();
    out.setRoute(k('10.0.0.0/24'), a2);
    out.setRoute(k('10.0.0.0/24'), a1);
    out.setRoute(k('10.9.0.0/24'), a1);
    out.setRoute(k('10.9.0.0/24'), undefined);
    expect(out.pending).toBe(false);
    expect(out.drain()).toEqual([]);
  });

  it('after a session reset re-announces the whole desired table and withdraws nothing', () => {
    const out = new AdjRibOut('ipv4');
    out.set(new Map([[k('10.0.0.0/24'), a1], [k('10.0.1.0/24'), a1]]));
    out.drain();
    out.setRoute(k('10.0.1.0/24'), undefined); // pending withdrawal when the session drops
    out.reset();
    expect(out.advertised).toBe(0);
    expect(show(out.drain())).toEqual([{ withdraw: [], announce: ['10.0.0.0/24'], nextHop: '192.0.2.1' }]);
  });

  it('re-sends everything on route refresh', () => {
    const out = new AdjRibOut('ipv4');
    out.set(new Map([[k('10.0.0.0/24'), a1]]));
    out.drain();
    out.refresh();
    expect(show(out.drain())).toEqual([{ withdraw: [], announce: ['10.0.0.0/24'], nextHop: '192.0.2.1' }]);
  });

  it('retains the sets it holds in the interning table and releases them when done', () => {
    const table = new AttributeTable();
    const a = table.intern({ origin: 0, asPath: [], nextHop: '192.0.2.77' });
    const out = new AdjRibOut('ipv4', { table });
    out.setRoute(k('10.0.0.0/24'), a);
    out.drain();
    out.reset();
    table.sweep();
    expect(table.intern({ origin: 0, asPath: [], nextHop: '192.0.2.77' })).toBe(a);
    out.clear();
    table.sweep();
    expect(table.size).toBe(0);
  });
});

describe('AdjRibOut message size limits', () => {
  const many = (n: number, len = 24): Map<number, typeof a1> => new Map(Array.from({ length: n }, (_, i) => [ipv4Key(0x0a000000 + i * 256, len), a1] as [number, typeof a1]));
  const size = (u: OutboundUpdate, afi: 'ipv4' | 'ipv6'): number => {
    const nlri = [...u.withdraw, ...u.announce].reduce<number>((s, key) => s + nlriSize(key), 0);
    const attrBytes = u.attrs ? estimateAttributesSize(u.attrs, afi) + (afi === 'ipv6' ? 4 + 4 + 16 + 1 : 0) : afi === 'ipv6' ? 7 : 0;
    return 23 + attrBytes + nlri;
  };

  it('splits 2000 IPv4 /24s into messages of at most 4096 bytes, filled as far as they go', () => {
    const out = new AdjRibOut('ipv4');
    out.set(many(2000));
    const updates = out.drain();
    expect(updates.reduce((n, u) => n + u.announce.length, 0)).toBe(2000);
    for (const u of updates) expect(size(u, 'ipv4')).toBeLessThanOrEqual(4096);
    const room = 4096 - 23 - estimateAttributesSize(a1, 'ipv4');
    expect(updates[0]!.announce).toHaveLength(Math.floor(room / 4));
    expect(updates).toHaveLength(Math.ceil(2000 / Math.floor(room / 4)));
  });

  it('uses 65535-byte messages with extended messages', () => {
    const out = new AdjRibOut('ipv4', { maxMessageSize: 65535 });
    out.set(many(20000));
    const updates = out.drain();
    expect(updates).toHaveLength(2);
    for (const u of updates) expect(size(u, 'ipv4')).toBeLessThanOrEqual(65535);
  });

  it('packs withdrawals to the limit too', () => {
    const out = new AdjRibOut('ipv4');
    out.set(many(3000));
    out.drain();
    out.set(new Map());
    const updates = out.drain();
    expect(updates.every((u) => u.announce.length === 0)).toBe(true);
    expect(updates[0]!.withdraw).toHaveLength(Math.floor((4096 - 23) / 4));
    expect(updates.reduce((n, u) => n + u.withdraw.length, 0)).toBe(3000);
  });

  it('accounts for MP_REACH/MP_UNREACH with IPv6', () => {
    const v6 = attrs({ nextHop: '2001:db8::1', asPath: seq(65000) });
    const out = new AdjRibOut('ipv6');
    const desired = new Map(Array.from({ length: 1000 }, (_, i) => [`2001:db8:${i.toString(16)}::/48`, v6] as [string, typeof v6]));
    out.set(desired);
    const updates = out.drain();
    for (const u of updates) expect(size(u, 'ipv6')).toBeLessThanOrEqual(4096);
    expect(updates.reduce((n, u) => n + u.announce.length, 0)).toBe(1000);
    expect(updates[0]!.announce).toHaveLength(Math.floor((4096 - 23 - estimateAttributesSize(v6, 'ipv6') - 29) / 7));
    out.set(new Map());
    const withdrawals = out.drain();
    for (const u of withdrawals) expect(size(u, 'ipv6')).toBeLessThanOrEqual(4096);
  });

  it('refuses attributes that cannot fit a message', () => {
    const huge = attrs({ communities: Array.from({ length: 1100 }, (_, i) => i) });
    const out = new AdjRibOut('ipv4');
    out.setRoute(k('10.0.0.0/24'), huge);
    expect(() => out.drain()).toThrow(/too large/);
  });
});
