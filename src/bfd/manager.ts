// BfdManager: the declarative face of BFD for the BGP backend. `setPeers(configs)` is the whole
// desired set of single-hop sessions; the manager diffs it against what runs (add, remove with an
// AdminDown, change timers through a Poll sequence), owns one transport endpoint per local address,
// demultiplexes received packets to sessions (RFC 5880 §6.8.6: by Your Discriminator, or by
// (source, local address) when it is 0) and reports state changes as 'state' events.
//
// Received packets that fail a check are dropped and counted by reason (stats()), never thrown.
// A local address that cannot be bound yet (not configured, in use) is logged and retried; its
// sessions stay Down meanwhile.
//
// Not here: what BGP does with a Down (the caller decides), multihop (RFC 5883), echo, demand mode
// and authentication (see session.ts and packet.ts).
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import ipaddr from 'ipaddr.js';
import { BfdConfigError } from './errors.js';
import { decodeControlPacket, diagnosticName, encodeControlPacket, type BfdDropReason, type BfdState } from './packet.js';
import { BfdSession, type BfdSessionParams } from './session.js';
import { BFD_SINGLE_HOP_PORT, BfdEndpoint, type EndpointOpenResult } from './transport.js';

export interface BfdPeerConfig {
  peer: string;
  local: string;
  /** ms, default 300 */
  minTxMs?: number;
  /** ms, default 300 */
  minRxMs?: number;
  /** default 3 */
  multiplier?: number;
  passive?: boolean;
}

export interface BfdPeerStatus {
  peer: string;
  local: string;
  state: BfdState;
  remoteState: BfdState;
  /** RFC 5880 §4.1 name of our diagnostic (the reason for our last state change). */
  diagnostic: string;
  /** The diagnostic the remote last sent (e.g. 'Administratively Down' when it shut us down). */
  remoteDiagnostic: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** Negotiated periodic transmit interval, before jitter. */
  txIntervalMs: number;
  detectTimeMs: number;
  sinceMs: number;
  upCount: number;
  downCount: number;
  packetsIn: number;
  packetsOut: number;
  passive: boolean;
}

export interface BfdStats {
  received: number;
  dropped: Partial<Record<BfdDropReason, number>>;
  sendErrors: number;
  endpoints: { local: string; open: boolean; sourcePort?: number; minTtlSet?: boolean; lastError?: string }[];
}

export type BfdLog = (level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, msg: string) => void;

export interface BfdManagerOptions {
  log?: BfdLog;
  /** UDP port to listen on and send to; 3784 (RFC 5881) by default, tests may use another. */
  port?: number;
  /** Create the sockets inside this named network namespace (tests and the lab). */
  netns?: string;
  /** Delay before retrying a local address that could not be bound (default 2000 ms). */
  retryMs?: number;
}

export interface BfdManagerEvents {
  state: [peer: string, state: BfdState, previous: BfdState, diagnostic: string];
}

const DEFAULT_INTERVAL_MS = 300;
const DEFAULT_MULTIPLIER = 3;
/** The wire carries microseconds in 32 bits. */
const MAX_INTERVAL_MS = Math.floor(0xffff_ffff / 1000);

interface ResolvedPeer {
  peer: string;
  local: string;
  params: BfdSessionParams;
}

interface Entry {
  key: string;
  peer: string;
  local: string;
  session: BfdSession;
}

interface EndpointSlot {
  local: string;
  endpoint: BfdEndpoint;
  opened?: EndpointOpenResult;
  lastError?: string;
  retry?: ReturnType<typeof setTimeout>;
  /** The bind in progress, so closing can wait for it (no socket outlives stop()). */
  opening?: Promise<void>;
  closed: boolean;
}

const sessionKey = (local: string, peer: string): string => `${local}|${peer}`;

/** Canonical text of an address (so 2001:db8:0::1 and 2001:db8::1 name one session); drops a %scope. */
function canonical(address: string): string | undefined {
  const bare = address.split('%')[0] ?? '';
  if (!ipaddr.isValid(bare)) return undefined;
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) return (parsed as ipaddr.IPv6).toIPv4Address().toString();
  return parsed.toString();
}

function resolvePeer(c: BfdPeerConfig): ResolvedPeer {
  const peer = canonical(c.peer);
  if (peer === undefined) throw new BfdConfigError(c.peer, 'peer', c.peer, 'is not an IP address');
  const local = canonical(c.local);
  if (local === undefined) throw new BfdConfigError(c.peer, 'local', c.local, 'is not an IP address');
  if (ipaddr.parse(peer).kind() !== ipaddr.parse(local).kind()) throw new BfdConfigError(c.peer, 'local', c.local, 'is not of the peer address family');
  const interval = (field: 'minTxMs' | 'minRxMs'): number => {
    const v = c[field] ?? DEFAULT_INTERVAL_MS;
    if (!Number.isInteger(v) || v < 1 || v > MAX_INTERVAL_MS) throw new BfdConfigError(c.peer, field, v, `must be an integer in 1..${MAX_INTERVAL_MS}`);
    return v * 1000;
  };
  const detectMult = c.multiplier ?? DEFAULT_MULTIPLIER;
  if (!Number.isInteger(detectMult) || detectMult < 1 || detectMult > 255) throw new BfdConfigError(c.peer, 'multiplier', detectMult, 'must be an integer in 1..255');
  return { peer, local, params: { desiredMinTxUs: interval('minTxMs'), requiredMinRxUs: interval('minRxMs'), detectMult, passive: c.passive ?? false } };
}

const sameParams = (a: BfdSessionParams, b: BfdSessionParams): boolean =>
  a.desiredMinTxUs === b.desiredMinTxUs && a.requiredMinRxUs === b.requiredMinRxUs && a.detectMult === b.detectMult && a.passive === b.passive;

export class BfdManager extends EventEmitter<BfdManagerEvents> {
  private readonly sessions = new Map<string, Entry & { params: BfdSessionParams }>();
  private readonly byDiscriminator = new Map<number, Entry>();
  private readonly endpoints = new Map<string, EndpointSlot>();
  /** Sessions being shut down (their AdminDown still going out); they keep their endpoint. */
  private readonly retiring = new Map<Promise<void>, Entry>();
  private readonly dropped: Partial<Record<BfdDropReason, number>> = {};
  private received = 0;
  private stopped = false;
  private readonly log: BfdLog;
  private readonly port: number;
  private readonly retryMs: number;

  constructor(private readonly options: BfdManagerOptions = {}) {
    super();
    this.log = options.log ?? (() => undefined);
    this.port = options.port ?? BFD_SINGLE_HOP_PORT;
    this.retryMs = options.retryMs ?? 2000;
  }

  /** The complete desired set of sessions. Throws BfdConfigError (and changes nothing) on a bad entry. */
  setPeers(configs: readonly BfdPeerConfig[]): void {
    if (this.stopped) throw new BfdConfigError('*', 'manager', 'stopped', 'setPeers() after stop()');
    const wanted = new Map<string, ResolvedPeer>();
    for (const c of configs) {
      const r = resolvePeer(c);
      const key = sessionKey(r.local, r.peer);
      if (wanted.has(key)) throw new BfdConfigError(c.peer, 'peer', c.peer, `appears twice with local ${r.local}`);
      wanted.set(key, r);
    }
    for (const [key, entry] of this.sessions) {
      if (!wanted.has(key)) {
        this.sessions.delete(key);
        this.retire(entry);
      }
    }
    for (const [key, r] of wanted) {
      const existing = this.sessions.get(key);
      if (existing === undefined) {
        this.add(key, r);
      } else if (!sameParams(existing.params, r.params)) {
        existing.params = r.params;
        existing.session.setParams(r.params);
        this.log('info', { peer: r.peer, local: r.local, ...r.params }, 'bfd session timers changed');
      }
    }
  }

  status(): BfdPeerStatus[] {
    const now = Date.now();
    return [...this.sessions.values()].map(({ peer, local, session: s, params }) => ({
      peer,
      local,
      state: s.state,
      remoteState: s.remoteState,
      diagnostic: diagnosticName(s.localDiagnostic),
      remoteDiagnostic: diagnosticName(s.remoteDiagnostic),
      localDiscriminator: s.localDiscriminator,
      remoteDiscriminator: s.remoteDiscriminator,
      txIntervalMs: s.txIntervalUs / 1000,
      detectTimeMs: s.detectTimeUs / 1000,
      sinceMs: now - s.lastChangeAt,
      upCount: s.upCount,
      downCount: s.downCount,
      packetsIn: s.packetsIn,
      packetsOut: s.packetsOut,
      passive: params.passive,
    }));
  }

  stats(): BfdStats {
    return {
      received: this.received,
      dropped: { ...this.dropped },
      sendErrors: [...this.endpoints.values()].reduce((n, e) => n + e.endpoint.sendErrors, 0),
      endpoints: [...this.endpoints.values()].map((e) => ({
        local: e.local,
        open: e.endpoint.open,
        ...(e.opened ? { sourcePort: e.opened.sourcePort, minTtlSet: e.opened.minTtlSet } : {}),
        ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
      })),
    };
  }

  /** AdminDown (diagnostic Administratively Down) to every peer that knows us, then close the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const [key, entry] of this.sessions) {
      this.sessions.delete(key);
      this.retire(entry);
    }
    while (this.retiring.size > 0) await Promise.all([...this.retiring.keys()]);
    for (const local of [...this.endpoints.keys()]) await this.closeEndpoint(local);
  }

  private add(key: string, r: ResolvedPeer): void {
    let discriminator = 0;
    while (discriminator === 0 || this.byDiscriminator.has(discriminator)) discriminator = randomInt(1, 0x1_0000_0000);
    const slot = this.endpointFor(r.local);
    const session = new BfdSession(discriminator, r.params, {
      send: (packet) => {
        slot.endpoint.send(encodeControlPacket(packet), r.peer);
      },
      onStateChange: ({ state, previous, diagnostic }) => {
        const diag = diagnosticName(diagnostic);
        this.log(state === 'Up' || previous === 'Up' ? 'info' : 'debug', { peer: r.peer, local: r.local, state, previous, diagnostic: diag }, 'bfd session state');
        // A throwing listener must not escape into the socket's receive path (or a timer).
        try {
          this.emit('state', r.peer, state, previous, diag);
        } catch (err) {
          this.log('warn', { peer: r.peer, state, error: err instanceof Error ? err.message : String(err) }, 'bfd state listener threw');
        }
      },
    });
    const entry = { key, peer: r.peer, local: r.local, session, params: r.params };
    this.sessions.set(key, entry);
    this.byDiscriminator.set(discriminator, entry);
    this.log('debug', { peer: r.peer, local: r.local, discriminator }, 'bfd session added');
    session.start();
  }

  private retire(entry: Entry): void {
    const done = entry.session.shutdown().finally(() => {
      this.retiring.delete(done);
      this.byDiscriminator.delete(entry.session.localDiscriminator);
      if (!this.stopped && !this.localInUse(entry.local)) void this.closeEndpoint(entry.local);
    });
    this.retiring.set(done, entry);
  }

  private localInUse(local: string): boolean {
    for (const e of this.sessions.values()) if (e.local === local) return true;
    for (const e of this.retiring.values()) if (e.local === local) return true;
    return false;
  }

  private endpointFor(local: string): EndpointSlot {
    const existing = this.endpoints.get(local);
    if (existing) return existing;
    const slot: EndpointSlot = {
      local,
      closed: false,
      endpoint: new BfdEndpoint({
        local,
        port: this.port,
        ...(this.options.netns !== undefined ? { netns: this.options.netns } : {}),
        onPacket: (data, source, at) => this.onPacket(data, source, at),
      }),
    };
    this.endpoints.set(local, slot);
    this.openEndpoint(slot);
    return slot;
  }

  private openEndpoint(slot: EndpointSlot): void {
    slot.opening = slot.endpoint.openSockets().then(
      async (opened) => {
        if (slot.closed) {
          await slot.endpoint.close();
          return;
        }
        slot.opened = opened;
        delete slot.lastError;
        this.log('info', { local: slot.local, port: this.port, sourcePort: opened.sourcePort }, 'bfd listening');
        for (const e of this.sessions.values()) if (e.local === slot.local) e.session.transmitNow();
      },
      (err: unknown) => {
        const e = err as NodeJS.ErrnoException;
        slot.lastError = e.code ?? e.message;
        this.log('warn', { local: slot.local, port: this.port, error: slot.lastError, retryMs: this.retryMs }, 'bfd cannot bind local address; retrying');
        if (slot.closed) return;
        slot.retry = setTimeout(() => {
          delete slot.retry;
          if (!slot.closed) this.openEndpoint(slot);
        }, this.retryMs);
        slot.retry.unref();
      },
    );
  }

  private async closeEndpoint(local: string): Promise<void> {
    const slot = this.endpoints.get(local);
    if (slot === undefined) return;
    this.endpoints.delete(local);
    slot.closed = true;
    if (slot.retry !== undefined) clearTimeout(slot.retry);
    await slot.opening;
    await slot.endpoint.close();
  }

  private drop(reason: BfdDropReason, fields: Record<string, unknown>): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    this.log('debug', { reason, ...fields }, 'bfd packet dropped');
  }

  private onPacket(data: Buffer, sourceText: string, local: string): void {
    this.received++;
    const decoded = decodeControlPacket(data);
    const source = canonical(sourceText) ?? sourceText;
    if (!decoded.ok) {
      this.drop(decoded.reason, { source, local, detail: decoded.detail });
      return;
    }
    const p = decoded.packet;
    let entry: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      entry = this.byDiscriminator.get(p.yourDiscriminator);
      if (entry === undefined) return this.drop('unknown-discriminator', { source, local, yourDiscriminator: p.yourDiscriminator });
      // Single-hop sessions are tied to their addresses: a right discriminator from the wrong
      // place is not our peer.
      if (entry.peer !== source || entry.local !== local) return this.drop('address-mismatch', { source, local, peer: entry.peer });
    } else {
      entry = this.sessions.get(sessionKey(local, source));
      if (entry === undefined) return this.drop('no-session-for-addresses', { source, local });
    }
    entry.session.receive(p);
  }
}
