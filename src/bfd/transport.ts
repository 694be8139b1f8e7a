// RFC 5881 single-hop transport for one local address: a receive socket on UDP 3784 bound to that
// address (udp4 or udp6, v6-only), and one send socket bound to the same address on a random
// source port in 49152–65535 shared by every session from that address (§4: a session must keep
// one source port; sessions may share it), sending with TTL / hop limit 255 (§5).
//
// GTSM on receive (§5: the received TTL/hop limit MUST be 255) — what we can and cannot do:
// Node's dgram does not expose ancillary data, so IP_RECVTTL/IPV6_RECVHOPLIMIT cannot be read,
// and a classic-BPF socket filter (which could test the IP header through SKF_NET_OFF) needs a
// struct sock_fprog the addon cannot pass. We set IP_MINTTL=255 / IPV6_MINHOPCOUNT=255 on the
// receive socket through the addon's setsockoptInt (the kernel accepts both on UDP sockets), but
// the kernel does not apply them to UDP delivery: test/kernel/bfd-gtsm.test.ts shows that on this
// kernel (6.18.44) a datagram with TTL 64 / hop limit 64 still reaches the socket. Receive-side
// GTSM is therefore not enforced by the socket: a sender several hops away that spoofs the peer's
// address would be accepted — in particular a Down/AdminDown packet with Your Discriminator 0 is
// matched by addresses alone and brings an Up session Down. The BGP backend installs an nftables
// rule instead (gtsm-nft.ts: `udp dport 3784 ip ttl != 255 drop`, and the ip6 hoplimit one), which
// the same test shows working. The send side (TTL / hop limit 255) is enforced, and
// test/kernel/bfd-veth.test.ts verifies it on the wire with such a rule.
//
// Sockets can be created inside a named network namespace (tests, the lab): dgram creates its
// file descriptor inside bind(), after an address lookup that is normally asynchronous; with a
// lookup that answers synchronously (our addresses are literals) the descriptor is created while
// inNetns() holds the thread in the namespace.
//
// Not here: packet parsing and session logic. Failures are reported to the caller (open) or
// counted (send); nothing here throws at the network's request.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { inNetns, native } from '../netns.js';
import { BfdNamespaceError } from './errors.js';

export const BFD_SINGLE_HOP_PORT = 3784;
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;
export const BFD_TTL = 255;

const IPPROTO_IP = 0;
const IP_MINTTL = 21;
const IPPROTO_IPV6 = 41;
const IPV6_MINHOPCOUNT = 73;

export interface BfdEndpointOptions {
  local: string;
  port: number;
  netns?: string;
  onPacket(data: Buffer, source: string, local: string): void;
  random?: () => number;
}

export interface EndpointOpenResult {
  sourcePort: number;
  /** Whether IP_MINTTL/IPV6_MINHOPCOUNT could be set (it is not enforced for UDP, see header). */
  minTtlSet: boolean;
}

// Our addresses are literals, so answering at once is exact — and is what makes bind() create the
// descriptor synchronously (see header).
const literalLookup = (address: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void => {
  callback(null, address, isIPv6(address) ? 6 : 4);
};

/** The file descriptor behind a bound dgram socket (Node keeps it in an internal state object). */
export function dgramFd(socket: dgram.Socket): number | undefined {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (sym === undefined) return undefined;
  const state = (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[sym];
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Create and bind a UDP socket (inside `netns` if given); resolves once bound. */
export function bindUdp(address: string, port: number, netns?: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const create = (): dgram.Socket => {
      const v6 = isIPv6(address);
      // ipv6Only on a udp4 socket makes libuv refuse the bind (EINVAL).
      const socket = dgram.createSocket(v6 ? { type: 'udp6', ipv6Only: true, lookup: literalLookup } : { type: 'udp4', lookup: literalLookup });
      let settled = false;
      socket.once('error', (err) => {
        settled = true;
        socket.close();
        reject(err);
      });
      socket.once('listening', () => {
        settled = true;
        resolve(socket);
      });
      socket.bind({ address, port, exclusive: true });
      // Relying on Node internals deserves a tripwire: if a Node release ever defers the bind,
      // the socket would silently live in our own namespace.
      if (netns !== undefined && !settled) {
        socket.close();
        throw new BfdNamespaceError(netns, address);
      }
      return socket;
    };
    try {
      if (netns !== undefined) inNetns(netns, create);
      else create();
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

export class BfdEndpoint {
  private rx: dgram.Socket | undefined;
  private tx: dgram.Socket | undefined;
  sendErrors = 0;
  lastSendError: string | undefined;

  constructor(private readonly options: BfdEndpointOptions) {}

  get open(): boolean {
    return this.tx !== undefined;
  }

  async openSockets(): Promise<EndpointOpenResult> {
    const { local, port, netns } = this.options;
    const rx = await bindUdp(local, port, netns);
    let minTtlSet = false;
    const fd = dgramFd(rx);
    if (fd !== undefined) {
      try {
        if (isIPv6(local)) native().setsockoptInt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, BFD_TTL);
        else native().setsockoptInt(fd, IPPROTO_IP, IP_MINTTL, BFD_TTL);
        minTtlSet = true;
      } catch {
        // Best effort only: the kernel does not enforce it for UDP anyway (see header).
      }
    }
    rx.on('message', (data, rinfo) => this.options.onPacket(data, rinfo.address, local));
    // After a successful bind, socket errors (ICMP-induced and the like) are not fatal.
    rx.on('error', () => undefined);
    let tx: dgram.Socket | undefined;
    let lastError: unknown;
    const random = this.options.random ?? Math.random;
    for (let attempt = 0; attempt < 32 && tx === undefined; attempt++) {
      const sourcePort = SOURCE_PORT_MIN + Math.floor(random() * (SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1));
      try {
        tx = await bindUdp(local, sourcePort, netns);
      } catch (err) {
        lastError = err;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    if (tx === undefined) {
      rx.close();
      throw lastError instanceof Error ? lastError : new Error(String(lastError));
    }
    tx.setTTL(BFD_TTL);
    tx.on('error', () => undefined);
    // Whatever arrives on the source port is not BFD (peers send to 3784): do not queue it.
    tx.on('message', () => undefined);
    this.rx = rx;
    this.tx = tx;
    return { sourcePort: tx.address().port, minTtlSet };
  }

  /** Fire and forget; a failure is counted, never thrown (the detection timer is the judge). */
  send(data: Buffer, peer: string): boolean {
    const tx = this.tx;
    if (tx === undefined) return false;
    tx.send(data, this.options.port, peer, (err) => {
      if (err) {
        this.sendErrors++;
        this.lastSendError = (err as NodeJS.ErrnoException).code ?? err.message;
      }
    });
    return true;
  }

  async close(): Promise<void> {
    const sockets = [this.rx, this.tx].filter((s): s is dgram.Socket => s !== undefined);
    this.rx = undefined;
    this.tx = undefined;
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
