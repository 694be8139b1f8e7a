// The Kubernetes registry against the in-repo API test server: the shared NodeRegistry contract,
// then what only the kube implementation has (410 relist, dropped and silent watches, heartbeat
// noise, annotation prefix, public-ip-overwrite, the NetworkUnavailable condition). The same tests
// drive the server with the real kubectl (get, get -w, annotate, patch in all three dialects,
// status subresource, delete) and assert kubectl's output, so the test server cannot drift from
// how the real API behaves without these tests noticing.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { KubeRegistry, KubeRegistryError, FLANNEL_ANNOTATION_PREFIX, type KubeRegistryOptions } from '../../src/registry/kube.js';
import type { LocalNodeSpec, SkipListener } from '../../src/registry/types.js';
import { startKubeApiServer, type KubeApiServer, type JsonObject } from '../../src/testing/kube-apiserver.js';
import { describeKernel } from '../helpers/env.js';
import {
  CONTRACT_NETWORK,
  SkipRecorder,
  SnapshotRecorder,
  registryContract,
  sleep,
  subnetsOf,
  vxlanEntry,
  type RegistryHarness,
  type RemoteEntryInput,
} from '../registry/contract.js';

const execFileAsync = promisify(execFile);
const logger = createLogger({ level: process.env.WEFT_TEST_LOG ?? 'silent', pretty: false });
const FAST_BACKOFF = { initialMs: 50, maxMs: 400 };
const SILENT_MS = 1500;

/** The annotations a node running weft (or flannel, with its prefix) publishes, as a test writes them. */
function annotationsFor(entry: RemoteEntryInput, prefix = 'weft.io/'): Record<string, string> {
  const data = typeof entry.backendData === 'string' ? entry.backendData : JSON.stringify(entry.backendData);
  const out: Record<string, string> = {
    [`${prefix}backend-type`]: entry.backendType,
    [`${prefix}backend-data`]: data,
    [`${prefix}public-ip`]: entry.publicIP,
    [`${prefix}kube-subnet-manager`]: 'true',
  };
  if (entry.publicIPv6 !== undefined) out[`${prefix}public-ipv6`] = entry.publicIPv6;
  return out;
}

/** Writes a remote node the way a kubelet plus a remote weft would leave it. */
function putRemote(server: KubeApiServer, name: string, entry: RemoteEntryInput, prefix = 'weft.io/'): void {
  const podCIDRs = entry.ipv6Subnet !== undefined ? [entry.subnet, entry.ipv6Subnet] : [entry.subnet];
  if (!server.nodes.has(name)) {
    server.addNode({ name, podCIDRs, internalIP: entry.publicIP, annotations: annotationsFor(entry, prefix) });
    return;
  }
  server.modifyNode(name, (node) => {
    const metadata = node.metadata as JsonObject;
    const annotations = { ...(metadata.annotations as Record<string, string>) };
    for (const key of Object.keys(annotations)) if (key.startsWith(prefix)) delete annotations[key];
    metadata.annotations = { ...annotations, ...annotationsFor(entry, prefix) };
    node.spec = { ...(node.spec as JsonObject), podCIDR: podCIDRs[0]!, podCIDRs };
  });
}

/** A kube harness: a fresh API server per test; local nodes get podCIDRs in the lower half. */
async function kubeHarness(extra: Partial<KubeRegistryOptions> = {}): Promise<RegistryHarness & { server: KubeApiServer }> {
  const server = await startKubeApiServer({ bookmarkIntervalMs: 200 });
  let nextLocal = 1;
  return {
    server,
    createRegistry(opts) {
      if (!server.nodes.has(opts.nodeName)) {
        server.addNode({ name: opts.nodeName, podCIDR: `10.244.${nextLocal++}.0/24`, internalIP: opts.publicIP });
      }
      return Promise.resolve(
        new KubeRegistry({
          nodeName: opts.nodeName,
          network: opts.network,
          kubeconfig: server.kubeconfigPath,
          onSkip: opts.onSkip,
          backoff: FAST_BACKOFF,
          silentWatchTimeoutMs: SILENT_MS,
          metrics: new Registry(),
          logger,
          ...extra,
        }),
      );
    },
    putRemote(nodeName, entry) {
      putRemote(server, nodeName, entry);
      return Promise.resolve();
    },
    deleteRemote(nodeName) {
      server.deleteNode(nodeName);
      return Promise.resolve();
    },
    touchRemote(nodeName) {
      server.heartbeat(nodeName);
      return Promise.resolve();
    },
    cleanup: () => server.close(),
  };
}

const SELF = 'node-self';
const SELF_IP = '192.0.2.1';
const SELF_SPEC: LocalNodeSpec = { name: SELF, publicIP: SELF_IP, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:01' } };

describeKernel('Kubernetes registry', ['kubectl'], () => {
  registryContract('kube (test API server)', () => kubeHarness());

  describe('kube-specific behaviour, driven directly and with kubectl', () => {
    let server: KubeApiServer;
    let cacheDir: string;
    let registries: KubeRegistry[] = [];
    let watchers: ChildProcess[] = [];

    beforeEach(async () => {
      server = await startKubeApiServer({ bookmarkIntervalMs: 200 });
      cacheDir = await mkdtemp(join(tmpdir(), 'weft-kubectl-cache-'));
      server.addNode({ name: SELF, podCIDR: '10.244.1.0/24', internalIP: SELF_IP });
    });

    afterEach(async () => {
      await Promise.allSettled(registries.map((r) => r.close()));
      registries = [];
      for (const child of watchers) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
      watchers = [];
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    });

    function newRegistry(options: Partial<KubeRegistryOptions> = {}, onSkip?: SkipListener): KubeRegistry {
      const registry = new KubeRegistry({
        nodeName: SELF,
        network: CONTRACT_NETWORK,
        kubeconfig: server.kubeconfigPath,
        backoff: FAST_BACKOFF,
        silentWatchTimeoutMs: SILENT_MS,
        metrics: new Registry(),
        logger,
        ...(onSkip ? { onSkip } : {}),
        ...options,
      });
      registries.push(registry);
      return registry;
    }

    async function kubectl(...args: string[]): Promise<string> {
      const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, ...args], { timeout: 10_000 });
      return stdout;
    }

    async function kubectlJson(...args: string[]): Promise<JsonObject> {
      return JSON.parse(await kubectl(...args, '-o', 'json')) as JsonObject;
    }

    function annotationsOf(node: JsonObject): Record<string, string> {
      return ((node.metadata as JsonObject).annotations ?? {}) as Record<string, string>;
    }

    /** `kubectl get nodes -w …` running in the background; lines collected as they come. */
    function kubectlWatch(...args: string[]): { lines: string[]; until: (test: (lines: string[]) => boolean, what: string) => Promise<void> } {
      const child = spawn('kubectl', ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, 'get', 'nodes', '-w', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      watchers.push(child);
      const lines: string[] = [];
      let partial = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
      });
      const until = async (test: (l: string[]) => boolean, what: string): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while (!test(lines)) {
          if (Date.now() > deadline) throw new Error(`kubectl get -w never showed ${what}; got:\n${lines.join('\n')}`);
          await sleep(25);
        }
      };
      return { lines, until };
    }

    const watchRequests = (): number => server.countRequests((r) => r.path === '/api/v1/nodes' && (r.query.watch === 'true' || r.query.watch === '1'));
    const listRequests = (): number => server.countRequests((r) => r.path === '/api/v1/nodes' && r.query.watch === undefined);

    /** The first snapshot comes from the list; the watch opens right after it. */
    async function watchOpen(): Promise<void> {
      const deadline = Date.now() + 5000;
      while (server.openWatchCount === 0) {
        if (Date.now() > deadline) throw new Error('the registry never opened a watch');
        await sleep(10);
      }
    }

    it('publishes annotations and NetworkUnavailable=False on its Node, as kubectl sees them', async () => {
      const registry = newRegistry();
      const lease = await registry.register(SELF_SPEC);
      expect(lease).toEqual({ subnet: '10.244.1.0/24', publicIP: SELF_IP });

      const list = await kubectlJson('get', 'nodes');
      expect(list.kind).toBe('List');
      const node = (list.items as JsonObject[]).find((n) => (n.metadata as JsonObject).name === SELF)!;
      expect(annotationsOf(node)).toMatchObject({
        'weft.io/backend-type': 'vxlan',
        'weft.io/backend-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:01:01"}',
        'weft.io/public-ip': SELF_IP,
        'weft.io/kube-subnet-manager': 'true',
        'node.alpha.kubernetes.io/ttl': '0', // others' annotations untouched
      });
      const conditions = (node.status as JsonObject).conditions as JsonObject[];
      expect(conditions.find((c) => c.type === 'NetworkUnavailable')).toMatchObject({ status: 'False', reason: 'WeftIsUp' });
      expect(conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' }); // strategic merge kept it

      // Restart: same podCIDR back, and nothing re-written (no resourceVersion churn).
      const rv = server.nodes.get(SELF)!.metadata as JsonObject;
      await registry.close();
      const again = await newRegistry().register(SELF_SPEC);
      expect(again.subnet).toBe('10.244.1.0/24');
      expect((server.nodes.get(SELF)!.metadata as JsonObject).resourceVersion).toBe(rv.resourceVersion);
      expect(await kubectl('get', 'node', SELF, '-o', 'jsonpath={.spec.podCIDR}')).toBe('10.244.1.0/24');
    });

    it('honours public-ip-overwrite set with kubectl annotate', async () => {
      await kubectl('annotate', 'node', SELF, 'weft.io/public-ip-overwrite=203.0.113.9');
      const lease = await newRegistry().register(SELF_SPEC);
      expect(lease.publicIP).toBe('203.0.113.9');
      expect(await kubectl('get', 'node', SELF, '-o', 'jsonpath={.metadata.annotations.weft\\.io/public-ip}')).toBe('203.0.113.9');
    });

    it('reads this node\'s per-node BGP annotations set with kubectl annotate (racks with their own ToR)', async () => {
      expect(await newRegistry().ownBgpAnnotations()).toEqual({ names: { asn: 'weft.io/bgp-asn', peers: 'weft.io/bgp-peers', routeReflector: 'weft.io/bgp-route-reflector' } });
      const peers = '[{"Address":"192.0.2.1","ASN":65000,"PasswordFile":"/etc/weft-bgp/rack1"}]';
      await kubectl('annotate', 'node', SELF, 'weft.io/bgp-asn=65001', `weft.io/bgp-peers=${peers}`);
      expect(await newRegistry().ownBgpAnnotations()).toMatchObject({ asn: '65001', peers });
    });

    it('works with flannel\'s annotation prefix and ignores nodes using another prefix', async () => {
      putRemote(server, 'flannel-node', vxlanEntry(1), FLANNEL_ANNOTATION_PREFIX);
      putRemote(server, 'weft-prefixed', vxlanEntry(2)); // weft.io/: not ours under this prefix
      const registry = newRegistry({ annotationPrefix: FLANNEL_ANNOTATION_PREFIX });
      await registry.register(SELF_SPEC);
      const node = await kubectlJson('get', 'node', SELF);
      expect(annotationsOf(node)).toMatchObject({
        'flannel.alpha.coreos.com/backend-type': 'vxlan',
        'flannel.alpha.coreos.com/public-ip': SELF_IP,
        'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
      });
      expect(Object.keys(annotationsOf(node)).some((k) => k.startsWith('weft.io/'))).toBe(false);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      const first = await rec.until(() => true, 'first snapshot');
      expect(first.nodes.map((n) => n.name)).toEqual(['flannel-node']);
    });

    it('dual stack: reads both podCIDRs, publishes the IPv6 side, falls back to the InternalIP', async () => {
      server.deleteNode(SELF);
      server.addNode({ name: SELF, podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'], internalIP: SELF_IP, internalIPv6: '2001:db8::1' });
      const network = { ...CONTRACT_NETWORK, ipv6Network: 'fd00:10:244::/56', ipv6SubnetLen: 64 };
      const remote = vxlanEntry(1, { ipv6Subnet: 'fd00:10:244:81::/64', publicIPv6: '2001:db8::11' });
      putRemote(server, 'node-a', remote);
      server.modifyNode('node-a', (node) => {
        ((node.metadata as JsonObject).annotations as JsonObject)['weft.io/backend-v6-data'] = '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:61"}';
      });
      const registry = newRegistry({ network });
      const lease = await registry.register({ ...SELF_SPEC, backendV6Data: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:61' } });
      expect(lease).toEqual({ subnet: '10.244.1.0/24', ipv6Subnet: 'fd00:10:244:1::/64', publicIP: SELF_IP });
      expect(annotationsOf(await kubectlJson('get', 'node', SELF))).toMatchObject({
        'weft.io/public-ipv6': '2001:db8::1',
        'weft.io/backend-v6-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:01:61"}',
      });
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      const first = await rec.until((s) => s.nodes.length === 1, 'node-a');
      expect(first.nodes[0]).toMatchObject({
        ipv6Subnet: 'fd00:10:244:81::/64',
        publicIPv6: '2001:db8::11',
        backendV6Data: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:61' },
      });
    });

    it('register waits for the podCIDR (assigned here with kubectl patch) and fails typed without a Node', async () => {
      server.deleteNode(SELF);
      server.addNode({ name: SELF, internalIP: SELF_IP });
      const pending = newRegistry({ podCidrWaitMs: 8000 }).register(SELF_SPEC);
      await sleep(300);
      await kubectl('patch', 'node', SELF, '--type', 'merge', '-p', '{"spec":{"podCIDR":"10.244.7.0/24","podCIDRs":["10.244.7.0/24"]}}');
      expect((await pending).subnet).toBe('10.244.7.0/24');

      await expect(newRegistry({ nodeName: 'no-such-node' }).register(SELF_SPEC)).rejects.toMatchObject({ name: 'KubeRegistryError', code: 'node-not-found' });
      server.addNode({ name: 'outside', podCIDR: '10.99.0.0/24', internalIP: '192.0.2.99' });
      await expect(newRegistry({ nodeName: 'outside' }).register(SELF_SPEC)).rejects.toMatchObject({ code: 'pod-cidr-outside-network' });
      expect(() => newRegistry({ nodeName: '' })).toThrow(KubeRegistryError);
    });

    it('relists on 410 Gone: a node deleted while the watch was away disappears', async () => {
      putRemote(server, 'node-a', vxlanEntry(1));
      putRemote(server, 'node-b', vxlanEntry(2));
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until((s) => s.nodes.length === 2, 'both nodes');
      await watchOpen();
      expect(listRequests()).toBe(1);

      // The registry misses the deletion (its watch hangs), the history is compacted, the watch drops.
      server.setSilent(true);
      server.deleteNode('node-b');
      server.bumpResourceVersion(50);
      server.compact();
      server.dropWatches();
      server.setSilent(false);
      const after = await rec.until((s) => s.nodes.length === 1, 'node-b gone');
      expect(after.nodes.map((n) => n.name)).toEqual(['node-a']);
      expect(listRequests()).toBe(2);
      // kubectl sees the same 410 for an expired resourceVersion.
      const raw = await kubectl('get', '--raw', '/api/v1/nodes?watch=1&resourceVersion=1');
      expect(JSON.parse(raw)).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      // And the registry keeps watching after the relist.
      putRemote(server, 'node-c', vxlanEntry(3));
      await rec.until((s) => s.nodes.length === 2, 'node-c');
    });

    it('re-watches (without relisting) when the server drops the watch', async () => {
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(() => true, 'first snapshot');
      await watchOpen();
      const watches = watchRequests();
      expect(server.dropWatches({ abrupt: true })).toBe(1);
      putRemote(server, 'node-a', vxlanEntry(1));
      await rec.until((s) => s.nodes.length === 1, 'node-a');
      expect(watchRequests()).toBeGreaterThan(watches);
      expect(listRequests()).toBe(1);
    });

    it('restarts a watch that went silent', async () => {
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(() => true, 'first snapshot');
      await watchOpen();
      // Bookmarks every 200 ms keep a healthy watch from ever looking silent.
      await sleep(SILENT_MS + 300);
      const watches = watchRequests();
      expect(watches).toBe(1);
      // The open watch hangs for good (a half-dead connection); the server itself recovers.
      server.setSilent(true);
      await sleep(50);
      server.setSilent(false);
      const started = Date.now();
      putRemote(server, 'node-a', vxlanEntry(1));
      await rec.until((s) => s.nodes.length === 1, 'node-a after restart');
      expect(Date.now() - started).toBeGreaterThanOrEqual(SILENT_MS - 300);
      expect(watchRequests()).toBe(watches + 1);
    });

    it('retries failed watches with capped, jittered exponential backoff, then recovers', async () => {
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(() => true, 'first snapshot');
      await watchOpen();
      const from = server.requests.length;
      server.failNext(6, { code: 500, watchOnly: true });
      server.dropWatches();
      putRemote(server, 'node-a', vxlanEntry(1));
      await rec.until((s) => s.nodes.length === 1, 'node-a after the failures');
      const attempts = server.requests.slice(from).filter((r) => r.query.watch !== undefined).map((r) => r.at);
      expect(attempts.length).toBe(7); // six failures, then the watch that worked
      const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
      // Delays are 50–100 % of 50, 100, 200, 400, 400 ms (capped at FAST_BACKOFF.maxMs).
      expect(gaps[0]!).toBeLessThan(gaps[3]!);
      for (const gap of gaps) expect(gap).toBeLessThan(FAST_BACKOFF.maxMs + 250);
      expect(gaps[4]!).toBeGreaterThanOrEqual(FAST_BACKOFF.maxMs / 2 - 5);
      expect(listRequests()).toBe(1); // errors other than 410 do not relist
    });

    it('relists when a watch is refused with HTTP 410 (not only with an ERROR event)', async () => {
      putRemote(server, 'node-a', vxlanEntry(1));
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until((s) => s.nodes.length === 1, 'node-a');
      await watchOpen();
      server.setSilent(true);
      server.deleteNode('node-a');
      server.failNext(1, { code: 410, watchOnly: true });
      server.dropWatches();
      server.setSilent(false);
      await rec.until((s) => s.nodes.length === 0, 'node-a gone after relist');
      expect(listRequests()).toBe(2);
    });

    it('a server answering every watch with 410 gets relists spaced by the backoff, not a storm', async () => {
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(() => true, 'first snapshot');
      await watchOpen();
      const from = server.requests.length;
      const attemptAt = Date.now();
      server.expireNextWatches(5);
      server.dropWatches();
      const deadline = Date.now() + 5000;
      while (server.openWatchCount === 0 && Date.now() < deadline) await sleep(20);
      // Watching again: the registry still follows changes.
      putRemote(server, 'node-a', vxlanEntry(1));
      await rec.until((s) => s.nodes.length === 1, 'node-a once watches work again');
      const lists = server.requests.slice(from).filter((r) => r.query.watch === undefined).map((r) => r.at);
      expect(lists.length).toBe(5); // one per expired watch
      // The first relist is immediate; then a 410 right after each list backs off: between the
      // first and the last list at least half of 50 + 100 + 200 + 400 ms.
      expect(lists.at(-1)! - lists[0]!).toBeGreaterThanOrEqual(370);
      expect(lists[0]! - attemptAt).toBeLessThan(150);
    });

    it('heartbeats, status and unrelated labels (also via kubectl patch) produce no snapshot', async () => {
      putRemote(server, 'node-a', vxlanEntry(1));
      const registry = newRegistry();
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until((s) => s.nodes.length === 1, 'node-a');
      const before = rec.snapshots.length;
      const rv = server.currentResourceVersion;
      server.heartbeat('node-a');
      await kubectl('patch', 'node', 'node-a', '--type', 'strategic', '-p', '{"metadata":{"labels":{"topology.kubernetes.io/zone":"z1"}}}');
      await kubectl('patch', 'node', 'node-a', '--subresource=status', '--type', 'strategic', '-p', '{"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady"}]}}');
      await kubectl('annotate', 'node', 'node-a', 'example.com/owner=team-a');
      expect(Number(server.currentResourceVersion)).toBe(Number(rv) + 4);
      expect(await rec.countAfter(before)).toBe(0);
      // kubectl's own view of those changes.
      const table = await kubectl('get', 'nodes');
      expect(table.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
      expect(table).toMatch(/^node-a\s+NotReady\s+<none>\s+\S+\s+v1\.32\.0$/m);
      const node = await kubectlJson('get', 'node', 'node-a');
      expect(((node.metadata as JsonObject).labels as JsonObject)['topology.kubernetes.io/zone']).toBe('z1');
      expect(((node.status as JsonObject).conditions as JsonObject[]).filter((c) => c.type === 'Ready')).toHaveLength(1);
    });

    it('follows changes made with kubectl annotate / patch (merge, json) / delete, which kubectl get -w also shows', async () => {
      putRemote(server, 'node-a', vxlanEntry(1));
      putRemote(server, 'node-b', vxlanEntry(2));
      const skips = new SkipRecorder();
      const registry = newRegistry({}, skips.onSkip);
      await registry.register(SELF_SPEC);
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until((s) => s.nodes.length === 2, 'two nodes');

      const watch = kubectlWatch('--output-watch-events');
      await watch.until((l) => l.some((x) => /^ADDED\s+node-b\s/.test(x)), 'the initial nodes');
      expect(watch.lines[0]).toMatch(/^EVENT\s+NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
      const named = kubectlWatch('-o', 'name');
      await named.until((l) => l.includes('node/node-b'), 'node names');
      // One node by name (kubectl watches with fieldSelector=metadata.name=… from resourceVersion 0).
      const single = kubectlWatch('node-a', '-o', 'jsonpath={.metadata.annotations.weft\\.io/public-ip}{"\\n"}');
      await single.until((l) => l.includes('192.0.2.11'), 'node-a alone');
      // Paged list: kubectl follows the continue token.
      expect(await kubectl('get', 'nodes', '--chunk-size=1', '-o', 'name')).toBe('node/node-a\nnode/node-b\nnode/node-self\n');
      expect(server.countRequests((r) => r.query.continue !== undefined)).toBe(2);

      expect(await kubectl('annotate', 'node', 'node-a', '--overwrite', 'weft.io/public-ip=198.51.100.20')).toContain('node/node-a annotated');
      await rec.until((s) => s.nodes.find((n) => n.name === 'node-a')?.publicIP === '198.51.100.20', 'node-a moved');

      const data = JSON.stringify(JSON.stringify({ VNI: 1, VtepMAC: '0a:58:0a:f4:00:42' }));
      expect(await kubectl('patch', 'node', 'node-b', '--type', 'merge', '-p', `{"metadata":{"annotations":{"weft.io/backend-data":${data}}}}`)).toContain('node/node-b patched');
      await rec.until((s) => JSON.stringify(s.nodes.find((n) => n.name === 'node-b')?.backendData) === '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:42"}', 'node-b new MAC');

      // JSON patch removing backend-type: the entry becomes invalid and is skipped, not fatal.
      await kubectl('patch', 'node', 'node-b', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata/annotations/weft.io~1backend-type"}]');
      await rec.until((s) => s.nodes.length === 1, 'node-b skipped');
      expect((await skips.until('unknown-backend')).entry).toBe('node-b');

      // A status patch cannot change spec (subresource semantics), so nothing changes.
      await kubectl('patch', 'node', 'node-a', '--subresource=status', '--type', 'merge', '-p', '{"spec":{"podCIDR":"10.244.250.0/24"}}');
      expect(await kubectl('get', 'node', 'node-a', '-o', 'jsonpath={.spec.podCIDR}')).toBe('10.244.129.0/24');

      expect(await kubectl('delete', 'node', 'node-a')).toContain('node "node-a" deleted');
      await rec.until((s) => s.nodes.length === 0, 'node-a deleted');

      await watch.until((l) => l.some((x) => /^MODIFIED\s+node-a\s/.test(x)) && l.some((x) => /^DELETED\s+node-a\s/.test(x)), 'MODIFIED and DELETED events');
      await named.until((l) => l.filter((x) => x === 'node/node-a').length >= 3, 'node-a events by name');
      await single.until((l) => l.includes('198.51.100.20'), 'node-a moved, seen alone');
      expect(single.lines.every((l) => l === '' || l === '192.0.2.11' || l === '198.51.100.20')).toBe(true);
      expect(subnetsOf(rec.latest!)).toEqual([]);
    });
  });
});
