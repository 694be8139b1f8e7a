// BGP errors as values: NOTIFICATION error codes and subcodes (RFC 4271 §4.5 and §6, RFC 4486
// Cease subcodes, RFC 5492 Unsupported Capability, RFC 6608 FSM subcodes, RFC 7313 ROUTE-REFRESH
// errors, RFC 8538 Hard Reset) and the RFC 7606 error-handling actions in their order of
// strength. A BgpError is created exactly where parsing failed and carries the data RFC 4271 §6
// asks for, so the session can send it as the NOTIFICATION unchanged.

// ---------------------------------------------------------------- error codes (RFC 4271 §4.5)
export const ERR_MESSAGE_HEADER = 1;
export const ERR_OPEN_MESSAGE = 2;
export const ERR_UPDATE_MESSAGE = 3;
export const ERR_HOLD_TIMER_EXPIRED = 4;
export const ERR_FSM = 5;
export const ERR_CEASE = 6;
export const ERR_ROUTE_REFRESH_MESSAGE = 7;

// Message Header Error subcodes (§6.1)
export const HEADER_CONNECTION_NOT_SYNCHRONIZED = 1;
export const HEADER_BAD_MESSAGE_LENGTH = 2;
export const HEADER_BAD_MESSAGE_TYPE = 3;

// OPEN Message Error subcodes (§6.2, RFC 5492)
export const OPEN_UNSUPPORTED_VERSION_NUMBER = 1;
export const OPEN_BAD_PEER_AS = 2;
export const OPEN_BAD_BGP_IDENTIFIER = 3;
export const OPEN_UNSUPPORTED_OPTIONAL_PARAMETER = 4;
/** Deprecated (RFC 4271 Appendix A: Authentication Failure). */
export const OPEN_AUTHENTICATION_FAILURE = 5;
export const OPEN_UNACCEPTABLE_HOLD_TIME = 6;
export const OPEN_UNSUPPORTED_CAPABILITY = 7;

// UPDATE Message Error subcodes (§6.3)
export const UPDATE_MALFORMED_ATTRIBUTE_LIST = 1;
export const UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2;
export const UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE = 3;
export const UPDATE_ATTRIBUTE_FLAGS_ERROR = 4;
export const UPDATE_ATTRIBUTE_LENGTH_ERROR = 5;
export const UPDATE_INVALID_ORIGIN_ATTRIBUTE = 6;
/** Deprecated (AS Routing Loop). */
export const UPDATE_AS_ROUTING_LOOP = 7;
export const UPDATE_INVALID_NEXT_HOP_ATTRIBUTE = 8;
export const UPDATE_OPTIONAL_ATTRIBUTE_ERROR = 9;
export const UPDATE_INVALID_NETWORK_FIELD = 10;
export const UPDATE_MALFORMED_AS_PATH = 11;

// Finite State Machine Error subcodes (RFC 6608)
export const FSM_UNSPECIFIED = 0;
export const FSM_UNEXPECTED_IN_OPENSENT = 1;
export const FSM_UNEXPECTED_IN_OPENCONFIRM = 2;
export const FSM_UNEXPECTED_IN_ESTABLISHED = 3;

// Cease subcodes (RFC 4486, RFC 8538)
export const CEASE_MAX_PREFIXES_REACHED = 1;
export const CEASE_ADMINISTRATIVE_SHUTDOWN = 2;
export const CEASE_PEER_DECONFIGURED = 3;
export const CEASE_ADMINISTRATIVE_RESET = 4;
export const CEASE_CONNECTION_REJECTED = 5;
export const CEASE_OTHER_CONFIGURATION_CHANGE = 6;
export const CEASE_CONNECTION_COLLISION_RESOLUTION = 7;
export const CEASE_OUT_OF_RESOURCES = 8;
export const CEASE_HARD_RESET = 9;
/** RFC 9384: the session's BFD session went down. */
export const CEASE_BFD_DOWN = 10;

// ROUTE-REFRESH Message Error subcodes (RFC 7313)
export const ROUTE_REFRESH_INVALID_MESSAGE_LENGTH = 1;

/**
 * RFC 7606 error-handling actions, ordered by strength: an UPDATE with several problems is
 * handled by the strongest (§3: "the approach with the strongest action is used").
 */
export enum ErrorAction {
  None = 0,
  AttributeDiscard = 1,
  TreatAsWithdraw = 2,
  SessionReset = 3,
}

export function strongest(a: ErrorAction, b: ErrorAction): ErrorAction {
  return a >= b ? a : b;
}

export function errorActionName(a: ErrorAction): string {
  return ['none', 'attribute-discard', 'treat-as-withdraw', 'session-reset'][a] ?? 'unknown';
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

/** Cease subcodes (RFC 4486, RFC 8538, RFC 9384), for people reading a peer's last error. */
const CEASE_NAMES: Record<number, string> = {
  1: 'Maximum Number of Prefixes Reached',
  2: 'Administrative Shutdown',
  3: 'Peer De-configured',
  4: 'Administrative Reset',
  5: 'Connection Rejected',
  6: 'Other Configuration Change',
  7: 'Connection Collision Resolution',
  8: 'Out of Resources',
  9: 'Hard Reset',
  10: 'BFD Down',
};

/** "Cease / BFD Down (6/10)", "UPDATE Message Error (3/1)": a NOTIFICATION as an operator reads it. */
export function notificationName(code: number, subcode: number): string {
  const sub = code === ERR_CEASE ? CEASE_NAMES[subcode] : undefined;
  return `${CODE_NAMES[code] ?? `error ${code}`}${sub !== undefined ? ` / ${sub}` : ''} (${code}/${subcode})`;
}

/**
 * An error to be sent as a NOTIFICATION (code, subcode, data), or recorded as a lesser RFC 7606
 * action. Thrown by decode for anything that resets the session.
 */
export class BgpError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  readonly action: ErrorAction;

  constructor(code: number, subcode: number, data: Uint8Array = new Uint8Array(0), reason = '', action = ErrorAction.SessionReset) {
    super(`${CODE_NAMES[code] ?? `error ${code}`}/${subcode}${reason === '' ? '' : `: ${reason}`}`);
    this.name = 'BgpError';
    this.code = code;
    this.subcode = subcode;
    // Copy: the data often points into a receive buffer that will be reused.
    this.data = Uint8Array.from(data);
    this.action = action;
  }
}

export function isBgpError(e: unknown): e is BgpError {
  return e instanceof BgpError;
}
