// Links: list and inspect network devices; create the kinds weft uses (VXLAN, bridge, veth);
// set up/down, MTU, MAC and master; delete. Values in and out are plain typed objects.
import { closeSync, openSync } from 'node:fs';
import netlinkPackage from 'netlink';
import type { ifla as IflaTypes } from 'netlink';
import { bytesToIp, bytesToMac, familyOf, ipToBytes, macToBytes } from '../net/addr.js';
import { netnsPath } from '../netns.js';
import { attribute, be16, collect, toBuffer, u32 } from './encode.js';
import { NetlinkError } from './errors.js';
import type { LinkHandle } from './handle.js';
import { NLM_F_CREATE, NLM_F_EXCL, type RawMessage } from './socket.js';

const { rt, ifla } = netlinkPackage;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_NET_NS_FD = 28;
const VETH_INFO_PEER = 1;
const IFINFOMSG_LENGTH = 16;

export interface VxlanInfo {
  vni: number;
  /** UDP destination port. */
  port: number;
  /** Local (source) address of the tunnel, if set. */
  local?: string;
  /** ifindex of the underlay device the tunnel is bound to, if any. */
  underlayIndex?: number;
  learning: boolean;
  gbp: boolean;
}

export interface LinkInfo {
  index: number;
  name: string;
  /** rtnl link kind ("vxlan", "bridge", "veth"…); undefined for plain physical devices. */
  kind?: string;
  mtu: number;
  mac?: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** ifindex of the bridge this device is enslaved to. */
  master?: number;
  vxlan?: VxlanInfo;
}

export interface VxlanSpec {
  name: string;
  vni: number;
  port: number;
  /** Local tunnel address (this node's public IP), v4 or v6. */
  local?: string;
  /** Underlay device (name or ifindex) the tunnel is bound to. */
  underlay?: string | number;
  learning?: boolean;
  gbp?: boolean;
  mtu?: number;
  mac?: string;
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** Bridge to enslave to (name or index), or null to release. */
  master?: string | number | null;
}

export class Links {
  constructor(private readonly nl: LinkHandle) {}

  async list(): Promise<LinkInfo[]> {
    const replies = await this.nl.socket.dump(RTM_GETLINK, collect((out) => rt.formatLinkMessage({ kind: 'link', data: {}, attrs: {} }, out)), { operation: 'link.list', target: 'all' });
    return replies.filter((m) => m.type === RTM_NEWLINK).map(parseLink);
  }

  /** The device named `name`, or undefined when there is none. */
  async get(name: string | number): Promise<LinkInfo | undefined> {
    const data = typeof name === 'number' ? { index: name } : {};
    const attrs = typeof name === 'string' ? { ifname: name } : {};
    try {
      const replies = await this.nl.socket.request(RTM_GETLINK, 0, collect((out) => rt.formatLinkMessage({ kind: 'link', data, attrs }, out)), { operation: 'link.get', target: String(name) });
      const reply = replies.find((m) => m.type === RTM_NEWLINK);
      return reply ? parseLink(reply) : undefined;
    } catch (error) {
      if (error instanceof NetlinkError && error.code === 'ENODEV') return undefined;
      throw error;
    }
  }

  async createVxlan(spec: VxlanSpec): Promise<void> {
    const vxlan: IflaTypes.Vxlan = {
      id: spec.vni,
      port: be16(spec.port),
      learning: spec.learning ? 1 : 0,
    };
    if (spec.gbp) vxlan.gbp = true;
    if (spec.local !== undefined) {
      if (familyOf(spec.local) === 4) vxlan.local = ipToBytes(spec.local);
      else vxlan.local6 = ipToBytes(spec.local);
    }
    if (spec.underlay !== undefined) vxlan.link = await this.nl.ifindex(spec.underlay);
    const linkinfo = toBuffer(ifla.formatInfo({ kind: 'vxlan', data: toBuffer(ifla.formatVxlan(vxlan)) }));
    const attrs: IflaTypes.LinkAttrs = { ifname: spec.name, linkinfo };
    if (spec.mtu !== undefined) attrs.mtu = spec.mtu;
    if (spec.mac !== undefined) attrs.address = macToBytes(spec.mac);
    await this.create(attrs, 'link.create-vxlan', spec.name);
  }

  async createBridge(name: string, options: { mtu?: number } = {}): Promise<void> {
    const attrs: IflaTypes.LinkAttrs = { ifname: name, linkinfo: toBuffer(ifla.formatInfo({ kind: 'bridge' })) };
    if (options.mtu !== undefined) attrs.mtu = options.mtu;
    await this.create(attrs, 'link.create-bridge', name);
  }

  /** A veth pair; the peer end can be created directly inside another network namespace. */
  async createVeth(name: string, peer: string, options: { peerNetns?: string; mtu?: number } = {}): Promise<void> {
    const fd = options.peerNetns ? openSync(netnsPath(options.peerNetns), 'r') : undefined;
    try {
      const peerAttrs = [attribute(IFLA_IFNAME, Buffer.from(`${peer}\0`))];
      if (options.mtu !== undefined) peerAttrs.push(attribute(IFLA_MTU, u32(options.mtu)));
      if (fd !== undefined) peerAttrs.push(attribute(IFLA_NET_NS_FD, u32(fd)));
      const peerInfo = attribute(VETH_INFO_PEER, Buffer.concat([Buffer.alloc(IFINFOMSG_LENGTH), ...peerAttrs]));
      const attrs: IflaTypes.LinkAttrs = { ifname: name, linkinfo: toBuffer(ifla.formatInfo({ kind: 'veth', data: peerInfo })) };
      if (options.mtu !== undefined) attrs.mtu = options.mtu;
      await this.create(attrs, 'link.create-veth', `${name}/${peer}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  async set(dev: string | number, changes: LinkChanges): Promise<void> {
    const attrs: IflaTypes.LinkAttrs = {};
    if (changes.mtu !== undefined) attrs.mtu = changes.mtu;
    if (changes.mac !== undefined) attrs.address = macToBytes(changes.mac);
    if (changes.master !== undefined) attrs.master = changes.master === null ? 0 : await this.nl.ifindex(changes.master);
    // withDevice: a device recreated under the same name must not fail on a stale cached index.
    await this.nl.withDevice(dev, async (index) => {
      const data: { index: number; flags?: { up?: true }; change?: { up?: true } } = { index };
      if (changes.up !== undefined) {
        data.flags = changes.up ? { up: true } : {};
        data.change = { up: true };
      }
      await this.nl.socket.request(RTM_NEWLINK, 0, collect((out) => rt.formatLinkMessage({ kind: 'link', data, attrs }, out)), { operation: 'link.set', target: String(dev) });
    });
  }

  async delete(dev: string | number): Promise<void> {
    try {
      await this.nl.withDevice(dev, (index) =>
        this.nl.socket.request(RTM_DELLINK, 0, collect((out) => rt.formatLinkMessage({ kind: 'link', data: { index }, attrs: {} }, out)), { operation: 'link.delete', target: String(dev) }),
      );
    } finally {
      this.nl.forgetIndex(dev);
    }
  }

  private async create(attrs: IflaTypes.LinkAttrs, operation: string, target: string): Promise<void> {
    await this.nl.socket.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, collect((out) => rt.formatLinkMessage({ kind: 'link', data: {}, attrs }, out)), { operation, target });
  }
}

export function parseLink(message: RawMessage): LinkInfo {
  const { data, attrs } = rt.parseLinkMessage(message.data);
  const link: LinkInfo = {
    index: data.index ?? 0,
    name: attrs.ifname ?? '',
    mtu: attrs.mtu ?? 0,
    up: Boolean(data.flags?.up),
    lowerUp: Boolean(data.flags?.lowerUp),
  };
  if (attrs.address && attrs.address.length === 6) link.mac = bytesToMac(attrs.address);
  if (attrs.master) link.master = attrs.master;
  if (attrs.linkinfo) {
    const info = ifla.parseInfo(attrs.linkinfo);
    if (info.kind) link.kind = info.kind;
    if (info.kind === 'vxlan' && info.data) link.vxlan = parseVxlan(info.data);
  }
  return link;
}

function parseVxlan(blob: Buffer): VxlanInfo {
  const v = ifla.parseVxlan(blob);
  const info: VxlanInfo = {
    vni: v.id ?? 0,
    port: v.port && v.port.length === 2 ? v.port.readUInt16BE(0) : 0,
    learning: Boolean(v.learning),
    gbp: Boolean(v.gbp),
  };
  const local = v.local ?? v.local6;
  if (local && (local.length === 4 || local.length === 16)) info.local = bytesToIp(local);
  if (v.link) info.underlayIndex = v.link;
  return info;
}
