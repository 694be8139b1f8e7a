// 10-weft.conflist: the CNI network configuration the container runtime uses to wire pods on this
// node, for the CNI reference plugins (containernetworking-plugins ≥ 1.0, CNI spec 1.0.0):
//
//   bridge "cni0"   the node's gateway for its pods (isGateway; the bridge holds the podCIDR's
//                   first IP, the same address FLANNEL_SUBNET names), MTU = the overlay MTU,
//                   hairpin on (a pod reaching itself through a Service); ipMasq off — weft's
//                   --ip-masq does masquerading once per node, in its own nftables table;
//   host-local      IPAM over the node's podCIDR(s) (v4, and v6 when dual stack), default routes;
//                   `dataDir` lets several simulated nodes on one machine keep separate reservations;
//   portmap         hostPort support (capabilities.portMappings), SNAT for hairpinned hostPorts.
//
// Not here: choosing the subnet or MTU (the daemon), or invoking plugins (test/helpers/cni.ts).
import { join } from 'node:path';
import { canonicalPrefix, parseCidr } from '../net/addr.js';
import { firstHost } from '../net/prefix-math.js';
import { writeFileAtomic } from './atomic.js';

export const CONFLIST_FILE = '10-weft.conflist';
export const CNI_VERSION = '1.0.0';
export const NETWORK_NAME = 'weft';
export const DEFAULT_BRIDGE = 'cni0';

export interface ConflistOptions {
  /** The node's IPv4 podCIDR ("10.244.3.0/24"). */
  subnet: string;
  /** The node's IPv6 podCIDR, dual stack only. */
  ipv6Subnet?: string;
  /** Pod MTU: the overlay device's MTU (VXLAN) or the underlay's (BGP). */
  mtu: number;
  /** Bridge device name (default cni0). */
  bridge?: string;
  /** host-local's reservation directory (default: the plugin's, /var/lib/cni/networks). */
  dataDir?: string;
}

export interface CniRange {
  subnet: string;
  gateway: string;
}

/** The conflist as a value (the JSON the runtime reads). */
export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export function buildConflist(options: ConflistOptions): CniConflist {
  const ranges: CniRange[][] = [[rangeOf(options.subnet, 4)]];
  const routes: { dst: string }[] = [{ dst: '0.0.0.0/0' }];
  if (options.ipv6Subnet !== undefined) {
    ranges.push([rangeOf(options.ipv6Subnet, 6)]);
    routes.push({ dst: '::/0' });
  }
  const ipam: Record<string, unknown> = { type: 'host-local', ranges, routes };
  if (options.dataDir !== undefined) ipam.dataDir = options.dataDir;
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    plugins: [
      {
        type: 'bridge',
        bridge: options.bridge ?? DEFAULT_BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        mtu: options.mtu,
        ipam,
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

function rangeOf(subnet: string, family: 4 | 6): CniRange {
  const canonical = canonicalPrefix(subnet);
  if (parseCidr(canonical).family !== family) throw new RangeError(`conflist: ${subnet} is not an IPv${family} prefix`);
  // Explicit gateway: the same first usable IP the subnet file names in FLANNEL_SUBNET.
  return { subnet: canonical, gateway: firstHost(canonical) };
}

export function renderConflist(options: ConflistOptions): string {
  return `${JSON.stringify(buildConflist(options), null, 2)}\n`;
}

/** Writes <dir>/10-weft.conflist atomically, only when its content changes. */
export async function writeConflist(dir: string, options: ConflistOptions): Promise<{ path: string; changed: boolean }> {
  const path = join(dir, CONFLIST_FILE);
  const changed = await writeFileAtomic(path, renderConflist(options));
  return { path, changed };
}
