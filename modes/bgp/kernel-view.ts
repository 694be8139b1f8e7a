// CrossSubnet "vxlan": one kernel, two backends that each believe every proto-weft route is theirs.
// The VxlanBackend dumps the main table's RTPROT_WEFT routes and removes what it does not want
// (vxlan/diff.ts), so next to the BgpBackend it would delete BGP's routes. It is given a Netlink
// whose `routes.list` sees only routes leaving by flannel.<VNI> / flannel-v6.<VNI> (DirectRouting
// is off in this mode). The BgpBackend is told the same devices instead (its foreignDevices).
// Everything else (links, neighbours, FDB, writes) is the real handle, shared.
import type { Netlink, RouteFilter, RouteInfo } from '../../src/netlink/index.js';
import { Routes } from '../../src/netlink/routes.js';

/** The ifindexes of the VXLAN devices now (looked up by name each time: a device may be recreated). */
export type DeviceIndexes = () => Promise<ReadonlySet<number>>;

/** True when the route leaves by one of `devices` (any hop of a multipath route). */
export function leavesBy(route: RouteInfo, devices: ReadonlySet<number>): boolean {
  if (route.index !== undefined && devices.has(route.index)) return true;
  return (route.nexthops ?? []).some((h) => h.index !== undefined && devices.has(h.index));
}

class VxlanRoutes extends Routes {
  constructor(
    nl: Netlink,
    private readonly devices: DeviceIndexes,
  ) {
    super(nl);
  }

  override async list(filter: RouteFilter = {}): Promise<RouteInfo[]> {
    const [routes, devices] = await Promise.all([super.list(filter), this.devices()]);
    return routes.filter((r) => leavesBy(r, devices));
  }
}

/** The handle the VxlanBackend gets: proto-weft routes on the VXLAN devices only; all else the real handle. */
export function vxlanShare(nl: Netlink, devices: DeviceIndexes): Netlink {
  // Everything but `routes` resolves to the real handle through the prototype chain.
  return Object.create(nl, { routes: { value: new VxlanRoutes(nl, devices), enumerable: true } }) as Netlink;
}
