// The BGP backend's configuration (modes/bgp/options.ts) and who it peers with (peers.ts): every
// peer field of issue 8, this node's own settings (flags or annotations) over net-conf.json,
// passwords by reference and never shown, the mesh / route-reflector topology following the
// registry, and errors naming the field.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import type { RemoteNode } from '../../src/registry/types.js';
import { resolveBgpOptions, type NodeBgpSettings, type SecretSources } from '../../modes/bgp/options.js';
import { desiredPeers, NODE_MAX_PREFIXES } from '../../modes/bgp/peers.js';

const conf = { asn: 64512, nodeMesh: true, listenPort: 179, peers: [] as Record<string, unknown>[], communities: [] as string[] };
const nets = ['10.244.0.0/16'];
const secrets: SecretSources = {
  env: { TOR_PASSWORD: 'from-env' },
  readFile: (path) => {
    if (path === '/etc/weft-bgp/tor') return 'from-file\n';
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  },
};
const node = (name: string, publicIP: string, backendType: 'bgp' | 'vxlan' = 'bgp', asn = 64512, rr?: string): RemoteNode => ({
  name,
  subnet: `10.244.${publicIP.split('.')[3]}.0/24`,
  publicIP,
  backendType,
  backendData: backendType === 'bgp' ? { ASN: asn, ...(rr ? { RouteReflector: rr } : {}) } : { VNI: 1, VtepMAC: '02:00:00:00:00:01' },
});
const local = { publicIP: '192.0.2.11', ownSubnets: ['10.244.11.0/24'] };

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('resolveBgpOptions', () => {
  it('fills defaults: graceful restart on for 120 s, a peer\'s ASN = ours, no BFD, nothing imported', () => {
    const options = resolveBgpOptions({ ...conf, peers: [{ Address: '192.0.2.1' }] }, nets, undefined, secrets);
    expect(options.gracefulRestart).toEqual({ enabled: true, restartTime: 120 });
    expect(options.peers[0]).toMatchObject({ address: '192.0.2.1', asn: 64512, bfd: false, importList: [], communities: [] });
    expect(options.routeReflector).toBeUndefined();
  });

  it('takes every peer field of issue 8', () => {
    const peer = { Address: '192.0.2.1', ASN: 65000, Port: 1179, Password: 's3cret', Passive: true, HoldTime: 9, KeepaliveTime: 3, TTLSecurity: 1, BFD: true, MaxPrefixes: 100, Import: ['198.51.100.0/24 le 26'], Communities: ['65000:7', 'no-export'], LargeCommunities: ['65000:1:2'] };
    const [p] = resolveBgpOptions({ ...conf, peers: [peer] }, nets, undefined, secrets).peers;
    expect(p).toEqual({ address: '192.0.2.1', asn: 65000, port: 1179, password: 's3cret', passive: true, holdTime: 9, keepaliveTime: 3, ttlSecurity: 1, bfd: true, maxPrefixes: 100, importList: ['198.51.100.0/24 le 26'], communities: ['65000:7', 'no-export'], largeCommunities: ['65000:1:2'], origin: 'net-conf.json' });
    expect(resolveBgpOptions({ ...conf, peers: [{ Address: '198.51.100.1', ASN: 65000, Multihop: 3 }] }, nets, undefined, secrets).peers[0]!.multihop).toBe(3);
  });

  it('reads a password from a mounted file (dropping the trailing newline) or from the environment', () => {
    const opts = resolveBgpOptions({ ...conf, peers: [{ Address: '192.0.2.1', PasswordFile: '/etc/weft-bgp/tor' }, { Address: '192.0.2.2', PasswordEnv: 'TOR_PASSWORD' }] }, nets, undefined, secrets);
    expect(opts.peers.map((p) => p.password)).toEqual(['from-file', 'from-env']);
  });

  it('names the field of a bad peer entry, and never shows a password', () => {
    const bad = (peer: Record<string, unknown>): ConfigError => errorOf(() => resolveBgpOptions({ ...conf, peers: [peer] }, nets, undefined, secrets));
    const cases: [Record<string, unknown>, string][] = [
      [{ Address: 'nope' }, 'Address'],
      [{ Address: '192.0.2.1', ASN: 23456 }, 'ASN'],
      [{ Address: '192.0.2.1', Import: ['198.51.100.0/24 ge 8'] }, 'Import'],
      [{ Address: '192.0.2.1', BFD: 'yes' }, 'BFD'],
      [{ Address: '192.0.2.1', HoldTime: 2 }, 'HoldTime'],
      [{ Address: '192.0.2.1', HoldTime: 9, KeepaliveTime: 4 }, 'KeepaliveTime'],
      [{ Address: '192.0.2.1', Multihop: 0 }, 'Multihop'],
      [{ Address: '192.0.2.1', Multihop: 2, TTLSecurity: 1 }, 'TTLSecurity'],
      [{ Address: '192.0.2.1', MaxPrefixes: 0 }, 'MaxPrefixes'],
      [{ Address: '192.0.2.1', Communities: ['70000:1'] }, 'Communities'],
      [{ Address: '192.0.2.1', Bogus: 1 }, 'Bogus'],
      [{ Address: '192.0.2.1', PasswordFile: '/nonexistent' }, 'PasswordFile'],
      [{ Address: '192.0.2.1', PasswordEnv: 'UNSET_VARIABLE' }, 'PasswordEnv'],
    ];
    for (const [peer, field] of cases) expect(bad(peer).field, JSON.stringify(peer)).toBe(`Backend.Peers[0].${field}`);
    const long = bad({ Address: '192.0.2.1', Password: 'x'.repeat(81) });
    expect(long.field).toBe('Backend.Peers[0].Password');
    expect(long.message).not.toContain('xxxx');
    const two = bad({ Address: '192.0.2.1', Password: 'hunter2', PasswordEnv: 'TOR_PASSWORD' });
    expect(two.message).not.toContain('hunter2');
  });

  it('lets this node\'s own settings override the ASN and add or replace peers', () => {
    const settings: NodeBgpSettings = { asn: '65001', peers: '[{"Address":"192.0.2.1","ASN":65000,"PasswordEnv":"TOR_PASSWORD"}]', origins: { asn: '--bgp-asn', peers: '--bgp-peers', routeReflector: '--bgp-route-reflector' }, allowInlinePassword: true };
    const opts = resolveBgpOptions({ ...conf, peers: [{ Address: '192.0.2.1', ASN: 64999 }, { Address: '192.0.2.2' }] }, nets, settings, secrets);
    expect(opts.asn).toBe(65001);
    expect(opts.peers.map((p) => [p.address, p.asn, p.origin])).toEqual([['192.0.2.1', 65000, '--bgp-peers'], ['192.0.2.2', 65001, 'net-conf.json']]);
    expect(opts.peers[0]!.password).toBe('from-env');
  });

  it('refuses an inline password in an annotation (anyone who reads Nodes could read it)', () => {
    const settings: NodeBgpSettings = { peers: [{ Address: '192.0.2.1', Password: 'hunter2' }], origins: { asn: 'annotation weft.io/bgp-asn', peers: 'annotation weft.io/bgp-peers', routeReflector: 'annotation weft.io/bgp-route-reflector' }, allowInlinePassword: false };
    const err = errorOf(() => resolveBgpOptions(conf, nets, settings, secrets));
    expect(err.field).toBe('annotation weft.io/bgp-peers[0].Password');
    expect(err.message).toContain('PasswordFile or PasswordEnv');
    expect(err.message).not.toContain('hunter2');
  });

  it('names a bad per-node value by its flag or annotation', () => {
    const origins = { asn: '--bgp-asn', peers: '--bgp-peers', routeReflector: '--bgp-route-reflector' };
    expect(errorOf(() => resolveBgpOptions(conf, nets, { asn: 'x', origins, allowInlinePassword: true }, secrets)).field).toBe('--bgp-asn');
    expect(errorOf(() => resolveBgpOptions(conf, nets, { peers: '[{', origins, allowInlinePassword: true }, secrets)).field).toBe('--bgp-peers');
    expect(errorOf(() => resolveBgpOptions(conf, nets, { routeReflector: '300.1.1.1', origins, allowInlinePassword: true }, secrets)).field).toBe('--bgp-route-reflector');
  });

  it('makes a node a route reflector with a cluster ID, or its router ID when told true', () => {
    expect(resolveBgpOptions({ ...conf, routeReflector: { ClusterID: '1.0.0.1' } }, nets).routeReflector).toEqual({ clusterId: '1.0.0.1' });
    expect(resolveBgpOptions({ ...conf, routeReflector: true }, nets).routeReflector).toEqual({ clusterId: '' });
    expect(resolveBgpOptions(conf, nets, { routeReflector: '1.0.0.2', origins: { asn: '', peers: '', routeReflector: '--bgp-route-reflector' }, allowInlinePassword: true }).routeReflector).toEqual({ clusterId: '1.0.0.2' });
  });

  it('refuses a malformed community', () => {
    expect(() => resolveBgpOptions({ ...conf, communities: ['70000:1'] }, nets)).toThrow(ConfigError);
  });
});

describe('desiredPeers', () => {
  it('meshes with every bgp node at its IP and ASN, skipping vxlan nodes and ourselves', () => {
    const options = resolveBgpOptions(conf, nets);
    const { peers, nodePeers } = desiredPeers(options, [node('a', '192.0.2.12'), node('b', '192.0.2.13', 'bgp', 64513), node('c', '192.0.2.14', 'vxlan'), node('self', '192.0.2.11')], local);
    expect(peers.map((p) => [p.address, p.asn])).toEqual([['192.0.2.12', 64512], ['192.0.2.13', 64513]]);
    expect([...nodePeers.keys()]).toEqual(['192.0.2.12', '192.0.2.13']);
    // A plain node may send only a few prefixes, and gets only our own podCIDR.
    expect(peers[0]!.policy).toEqual({ exportPrefixes: ['10.244.11.0/24'], maxPrefix: { limit: NODE_MAX_PREFIXES } });
  });

  it('with NodeMesh off, peers with the configured peers and the reflector nodes only', () => {
    const options = resolveBgpOptions({ ...conf, nodeMesh: false, peers: [{ Address: '192.0.2.1', ASN: 64512, Port: 1179, Password: 's3cret', HoldTime: 9, Passive: true }] }, nets);
    const { peers, nodePeers } = desiredPeers(options, [node('a', '192.0.2.12'), node('rr', '192.0.2.20', 'bgp', 64512, '1.0.0.1')], local);
    expect(peers).toEqual([
      { address: '192.0.2.20', asn: 64512, port: 179, localAddress: '192.0.2.11', families: ['ipv4'], policy: { exportPrefixes: ['10.244.11.0/24'] } },
      { address: '192.0.2.1', asn: 64512, port: 1179, password: 's3cret', holdTime: 9, passive: true, localAddress: '192.0.2.11', families: ['ipv4'], policy: { exportPrefixes: ['10.244.11.0/24'] } },
    ]);
    expect(nodePeers.get('192.0.2.20')).toEqual({ node: 'rr', reflector: true });
  });

  it('as a route reflector, peers with every node, non-reflectors as clients, and exports everything', () => {
    const options = resolveBgpOptions({ ...conf, nodeMesh: false }, nets, { routeReflector: '1.0.0.1', origins: { asn: '', peers: '', routeReflector: '' }, allowInlinePassword: true });
    const { peers } = desiredPeers(options, [node('a', '192.0.2.12'), node('rr2', '192.0.2.20', 'bgp', 64512, '1.0.0.1')], local);
    expect(peers.map((p) => [p.address, p.rrClient === true, p.policy?.exportPrefixes])).toEqual([['192.0.2.12', true, undefined], ['192.0.2.20', false, undefined]]);
  });

  it('maps peer options onto the session: eBGP single-hop TTL 1 unless Multihop or GTSM, limits and communities', () => {
    const options = resolveBgpOptions({ ...conf, peers: [{ Address: '192.0.2.1', ASN: 65000, MaxPrefixes: 10, Communities: ['65000:7'], KeepaliveTime: 3, HoldTime: 9 }, { Address: '198.51.100.1', ASN: 65000, Multihop: 4 }, { Address: '192.0.2.2', ASN: 65000, TTLSecurity: 1 }, { Address: '192.0.2.3' }] }, nets);
    const { peers } = desiredPeers(options, [], local);
    expect(peers[0]).toMatchObject({ multihop: 1, keepaliveTime: 3, holdTime: 9, policy: { maxPrefix: { limit: 10 }, exportCommunities: ['65000:7'] } });
    expect(peers[1]).toMatchObject({ multihop: 4 });
    expect(peers[2]).toMatchObject({ ttlSecurity: 1 });
    expect(peers[2]!.multihop).toBeUndefined();
    expect(peers[3]!.multihop).toBeUndefined(); // iBGP
  });

  it('carries both families in dual stack, with our IPv6 address as the IPv6 next hop', () => {
    const { peers } = desiredPeers(resolveBgpOptions(conf, nets), [node('a', '192.0.2.12')], { ...local, publicIPv6: '2001:db8::11', ownSubnets: ['10.244.11.0/24', 'fd00:10:244:11::/64'] });
    expect(peers[0]).toMatchObject({ families: ['ipv4', 'ipv6'], nextHopIpv6: '2001:db8::11', policy: { exportPrefixes: ['10.244.11.0/24', 'fd00:10:244:11::/64'] } });
  });
});
