// `weft status` for a person: formatStatus prints the node, the reconcile and the remote nodes, and
// with the BGP backend a table of the speaker's peers (state, uptime, prefix counts, last error).
import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon.js';
import { formatStatus, formatUptime } from '../../src/diag/status.js';

const base: DaemonStatus = {
  node: 'node1',
  backend: 'vxlan',
  phase: 'running',
  ready: true,
  publicIP: '192.0.2.11',
  subnet: '10.244.1.0/24',
  mtu: 1450,
  underlay: 'eth0',
  remoteNodes: [{ name: 'node2', subnet: '10.244.2.0/24', publicIP: '192.0.2.12', state: 'programmed' }],
};

describe('formatStatus', () => {
  it('prints no BGP section without status.bgp', () => {
    const out = formatStatus(base);
    expect(out).toContain('node        node1');
    expect(out).toContain('remote nodes: 1 of 1 programmed');
    expect(out).toMatch(/node2\s+10\.244\.2\.0\/24\s+192\.0\.2\.12\s+programmed/);
    expect(out).not.toContain('bgp:');
    expect(out).not.toContain('advertised');
  });

  it('adds a datapath column only when the backend reports one (CrossSubnet)', () => {
    expect(formatStatus(base)).not.toContain('datapath');
    const mixed: DaemonStatus = {
      ...base,
      remoteNodes: [
        { name: 'node2', subnet: '10.244.2.0/24', publicIP: '192.0.2.12', state: 'programmed', datapath: 'native' },
        { name: 'node3', subnet: '10.244.3.0/24', publicIP: '198.51.100.13', state: 'programmed', datapath: 'vxlan' },
      ],
    };
    const out = formatStatus(mixed);
    expect(out).toMatch(/node\s+subnet\s+public IP\s+state\s+datapath/);
    expect(out).toMatch(/node3\s+10\.244\.3\.0\/24\s+198\.51\.100\.13\s+programmed\s+vxlan/);
  });

  it('prints a peers table with state, uptime, counts and last error when status.bgp is present', () => {
    const status: DaemonStatus = {
      ...base,
      backend: 'bgp',
      mtu: 1500,
      bgp: {
        asn: 64512,
        routerId: '192.0.2.11',
        peers: [
          { address: '192.0.2.12', asn: 64512, state: 'Established', uptimeSeconds: 725, prefixesReceived: 1, prefixesAccepted: 1, prefixesAdvertised: 1 },
          { address: '192.0.2.13', asn: 64513, state: 'Active', prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0, lastError: 'Hold Timer Expired (sent)', bfd: { state: 'Down', diagnostic: 'Control Detection Time Expired' } },
        ],
      },
    };
    const lines = formatStatus(status).split('\n');
    expect(lines).toContain('bgp: AS 64512, router ID 192.0.2.11, 1 of 2 peers established');
    const header = lines.findIndex((l) => l.startsWith('peer '));
    expect(header).toBeGreaterThan(0);
    expect(lines[header]!.split(/\s{2,}/)).toEqual(['peer', 'ASN', 'state', 'uptime', 'received', 'accepted', 'advertised', 'BFD', 'last error']);
    expect(lines[header + 2]!.split(/\s+/)).toEqual(['192.0.2.12', '64512', 'Established', '12m05s', '1', '1', '1', '-']);
    expect(lines[header + 3]!.split(/\s{2,}/)).toEqual(['192.0.2.13', '64513', 'Active', '-', '0', '0', '0', 'Down', 'Hold Timer Expired (sent)']);
  });

  it('prints the BGP summary line and no table when there are no peers', () => {
    const out = formatStatus({ ...base, backend: 'bgp', bgp: { asn: 64512, routerId: '192.0.2.11', peers: [] } });
    expect(out).toContain('bgp: AS 64512, router ID 192.0.2.11, 0 of 0 peers established');
    expect(out).not.toContain('advertised');
  });
});

describe('formatUptime', () => {
  it('uses the two largest units', () => {
    expect(formatUptime(0)).toBe('0s');
    expect(formatUptime(59)).toBe('59s');
    expect(formatUptime(60)).toBe('1m00s');
    expect(formatUptime(3 * 3600 + 125)).toBe('3h02m');
    expect(formatUptime(2 * 86400 + 4 * 3600 + 59)).toBe('2d04h');
  });
});
