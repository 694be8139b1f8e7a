// Neighbour entries (ARP for IPv4, NDP for IPv6) on a device: the VXLAN backend pins each remote
// node's VTEP address to its MAC with a permanent entry, so the kernel never has to resolve it.
import netlinkPackage from 'netlink';
import type { rt as RtTypes } from 'netlink';
import { AF_INET, AF_INET6, afOf, bytesToIp, bytesToMac, familyOfAf, ipToBytes, macToBytes, type Family } from '../net/addr.js';
import { collect, PayloadBuilder } from './encode.js';
import type { LinkHandle } from './handle.js';
import { NLM_F_CREATE, NLM_F_REPLACE, type RawMessage } from './socket.js';

const { rt } = netlinkPackage;

export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const NDMSG_LENGTH = 12;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;

/** struct ndmsg: family, pad×3, ifindex, state (u16), flags, type. */
export function writeNdmsg(header: Buffer, family: number, ifindex: number, state: number, flags: number): void {
  header.writeUInt8(family, 0);
  header.writeInt32LE(ifindex, 4);
  header.writeUInt16LE(state, 8);
  header.writeUInt8(flags, 10);
}

export interface NeighbourInfo {
  index: number;
  family: Family;
  ip: string;
  mac?: string;
  /** NUD state names, e.g. ["permanent"] or ["reachable"]. */
  state: string[];
  permanent: boolean;
}

export interface NeighbourKey {
  dev: string | number;
  ip: string;
}

export interface NeighbourEntry extends NeighbourKey {
  mac: string;
}

export class Neighbours {
  constructor(private readonly nl: LinkHandle) {}

  /** Creates or overwrites a permanent entry ip → mac on dev. Safe to repeat. */
  replace(entry: NeighbourEntry): Promise<void> {
    return this.write(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, entry, macToBytes(entry.mac), 'neighbour.replace', `${entry.ip} lladdr ${entry.mac}`);
  }

  delete(key: NeighbourKey): Promise<void> {
    return this.write(RTM_DELNEIGH, 0, key, undefined, 'neighbour.delete', key.ip);
  }

  async list(filter: { dev?: string | number; family?: Family } = {}): Promise<NeighbourInfo[]> {
    const index = filter.dev === undefined ? undefined : await this.nl.ifindex(filter.dev);
    const data: RtTypes.Neighbor = filter.family ? { family: afOf(filter.family) } : {};
    const replies = await this.nl.socket.dump(RTM_GETNEIGH, collect((out) => rt.formatNeighborMessage({ kind: 'neighbor', data, attrs: {} }, out)), { operation: 'neighbour.list', target: String(filter.dev ?? 'all') });
    return replies
      .filter((m) => m.type === RTM_NEWNEIGH)
      .map(parseNeighbour)
      .filter((n): n is NeighbourInfo => n !== undefined && (index === undefined || n.index === index) && (!filter.family || n.family === filter.family));
  }

  private write(type: number, flags: number, key: NeighbourKey, lladdr: Buffer | undefined, operation: string, what: string): Promise<void> {
    const dst = ipToBytes(key.ip);
    return this.nl.withDevice(key.dev, async (ifindex) => {
      const payload = new PayloadBuilder(NDMSG_LENGTH);
      writeNdmsg(payload.header, dst.length === 4 ? AF_INET : AF_INET6, ifindex, NUD_PERMANENT, 0);
      payload.attr(NDA_DST, dst);
      if (lladdr) payload.attr(NDA_LLADDR, lladdr);
      await this.nl.socket.request(type, flags, [payload.finish()], { operation, target: `${what} dev ${key.dev}` });
    });
  }
}

export function stateNames(state: RtTypes.NeighborState | undefined): string[] {
  return Object.keys(state ?? {}).filter((name) => name !== '__unknown');
}

export function parseNeighbour(message: RawMessage): NeighbourInfo | undefined {
  const { data, attrs } = rt.parseNeighborMessage(message.data);
  if ((data.family !== 2 && data.family !== 10) || !attrs.dst) return undefined;
  const neighbour: NeighbourInfo = {
    index: data.ifindex ?? 0,
    family: familyOfAf(data.family),
    ip: bytesToIp(attrs.dst),
    state: stateNames(data.state),
    permanent: Boolean(data.state?.permanent),
  };
  if (attrs.lladdr && attrs.lladdr.length === 6) neighbour.mac = bytesToMac(attrs.lladdr);
  return neighbour;
}
