// In-memory transport for FSM/session unit tests: a connection that records what we send and
// lets the test play the peer (deliver messages, decode errors, a close), and a dialer whose
// attempts the test completes or fails. One shared log keeps the order of sends and closes, so a
// test can assert "NOTIFICATION first, then close".
import type { BgpConnection, ConnectionDirection, ConnectionHandler, DialAttempt, DialCallbacks, Dialer } from '../../src/bgp/transport/types.js';
import type { BgpError, BgpMessage, CodecOptions, OpenMessage } from '../../src/bgp/wire/index.js';

export class FakeConnection implements BgpConnection {
  readonly sent: BgpMessage[] = [];
  readonly log: string[] = [];
  closed = false;
  options: CodecOptions | undefined;
  private handler: ConnectionHandler | undefined;

  constructor(
    readonly direction: ConnectionDirection,
    readonly remoteAddress = '192.0.2.2',
    readonly localAddress = '192.0.2.1',
  ) {}

  get attached(): boolean {
    return this.handler !== undefined;
  }

  attach(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  setOptions(options: CodecOptions): void {
    this.options = options;
  }

  send(m: BgpMessage): number {
    if (this.closed) return 0;
    this.sent.push(m);
    this.log.push(m.type === 'notification' ? `notification ${m.code}/${m.subcode}` : m.type);
    return 19;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.log.push('close');
    this.handler = undefined;
  }

  /** The types we sent, in order. */
  get sentTypes(): string[] {
    return this.sent.map((m) => m.type);
  }

  notifications(): { code: number; subcode: number; shutdownMessage?: string }[] {
    return this.sent.flatMap((m) => (m.type === 'notification' ? [{ code: m.code, subcode: m.subcode, ...(m.shutdownMessage !== undefined ? { shutdownMessage: m.shutdownMessage } : {}) }] : []));
  }

  // ---- the peer's side
  receive(m: BgpMessage): void {
    this.handler?.message(m);
  }
  decodeError(e: BgpError): void {
    this.handler?.decodeError(e);
  }
  peerCloses(reason = 'closed by peer'): void {
    const h = this.handler;
    this.closed = true;
    this.handler = undefined;
    h?.closed(reason);
  }
}

export class FakeDialer implements Dialer {
  readonly attempts: { cb: DialCallbacks; cancelled: boolean }[] = [];

  dial(cb: DialCallbacks): DialAttempt {
    const a = { cb, cancelled: false };
    this.attempts.push(a);
    return { cancel: () => void (a.cancelled = true) };
  }

  get last(): { cb: DialCallbacks; cancelled: boolean } {
    const a = this.attempts.at(-1);
    if (a === undefined) throw new Error('no dial attempt');
    return a;
  }

  /** Complete the latest attempt with a new outgoing connection. */
  connect(): FakeConnection {
    const c = new FakeConnection('outgoing');
    this.last.cb.connected(c);
    return c;
  }
}

export function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAs: 65002,
    holdTime: 90,
    bgpId: '192.0.2.2',
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'fourOctetAs', asn: over.myAs ?? 65002 },
    ],
    ...over,
  };
}

/**
 * One end of an in-memory TCP connection between two FSMs under test. What one end sends (and its
 * FIN on close) travels to the other end and waits there until the test delivers it, one item at
 * a time, so a test chooses the order in which events on different connections arrive. Nothing is
 * delivered before attach(), as with a paused socket.
 */
export class LinkedConnection implements BgpConnection {
  readonly sent: BgpMessage[] = [];
  closed = false;
  private peer: LinkedConnection | undefined;
  private handler: ConnectionHandler | undefined;
  private readonly arriving: ({ message: BgpMessage } | { fin: string })[] = [];

  private constructor(
    readonly direction: ConnectionDirection,
    readonly localAddress: string,
    readonly remoteAddress: string,
  ) {}

  /** A connection from `from` to `to`: [the dialer's outgoing end, the listener's incoming end]. */
  static pair(from: string, to: string): [LinkedConnection, LinkedConnection] {
    const out = new LinkedConnection('outgoing', from, to);
    const inc = new LinkedConnection('incoming', to, from);
    out.peer = inc;
    inc.peer = out;
    return [out, inc];
  }

  attach(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  setOptions(): void {}

  send(m: BgpMessage): number {
    if (this.closed) return 0;
    this.sent.push(m);
    this.peer?.arriving.push({ message: m });
    return 19;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.peer?.arriving.push({ fin: 'connection closed by peer' });
  }

  /** Something in flight can be handed to this end now. */
  get deliverable(): boolean {
    return !this.closed && this.handler !== undefined && this.arriving.length > 0;
  }

  /** Hand the next message (or the peer's close) to this end's owner. */
  deliverOne(): void {
    const next = this.deliverable ? this.arriving.shift() : undefined;
    if (next === undefined) return;
    if ('message' in next) {
      this.handler?.message(next.message);
      return;
    }
    const h = this.handler;
    this.closed = true;
    this.handler = undefined;
    h?.closed(next.fin);
  }
}
