// Kernel change notifications (rtnetlink multicast groups) for links, addresses, routes and
// neighbours/FDB, parsed into the same typed values the dump functions return.
//
// Events are hints, never the source of truth: a reconciler that hears one schedules a dump-and-
// diff, and also resyncs periodically. When we are too slow the kernel drops notifications
// silently (NETLINK_NO_ENOBUFS, see sockopts.ts: reporting it would abort the process inside the
// netlink package), which is why a consumer must never rely on seeing every change. `overflow` is
// emitted when the stream itself sees a problem (an unparsable batch, a socket error).
import netlinkPackage from 'netlink';
import type { NetlinkMessage, RawNetlinkSocket } from 'netlink';
import { AF_BRIDGE } from '../net/addr.js';
import { inNetns } from '../netns.js';
import { disableEnobufs } from './sockopts.js';
import { parseAddress, type AddressInfo } from './addresses.js';
import { parseFdb, type FdbInfo } from './fdb.js';
import { parseLink, type LinkInfo } from './links.js';
import { parseNeighbour, type NeighbourInfo } from './neighbours.js';
import { parseRoute, type RouteInfo } from './routes.js';

const { RawNetlinkSocket: RawSocket, parseMessages } = netlinkPackage;

export type EventGroup = 'link' | 'address' | 'route' | 'neighbour';

const GROUPS: Record<EventGroup, number[]> = {
  link: [1], // RTNLGRP_LINK
  neighbour: [3], // RTNLGRP_NEIGH (ARP/NDP and bridge FDB)
  address: [5, 9], // RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR
  route: [7, 11], // RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE
};

export type Action = 'new' | 'del';
export type NetlinkEvent =
  | { kind: 'link'; action: Action; link: LinkInfo }
  | { kind: 'address'; action: Action; address: AddressInfo }
  | { kind: 'route'; action: Action; route: RouteInfo }
  | { kind: 'neighbour'; action: Action; neighbour: NeighbourInfo }
  | { kind: 'fdb'; action: Action; fdb: FdbInfo }
  /** Notifications were lost; state must be re-read with a dump. */
  | { kind: 'overflow' };

export interface EventStreamOptions {
  netns?: string;
  groups: EventGroup[];
  /** Keep the process alive while subscribed (a daemon wants this; a one-shot command not). */
  ref?: boolean;
}

export class EventStream {
  private readonly raw: RawNetlinkSocket;
  private closed = false;

  constructor(options: EventStreamOptions, private readonly listener: (event: NetlinkEvent) => void) {
    const create = (): RawNetlinkSocket => {
      const raw = new RawSocket(0);
      disableEnobufs(raw); // see sockopts.ts: an ENOBUFS would abort the process
      return raw;
    };
    this.raw = options.netns ? inNetns(options.netns, create) : create();
    try {
      this.raw.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // keep the default
    }
    for (const group of options.groups) for (const id of GROUPS[group]) this.raw.addMembership(id);
    if (options.ref) this.raw.ref();
    else this.raw.unref();
    this.raw.on('message', (buffer) => this.receive(buffer));
    this.raw.on('error', () => this.listener({ kind: 'overflow' }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.close();
  }

  private receive(buffer: Buffer): void {
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(buffer);
    } catch {
      this.listener({ kind: 'overflow' }); // unparsable batch: treat like a loss and resync
      return;
    }
    for (const message of messages) {
      const event = toEvent({ type: message.type, flags: message.flags, data: message.data });
      if (event) this.listener(event);
    }
  }
}

function toEvent(message: { type: number; flags: number; data: Buffer }): NetlinkEvent | undefined {
  const action: Action = message.type % 4 === 0 ? 'new' : 'del'; // NEW* = 16,20,24,28; DEL* = NEW+1
  switch (message.type) {
    case 16:
    case 17:
      return { kind: 'link', action, link: parseLink(message) };
    case 20:
    case 21: {
      const address = parseAddress(message);
      return address && { kind: 'address', action, address };
    }
    case 24:
    case 25: {
      const route = parseRoute(message);
      return route && { kind: 'route', action, route };
    }
    case 28:
    case 29: {
      if (message.data.readUInt8(0) === AF_BRIDGE) {
        const fdb = parseFdb(message);
        return fdb && { kind: 'fdb', action, fdb };
      }
      const neighbour = parseNeighbour(message);
      return neighbour && { kind: 'neighbour', action, neighbour };
    }
    default:
      return undefined;
  }
}
