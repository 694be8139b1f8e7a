// What the per-object modules (links, addresses, neighbours, routes) need from the Netlink handle:
// its socket and device-name resolution. An interface of its own so those modules do not import
// the class that composes them.
import type { RtnlSocket } from './socket.js';

export interface LinkHandle {
  readonly socket: RtnlSocket;
  /** ifindex of a device given by name (cached) or index (returned as is). */
  ifindex(dev: string | number): Promise<number>;
  /** Drops a cached name → index entry (the device was deleted or recreated). */
  forgetIndex(dev: string | number): void;
  /** Runs `op` with the device's index; if the cached index turned stale (ENODEV), once more. */
  withDevice<T>(dev: string | number, op: (index: number) => Promise<T>): Promise<T>;
}
