// The one behavioural suite every NodeRegistry implementation must pass (etcd, Kubernetes).
// Each implementation supplies a harness that can build registries and write remote node entries
// straight into its backing store (an etcd key, a Kubernetes Node object), bypassing the registry
// under test, exactly like another node (or a broken tool) would.
//
// Address plan: the network is 10.244.0.0/16 with /24 subnets. Local nodes get subnets in the
// lower half (subnetMax 10.244.127.0/24; a kube harness must assign podCIDRs there too); the
// remote entries written by this suite live in the upper half, so they never collide with a lease.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/net/addr.js';
import type { NodeRegistry, RegistryNetwork, RemoteNode, SkipListener, SkipReason, SkippedEntry, Snapshot } from '../../src/registry/types.js';

/** A remote node entry as written to the store. */
export interface RemoteEntryInput {
  subnet: string;
  ipv6Subnet?: string;
  publicIP: string;
  publicIPv6?: string;
  backendType: string;
  /** An object is written as JSON; a string is written verbatim (so tests can write broken JSON). */
  backendData: unknown;
}

export interface HarnessRegistryOptions {
  /** The node this registry runs as. */
  nodeName: string;
  /** This node's public IP (what it publishes). */
  publicIP: string;
  network: RegistryNetwork;
  /** Must be called for every newly skipped entry (wire it into SkipReporter's onSkip). */
  onSkip: SkipListener;
}

export interface RegistryHarness {
  /** A new, not yet registered registry. Registries left open are closed by the suite. */
  createRegistry(opts: HarnessRegistryOptions): Promise<NodeRegistry>;
  /** Writes (creates or replaces) a remote node's entry directly into the store. */
  putRemote(nodeName: string, entry: RemoteEntryInput): Promise<void>;
  deleteRemote(nodeName: string): Promise<void>;
  /**
   * A change to the node's record that is not network-relevant (kube: heartbeat/status). When
   * absent, the suite rewrites the identical entry (etcd: a new revision with the same value).
   */
  touchRemote?(nodeName: string, entry: RemoteEntryInput): Promise<void>;
  /** Removes everything the harness created (called after each test, also on failure). */
  cleanup(): Promise<void>;
}

export type RegistryHarnessFactory = () => Promise<RegistryHarness>;

export const CONTRACT_NETWORK: RegistryNetwork = {
  network: '10.244.0.0/16',
  subnetLen: 24,
  subnetMin: '10.244.1.0/24',
  subnetMax: '10.244.127.0/24',
};

const SELF = 'node-self';
const SELF_IP = '192.0.2.1';
const WAIT_MS = 10_000;
/** How long "nothing happens" is watched for; long enough for an event to go round a real store. */
const QUIET_MS = 800;

export function vxlanEntry(index: number, overrides: Partial<RemoteEntryInput> = {}): RemoteEntryInput {
  const hex = (index & 0xff).toString(16).padStart(2, '0');
  return {
    subnet: `10.244.${128 + index}.0/24`,
    publicIP: `192.0.2.${10 + index}`,
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: `0a:58:0a:f4:00:${hex}` },
    ...overrides,
  };
}

/** Records snapshots and lets a test wait for one that satisfies a condition. */
export class SnapshotRecorder {
  readonly snapshots: Snapshot[] = [];
  private waiters: { test: (s: Snapshot) => boolean; resolve: (s: Snapshot) => void }[] = [];

  readonly onSnapshot = (s: Snapshot): void => {
    this.snapshots.push(s);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(s)) return true;
      w.resolve(s);
      return false;
    });
  };

  get latest(): Snapshot | undefined {
    return this.snapshots.at(-1);
  }

  /** Resolves with the latest snapshot if it already matches, else the next one that does. */
  async until(test: (s: Snapshot) => boolean, what: string, timeoutMs = WAIT_MS): Promise<Snapshot> {
    const latest = this.latest;
    if (latest !== undefined && test(latest)) return latest;
    return new Promise<Snapshot>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no snapshot with ${what} within ${timeoutMs} ms; latest: ${JSON.stringify(this.latest?.nodes.map(brief))}`));
      }, timeoutMs);
      const done = (s: Snapshot): void => {
        clearTimeout(timer);
        resolve(s);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  /** Resolves once no snapshot has arrived for `ms`; returns how many arrived since `from`. */
  async countAfter(from: number, ms = QUIET_MS): Promise<number> {
    await sleep(ms);
    return this.snapshots.length - from;
  }
}

/** Records skip reports and lets a test wait for a reason. */
export class SkipRecorder {
  readonly skipped: SkippedEntry[] = [];
  readonly onSkip: SkipListener = (s) => {
    this.skipped.push(s);
  };

  async until(reason: SkipReason, timeoutMs = WAIT_MS): Promise<SkippedEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.skipped.find((s) => s.reason === reason);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no skip with reason ${reason} within ${timeoutMs} ms; got ${JSON.stringify(this.skipped)}`);
      await sleep(50);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function brief(n: RemoteNode): string {
  return `${n.name}=${n.subnet}@${n.publicIP}`;
}

export function subnetsOf(s: Snapshot): string[] {
  return s.nodes.map((n) => n.subnet).sort();
}

function hasSubnets(...subnets: string[]): (s: Snapshot) => boolean {
  const want = [...subnets].sort().join(',');
  return (s) => subnetsOf(s).join(',') === want;
}

function inside(subnet: string, network: string): boolean {
  const sub = parseCidr(subnet);
  const net = parseCidr(network);
  if (sub.family !== net.family || sub.prefixLen < net.prefixLen) return false;
  const a = sub.address.split('.').map(Number);
  const b = net.address.split('.').map(Number);
  const toInt = (p: number[]): number => ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
  const mask = net.prefixLen === 0 ? 0 : (~0 << (32 - net.prefixLen)) >>> 0;
  return ((toInt(a) & mask) >>> 0) === ((toInt(b) & mask) >>> 0);
}

/**
 * Runs the registry contract against one implementation. `factory` is called before every test
 * (a fresh, empty store or namespace each time) and `cleanup` after it.
 */
export function registryContract(name: string, factory: RegistryHarnessFactory): void {
  describe(`NodeRegistry contract: ${name}`, () => {
    let harness: RegistryHarness;
    let open: NodeRegistry[] = [];

    async function newRegistry(nodeName = SELF, publicIP = SELF_IP, skips = new SkipRecorder()): Promise<NodeRegistry> {
      const registry = await harness.createRegistry({ nodeName, publicIP, network: CONTRACT_NETWORK, onSkip: skips.onSkip });
      open.push(registry);
      return registry;
    }

    function spec(nodeName = SELF, publicIP = SELF_IP) {
      return { name: nodeName, publicIP, backendType: 'vxlan' as const, backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:01' } };
    }

    async function closeAll(): Promise<void> {
      const all = open;
      open = [];
      await Promise.allSettled(all.map((r) => r.close()));
    }

    beforeEach(async () => {
      harness = await factory();
    });

    afterEach(async () => {
      await closeAll();
      await harness.cleanup();
    });

    it('register returns a subnet of SubnetLen inside Network, and is idempotent', async () => {
      const registry = await newRegistry();
      const lease = await registry.register(spec());
      expect(parseCidr(lease.subnet).prefixLen).toBe(CONTRACT_NETWORK.subnetLen);
      expect(inside(lease.subnet, CONTRACT_NETWORK.network)).toBe(true);
      expect(lease.publicIP).toBe(SELF_IP);
      const again = await registry.register(spec());
      expect(again.subnet).toBe(lease.subnet);
    });

    it('a restarted node (new registry instance) gets its subnet back', async () => {
      const first = await newRegistry();
      const lease = await first.register(spec());
      await first.close();
      const second = await newRegistry();
      const again = await second.register(spec());
      expect(again.subnet).toBe(lease.subnet);
    });

    it('watch delivers a first full snapshot that excludes this node', async () => {
      await harness.putRemote('node-a', vxlanEntry(1));
      await harness.putRemote('node-b', vxlanEntry(2));
      const registry = await newRegistry();
      const lease = await registry.register(spec());
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      const first = await rec.until(() => true, 'any content');
      expect(subnetsOf(first)).toEqual(['10.244.129.0/24', '10.244.130.0/24']);
      expect(first.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b']);
      expect(first.nodes.some((n) => n.subnet === lease.subnet)).toBe(false);
      expect(first.nodes[0]).toMatchObject({ publicIP: '192.0.2.11', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:01' } });
    });

    it('an empty registry delivers an empty first snapshot', async () => {
      const registry = await newRegistry();
      await registry.register(spec());
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      const first = await rec.until(() => true, 'any content');
      expect(first.nodes).toEqual([]);
    });

    it('add, modify and delete of remote nodes each deliver a new full snapshot', async () => {
      const registry = await newRegistry();
      await registry.register(spec());
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(hasSubnets(), 'no nodes');

      await harness.putRemote('node-a', vxlanEntry(1));
      await rec.until(hasSubnets('10.244.129.0/24'), 'node-a');
      await harness.putRemote('node-b', vxlanEntry(2));
      await rec.until(hasSubnets('10.244.129.0/24', '10.244.130.0/24'), 'node-a and node-b');

      await harness.putRemote('node-a', vxlanEntry(1, { publicIP: '198.51.100.7' }));
      const modified = await rec.until((s) => s.nodes.some((n) => n.publicIP === '198.51.100.7'), 'node-a moved');
      expect(subnetsOf(modified)).toEqual(['10.244.129.0/24', '10.244.130.0/24']);

      await harness.deleteRemote('node-b');
      const after = await rec.until(hasSubnets('10.244.129.0/24'), 'node-b gone');
      expect(after.nodes[0]?.publicIP).toBe('198.51.100.7');
    });

    const badEntries: [SkipReason, RemoteEntryInput][] = [
      ['unparsable', vxlanEntry(20, { backendData: '{"VNI": 1, "VtepMAC": ' })],
      ['bad-mac', vxlanEntry(21, { backendData: { VNI: 1, VtepMAC: 'zz:58:0a:f4:00:01' } })],
      ['bad-ip', vxlanEntry(22, { publicIP: '300.1.2.3' })],
      ['bad-subnet', vxlanEntry(23, { subnet: '10.244.300.0/24' })],
      ['outside-network', vxlanEntry(24, { subnet: '10.99.24.0/24' })],
      ['unknown-backend', vxlanEntry(25, { backendType: 'host-gw' })],
    ];
    for (const [reason, bad] of badEntries) {
      it(`skips an entry with ${reason} and still delivers the good ones`, async () => {
        const skips = new SkipRecorder();
        const registry = await newRegistry(SELF, SELF_IP, skips);
        await registry.register(spec());
        await harness.putRemote('node-good-1', vxlanEntry(1));
        await harness.putRemote('node-bad', bad);
        await harness.putRemote('node-good-2', vxlanEntry(2));
        const rec = new SnapshotRecorder();
        registry.watch(rec.onSnapshot);
        await rec.until(hasSubnets('10.244.129.0/24', '10.244.130.0/24'), 'both good nodes');
        const skip = await skips.until(reason);
        expect(skip.detail.length).toBeGreaterThan(0);
        // Reported once, not on every snapshot.
        await harness.putRemote('node-good-3', vxlanEntry(3));
        await rec.until(hasSubnets('10.244.129.0/24', '10.244.130.0/24', '10.244.131.0/24'), 'third good node');
        expect(skips.skipped.filter((s) => s.reason === reason)).toHaveLength(1);
      });
    }

    it('skips a remote subnet overlapping this node\'s subnet', async () => {
      const skips = new SkipRecorder();
      const registry = await newRegistry(SELF, SELF_IP, skips);
      const lease = await registry.register(spec());
      const own = parseCidr(lease.subnet);
      // The lower half of our own subnet: overlapping, but a different key/object than ours.
      await harness.putRemote('node-squatter', vxlanEntry(30, { subnet: `${own.address}/${own.prefixLen + 1}` }));
      await harness.putRemote('node-good-1', vxlanEntry(1));
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(hasSubnets('10.244.129.0/24'), 'the good node only');
      await skips.until('overlaps-local');
    });

    it('of two overlapping remote entries keeps the one that claimed first (here also the one whose name sorts first)', async () => {
      const skips = new SkipRecorder();
      const registry = await newRegistry(SELF, SELF_IP, skips);
      await registry.register(spec());
      await harness.putRemote('node-a', vxlanEntry(40));
      await harness.putRemote('node-b', vxlanEntry(41, { subnet: '10.244.168.0/25' }));
      await harness.putRemote('node-c', vxlanEntry(2));
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      const s = await rec.until(hasSubnets('10.244.130.0/24', '10.244.168.0/24'), 'node-a and node-c');
      expect(s.nodes.map((n) => n.name)).toEqual(['node-a', 'node-c']);
      const skip = await skips.until('overlaps-other');
      expect(skip.entry).toContain('node-b');
    });

    it('an update that changes nothing network-relevant delivers no snapshot', async () => {
      const registry = await newRegistry();
      await registry.register(spec());
      await harness.putRemote('node-a', vxlanEntry(1));
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(hasSubnets('10.244.129.0/24'), 'node-a');
      const before = rec.snapshots.length;
      if (harness.touchRemote !== undefined) await harness.touchRemote('node-a', vxlanEntry(1));
      else await harness.putRemote('node-a', vxlanEntry(1));
      expect(await rec.countAfter(before)).toBe(0);
      // The watch is still alive: a real change still arrives.
      await harness.putRemote('node-a', vxlanEntry(1, { backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:99' } }));
      await rec.until((x) => x.nodes[0]?.backendData !== undefined && 'VtepMAC' in x.nodes[0].backendData && x.nodes[0].backendData.VtepMAC === '0a:58:0a:f4:00:99', 'new VTEP MAC');
    });

    it('close() stops delivery', async () => {
      const registry = await newRegistry();
      await registry.register(spec());
      const rec = new SnapshotRecorder();
      registry.watch(rec.onSnapshot);
      await rec.until(hasSubnets(), 'no nodes');
      await registry.close();
      const before = rec.snapshots.length;
      await harness.putRemote('node-a', vxlanEntry(1));
      expect(await rec.countAfter(before)).toBe(0);
    });
  });
}
