// End to end: CrossSubnet "vxlan" in a dual-stack cluster (test/helpers/cross-subnet-cluster.ts:
// a1, a2 on segment A, b1 on segment B, a pod-blind router between). The IPv6 podCIDRs follow the
// IPv4 ones: within A an MP-BGP route via the other node's IPv6 address; to and from b1 the
// flannel-v6.1 overlay, whose VTEP b1 published as its v6 backend data. Pod MTU is the smaller
// device's: flannel-v6 over the IPv6 underlay (1500 − 70).
import { expect, it, beforeAll, afterAll } from 'vitest';
import { probe } from '../../src/lab/exec.js';
import { CrossSubnetCluster } from '../helpers/cross-subnet-cluster.js';
import { describeKernel } from '../helpers/env.js';
import { waitFor } from '../helpers/lab-probes.js';

describeKernel('weft daemon --backend=bgp with CrossSubnet "vxlan", dual stack', ['etcd', 'etcdctl', 'ping'], () => {
  let c: CrossSubnetCluster;

  beforeAll(async () => {
    c = await CrossSubnetCluster.up({ dualStack: true });
  }, 90_000);
  afterAll(async () => {
    await c?.stop();
  }, 30_000);

  it('routes IPv6 podCIDRs natively within segment A and over flannel-v6.1 across the router', async () => {
    const [a1, a2, b1] = [c.node('a1'), c.node('a2'), c.node('b1')];
    const v6Route = (from: typeof a1, to: typeof a1, dev: string) =>
      waitFor(`${from.name}'s IPv6 route to ${to.name} on ${dev}`, async () => (await c.routes(from, 6)).find((r) => r.dst === to.ipv6Subnet && r.dev === dev), 20_000);
    expect(await v6Route(a1, a2, 'eth0')).toMatchObject({ gateway: a2.ul.ipv6 });
    expect(await v6Route(a2, a1, 'eth0')).toMatchObject({ gateway: a1.ul.ipv6 });
    expect(await v6Route(a1, b1, 'flannel-v6.1')).toMatchObject({ gateway: b1.ipv6Subnet!.replace(/\/64$/, '') });
    expect(await v6Route(b1, a1, 'flannel-v6.1')).toMatchObject({ gateway: a1.ipv6Subnet!.replace(/\/64$/, '') });
    // b1's v6 VTEP crossed the registry: a1's flannel-v6.1 FDB points at b1's IPv6 address.
    const fdb = await c.topo.json<{ dst?: string }>(a1.ul.ns, 'bridge', ['fdb', 'show', 'dev', 'flannel-v6.1']);
    expect(fdb.map((e) => e.dst)).toContain(b1.ul.ipv6);
  });

  it('reports every remote node programmed, with the pod MTU of the IPv6 overlay (1430)', async () => {
    for (const n of c.nodes) {
      const s = await waitFor(`${n.name} programmed`, async () => {
        const status = await c.status(n);
        return status.remoteNodes.length === 2 && status.remoteNodes.every((r) => r.state === 'programmed') ? status : undefined;
      }, 10_000);
      expect(s.mtu).toBe(1430);
    }
  });

  it('lets every pod reach every other pod over both families', async () => {
    const failures: string[] = [];
    for (const from of c.nodes) {
      for (const to of c.nodes) {
        if (from === to) continue;
        for (const ip of [to.pod.ip, to.pod.ipv6!]) if (!(await probe('ping', ['-c', '1', '-W', '2', ip], { netns: from.pod.ns })).ok) failures.push(`${from.name} → ${to.name} ${ip}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
