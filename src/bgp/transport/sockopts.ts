// Typed access to the socket options Node does not expose, for BGP transport security: RFC 2385
// TCP-MD5 signatures (TCP_MD5SIG, per peer address, on listening and not-yet-connected sockets)
// and RFC 5082 GTSM (send TTL 255, kernel drops segments below 255 − hops + 1). Backed by the
// N-API addon src/native/weft_native.c. Failures become SocketOptionError with the errno name so
// the session can log "EPERM on TCP_MD5SIG" rather than a bare number.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface SockoptAddon {
  tcpMd5(fd: number, address: string, key: string): void;
  setTtl(fd: number, ttl: number): void;
  setMinTtl(fd: number, minTtl: number): void;
  tcpConnect(remote: string, port: number, local: string, key: string, ttl: number, minTtl: number): number;
  connectResult(fd: number): number;
  closeFd(fd: number): void;
}

/** RFC 2385 §4.5 does not bound the key; Linux does (TCP_MD5SIG_MAXKEYLEN). */
export const MD5_MAX_KEY_LENGTH = 80;
/** RFC 5082: we always send with the maximum TTL when GTSM is on. */
export const GTSM_TTL = 255;

export class SocketOptionError extends Error {
  constructor(
    readonly operation: string,
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${operation}: ${code}`);
    this.name = 'SocketOptionError';
  }
}

function errnoName(errno: number): string {
  return Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
}

let addon: SockoptAddon | undefined;
function native(): SockoptAddon {
  if (addon) return addon;
  // The package root is the nearest ancestor with binding.gyp (works from src/ and dist/src/).
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new SocketOptionError('load addon', 0, 'no package root');
    dir = parent;
  }
  const path = join(dir, 'build', 'Release', 'weft_native.node');
  if (!existsSync(path)) throw new SocketOptionError(`load addon ${path} (run npm run build)`, 0, 'ENOENT');
  addon = createRequire(import.meta.url)(path) as SockoptAddon;
  return addon;
}

/** Run an addon call, turning its errno-carrying Error into SocketOptionError. */
function call<T>(operation: string, f: (a: SockoptAddon) => T): T {
  const a = native();
  try {
    return f(a);
  } catch (err) {
    const e = err as { errno?: unknown; syscall?: unknown; message?: string };
    if (typeof e.errno === 'number') throw new SocketOptionError(`${operation} (${String(e.syscall)})`, e.errno, errnoName(e.errno));
    throw new SocketOptionError(operation, 0, e.message ?? String(err));
  }
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MD5_MAX_KEY_LENGTH) throw new SocketOptionError('TCP-MD5 key', 22, `longer than ${MD5_MAX_KEY_LENGTH} octets`);
}

/** Set (or with '' remove) the TCP-MD5 key for one peer address on a socket. */
export function setMd5Key(fd: number, peerAddress: string, key: string): void {
  checkKey(key);
  call(`TCP_MD5SIG for ${peerAddress}`, (a) => a.tcpMd5(fd, peerAddress, key));
}

/**
 * RFC 5082 on a socket: send with TTL 255 and accept only TTL ≥ 256 − hops (hops = 1 for a
 * directly connected peer, so only 255 passes).
 */
export function setTtlSecurity(fd: number, hops: number): void {
  call('IP_TTL', (a) => a.setTtl(fd, GTSM_TTL));
  call('IP_MINTTL', (a) => a.setMinTtl(fd, minTtlFor(hops)));
}

/** Outgoing TTL only (eBGP multihop without GTSM). */
export function setTtl(fd: number, ttl: number): void {
  call('IP_TTL', (a) => a.setTtl(fd, ttl));
}

export function minTtlFor(hops: number): number {
  if (!Number.isInteger(hops) || hops < 1 || hops > 254) throw new RangeError(`TTL security hops ${hops} outside 1..254`);
  return 256 - hops;
}

export interface RawConnectOptions {
  remote: string;
  port: number;
  local?: string;
  md5Key?: string;
  /** Outgoing TTL (0: kernel default). */
  ttl?: number;
  /** Minimum accepted TTL (0: none). */
  minTtl?: number;
}

/** Start a non-blocking connect with MD5/TTL set before the SYN; returns the fd. */
export function startConnect(o: RawConnectOptions): number {
  if (o.md5Key !== undefined) checkKey(o.md5Key);
  return call(`connect to ${o.remote}:${o.port}`, (a) => a.tcpConnect(o.remote, o.port, o.local ?? '', o.md5Key ?? '', o.ttl ?? 0, o.minTtl ?? 0));
}

/** undefined while the connect is pending, else 0 (connected) or the errno it failed with. */
export function connectResult(fd: number): number | undefined {
  const r = call('connect result', (a) => a.connectResult(fd));
  return r < 0 ? undefined : r;
}

export function closeFd(fd: number): void {
  call('close', (a) => a.closeFd(fd));
}

export { errnoName };
