// Prefix lists for import/export policy: entries written "CIDR[ ge N][ le N]", optionally led by
// "permit" or "deny", matched first-hit-wins like FRR/Cisco `ip prefix-list`; a prefix no entry
// matches is denied. Parsing is strict and says what is wrong, because a policy that silently
// matches nothing (or everything) is the worst kind of misconfiguration.
//
// Matching semantics: without ge/le an entry matches exactly its prefix; `ge N` matches lengths
// N..max inside the CIDR, `le N` lengths CIDR-len..N, both give N..M. IPv4 entries never match
// IPv6 prefixes and vice versa.
import { parsePrefix, parseIpv6, ipv4KeyAddress, ipv4KeyLength, PrefixError, type Afi, type PrefixKey } from './prefix.js';

export interface PrefixListEntry {
  readonly action: 'permit' | 'deny';
  readonly afi: Afi;
  /** IPv4: the network address as a number; IPv6: 16 bytes. */
  readonly network: number | Uint8Array;
  readonly length: number;
  readonly min: number;
  readonly max: number;
  readonly text: string;
}

export class PrefixListError extends PrefixError {
  constructor(message: string) {
    super(message);
    this.name = 'PrefixListError';
  }
}

/** Parse one entry; throws PrefixListError naming the entry and the problem. */
export function parsePrefixListEntry(text: string): PrefixListEntry {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const fail = (why: string): PrefixListError => new PrefixListError(`prefix list entry "${text}": ${why}`);
  let action: 'permit' | 'deny' = 'permit';
  if (words[0] === 'permit' || words[0] === 'deny') action = words.shift() as 'permit' | 'deny';
  const cidr = words.shift();
  if (cidr === undefined) throw fail('missing CIDR (expected "CIDR[ ge N][ le N]")');
  let parsed;
  try {
    parsed = parsePrefix(cidr);
  } catch (err) {
    throw fail((err as Error).message);
  }
  const maxLen = parsed.afi === 'ipv4' ? 32 : 128;
  let ge: number | undefined;
  let le: number | undefined;
  while (words.length > 0) {
    const keyword = words.shift();
    const value = words.shift();
    if (keyword !== 'ge' && keyword !== 'le') throw fail(`unexpected "${keyword}" (expected "ge N" or "le N")`);
    if (value === undefined || !/^\d{1,3}$/.test(value)) throw fail(`"${keyword}" needs a prefix length, got ${value === undefined ? 'nothing' : `"${value}"`}`);
    const n = Number(value);
    if (n > maxLen) throw fail(`${keyword} ${n} is over ${maxLen}`);
    if (n < parsed.length) throw fail(`${keyword} ${n} is shorter than the prefix length ${parsed.length}`);
    if (keyword === 'ge') {
      if (ge !== undefined) throw fail('"ge" given twice');
      if (le !== undefined) throw fail('"ge" must come before "le"');
      ge = n;
    } else {
      if (le !== undefined) throw fail('"le" given twice');
      le = n;
    }
  }
  if (ge !== undefined && le !== undefined && ge > le) throw fail(`ge ${ge} is greater than le ${le}`);
  const min = ge ?? parsed.length;
  const max = le ?? (ge !== undefined ? maxLen : parsed.length);
  const network = parsed.afi === 'ipv4' ? ipv4KeyAddress(parsed.key as number) : parseIpv6((parsed.key as string).split('/')[0] ?? '');
  return { action, afi: parsed.afi, network, length: parsed.length, min, max, text };
}

function v4Inside(address: number, entry: PrefixListEntry): boolean {
  if (entry.length === 0) return true;
  const shift = 32 - entry.length;
  return Math.floor(address / 2 ** shift) === Math.floor((entry.network as number) / 2 ** shift);
}

function v6Inside(bytes: Uint8Array, entry: PrefixListEntry): boolean {
  const net = entry.network as Uint8Array;
  let bits = entry.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff00 >> bits) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** An ordered prefix list; `matches` is first-hit-wins, default deny. */
export class PrefixList {
  readonly entries: readonly PrefixListEntry[];

  constructor(entries: readonly string[]) {
    this.entries = entries.map(parsePrefixListEntry);
  }

  /** True when the list permits the prefix. */
  permits(key: PrefixKey): boolean {
    if (typeof key === 'number') {
      const address = ipv4KeyAddress(key);
      const length = ipv4KeyLength(key);
      for (const e of this.entries) {
        if (e.afi === 'ipv4' && length >= e.min && length <= e.max && v4Inside(address, e)) return e.action === 'permit';
      }
      return false;
    }
    const slash = key.indexOf('/');
    const length = Number(key.slice(slash + 1));
    let bytes: Uint8Array | undefined;
    for (const e of this.entries) {
      if (e.afi !== 'ipv6' || length < e.min || length > e.max) continue;
      bytes ??= parseIpv6(key.slice(0, slash));
      if (v6Inside(bytes, e)) return e.action === 'permit';
    }
    return false;
  }
}
