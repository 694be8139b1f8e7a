// VxlanOptions: the VXLAN backend's settings (net-conf.json's Backend.{VNI, Port, MTU, GBP,
// DirectRouting} plus dual stack), their defaults, and the two values derived from them alone:
// the device names and the device MTU. Not validation of user input: config/netconf.ts did that.
import type { Family } from '../../src/net/addr.js';

export interface VxlanOptions {
  /** VXLAN network identifier (default 1). */
  vni: number;
  /** UDP destination port (default 8472, the Linux/flannel port rather than IANA's 4789). */
  port: number;
  /** Device MTU override (Backend.MTU); default: underlay MTU minus the encapsulation. */
  mtu?: number;
  /** VXLAN Group Based Policy extension (default off). */
  gbp: boolean;
  /** Plain routes to remote nodes on our L2 segment instead of encapsulation (default off). */
  directRouting: boolean;
  /** Dual stack: also run a flannel-v6.<VNI> device (default off). */
  ipv6: boolean;
}

export const DEFAULT_VXLAN_OPTIONS: VxlanOptions = { vni: 1, port: 8472, gbp: false, directRouting: false, ipv6: false };

export function resolveVxlanOptions(options: Partial<VxlanOptions> = {}): VxlanOptions {
  const resolved: VxlanOptions = { ...DEFAULT_VXLAN_OPTIONS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) Object.assign(resolved, { [key]: value });
  return resolved;
}

/** flannel's names, kept so existing runbooks, dashboards and alerts keep matching. */
export function vxlanDeviceName(vni: number, family: Family): string {
  return family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`;
}

/**
 * Outer headers a VXLAN packet adds: Ethernet 14 + VXLAN 8 + UDP 8 + IPv4 20 = 50, or 70 with an
 * IPv6 outer header (40). The overlay family does not matter; the underlay's does.
 */
export function vxlanOverhead(underlayFamily: Family): number {
  return underlayFamily === 4 ? 50 : 70;
}

export function vxlanDeviceMtu(underlayMtu: number, underlayFamily: Family, override?: number): number {
  return override ?? underlayMtu - vxlanOverhead(underlayFamily);
}
