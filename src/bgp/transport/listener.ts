// The passive side: one TCP listener (port 179 by default) shared by all sessions. Only configured
// peers get anywhere: a connection from any other address is destroyed at once, before a single
// octet is read (issue 7: no OPEN processed, no state kept). Per peer, the TCP-MD5 key (RFC 2385)
// is installed on the listening socket so the kernel itself drops unsigned or wrongly signed SYNs,
// and RFC 5082 TTL security is applied to each accepted socket (as BIRD does) so every later
// segment below the minimum TTL is dropped. Pending connections are bounded per peer and in total.
import net from 'node:net';
import { SocketConnection, plainAddress } from './connection.js';
import { setMd5Key, setTtlSecurity } from './sockopts.js';
import type { BgpConnection } from './types.js';

export const BGP_PORT = 179;

export interface ListenerOptions {
  /** Address to listen on; default '::' (dual stack, IPv4 peers arrive v4-mapped). */
  host?: string;
  port?: number;
  /** Kernel accept backlog. */
  backlog?: number;
  /** Open inbound connections allowed per peer (a session plus a collision candidate). */
  maxPerPeer?: number;
}

export interface ListenerPeer {
  password?: string;
  ttlSecurity?: number;
  /** Takes ownership of the connection: attach() it or close() it. */
  accept(conn: BgpConnection): void;
}

export interface ListenerStats {
  accepted: number;
  /** Closed because the address is not a configured peer. */
  rejectedUnknown: number;
  /** Closed because the peer already had maxPerPeer connections open. */
  rejectedBusy: number;
  /** accept(2) failures after listening (ENFILE, ENOMEM…): counted, never fatal. */
  acceptErrors: number;
}

function socketFd(handle: unknown): number | undefined {
  const fd = (handle as { _handle?: { fd?: unknown } } | undefined)?._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export class BgpListener {
  private readonly server: net.Server;
  private readonly peers = new Map<string, ListenerPeer>();
  private readonly open = new Map<string, number>();
  readonly stats: ListenerStats = { accepted: 0, rejectedUnknown: 0, rejectedBusy: 0, acceptErrors: 0 };

  constructor(private readonly options: ListenerOptions = {}) {
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
    // Node reports a failed accept as an 'error' event on the server; without a listener that is
    // an uncaught exception, i.e. anyone able to push the process to a resource limit with
    // connections could kill the daemon. The server keeps listening: count it and go on.
    this.server.on('error', () => {
      if (this.server.listening) this.stats.acceptErrors++;
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.options.host ?? '::', port: this.options.port ?? BGP_PORT, backlog: this.options.backlog ?? 16 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    for (const [address, peer] of this.peers) this.installKey(address, peer.password ?? '');
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  addPeer(address: string, peer: ListenerPeer): void {
    this.peers.set(address, peer);
    if (this.server.listening && peer.password !== undefined) this.installKey(address, peer.password);
  }

  removePeer(address: string): void {
    const peer = this.peers.get(address);
    this.peers.delete(address);
    if (peer?.password !== undefined && this.server.listening) this.installKey(address, '');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private installKey(address: string, key: string): void {
    if (key === '' && !this.peers.has(address)) {
      // Removing: the kernel reports ENOENT when no key was set; nothing to undo then.
      const fd = socketFd(this.server);
      if (fd !== undefined) {
        try {
          setMd5Key(fd, address, '');
        } catch {
          /* no key installed */
        }
      }
      return;
    }
    if (key === '') return;
    const fd = socketFd(this.server);
    if (fd === undefined) throw new Error('listener: no file descriptor for TCP-MD5');
    setMd5Key(fd, address, key);
  }

  private onConnection(socket: net.Socket): void {
    const remote = plainAddress(socket.remoteAddress);
    const peer = this.peers.get(remote);
    if (peer === undefined) {
      this.stats.rejectedUnknown++;
      socket.destroy();
      return;
    }
    const count = this.open.get(remote) ?? 0;
    if (count >= (this.options.maxPerPeer ?? 2)) {
      this.stats.rejectedBusy++;
      socket.destroy();
      return;
    }
    if (peer.ttlSecurity !== undefined) {
      const fd = socketFd(socket);
      try {
        if (fd === undefined) throw new Error('no file descriptor');
        setTtlSecurity(fd, peer.ttlSecurity);
      } catch {
        // Without GTSM the connection would be weaker than configured: refuse it.
        socket.destroy();
        return;
      }
    }
    this.open.set(remote, count + 1);
    socket.once('close', () => {
      const n = (this.open.get(remote) ?? 1) - 1;
      if (n <= 0) this.open.delete(remote);
      else this.open.set(remote, n);
    });
    this.stats.accepted++;
    peer.accept(new SocketConnection(socket, 'incoming'));
  }
}
