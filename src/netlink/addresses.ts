// Interface addresses, IPv4 and IPv6: add (fails if present), replace (idempotent), delete, list.
import netlinkPackage from 'netlink';
import type { rt as RtTypes } from 'netlink';
import { afOf, bytesToIp, familyOfAf, formatCidr, ipToBytes, parseCidr, type Family } from '../net/addr.js';
import { collect } from './encode.js';
import type { LinkHandle } from './handle.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type RawMessage } from './socket.js';

const { rt } = netlinkPackage;

const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;

export interface AddressInfo {
  index: number;
  family: Family;
  /** "10.244.1.0/32" — the local address with its prefix length. */
  cidr: string;
  scope: number;
  /** For IPv6: DAD has not finished yet. */
  tentative: boolean;
}

export class Addresses {
  constructor(private readonly nl: LinkHandle) {}

  /** Adds `cidr` to `dev`; EEXIST if it is already there. */
  add(dev: string | number, cidr: string): Promise<void> {
    return this.write(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, dev, cidr, 'address.add');
  }

  /** Adds `cidr` to `dev`, or updates it in place if present. Safe to repeat. */
  replace(dev: string | number, cidr: string): Promise<void> {
    return this.write(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, dev, cidr, 'address.replace');
  }

  delete(dev: string | number, cidr: string): Promise<void> {
    return this.write(RTM_DELADDR, 0, dev, cidr, 'address.delete');
  }

  async list(filter: { dev?: string | number; family?: Family } = {}): Promise<AddressInfo[]> {
    const index = filter.dev === undefined ? undefined : await this.nl.ifindex(filter.dev);
    const data: RtTypes.Address = filter.family ? { family: afOf(filter.family) } : {};
    const replies = await this.nl.socket.dump(RTM_GETADDR, collect((out) => rt.formatAddressMessage({ kind: 'address', data, attrs: {} }, out)), { operation: 'address.list', target: String(filter.dev ?? 'all') });
    return replies
      .filter((m) => m.type === RTM_NEWADDR)
      .map(parseAddress)
      .filter((a): a is AddressInfo => a !== undefined && (index === undefined || a.index === index) && (!filter.family || a.family === filter.family));
  }

  private write(type: number, flags: number, dev: string | number, cidr: string, operation: string): Promise<void> {
    const prefix = parseCidr(cidr);
    const bytes = ipToBytes(prefix.address);
    return this.nl.withDevice(dev, async (index) => {
      const data: RtTypes.Address = { family: afOf(prefix.family), prefixlen: prefix.prefixLen, index };
      // IFA_LOCAL is the address itself; IFA_ADDRESS the peer/prefix address (equal on non-p2p links).
      const attrs: RtTypes.AddressAttrs = prefix.family === 4 ? { local: bytes, address: bytes } : { address: bytes };
      if (prefix.family === 6) data.flags = { nodad: true };
      await this.nl.socket.request(type, flags, collect((out) => rt.formatAddressMessage({ kind: 'address', data, attrs }, out)), { operation, target: `${formatCidr(prefix)} dev ${dev}` });
    });
  }
}

export function parseAddress(message: RawMessage): AddressInfo | undefined {
  const { data, attrs } = rt.parseAddressMessage(message.data);
  const bytes = attrs.local ?? attrs.address;
  if (!bytes || (data.family !== 2 && data.family !== 10)) return undefined;
  const flags = attrs.flags ?? data.flags ?? {};
  return {
    index: data.index ?? 0,
    family: familyOfAf(data.family),
    cidr: `${bytesToIp(bytes)}/${data.prefixlen ?? 0}`,
    scope: data.scope ?? 0,
    tentative: Boolean(flags.tentative),
  };
}
