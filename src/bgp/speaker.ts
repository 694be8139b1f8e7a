// The BGP speaker: declarative peers and announcements over the RIB (RFC 4271 §3.2, §9).
//
// - `setPeers(configs)`: a new peer gets a session, a removed one is stopped and its routes leave
//   the Loc-RIB, a changed one is restarted.
// - `setAnnouncements(routes)`: what we originate, per family; each peer's Adj-RIB-Out is updated
//   and only the difference is sent.
// - Received UPDATEs go through import policy (loop checks, prefix list, max-prefix → Cease,
//   RFC 4486) into the peer's Adj-RIB-In; the Loc-RIB re-decides the touched prefixes and emits
//   one 'changes' batch per UPDATE; best-path changes are exported to every other peer (eBGP/iBGP
//   and route-reflection rules, export policy) through their Adj-RIBs-Out, drained once per
//   event-loop turn so consecutive UPDATEs pack together.
// - Graceful restart (RFC 4724): as helper, a GR-capable peer's routes stay (stale) for its restart
//   time after an eligible drop and are swept at its End-of-RIB per family or when the timer fires;
//   as restarting speaker we advertise our capability (through the session) and always send
//   End-of-RIB after the initial advertisement. Route refresh (RFC 2918) both ways.
//
// Our own announcements are not put in the Loc-RIB (they are not routes to install); on export
// they take precedence over learned paths to the same prefix.
import { EventEmitter } from 'node:events';
import { CEASE, CEASE_MAX_PREFIXES, PeerPolicy, maxPrefixCeaseData, parseCommunity, parseLargeCommunity, type PolicyConfig } from './policy.js';
import { AdjRibIn } from './rib/adj-rib-in.js';
import { AdjRibOut, type OutboundUpdate } from './rib/adj-rib-out.js';
import { AttributeTable, type AsPathSegment, type Attributes, type Origin } from './rib/attributes.js';
import type { DecisionOptions } from './rib/decision.js';
import { exportForFamily } from './rib/export.js';
import { importAttributes, importAttributesVerdict } from './rib/import.js';
import { LocRib, type BestPathChange } from './rib/loc-rib.js';
import { makeSource, routerIdNumber, type Path, type PathSource } from './rib/path.js';
import { LOCAL_SOURCE_ID, type LocalIdentity, type PeerRole } from './rib/peer-role.js';
import type { DownInfo, EstablishedInfo, InboundUpdate, PeerErrorCounts, PeerSession } from './rib/peer-session.js';
import { parsePrefix, type Afi, type PrefixKey } from './rib/prefix.js';
import { TimeSlice } from '../util/time-slice.js';

export type { BestPathChange } from './rib/loc-rib.js';
export type { Afi, PrefixKey } from './rib/prefix.js';

const AFIS: readonly Afi[] = ['ipv4', 'ipv6'];

export interface PeerConfig {
  /** The peer's address (its identity: one peer per address). */
  address: string;
  asn: number;
  localAddress?: string;
  port?: number;
  passive?: boolean;
  holdTime?: number;
  password?: string;
  ttlSecurity?: number;
  /** eBGP multihop: TTL of our packets toward the peer (without GTSM). */
  multihop?: number;
  /** Keepalive interval, seconds (default: a third of the negotiated hold time). */
  keepaliveTime?: number;
  /** Families to negotiate (default both). */
  families?: Afi[];
  /** Route-reflector client (RFC 4456); any client makes us a reflector. */
  rrClient?: boolean;
  /** Always put our address in NEXT_HOP toward this internal peer. */
  nextHopSelf?: boolean;
  /** Our next hops toward this peer when the session's own address will not do (e.g. IPv6 routes over an IPv4 session). */
  nextHopIpv4?: string;
  nextHopIpv6?: string;
  /** Negotiate graceful restart with this peer (default true). */
  gracefulRestart?: boolean;
  /** Session timers, seconds (defaults: the session's). */
  connectRetryTime?: number;
  idleHoldTime?: number;
  /** Keep what was received before import policy (soft reconfiguration inbound). */
  keepReceived?: boolean;
  policy?: PolicyConfig;
}

export interface GracefulRestartConfig {
  /** Our restart time advertised in the capability, seconds (default 120). */
  restartTime?: number;
  /** Set the R bit: we are restarting (set by the daemon after a restart). */
  restarting?: boolean;
  /** Set the F bit: forwarding state (kernel routes) survived our restart. */
  forwardingPreserved?: boolean;
  /** How long to wait for a re-established peer's End-of-RIB before dropping stale routes, seconds (default 360). */
  staleTime?: number;
}

export interface Announcement {
  prefix: string;
  /** Next hop to announce; default: our address toward each peer. */
  nextHop?: string;
  origin?: Origin;
  med?: number;
  localPref?: number;
  communities?: string[];
  largeCommunities?: string[];
  /** AS_PATH to originate with (before our AS is prepended toward eBGP peers). */
  asPath?: number[];
}

/** Everything a session needs that the speaker knows. */
export interface SessionSpec {
  peer: PeerConfig;
  localAsn: number;
  routerId: string;
  gracefulRestart: (GracefulRestartConfig & { enabled: boolean }) | undefined;
}

export interface SpeakerConfig {
  asn: number;
  routerId: string;
  /** RFC 4456 cluster ID (default: the router ID). */
  clusterId?: string;
  decision?: DecisionOptions;
  gracefulRestart?: GracefulRestartConfig;
  /** Creates a session for a peer (the real one: see rib/session-adapter.ts). */
  createSession: (spec: SessionSpec) => PeerSession;
  /**
   * Dynamic import policy on top of each peer's static one, for rules whose inputs change while
   * sessions run (the BGP backend's: which podCIDRs are registered right now). A refused route is
   * treated as not received. With a filter every peer keeps what it received (soft
   * reconfiguration inbound), so `reimport()` applies a changed filter without a route refresh.
   */
  importFilter?: (peer: string, afi: Afi, key: PrefixKey, received: Attributes) => boolean;
  log?: (level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, message: string) => void;
}

export interface FamilyCounts {
  /** Prefixes the peer currently announces to us (before import policy). */
  received: number;
  /** Of those, in the Adj-RIB-In (after policy), including stale ones. */
  accepted: number;
  stale: number;
  /** Prefixes we currently advertise to the peer. */
  advertised: number;
}

export interface PeerStatus {
  address: string;
  asn: number;
  state: string;
  established: boolean;
  /** Seconds since Established, or undefined. */
  uptime: number | undefined;
  routerId: string | undefined;
  families: Afi[];
  prefixes: Record<Afi, FamilyCounts>;
  lastDown: string | undefined;
  gracefulRestartActive: boolean;
  /** NOTIFICATIONs and RFC 7606 actions on this peer's session (when the session counts them). */
  errors: PeerErrorCounts | undefined;
}

export interface SpeakerEvents {
  /** Loc-RIB best-path changes, one batch per UPDATE (or peer change). */
  changes: [changes: BestPathChange[]];
  peerState: [address: string, state: string];
  /** A peer's End-of-RIB for a family arrived (after its initial table). */
  endOfRib: [address: string, afi: Afi];
}

interface MutableSource {
  id: string;
  address: string;
  routerId: number;
  asn: number;
  ibgp: boolean;
  rrClient: boolean;
  addressOrder: string;
}

class Peer {
  readonly source: PathSource & MutableSource;
  readonly policy: PeerPolicy;
  readonly adjIn: Record<Afi, AdjRibIn>;
  readonly adjOut: Record<Afi, AdjRibOut>;
  /** Announced-but-refused prefixes, so "received" counts them without storing their routes. */
  readonly rejected: Record<Afi, Set<PrefixKey>> = { ipv4: new Set(), ipv6: new Set() };
  /** Export results per (family, Path): prefix-independent, so cached. */
  exportCache: Record<Afi, Map<Path, Attributes | null>> = { ipv4: new Map(), ipv6: new Map() };
  role: PeerRole;
  state = 'Idle';
  established: EstablishedInfo | undefined;
  establishedAt: number | undefined;
  lastDown: string | undefined;
  /** Families with stale routes waiting for End-of-RIB. */
  readonly awaitingEor = new Set<Afi>();
  staleTimer: NodeJS.Timeout | undefined;
  /** We reset the session ourselves (max-prefix): no graceful restart for that drop. */
  resetByUs = false;

  constructor(
    readonly config: PeerConfig,
    readonly configKey: string,
    readonly session: PeerSession,
    local: LocalIdentity,
    table: AttributeTable,
    reflector: boolean,
    keepReceived: boolean,
  ) {
    this.policy = new PeerPolicy(config.policy);
    const ibgp = config.asn === local.asn;
    this.source = makeSource({ id: config.address, address: config.address, routerId: 0, asn: config.asn, ibgp, rrClient: ibgp && config.rrClient === true });
    // makeSource freezes; a peer's router ID is only known after its OPEN, so keep a mutable copy.
    this.source = { ...this.source };
    const keep = config.keepReceived === true || keepReceived;
    this.adjIn = { ipv4: new AdjRibIn(this.source, 'ipv4', table, keep), ipv6: new AdjRibIn(this.source, 'ipv6', table, keep) };
    this.adjOut = { ipv4: new AdjRibOut('ipv4', { table }), ipv6: new AdjRibOut('ipv6', { table }) };
    this.role = this.makeRole(undefined, reflector);
  }

  makeRole(localAddress: string | undefined, reflector: boolean): PeerRole {
    const v6 = localAddress?.includes(':') === true;
    return {
      source: this.source,
      policy: this.policy,
      nextHopSelf: this.config.nextHopSelf === true,
      localIpv4: this.config.nextHopIpv4 ?? (localAddress !== undefined && !v6 ? localAddress : undefined),
      localIpv6: this.config.nextHopIpv6 ?? (v6 ? localAddress : undefined),
      reflector,
    };
  }

  negotiated(afi: Afi): boolean {
    return this.established !== undefined && this.established.families.includes(afi);
  }
}

function configKey(c: PeerConfig): string {
  return JSON.stringify(c, Object.keys(c).sort());
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly table = new AttributeTable();
  readonly locRib: Record<Afi, LocRib>;
  private readonly local: LocalIdentity;
  private readonly peers = new Map<string, Peer>();
  private readonly localSource: PathSource;
  /** Our announcements per family: prefix → attributes (next hop '' = self). */
  private readonly announcements: Record<Afi, Map<PrefixKey, Path>> = { ipv4: new Map(), ipv6: new Map() };
  private drainScheduled = false;
  private stopped = false;
  /** Families whose Loc-RIB has a flush cut short and continued on the next turn (flushSliced). */
  private readonly ribFlushScheduled = new Set<Afi>();
  /** Bumped by each reimport(); a sliced reimport whose generation is old stops. */
  private reimportGeneration = 0;

  constructor(private readonly config: SpeakerConfig) {
    super();
    this.local = { asn: config.asn, routerId: config.routerId, clusterId: config.clusterId ?? config.routerId };
    this.locRib = { ipv4: new LocRib('ipv4', config.decision), ipv6: new LocRib('ipv6', config.decision) };
    for (const afi of AFIS) this.locRib[afi].on('changes', (c) => this.emit('changes', c));
    this.localSource = makeSource({ id: LOCAL_SOURCE_ID, address: '0.0.0.0', routerId: routerIdNumber(config.routerId), asn: config.asn, ibgp: false, rrClient: false });
  }

  private log(level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, message: string): void {
    this.config.log?.(level, fields, message);
  }

  private get reflector(): boolean {
    for (const p of this.peers.values()) if (p.config.rrClient === true && p.source.ibgp) return true;
    return false;
  }

  // ---- configuration -------------------------------------------------------------------------

  /** Declare the complete set of peers. Throws (changing nothing) when a policy does not parse. */
  setPeers(configs: readonly PeerConfig[]): void {
    const wanted = new Map<string, PeerConfig>();
    for (const c of configs) {
      if (wanted.has(c.address)) throw new Error(`peer ${c.address} configured twice`);
      new PeerPolicy(c.policy); // validate before touching anything
      wanted.set(c.address, c);
    }
    for (const [address, peer] of [...this.peers]) {
      const c = wanted.get(address);
      if (c === undefined || configKey(c) !== peer.configKey) this.removePeer(peer);
    }
    const reflectorBefore = this.reflector;
    for (const c of wanted.values()) if (!this.peers.has(c.address)) this.addPeer(c);
    if (this.reflector !== reflectorBefore) {
      for (const p of this.peers.values()) {
        p.role = p.makeRole(p.established?.localAddress, this.reflector);
        p.exportCache = { ipv4: new Map(), ipv6: new Map() };
        if (p.established) for (const afi of AFIS) if (p.negotiated(afi)) this.fullExport(p, afi);
      }
      this.scheduleDrain();
    }
  }

  private addPeer(c: PeerConfig): void {
    const gr = this.config.gracefulRestart;
    const session = this.config.createSession({
      peer: c,
      localAsn: this.config.asn,
      routerId: this.config.routerId,
      gracefulRestart: c.gracefulRestart === false ? undefined : { enabled: true, ...gr },
    });
    const peer = new Peer(c, configKey(c), session, this.local, this.table, this.reflector || (c.rrClient === true && c.asn === this.config.asn), this.config.importFilter !== undefined);
    this.peers.set(c.address, peer);
    for (const afi of AFIS) this.locRib[afi].addSource(peer.adjIn[afi]);
    session.on('state', (state) => {
      peer.state = state;
      this.emit('peerState', c.address, state);
    });
    session.on('established', (info) => this.guard(peer, () => this.onEstablished(peer, info)));
    session.on('down', (info) => this.guard(peer, () => this.onDown(peer, info)));
    session.on('update', (u) => this.guard(peer, () => this.onUpdate(peer, u)));
    session.on('endOfRib', (afi) => this.guard(peer, () => this.onEndOfRib(peer, afi)));
    session.on('routeRefresh', (afi) => this.guard(peer, () => this.onRouteRefresh(peer, afi)));
    this.log('info', { peer: c.address, asn: c.asn }, 'peer added');
    session.start();
  }

  /** Handlers run inside session callbacks: an exception must not escape into the socket code. */
  private guard(peer: Peer, fn: () => void): void {
    if (this.peers.get(peer.config.address) !== peer) return; // a removed peer's late event
    try {
      fn();
    } catch (err) {
      this.log('warn', { peer: peer.config.address, err: (err as Error).message }, 'speaker handler failed');
    }
  }

  private removePeer(peer: Peer): void {
    this.peers.delete(peer.config.address);
    clearTimeout(peer.staleTimer);
    void Promise.resolve(peer.session.stop()).catch(() => undefined);
    for (const afi of AFIS) {
      const rib = this.locRib[afi];
      rib.removeSource(peer.adjIn[afi]);
      peer.adjIn[afi].clear();
      peer.adjOut[afi].clear();
      this.exportChanges(rib.flush());
    }
    this.log('info', { peer: peer.config.address }, 'peer removed');
    this.scheduleDrain();
  }

  /** Declare everything we originate (both families). Throws on a malformed prefix or community. */
  setAnnouncements(routes: readonly Announcement[]): void {
    const next: Record<Afi, Map<PrefixKey, Path>> = { ipv4: new Map(), ipv6: new Map() };
    for (const r of routes) {
      const { afi, key } = parsePrefix(r.prefix);
      const asPath: AsPathSegment[] = r.asPath && r.asPath.length > 0 ? [{ type: 'sequence', asns: r.asPath }] : [];
      const attrs = this.table.intern({
        origin: r.origin ?? 0,
        asPath,
        nextHop: r.nextHop ?? '',
        med: r.med,
        localPref: r.localPref,
        communities: (r.communities ?? []).map(parseCommunity),
        largeCommunities: (r.largeCommunities ?? []).map(parseLargeCommunity),
      });
      const old = this.announcements[afi].get(key);
      next[afi].set(key, old?.attrs === attrs ? old : { source: this.localSource, attrs });
    }
    for (const afi of AFIS) {
      const before = this.announcements[afi];
      const after = next[afi];
      const touched: PrefixKey[] = [];
      for (const [k, p] of after) if (before.get(k) !== p) touched.push(k);
      for (const k of before.keys()) if (!after.has(k)) touched.push(k);
      // One reference per announced prefix; new ones taken before old ones are dropped.
      for (const p of after.values()) this.table.retain(p.attrs);
      this.announcements[afi] = after;
      for (const p of before.values()) this.table.release(p.attrs);
      for (const peer of this.peers.values()) if (peer.negotiated(afi)) for (const k of touched) this.exportPrefix(peer, afi, k);
    }
    this.scheduleDrain();
  }

  /**
   * Apply the import filter again to everything every peer sent (the filter's inputs changed):
   * routes it now accepts enter the Loc-RIB, routes it now refuses leave. Stale routes of a
   * restarting peer are re-judged the same way and stay stale.
   *
   * A peer's full table is re-judged a time slice at a time (a registry change must not hold BFD
   * and keepalives for a second); a small table is done before this returns. The promise settles
   * when all is judged; a newer reimport() supersedes one still running, and UPDATEs arriving in
   * between are judged by the filter as it is then.
   */
  async reimport(): Promise<void> {
    const generation = ++this.reimportGeneration;
    const slice = new TimeSlice();
    for (const peer of [...this.peers.values()]) {
      for (const afi of AFIS) {
        const adjIn = peer.adjIn[afi];
        if (!adjIn.received || adjIn.received.size === 0) continue;
        const rib = this.locRib[afi];
        // What the peer sent at the start; between slices UPDATEs may change or remove entries.
        const keys = [...adjIn.received.keys()];
        for (const key of keys) {
          if (slice.due) {
            this.exportChanges(rib.flush());
            this.scheduleDrain();
            await slice.next();
            if (generation !== this.reimportGeneration || this.stopped) return;
            if (this.peers.get(peer.config.address) !== peer) break;
          }
          const received = adjIn.received.get(key);
          if (received === undefined) continue;
          const ok = this.accepts(peer, afi, key, received);
          const has = adjIn.get(key) !== undefined;
          if (ok && !has) {
            const stored = importAttributes(this.table, received, peer.role);
            if (adjIn.set(key, stored)) rib.touch(key);
            peer.rejected[afi].delete(key);
            if (stored !== received) this.table.sweepOne(stored);
          } else if (!ok && has) {
            if (adjIn.delete(key)) rib.touch(key);
            peer.rejected[afi].add(key);
          }
        }
        this.exportChanges(rib.flush());
      }
    }
    this.scheduleDrain();
  }

  private accepts(peer: Peer, afi: Afi, key: PrefixKey, received: Attributes): boolean {
    if (importAttributesVerdict(received, peer.role, this.local) !== 'accept') return false;
    if (peer.policy.importList !== undefined && !peer.policy.accepts(key)) return false;
    const filter = this.config.importFilter;
    return filter === undefined || filter(peer.config.address, afi, key, received);
  }

  /**
   * Tear a peer's session down now, without graceful restart for its routes: a failure detector
   * (BFD) says the path is dead, so the routes through it must go, not be kept as stale. The
   * session reconnects by itself, as after any error.
   */
  resetPeer(address: string, subcode: number, why: string): void {
    const peer = this.peers.get(address);
    if (!peer?.established) return;
    this.log('warn', { peer: address, why }, 'resetting session');
    peer.resetByUs = true;
    peer.session.reset(CEASE, subcode, new Uint8Array());
  }

  /** Ask a peer to re-send its routes for a family (RFC 2918). */
  requestRouteRefresh(address: string, afi: Afi): void {
    const peer = this.peers.get(address);
    if (!peer?.established) throw new Error(`peer ${address} is not established`);
    if (!peer.established.routeRefresh) throw new Error(`peer ${address} did not advertise route refresh`);
    peer.session.sendRouteRefresh(afi);
  }

  status(): PeerStatus[] {
    const now = Date.now();
    return [...this.peers.values()].map((p) => ({
      address: p.config.address,
      asn: p.config.asn,
      state: p.state,
      established: p.established !== undefined,
      uptime: p.establishedAt !== undefined ? Math.floor((now - p.establishedAt) / 1000) : undefined,
      routerId: p.established?.remoteRouterId,
      families: p.established?.families ?? [],
      prefixes: {
        ipv4: this.counts(p, 'ipv4'),
        ipv6: this.counts(p, 'ipv6'),
      },
      lastDown: p.lastDown,
      gracefulRestartActive: p.adjIn.ipv4.staleCount + p.adjIn.ipv6.staleCount > 0,
      errors: p.session.errorCounts?.(),
    }));
  }

  private counts(p: Peer, afi: Afi): FamilyCounts {
    return {
      received: p.adjIn[afi].size + p.rejected[afi].size,
      accepted: p.adjIn[afi].size,
      stale: p.adjIn[afi].staleCount,
      advertised: p.adjOut[afi].advertised,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const peers = [...this.peers.values()];
    await Promise.all(peers.map(async (p) => {
      clearTimeout(p.staleTimer);
      await p.session.stop();
    }));
    this.peers.clear();
  }

  // ---- session events ------------------------------------------------------------------------

  private onEstablished(peer: Peer, info: EstablishedInfo): void {
    peer.established = info;
    peer.establishedAt = Date.now();
    peer.resetByUs = false;
    peer.source.routerId = routerIdNumber(info.remoteRouterId);
    peer.role = peer.makeRole(info.localAddress, this.reflector);
    peer.exportCache = { ipv4: new Map(), ipv6: new Map() };
    this.log('info', { peer: peer.config.address, routerId: info.remoteRouterId, families: info.families }, 'peer established');
    const maxMessageSize = info.extendedMessages ? 65535 : 4096;
    for (const afi of AFIS) {
      peer.adjOut[afi].maxMessageSize = maxMessageSize;
      // RFC 4724 §4.2: stale routes of a family the peer no longer preserves go now; of the others
      // at its End-of-RIB (or when the stale timer fires).
      if (peer.adjIn[afi].staleCount > 0) {
        const kept = info.gracefulRestart?.families.find((f) => f.afi === afi)?.forwardingPreserved === true && info.families.includes(afi);
        if (kept) peer.awaitingEor.add(afi);
        else this.sweepStale(peer, afi);
      }
    }
    clearTimeout(peer.staleTimer);
    peer.staleTimer = undefined;
    if (peer.awaitingEor.size > 0) {
      const seconds = this.config.gracefulRestart?.staleTime ?? 360;
      peer.staleTimer = setTimeout(() => this.guard(peer, () => this.staleTimerExpired(peer)), seconds * 1000);
      peer.staleTimer.unref?.();
    }
    for (const afi of info.families) {
      this.fullExport(peer, afi);
      peer.session.send(peer.adjOut[afi].drain());
      // End-of-RIB after the initial advertisement (RFC 4724 §2), also useful to non-GR peers.
      peer.session.sendEndOfRib(afi);
    }
  }

  private onDown(peer: Peer, info: DownInfo): void {
    const was = peer.established;
    peer.established = undefined;
    peer.establishedAt = undefined;
    peer.lastDown = info.reason;
    for (const afi of AFIS) {
      peer.adjOut[afi].reset();
      peer.rejected[afi].clear();
    }
    if (!was) return;
    const gr = was.gracefulRestart;
    const helper = info.graceful && !peer.resetByUs && gr !== undefined && gr.restartTime > 0 && peer.config.gracefulRestart !== false;
    this.log('info', { peer: peer.config.address, reason: info.reason, gracefulRestart: helper }, 'peer down');
    for (const afi of AFIS) {
      const keep = helper && gr.families.some((f) => f.afi === afi);
      if (keep) {
        peer.adjIn[afi].markStale();
      } else {
        const keys = peer.adjIn[afi].clear();
        this.locRib[afi].touchAll(keys);
        this.flushSliced(afi);
      }
    }
    clearTimeout(peer.staleTimer);
    peer.staleTimer = undefined;
    peer.awaitingEor.clear();
    if (helper && peer.adjIn.ipv4.staleCount + peer.adjIn.ipv6.staleCount > 0) {
      // RFC 4724 §4.2: keep the stale routes for the peer's restart time.
      peer.staleTimer = setTimeout(() => this.guard(peer, () => this.staleTimerExpired(peer)), gr.restartTime * 1000);
      peer.staleTimer.unref?.();
    }
    this.scheduleDrain();
  }

  private staleTimerExpired(peer: Peer): void {
    peer.staleTimer = undefined;
    this.log('info', { peer: peer.config.address }, 'graceful-restart timer expired: dropping stale routes');
    for (const afi of AFIS) this.sweepStale(peer, afi);
    peer.awaitingEor.clear();
    this.scheduleDrain();
  }

  private sweepStale(peer: Peer, afi: Afi): void {
    const keys = peer.adjIn[afi].sweepStale();
    if (keys.length === 0) return;
    this.locRib[afi].touchAll(keys);
    this.flushSliced(afi);
  }

  /**
   * Decides what a peer's going away (or its stale routes' sweep) touched, a time slice at a time:
   * for a full table that is every prefix, and BFD and keepalives must not wait behind it. What is
   * left is decided on a later turn of the loop, or by the next flush of any kind.
   */
  private flushSliced(afi: Afi): void {
    const rib = this.locRib[afi];
    this.exportChanges(rib.flush(new TimeSlice()));
    if (!rib.pending || this.ribFlushScheduled.has(afi)) return;
    this.ribFlushScheduled.add(afi);
    setImmediate(() => {
      this.ribFlushScheduled.delete(afi);
      if (!this.stopped) this.flushSliced(afi);
    });
  }

  private onEndOfRib(peer: Peer, afi: Afi): void {
    if (peer.awaitingEor.delete(afi)) {
      this.sweepStale(peer, afi);
      if (peer.awaitingEor.size === 0) {
        clearTimeout(peer.staleTimer);
        peer.staleTimer = undefined;
      }
      this.scheduleDrain();
    }
    this.emit('endOfRib', peer.config.address, afi);
  }

  private onRouteRefresh(peer: Peer, afi: Afi): void {
    if (!peer.negotiated(afi)) return;
    peer.adjOut[afi].refresh();
    peer.session.send(peer.adjOut[afi].drain());
    peer.session.sendEndOfRib(afi);
  }

  private onUpdate(peer: Peer, u: InboundUpdate): void {
    const { afi } = u;
    // RFC 4760 §6: routes of a family the session did not negotiate are not ours to take.
    if (!peer.negotiated(afi)) {
      this.log('debug', { peer: peer.config.address, afi }, 'UPDATE for a family not negotiated: ignored');
      return;
    }
    const adjIn = peer.adjIn[afi];
    const rib = this.locRib[afi];
    const rejected = peer.rejected[afi];
    for (const key of u.withdraw) {
      if (adjIn.delete(key)) rib.touch(key);
      if (rejected.size > 0) rejected.delete(key);
      if (adjIn.received) this.forgetReceived(adjIn, key);
    }
    if (u.announce.length > 0 && u.attrs !== undefined) {
      const received = this.table.intern(u.attrs);
      const verdict = u.treatAsWithdraw === true ? 'treat-as-withdraw' : importAttributesVerdict(received, peer.role, this.local);
      const stored = verdict === 'accept' ? importAttributes(this.table, received, peer.role) : undefined;
      const policy = peer.policy;
      const filtering = policy.importList !== undefined;
      const filter = this.config.importFilter;
      const address = peer.config.address;
      for (const key of u.announce) {
        // RFC 7606 treat-as-withdraw: the route is gone, also from what a re-import would see.
        if (adjIn.received) {
          if (stored === undefined && verdict === 'treat-as-withdraw') this.forgetReceived(adjIn, key);
          else this.keepReceived(adjIn, key, received);
        }
        if (stored !== undefined && (!filtering || policy.accepts(key)) && (filter === undefined || filter(address, afi, key, received))) {
          if (adjIn.set(key, stored)) rib.touch(key);
          if (rejected.size > 0) rejected.delete(key);
        } else {
          if (adjIn.delete(key)) rib.touch(key);
          rejected.add(key);
        }
      }
      if (verdict !== 'accept') this.log('debug', { peer: address, verdict, prefixes: u.announce.length }, 'routes refused');
      // Sets interned only to be looked at (refused, or replaced by the import-adjusted set) go.
      if (received !== stored) this.table.sweepOne(received);
      if (stored !== undefined) this.table.sweepOne(stored);
    }
    const limit = peer.policy.maxPrefix;
    // With soft reconfiguration the limit counts what the peer sent, before policy: refused
    // routes are kept too (for re-import), so they must not grow without bound either.
    if (limit && (adjIn.received?.size ?? adjIn.size) > limit.limit) {
      if (limit.warningOnly === true) {
        this.log('warn', { peer: peer.config.address, afi, limit: limit.limit, accepted: adjIn.size }, 'max-prefix exceeded');
      } else {
        this.log('warn', { peer: peer.config.address, afi, limit: limit.limit }, 'max-prefix exceeded: resetting session');
        peer.resetByUs = true;
        peer.session.reset(CEASE, CEASE_MAX_PREFIXES, maxPrefixCeaseData(afi, limit.limit));
      }
    }
    this.exportChanges(rib.flush());
  }

  private forgetReceived(adjIn: AdjRibIn, key: PrefixKey): void {
    const old = adjIn.received?.get(key);
    if (old === undefined) return;
    adjIn.received?.delete(key);
    this.table.release(old);
  }

  private keepReceived(adjIn: AdjRibIn, key: PrefixKey, attrs: Attributes): void {
    const old = adjIn.received?.get(key);
    if (old === attrs) return;
    this.table.retain(attrs);
    adjIn.received?.set(key, attrs);
    if (old) this.table.release(old);
  }

  // ---- export --------------------------------------------------------------------------------

  /** The attributes `peer` should have for `key` (our announcement first, else the best path). */
  private desiredFor(peer: Peer, afi: Afi, key: PrefixKey, best: Path | undefined): Attributes | undefined {
    const path = this.announcements[afi].get(key) ?? best;
    if (path === undefined) return undefined;
    if (!peer.policy.exports(key)) return undefined;
    const cache = peer.exportCache[afi];
    let out = cache.get(path);
    if (out === undefined) {
      // Keyed by Path, which churn retires: bound the cache rather than track every Path's end.
      if (cache.size > 100_000) cache.clear();
      out = exportForFamily(this.table, this.local, peer.role, afi, path.source, path.attrs) ?? null;
      cache.set(path, out);
    }
    return out ?? undefined;
  }

  private exportPrefix(peer: Peer, afi: Afi, key: PrefixKey): void {
    peer.adjOut[afi].setRoute(key, this.desiredFor(peer, afi, key, this.locRib[afi].best(key)));
  }

  private exportChanges(changes: BestPathChange[]): void {
    if (changes.length === 0) return;
    for (const peer of this.peers.values()) {
      for (const c of changes) {
        if (!peer.negotiated(c.afi)) break;
        if (this.announcements[c.afi].has(c.key)) continue; // ours wins regardless of learned paths
        peer.adjOut[c.afi].setRoute(c.key, this.desiredFor(peer, c.afi, c.key, c.best));
      }
    }
    this.scheduleDrain();
  }

  /** Recompute a peer's whole Adj-RIB-Out for a family (initial advertisement, role change). */
  private fullExport(peer: Peer, afi: Afi): void {
    const desired = new Map<PrefixKey, Attributes>();
    for (const [key, best] of this.locRib[afi].entries()) {
      const a = this.desiredFor(peer, afi, key, best);
      if (a) desired.set(key, a);
    }
    for (const key of this.announcements[afi].keys()) {
      const a = this.desiredFor(peer, afi, key, undefined);
      if (a) desired.set(key, a);
      else desired.delete(key);
    }
    peer.adjOut[afi].set(desired);
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Send every pending Adj-RIB-Out change now (normally done once per event-loop turn). */
  flush(): void {
    this.drainScheduled = false;
    for (const peer of this.peers.values()) {
      if (!peer.established) continue;
      for (const afi of AFIS) {
        if (!peer.negotiated(afi) || !peer.adjOut[afi].pending) continue;
        const updates: OutboundUpdate[] = peer.adjOut[afi].drain();
        try {
          peer.session.send(updates);
        } catch (err) {
          this.log('warn', { peer: peer.config.address, err: (err as Error).message }, 'send failed');
        }
      }
    }
  }

  /**
   * A peer's Adj-RIB-In for a family: 'accepted' (after import policy, stale ones included) or
   * 'received' (before policy; only with `keepReceived`, else undefined).
   */
  adjRibIn(address: string, afi: Afi, which: 'accepted' | 'received' = 'accepted'): Map<PrefixKey, Attributes> | undefined {
    const peer = this.peers.get(address);
    if (!peer) throw new Error(`no peer ${address}`);
    const rib = peer.adjIn[afi];
    if (which === 'received') return rib.received ? new Map(rib.received.entries()) : undefined;
    return new Map([...rib.entries()].map(([k, p]) => [k, p.attrs]));
  }

  /** What we currently advertise to a peer for a family (after export rules). */
  adjRibOut(address: string, afi: Afi): Map<PrefixKey, Attributes> {
    const peer = this.peers.get(address);
    if (!peer) throw new Error(`no peer ${address}`);
    return peer.adjOut[afi].desired();
  }

  /** Prefixes in the Loc-RIB of a family whose best path comes from `address`. */
  routesFrom(address: string, afi: Afi): PrefixKey[] {
    const out: PrefixKey[] = [];
    for (const [key, best] of this.locRib[afi].entries()) if (best.source.id === address) out.push(key);
    return out;
  }
}
