// Unit tests of the registry boundary: validateRemoteEntries (every skip reason, overlap
// decisions, normalisation, dual stack), sameNodes, plus a fast-check property that no input makes
// validation throw or let two overlapping subnets through.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/net/addr.js';
import { sameNodes, validateRemoteEntries, type RawNodeEntry } from '../../src/registry/validate.js';
import type { RegistryNetwork } from '../../src/registry/types.js';

const NET: RegistryNetwork = { network: '10.244.0.0/16', subnetLen: 24 };
const DUAL: RegistryNetwork = { ...NET, ipv6Network: 'fd00:10:244::/56', ipv6SubnetLen: 64 };

function entry(name: string, third: number, overrides: Partial<RawNodeEntry> = {}): RawNodeEntry {
  return {
    name,
    subnet: `10.244.${third}.0/24`,
    publicIP: `192.0.2.${third}`,
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: `0a:58:0a:f4:00:${third.toString(16).padStart(2, '0')}` },
    ...overrides,
  };
}

function reasons(raws: RawNodeEntry[], network = NET, extra: Partial<Parameters<typeof validateRemoteEntries>[1]> = {}): Record<string, string> {
  const { skipped } = validateRemoteEntries(raws, { network, ...extra });
  return Object.fromEntries(skipped.map((s) => [s.entry, s.reason]));
}

describe('validateRemoteEntries', () => {
  it('accepts good entries, normalises them, and sorts by name', () => {
    const { nodes, skipped } = validateRemoteEntries(
      [
        entry('node-b', 2),
        entry('node-a', 1, { backendData: '{"VNI":7,"VtepMAC":"0A:58:0A:F4:00:01","Extra":true}' }),
        entry('node-c', 3, { backendType: 'bgp', backendData: { ASN: 4294967295 } }),
      ],
      { network: NET },
    );
    expect(skipped).toEqual([]);
    expect(nodes).toEqual([
      { name: 'node-a', subnet: '10.244.1.0/24', publicIP: '192.0.2.1', backendType: 'vxlan', backendData: { VNI: 7, VtepMAC: '0a:58:0a:f4:00:01' } },
      { name: 'node-b', subnet: '10.244.2.0/24', publicIP: '192.0.2.2', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:02' } },
      { name: 'node-c', subnet: '10.244.3.0/24', publicIP: '192.0.2.3', backendType: 'bgp', backendData: { ASN: 4294967295 } },
    ]);
  });

  it('gives each kind of bad entry its reason, and keeps the good ones', () => {
    const got = reasons([
      entry('good', 1),
      entry('unparsable-json', 2, { backendData: '{"VNI":' }),
      entry('unparsable-shape', 3, { backendData: { VNI: 'x', VtepMAC: '0a:58:0a:f4:00:03' } }),
      entry('vni-too-big', 4, { backendData: { VNI: 2 ** 24, VtepMAC: '0a:58:0a:f4:00:04' } }),
      entry('bad-mac', 5, { backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00' } }),
      entry('multicast-mac', 6, { backendData: { VNI: 1, VtepMAC: '01:00:5e:00:00:01' } }),
      entry('bad-ip', 7, { publicIP: '10.1' }),
      entry('loopback-ip', 8, { publicIP: '127.0.0.1' }),
      entry('missing-ip', 9, { publicIP: undefined }),
      entry('bad-subnet', 10, { subnet: '10.244.10.0/40' }),
      entry('host-bits', 11, { subnet: '10.244.11.5/24' }),
      entry('not-a-string', 12, { subnet: 42 }),
      entry('outside', 13, { subnet: '10.245.13.0/24' }),
      entry('wider-than-network', 14, { subnet: '10.0.0.0/8' }),
      entry('unknown-backend', 15, { backendType: 'host-gw' }),
      entry('asn-zero', 16, { backendType: 'bgp', backendData: { ASN: 0 } }),
      entry('asn-too-big', 17, { backendType: 'bgp', backendData: { ASN: 4294967296 } }),
    ]);
    expect(got).toEqual({
      'unparsable-json': 'unparsable',
      'unparsable-shape': 'unparsable',
      'vni-too-big': 'unparsable',
      'bad-mac': 'bad-mac',
      'multicast-mac': 'bad-mac',
      'bad-ip': 'bad-ip',
      'loopback-ip': 'bad-ip',
      'missing-ip': 'bad-ip',
      'bad-subnet': 'bad-subnet',
      'host-bits': 'bad-subnet',
      'not-a-string': 'bad-subnet',
      outside: 'outside-network',
      'wider-than-network': 'outside-network',
      'unknown-backend': 'unknown-backend',
      'asn-zero': 'unparsable',
      'asn-too-big': 'unparsable',
    });
  });

  it('keeps a BGP node\'s VTEP (CrossSubnet) through the boundary, checked like VXLAN data\'s', () => {
    const bgp = (name: string, third: number, data: Record<string, unknown>): RawNodeEntry => entry(name, third, { backendType: 'bgp', backendData: data });
    const { nodes, skipped } = validateRemoteEntries(
      [
        bgp('vtep', 1, { ASN: 64512, VNI: 1, VtepMAC: '0A:58:0A:F4:00:01', Extra: true }),
        bgp('plain', 2, { ASN: 64512 }),
        bgp('mac-without-vni', 3, { ASN: 64512, VtepMAC: '0a:58:0a:f4:00:03' }),
        bgp('vni-without-mac', 4, { ASN: 64512, VNI: 1 }),
        bgp('vni-too-big', 5, { ASN: 64512, VNI: 2 ** 24, VtepMAC: '0a:58:0a:f4:00:05' }),
        bgp('multicast-mac', 6, { ASN: 64512, VNI: 1, VtepMAC: '01:00:5e:00:00:01' }),
        bgp('not-a-mac', 7, { ASN: 64512, VNI: 1, VtepMAC: 'zz' }),
      ],
      { network: NET },
    );
    expect(nodes.map((n) => [n.name, n.backendData])).toEqual([
      ['plain', { ASN: 64512 }],
      ['vtep', { ASN: 64512, VNI: 1, VtepMAC: '0a:58:0a:f4:00:01' }],
    ]);
    expect(Object.fromEntries(skipped.map((s) => [s.entry, s.reason]))).toEqual({
      'mac-without-vni': 'unparsable',
      'vni-without-mac': 'unparsable',
      'vni-too-big': 'unparsable',
      'multicast-mac': 'bad-mac',
      'not-a-mac': 'bad-mac',
    });
  });

  it('sees a BGP node\'s new VTEP MAC as a change (a recreated device must be re-programmed)', () => {
    const node = (mac: string) => validateRemoteEntries([entry('n', 1, { backendType: 'bgp', backendData: { ASN: 64512, VNI: 1, VtepMAC: mac } })], { network: NET }).nodes;
    expect(sameNodes(node('0a:58:0a:f4:00:01'), node('0a:58:0a:f4:00:01'))).toBe(true);
    expect(sameNodes(node('0a:58:0a:f4:00:01'), node('0a:58:0a:f4:00:02'))).toBe(false);
  });

  it('skips subnets overlapping the local lease', () => {
    const got = reasons([entry('same', 5), entry('inside', 6, { subnet: '10.244.5.128/25' }), entry('around', 7, { subnet: '10.244.4.0/23' }), entry('ok', 8)], NET, {
      local: { subnet: '10.244.5.0/24' },
    });
    expect(got).toEqual({ same: 'overlaps-local', inside: 'overlaps-local', around: 'overlaps-local' });
  });

  it('of overlapping remote entries keeps the one whose name sorts first, whatever the input order', () => {
    const a = entry('node-a', 20, { subnet: '10.244.20.0/25' });
    const b = entry('node-b', 21, { subnet: '10.244.20.0/24' });
    const c = entry('node-c', 22, { subnet: '10.244.20.0/25' });
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, c, a],
    ]) {
      const { nodes, skipped } = validateRemoteEntries(order, { network: NET });
      expect(nodes.map((n) => n.name)).toEqual(['node-a']);
      expect(skipped.map((s) => [s.entry, s.reason])).toEqual([
        ['node-b', 'overlaps-other'],
        ['node-c', 'overlaps-other'],
      ]);
      expect(skipped[0]!.detail).toContain('node-a');
    }
  });

  it('skips a different backend when the local one is given', () => {
    expect(reasons([entry('bgp-node', 1, { backendType: 'bgp', backendData: { ASN: 64512 } })], NET, { localBackendType: 'vxlan' })).toEqual({ 'bgp-node': 'backend-mismatch' });
  });

  it('validates the IPv6 side in a dual-stack network and ignores it in a single-stack one', () => {
    const v6 = (name: string, third: number, o: Partial<RawNodeEntry>): RawNodeEntry =>
      entry(name, third, { ipv6Subnet: `fd00:10:244:${third}::/64`, publicIPv6: `2001:db8::${third}`, backendV6Data: { VNI: 1, VtepMAC: '0a:58:0a:f4:10:01' }, ...o });
    const { nodes, skipped } = validateRemoteEntries(
      [
        v6('dual', 1, {}),
        v6('v6-outside', 2, { ipv6Subnet: 'fd00:99::/64' }),
        v6('v6-bad-ip', 3, { publicIPv6: '192.0.2.3' }),
        v6('v6-overlap', 4, { ipv6Subnet: 'fd00:10:244:1::/64' }),
        v6('v6-bad-mac', 5, { backendV6Data: { VNI: 1, VtepMAC: 'nope' } }),
      ],
      { network: DUAL },
    );
    expect(nodes.map((n) => [n.name, n.ipv6Subnet, n.publicIPv6])).toEqual([['dual', 'fd00:10:244:1::/64', '2001:db8::1']]);
    expect(Object.fromEntries(skipped.map((s) => [s.entry, s.reason]))).toEqual({
      'v6-outside': 'outside-network',
      'v6-bad-ip': 'bad-ip',
      'v6-overlap': 'overlaps-other',
      'v6-bad-mac': 'bad-mac',
    });
    const single = validateRemoteEntries([v6('dual', 1, { ipv6Subnet: 'garbage' })], { network: NET });
    expect(single.skipped).toEqual([]);
    expect(single.nodes[0]).not.toHaveProperty('ipv6Subnet');
  });
});

describe('sameNodes', () => {
  it('compares network-relevant content, not object identity or key order', () => {
    const a = validateRemoteEntries([entry('n', 1)], { network: NET }).nodes;
    const b = validateRemoteEntries([entry('n', 1, { backendData: '{"VtepMAC":"0a:58:0a:f4:00:01","VNI":1}' })], { network: NET }).nodes;
    const c = validateRemoteEntries([entry('n', 1, { publicIP: '192.0.2.200' })], { network: NET }).nodes;
    expect(sameNodes(a, b)).toBe(true);
    expect(sameNodes(a, c)).toBe(false);
    expect(sameNodes(a, [])).toBe(false);
  });
});

// -- property ------------------------------------------------------------------------------------

const octet = fc.integer({ min: 0, max: 255 });
const anyValue = fc.oneof(fc.string(), fc.integer(), fc.constant(undefined), fc.constant(null), fc.object(), fc.array(fc.anything()));
const subnetArb = fc.oneof(
  fc.tuple(fc.constantFrom(10, 172), fc.constantFrom(244, 245), octet, octet, fc.integer({ min: 0, max: 33 })).map(([a, b, c, d, l]) => `${a}.${b}.${c}.${d}/${l}`),
  fc.tuple(octet, fc.integer({ min: 14, max: 28 })).map(([c, l]) => `10.244.${c}.0/${l}`),
  anyValue,
);
const ipArb = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), anyValue);
const macArb = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':')),
  fc.string(),
);
const dataArb = fc.oneof(
  fc.record({ VNI: fc.oneof(fc.integer({ min: -1, max: 2 ** 24 }), anyValue), VtepMAC: fc.oneof(macArb, anyValue) }),
  fc.record({ ASN: fc.oneof(fc.integer({ min: -1, max: 2 ** 33 }), anyValue) }),
  fc.string(),
  fc.json(),
  anyValue,
);
const entryArb = fc.record({
  name: fc.string({ maxLength: 8 }),
  subnet: subnetArb,
  ipv6Subnet: fc.oneof(fc.constant(undefined), fc.tuple(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 56, max: 72 })).map(([x, l]) => `fd00:10:244:${x.toString(16)}::/${l}`), anyValue),
  publicIP: ipArb,
  publicIPv6: fc.oneof(fc.constant(undefined), ipArb),
  backendType: fc.oneof(fc.constantFrom('vxlan', 'bgp', 'host-gw'), anyValue),
  backendData: dataArb,
  backendV6Data: fc.oneof(fc.constant(undefined), dataArb),
});

function overlaps(x: string, y: string): boolean {
  const a = parseCidr(x);
  const b = parseCidr(y);
  if (a.family !== b.family) return false;
  const toBig = (addr: string): bigint => {
    const bytes = addr.includes(':') ? expand6(addr) : addr.split('.').map(Number);
    return bytes.reduce((acc, v) => (acc << (addr.includes(':') ? 16n : 8n)) | BigInt(v), 0n);
  };
  const bits = a.family === 4 ? 32 : 128;
  const len = Math.min(a.prefixLen, b.prefixLen);
  const shift = BigInt(bits - len);
  return toBig(a.address) >> shift === toBig(b.address) >> shift;
}

function expand6(addr: string): number[] {
  const [h = '', t] = addr.split('::');
  const head = h === '' ? [] : h.split(':');
  const tail = t === undefined || t === '' ? [] : t.split(':');
  return [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail].map((g) => parseInt(g, 16));
}

describe('validateRemoteEntries (property)', () => {
  it('never throws, accounts for every entry, and never lets overlapping subnets through', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 40 }), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }), (raws, localThird) => {
        const local = localThird === undefined ? undefined : { subnet: `10.244.${localThird}.0/24` };
        const result = validateRemoteEntries(raws, { network: DUAL, ...(local ? { local } : {}) });
        expect(result.nodes.length + result.skipped.length).toBe(raws.length);
        const names = result.nodes.map((n) => n.name);
        expect(names).toEqual([...names].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0)));
        const owned = [...(local ? [local.subnet] : [])];
        for (const n of result.nodes) {
          for (const s of [n.subnet, ...(n.ipv6Subnet !== undefined ? [n.ipv6Subnet] : [])]) {
            for (const o of owned) expect(overlaps(s, o), `${s} overlaps ${o}`).toBe(false);
            owned.push(s);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('validateRemoteEntries (property, well-formed entries)', () => {
  // Mostly valid entries with random nested prefixes: exercises the overlap decisions hard.
  const prefixArb = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 16, max: 28 })).map(([host, len]) => {
    const masked = (host >> (32 - len)) << (32 - len);
    return `10.244.${(masked >> 8) & 0xff}.${masked & 0xff}/${len}`;
  });
  it('keeps a maximal non-overlapping set chosen by name order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), prefixArb), { selector: ([n]) => n, maxLength: 60 }), (pairs) => {
        const raws = pairs.map(([name, subnet], i) => entry(name, i % 200, { subnet }));
        const { nodes, skipped } = validateRemoteEntries(raws, { network: NET, local: { subnet: '10.244.0.0/24' } });
        expect(skipped.every((s) => s.reason === 'overlaps-other' || s.reason === 'overlaps-local')).toBe(true);
        // Greedy by name: every skipped entry overlaps the local subnet or a kept entry sorting before it.
        for (const s of skipped) {
          const raw = raws.find((r) => r.name === s.entry)!;
          const blockers = ['10.244.0.0/24', ...nodes.filter((n) => n.name < s.entry).map((n) => n.subnet)];
          expect(blockers.some((b) => overlaps(raw.subnet as string, b))).toBe(true);
        }
        for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) expect(overlaps(nodes[i]!.subnet, nodes[j]!.subnet)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('a hostile entry claiming a running node\'s subnet', () => {
  it('loses to the entry that claimed the subnet first, whatever its name', () => {
    const NETW = { network: '10.244.0.0/16', subnetLen: 24 };
    const victim = { name: 'zz-victim', subnet: '10.244.30.0/24', publicIP: '192.0.2.30', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:00:00:00:00:30' }, claimedAt: 100n };
    const thief = { name: 'aa-thief', subnet: '10.244.30.0/25', publicIP: '192.0.2.66', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:00:00:00:00:66' }, claimedAt: 200n };
    for (const order of [[victim, thief], [thief, victim]]) {
      const { nodes, skipped } = validateRemoteEntries(order, { network: NETW });
      expect(nodes.map((n) => n.name)).toEqual(['zz-victim']);
      expect(skipped).toMatchObject([{ entry: 'aa-thief', reason: 'overlaps-other' }]);
    }
  });
});
