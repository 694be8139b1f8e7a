// The conflist weft writes, driven through the real CNI reference plugins in /usr/lib/cni exactly
// as a container runtime drives them, inside a node namespace this test creates: pods get
// addresses from the node's subnet (v4 and v6), cni0 holds the gateway with the overlay MTU, pods
// reach each other and the gateway, and DEL removes everything the ADD made.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeConflist } from '../../src/cni/conflist.js';
import { cniAdd, cniDel, type CniResult } from '../helpers/cni.js';
import { describeKernel } from '../helpers/env.js';
import { namespacesWithPrefix, Topology } from '../helpers/topology.js';

interface IpLink {
  ifname: string;
  mtu: number;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

const SUBNET = '198.18.3.0/24';
const SUBNET6 = '2001:db8:3::/64';
const MTU = 1400;

describeKernel('CNI conflist with the reference plugins', ['/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/portmap', 'ping'], () => {
  const topo = new Topology('cni');
  const workDir = mkdtempSync(join(tmpdir(), 'weft-test-cni-kernel-'));
  const dataDir = join(workDir, 'ipam');
  let conflistPath = '';
  let nodeNs = '';
  const pods: { ns: string; id: string; result?: CniResult }[] = [];

  beforeAll(async () => {
    nodeNs = await topo.namespace('node');
    for (const name of ['pod1', 'pod2']) pods.push({ ns: await topo.namespace(name), id: `${topo.prefix}-${name}` });
    conflistPath = (await writeConflist(join(workDir, 'net.d'), { subnet: SUBNET, ipv6Subnet: SUBNET6, mtu: MTU, dataDir })).path;
  });

  afterAll(async () => {
    // DEL what is still there (a failed test), then remove namespaces and files.
    for (const pod of pods) if (pod.result) await cniDel({ conflist: conflistPath, containerId: pod.id, netns: pod.ns, nodeNs }, pod.result).catch(() => undefined);
    const prefix = topo.prefix;
    topo.destroy();
    rmSync(workDir, { recursive: true, force: true });
    expect(namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('ADD gives each pod an address from the subnet, cni0 the gateway and the MTU', async () => {
    const hostHadCni0 = existsSync('/sys/class/net/cni0');
    for (const pod of pods) {
      const { result } = await cniAdd({ conflist: conflistPath, containerId: pod.id, netns: pod.ns, nodeNs });
      pod.result = result;
      const v4 = result.ips?.find((ip) => !ip.address.includes(':'));
      const v6 = result.ips?.find((ip) => ip.address.includes(':'));
      expect(v4?.address).toMatch(/^198\.18\.3\.\d+\/24$/);
      expect(v4?.gateway).toBe('198.18.3.1');
      expect(v6?.address).toMatch(/^2001:db8:3::[0-9a-f]+\/64$/);
      expect(v6?.gateway).toBe('2001:db8:3::1');

      const [eth0] = await topo.json<IpLink>(pod.ns, 'ip', ['address', 'show', 'dev', 'eth0']);
      expect(eth0?.mtu).toBe(MTU);
      expect(eth0?.addr_info?.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(expect.arrayContaining([v4!.address, v6!.address]));
      const routes = await topo.json<{ dst: string; gateway?: string }>(pod.ns, 'ip', ['route', 'show', 'default']);
      expect(routes).toEqual([expect.objectContaining({ dst: 'default', gateway: '198.18.3.1' })]);
    }
    const [cni0] = await topo.json<IpLink>(nodeNs, 'ip', ['address', 'show', 'dev', 'cni0']);
    expect(cni0?.mtu).toBe(MTU);
    expect(cni0?.addr_info?.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(expect.arrayContaining(['198.18.3.1/24', '2001:db8:3::1/64']));
    // The bridge was made inside the node namespace, never on the host.
    expect(existsSync('/sys/class/net/cni0')).toBe(hostHadCni0);
    // host-local kept its reservations in the dataDir we gave it.
    expect(readdirSync(join(dataDir, 'weft')).filter((f) => f.startsWith('198.18.3.'))).toHaveLength(2);
  });

  it('pods reach the gateway and each other through cni0', async () => {
    const other = pods[1]!.result!.ips!.find((ip) => !ip.address.includes(':'))!.address.split('/')[0]!;
    await topo.exec(pods[0]!.ns, 'ping', ['-c', '1', '-W', '2', '198.18.3.1']);
    await topo.exec(pods[0]!.ns, 'ping', ['-c', '1', '-W', '2', other]);
    // A full-MTU packet with DF passes: the pod MTU and the bridge agree.
    await topo.exec(pods[0]!.ns, 'ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', String(MTU - 28), other]);
  });

  it('DEL removes the pod interface, the host veth and the reservation', async () => {
    for (const pod of pods) {
      await cniDel({ conflist: conflistPath, containerId: pod.id, netns: pod.ns, nodeNs }, pod.result);
      delete pod.result;
      expect((await topo.json<IpLink>(pod.ns, 'ip', ['link', 'show'])).map((l) => l.ifname)).toEqual(['lo']);
    }
    const nodeLinks = (await topo.json<IpLink>(nodeNs, 'ip', ['link', 'show'])).map((l) => l.ifname);
    expect(nodeLinks.filter((name) => name.startsWith('veth'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'weft')).filter((f) => f.startsWith('198.18.3.') || f.startsWith('2001:db8'))).toEqual([]);
  });
});
