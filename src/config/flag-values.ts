// The grammar of the daemon's non-trivial flag values: Go-style durations (--resync), listen
// addresses (--health-addr) and comma-separated regular expressions (WEFT_IFACE_REGEX). Each parser
// reports a bad value through the caller's `fail(expected)`, so the caller names the flag.
// Not here: which flag takes which value, defaults, precedence (daemon-config.ts).
import { parseIp } from '../net/addr.js';

/** Reports a bad value: `expected` completes "expected …"; never returns. */
export type FailWith = (expected: string) => never;

export interface HostPort {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or ":port" (all addresses); port 0–65535 (0: any free port). */
export function parseHostPort(value: string, fail: FailWith): HostPort {
  const expected = 'host:port, [IPv6]:port or :port, with a port 0–65535';
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value);
  if (!m) return fail(expected);
  const port = Number(m[3]);
  if (port > 65535) return fail(expected);
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined) {
    try {
      if (parseIp(host).family !== 6) return fail(expected);
    } catch {
      return fail(expected);
    }
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MIN_RESYNC_MS = 100;
const MAX_RESYNC_MS = 24 * 3_600_000;

/** Go-style durations: "10s", "1m30s", "500ms", "1h" (100 ms to 24 h). */
export function parseDuration(value: string, fail: FailWith): number {
  const expected = 'a duration like 10s, 1m30s or 500ms (100ms–24h)';
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) return fail(expected);
  let total = 0;
  for (const part of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  total = Math.round(total);
  if (total < MIN_RESYNC_MS || total > MAX_RESYNC_MS) return fail(expected);
  return total;
}

/** Splits a comma-separated list of regular expressions, keeping commas inside {m,n}, […] and (…). */
export function splitRegexList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i]!;
      continue;
    }
    if (c === '{' || c === '[' || c === '(') depth++;
    if ((c === '}' || c === ']' || c === ')') && depth > 0) depth--;
    if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}
