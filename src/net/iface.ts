// Underlay selection: which interface this node's traffic to other nodes leaves by, and which
// address other nodes reach it at — flannel's rules, so an existing --iface/--iface-regex setup
// picks the same interface:
//
//   1. --iface entries, in order: an interface name, or an address one of the interfaces holds
//      (then that address is the one published);
//   2. then --iface-regex patterns, in order: each is matched against every interface's addresses
//      first, then against interface names;
//   3. only when neither flag is given: the interface of the IPv4 default route (lowest metric).
//      An explicit choice that matches nothing is an error, never a silent fall back to the
//      default route: the wrong underlay would publish an address other nodes cannot reach.
//
// The v4 address is the interface's first global one (or the --iface address); for dual stack the
// v6 address is the interface's first global IPv6 one. --public-ip / --public-ipv6 replace what is
// published, not the interface. Loopback is never an underlay (unlike flannel's regex match).
//
// Reads the kernel through Netlink only (injectable, so any network namespace works). Not here:
// MTU arithmetic for the overlay (the backend), or watching for address changes.
import type { Underlay } from '../../modes/backend.js';
import type { AddressInfo, LinkInfo, RouteFilter, RouteInfo } from '../netlink/index.js';
import { Netlink } from '../netlink/index.js';
import { RT_SCOPE_UNIVERSE } from '../netlink/protocol.js';
import { parseIp, type Family } from './addr.js';

/** What selection needs from a Netlink handle. */
export interface UnderlayNetlink {
  links: { list(): Promise<LinkInfo[]> };
  addresses: { list(filter?: { family?: Family }): Promise<AddressInfo[]> };
  routes: { list(filter?: RouteFilter): Promise<RouteInfo[]> };
}

export interface UnderlaySelection {
  /** --iface: names or addresses, tried in order. */
  iface?: readonly string[];
  /** --iface-regex: patterns, tried in order. */
  ifaceRegex?: readonly string[];
  /** --public-ip: published instead of the interface's v4 address. */
  publicIP?: string;
  /** --public-ipv6: published instead of the interface's v6 address. */
  publicIPv6?: string;
  /** Dual stack: the interface must also have a global IPv6 address (or --public-ipv6 be given). */
  ipv6?: boolean;
}

export interface SelectedUnderlay {
  underlay: Underlay;
  /** The IPv4 address to publish (--public-ip, else underlay.address). */
  publicIP: string;
  publicIPv6?: string;
  /** How it was chosen, for the start-up log line: "--iface eth1", "default route". */
  chosenBy: string;
}

/** Nothing usable matched. `tried` says, for each rule, what was looked for and why it failed. */
export class UnderlayError extends Error {
  constructor(readonly tried: readonly string[]) {
    super(`no usable underlay interface: ${tried.join('; ')}`);
    this.name = 'UnderlayError';
  }
}

interface Candidate {
  link: LinkInfo;
  /** The address the rule named, when it named one. */
  address?: string;
}

/** Chooses the underlay inside the namespace `nl` talks to. Throws UnderlayError. */
export async function selectUnderlay(nl: UnderlayNetlink, selection: UnderlaySelection = {}): Promise<SelectedUnderlay> {
  const [links, addresses] = await Promise.all([nl.links.list(), nl.addresses.list()]);
  const usable = links.filter((l) => !isLoopback(l, addresses)).sort((a, b) => a.index - b.index);
  const byIndex = new Map(usable.map((l) => [l.index, l]));
  const globalAddresses = addresses.filter((a) => a.scope === RT_SCOPE_UNIVERSE && byIndex.has(a.index));
  const tried: string[] = [];

  const finish = (candidate: Candidate, chosenBy: string): SelectedUnderlay | undefined => {
    const mine = globalAddresses.filter((a) => a.index === candidate.link.index);
    const named = candidate.address !== undefined ? parseIp(candidate.address) : undefined;
    const v4 = named?.family === 4 ? named.address : firstOf(mine, 4);
    const v6 = named?.family === 6 ? named.address : firstOf(mine, 6);
    if (v4 === undefined) {
      tried.push(`${chosenBy}: ${candidate.link.name} has no global IPv4 address`);
      return undefined;
    }
    if (selection.ipv6 && v6 === undefined && selection.publicIPv6 === undefined) {
      tried.push(`${chosenBy}: ${candidate.link.name} has no global IPv6 address (dual stack)`);
      return undefined;
    }
    const underlay: Underlay = { name: candidate.link.name, index: candidate.link.index, mtu: candidate.link.mtu, address: v4 };
    if (selection.ipv6 && v6 !== undefined) underlay.addressV6 = v6;
    const result: SelectedUnderlay = { underlay, publicIP: selection.publicIP ?? v4, chosenBy };
    const publicV6 = selection.publicIPv6 ?? (selection.ipv6 ? v6 : undefined);
    if (publicV6 !== undefined) result.publicIPv6 = publicV6;
    return result;
  };

  for (const entry of selection.iface ?? []) {
    const rule = `--iface ${entry}`;
    const candidate = findByNameOrAddress(entry, usable, globalAddresses, byIndex);
    if (candidate === undefined) {
      const loopback = links.some((l) => l.name === entry && !byIndex.has(l.index));
      tried.push(`${rule}: ${loopback ? 'loopback is never an underlay' : looksLikeIp(entry) ? 'no interface holds this address' : 'no such interface'}`);
      continue;
    }
    const found = finish(candidate, rule);
    if (found) return found;
  }

  for (const pattern of selection.ifaceRegex ?? []) {
    const rule = `--iface-regex ${pattern}`;
    const regex = new RegExp(pattern);
    const candidates: Candidate[] = [
      ...globalAddresses.filter((a) => regex.test(addressOf(a))).map((a) => ({ link: byIndex.get(a.index)!, address: addressOf(a) })),
      ...usable.filter((l) => regex.test(l.name)).map((link) => ({ link })),
    ];
    if (candidates.length === 0) tried.push(`${rule}: no interface address or name matches`);
    for (const candidate of candidates) {
      const found = finish(candidate, rule);
      if (found) return found;
    }
  }

  if ((selection.iface?.length ?? 0) === 0 && (selection.ifaceRegex?.length ?? 0) === 0) {
    const rule = 'default route';
    const defaults = (await nl.routes.list({ family: 4 })).filter((r) => r.dst === '0.0.0.0/0' && r.type === 'unicast').sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
    const index = defaults.map((r) => r.index ?? r.nexthops?.find((nh) => nh.index !== undefined)?.index).find((i) => i !== undefined);
    const link = index === undefined ? undefined : byIndex.get(index);
    if (link === undefined) {
      tried.push(`${rule}: there is no IPv4 default route (give --iface or --iface-regex)`);
    } else {
      const found = finish({ link }, rule);
      if (found) return found;
    }
  }
  throw new UnderlayError(tried);
}

/** selectUnderlay in a named network namespace (or the caller's), with a Netlink handle of its own. */
export async function selectUnderlayIn(selection: UnderlaySelection, options: { netns?: string } = {}): Promise<SelectedUnderlay> {
  const nl = Netlink.open(options.netns ? { netns: options.netns } : {});
  try {
    return await selectUnderlay(nl, selection);
  } finally {
    nl.close();
  }
}

function addressOf(a: AddressInfo): string {
  return a.cidr.slice(0, a.cidr.indexOf('/'));
}

function firstOf(addresses: AddressInfo[], family: Family): string | undefined {
  const found = addresses.find((a) => a.family === family);
  return found ? addressOf(found) : undefined;
}

function looksLikeIp(entry: string): boolean {
  try {
    parseIp(entry);
    return true;
  } catch {
    return false;
  }
}

function findByNameOrAddress(entry: string, links: LinkInfo[], addresses: AddressInfo[], byIndex: Map<number, LinkInfo>): Candidate | undefined {
  if (looksLikeIp(entry)) {
    const ip = parseIp(entry).address;
    const holder = addresses.find((a) => addressOf(a) === ip);
    return holder ? { link: byIndex.get(holder.index)!, address: ip } : undefined;
  }
  const link = links.find((l) => l.name === entry);
  return link ? { link } : undefined;
}

function isLoopback(link: LinkInfo, addresses: AddressInfo[]): boolean {
  if (link.name === 'lo') return true;
  return addresses.some((a) => a.index === link.index && (addressOf(a) === '::1' || addressOf(a).startsWith('127.')));
}
