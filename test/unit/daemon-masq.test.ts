// Unit tests of the --ip-masq script: flannel's rules per family, in one atomic nft transaction.
import { describe, expect, it } from 'vitest';
import { renderMasqScript } from '../../src/daemon/masq.js';

describe('renderMasqScript', () => {
  it('writes flannel\'s rules for IPv4 in a create/delete/define transaction', () => {
    expect(renderMasqScript({ network: '10.244.0.0/16', subnet: '10.244.3.0/24' })).toBe(
      [
        'table inet weft',
        'delete table inet weft',
        'table inet weft {',
        '  comment "weft --ip-masq (managed by weft: replaced whole on every apply)"',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    meta mark & 0x00004000 == 0x00004000 return comment "marked by kube-proxy"',
        '    ip saddr 10.244.3.0/24 ip daddr 10.244.0.0/16 return comment "pod to pod: no NAT"',
        '    ip saddr 10.244.0.0/16 ip daddr 10.244.3.0/24 return comment "cluster to local pods: no NAT"',
        '    ip saddr != 10.244.0.0/16 ip daddr 10.244.3.0/24 return comment "outside to local pods: keep the client address"',
        '    ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random comment "pods to outside"',
        '    ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random comment "host to remote pods"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('adds the IPv6 rules for dual stack, canonicalises prefixes, and takes a table name', () => {
    const script = renderMasqScript({ network: '10.244.0.0/16', subnet: '10.244.3.9/24', ipv6Network: 'fd00:10:244::/56', ipv6Subnet: 'fd00:10:244:3::/64' }, { table: 'weft-test' });
    expect(script).toContain('table inet weft-test {');
    expect(script).toContain('ip saddr 10.244.3.0/24 ip daddr 10.244.0.0/16 return');
    expect(script).toContain('ip6 saddr fd00:10:244:3::/64 ip6 daddr fd00:10:244::/56 return');
    expect(script).toContain('ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade fully-random');
  });

  it('refuses prefixes of the wrong family and table names nft would misread', () => {
    expect(() => renderMasqScript({ network: 'fd00::/56', subnet: '10.244.3.0/24' })).toThrow(RangeError);
    expect(() => renderMasqScript({ network: '10.244.0.0/16', subnet: '10.244.3.0/24' }, { table: 'x; flush ruleset' })).toThrow(RangeError);
  });
});
