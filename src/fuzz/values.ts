// Mutation of JSON-shaped values and of the strings inside them, shared by the registry and config
// targets: the inputs there are documents (annotations, etcd values, net-conf.json, flags), so the
// interesting mistakes are a string that is almost an address, a number of the wrong kind, a value
// of the wrong type, a missing or unexpected key. Only JSON-representable values are produced
// (no undefined, NaN or -0), so a case survives its trip through a corpus file unchanged.
import type { Rng } from './rng.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Strings that are almost right, or classic trouble for parsers. */
export const NASTY_STRINGS: readonly string[] = [
  '', ' ', '\t', '\n', '\u0000', 'é', '💥', '\u202e', '%', '/', '//', ':', '::', ':::', '.', '..', '-', '+', '[', ']', '{', '}', ',', '"',
  '0', '00', '-1', '1e3', '0x10', '08', '4294967296', '99999999999999999999', '1.5', 'NaN', 'Infinity', 'true', 'null', '[]', '{}',
  '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '256.1.1.1', '0.0.0.0', '255.255.255.255', '127.0.0.1', '224.0.0.1', '169.254.0.1',
  '1.2.3.4/33', '1.2.3.4/-1', '1.2.3.4/', '/24', '10.244.3.0/024', '10.244.3.0/+24', '10.244.3.0/24/24', '10.244.3.0/ 24', '10.244.3.0/1e1',
  '::1', '::/0', '::ffff:10.244.3.1', '::ffff:10.244.3.0/120', 'fe80::1%eth0', 'fe80::1%', '[::1]', 'ff02::1', '2001:db8::/129', '2001:db8:::/64',
  '1:2:3:4:5:6:7:8:9', 'g::1', '2001:DB8::/64', '0:0:0:0:0:0:0:0/0', '::1.2.3.4', '1::2::3',
  '0a:58:0a:f4:00:01', '0A-58-0A-F4-00-01', '0a58.0af4.0001', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '0a:58:0a:f4:00', '0a:58:0a:f4:00:01:02',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
  '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:01"}', '{"ASN":64512}', '{"ASN":0}', '{"ASN":4294967296}', '{"ASN":1.5}', '{"ASN":"1"}', '{"VNI":-1,"VtepMAC":"0a:58:0a:f4:00:01"}',
  '{', '{"a":', '[[[[[[[[[[]]]]]]]]]]', '"str"', '{"__proto__":{"ASN":1}}', '{"constructor":{"prototype":{}}}',
  '10s', '0s', '1h1m1s1ms', '24h0ms', '24h1ms', '99ms', '1.5s', '.5s', '1d', '-1s', '1e3s', ':0', ':65536', '127.0.0.1:', '[::]:9420', '[1.2.3.4]:1', 'a:b:c',
  'vxlan', 'bgp', 'udp', 'host-gw', 'VXLAN', 'kube', 'etcd', 'http://127.0.0.1:2379', 'https://[::1]:2379/', 'http://:2379', 'ftp://x:1', 'http://a/b',
  '(', ')', '\\', '*', '(?<', '[a-', 'a{1,2', 'x'.repeat(300),
];

const CHARS = '0123456789abcdefABCDEF:./%-[]{}(),"\\ \t\n\u0000é💥_xyz';

export function mutateString(rng: Rng, s: string, pool: readonly string[]): string {
  switch (rng.below(9)) {
    case 0:
      return rng.pick(NASTY_STRINGS);
    case 1: {
      const at = rng.below(s.length + 1);
      return s.slice(0, at) + rng.pick([...CHARS]) + s.slice(at);
    }
    case 2: {
      if (s.length === 0) return s;
      const at = rng.below(s.length);
      return s.slice(0, at) + s.slice(at + 1 + rng.small(4));
    }
    case 3: {
      if (s.length === 0) return rng.pick([...CHARS]);
      const at = rng.below(s.length);
      return s.slice(0, at) + rng.pick([...CHARS]) + s.slice(at + 1);
    }
    case 4:
      return s.slice(0, rng.below(s.length + 1));
    case 5: {
      // Digits swapped for others: an address or a length that is valid but wrong (outside, overlapping).
      return s.replace(/\d+/g, (d) => (rng.chance(0.4) ? String(rng.chance(0.5) ? Number(d) + rng.int(-2, 2) : rng.pick([0, 1, 8, 16, 24, 25, 30, 32, 64, 128, 255, 256, 65535])) : d));
    }
    case 6:
      return s + rng.pick(pool);
    case 7:
      return rng.pick(pool);
    default: {
      const at = rng.below(s.length + 1);
      return s.slice(0, at) + s.slice(at, at + 1 + rng.small(8)).repeat(2) + s.slice(at + 1 + rng.small(8));
    }
  }
}

const NASTY_NUMBERS = [0, 1, -1, 2, 7, 8, 23, 24, 28, 30, 31, 32, 33, 64, 126, 127, 128, 129, 255, 256, 1279, 1280, 8472, 23456, 64512, 65535, 65536, 16777215, 16777216, 4294967295, 4294967296, 1.5, -0.5, 1e21, 2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 53, 1e-7];

/** A value of some other JSON type (or a nasty one of the same type). */
export function randomJson(rng: Rng, depth = 0): Json {
  switch (rng.below(depth > 2 ? 4 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(NASTY_NUMBERS);
    case 3:
      return rng.pick(NASTY_STRINGS);
    case 4:
      return Array.from({ length: rng.small(4) }, () => randomJson(rng, depth + 1));
    case 5: {
      const o: { [key: string]: Json } = {};
      for (let i = rng.small(4); i > 0; i--) o[rng.pick(['a', 'Type', 'VNI', 'ASN', 'Address', '__proto__', 'constructor', ''])] = randomJson(rng, depth + 1);
      return o;
    }
    default:
      return rng.pick(NASTY_NUMBERS) * (rng.chance(0.5) ? 1 : -1) || 0;
  }
}

/** Mutate one place of a JSON document (a fresh copy is returned; the input is not touched). */
export function mutateJson(rng: Rng, doc: Json, strings: readonly string[], keys: readonly string[]): Json {
  const copy = structuredClone(doc);
  // Pick a container and a key in it (or the root itself).
  const containers: { parent: Json[] | { [key: string]: Json }; key: string | number }[] = [];
  const walk = (v: Json): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        containers.push({ parent: v, key: i });
        walk(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        containers.push({ parent: v, key: k });
        walk(v[k] as Json);
      }
    }
  };
  walk(copy);
  if (containers.length === 0 || rng.chance(0.03)) return rng.chance(0.5) ? randomJson(rng) : copy;
  const { parent, key } = rng.pick(containers);
  const get = (): Json => (Array.isArray(parent) ? (parent[key as number] as Json) : (parent[key as string] as Json));
  const set = (v: Json): void => {
    if (Array.isArray(parent)) parent[key as number] = v;
    else Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true });
  };
  const here = get();
  switch (rng.below(6)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      break;
    case 1:
      set(randomJson(rng));
      break;
    case 2:
      if (typeof here === 'string') set(mutateString(rng, here, strings));
      else if (typeof here === 'number') set(rng.chance(0.5) ? rng.pick(NASTY_NUMBERS) : here + rng.int(-2, 2));
      else set(randomJson(rng));
      break;
    case 3:
      // An extra key next to this one (a typo, an unsupported field, or a prototype name).
      if (!Array.isArray(parent)) Object.defineProperty(parent, rng.chance(0.7) ? rng.pick(keys) : mutateString(rng, key as string, keys), { value: randomJson(rng), enumerable: true, writable: true, configurable: true });
      else parent.push(structuredClone(here));
      break;
    case 4:
      // The same type, another plausible value from the pool.
      set(typeof here === 'string' ? rng.pick(strings) : here);
      break;
    default:
      if (typeof here === 'string') set(mutateString(rng, mutateString(rng, here, strings), strings));
      else set(randomJson(rng));
  }
  return copy;
}
