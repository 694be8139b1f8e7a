// The BGP backend's kernel diff (modes/bgp/route-diff.ts): the minimum writes, ECMP sets compared
// as sets, removals held during a graceful restart.
import { describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../src/netlink/index.js';
import { planRoutes } from '../../modes/bgp/route-diff.js';

const route = (dst: string, gateway: string, extra: Partial<RouteInfo> = {}): RouteInfo => ({ family: 4, dst, table: 254, protocol: 87, scope: 0, type: 'unicast', onlink: false, gateway, index: 2, ...extra });

describe('planRoutes', () => {
  it('adds what is missing, keeps what matches, removes what nobody wants', () => {
    const plan = planRoutes(
      [
        { dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.12', index: 2 }] },
        { dst: '10.244.3.0/24', nexthops: [{ gateway: '192.0.2.13', index: 2 }] },
      ],
      [route('10.244.2.0/24', '192.0.2.12'), route('10.244.9.0/24', '192.0.2.19')],
    );
    expect(plan.inSync).toEqual(['10.244.2.0/24']);
    expect(plan.replace.map((r) => r.dst)).toEqual(['10.244.3.0/24']);
    expect(plan.remove.map((r) => r.dst)).toEqual(['10.244.9.0/24']);
  });

  it('replaces a route whose next hop changed, without also removing it', () => {
    const plan = planRoutes([{ dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.22', index: 2 }] }], [route('10.244.2.0/24', '192.0.2.12')]);
    expect(plan.replace).toHaveLength(1);
    expect(plan.remove).toEqual([]);
  });

  it('compares ECMP next hops as a set and turns a single path into multipath', () => {
    const ecmp = route('10.244.2.0/24', '', { nexthops: [{ gateway: '192.0.2.13', index: 2, onlink: false, weight: 1 }, { gateway: '192.0.2.12', index: 2, onlink: false, weight: 1 }] });
    delete ecmp.gateway;
    delete ecmp.index;
    const want = { dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.12', index: 2 }, { gateway: '192.0.2.13', index: 2 }] };
    expect(planRoutes([want], [ecmp]).inSync).toEqual(['10.244.2.0/24']);
    expect(planRoutes([want], [route('10.244.2.0/24', '192.0.2.12')]).replace).toEqual([want]);
  });

  it('keeps unwanted routes while removals are held (graceful restart before End-of-RIB)', () => {
    const plan = planRoutes([], [route('10.244.2.0/24', '192.0.2.12')], { keepUnwanted: true });
    expect(plan.remove).toEqual([]);
  });

  it('removes a duplicate with another metric that a replace would not overwrite', () => {
    const plan = planRoutes([{ dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.12', index: 2 }] }], [route('10.244.2.0/24', '192.0.2.12'), route('10.244.2.0/24', '192.0.2.12', { metric: 50 })]);
    expect(plan.inSync).toEqual(['10.244.2.0/24']);
    expect(plan.remove.map((r) => r.metric)).toEqual([50]);
  });
});
