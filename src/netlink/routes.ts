// Routes, IPv4 and IPv6: replace (idempotent), delete, list; gateway, device, onlink, table,
// protocol, metric, scope, type, and multipath (ECMP) next hops; get (the kernel's route lookup
// for one destination, `ip route get`).
//
// Two encodings are ours rather than the `netlink` package's, because the package gets them wrong:
//  - the ONLINK flag: the package's RouteFlags only knows RTM_F_* bits, so `flags: {onlink: true}`
//    encodes as 0 and the kernel answers ENETUNREACH for a gateway outside every connected prefix
//    (exactly the VXLAN backend's case). RTNH_F_ONLINK (4) belongs in rtm_flags; we write it there.
//  - RTA_MULTIPATH: the package leaves it as raw bytes; we encode and decode struct rtnexthop.
// Every route weft writes carries RTPROT_WEFT unless the caller says otherwise; deletes match on
// protocol too, so a delete can never remove a route weft did not make.
import netlinkPackage from 'netlink';
import type { rt as RtTypes } from 'netlink';
import { afOf, bytesToIp, familyOf, familyOfAf, formatCidr, ipToBytes, networkOf, parseCidr, parseIp, type Family } from '../net/addr.js';
import { attribute, attributes, collect, PayloadBuilder } from './encode.js';
import { NetlinkError } from './errors.js';
import type { LinkHandle } from './handle.js';
import { RTNH_F_ONLINK, RTPROT_WEFT, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from './protocol.js';
import { NLM_F_CREATE, NLM_F_REPLACE, type RawMessage } from './socket.js';
import { TimeSlice } from '../util/time-slice.js';

const { rt } = netlinkPackage;

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
const RTMSG_LENGTH = 12;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RT_SCOPE_NOWHERE = 255;
const RTM_F_CLONED = 0x200;
const RTMSG_FLAGS_OFFSET = 8;
/** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags. */
const RTMSG_PROTOCOL_OFFSET = 5;
const RTNEXTHOP_LENGTH = 8;

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';
const ROUTE_TYPES: RouteType[] = ['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw'];

export interface NextHop {
  gateway?: string;
  dev?: string | number;
  onlink?: boolean;
  /** ECMP weight, 1–256 (default 1). */
  weight?: number;
}

export interface RouteSpec {
  /** Destination prefix, e.g. "10.244.3.0/24" or "fd00:10:244:3::/64". */
  dst: string;
  gateway?: string;
  dev?: string | number;
  /** Treat the gateway as directly attached to dev even if no connected prefix covers it. */
  onlink?: boolean;
  /** Multipath next hops; when given, gateway/dev/onlink above are not used. */
  nexthops?: NextHop[];
  /** Default: main (254). */
  table?: number;
  /** Default: RTPROT_WEFT. */
  protocol?: number;
  metric?: number;
  /** Default: link for a device-only route, universe otherwise (as `ip route` chooses). */
  scope?: number;
  /** Default: unicast. */
  type?: RouteType;
  /** Preferred source address. */
  src?: string;
}

export interface NextHopInfo {
  gateway?: string;
  index?: number;
  onlink: boolean;
  weight: number;
}

export interface RouteInfo {
  family: Family;
  dst: string;
  table: number;
  protocol: number;
  scope: number;
  type: RouteType | `type ${number}`;
  metric?: number;
  gateway?: string;
  index?: number;
  onlink: boolean;
  nexthops?: NextHopInfo[];
  src?: string;
}

export interface RouteFilter {
  family?: Family;
  /** Default: the main table; 'all' for every table. */
  table?: number | 'all';
  protocol?: number;
  dev?: string | number;
}

export class Routes {
  constructor(private readonly nl: LinkHandle) {}

  /** Installs the route, replacing any route with the same destination, table, tos and metric. */
  async replace(spec: RouteSpec): Promise<void> {
    await this.withFreshIndexes(spec, async () => {
      const payload = await this.encode(spec, false);
      await this.nl.socket.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, payload, { operation: 'route.replace', target: () => describe(spec) });
    });
  }

  /** Deletes the route with this destination, table, protocol (and metric/gateway when given). */
  async delete(spec: RouteSpec): Promise<void> {
    await this.withFreshIndexes(spec, async () => {
      const payload = await this.encode(spec, true);
      await this.nl.socket.request(RTM_DELROUTE, 0, payload, { operation: 'route.delete', target: () => describe(spec) });
    });
  }

  /**
   * Runs `op`; if the kernel answers ENODEV and the route names devices, their cached indexes may
   * be stale (device recreated under the same name): forget them and try once more.
   */
  private async withFreshIndexes(spec: RouteSpec, op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (error) {
      const devices = [spec.dev, ...(spec.nexthops ?? []).map((nh) => nh.dev)].filter((dev): dev is string => typeof dev === 'string');
      if (devices.length === 0 || !(error instanceof NetlinkError) || error.code !== 'ENODEV') throw error;
      for (const dev of devices) this.nl.forgetIndex(dev);
      await op();
    }
  }

  /**
   * The route the kernel would use towards `address` (`ip route get ADDRESS`): its gateway, if
   * any, and output device. Undefined when there is no route (ENETUNREACH/EHOSTUNREACH).
   */
  async get(address: string): Promise<RouteInfo | undefined> {
    const { family, address: canonical } = parseIp(address);
    const payload = new PayloadBuilder(RTMSG_LENGTH);
    payload.header.writeUInt8(afOf(family), 0);
    payload.header.writeUInt8(family === 4 ? 32 : 128, 1);
    payload.attr(RTA_DST, ipToBytes(canonical));
    try {
      const replies = await this.nl.socket.request(RTM_GETROUTE, 0, [payload.finish()], { operation: 'route.get', target: canonical });
      const reply = replies.find((m) => m.type === RTM_NEWROUTE);
      // The answer is a route-cache entry (RTM_F_CLONED), which list() rightly skips: keep it here.
      return reply ? parseRoute(reply, { cloned: true }) : undefined;
    } catch (error) {
      if (error instanceof NetlinkError && (error.code === 'ENETUNREACH' || error.code === 'EHOSTUNREACH')) return undefined;
      throw error;
    }
  }

  async list(filter: RouteFilter = {}): Promise<RouteInfo[]> {
    const index = filter.dev === undefined ? undefined : await this.nl.ifindex(filter.dev);
    const table = filter.table ?? RT_TABLE_MAIN;
    const data: RtTypes.Route = filter.family ? { family: afOf(filter.family) } : {};
    const replies = await this.nl.socket.dump(RTM_GETROUTE, collect((out) => rt.formatRouteMessage({ kind: 'route', data, attrs: {} }, out)), { operation: 'route.list', target: `table ${table}` });
    // A table of hundreds of thousands of routes is parsed a time slice at a time (see
    // time-slice.ts), and a route of another protocol is not parsed at all: rtmsg's protocol octet.
    const out: RouteInfo[] = [];
    const slice = new TimeSlice();
    for (const m of replies) {
      if (slice.due) await slice.next();
      if (m.type !== RTM_NEWROUTE) continue;
      if (filter.protocol !== undefined && m.data.length > RTMSG_PROTOCOL_OFFSET && m.data[RTMSG_PROTOCOL_OFFSET] !== filter.protocol) continue;
      const r = parseRoute(m);
      if (r === undefined) continue;
      if ((table === 'all' || r.table === table) && (filter.protocol === undefined || r.protocol === filter.protocol) && (!filter.family || r.family === filter.family)) {
        if (index === undefined || r.index === index || (r.nexthops ?? []).some((nh) => nh.index === index)) out.push(r);
      }
    }
    return out;
  }

  private async encode(spec: RouteSpec, forDelete: boolean): Promise<Uint8Array[]> {
    const dst = networkOf(parseCidr(spec.dst));
    const table = spec.table ?? RT_TABLE_MAIN;
    const type = spec.type ?? 'unicast';
    const deviceOnly = !spec.gateway && !spec.nexthops?.length && spec.dev !== undefined;
    const payload = new PayloadBuilder(RTMSG_LENGTH, 128);
    const header = payload.header;
    header.writeUInt8(afOf(dst.family), 0);
    header.writeUInt8(dst.prefixLen, 1);
    header.writeUInt8(table < 256 ? table : 0, 4); // larger ids go in RTA_TABLE only
    header.writeUInt8(spec.protocol ?? RTPROT_WEFT, 5);
    // A delete matches any scope unless told (iproute2 does the same with RT_SCOPE_NOWHERE).
    header.writeUInt8(spec.scope ?? (forDelete ? RT_SCOPE_NOWHERE : deviceOnly && type === 'unicast' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE), 6);
    header.writeUInt8(forDelete && spec.type === undefined ? 0 : ROUTE_TYPES.indexOf(type) + 1, 7);
    payload.u32(RTA_TABLE, table);
    if (dst.prefixLen > 0) payload.attr(RTA_DST, ipToBytes(dst.address));
    if (spec.metric !== undefined) payload.u32(RTA_PRIORITY, spec.metric);
    if (spec.src !== undefined) payload.attr(RTA_PREFSRC, ipToBytes(spec.src));
    if (spec.nexthops && spec.nexthops.length > 0) {
      payload.attr(RTA_MULTIPATH, await this.encodeNextHops(spec.nexthops, dst.family));
    } else {
      if (spec.gateway !== undefined) payload.attr(RTA_GATEWAY, gatewayBytes(spec.gateway, dst.family));
      if (spec.dev !== undefined) payload.u32(RTA_OIF, await this.nl.ifindex(spec.dev));
      // RTNH_F_ONLINK lives in rtm_flags for a single-path route (see the header comment).
      if (spec.onlink) header.writeUInt32LE(RTNH_F_ONLINK, RTMSG_FLAGS_OFFSET);
    }
    return [payload.finish()];
  }

  private async encodeNextHops(nexthops: NextHop[], family: Family): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (const nh of nexthops) {
      const weight = nh.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1 || weight > 256) throw new RangeError(`next hop weight ${weight} outside 1–256`);
      const nested = nh.gateway !== undefined ? attribute(RTA_GATEWAY, gatewayBytes(nh.gateway, family)) : Buffer.alloc(0);
      const head = Buffer.alloc(RTNEXTHOP_LENGTH);
      head.writeUInt16LE(RTNEXTHOP_LENGTH + nested.length, 0);
      head.writeUInt8(nh.onlink ? RTNH_F_ONLINK : 0, 2);
      head.writeUInt8(weight - 1, 3);
      head.writeInt32LE(nh.dev !== undefined ? await this.nl.ifindex(nh.dev) : 0, 4);
      parts.push(head, nested);
    }
    return Buffer.concat(parts);
  }
}

function gatewayBytes(gateway: string, family: Family): Buffer {
  if (familyOf(gateway) !== family) throw new RangeError(`gateway ${gateway} is not IPv${family}`);
  return ipToBytes(gateway);
}

function describe(spec: RouteSpec): string {
  const via = spec.nexthops?.length
    ? spec.nexthops.map((nh) => `nexthop via ${nh.gateway ?? '-'} dev ${nh.dev ?? '-'}`).join(' ')
    : `${spec.gateway ? `via ${spec.gateway} ` : ''}${spec.dev !== undefined ? `dev ${spec.dev}` : ''}`;
  return `${spec.dst} ${via}${spec.onlink ? ' onlink' : ''} table ${spec.table ?? RT_TABLE_MAIN}`.replace(/\s+/g, ' ').trim();
}

export function parseRoute(message: RawMessage, options: { cloned?: boolean } = {}): RouteInfo | undefined {
  const header = message.data;
  const { data, attrs } = rt.parseRouteMessage(header);
  if (data.family !== 2 && data.family !== 10) return undefined;
  const flags = header.readUInt32LE(RTMSG_FLAGS_OFFSET);
  if (flags & RTM_F_CLONED && !options.cloned) return undefined; // route-cache clones are not routes anyone installed
  const family = familyOfAf(data.family);
  const dstAddress = attrs.dst ? bytesToIp(attrs.dst) : family === 4 ? '0.0.0.0' : '::';
  const typeNumber = typeof data.type === 'number' ? data.type : ROUTE_TYPES.indexOf(String(data.type).toLowerCase() as RouteType) + 1;
  const route: RouteInfo = {
    family,
    dst: formatCidr({ family, address: dstAddress, prefixLen: data.dstLen ?? 0 }),
    table: attrs.table ?? (typeof data.table === 'number' ? data.table : 0),
    protocol: numeric(data.protocol),
    scope: numeric(data.scope),
    type: ROUTE_TYPES[typeNumber - 1] ?? `type ${typeNumber}`,
    onlink: (flags & RTNH_F_ONLINK) !== 0,
  };
  if (attrs.priority !== undefined) route.metric = attrs.priority;
  if (attrs.gateway) route.gateway = bytesToIp(attrs.gateway);
  if (attrs.oif !== undefined) route.index = attrs.oif;
  if (attrs.prefsrc) route.src = bytesToIp(attrs.prefsrc);
  if (attrs.multipath) route.nexthops = parseNextHops(attrs.multipath);
  return route;
}

/** The package parses enum fields to names where it knows them; we want the numbers. */
function numeric(value: unknown): number {
  if (typeof value === 'number') return value;
  const named: Record<string, number> = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255, REDIRECT: 1, KERNEL: 2, BOOT: 3, STATIC: 4, GATED: 8, RA: 9, MRT: 10, ZEBRA: 11, BIRD: 12, DNROUTED: 13, XORP: 14, NTK: 15, DHCP: 16, MROUTED: 17, BABEL: 42, BGP: 186, ISIS: 187, OSPF: 188, RIP: 189, EIGRP: 192 };
  return named[String(value)] ?? -1;
}

export function parseNextHops(blob: Buffer): NextHopInfo[] {
  const hops: NextHopInfo[] = [];
  let offset = 0;
  while (offset + RTNEXTHOP_LENGTH <= blob.length) {
    const length = blob.readUInt16LE(offset);
    if (length < RTNEXTHOP_LENGTH || offset + length > blob.length) break;
    const hop: NextHopInfo = { onlink: (blob.readUInt8(offset + 2) & RTNH_F_ONLINK) !== 0, weight: blob.readUInt8(offset + 3) + 1 };
    const index = blob.readInt32LE(offset + 4);
    if (index > 0) hop.index = index;
    for (const [type, value] of attributes(blob.subarray(offset + RTNEXTHOP_LENGTH, offset + length))) {
      if (type === RTA_GATEWAY) hop.gateway = bytesToIp(value);
    }
    hops.push(hop);
    offset += (length + 3) & ~3;
  }
  return hops;
}
