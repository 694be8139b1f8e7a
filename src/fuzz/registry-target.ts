// Fuzz target: the registry boundary — what turns remote entries into RemoteNode values. A case is
// a network plan (as config produces it), this node's lease, and a batch of entries in the three
// forms the code meets them: Kubernetes Node objects (through kube.ts remoteEntryOf), etcd keys and
// values (through etcd.ts decodeEntry) and raw RawNodeEntry records whose fields may be anything.
// The oracle: nothing throws; every entry ends up exactly once as a node or as a typed skip, and
// never as the catch-all "unexpected" skip (that is an untyped exception escaping a check); every
// accepted node is well-formed (canonical subnet inside the network, usable public IP, backend
// data of its type) and no two accepted subnets overlap each other or this node's; and with unique
// names the result does not depend on the order the entries arrived in.
import { isDeepStrictEqual } from 'node:util';
import { parseCidr, parseIp } from '../net/addr.js';
import { rangeOf } from '../net/prefix-math.js';
import { decodeEntry } from '../registry/etcd.js';
import { annotationNames, remoteEntryOf } from '../registry/kube.js';
import type { RegistryNetwork, RemoteNode, SkipReason } from '../registry/types.js';
import { validateRemoteEntries, type RawNodeEntry, type ValidateContext } from '../registry/validate.js';
import type { Rng } from './rng.js';
import { describeThrown, type Failure, type FuzzTarget } from './target.js';
import { mutateJson, mutateString, randomJson, type Json } from './values.js';

export interface RegistryCase {
  network: RegistryNetwork;
  local?: { subnet: string; ipv6Subnet?: string; publicIP: string };
  localBackendType?: 'vxlan' | 'bgp';
  /** Node objects as the API server would send them (schema types, any content). */
  kube: KubeNode[];
  /** etcd entries: the key below <prefix>/subnets/ and the value text. */
  etcd: { key: string; value: string }[];
  /** RawNodeEntry records as they are handed to validation (`name` a string, the rest anything). */
  raw: Json[];
}

const NETWORKS: RegistryNetwork[] = [
  { network: '10.244.0.0/16', subnetLen: 24 },
  { network: '10.244.0.0/16', subnetLen: 24, ipv6Network: 'fd00:10:244::/56', ipv6SubnetLen: 64 },
  { network: '10.0.0.0/28', subnetLen: 30 },
  { network: '0.0.0.0/0', subnetLen: 24, ipv6Network: '::/0', ipv6SubnetLen: 64 },
  { network: '192.168.0.0/22', subnetLen: 26, ipv6Network: '2001:db8::/120', ipv6SubnetLen: 124 },
];

const STRINGS = [
  '10.244.3.0/24', '10.244.0.0/24', '10.244.255.0/24', '10.244.3.0/25', '10.244.3.128/25', '10.244.0.0/16', '10.245.0.0/24', '10.0.0.4/30', '192.168.1.0/26',
  'fd00:10:244:3::/64', 'fd00:10:244::/64', 'fd00:10:244:ff::/64', 'fd00:10:244:3::/65', 'fd00:10:245::/64', '2001:db8::10/124',
  '192.0.2.5', '192.0.2.6', '10.0.0.1', '2001:db8::5', '2001:db8::6', 'vxlan', 'bgp',
  '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:01"}', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:02"}', '{"ASN":64512}', '{"ASN":64512,"RouteReflector":"10.0.0.1"}',
  'n1', 'n2', 'n3', 'node-a',
];
const KEYS = ['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data', 'NodeName', 'VNI', 'VtepMAC', 'ASN', 'RouteReflector', 'name', 'subnet', 'ipv6Subnet', 'publicIP', 'publicIPv6', 'backendType', 'backendData', 'backendV6Data'];

const A = annotationNames('weft.io/');

function validKube(i: number, v6: boolean, bgp: boolean): KubeNode {
  const annotations: { [k: string]: string } = {
    [A.backendType]: bgp ? 'bgp' : 'vxlan',
    [A.backendData]: bgp ? `{"ASN":${64512 + i}}` : `{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:0${i % 10}"}`,
    [A.publicIP]: `192.0.2.${10 + i}`,
  };
  if (v6) {
    annotations[A.publicIPv6] = `2001:db8::${10 + i}`;
    annotations[A.backendV6Data] = bgp ? `{"ASN":${64512 + i}}` : `{"VNI":1,"VtepMAC":"0a:58:0a:f4:01:0${i % 10}"}`;
  }
  const cidrs = [`10.244.${i}.0/24`];
  if (v6) cidrs.push(`fd00:10:244:${i.toString(16)}::/64`);
  return { metadata: { name: `n${i}`, annotations }, spec: { podCIDR: `10.244.${i}.0/24`, podCIDRs: cidrs } };
}

/**
 * Node objects keep the types the API server's schema guarantees (strings, string arrays): what
 * varies is their content, which keys are there, and which are missing.
 */
interface KubeNode {
  metadata: { name: string; annotations?: { [k: string]: string } };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
}

const ANNOTATIONS = [A.backendType, A.backendData, A.publicIP, A.publicIPv6, A.backendV6Data, A.publicIPOverwrite, 'weft.io/other', 'flannel.alpha.coreos.com/backend-type'];

function mutateNode(rng: Rng, node: KubeNode): KubeNode {
  const n = structuredClone(node);
  const annotations = (n.metadata.annotations ??= {});
  const spec = (n.spec ??= {});
  switch (rng.below(8)) {
    case 0:
    case 1: {
      const key = rng.pick(ANNOTATIONS);
      annotations[key] = mutateString(rng, annotations[key] ?? rng.pick(STRINGS), STRINGS);
      break;
    }
    case 2:
      delete annotations[rng.pick(ANNOTATIONS)];
      break;
    case 3:
      if (rng.chance(0.5)) spec.podCIDR = mutateString(rng, spec.podCIDR ?? rng.pick(STRINGS), STRINGS);
      else delete spec.podCIDR;
      break;
    case 4: {
      const list = (spec.podCIDRs ??= []);
      const i = rng.below(list.length + 1);
      if (i === list.length || rng.chance(0.3)) list.push(rng.pick(STRINGS));
      else list[i] = mutateString(rng, list[i] ?? '', STRINGS);
      break;
    }
    case 5:
      if (rng.chance(0.5)) delete spec.podCIDRs;
      else delete n.metadata.annotations;
      break;
    case 6:
      n.metadata.name = mutateString(rng, n.metadata.name, STRINGS);
      break;
    default: {
      // The backend data annotation as edited JSON (wrong types inside the string).
      let doc: Json;
      try {
        doc = JSON.parse(annotations[A.backendData] ?? 'null') as Json;
      } catch {
        doc = null;
      }
      annotations[A.backendData] = JSON.stringify(mutateJson(rng, doc, STRINGS, KEYS));
    }
  }
  return n;
}

function validEtcd(i: number, v6: boolean, named: boolean): { key: string; value: string } {
  const value: { [k: string]: Json } = { PublicIP: `192.0.2.${20 + i}`, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `0a:58:0a:f4:02:0${i % 10}` } };
  if (named) value.NodeName = `e${i}`;
  if (v6) {
    value.PublicIPv6 = `2001:db8::${20 + i}`;
    value.BackendV6Data = { VNI: 1, VtepMAC: `0a:58:0a:f4:03:0${i % 10}` };
  }
  return { key: v6 ? `10.244.${100 + i}.0-24&fd00:10:244:${(100 + i).toString(16)}::-64` : `10.244.${100 + i}.0-24`, value: JSON.stringify(value) };
}

function validRaw(i: number): Json {
  return { name: `r${i}`, subnet: `10.244.${200 + i}.0/24`, publicIP: `192.0.2.${200 + i}`, backendType: 'bgp', backendData: { ASN: 65000 + i } };
}

function generate(rng: Rng, pool: readonly RegistryCase[]): RegistryCase {
  const base = rng.chance(0.3) && pool.length > 0 ? structuredClone(rng.pick(pool)) : undefined;
  const c: RegistryCase = base ?? {
    network: rng.pick(NETWORKS),
    kube: Array.from({ length: rng.int(0, 4) }, (_, i) => validKube(i, rng.chance(0.4), rng.chance(0.4))),
    etcd: Array.from({ length: rng.int(0, 3) }, (_, i) => validEtcd(i, rng.chance(0.4), rng.chance(0.7))),
    raw: Array.from({ length: rng.int(0, 2) }, (_, i) => validRaw(i)),
  };
  if (base === undefined && rng.chance(0.5)) c.local = { subnet: rng.pick(['10.244.1.0/24', '10.244.0.0/24', '10.0.0.4/30']), publicIP: '192.0.2.1', ...(rng.chance(0.3) ? { ipv6Subnet: 'fd00:10:244:1::/64' } : {}) };
  if (base === undefined && rng.chance(0.3)) c.localBackendType = rng.pick(['vxlan', 'bgp'] as const);
  const n = 1 + rng.small(6);
  for (let k = 0; k < n; k++) {
    const where = rng.below(10);
    if (where < 4 && c.kube.length > 0) {
      const i = rng.below(c.kube.length);
      c.kube[i] = mutateNode(rng, c.kube[i] as KubeNode);
    } else if (where < 7 && c.etcd.length > 0) {
      const e = c.etcd[rng.below(c.etcd.length)] as { key: string; value: string };
      if (rng.chance(0.3)) e.key = mutateString(rng, e.key, ['10.244.3.0-24', '10.244.3.0-24&fd00:10:244:3::-64', '&', '-', '10.244.3.0/24']);
      else if (rng.chance(0.7)) {
        let doc: Json;
        try {
          doc = JSON.parse(e.value) as Json;
        } catch {
          doc = e.value;
        }
        e.value = JSON.stringify(mutateJson(rng, doc, STRINGS, KEYS));
      } else e.value = mutateString(rng, e.value, STRINGS);
    } else if (where < 9 && c.raw.length > 0) {
      const i = rng.below(c.raw.length);
      c.raw[i] = mutateJson(rng, c.raw[i] as Json, STRINGS, KEYS);
    } else if (rng.chance(0.5)) {
      // A duplicate of an existing entry, or a brand new random one: overlaps and name clashes.
      if (c.kube.length > 0 && rng.chance(0.5)) c.kube.push(structuredClone(rng.pick(c.kube)));
      else c.raw.push(rng.chance(0.5) ? validRaw(rng.below(4)) : { name: rng.pick(['n1', 'r1', 'e1', '', '__proto__']), subnet: randomJson(rng), publicIP: randomJson(rng), backendType: randomJson(rng), backendData: randomJson(rng) });
    } else if (c.kube.length > 0) {
      c.kube.splice(rng.below(c.kube.length), 1);
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------- the oracle

const REASONS = new Set<SkipReason>(['unparsable', 'bad-mac', 'bad-ip', 'bad-subnet', 'outside-network', 'overlaps-local', 'overlaps-other', 'unknown-backend', 'backend-mismatch']);

class PropertyBroken extends Error {
  override name = 'PropertyBroken';
}

/** The entries of a case as validation receives them (kube and etcd decoding included). */
export function registryEntries(c: RegistryCase): RawNodeEntry[] {
  const raws: RawNodeEntry[] = [];
  for (const node of c.kube) {
    const e = remoteEntryOf(node, A);
    if (e !== undefined) raws.push(e);
  }
  for (const { key, value } of c.etcd) {
    const stored = decodeEntry(key, { value: Buffer.from(value, 'utf8'), create_revision: '1', mod_revision: '1' });
    if (stored.unparsable === undefined && stored.raw !== undefined) raws.push({ name: stored.nodeName ?? key, ...stored.raw });
  }
  c.raw.forEach((r, i) => {
    const o = r !== null && typeof r === 'object' && !Array.isArray(r) ? r : {};
    raws.push({ ...(o as Record<string, unknown>), name: typeof o.name === 'string' ? o.name : `raw-${i}` } as RawNodeEntry);
  });
  return raws;
}

function contextOf(c: RegistryCase): ValidateContext {
  return { network: c.network, ...(c.local !== undefined ? { local: c.local } : {}), ...(c.localBackendType !== undefined ? { localBackendType: c.localBackendType } : {}) };
}

function checkNode(n: RemoteNode, c: RegistryCase): void {
  const inside = (subnet: string, network: string | undefined, what: string): void => {
    if (network === undefined) throw new PropertyBroken(`${n.name}: ${what} ${subnet} accepted without a network`);
    const r = rangeOf(subnet);
    const net = rangeOf(network);
    if (`${parseCidr(subnet).address}/${r.prefixLen}` !== subnet) throw new PropertyBroken(`${n.name}: ${what} ${subnet} is not canonical`);
    if (r.family !== net.family || r.start < net.start || r.end > net.end) throw new PropertyBroken(`${n.name}: ${what} ${subnet} outside ${network}`);
  };
  inside(n.subnet, c.network.network, 'subnet');
  if (n.ipv6Subnet !== undefined) inside(n.ipv6Subnet, c.network.ipv6Network, 'IPv6 subnet');
  if (parseIp(n.publicIP).address !== n.publicIP) throw new PropertyBroken(`${n.name}: public IP ${n.publicIP} not canonical`);
  if (n.publicIPv6 !== undefined && parseIp(n.publicIPv6).family !== 6) throw new PropertyBroken(`${n.name}: public IPv6 ${n.publicIPv6} is not IPv6`);
  for (const d of [n.backendData, n.backendV6Data]) {
    if (d === undefined) continue;
    if (n.backendType === 'vxlan' ? !('VNI' in d) : !('ASN' in d)) throw new PropertyBroken(`${n.name}: backend data does not match ${n.backendType}`);
  }
}

function overlaps(a: string, b: string): boolean {
  const x = rangeOf(a);
  const y = rangeOf(b);
  return x.family === y.family && x.start <= y.end && y.start <= x.end;
}

export function checkRegistryCaseOrThrow(c: RegistryCase): void {
  const raws = registryEntries(c);
  const ctx = contextOf(c);
  const result = validateRemoteEntries(raws, ctx);
  if (result.nodes.length + result.skipped.length !== raws.length) throw new PropertyBroken(`${raws.length} entries became ${result.nodes.length} nodes and ${result.skipped.length} skips`);
  for (const s of result.skipped) {
    if (!REASONS.has(s.reason)) throw new PropertyBroken(`skip reason ${String(s.reason)}`);
    if (s.detail.startsWith('unexpected:')) throw new PropertyBroken(`untyped exception while checking an entry: ${s.detail}`);
  }
  const owned: string[] = [];
  if (c.local !== undefined) {
    for (const s of [c.local.subnet, c.local.ipv6Subnet]) {
      try {
        if (s !== undefined && rangeOf(s) !== undefined) owned.push(s);
      } catch {
        // an unparsable lease owns nothing
      }
    }
  }
  for (let i = 0; i < result.nodes.length; i++) {
    const n = result.nodes[i] as RemoteNode;
    if (i > 0 && (result.nodes[i - 1] as RemoteNode).name > n.name) throw new PropertyBroken('nodes not sorted by name');
    checkNode(n, c);
    for (const s of [n.subnet, n.ipv6Subnet]) {
      if (s === undefined) continue;
      const clash = owned.find((o) => overlaps(o, s));
      if (clash !== undefined) throw new PropertyBroken(`${n.name}: ${s} overlaps ${clash}, both accepted`);
      owned.push(s);
    }
  }
  const names = new Set(raws.map((r) => r.name));
  if (names.size === raws.length) {
    const again = validateRemoteEntries([...raws].reverse(), ctx);
    if (!isDeepStrictEqual(again, result)) throw new PropertyBroken('the result depends on the order of the entries');
  }
}

export function checkRegistryCase(c: RegistryCase): Failure | undefined {
  try {
    checkRegistryCaseOrThrow(c);
    return undefined;
  } catch (e) {
    return { kind: 'crash', reason: describeThrown(e) };
  }
}

export function registryTarget(): FuzzTarget<RegistryCase> {
  return {
    name: 'registry',
    ext: 'json',
    seeds(): RegistryCase[] {
      return [
        { network: NETWORKS[0] as RegistryNetwork, kube: [validKube(1, false, false), validKube(2, false, true)], etcd: [validEtcd(1, false, false)], raw: [validRaw(1)] },
        { network: NETWORKS[1] as RegistryNetwork, local: { subnet: '10.244.1.0/24', ipv6Subnet: 'fd00:10:244:1::/64', publicIP: '192.0.2.1' }, kube: [validKube(2, true, false), validKube(3, true, true)], etcd: [validEtcd(2, true, true)], raw: [] },
        { network: NETWORKS[0] as RegistryNetwork, localBackendType: 'vxlan', kube: [validKube(1, false, false), validKube(1, false, false)], etcd: [], raw: [validRaw(1), validRaw(1)] },
      ];
    },
    generate,
    check: checkRegistryCase,
    serialize: (c, note) => `${JSON.stringify(note === undefined ? c : { note, ...c }, null, 1)}\n`,
    parse(text: string): RegistryCase {
      const { note: _note, ...c } = JSON.parse(text) as RegistryCase & { note?: string };
      return c;
    },
  };
}
