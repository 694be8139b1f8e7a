// BGP checks, as the "cross-node traffic fails" runbook does them on a BGP node: is every peer in
// /status Established (a mesh peer is another node's daemon; a configured peer is a ToR or route
// reflector), and does every remote node in /status have its proto 87 route in the kernel —
// podCIDR via the node's IP — with a next hop the kernel can reach. On a VXLAN node both checks say
// "not applicable" out loud: a check that is skipped silently reads as a check that passed.
import { RTPROT_WEFT } from '../../netlink/index.js';
import { command, type Finding, type NodeFacts } from './types.js';

const ESTABLISHED = 'Established';

export async function checkBgp(facts: NodeFacts): Promise<Finding[]> {
  const backend = facts.status?.backend ?? 'unknown';
  if (backend !== 'bgp') {
    return [
      { check: 'bgp.peers', severity: 'ok', notApplicable: true, what: `BGP peers Established: not applicable: backend ${backend}` },
      { check: 'bgp.routes', severity: 'ok', notApplicable: true, what: `routes for learned prefixes: not applicable: backend ${backend}` },
    ];
  }
  return [...checkPeers(facts), ...(await checkRoutes(facts))];
}

function checkPeers(facts: NodeFacts): Finding[] {
  const check = 'bgp.peers';
  const bgp = facts.status?.bgp;
  if (!bgp) return [{ check, severity: 'warn', what: 'the daemon reports no BGP speaker state in /status', why: 'peer sessions cannot be checked', fix: 'weft status (is the BGP backend started?); restart the weft daemon if it stays empty' }];
  const remotes = facts.status?.remoteNodes ?? [];
  const findings: Finding[] = [];
  let up = 0;
  for (const peer of bgp.peers) {
    if (peer.state === ESTABLISHED) {
      up++;
      continue;
    }
    const node = remotes.find((n) => n.publicIP === peer.address);
    const who = node ? `mesh peer ${peer.address} (${node.name}, AS ${peer.asn})` : `configured peer ${peer.address} (AS ${peer.asn})`;
    findings.push({
      check,
      severity: 'error',
      what: `${who} is ${peer.state}, not Established${peer.lastError ? `; last error: ${peer.lastError}` : ''}`,
      why: node ? `no routes are exchanged with ${node.name}: its pods' subnet ${node.subnet} is learned from nowhere and goes stale` : 'routes from and to this peer are not exchanged: pod subnets are not announced to the fabric',
      fix: node
        ? `check the weft daemon on ${node.name} (${peer.address}): run \`weft status\` there; if it does not answer, restart it (kubectl -n kube-system delete pod -l app=weft --field-selector spec.nodeName=${node.name})`
        : `check the peer: ${command('ping', '-c1', peer.address)} and TCP 179 (${command('nc', '-zv', '-w2', peer.address, '179')}); then its BGP config: neighbor ${bgp.routerId} remote-as ${bgp.asn}, and Backend.Peers in net-conf.json`,
    });
  }
  if (bgp.peers.length === 0) findings.push({ check, severity: 'ok', what: `AS ${bgp.asn}, router ID ${bgp.routerId}: no peers (single node?)` });
  else if (up > 0) findings.unshift({ check, severity: 'ok', what: `${up} of ${bgp.peers.length} BGP peers Established (AS ${bgp.asn}, router ID ${bgp.routerId})` });
  return findings;
}

async function checkRoutes(facts: NodeFacts): Promise<Finding[]> {
  const check = 'bgp.routes';
  if (!facts.status) return [{ check, severity: 'warn', what: `cannot compare routes: ${facts.statusError ?? 'no daemon status'}` }];
  const remotes = facts.status.remoteNodes;
  const routes = await facts.nl.routes.list({ family: 4 });
  const findings: Finding[] = [];
  let healthy = 0;
  for (const node of remotes) {
    if (node.subnet.includes(':')) continue;
    const fix = command('ip', 'route', 'replace', node.subnet, 'via', node.publicIP, 'proto', String(RTPROT_WEFT));
    const daemonState = node.state === 'programmed' ? '' : ` (daemon: ${node.state}${node.reason ? `: ${node.reason}` : ''})`;
    const route = routes.find((r) => r.dst === node.subnet);
    if (!route) {
      findings.push({ check, severity: 'error', what: `${node.name}: no route to ${node.subnet} via ${node.publicIP}${daemonState}`, why: `packets to its pods follow the default route instead of going to ${node.name}; the daemon re-installs it on its next resync (\`weft status\` shows why it is not there), or restore it by hand now`, fix });
      continue;
    }
    // Any weft route will do: behind an eBGP ToR the next hop is the ToR, over two ToRs it is
    // ECMP, with CrossSubnet it may be the VXLAN device. Only a mesh route via the node itself
    // is checked further, for a next hop the kernel cannot reach directly.
    const gateways = route.nexthops?.length ? route.nexthops.map((h) => h.gateway) : [route.gateway];
    if (route.protocol !== RTPROT_WEFT) {
      findings.push({ check, severity: 'error', what: `${node.name}: route to ${node.subnet} is via ${gateways.join(', ') || '-'} proto ${route.protocol}, not a proto ${RTPROT_WEFT} route${daemonState}`, why: `somebody else's route decides where packets to ${node.name}'s pods go`, fix });
      continue;
    }
    if (gateways.length === 1 && gateways[0] === node.publicIP) {
      const hop = await facts.nl.routes.get(node.publicIP).catch(() => undefined);
      if (!hop || hop.type !== 'unicast' || hop.gateway !== undefined) {
        findings.push({ check, severity: 'error', what: `${node.name}: next hop ${node.publicIP} of ${node.subnet} is not directly reachable (${hop ? `${hop.type}${hop.gateway ? ` via ${hop.gateway}` : ''}` : 'no route'})`, why: 'the kernel cannot hand packets for its pods to the node', fix: `restore the underlay route to ${node.publicIP} (check ${command('ip', 'route', 'get', node.publicIP)} and the node's address), then ${fix}` });
        continue;
      }
    }
    healthy++;
  }
  if (healthy > 0) findings.unshift({ check, severity: 'ok', what: `${healthy} of ${remotes.length} remote nodes have a proto ${RTPROT_WEFT} route` });
  if (remotes.length === 0) findings.push({ check, severity: 'ok', what: 'no remote nodes in /status: nothing to route' });
  return findings;
}
