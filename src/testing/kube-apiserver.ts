// An in-repo Kubernetes API server for tests, the lab and the registry bench: Nodes only, plain
// HTTP on 127.0.0.1, a random port, and a kubeconfig written for it. No real API server can run on
// this machine, so this one reproduces the parts of the API weft and kubectl use, the way the real
// one behaves: list (labelSelector, fieldSelector metadata.name, limit/continue) carrying a
// resourceVersion; watch from a resourceVersion with ADDED/MODIFIED/DELETED/BOOKMARK events and an
// ERROR 410 "Expired" event for versions older than the retained window; create, update, delete;
// merge, strategic-merge and JSON PATCH on the node and on its /status subresource (each ignores
// the other half, as the real server does); Table output for `kubectl get`; legacy discovery.
//
// Test controls reach what a real cluster does only by accident: add/modify/delete nodes directly,
// heartbeats, bump the resourceVersion, compact the history so a watch gets 410, drop every open
// watch, go silent (watches stay open and receive nothing), or fail the next requests.
//
// Deliberately not: authorization, admission, other kinds, protobuf, server-side apply, a
// consistent snapshot for continued lists (a continue token is served from current state).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  clone,
  deepEqual,
  isObject,
  PatchError,
  type Json,
  type JsonObject,
} from './kube-patch.js';

export type { Json, JsonObject };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface KubeApiServerOptions {
  /** How many change events are retained for watches; older resourceVersions get 410 Gone. */
  retainedEvents?: number;
  /** Send a BOOKMARK to bookmark-enabled watches this often (0: only on sendBookmark()). */
  bookmarkIntervalMs?: number;
  /**
   * Bearer token required on every request (also written to the kubeconfig). Off by default:
   * kubectl does not send a token over plain HTTP, so setting one shuts kubectl out.
   */
  token?: string;
  /** Port (default 0: a random free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1; the lab's standalone server uses its underlay address). */
  host?: string;
  /** Directory for the kubeconfig (default: a fresh temporary directory, removed on close). */
  dir?: string;
  /** The resourceVersion the server starts at (real clusters are never at 0). */
  initialResourceVersion?: number;
}

/** A convenient description of a node for tests; the server fills in the rest like a kubelet. */
export interface TestNodeSpec {
  name: string;
  podCIDR?: string;
  podCIDRs?: string[];
  internalIP?: string;
  internalIPv6?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface RecordedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  accept?: string;
}

interface StoredEvent {
  rv: number;
  type: WatchEventType;
  object: JsonObject;
  /** The object before the change (for selector transitions). */
  previous?: JsonObject;
}

interface OpenWatch {
  res: ServerResponse;
  selector: LabelSelector;
  fieldName?: string;
  bookmarks: boolean;
  table: boolean;
  /** Last resourceVersion sent; events after it are due. */
  cursor: number;
  /** Stalled watches never receive anything again (the server went silent while they were open). */
  stalled: boolean;
  timer?: NodeJS.Timeout;
}

/** One requirement of a label selector (k8s.io/apimachinery/pkg/labels). */
interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists';
  values: string[];
}
type LabelSelector = Requirement[];

class SelectorError extends Error {
  override name = 'SelectorError';
}

function parseLabelSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') return [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((raw): Requirement => {
    const part = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      return { key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) };
    }
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part))) {
      return { key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
    }
    if ((m = /^!([\w./-]+)$/.exec(part))) return { key: m[1]!, op: '!exists', values: [] };
    if ((m = /^([\w./-]+)$/.exec(part))) return { key: m[1]!, op: 'exists', values: [] };
    throw new SelectorError(`unable to parse requirement: "${part}"`);
  });
}

function labelsOf(node: JsonObject): Record<string, string> {
  const metadata = node.metadata;
  const labels = isObject(metadata) ? metadata.labels : undefined;
  const out: Record<string, string> = {};
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

function nameOf(node: JsonObject): string {
  const metadata = node.metadata;
  return isObject(metadata) && typeof metadata.name === 'string' ? metadata.name : '';
}

function metaString(node: JsonObject, key: string): string {
  const metadata = node.metadata;
  const value = isObject(metadata) ? metadata[key] : undefined;
  return typeof value === 'string' ? value : '';
}

function matches(node: JsonObject, selector: LabelSelector, fieldName: string | undefined): boolean {
  if (fieldName !== undefined && nameOf(node) !== fieldName) return false;
  const labels = labelsOf(node);
  return selector.every((req) => {
    const value = labels[req.key];
    switch (req.op) {
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
      case 'in':
        return value !== undefined && req.values.includes(value);
      case 'notin':
        return value === undefined || !req.values.includes(value);
    }
  });
}

function parseFieldSelector(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^metadata\.name==?(.+)$/.exec(text);
  if (!m) throw new SelectorError(`field label not supported: ${text}`);
  return m[1];
}

/** A Status object, as every error (and a successful delete) is reported by the API. */
function status(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 300 ? 'Success' : 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

class HttpError extends Error {
  constructor(readonly body: JsonObject) {
    super(typeof body.message === 'string' ? body.message : 'API error');
    this.name = 'HttpError';
  }
  get code(): number {
    return Number(this.body.code);
  }
}

function notFound(name: string): HttpError {
  return new HttpError(status(404, 'NotFound', `nodes "${name}" not found`, { name, kind: 'nodes' }));
}

function ageOf(node: JsonObject, now: number): string {
  const metadata = node.metadata;
  const created = isObject(metadata) && typeof metadata.creationTimestamp === 'string' ? Date.parse(metadata.creationTimestamp) : now;
  const seconds = Math.max(0, Math.floor((now - created) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

function nodeReadyStatus(node: JsonObject): string {
  const nodeStatus = node.status;
  const conditions = isObject(nodeStatus) && Array.isArray(nodeStatus.conditions) ? nodeStatus.conditions : [];
  const ready = conditions.find((c) => isObject(c) && c.type === 'Ready');
  const text = isObject(ready) && ready.status === 'True' ? 'Ready' : 'NotReady';
  const spec = node.spec;
  return isObject(spec) && spec.unschedulable === true ? `${text},SchedulingDisabled` : text;
}

function nodeRoles(node: JsonObject): string {
  const roles = Object.keys(labelsOf(node))
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function kubeletVersion(node: JsonObject): string {
  const nodeStatus = node.status;
  const info = isObject(nodeStatus) ? nodeStatus.nodeInfo : undefined;
  return isObject(info) && typeof info.kubeletVersion === 'string' ? info.kubeletVersion : '';
}

const TABLE_COLUMNS: Json = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  { name: 'Status', type: 'string', format: '', description: 'The status of the node', priority: 0 },
  { name: 'Roles', type: 'string', format: '', description: 'The roles of the node', priority: 0 },
  { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp.', priority: 0 },
  { name: 'Version', type: 'string', format: '', description: 'Kubelet Version reported by the node.', priority: 0 },
];

/** The resources under /api/v1 (Nodes only), for legacy discovery. */
const API_RESOURCES: JsonObject = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    {
      name: 'nodes',
      singularName: 'node',
      namespaced: false,
      kind: 'Node',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['no'],
      storageVersionHash: 'XwShjMxG9Fs=',
    },
    { name: 'nodes/status', singularName: '', namespaced: false, kind: 'Node', verbs: ['get', 'patch', 'update'] },
  ],
};

const MAX_BODY_BYTES = 3 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(status(413, 'RequestEntityTooLarge', 'request body too large'));
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new HttpError(status(400, 'BadRequest', `error decoding request body: ${(error as Error).message}`));
  }
}

export class KubeApiServer {
  readonly nodes = new Map<string, JsonObject>();
  /** Every request served, in order (tests count watch restarts with it). */
  readonly requests: RecordedRequest[] = [];
  private resourceVersion: number;
  private events: StoredEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  private oldestWatchable: number;
  private readonly watches = new Set<OpenWatch>();
  private silent = false;
  private expireWatches = 0;
  private injected: { count: number; code: number; watchOnly: boolean } = { count: 0, code: 500, watchOnly: false };
  private bookmarkTimer?: NodeJS.Timeout;
  private server?: Server;
  private ownedDir?: string;
  private startedAt = Date.now();
  url = '';
  kubeconfigPath = '';

  constructor(private readonly options: KubeApiServerOptions = {}) {
    this.resourceVersion = options.initialResourceVersion ?? 1000;
    this.oldestWatchable = this.resourceVersion;
  }

  /** Starts listening (127.0.0.1 and a random port unless told) and writes the kubeconfig. */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error));
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const host = this.options.host ?? '127.0.0.1';
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    let dir = this.options.dir;
    if (dir === undefined) {
      dir = await mkdtemp(join(tmpdir(), 'weft-kube-'));
      this.ownedDir = dir;
    }
    this.kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(this.kubeconfigPath, this.kubeconfig(), { mode: 0o600 });
    this.startedAt = Date.now();
    if (this.options.bookmarkIntervalMs) {
      this.bookmarkTimer = setInterval(() => this.sendBookmark(), this.options.bookmarkIntervalMs);
      this.bookmarkTimer.unref();
    }
    return this;
  }

  /** A kubeconfig for this server (plain HTTP, hence insecure-skip-tls-verify). */
  kubeconfig(): string {
    const token = this.options.token;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: weft-test',
      '  cluster:',
      `    server: ${this.url}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: weft-test',
      token === undefined ? '  user: {}' : `  user:\n    token: ${token}`,
      'contexts:',
      '- name: weft-test',
      '  context:',
      '    cluster: weft-test',
      '    user: weft-test',
      'current-context: weft-test',
      '',
    ].join('\n');
  }

  async close(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.dropWatches();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.ownedDir) await rm(this.ownedDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------------
  // Test controls

  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  get openWatchCount(): number {
    return this.watches.size;
  }

  /** Requests of the given kind (e.g. watches) served so far. */
  countRequests(predicate: (r: RecordedRequest) => boolean): number {
    return this.requests.filter(predicate).length;
  }

  /** A Node object as a kubelet registering itself would create it. */
  static nodeObject(spec: TestNodeSpec): JsonObject {
    const podCIDRs = spec.podCIDRs ?? (spec.podCIDR ? [spec.podCIDR] : []);
    const addresses: Json[] = [];
    if (spec.internalIP) addresses.push({ type: 'InternalIP', address: spec.internalIP });
    if (spec.internalIPv6) addresses.push({ type: 'InternalIP', address: spec.internalIPv6 });
    addresses.push({ type: 'Hostname', address: spec.name });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      kind: 'Node',
      apiVersion: 'v1',
      metadata: {
        name: spec.name,
        labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', ...(spec.labels ?? {}) },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...(spec.annotations ?? {}) },
      },
      spec: podCIDRs.length > 0 ? { podCIDR: podCIDRs[0]!, podCIDRs } : {},
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        addresses,
        nodeInfo: { kubeletVersion: 'v1.32.0', architecture: 'amd64', operatingSystem: 'linux' },
      },
    };
  }

  /** Adds a node (from a spec, or a full object) as if created through the API. */
  addNode(node: TestNodeSpec | JsonObject): JsonObject {
    const object = 'kind' in node ? clone(node) : KubeApiServer.nodeObject(node as TestNodeSpec);
    return this.create(object);
  }

  /** Changes a node in place (any field, status included) and emits MODIFIED if anything changed. */
  modifyNode(name: string, mutate: (node: JsonObject) => void): JsonObject {
    const current = this.nodes.get(name);
    if (!current) throw notFound(name);
    const next = clone(current);
    mutate(next);
    return this.store(next, current);
  }

  deleteNode(name: string): void {
    const current = this.nodes.get(name);
    if (!current) throw notFound(name);
    this.remove(name, current);
  }

  /** What a kubelet's status heartbeat does: new lastHeartbeatTime on every condition. */
  heartbeat(name: string): JsonObject {
    return this.modifyNode(name, (node) => {
      const nodeStatus = node.status;
      if (!isObject(nodeStatus) || !Array.isArray(nodeStatus.conditions)) return;
      const now = new Date(Date.now() + 1000).toISOString(); // strictly newer than the last one
      for (const condition of nodeStatus.conditions) if (isObject(condition)) condition.lastHeartbeatTime = now;
    });
  }

  /** Advances the resourceVersion without a Node event (other kinds changed meanwhile). */
  bumpResourceVersion(by = 1): string {
    this.resourceVersion += by;
    return this.currentResourceVersion;
  }

  /** Forgets all history: a watch from any resourceVersion but the current one gets 410 Gone. */
  compact(): void {
    this.events = [];
    this.oldestWatchable = this.resourceVersion;
  }

  /** Ends every open watch (cleanly by default; abrupt destroys the sockets). */
  dropWatches(options: { abrupt?: boolean } = {}): number {
    const count = this.watches.size;
    for (const watch of [...this.watches]) this.endWatch(watch, options.abrupt ?? false);
    return count;
  }

  /**
   * Silent: watches open now stall for good (a half-dead connection); new watches are accepted
   * but get nothing until silence ends. Lists and patches still work.
   */
  setSilent(silent: boolean): void {
    this.silent = silent;
    if (silent) for (const watch of this.watches) watch.stalled = true;
    else this.flushWatches();
  }

  /** The next `count` requests for nodes (only watches, if `watchOnly`) fail with HTTP `code`. */
  failNext(count: number, options: { code?: number; watchOnly?: boolean } = {}): void {
    this.injected = { count, code: options.code ?? 500, watchOnly: options.watchOnly ?? false };
  }

  /** The next `count` watches get the real server's 410 answer (an ERROR event) whatever their resourceVersion. */
  expireNextWatches(count: number): void {
    this.expireWatches = count;
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that allows bookmarks. */
  sendBookmark(): void {
    if (this.silent) return;
    for (const watch of this.watches) {
      if (!watch.bookmarks || watch.stalled || watch.table) continue;
      this.flushWatch(watch);
      watch.cursor = this.resourceVersion;
      this.writeEvent(watch, 'BOOKMARK', { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: this.currentResourceVersion } });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Storage

  private nextVersion(): number {
    this.resourceVersion += 1;
    return this.resourceVersion;
  }

  private record(event: StoredEvent): void {
    this.events.push(event);
    const max = this.options.retainedEvents ?? 1000;
    if (this.events.length > max) {
      const dropped = this.events.splice(0, this.events.length - max);
      this.oldestWatchable = Math.max(this.oldestWatchable, dropped[dropped.length - 1]!.rv);
    }
    this.flushWatches();
  }

  private create(object: JsonObject): JsonObject {
    const name = nameOf(object);
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
      throw new HttpError(status(422, 'Invalid', `Node "${name}" is invalid: metadata.name: Invalid value`, { name, kind: 'Node' }));
    }
    if (this.nodes.has(name)) {
      throw new HttpError(status(409, 'AlreadyExists', `nodes "${name}" already exists`, { name, kind: 'nodes' }));
    }
    const rv = this.nextVersion();
    const metadata = isObject(object.metadata) ? object.metadata : {};
    const stored: JsonObject = {
      ...object,
      kind: 'Node',
      apiVersion: 'v1',
      metadata: {
        ...metadata,
        uid: randomUUID(),
        resourceVersion: String(rv),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    delete (stored.metadata as JsonObject).generateName;
    this.nodes.set(name, stored);
    this.record({ rv, type: 'ADDED', object: stored });
    return stored;
  }

  /** Stores a changed node; a change that changes nothing keeps the resourceVersion (as the API does). */
  private store(next: JsonObject, current: JsonObject): JsonObject {
    const name = nameOf(current);
    const currentMeta = current.metadata as JsonObject;
    const nextMeta: JsonObject = isObject(next.metadata) ? next.metadata : {};
    if (nameOf(next) !== name) {
      throw new HttpError(status(422, 'Invalid', `Node "${name}" is invalid: metadata.name: field is immutable`, { name, kind: 'Node' }));
    }
    // Fields the server owns cannot be changed by clients.
    next.kind = 'Node';
    next.apiVersion = 'v1';
    nextMeta.uid = currentMeta.uid!;
    nextMeta.creationTimestamp = currentMeta.creationTimestamp!;
    nextMeta.resourceVersion = currentMeta.resourceVersion!;
    next.metadata = nextMeta;
    if (deepEqual(next, current)) return current;
    const rv = this.nextVersion();
    nextMeta.resourceVersion = String(rv);
    this.nodes.set(name, next);
    this.record({ rv, type: 'MODIFIED', object: next, previous: current });
    return next;
  }

  private remove(name: string, current: JsonObject): void {
    const rv = this.nextVersion();
    this.nodes.delete(name);
    const object = clone(current);
    (object.metadata as JsonObject).resourceVersion = String(rv);
    this.record({ rv, type: 'DELETED', object });
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  private send(res: ServerResponse, code: number, body: Json): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, error: unknown): void {
    if (error instanceof HttpError) this.send(res, error.code, error.body);
    else if (error instanceof PatchError) this.send(res, error.code, status(error.code, error.reason, error.message));
    else if (error instanceof SelectorError) this.send(res, 400, status(400, 'BadRequest', error.message));
    else this.send(res, 500, status(500, 'InternalError', `Internal error occurred: ${String(error)}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams.entries());
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    this.requests.push({ at: Date.now(), method, path: url.pathname, query, contentType: req.headers['content-type'], accept: req.headers.accept });
    if (this.injected.count > 0 && path.startsWith('/api/v1/nodes') && (!this.injected.watchOnly || query.watch !== undefined)) {
      this.injected.count--;
      const code = this.injected.code;
      throw new HttpError(status(code, code === 410 ? 'Expired' : 'InternalError', `injected failure (HTTP ${code})`));
    }
    const token = this.options.token;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
    }
    const table = (req.headers.accept ?? '').includes('as=Table');

    if (method === 'GET') {
      switch (path) {
        case '/version':
          return this.send(res, 200, {
            major: '1',
            minor: '32',
            gitVersion: 'v1.32.0-weft-test',
            gitCommit: '0000000000000000000000000000000000000000',
            gitTreeState: 'clean',
            buildDate: '2026-01-01T00:00:00Z',
            goVersion: 'go1.23.0',
            compiler: 'gc',
            platform: 'linux/amd64',
          });
        case '/api':
          return this.send(res, 200, {
            kind: 'APIVersions',
            versions: ['v1'],
            serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: url.host }],
          });
        case '/apis':
          return this.send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
        case '/api/v1':
          return this.send(res, 200, API_RESOURCES);
        case '/healthz':
        case '/readyz':
        case '/livez':
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('ok');
          return;
      }
    }

    const nodePath = /^\/api\/v1\/nodes(?:\/([^/]+))?(?:\/(status))?$/.exec(path);
    if (!nodePath) {
      throw new HttpError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
    }
    const name = nodePath[1] === undefined ? undefined : decodeURIComponent(nodePath[1]);
    const subresource = nodePath[2];

    if (name === undefined) {
      if (method === 'GET') {
        if (query.watch === 'true' || query.watch === '1') return this.watch(res, query, table);
        return this.send(res, 200, this.list(query, table));
      }
      if (method === 'POST') {
        const body = parseJson(await readBody(req));
        if (!isObject(body)) throw new HttpError(status(400, 'BadRequest', 'request body must be a Node object'));
        return this.send(res, 201, this.create(body));
      }
      throw new HttpError(status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    }

    const current = this.nodes.get(name);
    switch (method) {
      case 'GET':
        if (!current) throw notFound(name);
        return this.send(res, 200, table ? this.table([current], this.currentResourceVersion) : current);
      case 'DELETE':
        if (subresource) break;
        if (!current) throw notFound(name);
        this.remove(name, current);
        return this.send(res, 200, status(200, '', '', { name, kind: 'nodes', uid: metaString(current, 'uid') }));
      case 'PUT': {
        if (!current) throw notFound(name);
        const body = parseJson(await readBody(req));
        if (!isObject(body)) throw new HttpError(status(400, 'BadRequest', 'request body must be a Node object'));
        this.checkResourceVersion(body, current, name);
        return this.send(res, 200, this.store(this.restrict(body, current, subresource === 'status'), current));
      }
      case 'PATCH': {
        if (!current) throw notFound(name);
        const patch = parseJson(await readBody(req));
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        let patched: Json;
        if (contentType === 'application/merge-patch+json') patched = applyMergePatch(current, patch);
        else if (contentType === 'application/strategic-merge-patch+json') patched = applyStrategicMergePatch(current, patch);
        else if (contentType === 'application/json-patch+json') patched = applyJsonPatch(current, patch);
        else {
          throw new HttpError(status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`));
        }
        if (!isObject(patched)) throw new HttpError(status(422, 'Invalid', 'patch did not produce an object'));
        if (contentType !== 'application/json-patch+json' && isObject(patch)) this.checkResourceVersion(patch, current, name);
        return this.send(res, 200, this.store(this.restrict(patched, current, subresource === 'status'), current));
      }
    }
    throw new HttpError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
  }

  /** Optimistic concurrency: a body naming a resourceVersion must name the current one. */
  private checkResourceVersion(body: JsonObject, current: JsonObject, name: string): void {
    const metadata = body.metadata;
    const wanted = isObject(metadata) ? metadata.resourceVersion : undefined;
    if (typeof wanted === 'string' && wanted !== '' && wanted !== (current.metadata as JsonObject).resourceVersion) {
      throw new HttpError(
        status(409, 'Conflict', `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: 'nodes' }),
      );
    }
  }

  /**
   * The main resource ignores status changes; /status ignores everything but status (and the
   * metadata the status strategy resets), exactly like the real node strategies.
   */
  private restrict(next: JsonObject, current: JsonObject, statusOnly: boolean): JsonObject {
    if (statusOnly) {
      const result = clone(current);
      if (next.status !== undefined) result.status = next.status;
      else delete result.status;
      return result;
    }
    const result = clone(next);
    if (current.status !== undefined) result.status = clone(current.status);
    else delete result.status;
    return result;
  }

  private selection(query: Record<string, string>): { selector: LabelSelector; fieldName: string | undefined } {
    return { selector: parseLabelSelector(query.labelSelector), fieldName: parseFieldSelector(query.fieldSelector) };
  }

  private list(query: Record<string, string>, table: boolean): JsonObject {
    const { selector, fieldName } = this.selection(query);
    let items = [...this.nodes.values()].filter((n) => matches(n, selector, fieldName)).sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
    let after = '';
    if (query.continue) {
      try {
        const token = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')) as { start?: unknown };
        if (typeof token.start !== 'string') throw new Error('no start');
        after = token.start;
      } catch {
        throw new HttpError(status(400, 'BadRequest', 'continue key is not valid'));
      }
      items = items.filter((n) => nameOf(n) > after);
    }
    const limit = query.limit ? Number(query.limit) : 0;
    const metadata: JsonObject = { resourceVersion: this.currentResourceVersion };
    if (limit > 0 && items.length > limit) {
      const remaining = items.length - limit;
      items = items.slice(0, limit);
      metadata.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: this.resourceVersion, start: nameOf(items[limit - 1]!) })).toString('base64');
      metadata.remainingItemCount = remaining;
    }
    if (table) return this.table(items, this.currentResourceVersion, metadata);
    return { kind: 'NodeList', apiVersion: 'v1', metadata, items };
  }

  /** meta.k8s.io/v1 Table, what `kubectl get` asks for (server-side printing). */
  private table(items: JsonObject[], resourceVersion: string, metadata: JsonObject = { resourceVersion }): JsonObject {
    const now = Date.now();
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata,
      columnDefinitions: TABLE_COLUMNS,
      rows: items.map((node) => ({
        cells: [nameOf(node), nodeReadyStatus(node), nodeRoles(node), ageOf(node, now), kubeletVersion(node)],
        object: {
          kind: 'PartialObjectMetadata',
          apiVersion: 'meta.k8s.io/v1',
          metadata: clone(node.metadata ?? {}),
        },
      })),
    };
  }

  private watch(res: ServerResponse, query: Record<string, string>, table: boolean): void {
    const { selector, fieldName } = this.selection(query);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const watch: OpenWatch = {
      res,
      selector,
      fieldName,
      bookmarks: query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1',
      table,
      cursor: this.resourceVersion,
      stalled: false,
    };
    const from = query.resourceVersion;
    if (from !== undefined && from !== '' && from !== '0') {
      const rv = Number(from);
      if (!Number.isInteger(rv) || rv < 0) {
        res.end(JSON.stringify({ type: 'ERROR', object: status(400, 'BadRequest', `invalid resource version: ${from}`) }) + '\n');
        return;
      }
      if (rv < this.oldestWatchable || this.expireWatches > 0) {
        this.expireWatches = Math.max(0, this.expireWatches - 1);
        // The real server answers an expired watch with 200 and one ERROR event, then closes.
        const message = `too old resource version: ${rv} (${this.oldestWatchable})`;
        res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', message) }) + '\n');
        return;
      }
      watch.cursor = rv;
    } else {
      // No resourceVersion: start with synthetic ADDED events for the current state.
      for (const node of [...this.nodes.values()].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1))) {
        if (matches(node, selector, fieldName)) this.writeEvent(watch, 'ADDED', node);
      }
    }
    this.watches.add(watch);
    const timeoutSeconds = Number(query.timeoutSeconds ?? 0);
    if (timeoutSeconds > 0) watch.timer = setTimeout(() => this.endWatch(watch, false), timeoutSeconds * 1000);
    res.on('close', () => {
      if (watch.timer) clearTimeout(watch.timer);
      this.watches.delete(watch);
    });
    // While silent, a new watch just waits: flushWatch sends nothing until silence ends.
    this.flushWatch(watch);
  }

  private endWatch(watch: OpenWatch, abrupt: boolean): void {
    if (watch.timer) clearTimeout(watch.timer);
    this.watches.delete(watch);
    if (abrupt) watch.res.destroy();
    else watch.res.end();
  }

  private flushWatches(): void {
    if (this.silent) return;
    for (const watch of this.watches) this.flushWatch(watch);
  }

  /** Sends a watch every retained event after its cursor that its selectors let through. */
  private flushWatch(watch: OpenWatch): void {
    if (watch.stalled || this.silent) return;
    // Events are in resourceVersion order: find the first one after the cursor by bisection, so a
    // long retained history costs nothing per change.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.rv <= watch.cursor) lo = mid + 1;
      else hi = mid;
    }
    for (const event of this.events.slice(lo)) {
      watch.cursor = event.rv;
      const now = matches(event.object, watch.selector, watch.fieldName);
      const before = event.previous !== undefined && matches(event.previous, watch.selector, watch.fieldName);
      if (event.type === 'MODIFIED') {
        // Selector transitions look like ADDED/DELETED to the watcher, as with the watch cache.
        if (now && before) this.writeEvent(watch, 'MODIFIED', event.object);
        else if (now) this.writeEvent(watch, 'ADDED', event.object);
        else if (before) this.writeEvent(watch, 'DELETED', event.object);
      } else if (now) {
        this.writeEvent(watch, event.type, event.object);
      }
    }
  }

  private writeEvent(watch: OpenWatch, type: WatchEventType | 'BOOKMARK', object: JsonObject): void {
    const body = watch.table && type !== 'BOOKMARK' ? this.table([object], metaString(object, 'resourceVersion')) : object;
    watch.res.write(JSON.stringify({ type, object: body }) + '\n');
  }

  /** Milliseconds since start (for diagnostics). */
  uptimeMs(): number {
    return Date.now() - this.startedAt;
  }
}

/** Starts a test API server; close() it when done. */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  return new KubeApiServer(options).start();
}
