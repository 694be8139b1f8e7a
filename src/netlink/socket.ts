// RtnlSocket: one NETLINK_ROUTE socket and the request engine on top of it.
//
// The `netlink` package is our transport (socket, framing, struct codecs); this file replaces its
// request layer because that one returns bare-string errors, breaks when a dump's parts interleave
// with other replies, and sends one datagram per message. Here:
//  - every request carries NLM_F_ACK and a sequence number; replies are collected per sequence
//    number, so a dump and many writes can be in flight on one socket;
//  - requests queued in the same tick are coalesced into one datagram of many messages (the
//    kernel processes them in order), and at most `window` requests are unanswered at a time, so
//    the ACKs can never overflow the receive buffer;
//  - a kernel refusal becomes a NetlinkError with errno, operation and target;
//  - the kernel runs one dump per socket at a time, so dumps are queued behind each other.
import netlinkPackage from 'netlink';
import type { NetlinkMessage, RawNetlinkSocket } from 'netlink';
import { NetlinkError } from './errors.js';
import { inNetns } from '../netns.js';

const { RawNetlinkSocket: RawSocket, formatMessage, parseMessages } = netlinkPackage;

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
/** Unanswered requests at a time: each ACK costs ~1 KiB of the receive buffer (≥ 208 KiB). */
const DEFAULT_WINDOW = 128;

export interface RequestContext {
  /** Operation name for errors and logs, e.g. "route.replace". */
  operation: string;
  /** What the operation is about, e.g. "10.244.3.0/24". */
  target: string;
}

export interface RawMessage {
  type: number;
  flags: number;
  data: Buffer;
}

interface Pending {
  seq: number;
  frame: Uint8Array[];
  frameLength: number;
  context: RequestContext;
  dump: boolean;
  replies: RawMessage[];
  resolve: (replies: RawMessage[]) => void;
  reject: (error: Error) => void;
}

export interface RtnlSocketOptions {
  /** Network namespace name (as in `ip netns`) or path; default: this process's namespace. */
  netns?: string;
  window?: number;
}

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

  constructor(options: RtnlSocketOptions = {}) {
    this.netns = options.netns;
    this.window = options.window ?? DEFAULT_WINDOW;
    const create = (): RawNetlinkSocket => new RawSocket(NETLINK_ROUTE);
    this.raw = options.netns ? inNetns(options.netns, create) : create();
    this.raw.unref();
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
    this.raw.close();
  }

  private enqueue(type: number, flags: number, payload: Uint8Array[], context: RequestContext, dump: boolean): Promise<RawMessage[]> {
    if (this.closed) return Promise.reject(new NetlinkError(context.operation, context.target, 9, 'socket closed'));
    return new Promise((resolve, reject) => {
      const seq = this.nextSeq();
      const frame = formatMessage({ type, flags: flags | NLM_F_REQUEST | NLM_F_ACK, seq, port: 0, data: payload as unknown as Buffer });
      const frameLength = frame.reduce((sum, part) => sum + part.length, 0);
      const pending: Pending = { seq, frame, frameLength, context, dump, replies: [], resolve, reject };
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
    if (!this.dumpRunning && this.waitingDumps.length > 0 && this.inFlight.size + this.batch.length < this.window) {
      this.dumpRunning = true;
      this.batch.push(this.waitingDumps.shift()!);
    }
    while (this.waiting.length > 0 && this.inFlight.size + this.batch.length < this.window) {
      this.batch.push(this.waiting.shift()!);
    }
    if (this.batch.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      // Let the caller queue the rest of this tick's requests first: they share one datagram.
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.batch;
    this.batch = [];
    let datagram: Uint8Array[] = [];
    let size = 0;
    const send = (): void => {
      if (datagram.length === 0) return;
      this.raw.ref();
      this.raw.send(datagram, { port: 0 }, (error) => {
        if (error) this.failAll(Math.abs(error.errno ?? 5), `send: ${error.message}`);
      });
      datagram = [];
      size = 0;
    };
    for (const pending of batch) {
      if (size + pending.frameLength > MAX_DATAGRAM) send();
      this.inFlight.set(pending.seq, pending);
      datagram.push(...pending.frame);
      size += pending.frameLength;
    }
    send();
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
        else this.finish(pending, new NetlinkError(pending.context.operation, pending.context.target, errno));
      } else if (message.type === NLMSG_DONE) {
        const errno = message.data.length >= 4 ? -message.data.readInt32LE(0) : 0;
        this.finish(pending, errno > 0 ? new NetlinkError(pending.context.operation, pending.context.target, errno) : undefined);
      } else {
        pending.replies.push({ type: message.type, flags: message.flags, data: message.data });
      }
    }
    this.pump();
  }

  private finish(pending: Pending, error?: Error): void {
    this.inFlight.delete(pending.seq);
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
    for (const pending of all) {
      pending.reject(new NetlinkError(pending.context.operation, pending.context.target, errno || 9, detail));
    }
    if (!this.closed) this.raw.unref();
  }
}
