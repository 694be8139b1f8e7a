// What was negotiated for a session and changes how messages are encoded and decoded: 4-octet AS
// numbers (RFC 6793), the maximum message size (RFC 8654 extended messages), ADD-PATH path
// identifiers per family (RFC 7911, decoded; encoded symmetrically for tests), and what RFC 7606
// needs to know of the peer (external? confederation member?). Passed to every codec call; the
// codec keeps no state of its own.
import type { AfiSafi, Capability, OpenMessage } from './types.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './types.js';

export interface CodecOptions {
  /** Both sides sent the 4-octet AS capability: AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  fourOctetAs: boolean;
  /** Both sides sent the extended message capability: messages up to 65535 octets. */
  extendedMessage: boolean;
  /** Families whose NLRI carry an RFC 7911 path identifier in this direction. */
  addPath?: readonly AfiSafi[];
  /**
   * The peer, for the RFC 7606 checks that depend on it (LOCAL_PREF, ORIGINATOR_ID and
   * CLUSTER_LIST from an external peer; confederation segments from a non-member). Omitted: no
   * such checks.
   */
  peer?: {
    external: boolean;
    confederationMember?: boolean;
    /**
     * Enforce the first AS (RFC 4271 §6.3 MAY): an external peer's AS_PATH must start with this AS,
     * else treat-as-withdraw (RFC 7606 §7.2). Leave unset for route servers, which do not prepend.
     */
    enforceFirstAs?: number;
  };
}

/** Before OPENs are exchanged (and for OPEN itself): 2-octet AS, 4096-octet messages. */
export const INITIAL_OPTIONS: CodecOptions = Object.freeze({ fourOctetAs: false, extendedMessage: false });

export function maxMessageLength(options: CodecOptions): number {
  return options.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

export function hasAddPath(options: CodecOptions, afi: number, safi: number): boolean {
  const list = options.addPath;
  if (list === undefined) return false;
  for (const f of list) if (f.afi === afi && f.safi === safi) return true;
  return false;
}

function has(caps: readonly Capability[], kind: Capability['kind']): boolean {
  return caps.some((c) => c.kind === kind);
}

/**
 * Options for decoding what the peer sends, from our OPEN and theirs. ADD-PATH: we receive path
 * ids for a family when we said receive (1|3) and they said send (2|3).
 */
export function negotiateOptions(local: OpenMessage, remote: OpenMessage, peer?: CodecOptions['peer']): CodecOptions {
  const addPath: AfiSafi[] = [];
  const mine = local.capabilities.find((c) => c.kind === 'addPath');
  const theirs = remote.capabilities.find((c) => c.kind === 'addPath');
  if (mine?.kind === 'addPath' && theirs?.kind === 'addPath') {
    for (const f of mine.families) {
      const t = theirs.families.find((x) => x.afi === f.afi && x.safi === f.safi);
      if (t !== undefined && (f.sendReceive & 1) !== 0 && (t.sendReceive & 2) !== 0) addPath.push({ afi: f.afi, safi: f.safi });
    }
  }
  const options: CodecOptions = {
    fourOctetAs: has(local.capabilities, 'fourOctetAs') && has(remote.capabilities, 'fourOctetAs'),
    extendedMessage: has(local.capabilities, 'extendedMessage') && has(remote.capabilities, 'extendedMessage'),
  };
  if (addPath.length > 0) options.addPath = addPath;
  if (peer !== undefined) options.peer = peer;
  return options;
}
