// A BGP connection over a Node TCP socket: frames and decodes the incoming stream with the codec's
// MessageReader, encodes outgoing messages, and closes gracefully so that a NOTIFICATION queued
// just before close() reaches the peer (RFC 4271 §6: send the NOTIFICATION, then close). Reading
// starts only at attach(): a connection the session refuses is never parsed. A read full of
// UPDATEs is handled a time slice at a time, the socket paused in between, so a peer sending a
// full table cannot hold the event loop (BFD, keepalives, other sessions) for longer than that.
import type net from 'node:net';
import { TimeSlice } from '../../util/time-slice.js';
import { BgpError, ERR_CEASE, INITIAL_OPTIONS, MessageReader, encodeMessage, isBgpError, type BgpMessage, type CodecOptions } from '../wire/index.js';
import type { BgpConnection, ConnectionDirection, ConnectionHandler } from './types.js';

/** How long a closing socket may take to flush before it is destroyed. */
const CLOSE_FLUSH_MS = 2000;

/** IPv4 peers accepted on a dual-stack socket appear as ::ffff:a.b.c.d. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class SocketConnection implements BgpConnection {
  readonly localAddress: string;
  readonly remoteAddress: string;
  private readonly reader = new MessageReader(INITIAL_OPTIONS);
  private options: CodecOptions = INITIAL_OPTIONS;
  private handler: ConnectionHandler | undefined;
  private closing = false;
  /** Messages left in the reader after a slice ran out; the socket is paused until they are done. */
  private backlog = false;
  private readonly slice = new TimeSlice();
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    readonly direction: ConnectionDirection,
  ) {
    this.localAddress = plainAddress(socket.localAddress);
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.pause();
    socket.on('error', (err) => this.lost(`socket error: ${err.message}`));
    socket.on('close', () => this.lost('connection closed by peer'));
    socket.on('end', () => this.lost('connection closed by peer'));
  }

  attach(handler: ConnectionHandler): void {
    this.handler = handler;
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.resume();
  }

  setOptions(options: CodecOptions): void {
    this.options = options;
    this.reader.setOptions(options);
  }

  send(m: BgpMessage): number {
    if (this.closing) return 0;
    const bytes = encodeMessage(m, this.options);
    this.socket.write(bytes);
    return bytes.length;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.handler = undefined;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_FLUSH_MS);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  private lost(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    const h = this.handler;
    this.handler = undefined;
    this.socket.destroy();
    h?.closed(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.reader.push(chunk);
    if (this.backlog) return; // a chunk read before the pause: the scheduled drain takes it
    this.slice.restart();
    this.drain();
  }

  /** Hands complete messages to the handler until none is left or the time slice is used up. */
  private drain(): void {
    try {
      for (let m = this.reader.next(); m !== undefined; m = this.reader.next()) {
        this.handler?.message(m);
        if (this.closing) return;
        if (this.slice.due) {
          // The rest waits for the next turn of the loop; TCP holds what the peer sends meanwhile.
          this.backlog = true;
          this.socket.pause();
          void this.slice.next().then(() => this.resumeDrain());
          return;
        }
      }
    } catch (err) {
      // A bug outside the codec's BgpError still must not leave the stream half-parsed.
      const e = isBgpError(err) ? err : new BgpError(ERR_CEASE, 0, undefined, `internal: ${(err as Error).message}`);
      this.handler?.decodeError(e);
    }
  }

  private resumeDrain(): void {
    if (this.closing) return;
    this.backlog = false;
    this.drain();
    if (!this.backlog && !this.closing) this.socket.resume();
  }
}
