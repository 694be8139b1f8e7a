// The BGP decision process, RFC 4271 §9.1.2 (route selection among the paths to one prefix), with
// the RFC 4456 §9 changes for route reflection, and the set of equal-cost paths for ECMP.
//
// Selection is done the way §9.1.2.2 describes it, by eliminating from the whole candidate set
// stage by stage, not by a pairwise comparator: MED is only comparable between paths from the same
// neighbouring AS, which makes a pairwise "better than" intransitive and a sort order-dependent.
// Stage-wise elimination gives the same best path whatever order the paths arrived in.
//
// Stages: next hop resolvable (hook) → highest LOCAL_PREF → shortest AS_PATH → lowest ORIGIN →
// lowest MED per neighbour AS (or across all with always-compare-med) → eBGP over iBGP → lowest
// IGP cost to the next hop (hook) → [multipath set taken here] → lowest BGP identifier (the
// ORIGINATOR_ID when present, RFC 4456 §9) → shortest CLUSTER_LIST → lowest peer address.
import type { Path } from './path.js';
import { routerIdNumber } from './path.js';

export const DEFAULT_LOCAL_PREF = 100;

export interface DecisionOptions {
  /** Compare MED between paths from different neighbouring ASes too (`bgp always-compare-med`). */
  alwaysCompareMed?: boolean;
  /** Build the ECMP set (default true). */
  multipath?: boolean;
  /** Paths with different AS_PATHs of the same length may share the ECMP set (`as-path multipath-relax`). */
  multipathRelax?: boolean;
  /** Most paths in the ECMP set (default unlimited). */
  maxPaths?: number;
  /** Whether the next hop is reachable; unresolvable paths are not eligible (§9.1.2.1). */
  resolvable?: (nextHop: string) => boolean;
  /** IGP metric to the next hop, lower preferred (§9.1.2.2 e); default: all equal. */
  igpCost?: (nextHop: string) => number;
}

export interface Selection {
  best: Path | undefined;
  /** The best path first, then the other paths equal to it for ECMP; empty when there is no best. */
  multipath: Path[];
}

const NONE: Selection = Object.freeze({ best: undefined, multipath: [] });

function localPref(p: Path): number {
  // A LOCAL_PREF from an eBGP peer is ignored (§5.1.5); import sets ours on eBGP paths.
  return p.attrs.localPref ?? DEFAULT_LOCAL_PREF;
}

function keepMin(paths: Path[], value: (p: Path) => number): Path[] {
  if (paths.length < 2) return paths;
  let min = Infinity;
  for (const p of paths) min = Math.min(min, value(p));
  return paths.filter((p) => value(p) === min);
}

function keepMinString(paths: Path[], value: (p: Path) => string): Path[] {
  if (paths.length < 2) return paths;
  let min: string | undefined;
  for (const p of paths) {
    const v = value(p);
    if (min === undefined || v < min) min = v;
  }
  return paths.filter((p) => value(p) === min);
}

function med(p: Path): number {
  // A missing MED is the lowest possible value (§9.1.2.2 c).
  return p.attrs.med ?? 0;
}

function eliminateByMed(paths: Path[], always: boolean): Path[] {
  if (paths.length < 2) return paths;
  if (always) return keepMin(paths, med);
  // Per neighbouring AS: a path goes when another path from the same AS has a lower MED.
  const lowest = new Map<number | undefined, number>();
  for (const p of paths) {
    const as = p.attrs.neighbourAs ?? (p.source.ibgp ? undefined : p.source.asn);
    const m = med(p);
    const cur = lowest.get(as);
    if (cur === undefined || m < cur) lowest.set(as, m);
  }
  return paths.filter((p) => med(p) === lowest.get(p.attrs.neighbourAs ?? (p.source.ibgp ? undefined : p.source.asn)));
}

function bgpIdentifier(p: Path): number {
  return p.attrs.originatorId !== undefined ? routerIdNumber(p.attrs.originatorId) : p.source.routerId;
}

function sameAsPath(a: Path, b: Path): boolean {
  if (a.attrs.asPath === b.attrs.asPath) return true;
  if (a.attrs.asPath.length !== b.attrs.asPath.length) return false;
  return a.attrs.asPath.every((s, i) => {
    const t = b.attrs.asPath[i];
    return t !== undefined && s.type === t.type && s.asns.length === t.asns.length && s.asns.every((x, j) => x === t.asns[j]);
  });
}

/** Run the decision process over every path known for one prefix. */
export function selectBest(candidates: readonly Path[], options: DecisionOptions = {}): Selection {
  const resolvable = options.resolvable;
  let paths = resolvable ? candidates.filter((p) => resolvable(p.attrs.nextHop)) : [...candidates];
  if (paths.length === 0) return NONE;
  if (paths.length === 1) return { best: paths[0], multipath: paths };
  // a) highest degree of preference
  let max = -Infinity;
  for (const p of paths) max = Math.max(max, localPref(p));
  paths = paths.filter((p) => localPref(p) === max);
  // b) shortest AS_PATH
  paths = keepMin(paths, (p) => p.attrs.asPathLength);
  // c) lowest ORIGIN
  paths = keepMin(paths, (p) => p.attrs.origin);
  // c) lowest MED among paths from the same neighbouring AS
  paths = eliminateByMed(paths, options.alwaysCompareMed === true);
  // d) eBGP over iBGP
  if (paths.some((p) => !p.source.ibgp) && paths.some((p) => p.source.ibgp)) paths = paths.filter((p) => !p.source.ibgp);
  // e) lowest IGP cost to the next hop
  const igpCost = options.igpCost;
  if (igpCost) paths = keepMin(paths, (p) => igpCost(p.attrs.nextHop));
  const equal = paths;
  // f) lowest BGP identifier (ORIGINATOR_ID for reflected routes, RFC 4456 §9)
  paths = keepMin(paths, bgpIdentifier);
  // RFC 4456 §9: shortest CLUSTER_LIST
  paths = keepMin(paths, (p) => p.attrs.clusterList.length);
  // g) lowest peer address
  paths = keepMinString(paths, (p) => p.source.addressOrder);
  const best = paths[0];
  if (best === undefined) return NONE;
  if (options.multipath === false) return { best, multipath: [best] };
  const relax = options.multipathRelax === true;
  const others = equal.filter((p) => p !== best && (relax || sameAsPath(p, best)));
  // Deterministic order for the rest (not arrival order): by peer address.
  others.sort((a, b) => (a.source.addressOrder < b.source.addressOrder ? -1 : a.source.addressOrder > b.source.addressOrder ? 1 : 0));
  const multipath = [best, ...others];
  if (options.maxPaths !== undefined) multipath.length = Math.min(multipath.length, Math.max(1, options.maxPaths));
  return { best, multipath };
}
