// Export: the attributes a route is advertised with to one peer, or undefined when it must not be
// advertised to that peer. RFC 4271 §5.1 and §9.2 (eBGP: prepend our AS, next hop self, no
// LOCAL_PREF, no MED learned from another AS; iBGP: LOCAL_PREF always present, no re-advertising
// of iBGP-learned routes to iBGP peers), RFC 4456 §8 (a route reflector reflects client routes to
// everyone and non-client routes to clients, setting ORIGINATOR_ID and prepending its CLUSTER_ID),
// RFC 1997 well-known communities, and the peer's export prefix list and added communities.
import { wellKnownAllows } from '../policy.js';
import type { AsPathSegment, Attributes, AttributeTable, AttributeValues } from './attributes.js';
import { valuesOf } from './attributes.js';
import { DEFAULT_LOCAL_PREF } from './decision.js';
import type { PathSource } from './path.js';
import { LOCAL_SOURCE_ID, type LocalIdentity, type PeerRole } from './peer-role.js';
import { afiOfKey, formatIpv4, type Afi, type PrefixKey } from './prefix.js';

/** AS_PATH with `asn` prepended to the leading AS_SEQUENCE (a new one when full or absent). */
export function prependAs(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = path[0];
  if (first && first.type === 'sequence' && first.asns.length < 255) {
    return [{ type: 'sequence', asns: [asn, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: 'sequence', asns: [asn] }, ...path];
}

function addCommunities<T>(existing: readonly T[], added: readonly T[], same: (a: T, b: T) => boolean): readonly T[] {
  if (added.length === 0) return existing;
  const out = [...existing];
  for (const c of added) if (!out.some((e) => same(e, c))) out.push(c);
  return out;
}

/**
 * The attributes to advertise `attrs` (from `source`) to `peer` with, or undefined when the rules
 * forbid it. `source.id === LOCAL_SOURCE_ID` marks our own announcements.
 */
export function exportAttributes(
  table: AttributeTable,
  local: LocalIdentity,
  peer: PeerRole,
  key: PrefixKey,
  source: PathSource,
  attrs: Attributes,
): Attributes | undefined {
  if (!peer.policy.exports(key)) return undefined;
  return exportForFamily(table, local, peer, afiOfKey(key), source, attrs);
}

/**
 * The prefix-independent part of `exportAttributes` (everything but the export prefix list): its
 * result depends only on (peer, family, source, attribute set), so callers cache it per Path and
 * a 1M-prefix table costs one export computation per distinct attribute set.
 */
export function exportForFamily(
  table: AttributeTable,
  local: LocalIdentity,
  peer: PeerRole,
  afi: Afi,
  source: PathSource,
  attrs: Attributes,
): Attributes | undefined {
  const target = peer.source;
  const isLocal = source.id === LOCAL_SOURCE_ID;
  if (source.id === target.id) return undefined; // never back to where it came from
  let reflecting = false;
  if (!isLocal && source.ibgp && target.ibgp) {
    // RFC 4456 §6: client routes go to all peers, non-client routes to clients only.
    if (!peer.reflector || !(source.rrClient || target.rrClient)) return undefined;
    reflecting = true;
  }
  if (!wellKnownAllows(attrs.communities, { external: !target.ibgp })) return undefined;
  const self = afi === 'ipv4' ? peer.localIpv4 : peer.localIpv6;
  const v: AttributeValues = valuesOf(attrs);
  if (!target.ibgp) {
    // Sender-side loop detection: the peer would discard a path already containing its AS.
    if (attrs.asPath.some((s) => s.asns.includes(target.asn))) return undefined;
    if (self === undefined) return undefined;
    v.asPath = prependAs(attrs.asPath, local.asn);
    v.nextHop = self;
    v.nextHopLinkLocal = undefined;
    v.localPref = undefined;
    if (!isLocal) v.med = undefined; // a MED from another AS does not leave ours
    v.originatorId = undefined;
    v.clusterList = [];
  } else {
    v.localPref = attrs.localPref ?? DEFAULT_LOCAL_PREF;
    if (isLocal ? attrs.nextHop === '' : peer.nextHopSelf && !reflecting) {
      if (self === undefined) return undefined;
      v.nextHop = self;
      v.nextHopLinkLocal = undefined;
    }
    if (reflecting) {
      v.originatorId = attrs.originatorId ?? formatIpv4(source.routerId);
      v.clusterList = [local.clusterId, ...attrs.clusterList];
    } else {
      v.originatorId = undefined;
      v.clusterList = [];
    }
  }
  v.communities = addCommunities(v.communities ?? [], peer.policy.exportCommunities, (a, b) => a === b);
  v.largeCommunities = addCommunities(v.largeCommunities ?? [], peer.policy.exportLargeCommunities, (a, b) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2]);
  return table.intern(v);
}
