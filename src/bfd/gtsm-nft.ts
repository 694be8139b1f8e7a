// Receive-side GTSM for BFD (RFC 5881 §5: a single-hop control packet MUST arrive with TTL / hop
// limit 255), enforced with nftables because the socket cannot: Node's dgram hides the received
// TTL and the kernel ignores IP_MINTTL for UDP (see transport.ts). Without it, a host several hops
// away that spoofs a peer's address could send Down and take the BGP session with it.
//
// weft's own table (`table inet weft-bfd`), replaced whole in one `nft -f` transaction like the
// masquerade table (src/daemon/masq.ts), so applying twice leaves the same ruleset. A drop in any
// table is final, so this works next to whatever else filters input.
import { runNft, type NftOptions } from '../daemon/masq.js';
import { BFD_SINGLE_HOP_PORT, BFD_TTL } from './transport.js';

export const BFD_GTSM_TABLE = 'weft-bfd';

export function renderBfdGtsmScript(table = BFD_GTSM_TABLE): string {
  return [
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  comment "weft: BFD single-hop TTL check, RFC 5881 section 5 (managed by weft)"',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    udp dport ${BFD_SINGLE_HOP_PORT} ip ttl != ${BFD_TTL} counter drop comment "BFD from more than one hop away"`,
    `    udp dport ${BFD_SINGLE_HOP_PORT} ip6 hoplimit != ${BFD_TTL} counter drop comment "BFD from more than one hop away"`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function applyBfdGtsm(options: Pick<NftOptions, 'netns' | 'nft'> = {}): Promise<void> {
  await runNft(['-f', '-'], options, renderBfdGtsmScript());
}
