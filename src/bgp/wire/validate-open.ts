// Is a well-formed OPEN acceptable? (RFC 4271 §6.2, RFC 6793 §4.1/RFC 7607 for AS numbers,
// RFC 6286 for the BGP Identifier.) Separate from parsing: open.ts says whether the bytes are an
// OPEN, this says whether we will peer with it. Returns the NOTIFICATION to send, or undefined.
import { ipv4FromText } from './bytes.js';
import {
  BgpError,
  ERR_OPEN_MESSAGE,
  OPEN_BAD_BGP_IDENTIFIER,
  OPEN_BAD_PEER_AS,
  OPEN_UNACCEPTABLE_HOLD_TIME,
  OPEN_UNSUPPORTED_CAPABILITY,
  OPEN_UNSUPPORTED_VERSION_NUMBER,
} from './errors.js';
import { AS_TRANS, type Capability, type OpenMessage } from './types.js';

export interface OpenExpectations {
  /** The AS configured for this peer (a list: any of them, e.g. a dynamic neighbour range). */
  peerAs?: number | readonly number[];
  /** Our AS and BGP identifier: an internal peer must not reuse our identifier (RFC 6286 §2.2). */
  localAs?: number;
  localBgpId?: string;
  /** Smallest non-zero hold time we accept (RFC 4271: at least 3). */
  minHoldTime?: number;
  /** Capabilities we insist on (e.g. 'fourOctetAs'); missing ones are Unsupported Capability. */
  requiredCapabilities?: readonly Capability[];
}

export const BGP_VERSION = 4;

export function validateOpen(open: OpenMessage, expect: OpenExpectations = {}): BgpError | undefined {
  if (open.version !== BGP_VERSION) {
    // Data: the largest version we support, as a 2-octet number.
    return new BgpError(ERR_OPEN_MESSAGE, OPEN_UNSUPPORTED_VERSION_NUMBER, Uint8Array.of(0, BGP_VERSION), `version ${open.version}`);
  }
  const minHold = Math.max(3, expect.minHoldTime ?? 3);
  if (open.holdTime !== 0 && open.holdTime < minHold) {
    return new BgpError(ERR_OPEN_MESSAGE, OPEN_UNACCEPTABLE_HOLD_TIME, undefined, `hold time ${open.holdTime}`);
  }
  const id = ipv4FromText(open.bgpId);
  // RFC 6286 §2.1: any non-zero 4-octet value.
  if (Number.isNaN(id) || id === 0) {
    return new BgpError(ERR_OPEN_MESSAGE, OPEN_BAD_BGP_IDENTIFIER, undefined, `BGP identifier ${open.bgpId}`);
  }
  const internal = expect.localAs !== undefined && open.myAs === expect.localAs;
  if (internal && expect.localBgpId !== undefined && ipv4FromText(expect.localBgpId) === id) {
    return new BgpError(ERR_OPEN_MESSAGE, OPEN_BAD_BGP_IDENTIFIER, undefined, `internal peer uses our BGP identifier ${open.bgpId}`);
  }
  // RFC 7607: AS 0 is never valid; RFC 6793: AS_TRANS is not a real AS in the capability.
  const four = open.capabilities.find((c) => c.kind === 'fourOctetAs');
  if (open.myAs === 0 || (four !== undefined && open.myAs === AS_TRANS)) {
    return new BgpError(ERR_OPEN_MESSAGE, OPEN_BAD_PEER_AS, undefined, `peer AS ${open.myAs}`);
  }
  if (expect.peerAs !== undefined) {
    const allowed = typeof expect.peerAs === 'number' ? [expect.peerAs] : expect.peerAs;
    if (!allowed.includes(open.myAs)) return new BgpError(ERR_OPEN_MESSAGE, OPEN_BAD_PEER_AS, undefined, `peer AS ${open.myAs}, expected ${allowed.join('|')}`);
  }
  const missing = (expect.requiredCapabilities ?? []).filter((need) => !open.capabilities.some((c) => sameCapability(c, need)));
  if (missing.length > 0) {
    return new BgpError(ERR_OPEN_MESSAGE, OPEN_UNSUPPORTED_CAPABILITY, undefined, `missing capabilities: ${missing.map((c) => c.kind).join(', ')}`);
  }
  return undefined;
}

function sameCapability(a: Capability, b: Capability): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'multiprotocol' && b.kind === 'multiprotocol') return a.afi === b.afi && a.safi === b.safi;
  if (a.kind === 'unknown' && b.kind === 'unknown') return a.code === b.code;
  return true;
}
