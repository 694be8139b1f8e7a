// The simulated remote nodes of the scale benches (scale, bgp-scale): node i (1-based) holds the
// podCIDR 10.(1+⌊i/256⌋).(i mod 256).0/24 — clear of the lab's own 10.244.0.0/16 — and sits at
// 198.18.⌊i/256⌋.(i mod 256) on the underlay (a documentation benchmarking range), with a VTEP
// MAC derived from i. Pure; the benches write these into etcd (and BGP announcements).
export interface RemoteNode {
  name: string;
  subnet: string;
  vtep: string;
  mac: string;
  publicIP: string;
}

/** The cluster network that holds every remote node's subnet (a /16 holds only 256 /24s). */
export const WIDE_NETWORK = '10.0.0.0/8';

export function remoteNode(i: number): RemoteNode {
  const [hi, lo] = [i >> 8, i & 255];
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  if (1 + hi >= 244) throw new Error('too many remote nodes for this bench (max 62463)');
  return { name: `scale-node-${String(i).padStart(5, '0')}`, subnet: `10.${1 + hi}.${lo}.0/24`, vtep: `10.${1 + hi}.${lo}.0`, mac: `0a:58:0a:${hex(hi)}:${hex(lo)}:01`, publicIP: `198.18.${hi}.${lo}` };
}
