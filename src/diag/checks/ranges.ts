// Address plan check: the pod network, the service range (--service-cidr, when given) and the
// node addresses (this node's underlay prefixes and every node's public IP) must not overlap. An
// overlap makes the kernel route one kind of traffic as the other: pods unreachable, or node
// traffic swallowed by the overlay. No command fixes a plan; the fix says which range to move.
import { canonicalPrefix, parseCidr } from '../../net/addr.js';
import { rangeOf } from '../../net/prefix-math.js';
import type { Finding, NodeFacts } from './types.js';

export function overlaps(a: string, b: string): boolean {
  const x = rangeOf(a);
  const y = rangeOf(b);
  return x.family === y.family && x.start <= y.end && y.start <= x.end;
}

export async function checkRanges(facts: NodeFacts): Promise<Finding[]> {
  const check = 'ranges.overlap';
  const pods = facts.subnetEnv?.network;
  if (!pods) return [{ check, severity: 'warn', what: 'cannot check ranges: cluster network unknown (subnet file unreadable)' }];
  const named: { what: string; prefix: string }[] = [];
  if (facts.serviceCidr) named.push({ what: 'service range', prefix: canonicalPrefix(facts.serviceCidr) });
  const underlay = facts.status?.underlay ? await facts.nl.links.get(facts.status.underlay) : undefined;
  if (underlay) {
    for (const a of await facts.nl.addresses.list({ dev: underlay.index, family: 4 })) named.push({ what: `node network on ${underlay.name}`, prefix: canonicalPrefix(a.cidr) });
  }
  for (const ip of [facts.status?.publicIP, ...(facts.status?.remoteNodes ?? []).map((n) => n.publicIP)]) {
    if (ip && parseCidr(`${ip}/32`).family === 4) named.push({ what: `node IP ${ip}`, prefix: `${ip}/32` });
  }
  const findings: Finding[] = [];
  for (const n of named) {
    if (overlaps(pods, n.prefix)) findings.push({ check, severity: 'error', what: `pod network ${pods} overlaps ${n.what} ${n.prefix}`, why: 'the same addresses are routed two ways: pods or nodes become unreachable', fix: `choose disjoint ranges: move Network in net-conf.json${n.what === 'service range' ? ' or the API server\'s --service-cluster-ip-range' : ''} away from ${n.prefix}` });
  }
  const service = named.find((n) => n.what === 'service range');
  for (const n of named.filter((x) => x !== service && service && overlaps(service.prefix, x.prefix))) {
    findings.push({ check, severity: 'error', what: `service range ${service!.prefix} overlaps ${n.what} ${n.prefix}`, why: 'kube-proxy captures node traffic as service traffic', fix: `move the API server's --service-cluster-ip-range away from ${n.prefix}` });
  }
  if (findings.length === 0) findings.push({ check, severity: 'ok', what: `pod network ${pods}${service ? `, service range ${service.prefix}` : ' (no --service-cidr given)'} and node addresses are disjoint` });
  return findings;
}
