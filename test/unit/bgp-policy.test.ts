// Policy: prefix-list parsing (with the errors a user sees), matching semantics of ge/le,
// communities, well-known community rules, the max-prefix Cease data (RFC 4486).
import { describe, expect, it } from 'vitest';
import {
  PeerPolicy,
  PolicyError,
  PrefixList,
  PrefixListError,
  formatCommunity,
  maxPrefixCeaseData,
  parseCommunity,
  parseLargeCommunity,
  parsePrefixListEntry,
  wellKnownAllows,
} from '../../src/bgp/policy.js';
import { NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED } from '../../src/bgp/rib/attributes.js';
import { prefixKey } from '../../src/bgp/rib/prefix.js';

describe('prefix list parsing', () => {
  it('parses CIDR, ge and le', () => {
    expect(parsePrefixListEntry('10.0.0.0/8')).toMatchObject({ action: 'permit', afi: 'ipv4', length: 8, min: 8, max: 8 });
    expect(parsePrefixListEntry('10.0.0.0/8 ge 24')).toMatchObject({ min: 24, max: 32 });
    expect(parsePrefixListEntry('10.0.0.0/8 le 16')).toMatchObject({ min: 8, max: 16 });
    expect(parsePrefixListEntry('  deny 10.0.0.0/8 ge 16 le 24 ')).toMatchObject({ action: 'deny', min: 16, max: 24 });
    expect(parsePrefixListEntry('2001:db8::/32 le 64')).toMatchObject({ afi: 'ipv6', min: 32, max: 64 });
    expect(parsePrefixListEntry('0.0.0.0/0 le 32')).toMatchObject({ min: 0, max: 32 });
  });

  it.each([
    ['', /missing CIDR/],
    ['10.0.0.0', /not a prefix/],
    ['10.0.0.1/8', /host bits set \(did you mean 10\.0\.0\.0\/8\?\)/],
    ['10.0.0.0/33', /over 32/],
    ['300.0.0.0/8', /not an IPv4 address/],
    ['2001:db8::/129', /over 128/],
    ['2001:db8:::/32', /not an IPv6 address/],
    ['10.0.0.0/8 ge', /"ge" needs a prefix length, got nothing/],
    ['10.0.0.0/8 ge x', /"ge" needs a prefix length, got "x"/],
    ['10.0.0.0/8 ge 33', /ge 33 is over 32/],
    ['10.0.0.0/16 le 8', /le 8 is shorter than the prefix length 16/],
    ['10.0.0.0/8 ge 24 le 16', /ge 24 is greater than le 16/],
    ['10.0.0.0/8 le 24 ge 16', /"ge" must come before "le"/],
    ['10.0.0.0/8 ge 16 ge 17', /"ge" given twice/],
    ['10.0.0.0/8 eq 16', /unexpected "eq"/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePrefixListEntry(text)).toThrow(PrefixListError);
    expect(() => parsePrefixListEntry(text)).toThrow(message);
  });

  it('names the entry in the error', () => {
    expect(() => new PrefixList(['10.0.0.0/8', '192.0.2.0/24 le 8'])).toThrow('prefix list entry "192.0.2.0/24 le 8"');
  });
});

describe('prefix list matching', () => {
  const list = new PrefixList(['deny 10.1.0.0/16 le 32', '10.0.0.0/8 ge 24 le 28', '192.0.2.0/24', '2001:db8::/32 ge 48 le 64']);
  it.each([
    ['10.2.3.0/24', true],
    ['10.2.3.16/28', true],
    ['10.2.3.0/29', false],
    ['10.2.0.0/16', false],
    ['10.1.3.0/24', false], // the deny entry matches first
    ['11.0.0.0/24', false],
    ['192.0.2.0/24', true],
    ['192.0.2.0/25', false],
    ['2001:db8:1::/48', true],
    ['2001:db8:1:2::/64', true],
    ['2001:db8::/32', false],
    ['2001:db9::/48', false],
  ])('%s → %s', (prefix, permitted) => {
    expect(list.permits(prefixKey(prefix))).toBe(permitted);
  });

  it('denies by default and keeps families apart', () => {
    expect(new PrefixList([]).permits(prefixKey('192.0.2.0/24'))).toBe(false);
    expect(new PrefixList(['0.0.0.0/0 le 32']).permits(prefixKey('2001:db8::/32'))).toBe(false);
    expect(new PrefixList(['::/0 le 128']).permits(prefixKey('2001:db8::/32'))).toBe(true);
  });
});

describe('communities', () => {
  it('parses AS:VALUE and well-known names', () => {
    expect(parseCommunity('65000:100')).toBe(65000 * 65536 + 100);
    expect(formatCommunity(parseCommunity('65000:100'))).toBe('65000:100');
    expect(parseCommunity('no-export')).toBe(NO_EXPORT);
    expect(parseCommunity('NO-ADVERTISE')).toBe(NO_ADVERTISE);
    expect(() => parseCommunity('65536:1')).toThrow(PolicyError);
    expect(() => parseCommunity('abc')).toThrow(/expected AS:VALUE/);
    expect(parseLargeCommunity('4200000000:1:2')).toEqual([4200000000, 1, 2]);
    expect(() => parseLargeCommunity('1:2')).toThrow(/GA:LD1:LD2/);
  });

  it('applies RFC 1997 well-known communities', () => {
    expect(wellKnownAllows([NO_ADVERTISE], { external: false })).toBe(false);
    expect(wellKnownAllows([NO_EXPORT], { external: true })).toBe(false);
    expect(wellKnownAllows([NO_EXPORT], { external: false })).toBe(true);
    expect(wellKnownAllows([NO_EXPORT], { external: true, confederationMember: true })).toBe(true);
    expect(wellKnownAllows([NO_EXPORT_SUBCONFED], { external: true, confederationMember: true })).toBe(false);
    expect(wellKnownAllows([NO_EXPORT_SUBCONFED], { external: false })).toBe(true);
    expect(wellKnownAllows([parseCommunity('65000:1')], { external: true })).toBe(true);
  });
});

describe('max-prefix', () => {
  it('is exceeded above the limit, not at it', () => {
    const p = new PeerPolicy({ maxPrefix: { limit: 2 } });
    expect(p.exceedsMaxPrefix(2)).toBe(false);
    expect(p.exceedsMaxPrefix(3)).toBe(true);
    expect(new PeerPolicy().exceedsMaxPrefix(1e9)).toBe(false);
    expect(() => new PeerPolicy({ maxPrefix: { limit: 0 } })).toThrow(/positive integer/);
  });

  it('encodes the Cease data as AFI, SAFI, limit (RFC 4486 §4)', () => {
    expect([...maxPrefixCeaseData('ipv4', 1000)]).toEqual([0, 1, 1, 0, 0, 0x03, 0xe8]);
    expect([...maxPrefixCeaseData('ipv6', 70000)]).toEqual([0, 2, 1, 0, 1, 0x11, 0x70]);
  });

  it('filters import and export by prefix list; no list accepts all', () => {
    const p = new PeerPolicy({ importPrefixes: ['10.0.0.0/8 le 24'], exportPrefixes: ['192.0.2.0/24'] });
    expect(p.accepts(prefixKey('10.1.0.0/16'))).toBe(true);
    expect(p.accepts(prefixKey('10.1.1.0/25'))).toBe(false);
    expect(p.exports(prefixKey('192.0.2.0/24'))).toBe(true);
    expect(p.exports(prefixKey('10.1.0.0/16'))).toBe(false);
    expect(new PeerPolicy().accepts(prefixKey('10.1.1.0/25'))).toBe(true);
  });
});
