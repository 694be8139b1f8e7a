// The active side of a BGP connection (RFC 4271 §8: the FSM's "initiate a TCP connection").
// The socket is created natively so that the TCP-MD5 key (RFC 2385) and the TTL options (RFC 5082)
// are set before connect(): the SYN itself must be signed, and Node would only give us the socket
// after connecting. Completion of the non-blocking connect is polled (SO_ERROR), with a short
// interval that backs off; the connected fd is then handed to Node as a net.Socket.
import net from 'node:net';
import { SocketConnection } from './connection.js';
import { closeFd, connectResult, errnoName, minTtlFor, startConnect, GTSM_TTL } from './sockopts.js';
import type { DialAttempt, DialCallbacks, Dialer } from './types.js';

export interface DialOptions {
  remoteAddress: string;
  port: number;
  localAddress?: string;
  /** TCP-MD5 password. */
  password?: string;
  /** RFC 5082 GTSM: peer at most this many hops away (1 = directly connected). */
  ttlSecurity?: number;
  /** eBGP multihop: outgoing TTL (ignored when ttlSecurity is set: GTSM always sends 255). */
  multihop?: number;
}

const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 50;

export class TcpDialer implements Dialer {
  constructor(private readonly options: DialOptions) {}

  dial(cb: DialCallbacks): DialAttempt {
    const o = this.options;
    let fd: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = (): void => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    try {
      fd = startConnect({
        remote: o.remoteAddress,
        port: o.port,
        local: o.localAddress,
        md5Key: o.password,
        ttl: o.ttlSecurity !== undefined ? GTSM_TTL : (o.multihop ?? 0),
        minTtl: o.ttlSecurity !== undefined ? minTtlFor(o.ttlSecurity) : 0,
      });
    } catch (err) {
      // Report asynchronously: the FSM must never re-enter itself from inside dial().
      queueMicrotask(() => cb.failed((err as Error).message));
      return { cancel: () => undefined };
    }
    const openFd = fd;
    let interval = FIRST_POLL_MS;
    const poll = (): void => {
      if (done) return;
      const r = connectResult(openFd);
      if (r === undefined) {
        interval = Math.min(interval * 2, MAX_POLL_MS);
        timer = setTimeout(poll, interval);
        return;
      }
      finish();
      if (r !== 0) {
        closeFd(openFd);
        cb.failed(`connect to ${o.remoteAddress}:${o.port}: ${errnoName(r)}`);
        return;
      }
      const socket = new net.Socket({ fd: openFd, readable: true, writable: true });
      cb.connected(new SocketConnection(socket, 'outgoing'));
    };
    timer = setTimeout(poll, FIRST_POLL_MS);
    return {
      cancel: () => {
        if (done) return;
        finish();
        closeFd(openFd);
      },
    };
  }
}
