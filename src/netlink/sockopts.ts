// Socket options for the `netlink` package's sockets, which it neither exposes nor sets.
//
// NETLINK_NO_ENOBUFS: when a netlink receive queue overflows, the kernel normally reports ENOBUFS
// on the next recvmsg — and the package's native receive path aborts the whole process on that
// error (reproduced: a blocked event loop while `ip -batch` adds 20000 routes). With this option
// the kernel drops the overflowing messages silently instead. That is safe for weft because
// notifications are hints (reconciles dump the kernel, periodically as well), and request replies
// cannot overflow (the request engine bounds what is in flight, and times requests out).
//
// The package does not give us its file descriptor, so we find it: the socket's netlink port id
// (address().port) → its inode in /proc/self/net/netlink → the fd in /proc/self/fd linking to it.
// Must run in the namespace the socket lives in, i.e. inside inNetns' create callback.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { RawNetlinkSocket } from 'netlink';
import { native } from '../netns.js';

const SOL_NETLINK = 270;
const NETLINK_NO_ENOBUFS = 5;
const NETLINK_ROUTE = 0;

/** The fd of a NETLINK_ROUTE socket with this port id, or undefined if it cannot be found. */
export function netlinkFd(portId: number): number | undefined {
  let inode: string | undefined;
  // Columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  for (const line of readFileSync('/proc/self/net/netlink', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (Number(fields[1]) === NETLINK_ROUTE && Number(fields[2]) === portId >>> 0) inode = fields[9];
  }
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) return Number(fd);
    } catch {
      // closed meanwhile (e.g. the fd of readdir itself)
    }
  }
  return undefined;
}

/** Turns ENOBUFS reporting off on `raw`; returns false when the fd could not be found. */
export function disableEnobufs(raw: RawNetlinkSocket): boolean {
  const fd = netlinkFd(raw.address().port);
  if (fd === undefined) return false;
  native().setsockoptInt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
  return true;
}
