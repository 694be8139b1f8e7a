// The public surface of weft's rtnetlink layer. Nothing outside src/netlink builds netlink
// messages; everything goes through these types.
export { Netlink } from './netlink.js';
export { NetlinkError, isNetlinkError } from './errors.js';
export { RTPROT_WEFT, RT_TABLE_MAIN, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_SCOPE_HOST } from './protocol.js';
export type { LinkInfo, VxlanInfo, VxlanSpec, LinkChanges } from './links.js';
export type { AddressInfo } from './addresses.js';
export type { NeighbourInfo, NeighbourEntry, NeighbourKey } from './neighbours.js';
export type { FdbInfo, FdbEntry, FdbKey } from './fdb.js';
export type { RouteSpec, RouteInfo, RouteFilter, NextHop, NextHopInfo, RouteType } from './routes.js';
export type { NetlinkEvent, EventGroup, EventStream } from './events.js';
