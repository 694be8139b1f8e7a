// Adj-RIB-In and Loc-RIB: path sharing, batched best-path events, source removal, graceful-restart
// stale handling at the table level, and the interning table's reference counts.
import { describe, expect, it } from 'vitest';
import { AdjRibIn } from '../../src/bgp/rib/adj-rib-in.js';
import { AttributeTable } from '../../src/bgp/rib/attributes.js';
import { LocRib, type BestPathChange } from '../../src/bgp/rib/loc-rib.js';
import { formatPrefix, ipv4Key, parsePrefix, prefixKey } from '../../src/bgp/rib/prefix.js';
import { TimeSlice } from '../../src/util/time-slice.js';
import { attrs, seq, source } from '../helpers/bgp-rib-fixtures.js';

const A = source('198.51.100.1', { asn: 65001 });
const B = source('198.51.100.2', { asn: 65002 });
const k = prefixKey;

function setup(): { table: AttributeTable; a: AdjRibIn; b: AdjRibIn; loc: LocRib; events: BestPathChange[][] } {
  const table = new AttributeTable();
  const a = new AdjRibIn(A, 'ipv4', table);
  const b = new AdjRibIn(B, 'ipv4', table);
  const loc = new LocRib('ipv4');
  loc.addSource(a);
  loc.addSource(b);
  const events: BestPathChange[][] = [];
  loc.on('changes', (c) => events.push(c));
  return { table, a, b, loc, events };
}

describe('prefix keys', () => {
  it('round-trips IPv4 and canonicalises IPv6', () => {
    expect(formatPrefix(k('192.0.2.0/24'))).toBe('192.0.2.0/24');
    expect(formatPrefix(k('255.255.255.255/32'))).toBe('255.255.255.255/32');
    expect(formatPrefix(k('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(k('2001:DB8:0:0::/64')).toBe('2001:db8::/64');
    expect(k('::/0')).toBe('::/0');
    expect(k('2001:db8:0:0:1:0:0:0/128')).toBe('2001:db8:0:0:1::/128');
    expect(parsePrefix('10.1.2.3/8', true).key).toBe(ipv4Key(0x0a000000, 8));
    expect(typeof k('10.0.0.0/8')).toBe('number');
  });
});

describe('Adj-RIB-In', () => {
  it('shares one Path among prefixes with the same attributes and releases it with the last', () => {
    const table = new AttributeTable();
    const rib = new AdjRibIn(A, 'ipv4', table);
    const x = table.intern({ origin: 0, asPath: seq(65001), nextHop: '192.0.2.1' });
    for (let i = 0; i < 100; i++) rib.set(ipv4Key(0x0a000000 + i * 256, 24), x);
    expect(rib.get(k('10.0.0.0/24'))).toBe(rib.get(k('10.0.99.0/24')));
    expect(rib.size).toBe(100);
    expect(rib.set(k('10.0.0.0/24'), x)).toBe(false); // same route again: no change
    for (let i = 0; i < 100; i++) rib.delete(ipv4Key(0x0a000000 + i * 256, 24));
    expect(table.size).toBe(0);
  });
});

describe('Loc-RIB', () => {
  it('a flush with a used-up time slice decides a chunk and leaves the rest pending; the next flush goes on where it stopped', () => {
    const { a, loc, events } = setup();
    const fromA = attrs({ asPath: seq(65001), nextHop: '192.0.2.1' });
    const keys = Array.from({ length: 5000 }, (_, i) => ipv4Key(0x0a000000 + i * 256, 24));
    for (const key of keys) {
      a.set(key, fromA);
      loc.touch(key);
    }
    const spent = new TimeSlice(0); // always due: stops at the first chance
    const first = loc.flush(spent);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(keys.length);
    expect(loc.pending).toBe(true);
    loc.touch(keys[0]!); // touched again meanwhile: decided again, unchanged, no second event entry
    const rest = loc.flush();
    expect(loc.pending).toBe(false);
    expect([...first, ...rest].map((c) => c.key)).toEqual(keys);
    expect(events.flat()).toHaveLength(keys.length);
    expect(loc.flush()).toEqual([]);
  });

  it('emits one batched event per flush, with best, multipath and previous', () => {
    const { a, b, loc, events } = setup();
    const fromA = attrs({ asPath: seq(65001, 9), nextHop: '192.0.2.1' });
    const fromB = attrs({ asPath: seq(65002), nextHop: '192.0.2.2' });
    for (const p of ['10.0.0.0/24', '10.0.1.0/24']) {
      a.set(k(p), fromA);
      loc.touch(k(p));
    }
    loc.flush();
    expect(events).toHaveLength(1);
    expect(events[0]!.map((c) => [c.prefix, c.best?.source.id, c.previous])).toEqual([
      ['10.0.0.0/24', A.id, undefined],
      ['10.0.1.0/24', A.id, undefined],
    ]);
    b.set(k('10.0.0.0/24'), fromB);
    loc.touch(k('10.0.0.0/24'));
    loc.touch(k('10.0.1.0/24')); // touched but unchanged: no event entry
    loc.flush();
    expect(events).toHaveLength(2);
    expect(events[1]).toHaveLength(1);
    expect(events[1]![0]!.best?.source).toBe(B);
    expect(events[1]![0]!.previous?.source).toBe(A);
    expect(loc.flush()).toEqual([]);
    expect(events).toHaveLength(2);
  });

  it('reports the ECMP set and its changes', () => {
    const { a, b, loc } = setup();
    const B65001 = source('198.51.100.2', { asn: 65001 });
    const b2 = new AdjRibIn(B65001, 'ipv4', new AttributeTable());
    loc.removeSource(b);
    loc.addSource(b2);
    a.set(k('10.0.0.0/24'), attrs({ asPath: seq(65001, 7), nextHop: '192.0.2.1' }));
    loc.touch(k('10.0.0.0/24'));
    loc.flush();
    b2.set(k('10.0.0.0/24'), attrs({ asPath: seq(65001, 7), nextHop: '192.0.2.2' }));
    loc.touch(k('10.0.0.0/24'));
    const [change] = loc.flush();
    expect(change?.multipath.map((p) => p.attrs.nextHop)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(change?.best).toBe(change?.previous); // best unchanged, the ECMP set grew
  });

  it('withdraws every prefix of a removed source in one batch', () => {
    const { a, b, loc, events } = setup();
    const x = attrs({ asPath: seq(65001) });
    for (let i = 0; i < 1000; i++) {
      a.set(ipv4Key(0x0a000000 + i * 256, 24), x);
      loc.touch(ipv4Key(0x0a000000 + i * 256, 24));
    }
    b.set(k('10.0.0.0/24'), attrs({ asPath: seq(65002, 1) }));
    loc.touch(k('10.0.0.0/24'));
    loc.flush();
    loc.removeSource(a);
    a.clear();
    const changes = loc.flush();
    expect(events).toHaveLength(2);
    expect(changes).toHaveLength(1000);
    expect(changes.filter((c) => c.best === undefined)).toHaveLength(999);
    expect(loc.best(k('10.0.0.0/24'))?.source).toBe(B);
    expect(loc.size).toBe(1);
  });

  it('keeps stale routes usable until swept, and refreshed ones past the sweep', () => {
    const { a, loc } = setup();
    const x = attrs({ asPath: seq(65001) });
    const y = attrs({ asPath: seq(65001, 5) });
    for (const p of ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']) {
      a.set(k(p), x);
      loc.touch(k(p));
    }
    loc.flush();
    a.markStale();
    expect(a.staleCount).toBe(3);
    expect(a.get(k('10.0.0.0/24'))?.attrs).toBe(x);
    expect(a.isStale(k('10.0.0.0/24'))).toBe(true);
    expect(a.set(k('10.0.0.0/24'), x)).toBe(false); // refreshed unchanged: no Loc-RIB change
    expect(a.set(k('10.0.1.0/24'), y)).toBe(true);
    expect(a.isStale(k('10.0.0.0/24'))).toBe(false);
    const swept = a.sweepStale();
    expect(swept.map(formatPrefix)).toEqual(['10.0.2.0/24']);
    loc.touchAll(swept);
    loc.touch(k('10.0.1.0/24'));
    const changes = loc.flush();
    expect(changes.map((c) => [c.prefix, c.best?.attrs.asPathLength])).toEqual([
      ['10.0.2.0/24', undefined],
      ['10.0.1.0/24', 2],
    ]);
  });

  it('a second drop before End-of-RIB keeps everything stale', () => {
    const { a } = setup();
    const x = attrs({ asPath: seq(65001) });
    a.set(k('10.0.0.0/24'), x);
    a.markStale();
    a.set(k('10.0.1.0/24'), x);
    a.markStale();
    expect(a.staleCount).toBe(2);
    expect(a.sweepStale()).toHaveLength(2);
    expect(a.size).toBe(0);
  });

  it('drops paths whose next hop stops resolving when asked to re-decide', () => {
    const { a, loc } = setup();
    a.set(k('10.0.0.0/24'), attrs({ asPath: seq(65001), nextHop: '192.0.2.9' }));
    loc.touch(k('10.0.0.0/24'));
    loc.flush();
    loc.options = { resolvable: (nh) => nh !== '192.0.2.9' };
    loc.touchEverything();
    expect(loc.flush().map((c) => c.best)).toEqual([undefined]);
  });
});
