// BFD Control packet codec (RFC 5880 §4.1 format, §6.8.6 reception checks).
//
// Stateless, like the bgp-ts wire codec: `encodeControlPacket` serialises a typed packet,
// `decodeControlPacket` parses bytes and applies every reception check that does not need a
// session — version, length, detect multiplier, multipoint, my discriminator, a zero your
// discriminator outside Down/AdminDown, and the authentication bit (we never configure
// authentication, so §6.8.6 says a packet with A set is discarded). The checks that need the
// session table (your discriminator naming no session, addresses not matching it) live in the
// manager. A bad packet is a value — `{ ok: false, reason }` with a reason from a closed list so it
// can be counted — never an exception: a datagram from the network must not be able to throw.
//
// Not here: the authentication section formats (§4.2–4.4) — we never send them and drop packets
// that carry them — and the Echo function.
import { BfdEncodeError } from './errors.js';

export type BfdState = 'AdminDown' | 'Down' | 'Init' | 'Up';

/** Sta field values (§4.1), indexed by code. */
export const STATE_CODES: readonly BfdState[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** Diag field names (§4.1); codes 9–31 are reserved and named by number. */
export const DIAGNOSTICS = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
] as const;

export const Diag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;

export function diagnosticName(code: number): string {
  return DIAGNOSTICS[code] ?? `Reserved (${code})`;
}

/** Version 1 is the only one RFC 5880 defines. */
export const BFD_VERSION = 1;
/** Mandatory section length; the authentication section adds at least 2 octets (§6.8.6). */
export const CONTROL_PACKET_LENGTH = 24;
const MIN_LENGTH_WITH_AUTH = 26;

export interface BfdControlPacket {
  diagnostic: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** C: the transmitting system's BFD does not share fate with its control plane. */
  controlPlaneIndependent: boolean;
  /** A: an authentication section follows (we decode the flag only to reject it). */
  authenticationPresent: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** All intervals in microseconds, as on the wire. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

/** Why a received datagram was discarded; the manager counts drops by this name. */
export type BfdDropReason =
  | 'too-short'
  | 'bad-version'
  | 'bad-length'
  | 'length-exceeds-payload'
  | 'zero-detect-mult'
  | 'multipoint'
  | 'zero-my-discriminator'
  | 'zero-your-discriminator-not-down'
  | 'authentication-not-configured'
  // Session-dependent checks (manager):
  | 'unknown-discriminator'
  | 'no-session-for-addresses'
  | 'address-mismatch';

export type DecodeResult = { ok: true; packet: BfdControlPacket } | { ok: false; reason: BfdDropReason; detail: string };

const drop = (reason: BfdDropReason, detail: string): DecodeResult => ({ ok: false, reason, detail });

/** Parse one datagram payload and apply the session-independent checks of §6.8.6, in RFC order. */
export function decodeControlPacket(data: Uint8Array): DecodeResult {
  // The fixed header is read before the length field can be trusted, so anything shorter than
  // the mandatory section cannot be a packet at all.
  if (data.length < CONTROL_PACKET_LENGTH) return drop('too-short', `${data.length} octets, need ${CONTROL_PACKET_LENGTH}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const b0 = view.getUint8(0);
  const b1 = view.getUint8(1);
  const version = b0 >> 5;
  if (version !== BFD_VERSION) return drop('bad-version', `version ${version}`);
  const authenticationPresent = (b1 & 0x04) !== 0;
  const length = view.getUint8(3);
  const minLength = authenticationPresent ? MIN_LENGTH_WITH_AUTH : CONTROL_PACKET_LENGTH;
  if (length < minLength) return drop('bad-length', `length field ${length} < ${minLength}`);
  if (length > data.length) return drop('length-exceeds-payload', `length field ${length} > ${data.length} octets received`);
  const detectMult = view.getUint8(2);
  if (detectMult === 0) return drop('zero-detect-mult', 'detect multiplier 0');
  const multipoint = (b1 & 0x01) !== 0;
  if (multipoint) return drop('multipoint', 'M bit set');
  const myDiscriminator = view.getUint32(4);
  if (myDiscriminator === 0) return drop('zero-my-discriminator', 'my discriminator 0');
  const state = STATE_CODES[b1 >> 6] as BfdState;
  const yourDiscriminator = view.getUint32(8);
  if (yourDiscriminator === 0 && state !== 'Down' && state !== 'AdminDown') {
    return drop('zero-your-discriminator-not-down', `your discriminator 0 in state ${state}`);
  }
  if (authenticationPresent) return drop('authentication-not-configured', 'A bit set but no authentication configured');
  return {
    ok: true,
    packet: {
      diagnostic: b0 & 0x1f,
      state,
      poll: (b1 & 0x20) !== 0,
      final: (b1 & 0x10) !== 0,
      controlPlaneIndependent: (b1 & 0x08) !== 0,
      authenticationPresent,
      demand: (b1 & 0x02) !== 0,
      multipoint,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxUs: view.getUint32(12),
      requiredMinRxUs: view.getUint32(16),
      requiredMinEchoRxUs: view.getUint32(20),
    },
  };
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new BfdEncodeError(name, value, `0..${max}`);
}

/**
 * Serialise a packet without an authentication section (24 octets). Throws BfdEncodeError for a
 * field that does not fit: that is a bug in the caller, not a network condition.
 */
export function encodeControlPacket(p: BfdControlPacket): Buffer {
  checkField('diagnostic', p.diagnostic, 31);
  checkField('detectMult', p.detectMult, 255);
  for (const [name, value] of [
    ['myDiscriminator', p.myDiscriminator],
    ['yourDiscriminator', p.yourDiscriminator],
    ['desiredMinTxUs', p.desiredMinTxUs],
    ['requiredMinRxUs', p.requiredMinRxUs],
    ['requiredMinEchoRxUs', p.requiredMinEchoRxUs],
  ] as const) {
    checkField(name, value, 0xffff_ffff);
  }
  if (p.authenticationPresent) throw new BfdEncodeError('authenticationPresent', 1, 'authentication is not supported');
  const out = Buffer.alloc(CONTROL_PACKET_LENGTH);
  out.writeUInt8((BFD_VERSION << 5) | p.diagnostic, 0);
  const flags =
    (STATE_CODES.indexOf(p.state) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.controlPlaneIndependent ? 0x08 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  out.writeUInt8(flags, 1);
  out.writeUInt8(p.detectMult, 2);
  out.writeUInt8(CONTROL_PACKET_LENGTH, 3);
  out.writeUInt32BE(p.myDiscriminator, 4);
  out.writeUInt32BE(p.yourDiscriminator, 8);
  out.writeUInt32BE(p.desiredMinTxUs, 12);
  out.writeUInt32BE(p.requiredMinRxUs, 16);
  out.writeUInt32BE(p.requiredMinEchoRxUs, 20);
  return out;
}
