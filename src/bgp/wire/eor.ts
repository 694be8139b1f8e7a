// End-of-RIB markers (RFC 4724 §2): for IPv4 unicast an UPDATE with nothing in it; for any other
// family an UPDATE whose only attribute is an MP_UNREACH_NLRI with no withdrawn prefixes.
import { AFI_IPV4, SAFI_UNICAST, type AfiSafi, type UpdateMessage } from './types.js';

export function endOfRib(afi: number, safi: number): UpdateMessage {
  if (afi === AFI_IPV4 && safi === SAFI_UNICAST) return { type: 'update', withdrawn: [], attributes: {}, nlri: [] };
  return { type: 'update', withdrawn: [], attributes: { mpUnreach: { afi, safi, withdrawn: [] } }, nlri: [] };
}

/** The family whose End-of-RIB this UPDATE is, or undefined when it is an ordinary UPDATE. */
export function endOfRibFamily(m: UpdateMessage): AfiSafi | undefined {
  if (m.withdrawn.length > 0 || m.nlri.length > 0) return undefined;
  const a = m.attributes;
  const keys = Object.keys(a).filter((k) => a[k as keyof typeof a] !== undefined);
  if (keys.length === 0) return { afi: AFI_IPV4, safi: SAFI_UNICAST };
  const un = a.mpUnreach;
  if (keys.length === 1 && un !== undefined && un.withdrawn.length === 0 && (un.withdrawnRaw?.length ?? 0) === 0) return { afi: un.afi, safi: un.safi };
  return undefined;
}
