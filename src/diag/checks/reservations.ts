// host-local IPAM checks, from its reservation files (<dataDir>/<network>/<ip>, content
// "<container id>\r\n<ifname>"): the pool over 80 % used, reservations whose container is gone,
// and one IP in two places (two reservation files, or two interfaces).
//
// "Is the container gone" needs the container runtime, which doctor cannot reach. The default
// PodLocator (defaultPodLocator) decides from what is on the node:
//   1. /run/netns/<container id> exists: alive there (runtimes and the lab that name the pod's
//      namespace after the container; the lab's container id is the pod namespace's name);
//   2. else libcni's result cache <cache>/results/<network>-<id>-<ifname> exists: alive; its
//      recorded "netns" path, when present, must still exist, else the container is gone;
//   3. else gone: no runtime recorded it, so nothing will ever call CNI DEL to release it.
// Tests and other runtimes pass their own locator.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { parseCidr } from '../../net/addr.js';
import { ipToBigInt, rangeOf } from '../../net/prefix-math.js';
import { NETNS_RUN_DIR } from '../../netns.js';
import { Netlink } from '../../netlink/index.js';
import { hostLocal, readConflist } from './cni.js';
import { command, iprouteCommand, type Finding, type NodeFacts, type PodLocation, type PodLocator } from './types.js';

export const DEFAULT_CNI_CACHE_DIR = '/var/lib/cni';

export interface Reservation {
  ip: string;
  file: string;
  network: string;
  containerId: string;
  ifname: string;
}

export function defaultPodLocator(cacheDir = DEFAULT_CNI_CACHE_DIR): PodLocator {
  return ({ containerId, ifname, network }): PodLocation => {
    const named = join(NETNS_RUN_DIR, containerId);
    if (!containerId.includes('/') && existsSync(named)) return { alive: true, netns: named, how: `netns ${named} exists` };
    const cache = join(cacheDir, 'results', `${network}-${containerId}-${ifname}`);
    if (existsSync(cache)) {
      try {
        const recorded = (JSON.parse(readFileSync(cache, 'utf8')) as { netns?: unknown }).netns;
        if (typeof recorded === 'string' && recorded !== '') {
          return existsSync(recorded) ? { alive: true, netns: recorded, how: `CNI cache names netns ${recorded}` } : { alive: false, how: `netns ${recorded} recorded by CNI no longer exists` };
        }
      } catch {
        // an unreadable cache entry still says a runtime set this container up
      }
      return { alive: true, how: `CNI cache ${cache} exists` };
    }
    return { alive: false, how: `no netns ${named} and no CNI cache entry` };
  };
}

/** Every reservation file under one network's directory. */
export function readReservations(dir: string, network: string): Reservation[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => isIP(name) !== 0)
    .map((ip) => {
      const file = join(dir, ip);
      const [containerId = '', ifname = 'eth0'] = readFileSync(file, 'utf8').split(/\r?\n/).map((s) => s.trim());
      return { ip, file, network, containerId, ifname };
    });
}

/** Addresses host-local may hand out in a range: all but network, broadcast and the gateway. */
function usableSize(subnet: string): number {
  const r = rangeOf(subnet);
  const size = Number(r.end - r.start + 1n);
  return r.family === 4 ? Math.max(size - 3, 1) : size - 2;
}

function inRange(subnet: string, ip: string): boolean {
  const r = rangeOf(subnet);
  if (r.family !== parseCidr(`${ip}/${r.family === 4 ? 32 : 128}`).family) return false;
  const n = ipToBigInt(ip);
  return n >= r.start && n <= r.end;
}

function removeCommand(files: string[]): string {
  return command('rm', '-f', '--', ...files);
}

export async function checkIpam(facts: NodeFacts): Promise<Finding[]> {
  const { network, dir, ranges } = hostLocal(facts, readConflist(facts));
  const reservations = readReservations(dir, network);
  const located = reservations.map((r) => ({ r, where: facts.locatePod(r) }));
  const stale = located.filter((l) => !l.where.alive);
  const findings: Finding[] = [];

  for (const subnet of ranges) {
    const size = usableSize(subnet);
    const used = reservations.filter((r) => inRange(subnet, r.ip));
    const share = used.length / size;
    const percent = Math.round(share * 100);
    if (share <= 0.8) {
      findings.push({ check: 'ipam.usage', severity: 'ok', what: `${subnet}: ${used.length} of ${size} addresses reserved (${percent} %)` });
      continue;
    }
    const staleHere = stale.filter((s) => inRange(subnet, s.r.ip));
    const freeable = (used.length - staleHere.length) / size <= 0.8;
    findings.push({
      check: 'ipam.usage',
      severity: used.length >= size ? 'error' : 'warn',
      what: `${subnet}: ${used.length} of ${size} addresses reserved (${percent} %, over 80 %)${staleHere.length ? `, ${staleHere.length} of them stale` : ''}`,
      why: used.length >= size ? 'the pool is exhausted: new pods on this node fail with "no IP addresses available"' : 'the pool is nearly exhausted: new pods will soon fail with "no IP addresses available"',
      fix: staleHere.length > 0 && freeable ? removeCommand(staleHere.map((s) => s.r.file)) : 'no command frees enough: lower the kubelet\'s --max-pods below the range size, or give nodes larger subnets (SubnetLen in net-conf.json)',
    });
  }

  if (stale.length > 0) {
    const shown = stale.slice(0, 5).map((s) => `${s.r.ip} (${s.r.containerId}: ${s.where.how})`).join(', ');
    findings.push({ check: 'ipam.stale', severity: 'warn', what: `${stale.length} stale reservation${stale.length > 1 ? 's' : ''} in ${dir}: ${shown}${stale.length > 5 ? ', …' : ''}`, why: 'addresses held for containers that no longer exist are never released (CNI DEL was missed) and shrink the pool', fix: removeCommand(stale.map((s) => s.r.file)) });
  } else {
    findings.push({ check: 'ipam.stale', severity: 'ok', what: `${reservations.length} reservations in ${dir}, none stale (liveness: netns by container id, else the CNI result cache)` });
  }

  findings.push(...duplicateReservations(dir), ...(await duplicateInterfaces(facts, ranges, located)));
  return findings;
}

/** The same IP reserved under two network names in one dataDir (two conflists, one range). */
function duplicateReservations(dir: string): Finding[] {
  const dataDir = join(dir, '..');
  if (!existsSync(dataDir)) return [];
  const owners = new Map<string, Reservation[]>();
  for (const network of readdirSync(dataDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
    for (const r of readReservations(join(dataDir, network), network)) owners.set(r.ip, [...(owners.get(r.ip) ?? []), r]);
  }
  return [...owners.values()]
    .filter((rs) => rs.length > 1)
    .map((rs) => ({ check: 'ipam.duplicate', severity: 'error' as const, what: `${rs[0]!.ip} reserved twice: ${rs.map((r) => `${r.file} (${r.containerId})`).join(', ')}`, why: 'two pods can get the same address: each sees the other\'s traffic and connections reset', fix: removeCommand(rs.slice(1).map((r) => r.file)) }));
}

interface Holder {
  /** undefined: the node's own namespace. */
  netns?: string;
  dev: string;
  cidr: string;
}

/** One pod IP configured on two interfaces: the node's own and those of every pod it can locate. */
async function duplicateInterfaces(facts: NodeFacts, ranges: string[], located: { r: Reservation; where: PodLocation }[]): Promise<Finding[]> {
  const holders = new Map<string, Holder[]>();
  const collect = async (nl: Netlink, netns: string | undefined): Promise<void> => {
    const [links, addresses] = await Promise.all([nl.links.list(), nl.addresses.list()]);
    for (const a of addresses) {
      const ip = a.cidr.split('/')[0]!;
      if (!ranges.some((r) => inRange(r, ip))) continue;
      const dev = links.find((l) => l.index === a.index)?.name ?? String(a.index);
      // The VXLAN device carries the subnet's network address by design: not a pod address.
      if (netns === undefined && dev.startsWith('flannel')) continue;
      holders.set(ip, [...(holders.get(ip) ?? []), { ...(netns ? { netns } : {}), dev, cidr: a.cidr }]);
    }
  };
  await collect(facts.nl, undefined);
  const seen = new Set<string>();
  for (const { where } of located) {
    if (!where.alive || !where.netns || seen.has(where.netns)) continue;
    seen.add(where.netns);
    const nl = Netlink.open({ netns: where.netns });
    try {
      await collect(nl, where.netns);
    } catch {
      // the pod went away while we looked: not a duplicate
    } finally {
      nl.close();
    }
  }
  const owner = new Map(located.map((l) => [l.r.ip, l.where.netns]));
  const findings: Finding[] = [];
  for (const [ip, hs] of holders) {
    if (hs.length < 2) continue;
    const rightful = owner.get(ip);
    // Keep the holder the reservation names; without one, keep the first and remove the rest.
    const keep = hs.find((h) => h.netns !== undefined && h.netns === rightful) ?? hs[0]!;
    const wrong = hs.filter((h) => h !== keep);
    findings.push({
      check: 'ipam.duplicate',
      severity: 'error',
      what: `${ip} is configured on ${hs.length} interfaces: ${hs.map((h) => `${h.dev} in ${h.netns ?? 'the node'}`).join(', ')}${rightful ? ` (reserved to ${rightful})` : ''}`,
      why: 'ARP answers for the address race: traffic to the pod goes to whichever interface answered last',
      fix: wrong.map((h) => addressDelete(h)).join(' && '),
    });
  }
  if (findings.length === 0) findings.push({ check: 'ipam.duplicate', severity: 'ok', what: `no pod IP on two interfaces (node and ${seen.size} pod namespaces)` });
  return findings;
}

function addressDelete(h: Holder): string {
  return iprouteCommand(h.netns, 'ip', 'addr', 'del', h.cidr, 'dev', h.dev);
}
