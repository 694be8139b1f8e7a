// The BGP backend's import policy (modes/bgp/import-policy.ts): inside the cluster network only a
// registered remote node's exact podCIDR; outside only from external peers whose Import list says
// so. Each refusal names its reason, since it ends up in the node report.
import { describe, expect, it } from 'vitest';
import { PrefixList } from '../../src/bgp/rib/prefix-list.js';
import { importVerdict, overlaps, type ImportFacts } from '../../modes/bgp/import-policy.js';

const facts: ImportFacts = {
  clusterNetworks: ['10.244.0.0/16'],
  ownSubnets: ['10.244.1.0/24'],
  remoteSubnets: new Set(['10.244.2.0/24', '10.244.3.0/24']),
  importLists: new Map([['192.0.2.1', new PrefixList(['198.51.100.0/24 le 26', 'deny 203.0.113.0/24'])]]),
};
const mesh = '192.0.2.12';
const tor = '192.0.2.1';

/** The refusal reason, or 'accepted' (so a wrong acceptance fails with a readable diff). */
function reasonOf(prefix: string, peer: string): string {
  const v = importVerdict(prefix, peer, facts);
  return v.accept ? 'accepted' : v.reason;
}

describe('importVerdict', () => {
  it('accepts a registered remote node\'s exact podCIDR, from a mesh node or a ToR', () => {
    expect(importVerdict('10.244.2.0/24', mesh, facts)).toEqual({ accept: true });
    expect(importVerdict('10.244.3.0/24', tor, facts)).toEqual({ accept: true });
  });

  it('refuses this node\'s own podCIDR and anything overlapping it', () => {
    expect(reasonOf('10.244.1.0/24', mesh)).toContain('own podCIDR');
    expect(importVerdict('10.244.1.128/25', tor, facts)).toMatchObject({ accept: false });
  });

  it('refuses sub- and super-prefixes of a registered podCIDR, and unregistered cluster prefixes', () => {
    for (const p of ['10.244.2.0/25', '10.244.2.7/32', '10.244.2.0/23', '10.244.9.0/24', '10.244.0.0/16', '10.0.0.0/8', '0.0.0.0/0']) {
      expect(importVerdict(p, mesh, facts), p).toMatchObject({ accept: false });
    }
    expect(reasonOf('10.244.9.0/24', tor)).toContain('not a registered');
  });

  it('refuses outside prefixes from mesh nodes and from peers without an Import list (none by default)', () => {
    expect(reasonOf('198.51.100.0/24', mesh)).toContain('not from an external peer');
    expect(importVerdict('198.51.100.0/24', '192.0.2.2', facts)).toMatchObject({ accept: false });
  });

  it('accepts outside prefixes an external peer\'s Import list permits, and only those', () => {
    expect(importVerdict('198.51.100.0/24', tor, facts)).toEqual({ accept: true });
    expect(importVerdict('198.51.100.64/26', tor, facts)).toEqual({ accept: true });
    expect(reasonOf('198.51.100.64/27', tor)).toContain('Import list');
    expect(importVerdict('203.0.113.0/24', tor, facts)).toMatchObject({ accept: false });
  });

  it('never lets an Import list admit a cluster prefix', () => {
    const wide: ImportFacts = { ...facts, importLists: new Map([[tor, new PrefixList(['0.0.0.0/0 le 32'])]]) };
    expect(importVerdict('10.244.9.0/24', tor, wide)).toMatchObject({ accept: false });
    expect(importVerdict('10.0.0.0/8', tor, wide)).toMatchObject({ accept: false });
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
