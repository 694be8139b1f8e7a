// The RFC 4271 §9.1.2.2 decision process, one case per elimination step (each pair differs only in
// the attribute that step looks at and would go the other way on every later step), the ECMP set,
// and a fast-check property that the winner does not depend on the order paths arrived in.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { selectBest } from '../../src/bgp/rib/decision.js';
import type { Path } from '../../src/bgp/rib/path.js';
import { attrs, seq, source } from '../helpers/bgp-rib-fixtures.js';

const A = source('198.51.100.1', { asn: 65001, routerId: '10.0.0.1' });
const B = source('198.51.100.2', { asn: 65002, routerId: '10.0.0.2' });
const IA = source('198.51.100.3', { asn: 65000, ibgp: true, routerId: '10.0.0.3' });
const IB = source('198.51.100.4', { asn: 65000, ibgp: true, routerId: '10.0.0.4' });

const path = (src: Path['source'], values: Parameters<typeof attrs>[0]): Path => ({ source: src, attrs: attrs(values) });

describe('decision process (RFC 4271 §9.1.2.2)', () => {
  it('a) prefers the highest LOCAL_PREF over a shorter AS_PATH', () => {
    const win = path(B, { localPref: 200, asPath: seq(65002, 1, 2) });
    const lose = path(A, { localPref: 100, asPath: seq(65001) });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('b) prefers the shortest AS_PATH; an AS_SET counts as one, confederation segments as none', () => {
    const win = path(B, { asPath: [{ type: 'confed-sequence', asns: [64512, 64513, 64514] }, { type: 'sequence', asns: [65002] }, { type: 'set', asns: [1, 2, 3, 4] }] });
    const lose = path(A, { asPath: seq(65001, 3, 4) });
    expect(win.attrs.asPathLength).toBe(2);
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('c) prefers the lowest ORIGIN (IGP < EGP < INCOMPLETE)', () => {
    const win = path(B, { origin: 1, asPath: seq(65002) });
    const lose = path(A, { origin: 2, asPath: seq(65001) });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('c) prefers the lowest MED only between paths from the same neighbouring AS', () => {
    const B2 = source('198.51.100.9', { asn: 65002, routerId: '10.0.0.9' });
    const win = path(B2, { med: 10, asPath: seq(65002) });
    const lose = path(B, { med: 20, asPath: seq(65002) });
    expect(selectBest([lose, win]).best).toBe(win);
    // Different neighbour AS: MED not compared, the lower router ID (A) wins despite a higher MED.
    const other = path(A, { med: 50, asPath: seq(65001) });
    const lowMed = path(B, { med: 5, asPath: seq(65002) });
    expect(selectBest([lowMed, other]).best).toBe(other);
    expect(selectBest([lowMed, other], { alwaysCompareMed: true }).best).toBe(lowMed);
  });

  it('c) treats a missing MED as 0', () => {
    const B2 = source('198.51.100.9', { asn: 65002, routerId: '10.0.0.9' });
    const win = path(B2, { asPath: seq(65002) });
    const lose = path(B, { med: 1, asPath: seq(65002) });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('d) prefers eBGP over iBGP', () => {
    const win = path(B, { asPath: seq(65002) });
    const lose = path(IA, { asPath: seq(65009) });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('e) prefers the lowest IGP cost to the next hop (hook)', () => {
    const win = path(IB, { nextHop: '192.0.2.20', asPath: seq(65009) });
    const lose = path(IA, { nextHop: '192.0.2.10', asPath: seq(65009) });
    const igpCost = (nh: string): number => (nh === '192.0.2.20' ? 1 : 5);
    expect(selectBest([lose, win], { igpCost }).best).toBe(win);
    expect(selectBest([lose, win]).best).toBe(lose); // default: equal cost, lower router ID
  });

  it('f) prefers the lowest BGP identifier, using ORIGINATOR_ID for reflected routes (RFC 4456 §9)', () => {
    const win = path(IB, { asPath: seq(65009), originatorId: '10.0.0.0' });
    const lose = path(IA, { asPath: seq(65009) });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('RFC 4456 §9: prefers the shorter CLUSTER_LIST', () => {
    const win = path(IB, { asPath: seq(65009), originatorId: '10.0.0.7', clusterList: ['10.9.9.9'] });
    const lose = path(IA, { asPath: seq(65009), originatorId: '10.0.0.7', clusterList: ['10.9.9.9', '10.8.8.8'] });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('g) prefers the lowest peer address', () => {
    const X = source('198.51.100.20', { asn: 65000, ibgp: true, routerId: '10.0.0.5' });
    const Y = source('198.51.100.10', { asn: 65000, ibgp: true, routerId: '10.0.0.6' });
    const win = path(Y, { asPath: seq(65009), originatorId: '10.0.0.7' });
    const lose = path(X, { asPath: seq(65009), originatorId: '10.0.0.7' });
    expect(selectBest([lose, win]).best).toBe(win);
  });

  it('excludes paths whose next hop does not resolve', () => {
    const good = path(B, { nextHop: '192.0.2.2', asPath: seq(65002, 1, 2) });
    const bad = path(A, { nextHop: '192.0.2.99', asPath: seq(65001) });
    const resolvable = (nh: string): boolean => nh !== '192.0.2.99';
    expect(selectBest([bad, good], { resolvable }).best).toBe(good);
    expect(selectBest([bad], { resolvable })).toEqual({ best: undefined, multipath: [] });
  });
});

describe('ECMP set', () => {
  const C = source('198.51.100.5', { asn: 65001, routerId: '10.0.0.8' });

  it('holds the paths equal through IGP cost with the same AS_PATH', () => {
    const p1 = path(A, { nextHop: '192.0.2.1', asPath: seq(65001, 7) });
    const p2 = path(C, { nextHop: '192.0.2.5', asPath: seq(65001, 7) });
    const p3 = path(B, { nextHop: '192.0.2.2', asPath: seq(65002, 7) });
    const sel = selectBest([p3, p2, p1]);
    expect(sel.best).toBe(p1);
    expect(sel.multipath).toEqual([p1, p2]);
    expect(selectBest([p3, p2, p1], { multipathRelax: true }).multipath).toEqual([p1, p3, p2].sort((a, b) => (a === p1 ? -1 : b === p1 ? 1 : a.source.addressOrder < b.source.addressOrder ? -1 : 1)));
    expect(selectBest([p3, p2, p1], { multipath: false }).multipath).toEqual([p1]);
    expect(selectBest([p3, p2, p1], { multipathRelax: true, maxPaths: 2 }).multipath).toHaveLength(2);
  });

  it('leaves out paths that lose before the router-ID step', () => {
    const p1 = path(A, { asPath: seq(65001, 7) });
    const worseMed = path(C, { asPath: seq(65001, 7), med: 5 });
    const igpFar = path(source('198.51.100.6', { asn: 65001 }), { nextHop: '192.0.2.66', asPath: seq(65001, 7) });
    const sel = selectBest([igpFar, worseMed, p1], { igpCost: (nh) => (nh === '192.0.2.66' ? 9 : 1) });
    expect(sel.multipath).toEqual([p1]);
  });
});

describe('order independence (property)', () => {
  const sources = [
    source('198.51.100.1', { asn: 65001, routerId: '10.0.0.1' }),
    source('198.51.100.2', { asn: 65002, routerId: '10.0.0.2' }),
    source('198.51.100.3', { asn: 65001, routerId: '10.0.0.3' }),
    source('198.51.100.4', { asn: 65000, ibgp: true, routerId: '10.0.0.4' }),
    source('198.51.100.5', { asn: 65000, ibgp: true, routerId: '10.0.0.5' }),
    source('2001:db8::6', { asn: 65003, routerId: '10.0.0.6' }),
  ];
  const arbPath = fc
    .record({
      src: fc.integer({ min: 0, max: sources.length - 1 }),
      localPref: fc.option(fc.constantFrom(100, 200), { nil: undefined }),
      first: fc.constantFrom(65001, 65002, 65003),
      len: fc.integer({ min: 0, max: 2 }),
      origin: fc.constantFrom(0, 1, 2),
      med: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      originatorId: fc.option(fc.constantFrom('10.0.0.1', '10.0.0.9'), { nil: undefined }),
      clusters: fc.integer({ min: 0, max: 2 }),
      nh: fc.constantFrom('192.0.2.1', '192.0.2.2'),
    })
    .map((r): Path => ({
      source: sources[r.src]!,
      attrs: attrs({
        localPref: r.localPref,
        asPath: seq(r.first, ...Array<number>(r.len).fill(1)),
        origin: r.origin,
        med: r.med,
        originatorId: r.originatorId,
        clusterList: Array<string>(r.clusters).fill('10.9.9.9'),
        nextHop: r.nh,
      }),
    }));
  // One path per source, as without ADD-PATH.
  const arbCandidates = fc.uniqueArray(arbPath, { selector: (p) => p.source.id, minLength: 1, maxLength: sources.length });

  it('selects the same best path and ECMP set for every arrival order', () => {
    fc.assert(
      fc.property(arbCandidates, fc.boolean(), fc.boolean(), (paths, alwaysCompareMed, multipathRelax) => {
        const options = { alwaysCompareMed, multipathRelax, igpCost: (nh: string) => (nh === '192.0.2.1' ? 1 : 2) };
        const reference = selectBest(paths, options);
        const rotations = paths.map((_, i) => [...paths.slice(i), ...paths.slice(0, i)]);
        for (const order of [[...paths].reverse(), ...rotations, ...rotations.map((r) => [...r].reverse())]) {
          const sel = selectBest(order, options);
          expect(sel.best).toBe(reference.best);
          expect(sel.multipath).toEqual(reference.multipath);
        }
      }),
      { numRuns: 500 },
    );
  });
});
