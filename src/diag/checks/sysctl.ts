// Kernel switches that silently drop forwarded pod traffic: IP forwarding (IPv4, and IPv6 on a
// dual-stack node) and reverse-path filtering. rp_filter is effective as max(all, device); strict
// (1) drops a packet whose source is not routed back out of the interface it came in on, which
// pod traffic breaks as soon as routing is asymmetric (hostPort SNAT, several uplinks, a node IP
// talking through the overlay). Loose (2) still stops spoofing from nowhere; flannel and the
// kubelet docs ask for 0 or 2.
import { vxlanDeviceName } from '../../../modes/vxlan/options.js';
import { command, type Finding, type NodeFacts } from './types.js';

export async function checkForwarding(facts: NodeFacts): Promise<Finding[]> {
  const findings: Finding[] = [];
  const v4 = facts.sysctl('net/ipv4/ip_forward');
  if (v4 === '1') findings.push({ check: 'sysctl.forwarding', severity: 'ok', what: 'net.ipv4.ip_forward = 1' });
  else findings.push({ check: 'sysctl.forwarding', severity: 'error', what: `net.ipv4.ip_forward = ${v4 ?? 'unreadable'}`, why: 'the node does not route between cni0 and the overlay: no pod reaches anything off its node', fix: command('sysctl', '-w', 'net.ipv4.ip_forward=1') });
  if (facts.status?.ipv6Subnet || facts.subnetEnv?.ipv6Subnet) {
    const v6 = facts.sysctl('net/ipv6/conf/all/forwarding');
    if (v6 === '1') findings.push({ check: 'sysctl.forwarding', severity: 'ok', what: 'net.ipv6.conf.all.forwarding = 1' });
    else findings.push({ check: 'sysctl.forwarding', severity: 'error', what: `net.ipv6.conf.all.forwarding = ${v6 ?? 'unreadable'} on a dual-stack node`, why: 'IPv6 pod traffic is not routed off the node', fix: command('sysctl', '-w', 'net.ipv6.conf.all.forwarding=1') });
  }
  return Promise.resolve(findings);
}

/** sysctl(8) names: a dot inside an interface name is written as a slash. */
function sysctlName(dev: string): string {
  return `net.ipv4.conf.${dev.replace(/\./g, '/')}.rp_filter`;
}

export async function checkRpFilter(facts: NodeFacts): Promise<Finding[]> {
  const devices = [vxlanDeviceName(facts.vxlan.vni, 4), 'cni0'].filter((dev) => facts.sysctlDir('net/ipv4/conf').includes(dev));
  const all = Number(facts.sysctl('net/ipv4/conf/all/rp_filter') ?? 0);
  const findings: Finding[] = [];
  if (all === 1) {
    findings.push({ check: 'sysctl.rp_filter', severity: 'error', what: 'net.ipv4.conf.all.rp_filter = 1 (strict) applies to every device', why: 'strict reverse-path filtering drops pod packets whenever the way back differs from the way in', fix: command('sysctl', '-w', 'net.ipv4.conf.all.rp_filter=2') });
  }
  for (const dev of devices) {
    const value = Number(facts.sysctl(`net/ipv4/conf/${dev}/rp_filter`) ?? 0);
    if (value === 1) findings.push({ check: 'sysctl.rp_filter', severity: 'error', what: `${sysctlName(dev)} = 1 (strict) on ${dev}`, why: `pod packets arriving on ${dev} are dropped whenever their source is routed back another way`, fix: command('sysctl', '-w', `${sysctlName(dev)}=2`) });
  }
  if (findings.length === 0) findings.push({ check: 'sysctl.rp_filter', severity: 'ok', what: `rp_filter not strict on ${devices.join(', ') || 'pod devices'} (all = ${all})` });
  return Promise.resolve(findings);
}
