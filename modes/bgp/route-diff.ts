// The kernel side of the BGP backend as a pure diff: the routes weft wants (learned best paths
// that passed the import policy, with reachable next hops) against the routes the kernel holds
// with weft's protocol in the main table, as the minimum set of writes. What it is not: the
// reading of the Loc-RIB or of the kernel, or the writing (backend.ts does those).
//
// Ownership (ARCHITECTURE rule 1): `actual` holds only RTPROT_WEFT routes, so a removal can never
// touch a route somebody else made. `keepUnwanted` lets a restarted daemon keep routes it has not
// re-learned yet (graceful restart: remove only what did not come back after End-of-RIB).
import type { RouteInfo } from '../../src/netlink/index.js';
import type { TimeSlice } from '../../src/util/time-slice.js';

export interface WantedRoute {
  dst: string;
  /** One entry = a plain route; more = ECMP. Sorted, so equal sets compare equal. */
  nexthops: { gateway: string; index: number }[];
}

export interface RoutePlan {
  replace: WantedRoute[];
  remove: RouteInfo[];
  inSync: string[];
}

/** The metric a route gets when none is given: IPv4 0, IPv6 1024 (IP6_RT_PRIO_USER). */
function defaultMetric(route: RouteInfo): number {
  return route.family === 4 ? 0 : 1024;
}

/** The route's next hops as "gateway@index", sorted (one for a plain route). */
function hopsOf(route: RouteInfo): string[] {
  if (route.nexthops?.length) return route.nexthops.map((h) => `${h.gateway ?? '-'}@${h.index ?? 0}`).sort();
  return [`${route.gateway ?? '-'}@${route.index ?? 0}`];
}

export function routeMatches(actual: RouteInfo, want: WantedRoute): boolean {
  if (actual.type !== 'unicast' || (actual.metric ?? defaultMetric(actual)) !== defaultMetric(actual)) return false;
  // The common case, one next hop on both sides, without building strings (a full pass compares
  // every route the kernel holds).
  if (want.nexthops.length === 1 && !actual.nexthops?.length) {
    const w = want.nexthops[0]!;
    return (actual.gateway ?? '-') === w.gateway && (actual.index ?? 0) === w.index;
  }
  const have = hopsOf(actual);
  const wanted = want.nexthops.map((h) => `${h.gateway}@${h.index}`).sort();
  return have.length === wanted.length && have.every((h, i) => h === wanted[i]);
}

/** Work items between chances to yield (see planRoutesSliced). */
const STEP = 1024;

/** The diff, pausing (yield) every STEP routes so a caller can give the event loop a turn. */
function* planning(wanted: readonly WantedRoute[], actual: readonly RouteInfo[], keepUnwanted: boolean, plan: RoutePlan): Generator<void> {
  // Almost always one route per destination: the array only when there are more.
  const byDst = new Map<string, RouteInfo | RouteInfo[]>();
  for (const [i, r] of actual.entries()) {
    const seen = byDst.get(r.dst);
    byDst.set(r.dst, seen === undefined ? r : Array.isArray(seen) ? [...seen, r] : [seen, r]);
    if (i % STEP === STEP - 1) yield;
  }
  const kept = new Set<RouteInfo>();
  for (const [i, want] of wanted.entries()) {
    if (i % STEP === STEP - 1) yield;
    const entry = byDst.get(want.dst);
    const have = entry === undefined ? [] : Array.isArray(entry) ? entry : [entry];
    const exact = have.find((r) => routeMatches(r, want));
    if (exact) {
      kept.add(exact);
      plan.inSync.push(want.dst);
      continue;
    }
    // A replace overwrites the route with the same destination and default metric.
    const overwritten = have.find((r) => (r.metric ?? defaultMetric(r)) === defaultMetric(r));
    if (overwritten) kept.add(overwritten);
    plan.replace.push(want);
  }
  if (!keepUnwanted) plan.remove = actual.filter((r) => !kept.has(r));
}

export function planRoutes(wanted: readonly WantedRoute[], actual: readonly RouteInfo[], options: { keepUnwanted?: boolean } = {}): RoutePlan {
  const plan: RoutePlan = { replace: [], remove: [], inSync: [] };
  for (const _ of planning(wanted, actual, options.keepUnwanted ?? false, plan));
  return plan;
}

/** planRoutes for a full table: the same plan, computed a time slice at a time. */
export async function planRoutesSliced(wanted: readonly WantedRoute[], actual: readonly RouteInfo[], options: { keepUnwanted?: boolean }, slice: TimeSlice): Promise<RoutePlan> {
  const plan: RoutePlan = { replace: [], remove: [], inSync: [] };
  for (const _ of planning(wanted, actual, options.keepUnwanted ?? false, plan)) if (slice.due) await slice.next();
  return plan;
}
