// Topology: throw-away network namespaces for kernel and multi-node tests.
//
// A Topology owns every namespace it creates; all of them share one prefix that is unique to this
// run (`wt-<pid36>-<rand>-<label>`), so parallel test files and a crashed earlier run can never
// collide, and `destroy()` removes exactly what was made. Deleting a namespace deletes the veths
// inside it, so nothing is left behind in the host namespace — which the helper never touches:
// every link is created with `ip -n NS`, and the peer of a veth goes straight into its namespace.
//
//   const topo = new Topology('routes');
//   afterAll(() => topo.destroy());
//   const [a, b] = await topo.underlay(['a', 'b']);   // two nodes on a shared bridge segment
//   const nl = topo.netlink(a.ns);                    // weft's own rtnetlink handle inside node a
//   await topo.json(a.ns, 'ip', ['route', 'show']);   // what iproute2 says, parsed
//
// Building uses iproute2 (this is test scaffolding: the code under test is not used to build the
// stage it is tested on), except where a caller asks for `via: 'netlink'`. Addresses are only ever
// taken from the documentation ranges (RFC 5737, RFC 2544 benchmarking, RFC 3849); anything else
// is refused, so a test cannot collide with a real network.
//
// What it is not: a lab. It does not start daemons, and it never cleans up namespaces it did not
// create (no sweeping by pattern, no pkill).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import ipaddr from 'ipaddr.js';
import { Netlink } from '../../src/netlink/index.js';

const execFileAsync = promisify(execFile);
const MAX_BUFFER = 256 * 1024 * 1024;

/** Ranges reserved for documentation and benchmarking: the only addresses tests may use. */
export const DOCUMENTATION_RANGES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '198.18.0.0/15', '2001:db8::/32'] as const;

const PARSED_RANGES = DOCUMENTATION_RANGES.map((range) => ipaddr.parseCIDR(range));

/** True when `address` (with or without a prefix length) lies inside a documentation range. */
export function isDocumentationAddress(address: string): boolean {
  const text = address.split('/')[0] ?? '';
  if (!ipaddr.isValid(text)) return false;
  const parsed = ipaddr.parse(text);
  return PARSED_RANGES.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits));
}

export function assertDocumentationAddress(address: string): void {
  if (!isDocumentationAddress(address)) {
    throw new Error(`topology: ${address} is not in a documentation range (${DOCUMENTATION_RANGES.join(', ')})`);
  }
}

export interface VethEnd {
  /** Full namespace name (as returned by `namespace()`). */
  ns: string;
  /** Interface name inside that namespace (at most 15 characters). */
  dev: string;
  /** Addresses to put on this end, e.g. "192.0.2.1/24", "2001:db8::1/64" (documentation only). */
  addresses?: string[];
  mac?: string;
  mtu?: number;
  /** Bridge (in the same namespace) to enslave this end to. */
  master?: string;
}

export interface VethOptions {
  /** Build with iproute2 (default) or with weft's Netlink layer. */
  via?: 'ip' | 'netlink';
  /** Bring both ends up (default true). */
  up?: boolean;
}

/** One node attached to the shared underlay segment. */
export interface UnderlayNode {
  /** Short name the caller gave ("a"). */
  name: string;
  /** Full namespace name. */
  ns: string;
  /** The node's underlay interface. */
  dev: string;
  /** The node's IPv4 underlay address, without prefix length. */
  ipv4: string;
  /** The node's IPv6 underlay address, without prefix length. */
  ipv6: string;
  /** With prefix lengths, as configured. */
  cidr4: string;
  cidr6: string;
}

export interface UnderlayOptions {
  /** Interface name of each node's underlay end (default "eth0"). */
  dev?: string;
  /** A /24 inside a documentation range (default 192.0.2.0/24); node i gets .(10+i). */
  v4?: string;
  /** A /64 inside 2001:db8::/32 (default 2001:db8:0:1::/64); node i gets ::(10+i) in hex. */
  v6?: string;
  via?: 'ip' | 'netlink';
}

const live = new Set<Topology>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a caller forgot afterAll or the worker is torn down early: 'exit' handlers
  // must be synchronous, which destroy() is.
  process.on('exit', destroyAllTopologies);
}

/** Destroys every topology of this process not destroyed yet (what the 'exit' safety net runs). */
export function destroyAllTopologies(): void {
  for (const topology of [...live]) topology.destroy();
}

export class Topology {
  /** Prefix of every namespace this topology creates, unique to this run. */
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly handles: Netlink[] = [];
  private readonly builders = new Map<string, Netlink>();
  private destroyed = false;
  private underlayCount = 0;

  constructor(label = 't') {
    if (!/^[a-z0-9-]{1,20}$/.test(label)) throw new Error(`topology: label "${label}" must be 1–20 of [a-z0-9-]`);
    this.prefix = `wt-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}-${label}`;
    live.add(this);
    installExitHook();
  }

  /** Creates namespace `<prefix>-<name>` with its loopback up; returns its full name. */
  async namespace(name: string): Promise<string> {
    this.assertLive();
    const ns = `${this.prefix}-${name}`;
    if (this.namespaces.includes(ns)) throw new Error(`topology: namespace ${ns} exists already`);
    await execFileAsync('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await this.ip(ns, ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Every namespace made so far, in creation order. */
  get names(): readonly string[] {
    return this.namespaces;
  }

  /** A veth pair between two namespaces (or inside one), with addresses and up. */
  async veth(a: VethEnd, b: VethEnd, options: VethOptions = {}): Promise<void> {
    this.assertOwned(a.ns);
    this.assertOwned(b.ns);
    for (const end of [a, b]) for (const address of end.addresses ?? []) assertDocumentationAddress(address);
    const up = options.up ?? true;
    if (options.via === 'netlink') {
      const nl = this.builder(a.ns);
      await nl.links.createVeth(a.dev, b.dev, b.ns === a.ns ? {} : { peerNetns: b.ns });
      for (const end of [a, b]) await this.configureWithNetlink(end, up);
    } else {
      await this.ip(a.ns, ['link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
      for (const end of [a, b]) await this.configureWithIp(end, up);
    }
  }

  /**
   * The shared underlay: a namespace holding bridge "br0", and one namespace per node joined to it
   * by a veth, with an IPv4 and an IPv6 address each (node i → .10+i and ::a+i). Calling it again
   * makes a second, separate segment.
   */
  async underlay(names: string[], options: UnderlayOptions = {}): Promise<UnderlayNode[]> {
    const v4 = ipaddr.parseCIDR(options.v4 ?? '192.0.2.0/24');
    const v6 = ipaddr.parseCIDR(options.v6 ?? '2001:db8:0:1::/64');
    if (v4[0].kind() !== 'ipv4' || v4[1] !== 24) throw new Error('topology: underlay v4 must be a /24');
    if (v6[0].kind() !== 'ipv6' || v6[1] !== 64) throw new Error('topology: underlay v6 must be a /64');
    assertDocumentationAddress(v4[0].toString());
    assertDocumentationAddress(v6[0].toString());
    const segment = this.underlayCount++;
    const bridgeNs = await this.namespace(segment === 0 ? 'ul' : `ul${segment}`);
    await this.ip(bridgeNs, ['link', 'add', 'br0', 'type', 'bridge']);
    await this.ip(bridgeNs, ['link', 'set', 'br0', 'up']);
    const dev = options.dev ?? 'eth0';
    const nodes: UnderlayNode[] = [];
    for (const [i, name] of names.entries()) {
      const ns = await this.namespace(name);
      const v4bytes = v4[0].toByteArray();
      v4bytes[3] = 10 + i;
      const ipv4 = ipaddr.fromByteArray(v4bytes).toString();
      const v6bytes = v6[0].toByteArray();
      v6bytes[15] = 10 + i;
      const ipv6 = ipaddr.fromByteArray(v6bytes).toString();
      const node: UnderlayNode = { name, ns, dev, ipv4, ipv6, cidr4: `${ipv4}/24`, cidr6: `${ipv6}/64` };
      await this.veth({ ns, dev, addresses: [node.cidr4, node.cidr6] }, { ns: bridgeNs, dev: `p${i}`, master: 'br0' }, options.via ? { via: options.via } : {});
      nodes.push(node);
    }
    return nodes;
  }

  /** weft's Netlink handle inside `ns`; closed by destroy(). */
  netlink(ns: string): Netlink {
    this.assertOwned(ns);
    const nl = Netlink.open({ netns: ns });
    this.handles.push(nl);
    return nl;
  }

  /** Runs `cmd args` inside `ns` (ip netns exec) and returns its stdout. */
  async exec(ns: string, cmd: string, args: string[] = []): Promise<string> {
    this.assertOwned(ns);
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', maxBuffer: MAX_BUFFER });
    return stdout;
  }

  /** `ip -n ns args`, stdout. */
  async ip(ns: string, args: string[]): Promise<string> {
    this.assertOwned(ns);
    const { stdout } = await execFileAsync('ip', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: MAX_BUFFER });
    return stdout;
  }

  /** `bridge -n ns args`, stdout. */
  async bridge(ns: string, args: string[]): Promise<string> {
    this.assertOwned(ns);
    const { stdout } = await execFileAsync('bridge', ['-n', ns, ...args], { encoding: 'utf8', maxBuffer: MAX_BUFFER });
    return stdout;
  }

  /** `ip -n ns -j args` or `bridge -n ns -j args`, parsed (an empty answer is []). */
  async json<T = Record<string, unknown>>(ns: string, tool: 'ip' | 'bridge', args: string[]): Promise<T[]> {
    this.assertOwned(ns);
    const { stdout } = await execFileAsync(tool, ['-n', ns, '-j', ...args], { encoding: 'utf8', maxBuffer: MAX_BUFFER });
    const text = stdout.trim();
    if (text === '') return [];
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error(`topology: ${tool} -j ${args.join(' ')} did not answer a list`);
    return parsed as T[];
  }

  /**
   * Closes every Netlink handle and deletes every namespace this topology made (which deletes
   * their veths too). Synchronous, idempotent, and never throws: it also runs from 'exit'.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    this.builders.clear();
    for (const nl of this.handles.splice(0)) {
      try {
        nl.close();
      } catch {
        // already closed
      }
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }

  private async configureWithIp(end: VethEnd, up: boolean): Promise<void> {
    if (end.mtu !== undefined) await this.ip(end.ns, ['link', 'set', end.dev, 'mtu', String(end.mtu)]);
    if (end.mac !== undefined) await this.ip(end.ns, ['link', 'set', end.dev, 'address', end.mac]);
    if (end.master !== undefined) await this.ip(end.ns, ['link', 'set', end.dev, 'master', end.master]);
    for (const address of end.addresses ?? []) {
      await this.ip(end.ns, ['address', 'add', address, 'dev', end.dev, ...(address.includes(':') ? ['nodad'] : [])]);
    }
    if (up) await this.ip(end.ns, ['link', 'set', end.dev, 'up']);
  }

  private async configureWithNetlink(end: VethEnd, up: boolean): Promise<void> {
    const nl = this.builder(end.ns);
    const changes: Parameters<Netlink['links']['set']>[1] = {};
    if (end.mtu !== undefined) changes.mtu = end.mtu;
    if (end.mac !== undefined) changes.mac = end.mac;
    if (end.master !== undefined) changes.master = end.master;
    if (up) changes.up = true;
    for (const address of end.addresses ?? []) await nl.addresses.add(end.dev, address);
    if (Object.keys(changes).length > 0) await nl.links.set(end.dev, changes);
  }

  /** One shared handle per namespace for building (tests get their own from netlink()). */
  private builder(ns: string): Netlink {
    let nl = this.builders.get(ns);
    if (!nl) {
      nl = this.netlink(ns);
      this.builders.set(ns, nl);
    }
    return nl;
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error(`topology ${this.prefix}: used after destroy()`);
  }

  private assertOwned(ns: string): void {
    this.assertLive();
    if (!this.namespaces.includes(ns)) throw new Error(`topology ${this.prefix}: namespace "${ns}" is not one of ours`);
  }
}

/** Namespaces on this machine whose name starts with `prefix` (to check that a run cleaned up). */
export function namespacesWithPrefix(prefix: string): string[] {
  const out = execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }).trim();
  if (out === '') return [];
  return (JSON.parse(out) as { name: string }[]).map((n) => n.name).filter((name) => name.startsWith(prefix));
}
