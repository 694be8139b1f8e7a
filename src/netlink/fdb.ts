// Bridge forwarding-database entries on a device's own table (AF_BRIDGE, NTF_SELF): for a VXLAN
// device, "MAC → remote tunnel endpoint IP", which tells the kernel where to send frames for a
// remote node's VTEP MAC. With learning off these are the only way the device knows.
import netlinkPackage from 'netlink';
import { AF_BRIDGE, bytesToIp, bytesToMac, ipToBytes, macToBytes } from '../net/addr.js';
import { collect, PayloadBuilder } from './encode.js';
import type { LinkHandle } from './handle.js';
import { NDA_DST, NDA_LLADDR, NDMSG_LENGTH, NTF_SELF, NUD_PERMANENT, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH, stateNames, writeNdmsg } from './neighbours.js';
import { NLM_F_CREATE, NLM_F_REPLACE, type RawMessage } from './socket.js';

const { rt } = netlinkPackage;

export interface FdbInfo {
  index: number;
  mac: string;
  /** Remote tunnel endpoint, for VXLAN entries. */
  dst?: string;
  /** The entry lives in the device's own table (NTF_SELF), not a bridge master's. */
  self: boolean;
  permanent: boolean;
  state: string[];
}

export interface FdbKey {
  dev: string | number;
  mac: string;
  /** For VXLAN devices: delete only the entry towards this endpoint. */
  dst?: string;
}

export interface FdbEntry extends FdbKey {
  dst: string;
}

export class Fdb {
  constructor(private readonly nl: LinkHandle) {}

  /** Creates or overwrites the permanent entry mac → dst on dev. Safe to repeat. */
  replace(entry: FdbEntry): Promise<void> {
    return this.write(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, entry, 'fdb.replace');
  }

  delete(key: FdbKey): Promise<void> {
    return this.write(RTM_DELNEIGH, 0, key, 'fdb.delete');
  }

  async list(filter: { dev?: string | number } = {}): Promise<FdbInfo[]> {
    const index = filter.dev === undefined ? undefined : await this.nl.ifindex(filter.dev);
    const replies = await this.nl.socket.dump(RTM_GETNEIGH, collect((out) => rt.formatNeighborMessage({ kind: 'neighbor', data: { family: AF_BRIDGE }, attrs: {} }, out)), { operation: 'fdb.list', target: String(filter.dev ?? 'all') });
    return replies
      .filter((m) => m.type === RTM_NEWNEIGH)
      .map(parseFdb)
      .filter((f): f is FdbInfo => f !== undefined && (index === undefined || f.index === index));
  }

  private write(type: number, flags: number, key: FdbKey, operation: string): Promise<void> {
    const lladdr = macToBytes(key.mac);
    const dst = key.dst === undefined ? undefined : ipToBytes(key.dst);
    return this.nl.withDevice(key.dev, async (ifindex) => {
      const payload = new PayloadBuilder(NDMSG_LENGTH);
      writeNdmsg(payload.header, AF_BRIDGE, ifindex, NUD_PERMANENT, NTF_SELF);
      payload.attr(NDA_LLADDR, lladdr);
      if (dst) payload.attr(NDA_DST, dst);
      await this.nl.socket.request(type, flags, [payload.finish()], { operation, target: `${key.mac}${key.dst ? ` dst ${key.dst}` : ''} dev ${key.dev}` });
    });
  }
}

export function parseFdb(message: RawMessage): FdbInfo | undefined {
  const { data, attrs } = rt.parseNeighborMessage(message.data);
  if (data.family !== AF_BRIDGE || !attrs.lladdr || attrs.lladdr.length !== 6) return undefined;
  const entry: FdbInfo = {
    index: data.ifindex ?? 0,
    mac: bytesToMac(attrs.lladdr),
    self: Boolean(data.flags?.self),
    permanent: Boolean(data.state?.permanent),
    state: stateNames(data.state),
  };
  if (attrs.dst && (attrs.dst.length === 4 || attrs.dst.length === 16)) entry.dst = bytesToIp(attrs.dst);
  return entry;
}
