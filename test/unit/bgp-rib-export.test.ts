// Import and export rules per peer role: eBGP/iBGP attribute rewriting, no iBGP→iBGP without
// reflection, RFC 4456 reflection (ORIGINATOR_ID, CLUSTER_LIST) and loop prevention on receipt,
// well-known communities, export policy and added communities.
import { describe, expect, it } from 'vitest';
import { PeerPolicy, parseCommunity } from '../../src/bgp/policy.js';
import { NO_EXPORT } from '../../src/bgp/rib/attributes.js';
import { exportAttributes, prependAs } from '../../src/bgp/rib/export.js';
import { importAttributes, importAttributesVerdict } from '../../src/bgp/rib/import.js';
import { makeSource } from '../../src/bgp/rib/path.js';
import { LOCAL_SOURCE_ID, type LocalIdentity, type PeerRole } from '../../src/bgp/rib/peer-role.js';
import { prefixKey } from '../../src/bgp/rib/prefix.js';
import { attrs, seq, source, table } from '../helpers/bgp-rib-fixtures.js';

const local: LocalIdentity = { asn: 65000, routerId: '10.0.0.100', clusterId: '10.0.0.100' };
const LOCAL = makeSource({ id: LOCAL_SOURCE_ID, address: '0.0.0.0', asn: 65000, ibgp: false, rrClient: false, routerId: 0 });

function role(address: string, opts: { asn?: number; ibgp?: boolean; rrClient?: boolean; reflector?: boolean; policy?: PeerPolicy; nextHopSelf?: boolean } = {}): PeerRole {
  return {
    source: source(address, { asn: opts.asn ?? (opts.ibgp ? 65000 : 65001), ibgp: opts.ibgp, rrClient: opts.rrClient, routerId: address }),
    policy: opts.policy ?? new PeerPolicy(),
    nextHopSelf: opts.nextHopSelf ?? false,
    localIpv4: '198.51.100.100',
    localIpv6: '2001:db8::100',
    reflector: opts.reflector ?? false,
  };
}

const P = prefixKey('203.0.113.0/24');
const ebgp = role('198.51.100.1', { asn: 65001 });
const ebgp2 = role('198.51.100.2', { asn: 65002 });
const ibgp = role('198.51.100.3', { ibgp: true });
const ibgp2 = role('198.51.100.4', { ibgp: true });

describe('export to eBGP', () => {
  it('prepends our AS, sets next hop self, drops LOCAL_PREF and a foreign MED', () => {
    const learned = attrs({ asPath: seq(65009), nextHop: '198.51.100.3', localPref: 200, med: 50, originatorId: '10.0.0.1', clusterList: ['10.0.0.9'] });
    const out = exportAttributes(table, local, ebgp2, P, ibgp.source, learned)!;
    expect(out.asPath).toEqual(seq(65000, 65009));
    expect(out.nextHop).toBe('198.51.100.100');
    expect(out.localPref).toBeUndefined();
    expect(out.med).toBeUndefined();
    expect(out.originatorId).toBeUndefined();
    expect(out.clusterList).toEqual([]);
  });

  it('keeps the MED of our own routes and uses the IPv6 next hop for IPv6', () => {
    const own = attrs({ nextHop: '', med: 7 });
    expect(exportAttributes(table, local, ebgp, P, LOCAL, own)).toMatchObject({ med: 7, asPath: seq(65000) });
    expect(exportAttributes(table, local, ebgp, prefixKey('2001:db8:1::/48'), LOCAL, own)?.nextHop).toBe('2001:db8::100');
  });

  it('never sends a route back to its source or to a peer whose AS is in the path', () => {
    const learned = attrs({ asPath: seq(65001) });
    expect(exportAttributes(table, local, ebgp, P, ebgp.source, learned)).toBeUndefined();
    expect(exportAttributes(table, local, ebgp2, P, ebgp.source, attrs({ asPath: seq(65001, 65002) }))).toBeUndefined();
  });

  it('starts a new AS_SEQUENCE in front of an AS_SET', () => {
    expect(prependAs([{ type: 'set', asns: [1, 2] }], 65000)).toEqual([{ type: 'sequence', asns: [65000] }, { type: 'set', asns: [1, 2] }]);
  });
});

describe('export to iBGP', () => {
  it('sends LOCAL_PREF (default 100), keeps next hop and MED of eBGP routes', () => {
    const learned = attrs({ asPath: seq(65001), nextHop: '198.51.100.1', med: 5 });
    const out = exportAttributes(table, local, ibgp, P, ebgp.source, learned)!;
    expect(out).toMatchObject({ localPref: 100, nextHop: '198.51.100.1', med: 5, asPath: seq(65001) });
    expect(exportAttributes(table, local, role('198.51.100.3', { ibgp: true, nextHopSelf: true }), P, ebgp.source, learned)?.nextHop).toBe('198.51.100.100');
  });

  it('sets next hop self on our own routes unless they name one', () => {
    expect(exportAttributes(table, local, ibgp, P, LOCAL, attrs({ nextHop: '' }))?.nextHop).toBe('198.51.100.100');
    expect(exportAttributes(table, local, ibgp, P, LOCAL, attrs({ nextHop: '192.0.2.55' }))?.nextHop).toBe('192.0.2.55');
  });

  it('does not re-advertise iBGP routes to iBGP peers unless reflecting', () => {
    const learned = attrs({ asPath: seq(65009), localPref: 100 });
    expect(exportAttributes(table, local, ibgp2, P, ibgp.source, learned)).toBeUndefined();
    expect(exportAttributes(table, local, ebgp, P, ibgp.source, learned)).toBeDefined();
  });
});

describe('route reflection (RFC 4456)', () => {
  const client1 = role('198.51.100.11', { ibgp: true, rrClient: true, reflector: true });
  const client2 = role('198.51.100.12', { ibgp: true, rrClient: true, reflector: true });
  const nonClient = role('198.51.100.13', { ibgp: true, reflector: true });
  const nonClient2 = role('198.51.100.14', { ibgp: true, reflector: true });
  const learned = attrs({ asPath: [], nextHop: '198.51.100.11', localPref: 100 });

  it('reflects client routes to clients and non-clients with ORIGINATOR_ID and CLUSTER_LIST', () => {
    for (const target of [client2, nonClient]) {
      const out = exportAttributes(table, local, target, P, client1.source, learned)!;
      expect(out.originatorId).toBe('198.51.100.11');
      expect(out.clusterList).toEqual(['10.0.0.100']);
      expect(out.nextHop).toBe('198.51.100.11'); // reflection never changes the next hop
    }
  });

  it('reflects non-client routes to clients only', () => {
    expect(exportAttributes(table, local, client1, P, nonClient.source, learned)).toBeDefined();
    expect(exportAttributes(table, local, nonClient2, P, nonClient.source, learned)).toBeUndefined();
  });

  it('keeps an existing ORIGINATOR_ID and prepends to the CLUSTER_LIST', () => {
    const reflected = attrs({ originatorId: '10.1.1.1', clusterList: ['10.2.2.2'], localPref: 100 });
    const out = exportAttributes(table, local, client2, P, client1.source, reflected)!;
    expect(out.originatorId).toBe('10.1.1.1');
    expect(out.clusterList).toEqual(['10.0.0.100', '10.2.2.2']);
  });

  it('discards on receipt routes carrying our router ID or cluster ID', () => {
    expect(importAttributesVerdict(attrs({ originatorId: '10.0.0.100' }), client1, local)).toBe('originator-loop');
    expect(importAttributesVerdict(attrs({ clusterList: ['10.3.3.3', '10.0.0.100'] }), client1, local)).toBe('cluster-loop');
    expect(importAttributesVerdict(attrs({ clusterList: ['10.3.3.3'] }), client1, local)).toBe('accept');
  });
});

describe('import', () => {
  it('refuses eBGP paths containing our AS', () => {
    expect(importAttributesVerdict(attrs({ asPath: seq(65001, 65000) }), ebgp, local)).toBe('as-loop');
    expect(importAttributesVerdict(attrs({ asPath: seq(65001) }), ebgp, local)).toBe('accept');
  });

  it('ignores LOCAL_PREF from eBGP peers and applies the import LOCAL_PREF', () => {
    const received = attrs({ asPath: seq(65001), localPref: 999 });
    expect(importAttributes(table, received, ebgp).localPref).toBeUndefined();
    const preferring = role('198.51.100.1', { policy: new PeerPolicy({ importLocalPref: 300 }) });
    expect(importAttributes(table, received, preferring).localPref).toBe(300);
    expect(importAttributes(table, received, ibgp)).toBe(received);
  });
});

describe('export policy and communities', () => {
  it('honours NO_EXPORT and NO_ADVERTISE', () => {
    const noExport = attrs({ communities: [NO_EXPORT] });
    expect(exportAttributes(table, local, ebgp, P, LOCAL, noExport)).toBeUndefined();
    expect(exportAttributes(table, local, ibgp, P, LOCAL, noExport)).toBeDefined();
    const noAdvertise = attrs({ communities: [parseCommunity('no-advertise')] });
    expect(exportAttributes(table, local, ibgp, P, LOCAL, noAdvertise)).toBeUndefined();
  });

  it('filters by the export prefix list and adds communities once', () => {
    const peer = role('198.51.100.1', { policy: new PeerPolicy({ exportPrefixes: ['203.0.113.0/24'], exportCommunities: ['65000:1', '65000:2'], exportLargeCommunities: ['65000:1:1'] }) });
    const own = attrs({ nextHop: '', communities: [parseCommunity('65000:1')] });
    const out = exportAttributes(table, local, peer, P, LOCAL, own)!;
    expect(out.communities).toEqual([parseCommunity('65000:1'), parseCommunity('65000:2')]);
    expect(out.largeCommunities).toEqual([[65000, 1, 1]]);
    expect(exportAttributes(table, local, peer, prefixKey('198.51.100.0/24'), LOCAL, own)).toBeUndefined();
  });
});
