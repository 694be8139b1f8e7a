// What the BGP state machine needs from a transport, as interfaces only: a connection that carries
// whole BGP messages (framed and decoded with the negotiated codec options) and a dialer that
// opens the active side. The socket implementations live next door (connection.ts, dial.ts,
// listener.ts); unit tests implement these in memory, so the FSM never touches a socket.
import type { BgpError, BgpMessage, CodecOptions } from '../wire/index.js';

export type ConnectionDirection = 'outgoing' | 'incoming';

export interface ConnectionHandler {
  message(m: BgpMessage): void;
  /** The stream could not be decoded: send this NOTIFICATION, then close. */
  decodeError(e: BgpError): void;
  /** The peer closed, or the socket failed. Not called after our own close(). */
  closed(reason: string): void;
}

export interface BgpConnection {
  readonly direction: ConnectionDirection;
  readonly localAddress: string;
  readonly remoteAddress: string;
  /** Start delivering messages (nothing is read before: an unwanted connection is never parsed). */
  attach(handler: ConnectionHandler): void;
  /** Codec options for what follows (after the OPENs: 4-octet AS, extended messages…). */
  setOptions(options: CodecOptions): void;
  /** Encode and queue one message; returns its size in octets. */
  send(m: BgpMessage): number;
  /** Flush what is queued (so a NOTIFICATION goes out first), then close. Idempotent. */
  close(): void;
  /** Resolves once the connection is fully closed (after close(): the queue was flushed). */
  whenClosed?(): Promise<void>;
}

export interface DialAttempt {
  cancel(): void;
}

export interface DialCallbacks {
  connected(conn: BgpConnection): void;
  failed(reason: string): void;
}

export interface Dialer {
  dial(callbacks: DialCallbacks): DialAttempt;
}
