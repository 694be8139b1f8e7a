// The Kubernetes API implementation of NodeRegistry (`--registry=kube`), flannel's "kube subnet
// manager" done our way. This node's subnet is the podCIDR the controller-manager assigned to its
// Node (so a restarted node keeps it); what other nodes need (public IP, backend type and data) is
// published as annotations on our own Node under a configurable prefix (`weft.io/` by default,
// `flannel.alpha.coreos.com/` to share flannel's), and the NetworkUnavailable condition is set
// False once we are up. Remote nodes come from a supervised list+watch of all Nodes.
//
// Why our own supervisor rather than client-node's informer: the informer stops on most errors,
// does not notice a watch that went silent (a half-dead TCP connection), and reports add/update/
// delete events, while we want level-triggered snapshots. So: list (a full snapshot), then watch
// from its resourceVersion with bookmarks; on 410 Gone relist; on any error or end of stream
// re-watch after a capped, jittered exponential backoff; on silence longer than a timeout, abort
// and re-watch. Only the network-relevant projection of each Node is kept, so heartbeats, status
// and unrelated labels never produce a snapshot.
//
// Deliberately not here: validating remote entries (validate.ts), counting skips (metrics.ts),
// choosing this node's public IP from interfaces (the daemon passes it in).
import { CoreV1Api, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { rootLogger, type Logger } from '../log.js';
import { canonicalPrefix, parseCidr, parseIp } from '../net/addr.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { SkipReporter } from './metrics.js';
import type { BackendType, Lease, LocalNodeSpec, NodeRegistry, RegistryNetwork, SkipListener, Snapshot } from './types.js';
import { sameNodes, validateRemoteEntries, type RawNodeEntry } from './validate.js';

export const DEFAULT_ANNOTATION_PREFIX = 'weft.io/';
export const FLANNEL_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com/';

export interface KubeRegistryOptions {
  /** This node's name (the daemon maps --node-name / NODE_NAME here). */
  nodeName: string;
  network: RegistryNetwork;
  /** Path of a kubeconfig; without it (and without `kubeConfig`) in-cluster config is used. */
  kubeconfig?: string;
  /** A ready KubeConfig (tests, embedding); wins over `kubeconfig`. */
  kubeConfig?: KubeConfig;
  /** Annotation prefix, ending in "/" (default weft.io/). */
  annotationPrefix?: string;
  /** Restart the watch when nothing (not even a bookmark) arrived for this long. Default 5 min. */
  silentWatchTimeoutMs?: number;
  /** Ask the server to end each watch after this many seconds (re-watched at once). Default 300–600 s. */
  watchTimeoutSeconds?: number;
  /** Retry timing after failures (default 500 ms doubling up to 30 s, with jitter). */
  backoff?: BackoffOptions;
  /** How long register() waits for the controller-manager to assign a podCIDR. Default 60 s. */
  podCidrWaitMs?: number;
  /** Set the NetworkUnavailable condition False on register (default true). */
  setNetworkUnavailable?: boolean;
  /** Told about every newly skipped remote entry. */
  onSkip?: SkipListener;
  /** Where the skip counter lives (default prom-client's global register). */
  metrics?: Registry;
  logger?: Logger;
}

export type KubeRegistryErrorCode =
  | 'config' // no usable kubeconfig / in-cluster config
  | 'node-not-found' // our own Node does not exist
  | 'no-pod-cidr' // no (IPv4) podCIDR assigned in time
  | 'pod-cidr-outside-network' // the assigned podCIDR does not fit the configured Network
  | 'bad-public-ip' // neither the spec nor the Node gives a usable public IP
  | 'api' // the API server refused or failed a request
  | 'closed'; // used after close()

export class KubeRegistryError extends Error {
  constructor(
    readonly code: KubeRegistryErrorCode,
    readonly node: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeRegistryError';
  }

  /** HTTP status of the failed API call, when there was one. */
  get httpStatus(): number | undefined {
    return httpStatusOf(this.cause);
  }
}

/** The parts of a Node we read; both client-node's V1Node and raw watch JSON fit it. */
interface NodeLike {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> | null; creationTimestamp?: Date | string };
  spec?: { podCIDR?: string; podCIDRs?: string[] | null } | null;
  status?: {
    addresses?: { type?: string; address?: string }[] | null;
    conditions?: { type?: string; status?: string; reason?: string }[] | null;
  } | null;
}

interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** A watch open this long without failing shows the API is healthy again (the backoff restarts). */
const HEALTHY_WATCH_MS = 2000;

/** The names of our annotations under one prefix (flannel's names, so both can share them). */
export function annotationNames(prefix: string) {
  return {
    backendType: `${prefix}backend-type`,
    backendData: `${prefix}backend-data`,
    backendV6Data: `${prefix}backend-v6-data`,
    publicIP: `${prefix}public-ip`,
    publicIPv6: `${prefix}public-ipv6`,
    publicIPOverwrite: `${prefix}public-ip-overwrite`,
    publicIPv6Overwrite: `${prefix}public-ipv6-overwrite`,
    managed: `${prefix}kube-subnet-manager`,
    // Per-node BGP settings an operator sets (racks with their own ToR); weft only reads them.
    bgpAsn: `${prefix}bgp-asn`,
    bgpPeers: `${prefix}bgp-peers`,
    bgpRouteReflector: `${prefix}bgp-route-reflector`,
  };
}

/** The per-node BGP settings found on this node's annotations (raw text), with their names. */
export interface OwnBgpAnnotations {
  asn?: string;
  peers?: string;
  routeReflector?: string;
  names: { asn: string; peers: string; routeReflector: string };
}
type AnnotationNames = ReturnType<typeof annotationNames>;

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code; // ApiException
  if (typeof e.statusCode === 'number') return e.statusCode; // Watch's non-200 error
  return undefined;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

/** The podCIDRs of a Node split by family (first of each), as given (not yet validated). */
function podCidrsOf(node: NodeLike): { v4?: string; v6?: string } {
  // Shapes are checked, not trusted: one malformed Node must not make every relist throw.
  const spec = node.spec;
  const all: unknown[] = Array.isArray(spec?.podCIDRs) ? [...spec.podCIDRs] : [];
  if (typeof spec?.podCIDR === 'string' && spec.podCIDR !== '' && !all.includes(spec.podCIDR)) all.unshift(spec.podCIDR);
  const out: { v4?: string; v6?: string } = {};
  for (const cidr of all) {
    if (typeof cidr !== 'string') continue;
    if (cidr.includes(':')) out.v6 ??= cidr;
    else out.v4 ??= cidr;
  }
  return out;
}

function internalIpsOf(node: NodeLike): { v4?: string; v6?: string } {
  const out: { v4?: string; v6?: string } = {};
  const addresses: unknown = node.status?.addresses;
  for (const a of Array.isArray(addresses) ? (addresses as { type?: unknown; address?: unknown }[]) : []) {
    if (a === null || typeof a !== 'object' || a.type !== 'InternalIP' || typeof a.address !== 'string') continue;
    try {
      const ip = parseIp(a.address);
      if (ip.family === 4) out.v4 ??= ip.address;
      else out.v6 ??= ip.address;
    } catch {
      // A malformed address on a Node is not ours to fix; it is simply not used.
    }
  }
  return out;
}

/**
 * The network-relevant projection of a remote Node, or undefined when the node carries none of
 * our annotations (weft is not (yet) running there: not an error, just not a member).
 */
export function remoteEntryOf(node: NodeLike, names: AnnotationNames): RawNodeEntry | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const raw: unknown = node.metadata?.annotations;
  const annotations: Record<string, string> = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, string>) : {};
  const name = typeof node.metadata?.name === 'string' ? node.metadata.name : '';
  if (annotations[names.backendType] === undefined && annotations[names.backendData] === undefined && annotations[names.publicIP] === undefined) {
    return undefined;
  }
  const cidrs = podCidrsOf(node);
  const entry: RawNodeEntry = {
    name,
    subnet: cidrs.v4,
    publicIP: annotations[names.publicIP],
    backendType: annotations[names.backendType],
    backendData: annotations[names.backendData],
  };
  if (cidrs.v6 !== undefined) entry.ipv6Subnet = cidrs.v6;
  // The older Node keeps a disputed subnet (validate.ts); the client gives a Date, a raw object a string.
  const created = node.metadata?.creationTimestamp;
  const ms = created instanceof Date ? created.getTime() : typeof created === 'string' ? Date.parse(created) : NaN;
  if (Number.isFinite(ms)) entry.claimedAt = BigInt(ms);
  if (annotations[names.publicIPv6] !== undefined) entry.publicIPv6 = annotations[names.publicIPv6];
  if (annotations[names.backendV6Data] !== undefined) entry.backendV6Data = annotations[names.backendV6Data];
  return entry;
}

function entryKey(entry: RawNodeEntry | undefined): string {
  if (entry === undefined) return '';
  return JSON.stringify([entry.subnet, entry.ipv6Subnet, entry.publicIP, entry.publicIPv6, entry.backendType, entry.backendData, entry.backendV6Data]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Why one watch ended; decides what the supervisor does next. */
type WatchEnd =
  | { kind: 'closed' } // we are shutting down
  | { kind: 'expired'; message: string } // 410 Gone: relist
  | { kind: 'silent' } // nothing arrived for too long: re-watch
  | { kind: 'ended' } // the server ended the stream cleanly: re-watch
  | { kind: 'error'; error: unknown }; // anything else: back off, re-watch

export class KubeRegistry implements NodeRegistry {
  private readonly kc: KubeConfig;
  private readonly api: CoreV1Api;
  private readonly names: AnnotationNames;
  private readonly log: Logger;
  private readonly skips: SkipReporter;
  private readonly retry: Backoff;
  private readonly silentMs: number;
  private readonly stop = new AbortController();
  /** Resolves once close() was called. */
  private readonly stopped = new Promise<'stopped'>((resolve) => this.stop.signal.addEventListener('abort', () => resolve('stopped'), { once: true }));

  private lease?: Lease;
  private localBackendType?: BackendType;
  private readonly listeners: ((snapshot: Snapshot) => void)[] = [];
  /** Network-relevant projection of every remote Node we know of, by name. */
  private readonly entries = new Map<string, RawNodeEntry>();
  private resourceVersion = '';
  private last?: Snapshot;
  private synced = false;
  private recomputeQueued = false;
  private loop?: Promise<void>;
  private currentWatch?: AbortController;

  constructor(private readonly options: KubeRegistryOptions) {
    if (options.nodeName.trim() === '') {
      throw new KubeRegistryError('config', options.nodeName, 'no node name (set --node-name or NODE_NAME)');
    }
    this.log = (options.logger ?? rootLogger()).child({ component: 'registry-kube', node: options.nodeName });
    this.names = annotationNames(options.annotationPrefix ?? DEFAULT_ANNOTATION_PREFIX);
    this.retry = new Backoff({ initialMs: 500, maxMs: 30_000, ...options.backoff });
    this.silentMs = options.silentWatchTimeoutMs ?? 5 * 60_000;
    this.skips = new SkipReporter({ logger: this.log, metrics: options.metrics, onSkip: options.onSkip });
    this.kc = options.kubeConfig ?? KubeRegistry.loadConfig(options);
    this.api = this.kc.makeApiClient(CoreV1Api);
  }

  private static loadConfig(options: KubeRegistryOptions): KubeConfig {
    const kc = new KubeConfig();
    try {
      if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
      else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) kc.loadFromCluster();
      else throw new Error('no --kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST unset)');
    } catch (error) {
      throw new KubeRegistryError('config', options.nodeName, `cannot load Kubernetes config: ${errorMessage(error)}`, { cause: error });
    }
    if (kc.getCurrentCluster() === null) {
      throw new KubeRegistryError('config', options.nodeName, 'Kubernetes config has no current cluster');
    }
    return kc;
  }

  // ------------------------------------------------------------------------------------------
  // register: claim (read) our podCIDR and publish ourselves

  async register(self: LocalNodeSpec): Promise<Lease> {
    this.assertOpen();
    const name = this.options.nodeName;
    if (self.name !== name) this.log.warn({ specName: self.name }, 'spec name differs from --node-name; using --node-name');
    const node = await this.waitForPodCidr(name);
    const cidrs = podCidrsOf(node);
    const subnet = this.checkLocalCidr(cidrs.v4, this.options.network.network, 'podCIDR');
    let ipv6Subnet: string | undefined;
    if (this.options.network.ipv6Network !== undefined) {
      if (cidrs.v6 === undefined) this.log.warn({ network: this.options.network.ipv6Network }, 'dual-stack network configured but the node has no IPv6 podCIDR');
      else ipv6Subnet = this.checkLocalCidr(cidrs.v6, this.options.network.ipv6Network, 'IPv6 podCIDR');
    }

    const annotations = node.metadata?.annotations ?? {};
    const internal = internalIpsOf(node);
    const publicIP = this.chooseIp(annotations[this.names.publicIPOverwrite], self.publicIP, internal.v4, 4);
    const publicIPv6 = ipv6Subnet !== undefined ? this.chooseIp(annotations[this.names.publicIPv6Overwrite], self.publicIPv6, internal.v6, 6) : undefined;

    const wanted: Record<string, string> = {
      [this.names.backendType]: self.backendType,
      [this.names.backendData]: JSON.stringify(self.backendData),
      [this.names.publicIP]: publicIP,
      [this.names.managed]: 'true',
    };
    if (publicIPv6 !== undefined) wanted[this.names.publicIPv6] = publicIPv6;
    if (ipv6Subnet !== undefined && self.backendV6Data !== undefined) wanted[this.names.backendV6Data] = JSON.stringify(self.backendV6Data);
    const changed = Object.entries(wanted).filter(([k, v]) => annotations[k] !== v);
    if (changed.length > 0) {
      // A merge patch of just our annotations: never clobbers what others wrote on the Node.
      await this.call('publish annotations', () =>
        this.api.patchNode({ name, body: { metadata: { annotations: Object.fromEntries(changed) } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      );
    }
    if (this.options.setNetworkUnavailable ?? true) await this.markNetworkAvailable(node);

    this.lease = ipv6Subnet !== undefined ? { subnet, ipv6Subnet, publicIP } : { subnet, publicIP };
    this.localBackendType = self.backendType;
    this.log.info({ subnet, ipv6Subnet, publicIP, published: changed.length }, 'registered');
    // The local lease takes part in validation (overlaps-local): re-evaluate what we have.
    if (this.synced) this.queueRecompute();
    return this.lease;
  }

  /**
   * This node's per-node BGP annotations, read once at start (a change needs a restart, as for
   * net-conf.json). Unreachable API: retried with backoff up to `attempts` times.
   */
  async ownBgpAnnotations(attempts = 10): Promise<OwnBgpAnnotations> {
    const name = this.options.nodeName;
    const names = { asn: this.names.bgpAsn, peers: this.names.bgpPeers, routeReflector: this.names.bgpRouteReflector };
    for (let attempt = 1; ; attempt++) {
      this.assertOpen();
      try {
        const node: NodeLike = await this.api.readNode({ name });
        const a = node.metadata?.annotations ?? {};
        const found: OwnBgpAnnotations = { names };
        if (a[names.asn] !== undefined) found.asn = a[names.asn];
        if (a[names.peers] !== undefined) found.peers = a[names.peers];
        if (a[names.routeReflector] !== undefined) found.routeReflector = a[names.routeReflector];
        return found;
      } catch (error) {
        if (httpStatusOf(error) === 404) throw new KubeRegistryError('node-not-found', name, `Node "${name}" does not exist`, { cause: error });
        if (attempt >= attempts) throw new KubeRegistryError('api', name, `reading Node "${name}" for its BGP annotations: ${errorMessage(error)}`, { cause: error });
        await sleep(this.retry.next(), this.stop.signal);
      }
    }
  }

  private async waitForPodCidr(name: string): Promise<NodeLike> {
    const deadline = Date.now() + (this.options.podCidrWaitMs ?? 60_000);
    let logged = false;
    for (;;) {
      let node: NodeLike;
      try {
        node = await this.api.readNode({ name });
      } catch (error) {
        if (httpStatusOf(error) === 404) throw new KubeRegistryError('node-not-found', name, `Node "${name}" does not exist`, { cause: error });
        throw new KubeRegistryError('api', name, `reading Node "${name}": ${errorMessage(error)}`, { cause: error });
      }
      if (podCidrsOf(node).v4 !== undefined) return node;
      if (Date.now() >= deadline) throw new KubeRegistryError('no-pod-cidr', name, `Node "${name}" has no IPv4 podCIDR (is the controller-manager allocating node CIDRs?)`);
      if (!logged) this.log.info('waiting for the node podCIDR to be assigned');
      logged = true;
      await sleep(1000, this.stop.signal);
      this.assertOpen();
    }
  }

  private checkLocalCidr(cidr: string | undefined, network: string, what: string): string {
    const name = this.options.nodeName;
    if (cidr === undefined) throw new KubeRegistryError('no-pod-cidr', name, `Node "${name}" has no ${what}`);
    let canonical: string;
    try {
      canonical = canonicalPrefix(cidr);
    } catch (error) {
      throw new KubeRegistryError('pod-cidr-outside-network', name, `${what} "${cidr}" of Node "${name}" is not a prefix`, { cause: error });
    }
    const inner = parseCidr(canonical);
    const outer = parseCidr(canonicalPrefix(network));
    const fits = inner.family === outer.family && inner.prefixLen >= outer.prefixLen && canonicalPrefix(`${inner.address}/${outer.prefixLen}`) === `${outer.address}/${outer.prefixLen}`;
    if (!fits) throw new KubeRegistryError('pod-cidr-outside-network', name, `${what} ${canonical} of Node "${name}" is outside the configured network ${network}`);
    return canonical;
  }

  /** The public IP to publish: the overwrite annotation, else the daemon's choice, else InternalIP. */
  private chooseIp(overwrite: string | undefined, fromSpec: string | undefined, internal: string | undefined, family: 4 | 6): string {
    const name = this.options.nodeName;
    if (overwrite !== undefined) {
      try {
        const ip = parseIp(overwrite);
        if (ip.family === family) {
          this.log.info({ publicIP: ip.address }, 'public IP taken from the overwrite annotation');
          return ip.address;
        }
      } catch {
        // Fall through to the other sources; a broken annotation must not stop the node.
      }
      this.log.warn({ annotation: overwrite, reason: 'bad-ip' }, 'ignoring unusable public-ip-overwrite annotation');
    }
    for (const candidate of [fromSpec, internal]) {
      if (candidate === undefined || candidate === '') continue;
      try {
        const ip = parseIp(candidate);
        if (ip.family === family) return ip.address;
      } catch {
        // Try the next source.
      }
    }
    throw new KubeRegistryError('bad-public-ip', name, `no usable IPv${family} public IP for Node "${name}" (spec: ${fromSpec ?? 'none'}, InternalIP: ${internal ?? 'none'})`);
  }

  private async markNetworkAvailable(node: NodeLike): Promise<void> {
    const current = (node.status?.conditions ?? []).find((c) => c.type === 'NetworkUnavailable');
    if (current?.status === 'False' && current.reason === 'WeftIsUp') return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const body = {
      status: {
        conditions: [
          { type: 'NetworkUnavailable', status: 'False', reason: 'WeftIsUp', message: 'weft is running on this node', lastTransitionTime: now, lastHeartbeatTime: now },
        ],
      },
    };
    try {
      // Strategic merge: conditions merge by type, so the kubelet's conditions are untouched.
      await this.api.patchNodeStatus({ name: this.options.nodeName, body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      this.log.info('NetworkUnavailable condition set False');
    } catch (error) {
      // Not fatal: the datapath works without it; the scheduler just keeps its taint.
      this.log.warn({ err: errorMessage(error), status: httpStatusOf(error) }, 'cannot set the NetworkUnavailable condition');
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new KubeRegistryError('api', this.options.nodeName, `${what}: ${errorMessage(error)}`, { cause: error });
    }
  }

  private assertOpen(): void {
    if (this.stop.signal.aborted) throw new KubeRegistryError('closed', this.options.nodeName, 'registry is closed');
  }

  // ------------------------------------------------------------------------------------------
  // watch: supervised list + watch, level-triggered snapshots

  watch(onSnapshot: (snapshot: Snapshot) => void): void {
    if (this.stop.signal.aborted) return;
    this.listeners.push(onSnapshot);
    if (this.last !== undefined) {
      const snapshot = this.last;
      queueMicrotask(() => this.deliver(onSnapshot, snapshot));
    }
    this.loop ??= this.supervise().catch((error: unknown) => {
      // supervise() catches everything itself; this is the last line of defence.
      this.log.error({ err: errorMessage(error) }, 'node watch supervisor failed');
    });
  }

  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.currentWatch?.abort();
    await this.loop;
    this.log.info('closed');
  }

  private async supervise(): Promise<void> {
    // The backoff counts consecutive attempts without progress (a watch that delivered at least
    // one event is progress), so no failure mode can spin us: not even a 410 on every watch.
    let relist = true;
    /** The coming watch starts from a list just made (a 410 then means the server is unwell). */
    let fromFreshList = false;
    const signal = this.stop.signal;
    const backOff = (): Promise<void> => sleep(this.retry.next(), signal);
    while (!signal.aborted) {
      if (relist) {
        try {
          // A hung list must not hold close() hostage: stop waiting for it once closed.
          if ((await Promise.race([this.relist().then(() => 'listed' as const), this.stopped])) === 'stopped') return;
          relist = false;
          fromFreshList = true;
        } catch (error) {
          this.log.warn({ err: errorMessage(error), status: httpStatusOf(error), failures: this.retry.attempts + 1 }, 'listing nodes failed');
          await backOff();
          continue;
        }
      }
      const { end, events } = await this.watchOnce();
      const afterList = fromFreshList;
      fromFreshList = false;
      if (events > 0) this.retry.reset();
      switch (end.kind) {
        case 'closed':
          return;
        case 'expired':
          this.log.info({ resourceVersion: this.resourceVersion, reason: end.message }, 'watch expired (410 Gone), relisting');
          relist = true;
          // A 410 right after a list means the server is unwell: do not hammer it with lists.
          // Otherwise (history compacted while we were away) relist at once.
          if (afterList && events === 0) await backOff();
          break;
        case 'silent':
          this.log.warn({ resourceVersion: this.resourceVersion, silentMs: this.silentMs }, 'watch silent too long, restarting it');
          await backOff();
          break;
        case 'ended':
          // A clean end (timeoutSeconds, apiserver restart) is routine: re-watch at once, unless
          // the stream delivered nothing, so a server ending every watch at once cannot spin us.
          this.log.debug({ resourceVersion: this.resourceVersion, events }, 'watch ended, re-watching');
          if (events === 0) await backOff();
          break;
        case 'error': {
          const status = httpStatusOf(end.error);
          this.log.warn({ err: errorMessage(end.error), status, failures: this.retry.attempts + 1 }, 'watch failed');
          if (status === 410) relist = true;
          await backOff();
          break;
        }
      }
    }
  }

  /** A full read: replaces everything we knew, so nodes deleted meanwhile disappear. */
  private async relist(): Promise<void> {
    const list = await this.api.listNode();
    if (this.stop.signal.aborted) return;
    this.entries.clear();
    for (const node of list.items as NodeLike[]) this.apply(node);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.log.info({ nodes: list.items.length, resourceVersion: this.resourceVersion }, 'listed nodes');
    this.synced = true;
    this.recompute();
  }

  /** Stores a node's projection; true if it changed anything network-relevant. */
  private apply(node: NodeLike): boolean {
    const name: unknown = node?.metadata?.name;
    if (typeof name !== 'string' || name === this.options.nodeName) return false;
    const entry = remoteEntryOf(node, this.names);
    const before = this.entries.get(name);
    if (entryKey(before) === entryKey(entry)) return false;
    if (entry === undefined) this.entries.delete(name);
    else this.entries.set(name, entry);
    return true;
  }

  /** One watch from the current resourceVersion: how it ended, and how many events it delivered. */
  private watchOnce(): Promise<{ end: WatchEnd; events: number }> {
    return new Promise((resolve) => {
      const signal = this.stop.signal;
      let events = 0;
      let settled = false;
      let silenceTimer: NodeJS.Timeout | undefined;
      let healthyTimer: NodeJS.Timeout | undefined;
      let controller: AbortController | undefined;
      const finish = (end: WatchEnd): void => {
        if (settled) return;
        settled = true;
        clearTimeout(silenceTimer);
        clearTimeout(healthyTimer);
        signal.removeEventListener('abort', onClose);
        controller?.abort();
        this.currentWatch = undefined;
        resolve({ end: signal.aborted ? { kind: 'closed' } : end, events });
      };
      const onClose = (): void => finish({ kind: 'closed' });
      const armSilence = (): void => {
        clearTimeout(silenceTimer);
        silenceTimer = setTimeout(() => finish({ kind: 'silent' }), this.silentMs);
      };
      if (signal.aborted) return finish({ kind: 'closed' });
      signal.addEventListener('abort', onClose, { once: true });
      armSilence();

      const timeoutSeconds = this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
      const onEvent = (type: string, object: unknown): void => {
        // Watch swallows exceptions from this callback; catch here so none is lost unlogged.
        try {
          if (settled) return;
          // An ERROR event is not progress: counting it would let a 410 loop skip the backoff.
          if (type !== 'ERROR') events++;
          armSilence();
          this.onWatchEvent(type, object, finish);
        } catch (error) {
          this.log.error({ err: errorMessage(error), type }, 'handling a watch event failed');
        }
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish({ kind: 'ended' });
        else finish({ kind: 'error', error });
      };
      new Watch(this.kc)
        .watch('/api/v1/nodes', { allowWatchBookmarks: true, resourceVersion: this.resourceVersion, timeoutSeconds }, onEvent, onDone)
        .then((c) => {
          controller = c;
          if (settled) {
            c.abort();
            return;
          }
          this.currentWatch = c;
          // A watch the server kept open for a while is progress too, events or not: after an
          // outage the next failure must not start from the outage's long backoff. A server
          // that ends or 410s every watch at once never gets here, so it cannot make us spin.
          healthyTimer = setTimeout(() => {
            if (!settled) this.retry.reset();
          }, HEALTHY_WATCH_MS);
        })
        .catch((error: unknown) => finish({ kind: 'error', error }));
    });
  }

  private onWatchEvent(type: string, object: unknown, finish: (end: WatchEnd) => void): void {
    if (type === 'ERROR') {
      const status = (object ?? {}) as WatchStatus;
      if (status.code === 410) finish({ kind: 'expired', message: status.message ?? 'Gone' });
      else finish({ kind: 'error', error: Object.assign(new Error(status.message ?? 'watch error'), { code: status.code }) });
      return;
    }
    const node = (object ?? {}) as NodeLike;
    const rv = node.metadata?.resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
    let changed = false;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
        changed = this.apply(node);
        break;
      case 'DELETED': {
        const name = node.metadata?.name;
        changed = name !== undefined && this.entries.delete(name);
        break;
      }
      case 'BOOKMARK':
        break;
      default:
        this.log.debug({ type }, 'unknown watch event type ignored');
    }
    if (changed) this.queueRecompute();
  }

  /** Coalesces a burst of events (one read of the stream) into one validation pass. */
  private queueRecompute(): void {
    if (this.recomputeQueued) return;
    this.recomputeQueued = true;
    setImmediate(() => {
      this.recomputeQueued = false;
      if (!this.stop.signal.aborted) this.recompute();
    });
  }

  private recompute(): void {
    const { nodes, skipped } = validateRemoteEntries([...this.entries.values()], {
      network: this.options.network,
      ...(this.lease !== undefined ? { local: this.lease } : {}),
      ...(this.localBackendType !== undefined ? { localBackendType: this.localBackendType } : {}),
    });
    this.skips.update(skipped);
    if (this.last !== undefined && sameNodes(this.last.nodes, nodes)) return;
    const snapshot: Snapshot = { nodes, revision: this.resourceVersion };
    this.last = snapshot;
    this.log.debug({ nodes: nodes.length, skipped: skipped.length, revision: snapshot.revision }, 'snapshot');
    for (const listener of this.listeners) this.deliver(listener, snapshot);
  }

  private deliver(listener: (snapshot: Snapshot) => void, snapshot: Snapshot): void {
    if (this.stop.signal.aborted) return;
    try {
      listener(snapshot);
    } catch (error) {
      this.log.error({ err: errorMessage(error) }, 'snapshot listener threw');
    }
  }
}
