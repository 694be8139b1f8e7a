// IP addresses, CIDR prefixes and MAC addresses as validated values, and their byte forms for
// netlink. Everything that crosses a boundary (config, registry, kernel) is parsed here once;
// the rest of weft passes these values around and never re-parses strings.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_BRIDGE = 7;

export class AddressError extends Error {
  constructor(
    readonly input: string,
    readonly expected: string,
  ) {
    super(`invalid ${expected}: "${input}"`);
    this.name = 'AddressError';
  }
}

export interface Cidr {
  family: Family;
  /** The address as written (not masked), canonical text form. */
  address: string;
  prefixLen: number;
}

export function afOf(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function familyOfAf(af: number): Family {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  throw new Error(`not an IP address family: ${af}`);
}

// No leading zeros: "010.0.0.1" is octal to inet_aton (8.0.0.1); it falls through to parseIp,
// which refuses it, instead of silently becoming 10.0.0.1 here.
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** Parses a plain IPv4 or IPv6 address (no prefix, no zone) to its canonical text. */
export function parseIp(input: string): { family: Family; address: string } {
  // A dotted quad without leading zeros is its own canonical form; spare it ipaddr.js's parser.
  const quad = DOTTED_QUAD.exec(input);
  if (quad !== null && Number(quad[1]) <= 255 && Number(quad[2]) <= 255 && Number(quad[3]) <= 255 && Number(quad[4]) <= 255) return { family: 4, address: input };
  if (!ipaddr.isValid(input) || input.includes('%') || input.includes('/')) {
    throw new AddressError(input, 'IP address');
  }
  // ipaddr.isValid accepts IPv4 shorthand like "10.1"; insist on four parts.
  if (!input.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(input)) {
    throw new AddressError(input, 'IP address');
  }
  const parsed = ipaddr.parse(input);
  return { family: parsed.kind() === 'ipv4' ? 4 : 6, address: parsed.toString() };
}

export function familyOf(address: string): Family {
  return parseIp(address).family;
}

export function ipToBytes(address: string): Buffer {
  // Dotted-quad fast path: the netlink layer converts thousands of addresses per reconcile.
  const quad = DOTTED_QUAD.exec(address);
  if (quad) {
    const bytes = [Number(quad[1]), Number(quad[2]), Number(quad[3]), Number(quad[4])];
    if (bytes.every((b) => b <= 255)) return Buffer.from(bytes);
  }
  parseIp(address); // rejects what ipaddr.js would accept but we do not (shorthand, zones)
  return Buffer.from(ipaddr.parse(address).toByteArray());
}

export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw new Error(`IP address of ${bytes.length} bytes`);
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}

export function parseCidr(input: string): Cidr {
  const slash = input.indexOf('/');
  if (slash < 0) throw new AddressError(input, 'CIDR prefix');
  const { family, address } = parseIp(input.slice(0, slash));
  const lenText = input.slice(slash + 1);
  const prefixLen = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || prefixLen > (family === 4 ? 32 : 128)) {
    throw new AddressError(input, 'CIDR prefix');
  }
  return { family, address, prefixLen };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefixLen}`;
}

/** The prefix with host bits cleared: "10.244.1.7/24" → "10.244.1.0/24". */
export function networkOf(cidr: Cidr): Cidr {
  const bytes = ipToBytes(cidr.address);
  for (let bit = cidr.prefixLen; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return { family: cidr.family, address: bytesToIp(bytes), prefixLen: cidr.prefixLen };
}

/** Canonical network form of a prefix string, for keys and comparisons. */
export function canonicalPrefix(input: string): string {
  return formatCidr(networkOf(parseCidr(input)));
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function parseMac(input: string): string {
  if (!MAC_RE.test(input)) throw new AddressError(input, 'MAC address');
  return input.toLowerCase();
}

export function macToBytes(mac: string): Buffer {
  return Buffer.from(parseMac(mac).split(':').map((h) => parseInt(h, 16)));
}

export function bytesToMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
