// Unit tests of src/net/addr.ts, the one place addresses are parsed: IPv4/IPv6 text ↔ bytes,
// CIDR prefixes and their network form, MAC addresses, and the errors for everything refused.
// Properties (fast-check) pin the round trips; examples pin the canonical forms and the refusals.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AddressError,
  afOf,
  bytesToIp,
  bytesToMac,
  canonicalPrefix,
  familyOf,
  familyOfAf,
  formatCidr,
  ipToBytes,
  macToBytes,
  networkOf,
  parseCidr,
  parseIp,
  parseMac,
} from '../../src/net/addr.js';

const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('IP addresses', () => {
  it.each([
    ['192.0.2.1', 4, '192.0.2.1'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['2001:db8::1', 6, '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', 6, '2001:db8::1'],
    ['::', 6, '::'],
    ['::ffff:192.0.2.1', 6, '::ffff:c000:201'],
  ])('parses %s as IPv%d, canonical %s', (input, family, canonical) => {
    expect(parseIp(input)).toEqual({ family, address: canonical });
    expect(familyOf(input)).toBe(family);
    expect(bytesToIp(ipToBytes(input))).toBe(canonical);
  });

  it.each(['', '192.0.2', '10.1', '192.0.2.256', '192.0.2.1/24', 'fe80::1%eth0', '2001:db8::/32', '2001:db8:::1', 'host.example', ' 192.0.2.1', '010.0.0.1'])(
    'refuses %j with an AddressError naming the input',
    (input) => {
      const error = (() => {
        try {
          parseIp(input);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(AddressError);
      expect(error).toMatchObject({ input, expected: 'IP address', message: `invalid IP address: "${input}"` });
    },
  );

  it('converts to network byte order', () => {
    expect([...ipToBytes('192.0.2.1')]).toEqual([192, 0, 2, 1]);
    expect([...ipToBytes('2001:db8::1')]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('ipToBytes refuses exactly what parseIp refuses, fast path included', () => {
    // Leading zeros are octal to some parsers (inet_aton reads 010.0.0.1 as 8.0.0.1): refuse them.
    for (const input of ['010.0.0.1', '1.2.3.04', '192.0.2.256', '10.1', '1.2.3.4.5']) {
      expect(() => parseIp(input), input).toThrow(AddressError);
      expect(() => ipToBytes(input), input).toThrow(AddressError);
    }
    fc.assert(
      fc.property(fc.array(fc.constantFrom('0', '1', '2', '5', '9', '.'), { maxLength: 16 }), (chars) => {
        const input = chars.join('');
        let parsed: string | undefined;
        try {
          parsed = parseIp(input).address;
        } catch {
          parsed = undefined;
        }
        if (parsed === undefined) expect(() => ipToBytes(input)).toThrow();
        else expect(bytesToIp(ipToBytes(input))).toBe(parsed);
      }),
    );
  });

  it('the dotted-quad fast paths answer exactly what ipaddr.js answers (property)', () => {
    const oracle = (input: string): string | undefined =>
      ipaddr.isValid(input) && !input.includes('%') && !input.includes('/') && (input.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(input)) ? ipaddr.parse(input).toString() : undefined;
    fc.assert(
      fc.property(fc.array(fc.constantFrom('0', '1', '2', '5', '6', '9', '.'), { maxLength: 16 }), (chars) => {
        const input = chars.join('');
        let parsed: string | undefined;
        try {
          parsed = parseIp(input).address;
        } catch {
          parsed = undefined;
        }
        expect(parsed, input).toBe(oracle(input));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(bytes4, (bytes) => {
        expect(bytesToIp(bytes)).toBe(ipaddr.fromByteArray([...bytes]).toString());
      }),
    );
  });

  it('round-trips any 4 or 16 bytes through text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(bytes4, bytes16), (bytes) => {
        const text = bytesToIp(bytes);
        expect(parseIp(text).address).toBe(text);
        expect([...ipToBytes(text)]).toEqual([...bytes]);
      }),
    );
  });

  it('round-trips generated IPv4 and IPv6 text to its canonical form (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const { address } = parseIp(text);
        expect(bytesToIp(ipToBytes(text))).toBe(address);
        expect(parseIp(address).address).toBe(address);
      }),
    );
  });

  it('refuses byte strings that are not 4 or 16 long', () => {
    expect(() => bytesToIp(new Uint8Array(5))).toThrow('IP address of 5 bytes');
  });

  it('maps families to and from address-family numbers', () => {
    expect(afOf(4)).toBe(AF_INET);
    expect(afOf(6)).toBe(AF_INET6);
    expect(familyOfAf(2)).toBe(4);
    expect(familyOfAf(10)).toBe(6);
    expect(() => familyOfAf(7)).toThrow('not an IP address family: 7');
  });
});

describe('CIDR prefixes', () => {
  it.each([
    ['198.51.100.7/24', { family: 4, address: '198.51.100.7', prefixLen: 24 }],
    ['0.0.0.0/0', { family: 4, address: '0.0.0.0', prefixLen: 0 }],
    ['192.0.2.1/32', { family: 4, address: '192.0.2.1', prefixLen: 32 }],
    ['2001:DB8::7/64', { family: 6, address: '2001:db8::7', prefixLen: 64 }],
    ['::/0', { family: 6, address: '::', prefixLen: 0 }],
  ])('parses %s keeping the address as written (canonicalised)', (input, expected) => {
    expect(parseCidr(input)).toEqual(expected);
  });

  it.each(['192.0.2.1', '192.0.2.1/33', '2001:db8::/129', '192.0.2.1/-1', '192.0.2.1/', '192.0.2.1/2a', '192.0.2.1/0024', '10.1/8', 'x/24'])('refuses %j', (input) => {
    expect(() => parseCidr(input)).toThrow(AddressError);
  });

  it.each([
    ['198.51.100.77/24', '198.51.100.0/24'],
    ['198.51.100.77/25', '198.51.100.0/25'],
    ['198.51.100.200/25', '198.51.100.128/25'],
    ['198.18.255.255/15', '198.18.0.0/15'],
    ['192.0.2.1/32', '192.0.2.1/32'],
    ['192.0.2.1/0', '0.0.0.0/0'],
    ['2001:db8:1:2:3:4:5:6/64', '2001:db8:1:2::/64'],
    ['2001:db8:ffff::1/33', '2001:db8:8000::/33'],
  ])('networkOf(%s) is %s', (input, network) => {
    expect(formatCidr(networkOf(parseCidr(input)))).toBe(network);
    expect(canonicalPrefix(input)).toBe(network);
  });

  it('networkOf clears exactly the host bits, and is idempotent (property)', () => {
    const prefix = fc.oneof(
      fc.tuple(bytes4, fc.integer({ min: 0, max: 32 })),
      fc.tuple(bytes16, fc.integer({ min: 0, max: 128 })),
    );
    fc.assert(
      fc.property(prefix, ([bytes, prefixLen]) => {
        const cidr = parseCidr(`${bytesToIp(bytes)}/${prefixLen}`);
        const network = networkOf(cidr);
        expect(network.prefixLen).toBe(prefixLen);
        expect(networkOf(network)).toEqual(network);
        const before = ipToBytes(cidr.address);
        const after = ipToBytes(network.address);
        for (let bit = 0; bit < before.length * 8; bit++) {
          const set = (b: Buffer): number => (b[bit >> 3]! >> (7 - (bit & 7))) & 1;
          expect(set(after)).toBe(bit < prefixLen ? set(before) : 0);
        }
        expect(parseCidr(formatCidr(cidr))).toEqual(cidr);
      }),
    );
  });
});

describe('MAC addresses', () => {
  it('parses to lower case and converts to and from bytes', () => {
    expect(parseMac('02:00:5E:00:00:0A')).toBe('02:00:5e:00:00:0a');
    expect([...macToBytes('02:00:5e:00:00:0a')]).toEqual([2, 0, 0x5e, 0, 0, 10]);
    expect(bytesToMac(Uint8Array.from([2, 0, 0x5e, 0, 0, 10]))).toBe('02:00:5e:00:00:0a');
  });

  it.each(['', '02:00:5e:00:00', '02:00:5e:00:00:0a:0b', '02-00-5e-00-00-0a', '0200.5e00.000a', '02:00:5e:00:00:0g', '2:0:5e:0:0:a'])('refuses %j with an AddressError', (input) => {
    expect(() => parseMac(input)).toThrow(AddressError);
    expect(() => macToBytes(input)).toThrow(`invalid MAC address: "${input}"`);
  });

  it('round-trips any 6 bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const mac = bytesToMac(bytes);
        expect(parseMac(mac)).toBe(mac);
        expect([...macToBytes(mac)]).toEqual([...bytes]);
      }),
    );
  });
});
