// Import: what a route received from a peer becomes in its Adj-RIB-In, or why it is refused.
// RFC 4271 §9.1.2 (AS_PATH loop, LOCAL_PREF from an external peer ignored), RFC 4456 §8 (a
// reflected route carrying our router ID as ORIGINATOR_ID, or our cluster ID in CLUSTER_LIST, is
// discarded), and the peer's import prefix list. Refused routes are treated as withdrawn: a peer
// that replaces an accepted route with a refused one must not keep the old one in our table.
import { asPathContains, type Attributes, type AttributeTable } from './attributes.js';
import type { LocalIdentity, PeerRole } from './peer-role.js';
import type { PrefixKey } from './prefix.js';

export type ImportVerdict = 'accept' | 'as-loop' | 'originator-loop' | 'cluster-loop' | 'policy';

/** Checks that depend on the attribute set only (done once per UPDATE, not per prefix). */
export function importAttributesVerdict(received: Attributes, peer: PeerRole, local: LocalIdentity): ImportVerdict {
  if (!peer.source.ibgp && asPathContains(received.asPath, local.asn)) return 'as-loop';
  if (peer.source.ibgp) {
    if (received.originatorId === local.routerId) return 'originator-loop';
    if (received.clusterList.includes(local.clusterId)) return 'cluster-loop';
  }
  return 'accept';
}

/**
 * The attribute set stored for routes received with `received` from `peer`: from an external peer
 * LOCAL_PREF is ours to give (import policy, else default), and the iBGP-only RFC 4456 attributes
 * are dropped.
 */
export function importAttributes(table: AttributeTable, received: Attributes, peer: PeerRole): Attributes {
  if (peer.source.ibgp) return received;
  const localPref = peer.policy.importLocalPref;
  if (received.localPref === localPref && received.originatorId === undefined && received.clusterList.length === 0) return received;
  return table.derive(received, { localPref, originatorId: undefined, clusterList: [] });
}

export function importPrefixAllowed(key: PrefixKey, peer: PeerRole): boolean {
  return peer.policy.accepts(key);
}
