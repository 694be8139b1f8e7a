// Unit tests of net-conf.json parsing: flannel's defaults, every invalid value → one ConfigError
// naming the field (a table), the registry view, and a property: no input makes parseNetConf throw
// anything but ConfigError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseNetConf, parseNetConfText, toRegistryNetwork, withBackendType } from '../../src/config/netconf.js';

function errorOf(input: unknown): ConfigError {
  try {
    parseNetConf(input);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

describe('parseNetConf: defaults', () => {
  it('applies flannel\'s defaults to the minimal config', () => {
    const conf = parseNetConf({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
    expect(conf).toEqual({
      enableIPv4: true,
      enableIPv6: false,
      network: '10.244.0.0/16',
      subnetLen: 24,
      subnetMin: '10.244.1.0/24',
      subnetMax: '10.244.255.0/24',
      backend: {
        type: 'vxlan',
        vxlan: { vni: 1, port: 8472, gbp: false, directRouting: false },
        bgp: { asn: 64512, nodeMesh: true, listenPort: 179, peers: [], communities: [] },
      },
    });
  });

  it('defaults the backend to vxlan when Backend is absent', () => {
    expect(parseNetConf({ Network: '10.244.0.0/16' }).backend.type).toBe('vxlan');
  });

  it('splits small networks into four (flannel: /24 when room, else prefix+2)', () => {
    expect(parseNetConf({ Network: '10.1.0.0/22' }).subnetLen).toBe(24);
    const small = parseNetConf({ Network: '10.1.0.0/26' });
    expect(small).toMatchObject({ subnetLen: 28, subnetMin: '10.1.0.16/28', subnetMax: '10.1.0.48/28' });
  });

  it('canonicalises Network and accepts SubnetMin/Max as addresses or prefixes', () => {
    const conf = parseNetConf({ Network: '10.244.7.9/16', SubnetLen: 25, SubnetMin: '10.244.10.128', SubnetMax: '10.244.20.0/25' });
    expect(conf).toMatchObject({ network: '10.244.0.0/16', subnetLen: 25, subnetMin: '10.244.10.128/25', subnetMax: '10.244.20.0/25' });
  });

  it('reads dual stack from IPv6Network, with /64 subnets by default', () => {
    const conf = parseNetConf({ Network: '10.244.0.0/16', IPv6Network: 'fd00:10:244::/56' });
    expect(conf).toMatchObject({
      enableIPv6: true,
      ipv6Network: 'fd00:10:244::/56',
      ipv6SubnetLen: 64,
      ipv6SubnetMin: 'fd00:10:244:1::/64',
      ipv6SubnetMax: 'fd00:10:244:ff::/64',
    });
    expect(toRegistryNetwork(conf)).toEqual({
      network: '10.244.0.0/16',
      subnetLen: 24,
      subnetMin: '10.244.1.0/24',
      subnetMax: '10.244.255.0/24',
      ipv6Network: 'fd00:10:244::/56',
      ipv6SubnetLen: 64,
      ipv6SubnetMin: 'fd00:10:244:1::/64',
      ipv6SubnetMax: 'fd00:10:244:ff::/64',
    });
    expect(parseNetConf({ Network: '10.244.0.0/16', IPv6Network: 'fd00::/56', EnableIPv6: false }).enableIPv6).toBe(false);
  });

  it('keeps VXLAN and BGP settings, and --backend overrides the type', () => {
    const conf = parseNetConf({
      Network: '10.244.0.0/16',
      EnableNFTables: true,
      Backend: { Type: 'bgp', VNI: 42, Port: 4789, MTU: 1400, GBP: true, DirectRouting: true, Learning: false, MacPrefix: '0E-2A', ASN: 65001, NodeMesh: false, Peers: [{ Address: '192.0.2.1', ASN: 65000 }], RouterID: '192.0.2.9', Communities: ['65001:1'] },
    });
    expect(conf.backend).toEqual({
      type: 'bgp',
      vxlan: { vni: 42, port: 4789, mtu: 1400, gbp: true, directRouting: true },
      bgp: { asn: 65001, nodeMesh: false, listenPort: 179, routerID: '192.0.2.9', peers: [{ Address: '192.0.2.1', ASN: 65000 }], communities: ['65001:1'] },
    });
    expect(withBackendType(conf, 'vxlan').backend.type).toBe('vxlan');
    expect(conf.backend.type).toBe('bgp');
  });

  it('parses text and reports text that is not JSON', () => {
    expect(parseNetConfText('{"Network":"10.244.0.0/16"}').network).toBe('10.244.0.0/16');
    expect(() => parseNetConfText('{"Network":', { source: '/etc/weft/net-conf.json' })).toThrow(/^\/etc\/weft\/net-conf\.json: \(document\): expected a JSON object, got text that is not JSON/);
  });
});

const NET = '10.244.0.0/16';

/** [input, field, message] — the whole one-line message is checked. */
const INVALID: [unknown, string, string][] = [
  [null, '(document)', 'net-conf.json: (document): expected a JSON object, got null'],
  [[1], '(document)', 'net-conf.json: (document): expected a JSON object, got [1]'],
  [{}, 'Network', 'net-conf.json: Network: expected an IPv4 prefix like 10.244.0.0/16 (at most /28), got nothing'],
  [{ Network: 5 }, 'Network', 'net-conf.json: Network: expected an IPv4 prefix like 10.244.0.0/16 (at most /28), got 5'],
  [{ Network: '10.244.0.0' }, 'Network', 'net-conf.json: Network: expected an IPv4 prefix like 10.244.0.0/16 (at most /28), got "10.244.0.0"'],
  [{ Network: 'fd00::/48' }, 'Network', 'net-conf.json: Network: expected an IPv4 prefix like 10.244.0.0/16 (at most /28), got "fd00::/48"'],
  [{ Network: '10.0.0.0/29' }, 'Network', 'net-conf.json: Network: expected an IPv4 prefix like 10.244.0.0/16 (at most /28), got "10.0.0.0/29"'],
  [{ Network: NET, SubnetLen: 'x' }, 'SubnetLen', 'net-conf.json: SubnetLen: expected an integer 1–30, got "x"'],
  [{ Network: NET, SubnetLen: 31 }, 'SubnetLen', 'net-conf.json: SubnetLen: expected an integer 1–30, got 31'],
  [{ Network: NET, SubnetLen: 17 }, 'SubnetLen', 'net-conf.json: SubnetLen: expected an integer from 18 to 30 (Network 10.244.0.0/16 must hold at least four subnets), got 17'],
  [{ Network: NET, SubnetMin: '10.245.0.0' }, 'SubnetMin', 'net-conf.json: SubnetMin: expected an IPv4 address inside 10.244.0.0/16 on a /24 boundary, got "10.245.0.0"'],
  [{ Network: NET, SubnetMax: '10.244.3.7' }, 'SubnetMax', 'net-conf.json: SubnetMax: expected an IPv4 address inside 10.244.0.0/16 on a /24 boundary, got "10.244.3.7"'],
  [{ Network: NET, SubnetMin: 'nope' }, 'SubnetMin', 'net-conf.json: SubnetMin: expected an IPv4 address inside 10.244.0.0/16 on a /24 boundary, got "nope"'],
  [{ Network: NET, SubnetMin: '10.244.9.0', SubnetMax: '10.244.3.0' }, 'SubnetMax', 'net-conf.json: SubnetMax: expected an IPv4 address not below SubnetMin 10.244.9.0, got "10.244.3.0"'],
  [{ Network: NET, EnableIPv4: 'yes' }, 'EnableIPv4', 'net-conf.json: EnableIPv4: expected true or false, got "yes"'],
  [{ Network: NET, EnableIPv4: false }, 'EnableIPv4', 'net-conf.json: EnableIPv4: expected true (IPv6-only clusters are not supported yet), got false'],
  [{ Network: NET, EnableIPv6: true }, 'IPv6Network', 'net-conf.json: IPv6Network: expected an IPv6 prefix like fd00:10:244::/56 (at most /124) (EnableIPv6 is true), got nothing'],
  [{ Network: NET, IPv6Network: '10.0.0.0/8' }, 'IPv6Network', 'net-conf.json: IPv6Network: expected an IPv6 prefix like fd00:10:244::/56 (at most /124), got "10.0.0.0/8"'],
  [{ Network: NET, IPv6Network: 'fd00::/56', IPv6SubnetLen: 57 }, 'IPv6SubnetLen', 'net-conf.json: IPv6SubnetLen: expected an integer from 58 to 126 (IPv6Network fd00::/56 must hold at least four subnets), got 57'],
  [{ Network: NET, IPv6Network: 'fd00::/56', IPv6SubnetMin: 'fd01::' }, 'IPv6SubnetMin', 'net-conf.json: IPv6SubnetMin: expected an IPv6 address inside fd00::/56 on a /64 boundary, got "fd01::"'],
  [{ Network: NET, Backend: 'vxlan' }, 'Backend', 'net-conf.json: Backend: expected a JSON object, got "vxlan"'],
  [{ Network: NET, Backend: {} }, 'Backend.Type', 'net-conf.json: Backend.Type: expected one of vxlan, bgp, got nothing'],
  [{ Network: NET, Backend: { Type: 'host-gw' } }, 'Backend.Type', 'net-conf.json: Backend.Type: expected one of vxlan, bgp, got "host-gw"'],
  [{ Network: NET, Backend: { Type: 'vxlan', VNI: 'x' } }, 'Backend.VNI', 'net-conf.json: Backend.VNI: expected an integer 0–16777215, got "x"'],
  [{ Network: NET, Backend: { Type: 'vxlan', VNI: 16777216 } }, 'Backend.VNI', 'net-conf.json: Backend.VNI: expected an integer 0–16777215, got 16777216'],
  [{ Network: NET, Backend: { Type: 'vxlan', VNI: 1.5 } }, 'Backend.VNI', 'net-conf.json: Backend.VNI: expected an integer 0–16777215, got 1.5'],
  [{ Network: NET, Backend: { Type: 'vxlan', Port: 0 } }, 'Backend.Port', 'net-conf.json: Backend.Port: expected an integer 1–65535, got 0'],
  [{ Network: NET, Backend: { Type: 'vxlan', MTU: 67 } }, 'Backend.MTU', 'net-conf.json: Backend.MTU: expected an integer 68–65535, got 67'],
  [{ Network: NET, IPv6Network: 'fd00::/56', Backend: { Type: 'vxlan', MTU: 1200 } }, 'Backend.MTU', 'net-conf.json: Backend.MTU: expected an integer 1280–65535 (IPv6 needs at least 1280), got 1200'],
  [{ Network: NET, Backend: { Type: 'vxlan', GBP: 1 } }, 'Backend.GBP', 'net-conf.json: Backend.GBP: expected true or false, got 1'],
  [{ Network: NET, Backend: { Type: 'vxlan', DirectRouting: 'true' } }, 'Backend.DirectRouting', 'net-conf.json: Backend.DirectRouting: expected true or false, got "true"'],
  [{ Network: NET, Backend: { Type: 'vxlan', Learning: true } }, 'Backend.Learning', 'net-conf.json: Backend.Learning: expected false (weft programs the FDB itself; kernel learning is not supported), got true'],
  [{ Network: NET, Backend: { Type: 'bgp', ASN: 0 } }, 'Backend.ASN', 'net-conf.json: Backend.ASN: expected an integer 1–4294967295 other than 23456 (AS_TRANS), got 0'],
  [{ Network: NET, Backend: { Type: 'bgp', ASN: 23456 } }, 'Backend.ASN', 'net-conf.json: Backend.ASN: expected an integer 1–4294967295 other than 23456 (AS_TRANS), got 23456'],
  [{ Network: NET, Backend: { Type: 'bgp', ASN: 4294967296 } }, 'Backend.ASN', 'net-conf.json: Backend.ASN: expected an integer 1–4294967295 other than 23456 (AS_TRANS), got 4294967296'],
  [{ Network: NET, Backend: { Type: 'bgp', Peers: {} } }, 'Backend.Peers', 'net-conf.json: Backend.Peers: expected a list of peer objects, got {}'],
  [{ Network: NET, Backend: { Type: 'bgp', Peers: [1] } }, 'Backend.Peers.0', 'net-conf.json: Backend.Peers.0: expected a JSON object per peer, got 1'],
  [{ Network: NET, Backend: { Type: 'bgp', RouterID: 'fd00::1' } }, 'Backend.RouterID', 'net-conf.json: Backend.RouterID: expected an IPv4 address, got "fd00::1"'],
  [{ Network: NET, Backend: { Type: 'bgp', CrossSubnet: 'ipip' } }, 'Backend.CrossSubnet', 'net-conf.json: Backend.CrossSubnet: expected "vxlan", got "ipip"'],
  [{ Network: NET, Subnetlen: 24 }, 'Subnetlen', 'net-conf.json: Subnetlen: expected one of the keys Network, SubnetLen, SubnetMin, SubnetMax, EnableIPv4, EnableIPv6, IPv6Network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax, EnableNFTables, Backend, got an unknown key'],
  [{ Network: NET, Backend: { Type: 'vxlan', Vni: 1, Prt: 2 } }, 'Backend.Vni', 'net-conf.json: Backend.Vni: expected one of the keys Type, VNI, Port, MTU, GBP, DirectRouting, Learning, MacPrefix, ASN, NodeMesh, ListenPort, RouterID, RouteReflector, Peers, GracefulRestart, Communities, CrossSubnet, got an unknown key (also unknown: Prt)'],
];

describe('parseNetConf: invalid values', () => {
  it.each(INVALID)('%j → %s', (input, field, message) => {
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('\n');
    expect(error.expected.length).toBeGreaterThan(0);
  });

  it('carries the value and the source', () => {
    let caught: unknown;
    try {
      parseNetConf({ Network: NET, Backend: { Type: 'vxlan', VNI: 'x' } }, { source: 'etcd /weft/network/config' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toMatchObject({ field: 'Backend.VNI', value: 'x', expected: 'an integer 0–16777215', source: 'etcd /weft/network/config' });
    expect((caught as Error).message).toBe('etcd /weft/network/config: Backend.VNI: expected an integer 0–16777215, got "x"');
  });
});

describe('parseNetConf: any input', () => {
  const onlyConfigErrors = (input: unknown): void => {
    try {
      parseNetConf(input);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      expect(error.message).not.toContain('\n');
    }
  };

  it('throws nothing but ConfigError on random JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), onlyConfigErrors), { numRuns: 500 });
  });

  it('throws nothing but ConfigError on random near-miss configs', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('10.244.0.0/16', 'fd00::/56', '10.244.1.0', '', '10.244.0.0/33', '::/0'), fc.integer({ min: -2, max: 200 }));
    const backend = fc.dictionary(fc.constantFrom('Type', 'VNI', 'Port', 'MTU', 'GBP', 'DirectRouting', 'Learning', 'ASN', 'Peers', 'RouterID', 'Bogus'), fc.oneof(value, fc.constantFrom('vxlan', 'bgp')));
    const conf = fc.dictionary(
      fc.constantFrom('Network', 'SubnetLen', 'SubnetMin', 'SubnetMax', 'EnableIPv4', 'EnableIPv6', 'IPv6Network', 'IPv6SubnetLen', 'IPv6SubnetMin', 'IPv6SubnetMax', 'Backend', 'Extra'),
      fc.oneof(value, backend),
    );
    fc.assert(fc.property(conf, onlyConfigErrors), { numRuns: 1000 });
  });

  it('throws nothing but ConfigError on random text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseNetConfText(text);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});
