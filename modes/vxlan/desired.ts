// The desired kernel state of one VXLAN address family, computed from the registry's remote nodes:
// per node a neighbour entry, an FDB entry and a route — or, with DirectRouting and a node on our
// own L2 segment, just a plain route to its public IP. Pure: the kernel facts it needs (our
// device's index, which public IPs are directly reachable and by which device) are passed in.
//
// What it is not: validation of registry input (the registry did that at its boundary). The few
// checks here guard the kernel against what would still corrupt it — two nodes claiming one VTEP
// MAC or one subnet would make their entries overwrite each other — and report instead of throwing.
import { canonicalPrefix, networkOf, parseCidr, parseIp, parseMac, type Family } from '../../src/net/addr.js';
import type { RemoteNode, VxlanBackendData } from '../../src/registry/types.js';

export interface WantedNeighbour {
  ip: string;
  mac: string;
}

export interface WantedFdb {
  mac: string;
  dst: string;
}

export interface WantedRoute {
  dst: string;
  gateway: string;
  /** Output device: our VXLAN device, or the underlay device for a direct route. */
  index: number;
  onlink: boolean;
}

/** One remote node's entries in one family. A direct-routed node has a route only. */
export interface NodeEntries {
  node: string;
  subnet: string;
  direct: boolean;
  neighbour?: WantedNeighbour;
  fdb?: WantedFdb;
  route: WantedRoute;
}

export interface RejectedNode {
  node: string;
  subnet: string;
  reason: string;
}

export interface DesiredFamily {
  nodes: NodeEntries[];
  /** Nodes that cannot be programmed in this family, with the reason. */
  rejected: RejectedNode[];
}

export interface DesiredContext {
  family: Family;
  /** ifindex of our VXLAN device of this family. */
  deviceIndex: number;
  /** DirectRouting: public IP → ifindex of the device it is reachable on without a gateway. */
  direct?: ReadonlyMap<string, number>;
}

/** What a remote node offers in one family: undefined when it does not take part in it. */
export function familyView(node: RemoteNode, family: Family): { subnet: string; publicIP: string; data: Partial<VxlanBackendData> | undefined } | undefined {
  if (family === 4) return { subnet: node.subnet, publicIP: node.publicIP, data: node.backendData };
  if (!node.ipv6Subnet || !node.publicIPv6 || !node.backendV6Data) return undefined;
  return { subnet: node.ipv6Subnet, publicIP: node.publicIPv6, data: node.backendV6Data };
}

/** The entries of every VXLAN node in `nodes` that takes part in `ctx.family`. */
export function desiredFamily(nodes: readonly RemoteNode[], ctx: DesiredContext): DesiredFamily {
  const out: DesiredFamily = { nodes: [], rejected: [] };
  const macOwner = new Map<string, string>();
  const subnetOwner = new Map<string, string>();
  for (const node of nodes) {
    if (node.backendType !== 'vxlan') continue;
    const view = familyView(node, ctx.family);
    if (!view) continue;
    const reject = (reason: string): void => void out.rejected.push({ node: node.name, subnet: view.subnet, reason });
    let subnet: string;
    let gatewayAddress: string;
    let mac: string;
    let publicIP: string;
    try {
      const fast = ctx.family === 4 ? fastIpv4Subnet(view.subnet) : undefined;
      if (fast) {
        ({ subnet, address: gatewayAddress } = fast);
      } else {
        const prefix = parseCidr(view.subnet);
        if (prefix.family !== ctx.family) throw new Error(`subnet is not IPv${ctx.family}`);
        subnet = canonicalPrefix(view.subnet);
        gatewayAddress = networkOf(prefix).address;
      }
      if (ctx.family === 4 && CANONICAL_QUAD.test(view.publicIP)) {
        publicIP = view.publicIP;
      } else {
        const ip = parseIp(view.publicIP);
        if (ip.family !== ctx.family) throw new Error(`public IP ${view.publicIP} is not IPv${ctx.family}`);
        publicIP = ip.address;
      }
      mac = parseMac(String(view.data?.VtepMAC ?? ''));
    } catch (error) {
      reject(`invalid: ${(error as Error).message}`);
      continue;
    }
    const subnetClash = subnetOwner.get(subnet);
    if (subnetClash !== undefined) {
      reject(`subnet ${subnet} also claimed by ${subnetClash}`);
      continue;
    }
    const directIndex = ctx.direct?.get(publicIP);
    if (directIndex !== undefined) {
      subnetOwner.set(subnet, node.name);
      out.nodes.push({ node: node.name, subnet, direct: true, route: { dst: subnet, gateway: publicIP, index: directIndex, onlink: false } });
      continue;
    }
    const macClash = macOwner.get(mac);
    if (macClash !== undefined) {
      reject(`VTEP MAC ${mac} also used by ${macClash}`);
      continue;
    }
    subnetOwner.set(subnet, node.name);
    macOwner.set(mac, node.name);
    out.nodes.push({
      node: node.name,
      subnet,
      direct: false,
      neighbour: { ip: gatewayAddress, mac },
      fdb: { mac, dst: publicIP },
      route: { dst: subnet, gateway: gatewayAddress, index: ctx.deviceIndex, onlink: true },
    });
  }
  return out;
}

// The common case — IPv4 in canonical dotted-quad form — without ipaddr.js: a pass over 5000 nodes
// otherwise spends ~50 ms parsing the same strings in four ways. Anything else takes the general
// path above, which also produces the error messages.
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CANONICAL_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const QUAD_PREFIX = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/(3[0-2]|[12]?\\d)$`);

/** "10.244.3.7/24" → { subnet: "10.244.3.0/24", address: "10.244.3.0" }, or undefined if not plain IPv4. */
export function fastIpv4Subnet(text: string): { subnet: string; address: string } | undefined {
  const m = QUAD_PREFIX.exec(text);
  if (!m) return undefined;
  const len = Number(m[5]);
  const value = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const network = len === 0 ? 0 : (value & (~0 << (32 - len))) >>> 0;
  const address = `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}`;
  return { subnet: `${address}/${len}`, address };
}
