// --ip-masq against the real kernel: the nftables table is installed, applying it twice leaves the
// same ruleset, removal removes it — and the rules do what they say, seen by tcpdump on the far
// side: a pod's packet to an outside address leaves with the node's address, a pod's packet to a
// pod on another node keeps the pod's address, and an outside client reaching a pod is not NATed.
//
// Stage (all in namespaces this test creates; cluster network 198.18.0.0/16, node podCIDR
// 198.18.3.0/24 — documentation/benchmark ranges only):
//
//   pod (198.18.3.2) ── node (198.18.3.1 | 192.0.2.1 | 203.0.113.1) ── remote (192.0.2.2, pod 198.18.5.2)
//                                                                    └─ outside (203.0.113.2)
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyMasq, readMasqTable, removeMasq, renderMasqScript, type MasqNetworks } from '../../src/daemon/masq.js';
import { describeKernel } from '../helpers/env.js';
import { namespacesWithPrefix, Topology } from '../helpers/topology.js';

const NETWORKS: MasqNetworks = { network: '198.18.0.0/16', subnet: '198.18.3.0/24', ipv6Network: '2001:db8:100::/56', ipv6Subnet: '2001:db8:100:3::/64' };

/** Runs tcpdump in `ns` until it has seen one ICMP echo request; resolves to its source address. */
async function captureEchoSource(ns: string, dev: string, trigger: () => Promise<unknown>): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-n', '-l', '-c', '1', 'icmp[icmptype] == icmp-echo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 5000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await trigger();
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`tcpdump saw nothing: ${stderr}`)), 5000))]);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
  const m = / IP6? ([0-9a-f.:]+) > /.exec(stdout);
  if (!m) throw new Error(`tcpdump output not understood: ${stdout}`);
  return m[1]!;
}

function stripHandles(ruleset: unknown[] | undefined): unknown {
  return JSON.parse(JSON.stringify(ruleset ?? [], (key, value: unknown) => (key === 'handle' ? undefined : value))) as unknown;
}

describeKernel('--ip-masq nftables rules', ['nft', 'tcpdump', 'ping'], () => {
  const topo = new Topology('masq');
  let node = '';
  let pod = '';
  let remote = '';
  let outside = '';

  beforeAll(async () => {
    [node, pod, remote, outside] = [await topo.namespace('node'), await topo.namespace('pod'), await topo.namespace('remote'), await topo.namespace('out')];
    await topo.veth({ ns: node, dev: 'p0', addresses: ['198.18.3.1/24'] }, { ns: pod, dev: 'eth0', addresses: ['198.18.3.2/24'] });
    await topo.veth({ ns: node, dev: 'r0', addresses: ['192.0.2.1/24'] }, { ns: remote, dev: 'eth0', addresses: ['192.0.2.2/24'] });
    await topo.veth({ ns: node, dev: 'o0', addresses: ['203.0.113.1/24'] }, { ns: outside, dev: 'eth0', addresses: ['203.0.113.2/24'] });
    await topo.ip(pod, ['route', 'add', 'default', 'via', '198.18.3.1']);
    await topo.ip(remote, ['address', 'add', '198.18.5.2/32', 'dev', 'lo']);
    await topo.ip(remote, ['route', 'add', '198.18.0.0/16', 'via', '192.0.2.1']);
    await topo.ip(node, ['route', 'add', '198.18.5.0/24', 'via', '192.0.2.2']);
    await topo.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  });

  afterAll(() => {
    const prefix = topo.prefix;
    topo.destroy(); // the nftables table goes with the node namespace
    expect(namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('without the rules, a pod cannot reach the outside (it has no route back to pods)', async () => {
    expect(await readMasqTable({ netns: node })).toBeUndefined();
    await expect(topo.exec(pod, 'ping', ['-c', '1', '-W', '1', '203.0.113.2'])).rejects.toThrow();
  });

  it('installs the table; applying twice gives the same ruleset', async () => {
    await applyMasq(NETWORKS, { netns: node });
    const first = await readMasqTable({ netns: node });
    const chain = first?.find((o): o is { chain: Record<string, unknown> } => typeof o === 'object' && o !== null && 'chain' in o);
    expect(chain?.chain).toMatchObject({ family: 'inet', table: 'weft', name: 'postrouting', type: 'nat', hook: 'postrouting', policy: 'accept' });
    expect(first?.filter((o) => typeof o === 'object' && o !== null && 'rule' in o)).toHaveLength(11);
    const text = await topo.exec(node, 'nft', ['list', 'table', 'inet', 'weft']);
    expect(text).toContain('ip saddr 198.18.3.0/24 ip daddr 198.18.0.0/16 return');
    expect(text).toContain('ip saddr 198.18.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random');
    expect(text).toContain('ip6 saddr 2001:db8:100::/56 ip6 daddr != ff00::/8 masquerade fully-random');

    await applyMasq(NETWORKS, { netns: node });
    expect(stripHandles(await readMasqTable({ netns: node }))).toEqual(stripHandles(first));
    expect(await topo.exec(node, 'nft', ['list', 'table', 'inet', 'weft'])).toBe(text);
    // One table, nothing else touched.
    expect((await topo.exec(node, 'nft', ['list', 'tables'])).trim()).toBe('table inet weft');
    expect(renderMasqScript(NETWORKS)).toContain('delete table inet weft');
  });

  it('a pod going outside is masqueraded to the node\'s address', async () => {
    const source = await captureEchoSource(outside, 'eth0', () => topo.exec(pod, 'ping', ['-c', '1', '-W', '2', '203.0.113.2']));
    expect(source).toBe('203.0.113.1');
  });

  it('a pod reaching a pod on another node keeps its address', async () => {
    const source = await captureEchoSource(remote, 'eth0', () => topo.exec(pod, 'ping', ['-c', '1', '-W', '2', '198.18.5.2']));
    expect(source).toBe('198.18.3.2');
  });

  it('an outside client reaching a pod is not NATed', async () => {
    await topo.ip(outside, ['route', 'add', '198.18.3.0/24', 'via', '203.0.113.1']);
    const source = await captureEchoSource(pod, 'eth0', () => topo.exec(outside, 'ping', ['-c', '1', '-W', '2', '198.18.3.2']));
    expect(source).toBe('203.0.113.2');
  });

  it('removal removes the table, and removing again is fine', async () => {
    await removeMasq({ netns: node });
    expect(await readMasqTable({ netns: node })).toBeUndefined();
    await removeMasq({ netns: node });
    expect((await topo.exec(node, 'nft', ['list', 'tables'])).trim()).toBe('');
  });
});
