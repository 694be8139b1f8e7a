// A raw, unconfigured BGP speaker for the hostile-peer tests: a plain TCP client, created inside a
// network namespace, that sends exactly the octets a test gives it — valid messages built with our
// codec, or hand-made and corrupted ones — and reads back what weft answers (above all the
// NOTIFICATION, and whether the connection closed). It has no FSM and no RIB on purpose: it must be
// able to do everything a real speaker never would, in any order.
//
// The socket is made natively (src/bgp/transport/sockopts.ts) with the main thread inside the
// namespace for the one synchronous call (src/netns.ts), so the test process itself speaks from the
// lab's underlay, from any source address, with or without a TCP-MD5 key. The byte builders below
// write messages field by field, so a test can say which field it breaks.
import net from 'node:net';
import { closeFd, connectResult, errnoName, startConnect } from '../../src/bgp/transport/sockopts.js';
import { inNetns } from '../../src/netns.js';
import {
  INITIAL_OPTIONS,
  encodeMessage,
  isBgpError,
  ipv4FromText,
  ipv4PrefixFromText,
  tryDecodeMessage,
  type BgpMessage,
  type CodecOptions,
  type NotificationMessage,
  type OpenMessage,
} from '../../src/bgp/wire/index.js';

// ---- octets ------------------------------------------------------------------------------------

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** A whole message: 16-octet marker, length (default: the real one), type, body. */
export function message(type: number, body: Uint8Array | number[], o: { length?: number; marker?: number } = {}): Uint8Array {
  const b = Uint8Array.from(body);
  return Uint8Array.from([...new Array<number>(16).fill(o.marker ?? 0xff), ...u16(o.length ?? 19 + b.length), type, ...b]);
}

/** One path attribute: flags, type, length (1 octet, or 2 with the Extended Length flag 0x10). */
export function attr(flags: number, type: number, value: number[], o: { length?: number } = {}): number[] {
  const len = o.length ?? value.length;
  return [flags, type, ...((flags & 0x10) !== 0 ? u16(len) : [len]), ...value];
}

/** NLRI / withdrawn-routes encoding of "a.b.c.d/n": length octet, then the significant octets. */
export function prefix(text: string): number[] {
  const key = ipv4PrefixFromText(text);
  if (Number.isNaN(key)) throw new Error(`bad prefix ${text}`);
  const len = key % 64;
  return [len, ...u32(Math.floor(key / 64)).slice(0, Math.ceil(len / 8))];
}

export const ORIGIN_IGP = attr(0x40, 1, [0]);
/** AS_PATH of one AS_SEQUENCE, 4-octet ASNs (both sides send the 4-octet AS capability). */
export const asPath = (...asns: number[]): number[] => attr(0x40, 2, [2, asns.length, ...asns.flatMap(u32)]);
export const nextHop = (address: string): number[] => attr(0x40, 3, u32(ipv4FromText(address)));

/** An UPDATE message; the two length fields default to the real ones. */
export function update(p: { withdrawn?: number[]; attrs?: number[]; nlri?: number[]; withdrawnLength?: number; attrsLength?: number }): Uint8Array {
  const w = p.withdrawn ?? [];
  const a = p.attrs ?? [];
  return message(2, [...u16(p.withdrawnLength ?? w.length), ...w, ...u16(p.attrsLength ?? a.length), ...a, ...(p.nlri ?? [])]);
}

/** A well-formed announcement of `prefixes` from `asn` with next hop `via`, plus extra attributes. */
export function announce(prefixes: string[], asn: number, via: string, extra: number[] = []): Uint8Array {
  return update({ attrs: [...ORIGIN_IGP, ...asPath(asn), ...nextHop(via), ...extra], nlri: prefixes.flatMap(prefix) });
}

export function withdraw(prefixes: string[]): Uint8Array {
  return update({ withdrawn: prefixes.flatMap(prefix) });
}

export const KEEPALIVE = message(4, []);

/** The OPEN a normal peer would send: IPv4 unicast, 4-octet AS, route refresh. */
export function openMessage(p: { asn: number; bgpId: string; holdTime?: number; version?: number }): OpenMessage {
  return {
    type: 'open',
    version: p.version ?? 4,
    myAs: p.asn,
    holdTime: p.holdTime ?? 90,
    bgpId: p.bgpId,
    capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'fourOctetAs', asn: p.asn }, { kind: 'routeRefresh' }],
  };
}

export function encode(m: BgpMessage, options: CodecOptions = INITIAL_OPTIONS): Uint8Array {
  return encodeMessage(m, options);
}

// ---- the connection ----------------------------------------------------------------------------

export interface RawConnectOptions {
  /** Network namespace to connect from. */
  netns: string;
  remote: string;
  port?: number;
  /** Source address (must exist in `netns`). */
  local: string;
  md5Key?: string;
  timeoutMs?: number;
}

/** Opens a TCP connection from inside `netns`; resolves with the fd or the errno name it failed with. */
export async function rawConnect(o: RawConnectOptions): Promise<{ fd: number } | { error: string }> {
  const fd = inNetns(o.netns, () => startConnect({ remote: o.remote, port: o.port ?? 179, local: o.local, ...(o.md5Key !== undefined ? { md5Key: o.md5Key } : {}) }));
  const deadline = Date.now() + (o.timeoutMs ?? 3000);
  for (;;) {
    const r = connectResult(fd);
    if (r === 0) return { fd };
    if (r !== undefined) {
      closeFd(fd);
      return { error: errnoName(r) };
    }
    if (Date.now() > deadline) {
      closeFd(fd);
      return { error: 'timeout' };
    }
    await new Promise((res) => setTimeout(res, 5));
  }
}

export class RawBgpPeer {
  /** Messages weft sent, in order (decoded; undecodable ones as their error). */
  readonly received: (BgpMessage | { type: 'undecodable'; error: string })[] = [];
  private buf = Buffer.alloc(0);
  private closedAt: number | undefined;
  private readonly waiters = new Set<() => void>();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  /** How to decode weft's messages: 4-octet AS once both OPENs said so. */
  options: CodecOptions = INITIAL_OPTIONS;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.parse();
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedAt = Date.now();
      clearInterval(this.keepaliveTimer);
      this.wake();
    });
  }

  /** Connects or throws with the reason (e.g. "timeout" when an MD5 mismatch drops our SYNs). */
  static async connect(o: RawConnectOptions): Promise<RawBgpPeer> {
    const r = await rawConnect(o);
    if ('error' in r) throw new Error(`connect ${o.local} → ${o.remote}:${o.port ?? 179}: ${r.error}`);
    return new RawBgpPeer(new net.Socket({ fd: r.fd, readable: true, writable: true }));
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  send(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  sendMessage(m: BgpMessage): void {
    this.send(encode(m, this.options));
  }

  /** OPEN, weft's OPEN and KEEPALIVE, our KEEPALIVE: Established. Returns weft's OPEN. */
  async handshake(open: OpenMessage, timeoutMs = 5000): Promise<OpenMessage> {
    this.sendMessage(open);
    const theirs = await this.waitFor((m) => m.type === 'open', timeoutMs, 'weft\'s OPEN');
    await this.waitFor((m) => m.type === 'keepalive', timeoutMs, 'weft\'s KEEPALIVE');
    this.options = { fourOctetAs: true, extendedMessage: false };
    this.send(KEEPALIVE);
    return theirs as OpenMessage;
  }

  /** Keep the session alive (weft's hold time) until closed. */
  keepAlive(everyMs = 10_000): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = setInterval(() => this.send(KEEPALIVE), everyMs);
    this.keepaliveTimer.unref();
  }

  /** The first received message matching `pred` (already received or arriving within the timeout). */
  async waitFor(pred: (m: BgpMessage) => boolean, timeoutMs: number, what: string): Promise<BgpMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find((x): x is BgpMessage => x.type !== 'undecodable' && pred(x));
      if (m) return m;
      if (this.closed) throw new Error(`connection closed before ${what}; got ${this.describe()}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; got ${this.describe()}`);
      await this.wait(deadline - Date.now());
    }
  }

  /** The NOTIFICATION weft sends (it must then close the connection). */
  async notification(timeoutMs = 5000): Promise<NotificationMessage> {
    return (await this.waitFor((m) => m.type === 'notification', timeoutMs, 'NOTIFICATION')) as NotificationMessage;
  }

  /** Resolves true once weft closed the connection, false if it is still open after the timeout. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.wait(deadline - Date.now());
    return this.closed;
  }

  /** After `ms`, the connection is still open and weft sent no NOTIFICATION on it. */
  async staysUp(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return !this.closed && !this.received.some((m) => m.type === 'notification');
  }

  close(): void {
    clearInterval(this.keepaliveTimer);
    this.socket.destroy();
  }

  describe(): string {
    return JSON.stringify(this.received.map((m) => (m.type === 'notification' ? `notification ${m.code}/${m.subcode} [${Buffer.from(m.data).toString('hex')}]` : m.type)));
  }

  private parse(): void {
    while (this.buf.length >= 19) {
      const length = this.buf.readUInt16BE(16);
      if (length < 19) {
        this.received.push({ type: 'undecodable', error: `length ${length}` });
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.buf.length < length) return;
      const r = tryDecodeMessage(this.buf.subarray(0, length), this.options);
      if (r === undefined) this.received.push({ type: 'undecodable', error: 'short' });
      else if (isBgpError(r)) this.received.push({ type: 'undecodable', error: r.message });
      else this.received.push(r.message);
      this.buf = this.buf.subarray(length);
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(1, ms));
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
