// Integer arithmetic on IP prefixes (bigint, IPv4 and IPv6 alike) for the address plan: subnet
// sizes, alignment, containment, first/last subnet, first host. Pure functions over the canonical
// strings of src/net/addr.ts.
//
// Not an allocator (the etcd registry allocates) and not a parser of user input: callers parse
// with src/net/addr.ts first and report their own errors.
import { bytesToIp, ipToBytes, parseCidr, type Family } from './addr.js';

export function bitsOf(family: Family): number {
  return family === 4 ? 32 : 128;
}

export function ipToBigInt(address: string): bigint {
  let n = 0n;
  for (const b of ipToBytes(address)) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigIntToIp(n: bigint, family: Family): string {
  const len = family === 4 ? 4 : 16;
  const bytes = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return bytesToIp(bytes);
}

/** The netmask of a prefix length as an integer ("/24" of IPv4 → 0xffffff00). */
export function maskOf(prefixLen: number, family: Family): bigint {
  return ((1n << BigInt(prefixLen)) - 1n) << BigInt(bitsOf(family) - prefixLen);
}

/** Number of addresses in a prefix of length `prefixLen`. */
export function sizeOf(prefixLen: number, family: Family): bigint {
  return 1n << BigInt(bitsOf(family) - prefixLen);
}

export interface PrefixRange {
  family: Family;
  prefixLen: number;
  /** First address (the network address). */
  start: bigint;
  /** Last address. */
  end: bigint;
}

export function rangeOf(prefix: string): PrefixRange {
  const cidr = parseCidr(prefix);
  const size = sizeOf(cidr.prefixLen, cidr.family);
  const start = (ipToBigInt(cidr.address) / size) * size;
  return { family: cidr.family, prefixLen: cidr.prefixLen, start, end: start + size - 1n };
}

export function isAligned(address: string, prefixLen: number, family: Family): boolean {
  return ipToBigInt(address) % sizeOf(prefixLen, family) === 0n;
}

/** The first usable host of a subnet ("10.244.3.0/24" → "10.244.3.1"): the pods' gateway. */
export function firstHost(subnet: string): string {
  const range = rangeOf(subnet);
  return bigIntToIp(range.start + 1n, range.family);
}
