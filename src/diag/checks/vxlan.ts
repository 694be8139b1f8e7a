// VXLAN datapath checks, as the "cross-node traffic fails" runbook does them by hand: is
// flannel.<VNI> there with the configured VNI, port, local address and underlay; and for every
// remote node the daemon knows, are its three kernel entries present and consistent with each
// other — neighbour (subnet network address → VTEP MAC), FDB (VTEP MAC → node IP, self permanent)
// and the onlink route (podCIDR via network address dev flannel.<VNI>, proto 87).
//
// The VTEP MAC is not in /status, so a missing entry is rebuilt from its partner: a missing FDB
// entry from the neighbour's MAC, a missing neighbour from the FDB entry towards the node's IP.
// When both are gone doctor cannot know the MAC and says so (the daemon's next resync knows it).
import { networkOf, parseCidr } from '../../net/addr.js';
import { RTPROT_WEFT, type FdbInfo, type LinkInfo, type NeighbourInfo, type RouteInfo } from '../../netlink/index.js';
import { vxlanDeviceName, vxlanOverhead } from '../../../modes/vxlan/options.js';
import { command, type Finding, type NodeFacts } from './types.js';

/** Outer headers: 50 bytes over an IPv4 underlay, 70 over IPv6 (modes/vxlan/options.ts). */
function overhead(facts: NodeFacts): number {
  return vxlanOverhead(facts.status?.publicIP?.includes(':') ? 6 : 4);
}

/** The device MTU doctor expects: the daemon's pod MTU, else the subnet file's, else underlay − 50. */
export function expectedMtu(facts: NodeFacts, underlay: LinkInfo | undefined): number | undefined {
  return facts.status?.mtu ?? facts.subnetEnv?.mtu ?? (underlay ? underlay.mtu - overhead(facts) : undefined);
}

export async function checkVxlanDevice(facts: NodeFacts): Promise<Finding[]> {
  const name = vxlanDeviceName(facts.vxlan.vni, 4);
  const check = 'vxlan.device';
  const link = await facts.nl.links.get(name);
  const underlay = facts.status?.underlay ? await facts.nl.links.get(facts.status.underlay) : undefined;
  const mtu = expectedMtu(facts, underlay);
  const local = facts.status?.publicIP;
  const recreate = [
    command('ip', 'link', 'del', name),
    command('ip', 'link', 'add', name, ...(link?.mac ? ['address', link.mac] : []), 'type', 'vxlan', 'id', String(facts.vxlan.vni), 'dstport', String(facts.vxlan.port), ...(local ? ['local', local] : []), ...(underlay ? ['dev', underlay.name] : []), 'nolearning'),
    command('ip', 'link', 'set', name, ...(mtu ? ['mtu', String(mtu)] : []), 'up'),
  ];
  if (!link) {
    return [{ check, severity: 'error', what: `VXLAN device ${name} is missing`, why: 'every packet to a pod on another node is encapsulated by this device; without it cross-node pod traffic has no route', fix: recreate.slice(1).join(' && ') }];
  }
  const v = link.vxlan;
  if (link.kind !== 'vxlan' || !v) {
    return [{ check, severity: 'error', what: `${name} is a ${link.kind ?? 'plain'} device, not VXLAN`, why: 'the routes to other nodes point at it, so their pods are unreachable', fix: recreate.join(' && ') }];
  }
  const wrong: string[] = [];
  if (v.vni !== facts.vxlan.vni) wrong.push(`VNI ${v.vni} (configured ${facts.vxlan.vni})`);
  if (v.port !== facts.vxlan.port) wrong.push(`UDP port ${v.port} (configured ${facts.vxlan.port})`);
  if (local && v.local !== local) wrong.push(`local ${v.local ?? 'unset'} (node IP ${local})`);
  if (underlay && v.underlayIndex !== undefined && v.underlayIndex !== underlay.index) wrong.push(`bound to ifindex ${v.underlayIndex}, not the underlay ${underlay.name}`);
  if (v.learning) wrong.push('learning on');
  const findings: Finding[] = [];
  if (wrong.length > 0) {
    // VNI, port, local and learning are create-only in the kernel: the only fix is to recreate.
    findings.push({ check, severity: 'error', what: `${name}: ${wrong.join(', ')}`, why: 'the other nodes send with the configured VNI and port to this node IP; a device that differs drops or misroutes their packets', fix: recreate.join(' && ') });
  }
  if (!link.up) findings.push({ check, severity: 'error', what: `${name} is down`, why: 'a down device drops every encapsulated packet', fix: command('ip', 'link', 'set', name, 'up') });
  if (findings.length === 0) findings.push({ check, severity: 'ok', what: `${name}: VXLAN VNI ${v.vni}, port ${v.port}, local ${v.local ?? '-'}, up (config from ${facts.vxlan.source})` });
  return findings;
}

export async function checkMtu(facts: NodeFacts): Promise<Finding[]> {
  const check = 'mtu';
  const name = vxlanDeviceName(facts.vxlan.vni, 4);
  const links = await facts.nl.links.list();
  const device = links.find((l) => l.name === name);
  const underlay = facts.status?.underlay ? links.find((l) => l.name === facts.status?.underlay) : undefined;
  const want = expectedMtu(facts, underlay);
  if (!device || want === undefined) return [{ check, severity: 'warn', what: `cannot check MTU: ${!device ? `${name} missing` : 'no configured MTU (daemon and subnet file unreadable)'}` }];
  const findings: Finding[] = [];
  const encap = overhead(facts);
  if (underlay && want > underlay.mtu - encap) {
    findings.push({ check, severity: 'error', what: `configured pod MTU ${want} > underlay ${underlay.name} MTU ${underlay.mtu} − ${encap}`, why: 'full-size pod packets no longer fit the underlay once encapsulated: large transfers stall while pings work', fix: `set Backend.MTU to ${underlay.mtu - encap} (or remove it) in net-conf.json and restart weft` });
  }
  if (device.mtu !== want) {
    findings.push({ check, severity: 'error', what: `${name} MTU ${device.mtu}, expected ${want}${underlay ? ` (underlay ${underlay.name} ${underlay.mtu} − ${encap})` : ''}`, why: device.mtu > want ? 'encapsulated packets exceed the underlay MTU and are dropped' : 'pods send packets up to the pod MTU, which this device then refuses or fragments', fix: command('ip', 'link', 'set', name, 'mtu', String(want)) });
  }
  // Pod-facing interfaces: the bridge and every port on it. One above the pod MTU lets a pod emit
  // frames the overlay cannot carry (the bridge follows its ports, so fix the ports first).
  const bridge = links.find((l) => l.name === 'cni0');
  if (bridge) {
    const ports = links.filter((l) => l.master === bridge.index && l.mtu > want);
    for (const port of ports) findings.push({ check, severity: 'error', what: `${port.name} (on cni0) MTU ${port.mtu} > pod MTU ${want}`, why: 'the pod behind it sends frames larger than the overlay carries; they are dropped without an ICMP the pod would see', fix: command('ip', 'link', 'set', port.name, 'mtu', String(want)) });
    if (bridge.mtu > want) findings.push({ check, severity: 'error', what: `cni0 MTU ${bridge.mtu} > pod MTU ${want}`, why: 'the node sends frames to its pods larger than they accept', fix: command('ip', 'link', 'set', 'cni0', 'mtu', String(want)) });
  }
  if (findings.length === 0) findings.push({ check, severity: 'ok', what: `${name} MTU ${device.mtu} as configured${underlay ? ` (underlay ${underlay.name} ${underlay.mtu} − ${encap} = ${underlay.mtu - encap})` : ''}; cni0 and its ports ≤ ${want}` });
  return findings;
}

/** The three entries of every remote node in /status, compared with the kernel's. */
export async function checkRemoteNodes(facts: NodeFacts): Promise<Finding[]> {
  const name = vxlanDeviceName(facts.vxlan.vni, 4);
  const remotes = facts.status?.remoteNodes ?? [];
  if (!facts.status) return [{ check: 'vxlan.entries', severity: 'warn', what: `cannot compare remote-node entries: ${facts.statusError ?? 'no daemon status'}` }];
  const device = await facts.nl.links.get(name);
  if (!device) return [{ check: 'vxlan.entries', severity: 'error', what: `no ${name}: none of the ${remotes.length} remote nodes has entries`, why: 'see vxlan.device' }];
  const [neighbours, fdb, routes] = await Promise.all([facts.nl.neighbours.list({ dev: device.index, family: 4 }), facts.nl.fdb.list({ dev: device.index }), facts.nl.routes.list({ family: 4 })]);
  const findings: Finding[] = [];
  let healthy = 0;
  for (const node of remotes) {
    const before = findings.length;
    findings.push(...nodeEntries(node, name, device.index, neighbours, fdb, routes));
    if (findings.length === before) healthy++;
  }
  if (healthy > 0) findings.unshift({ check: 'vxlan.entries', severity: 'ok', what: `${healthy} of ${remotes.length} remote nodes have neighbour, FDB and route entries on ${name}` });
  if (remotes.length === 0) findings.push({ check: 'vxlan.entries', severity: 'ok', what: 'no remote nodes in /status: nothing to program' });
  return findings;
}

function nodeEntries(node: { name: string; subnet: string; publicIP: string }, dev: string, index: number, neighbours: NeighbourInfo[], fdb: FdbInfo[], routes: RouteInfo[]): Finding[] {
  let gateway: string;
  try {
    gateway = networkOf(parseCidr(node.subnet)).address;
  } catch {
    return [{ check: 'vxlan.entries', severity: 'warn', what: `${node.name}: subnet "${node.subnet}" in /status is not a prefix` }];
  }
  const findings: Finding[] = [];
  const neighbour = neighbours.find((n) => n.ip === gateway);
  const fdbEntry = fdb.find((f) => f.self && f.dst === node.publicIP && (!neighbour?.mac || f.mac === neighbour.mac)) ?? fdb.find((f) => f.self && f.dst === node.publicIP);
  const mac = neighbour?.mac ?? fdbEntry?.mac;
  const unknownMac = 'restart the weft daemon on this node: it re-adds the entry from the registry (the VTEP MAC is not visible here)';
  if (!neighbour || !neighbour.mac) {
    findings.push({ check: 'vxlan.neighbour', severity: 'error', what: `${node.name}: no neighbour entry ${gateway} on ${dev}`, why: `without it the kernel ARPs for ${gateway} on a device with learning off and gets no answer: traffic to ${node.subnet} is dropped`, fix: mac ? command('ip', 'neigh', 'replace', gateway, 'lladdr', mac, 'dev', dev, 'nud', 'permanent') : unknownMac });
  } else if (!neighbour.permanent) {
    findings.push({ check: 'vxlan.neighbour', severity: 'warn', what: `${node.name}: neighbour ${gateway} on ${dev} is ${neighbour.state.join(',')}, not permanent`, why: 'a non-permanent entry can expire and is then never resolved again', fix: command('ip', 'neigh', 'replace', gateway, 'lladdr', neighbour.mac, 'dev', dev, 'nud', 'permanent') });
  }
  if (!fdbEntry) {
    const stray = mac ? fdb.find((f) => f.mac === mac) : undefined;
    findings.push({
      check: 'vxlan.fdb',
      severity: 'error',
      what: stray ? `${node.name}: FDB entry ${mac} on ${dev} points at ${stray.dst ?? 'nothing'}, not ${node.publicIP}` : `${node.name}: no FDB entry ${mac ?? '(VTEP MAC)'} → ${node.publicIP} on ${dev}`,
      why: `the device does not know where to send frames for ${node.name}'s VTEP: pods on ${node.subnet} are unreachable`,
      fix: mac ? command('bridge', 'fdb', 'replace', mac, 'dev', dev, 'dst', node.publicIP, 'self', 'permanent') : unknownMac,
    });
  } else if (neighbour?.mac && fdbEntry.mac !== neighbour.mac) {
    findings.push({ check: 'vxlan.fdb', severity: 'error', what: `${node.name}: neighbour says VTEP MAC ${neighbour.mac}, FDB entry towards ${node.publicIP} has ${fdbEntry.mac}`, why: 'frames go to a MAC the device cannot place: the packets are flooded to nowhere', fix: command('bridge', 'fdb', 'replace', neighbour.mac, 'dev', dev, 'dst', node.publicIP, 'self', 'permanent') });
  }
  const route = routes.find((r) => r.dst === node.subnet);
  const routeFix = command('ip', 'route', 'replace', node.subnet, 'via', gateway, 'dev', dev, 'onlink', 'proto', String(RTPROT_WEFT));
  if (!route) {
    findings.push({ check: 'vxlan.route', severity: 'error', what: `${node.name}: no route to ${node.subnet}`, why: `packets to its pods follow the default route instead of the overlay`, fix: routeFix });
  } else if (route.index !== index || route.gateway !== gateway || !route.onlink) {
    findings.push({ check: 'vxlan.route', severity: 'error', what: `${node.name}: route to ${node.subnet} is via ${route.gateway ?? '-'} ifindex ${route.index ?? '-'}${route.onlink ? ' onlink' : ''}, not via ${gateway} dev ${dev} onlink`, why: 'packets to its pods do not enter the overlay', fix: routeFix });
  }
  return findings;
}
