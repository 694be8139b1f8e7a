// The diff of one VXLAN address family: what the kernel has (our device's neighbours and FDB, the
// main table's weft routes) against what the remote nodes want, as the minimum set of writes —
// per node the missing or different entries in programming order, and the entries nobody wants.
// Pure, so every case is a unit test. What it is not: the writing (program.ts) or the reading of
// the kernel (overlay.ts); each step remembers what it overwrites, so a failed node can be undone.
//
// Ownership (ARCHITECTURE rule 1): only entries on our device and routes with our protocol ever
// reach this diff, so a removal can never touch somebody else's state. Within our device only
// permanent neighbours are ours (the kernel may keep transient ones; it also expires them), and
// only FDB entries with a tunnel destination (those without are the device's own multicast list).
import type { FdbInfo, NeighbourInfo, RouteInfo } from '../../src/netlink/index.js';
import type { Family } from '../../src/net/addr.js';
import type { NodeEntries, WantedFdb, WantedNeighbour, WantedRoute } from './desired.js';

/** What the kernel holds for one family, already narrowed to what is ours. */
export interface ActualFamily {
  neighbours: NeighbourInfo[];
  fdb: FdbInfo[];
  routes: RouteInfo[];
}

export type Step =
  | { kind: 'neighbour'; want: WantedNeighbour; previous?: WantedNeighbour }
  | { kind: 'fdb'; want: WantedFdb; previous?: WantedFdb }
  | { kind: 'route'; want: WantedRoute; previous?: WantedRoute };

export interface NodePlan {
  node: string;
  subnet: string;
  /** In programming order: neighbour, FDB, route (route last: the kernel must never ARP). */
  steps: Step[];
}

export interface FamilyPlan {
  /** Only nodes with something to write. */
  nodes: NodePlan[];
  /** Nodes already exactly right. */
  inSync: string[];
  removeRoutes: RouteInfo[];
  removeFdb: FdbInfo[];
  removeNeighbours: NeighbourInfo[];
}

/** The metric a route gets when none is given: IPv4 0, IPv6 1024 (IP6_RT_PRIO_USER). */
export function defaultMetric(family: Family): number {
  return family === 4 ? 0 : 1024;
}

export function routeMatches(actual: RouteInfo, want: WantedRoute): boolean {
  return actual.type === 'unicast' && !actual.nexthops?.length && actual.gateway === want.gateway && actual.index === want.index && actual.onlink === want.onlink;
}

function asWanted(route: RouteInfo): WantedRoute | undefined {
  if (route.gateway === undefined || route.index === undefined || route.type !== 'unicast' || route.nexthops?.length) return undefined;
  return { dst: route.dst, gateway: route.gateway, index: route.index, onlink: route.onlink };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export function planFamily(family: Family, desired: readonly NodeEntries[], actual: ActualFamily): FamilyPlan {
  const plan: FamilyPlan = { nodes: [], inSync: [], removeRoutes: [], removeFdb: [], removeNeighbours: [] };
  const metric = defaultMetric(family);
  const neighbours = new Map(actual.neighbours.map((n) => [n.ip, n]));
  const fdbByMac = groupBy(
    actual.fdb.filter((f) => f.dst !== undefined),
    (f) => f.mac,
  );
  const routesByDst = groupBy(actual.routes, (r) => r.dst);
  const keptNeighbours = new Set<string>();
  const keptFdb = new Set<FdbInfo>();
  const keptRoutes = new Set<RouteInfo>();

  for (const entries of desired) {
    const steps: Step[] = [];
    if (entries.neighbour) {
      const want = entries.neighbour;
      keptNeighbours.add(want.ip);
      const have = neighbours.get(want.ip);
      if (!have || have.mac !== want.mac || !have.permanent) {
        steps.push({ kind: 'neighbour', want, ...(have?.permanent && have.mac ? { previous: { ip: have.ip, mac: have.mac } } : {}) });
      }
    }
    if (entries.fdb) {
      const want = entries.fdb;
      const have = fdbByMac.get(want.mac) ?? [];
      const exact = have.find((f) => f.dst === want.dst && f.permanent);
      if (exact) {
        keptFdb.add(exact);
      } else {
        // A replace rewrites the entry's first destination in place: that one is not removed.
        const first = have[0];
        if (first) keptFdb.add(first);
        steps.push({ kind: 'fdb', want, ...(first?.dst ? { previous: { mac: first.mac, dst: first.dst } } : {}) });
      }
    }
    const want = entries.route;
    const have = routesByDst.get(want.dst) ?? [];
    const exact = have.find((r) => (r.metric ?? 0) === metric && routeMatches(r, want));
    if (exact) {
      keptRoutes.add(exact);
    } else {
      // A replace overwrites the route with the same destination and metric.
      const replaced = have.find((r) => (r.metric ?? 0) === metric);
      if (replaced) keptRoutes.add(replaced);
      const previous = replaced && asWanted(replaced);
      steps.push({ kind: 'route', want, ...(previous ? { previous } : {}) });
    }
    if (steps.length > 0) plan.nodes.push({ node: entries.node, subnet: entries.subnet, steps });
    else plan.inSync.push(entries.node);
  }

  plan.removeRoutes = actual.routes.filter((r) => !keptRoutes.has(r));
  plan.removeFdb = actual.fdb.filter((f) => f.dst !== undefined && !keptFdb.has(f));
  plan.removeNeighbours = actual.neighbours.filter((n) => n.permanent && !keptNeighbours.has(n.ip));
  return plan;
}
