// Netlink: the one handle the rest of weft uses to read and program the kernel's networking in
// one network namespace. `Netlink.open({netns})` is the `ip -n NS` of weft.
//
//   const nl = Netlink.open();
//   await nl.routes.replace({ dst: '10.244.3.0/24', gateway: '10.244.3.0', dev: 'flannel.1', onlink: true });
//
// Writes issued without awaiting each other are pipelined (see socket.ts), so programming
// thousands of entries is `await Promise.all(entries.map(...))`, not thousands of round trips.
import { Addresses } from './addresses.js';
import { NetlinkError } from './errors.js';
import { EventStream, type EventGroup, type NetlinkEvent } from './events.js';
import { Fdb } from './fdb.js';
import type { LinkHandle } from './handle.js';
import { Links } from './links.js';
import { Neighbours } from './neighbours.js';
import { Routes } from './routes.js';
import { RtnlSocket, type RtnlSocketOptions } from './socket.js';

const ENODEV = 19;

export class Netlink implements LinkHandle {
  readonly socket: RtnlSocket;
  readonly links: Links;
  readonly addresses: Addresses;
  readonly neighbours: Neighbours;
  readonly fdb: Fdb;
  readonly routes: Routes;
  private readonly indexCache = new Map<string, number>();
  private readonly indexLookups = new Map<string, Promise<number>>();

  private constructor(socket: RtnlSocket) {
    this.socket = socket;
    this.links = new Links(this);
    this.addresses = new Addresses(this);
    this.neighbours = new Neighbours(this);
    this.fdb = new Fdb(this);
    this.routes = new Routes(this);
  }

  static open(options: RtnlSocketOptions = {}): Netlink {
    return new Netlink(new RtnlSocket(options));
  }

  get netns(): string | undefined {
    return this.socket.netns;
  }

  close(): void {
    this.socket.close();
  }

  /** Subscribes to kernel notifications in the same namespace as this handle. */
  subscribe(groups: EventGroup[], listener: (event: NetlinkEvent) => void, options: { ref?: boolean } = {}): EventStream {
    return new EventStream({ groups, ...options, ...(this.netns ? { netns: this.netns } : {}) }, listener);
  }

  async ifindex(dev: string | number): Promise<number> {
    if (typeof dev === 'number') return dev;
    const cached = this.indexCache.get(dev);
    if (cached !== undefined) return cached;
    // Thousands of writes issued at once to a device not yet cached share one lookup: one
    // RTM_GETLINK each would put a whole link message per request into the receive buffer.
    let lookup = this.indexLookups.get(dev);
    if (!lookup) {
      lookup = this.lookupIndex(dev).finally(() => this.indexLookups.delete(dev));
      this.indexLookups.set(dev, lookup);
    }
    return lookup;
  }

  private async lookupIndex(dev: string): Promise<number> {
    const link = await this.links.get(dev);
    if (!link) throw new NetlinkError('link.lookup', dev, ENODEV);
    this.indexCache.set(dev, link.index);
    return link.index;
  }

  forgetIndex(dev: string | number): void {
    if (typeof dev === 'string') this.indexCache.delete(dev);
    else for (const [name, index] of this.indexCache) if (index === dev) this.indexCache.delete(name);
  }

  async withDevice<T>(dev: string | number, op: (index: number) => Promise<T>): Promise<T> {
    const wasCached = typeof dev === 'string' && this.indexCache.has(dev);
    try {
      return await op(await this.ifindex(dev));
    } catch (error) {
      if (!wasCached || !(error instanceof NetlinkError) || error.code !== 'ENODEV') throw error;
      this.forgetIndex(dev); // the device was recreated under the same name: look it up again
      return op(await this.ifindex(dev));
    }
  }
}
