// Benchmark: BGP codec throughput in prefixes per second, decoded (through the MessageReader, fed
// in 64 KiB chunks as a socket would) and encoded, for realistic UPDATE streams: a packed table
// (many prefixes sharing one attribute set per UPDATE, as BIRD/GoBGP send a full table), an
// Internet-like mix (a few prefixes per UPDATE, varied AS paths and communities), and the same two
// for IPv6 in MP_REACH_NLRI. Every prefix is counted back after decoding, so a fast but lossy
// run cannot pass. Prints a table (best of N runs); optionally writes JSON.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { encodeInto, MessageReader, Writer, type CodecOptions, type PathAttributes, type UpdateMessage } from '../src/bgp/wire/index.js';

export interface BgpCodecBenchOptions {
  /** Prefixes per scenario. */
  prefixes?: number;
  runs?: number;
  json?: string;
}

interface Scenario {
  name: string;
  updates: UpdateMessage[];
  prefixes: number;
}

interface Result {
  scenario: string;
  prefixes: number;
  updates: number;
  bytes: number;
  decodePrefixesPerSec: number;
  encodePrefixesPerSec: number;
  decodeMBPerSec: number;
}

const OPTIONS: CodecOptions = { fourOctetAs: true, extendedMessage: false };

function attrs(i: number, v6: boolean): PathAttributes {
  const a: PathAttributes = {
    origin: 0,
    asPath: [{ type: 'sequence', asns: [65001, 174 + (i % 50), 3356 + (i % 7), 4200000000 + (i % 1000)].slice(0, 2 + (i % 3)) }],
    med: i % 100,
    communities: [65001 * 65536 + (i % 10), 65001 * 65536 + 1000 + (i % 3)],
  };
  if (i % 4 === 0) a.largeCommunities = [[65001, 1, i % 17]];
  if (!v6) a.nextHop = `192.0.2.${1 + (i % 200)}`;
  return a;
}

function v6prefix(n: number): string {
  return `2001:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::/48`;
}

/** Fill UPDATEs up to ~4096 octets: `perUpdate` prefixes (or as many as fit) per attribute set. */
function build(name: string, total: number, perUpdate: number, v6: boolean): Scenario {
  const updates: UpdateMessage[] = [];
  let n = 0;
  let i = 0;
  // Conservative capacities for a 4096-octet message: /24 = 4 octets; /48 = 7 octets.
  const cap = Math.min(perUpdate, v6 ? 560 : 990);
  while (n < total) {
    const count = Math.min(cap, total - n);
    const a = attrs(i++, v6);
    if (v6) {
      const nlri: string[] = [];
      for (let k = 0; k < count; k++) nlri.push(v6prefix(n + k));
      a.mpReach = { afi: 2, safi: 1, nextHop: '2001:db8::1', nextHopLinkLocal: 'fe80::1', nlri };
      updates.push({ type: 'update', withdrawn: [], attributes: a, nlri: [] });
    } else {
      const nlri: number[] = [];
      // 1.0.0.0/24 upward: address * 64 + length.
      for (let k = 0; k < count; k++) nlri.push((0x01000000 + (n + k) * 256) * 64 + 24);
      updates.push({ type: 'update', withdrawn: [], attributes: a, nlri });
    }
    n += count;
  }
  return { name, updates, prefixes: total };
}

function encodeAll(updates: UpdateMessage[]): Buffer {
  const w = new Writer(1 << 20);
  for (const u of updates) encodeInto(w, u, OPTIONS);
  return Buffer.from(w.result());
}

function decodeAll(stream: Buffer): number {
  const r = new MessageReader(OPTIONS);
  let prefixes = 0;
  for (let off = 0; off < stream.length; off += 65536) {
    r.push(stream.subarray(off, off + 65536));
    for (let m = r.next(); m !== undefined; m = r.next()) {
      if (m.type !== 'update') continue;
      prefixes += m.nlri.length + (m.attributes.mpReach?.nlri.length ?? 0);
    }
  }
  return prefixes;
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min / 1000;
}

export async function runBgpCodecBench(options: BgpCodecBenchOptions = {}): Promise<Result[]> {
  const total = options.prefixes ?? 1_000_000;
  const runs = options.runs ?? 3;
  const scenarios = [
    build('IPv4 packed (shared attributes)', total, 10_000, false),
    build('IPv4 Internet-like (4/UPDATE)', total, 4, false),
    build('IPv6 MP_REACH packed', total, 10_000, true),
    build('IPv6 MP_REACH Internet-like (4/UPDATE)', total, 4, true),
  ];
  const results: Result[] = [];
  for (const s of scenarios) {
    const stream = encodeAll(s.updates);
    const got = decodeAll(stream);
    if (got !== s.prefixes) throw new Error(`${s.name}: decoded ${got} prefixes, expected ${s.prefixes}`);
    const enc = best(runs, () => encodeAll(s.updates));
    const dec = best(runs, () => decodeAll(stream));
    results.push({
      scenario: s.name,
      prefixes: s.prefixes,
      updates: s.updates.length,
      bytes: stream.length,
      decodePrefixesPerSec: Math.round(s.prefixes / dec),
      encodePrefixesPerSec: Math.round(s.prefixes / enc),
      decodeMBPerSec: Math.round((stream.length / dec / 1e6) * 10) / 10,
    });
  }
  const fmt = (n: number): string => n.toLocaleString('en-US');
  console.log(`BGP codec throughput, best of ${runs} runs, ${fmt(total)} prefixes per scenario (4-octet AS, 4096-octet messages)`);
  console.table(
    results.map((r) => ({
      scenario: r.scenario,
      UPDATEs: fmt(r.updates),
      MB: Math.round(r.bytes / 1e5) / 10,
      'decode prefixes/s': fmt(r.decodePrefixesPerSec),
      'decode MB/s': r.decodeMBPerSec,
      'encode prefixes/s': fmt(r.encodePrefixesPerSec),
    })),
  );
  if (options.json !== undefined) writeFileSync(options.json, JSON.stringify(results, null, 2));
  return results;
}
