// The BGP backend's kernel diff (modes/bgp/route-diff.ts) and its inputs (peers.ts, options.ts):
// the minimum writes, ECMP sets compared as sets, removals held during a graceful restart, the
// mesh following the registry, and configuration errors naming the field.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import type { RouteInfo } from '../../src/netlink/index.js';
import type { RemoteNode } from '../../src/registry/types.js';
import { resolveBgpOptions } from '../../modes/bgp/options.js';
import { desiredPeers } from '../../modes/bgp/peers.js';
import { planRoutes } from '../../modes/bgp/route-diff.js';

const route = (dst: string, gateway: string, extra: Partial<RouteInfo> = {}): RouteInfo => ({ family: 4, dst, table: 254, protocol: 87, scope: 0, type: 'unicast', onlink: false, gateway, index: 2, ...extra });

describe('planRoutes', () => {
  it('adds what is missing, keeps what matches, removes what nobody wants', () => {
    const plan = planRoutes(
      [
        { dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.12', index: 2 }] },
        { dst: '10.244.3.0/24', nexthops: [{ gateway: '192.0.2.13', index: 2 }] },
      ],
      [route('10.244.2.0/24', '192.0.2.12'), route('10.244.9.0/24', '192.0.2.19')],
    );
    expect(plan.inSync).toEqual(['10.244.2.0/24']);
    expect(plan.replace.map((r) => r.dst)).toEqual(['10.244.3.0/24']);
    expect(plan.remove.map((r) => r.dst)).toEqual(['10.244.9.0/24']);
  });

  it('replaces a route whose next hop changed, without also removing it', () => {
    const plan = planRoutes([{ dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.22', index: 2 }] }], [route('10.244.2.0/24', '192.0.2.12')]);
    expect(plan.replace).toHaveLength(1);
    expect(plan.remove).toEqual([]);
  });

  it('compares ECMP next hops as a set and turns a single path into multipath', () => {
    const ecmp = route('10.244.2.0/24', '', { nexthops: [{ gateway: '192.0.2.13', index: 2, onlink: false, weight: 1 }, { gateway: '192.0.2.12', index: 2, onlink: false, weight: 1 }] });
    delete ecmp.gateway;
    delete ecmp.index;
    const want = { dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.12', index: 2 }, { gateway: '192.0.2.13', index: 2 }] };
    expect(planRoutes([want], [ecmp]).inSync).toEqual(['10.244.2.0/24']);
    expect(planRoutes([want], [route('10.244.2.0/24', '192.0.2.12')]).replace).toEqual([want]);
  });

  it('keeps unwanted routes while removals are held (graceful restart before End-of-RIB)', () => {
    const plan = planRoutes([], [route('10.244.2.0/24', '192.0.2.12')], { keepUnwanted: true });
    expect(plan.remove).toEqual([]);
  });

  it('removes a duplicate with another metric that a replace would not overwrite', () => {
    const plan = planRoutes([{ dst: '10.244.2.0/24', nexthops: [{ gateway: '192.0.2.12', index: 2 }] }], [route('10.244.2.0/24', '192.0.2.12'), route('10.244.2.0/24', '192.0.2.12', { metric: 50 })]);
    expect(plan.inSync).toEqual(['10.244.2.0/24']);
    expect(plan.remove.map((r) => r.metric)).toEqual([50]);
  });
});

const conf = { asn: 64512, nodeMesh: true, listenPort: 179, peers: [] as Record<string, unknown>[], communities: [] as string[] };
const node = (name: string, publicIP: string, backendType: 'bgp' | 'vxlan' = 'bgp', asn = 64512): RemoteNode => ({
  name,
  subnet: '10.244.2.0/24',
  publicIP,
  backendType,
  backendData: backendType === 'bgp' ? { ASN: asn } : { VNI: 1, VtepMAC: '02:00:00:00:00:01' },
});

describe('desiredPeers', () => {
  it('peers with every bgp node at its IP and ASN, skipping vxlan nodes and ourselves', () => {
    const options = resolveBgpOptions(conf, ['10.244.0.0/16']);
    const peers = desiredPeers(options, [node('a', '192.0.2.12'), node('b', '192.0.2.13', 'bgp', 64513), node('c', '192.0.2.14', 'vxlan'), node('self', '192.0.2.11')], '192.0.2.11');
    expect(peers.map((p) => [p.address, p.asn])).toEqual([['192.0.2.12', 64512], ['192.0.2.13', 64513]]);
  });

  it('with NodeMesh off, peers only with the configured peers, whose settings pass through', () => {
    const options = resolveBgpOptions({ ...conf, nodeMesh: false, peers: [{ Address: '192.0.2.1', ASN: 64512, Port: 1179, Password: 's3cret', HoldTime: 9, Passive: true }] }, ['10.244.0.0/16']);
    const peers = desiredPeers(options, [node('a', '192.0.2.12')], '192.0.2.11');
    expect(peers).toEqual([{ address: '192.0.2.1', asn: 64512, port: 1179, password: 's3cret', holdTime: 9, passive: true, localAddress: '192.0.2.11', families: ['ipv4'] }]);
  });
});

describe('resolveBgpOptions', () => {
  it('fills defaults: graceful restart on for 120 s, ASN of a peer = ours', () => {
    const options = resolveBgpOptions({ ...conf, peers: [{ Address: '192.0.2.1' }] }, ['10.244.0.0/16']);
    expect(options.gracefulRestart).toEqual({ enabled: true, restartTime: 120 });
    expect(options.peers[0]).toMatchObject({ address: '192.0.2.1', asn: 64512, importList: [] });
  });

  it('names the field of a bad peer entry, without echoing a password', () => {
    const bad = (peer: Record<string, unknown>): ConfigError => {
      try {
        resolveBgpOptions({ ...conf, peers: [peer] }, ['10.244.0.0/16']);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('accepted');
    };
    expect(bad({ Address: 'nope' }).field).toBe('Backend.Peers[0].Address');
    expect(bad({ Address: '192.0.2.1', Import: ['198.51.100.0/24 ge 8'] }).field).toBe('Backend.Peers[0].Import');
    expect(bad({ Address: '192.0.2.1', BFD: true }).field).toBe('Backend.Peers[0].BFD');
    const secret = bad({ Address: '192.0.2.1', Password: 'x'.repeat(81) });
    expect(secret.field).toBe('Backend.Peers[0].Password');
    expect(secret.message).not.toContain('xxxx');
  });

  it('refuses a malformed community and settings this slice does not implement', () => {
    expect(() => resolveBgpOptions({ ...conf, communities: ['70000:1'] }, ['10.244.0.0/16'])).toThrow(ConfigError);
    expect(() => resolveBgpOptions({ ...conf, routeReflector: true }, ['10.244.0.0/16'])).toThrow(/RouteReflector/);
  });
});
