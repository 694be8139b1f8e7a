// The BGP backend's import policy (modes/bgp/import-policy.ts): inside the cluster network only a
// registered remote node's exact podCIDR, from a node only its own (or, from a reflector node,
// any node's) with the owner's address as next hop; outside only from external peers whose
// Import list says so. Each refusal names its reason, since it ends up in the node report.
import { describe, expect, it } from 'vitest';
import { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { importVerdict, overlaps, type ImportFacts } from '../../modes/bgp/import-policy.js';

const n2 = { node: 'n2', nextHops: new Set(['192.0.2.12', '2001:db8::12']) };
const n3 = { node: 'n3', nextHops: new Set(['192.0.2.13']) };
const facts: ImportFacts = {
  clusterNetworks: ['10.244.0.0/16', 'fd00:10:244::/56'],
  ownSubnets: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
  remoteSubnets: new Map([
    ['10.244.2.0/24', n2],
    ['fd00:10:244:2::/64', n2],
    ['10.244.3.0/24', n3],
  ]),
  nodePeers: new Map([
    ['192.0.2.12', { node: 'n2', reflector: false }],
    ['192.0.2.14', { node: 'n4', reflector: true }],
  ]),
  peeredNodes: new Set(['n2', 'n4']),
  importLists: new Map([['192.0.2.1', new PrefixList(['198.51.100.0/24 le 26', 'deny 203.0.113.0/24'])]]),
};
const mesh = '192.0.2.12';
const reflector = '192.0.2.14';
const tor = '192.0.2.1';

/** The refusal reason, or 'accepted' (so a wrong acceptance fails with a readable diff). */
function reasonOf(prefix: string, peer: string, nextHop = '192.0.2.12'): string {
  const v = importVerdict(prefix, peer, nextHop, facts);
  return v.accept ? 'accepted' : v.reason;
}

describe('importVerdict', () => {
  it('accepts a node\'s own podCIDRs from it, with its address as next hop, in both families', () => {
    expect(reasonOf('10.244.2.0/24', mesh)).toBe('accepted');
    expect(reasonOf('fd00:10:244:2::/64', mesh, '2001:db8::12')).toBe('accepted');
  });

  it('accepts a registered podCIDR from a ToR, whatever the next hop (eBGP rewrites it)', () => {
    expect(reasonOf('10.244.3.0/24', tor, '192.0.2.1')).toBe('accepted');
  });

  it('believes no router\'s path to a node we peer with directly, unless it is the node\'s own next hop', () => {
    expect(reasonOf('10.244.2.0/24', tor, '192.0.2.1')).toContain('direct peer');
    expect(reasonOf('10.244.2.0/24', tor, '192.0.2.12')).toBe('accepted');
  });

  it('refuses another node\'s podCIDR from a plain mesh node, and a foreign next hop from anyone in the cluster', () => {
    expect(reasonOf('10.244.3.0/24', mesh, '192.0.2.13')).toContain('announced node n3');
    expect(reasonOf('10.244.2.0/24', mesh, '192.0.2.99')).toContain('next hop 192.0.2.99');
  });

  it('lets a reflector node pass on any node\'s podCIDR with the owner\'s next hop, and nothing else', () => {
    expect(reasonOf('10.244.3.0/24', reflector, '192.0.2.13')).toBe('accepted');
    expect(reasonOf('10.244.3.0/24', reflector, '192.0.2.14')).toContain('not node n3');
  });

  it('refuses this node\'s own podCIDR and anything overlapping it', () => {
    expect(reasonOf('10.244.1.0/24', mesh)).toContain('own podCIDR');
    expect(reasonOf('10.244.1.128/25', tor)).toContain('own podCIDR');
    expect(reasonOf('fd00:10:244:1::/64', tor)).toContain('own podCIDR');
  });

  it('refuses sub- and super-prefixes of a registered podCIDR, and unregistered cluster prefixes', () => {
    for (const p of ['10.244.2.0/25', '10.244.2.7/32', '10.244.2.0/23', '10.244.9.0/24', '10.244.0.0/16', '10.0.0.0/8', '0.0.0.0/0', 'fd00:10:244:2::/65', '::/0']) {
      expect(reasonOf(p, tor), p).not.toBe('accepted');
    }
    expect(reasonOf('10.244.9.0/24', tor)).toContain('not a registered');
  });

  it('refuses outside prefixes from nodes and from peers without an Import list (none by default)', () => {
    expect(reasonOf('198.51.100.0/24', mesh)).toContain('not from an external peer');
    expect(reasonOf('198.51.100.0/24', '192.0.2.2')).not.toBe('accepted');
  });

  it('accepts outside prefixes an external peer\'s Import list permits, and only those', () => {
    expect(reasonOf('198.51.100.0/24', tor)).toBe('accepted');
    expect(reasonOf('198.51.100.64/26', tor)).toBe('accepted');
    expect(reasonOf('198.51.100.64/27', tor)).toContain('Import list');
    expect(reasonOf('203.0.113.0/24', tor)).not.toBe('accepted');
  });

  it('never lets an Import list admit a cluster prefix', () => {
    const wide: ImportFacts = { ...facts, importLists: new Map([[tor, new PrefixList(['0.0.0.0/0 le 32'])]]) };
    expect(importVerdict('10.244.9.0/24', tor, '192.0.2.1', wide)).toMatchObject({ accept: false });
    expect(importVerdict('10.0.0.0/8', tor, '192.0.2.1', wide)).toMatchObject({ accept: false });
  });
});

describe('overlaps', () => {
  it('is true when one prefix contains the other, false across families', () => {
    expect(overlaps('10.244.0.0/16', '10.244.3.0/24')).toBe(true);
    expect(overlaps('10.0.0.0/8', '10.244.0.0/16')).toBe(true);
    expect(overlaps('10.244.0.0/16', '10.245.0.0/16')).toBe(false);
    expect(overlaps('10.244.0.0/16', 'fd00::/8')).toBe(false);
  });
});
