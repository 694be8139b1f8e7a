// RtnlSocket: one NETLINK_ROUTE socket and the request engine on top of it.
//
// The `netlink` package is our transport (socket, framing, struct codecs); this file replaces its
// request layer because that one returns bare-string errors, breaks when a dump's parts interleave
// with other replies, and sends one datagram per message. Here:
//  - every request carries NLM_F_ACK and a sequence number; replies are collected per sequence
//    number, so a dump and many writes can be in flight on one socket;
//  - requests queued in the same tick are coalesced into one datagram of many messages (the
//    kernel processes them in order); only the last one asks for an ACK, failures are reported
//    individually, and at most `window` requests are unanswered at a time, so replies can never
//    overflow the receive buffer;
//  - a kernel refusal becomes a NetlinkError with errno, operation and target;
//  - the kernel runs one dump per socket at a time, so dumps are queued behind each other.
import netlinkPackage from 'netlink';
import type { NetlinkMessage, RawNetlinkSocket } from 'netlink';
import { NetlinkError } from './errors.js';
import { inNetns } from '../netns.js';
import { disableEnobufs } from './sockopts.js';

const { RawNetlinkSocket: RawSocket, parseMessages } = netlinkPackage;

const NETLINK_ROUTE = 0;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
const NLMSG_NOOP = 1;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_OVERRUN = 4;
const ENOBUFS = 105;

/** The kernel refuses a datagram larger than the socket's send buffer (default 208 KiB). */
const MAX_DATAGRAM = 64 * 1024;
/**
 * The receive buffer we ask for. Every unanswered request will produce an ACK that occupies
 * ~1 KiB of it (skb overhead included); the kernel caps the request at net.core.rmem_max.
 */
const RECEIVE_BUFFER = 4 * 1024 * 1024;
const ACK_COST = 1536;
const NLMSG_HDRLEN = 16;

/** One netlink message: nlmsghdr + payload, padded to 4 bytes (the kernel steps by NLMSG_ALIGN). */
export function encodeFrame(type: number, flags: number, seq: number, payload: Uint8Array[]): Buffer {
  const payloadLength = payload.reduce((sum, part) => sum + part.length, 0);
  const length = NLMSG_HDRLEN + payloadLength;
  const frame = Buffer.alloc((length + 3) & ~3);
  frame.writeUInt32LE(length, 0);
  frame.writeUInt16LE(type, 4);
  frame.writeUInt16LE(flags, 6);
  frame.writeUInt32LE(seq, 8);
  // nlmsg_pid 0: the kernel fills in our port.
  let offset = NLMSG_HDRLEN;
  for (const part of payload) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}

export interface RequestContext {
  /** Operation name for errors and logs, e.g. "route.replace". */
  operation: string;
  /**
   * What the operation is about, e.g. "10.244.3.0/24". A function when the text costs something to
   * build: it is only called for an error, and thousands of writes in a reconcile succeed.
   */
  target: string | (() => string);
}

/** The text of a request's target (built now if it was deferred). */
export function targetOf(context: RequestContext): string {
  return typeof context.target === 'string' ? context.target : context.target();
}

/** A failed request's NetlinkError. */
function requestError(context: RequestContext, errno: number, detail?: string): NetlinkError {
  return new NetlinkError(context.operation, targetOf(context), errno, detail);
}

export interface RawMessage {
  type: number;
  flags: number;
  data: Buffer;
}

interface Pending {
  seq: number;
  frame: Buffer;
  context: RequestContext;
  dump: boolean;
  /** Share of the window: what the reply may occupy in the receive buffer, in ACK units. */
  cost: number;
  sentAt: number;
  /**
   * Set on the one request of a datagram that asks for an ACK: the other (silent) writes of the
   * datagram. The kernel handles a datagram's messages in order and reports every failure, so
   * when the last one is answered, every member it has heard nothing about has succeeded.
   */
  silent?: Pending[];
  replies: RawMessage[];
  resolve: (replies: RawMessage[]) => void;
  reject: (error: Error) => void;
}

export interface RtnlSocketOptions {
  /** Network namespace name (as in `ip netns`) or path; default: this process's namespace. */
  netns?: string;
  window?: number;
  /** A request unanswered this long fails with ETIMEDOUT (default 30 s). */
  timeoutMs?: number;
}

const ETIMEDOUT = 110;
/** A GET's reply carries a whole object (a link is ~1.5 KiB), a dump's first part up to 32 KiB. */
const GET_COST = 4;
const DUMP_COST = 32;

export class RtnlSocket {
  readonly netns: string | undefined;
  private readonly raw: RawNetlinkSocket;
  private readonly window: number;
  private seq = 1;
  private readonly inFlight = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];
  private readonly waitingDumps: Pending[] = [];
  private dumpRunning = false;
  private batch: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  /** Sum of the costs of requests in flight or batched. */
  private load = 0;
  private readonly timeoutMs: number;
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(options: RtnlSocketOptions = {}) {
    this.netns = options.netns;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const create = (): RawNetlinkSocket => {
      const raw = new RawSocket(NETLINK_ROUTE);
      disableEnobufs(raw); // see sockopts.ts: an ENOBUFS would abort the process
      return raw;
    };
    this.raw = options.netns ? inNetns(options.netns, create) : create();
    this.raw.unref();
    try {
      this.raw.setRecvBufferSize(RECEIVE_BUFFER);
    } catch {
      // keep the default size; the window below adapts to it
    }
    // Enough unanswered requests that the kernel never waits for us, never more than fit.
    this.window = options.window ?? Math.max(32, Math.min(512, Math.floor(this.raw.getRecvBufferSize() / ACK_COST)));
    this.raw.on('message', (buffer) => this.receive(buffer));
    this.raw.on('error', (error) => this.failAll(error.errno === -ENOBUFS || error.errno === ENOBUFS ? ENOBUFS : Math.abs(error.errno ?? 5)));
  }

  /** Sends one request and resolves with its reply messages (none for a plain ACK). */
  request(type: number, flags: number, payload: Uint8Array[], context: RequestContext): Promise<RawMessage[]> {
    return this.enqueue(type, flags, payload, context, false);
  }

  /** Dumps a table: resolves with every object the kernel returned. */
  dump(type: number, payload: Uint8Array[], context: RequestContext): Promise<RawMessage[]> {
    return this.enqueue(type, NLM_F_DUMP, payload, context, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(0, 'socket closed');
    clearInterval(this.timeoutTimer);
    this.raw.close();
  }

  private enqueue(type: number, flags: number, payload: Uint8Array[], context: RequestContext, dump: boolean): Promise<RawMessage[]> {
    if (this.closed) return Promise.reject(requestError(context, 9, 'socket closed'));
    return new Promise((resolve, reject) => {
      const seq = this.nextSeq();
      const frame = encodeFrame(type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, payload);
      // RTM_GET* message types are 2 mod 4 (18, 22, 26, 30…).
      const cost = dump ? DUMP_COST : type % 4 === 2 ? GET_COST : 1;
      const pending: Pending = { seq, frame, context, dump, cost, sentAt: 0, replies: [], resolve, reject };
      if (dump) this.waitingDumps.push(pending);
      else this.waiting.push(pending);
      this.pump();
    });
  }

  private nextSeq(): number {
    do {
      this.seq = (this.seq % 0x7fffffff) + 1;
    } while (this.inFlight.has(this.seq));
    return this.seq;
  }

  /** Moves waiting requests into the next datagram while the window allows. */
  private pump(): void {
    // Each kind of request is admitted while the window has room for its reply; the first one
    // always is, so a window smaller than a cost cannot stall the queue.
    if (!this.dumpRunning && this.waitingDumps.length > 0 && (this.load === 0 || this.load + DUMP_COST <= this.window)) {
      this.dumpRunning = true;
      this.admit(this.waitingDumps.shift()!);
    }
    while (this.waiting.length > 0 && (this.load === 0 || this.load + this.waiting[0]!.cost <= this.window)) {
      this.admit(this.waiting.shift()!);
    }
    if (this.batch.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      // Let the caller queue the rest of this tick's requests first: they share one datagram.
      queueMicrotask(() => this.flush());
    }
  }

  private admit(pending: Pending): void {
    this.load += pending.cost;
    this.batch.push(pending);
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = [];
    let datagram: Buffer[] = [];
    let size = 0;
    let members: Pending[] = [];
    const send = (): void => {
      if (datagram.length === 0) return;
      // Only the datagram's last write asks for an ACK: 1 reply per datagram instead of 1 per
      // request, which is most of the cost of programming thousands of entries. Failures are
      // still answered one by one (the kernel always reports an error).
      const leader = members.pop();
      if (leader) {
        for (const member of members) member.frame.writeUInt16LE(member.frame.readUInt16LE(6) & ~NLM_F_ACK, 6);
        leader.silent = members;
      }
      members = [];
      this.raw.ref();
      this.raw.send(datagram.length === 1 ? datagram[0]! : Buffer.concat(datagram, size), { port: 0 }, (error) => {
        if (error) this.failAll(Math.abs(error.errno ?? 5), `send: ${error.message}`);
      });
      datagram = [];
      size = 0;
    };
    const now = Date.now();
    for (const pending of batch) {
      if (size + pending.frame.length > MAX_DATAGRAM) send();
      pending.sentAt = now;
      this.inFlight.set(pending.seq, pending);
      datagram.push(pending.frame);
      size += pending.frame.length;
      // A dump is answered by its own DONE, possibly after later messages' replies.
      if (!pending.dump) members.push(pending);
    }
    send();
    if (!this.timeoutTimer) {
      this.timeoutTimer = setInterval(() => this.expire(), Math.min(1000, this.timeoutMs));
      this.timeoutTimer.unref();
    }
  }

  /** Fails requests (and their silent datagram members) that were never answered. */
  private expire(): void {
    const deadline = Date.now() - this.timeoutMs;
    for (const pending of [...this.inFlight.values()]) {
      if (pending.sentAt > deadline || !this.inFlight.has(pending.seq)) continue;
      const error = (p: Pending): NetlinkError => requestError(p.context, ETIMEDOUT, `no answer within ${this.timeoutMs} ms`);
      for (const member of pending.silent ?? []) {
        if (this.inFlight.delete(member.seq)) {
          this.load -= member.cost;
          member.reject(error(member));
        }
      }
      pending.silent = [];
      this.finish(pending, error(pending));
    }
    if (this.inFlight.size === 0) {
      clearInterval(this.timeoutTimer);
      this.timeoutTimer = undefined;
    }
    this.pump();
  }

  private receive(buffer: Buffer): void {
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(buffer);
    } catch {
      return; // a datagram that does not parse answers nothing we asked; requests time out upstream
    }
    for (const message of messages) {
      if (message.type === NLMSG_NOOP || message.type === NLMSG_OVERRUN) continue;
      const pending = this.inFlight.get(message.seq);
      if (!pending) continue; // a late ACK of a finished dump, or not ours
      if (message.type === NLMSG_ERROR) {
        const errno = -message.data.readInt32LE(0);
        if (errno === 0) this.finish(pending);
        else this.finish(pending, requestError(pending.context, errno));
      } else if (message.type === NLMSG_DONE) {
        const errno = message.data.length >= 4 ? -message.data.readInt32LE(0) : 0;
        this.finish(pending, errno > 0 ? requestError(pending.context, errno) : undefined);
      } else {
        pending.replies.push({ type: message.type, flags: message.flags, data: message.data });
      }
    }
    this.pump();
  }

  private finish(pending: Pending, error?: Error): void {
    this.inFlight.delete(pending.seq);
    this.load -= pending.cost;
    for (const member of pending.silent ?? []) {
      if (this.inFlight.delete(member.seq)) {
        this.load -= member.cost;
        member.resolve(member.replies);
      }
    }
    if (pending.dump) this.dumpRunning = false;
    if (this.inFlight.size === 0 && !this.closed) this.raw.unref();
    if (error) pending.reject(error);
    else pending.resolve(pending.replies);
  }

  /**
   * The socket lost replies (ENOBUFS) or was closed: nothing in flight can be answered any more.
   * Callers see the error and retry; reconcilers are level-triggered, so a retry is always safe.
   */
  private failAll(errno: number, detail?: string): void {
    const all = [...this.inFlight.values(), ...this.batch, ...this.waiting, ...this.waitingDumps];
    this.inFlight.clear();
    this.batch = [];
    this.waiting.length = 0;
    this.waitingDumps.length = 0;
    this.dumpRunning = false;
    this.load = 0;
    for (const pending of all) {
      pending.reject(requestError(pending.context, errno || 9, detail));
    }
    if (!this.closed) this.raw.unref();
  }
}
