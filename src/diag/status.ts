// `weft status`: asks the local daemon (its status socket, or --health-addr) how it is doing and
// prints it for a person (or as JSON with --json): backend, node, subnet, readiness, the last
// reconcile, and every remote node with its state and, when not programmed, why.
import { CommandFailure } from '../command-failure.js';
import { daemonGet, type DaemonAddress } from '../daemon/client.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import { table } from '../lab/report.js';

export interface StatusOptions {
  socket?: string;
  healthAddr?: string;
  json?: boolean;
}

export function daemonAddress(options: { socket?: string; healthAddr?: string }): DaemonAddress {
  if (options.healthAddr) {
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(options.healthAddr);
    if (!m) throw new Error(`--health-addr: expected host:port, got "${options.healthAddr}"`);
    return { host: m[1]!, port: Number(m[2]) };
  }
  return { socketPath: options.socket ?? process.env.WEFT_STATUS_SOCKET ?? '/run/weft/weft.sock' };
}

export function formatStatus(status: DaemonStatus): string {
  const lines = [
    `node        ${status.node}`,
    `backend     ${status.backend}`,
    `state       ${status.phase}, ${status.ready ? 'ready' : `NOT READY: ${status.notReadyReason ?? '?'}`}`,
    `subnet      ${status.subnet ?? '-'}${status.ipv6Subnet ? `  ${status.ipv6Subnet}` : ''}`,
    `public IP   ${status.publicIP ?? '-'}${status.underlay ? ` (underlay ${status.underlay})` : ''}`,
    `pod MTU     ${status.mtu ?? '-'}`,
  ];
  if (status.lastReconcile) {
    const r = status.lastReconcile;
    lines.push(`reconcile   ${r.at} (${r.trigger}): ${r.durationMs.toFixed(1)} ms, +${r.added} ~${r.changed} -${r.removed}, ${r.errors} errors`);
  }
  const nodes = status.remoteNodes;
  const programmed = nodes.filter((n) => n.state === 'programmed').length;
  lines.push('', `remote nodes: ${programmed} of ${nodes.length} programmed`);
  // A datapath column only when the backend reports one (CrossSubnet: native or vxlan per node).
  const paths = nodes.some((n) => n.datapath !== undefined);
  if (nodes.length > 0) {
    lines.push(
      paths
        ? table(['node', 'subnet', 'public IP', 'state', 'datapath', 'reason'], nodes.map((n) => [n.name, n.subnet, n.publicIP, n.state, n.datapath ?? '-', n.reason ?? '']))
        : table(['node', 'subnet', 'public IP', 'state', 'reason'], nodes.map((n) => [n.name, n.subnet, n.publicIP, n.state, n.reason ?? ''])),
    );
  }
  if (status.bgp) {
    const { asn, routerId, peers, routeReflector } = status.bgp;
    const up = peers.filter((p) => p.state === 'Established').length;
    lines.push('', `bgp: AS ${asn}, router ID ${routerId}${routeReflector !== undefined ? `, route reflector (cluster ID ${routeReflector})` : ''}, ${up} of ${peers.length} peers established`);
    if (peers.length > 0) {
      lines.push(
        table(
          ['peer', 'ASN', 'state', 'uptime', 'received', 'accepted', 'advertised', 'BFD', 'last error'],
          peers.map((p) => [p.address, String(p.asn), p.state, p.uptimeSeconds !== undefined ? formatUptime(p.uptimeSeconds) : '-', String(p.prefixesReceived), String(p.prefixesAccepted), String(p.prefixesAdvertised), p.bfd?.state ?? '-', p.lastError ?? '']),
        ),
      );
    }
  }
  return lines.join('\n');
}

/** 59s, 12m05s, 3h02m, 2d04h. */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

export async function runStatus(options: StatusOptions): Promise<void> {
  const res = await daemonGet(daemonAddress(options), '/status');
  if (res.status !== 200) throw new CommandFailure(`the daemon answered ${res.status} to /status: ${res.body.trim()}`);
  const status = JSON.parse(res.body) as DaemonStatus;
  process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status)}\n`);
  if (!status.ready) process.exitCode = 1;
}
