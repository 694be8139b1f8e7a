// Kernel test of the test helper itself (test/helpers/topology.ts): namespaces get a per-run
// prefix, the underlay connects nodes over a bridge in IPv4 and IPv6, only documentation addresses
// are accepted, the host namespace's interfaces are never touched, and destroy() — also through
// the 'exit' safety net — removes every namespace it made, however often it is called.
import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import type { IpLink } from '../helpers/iproute-json.js';
import { destroyAllTopologies, isDocumentationAddress, namespacesWithPrefix, Topology } from '../helpers/topology.js';

function hostLinks(): string {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as IpLink[];
  return JSON.stringify(links.map((l) => [l.ifindex, l.ifname, l.mtu, l.address, l.flags, l.master]));
}

describeKernel('test topology helper', ['ip', 'ping'], () => {
  const made: Topology[] = [];
  const topology = (label: string): Topology => {
    const t = new Topology(label);
    made.push(t);
    return t;
  };
  afterAll(() => {
    for (const t of made) t.destroy();
    for (const t of made) expect(namespacesWithPrefix(t.prefix)).toEqual([]);
  });

  it('accepts only documentation addresses', () => {
    for (const ok of ['192.0.2.1', '198.51.100.7/24', '203.0.113.255', '198.18.0.1', '198.19.255.254/30', '2001:db8::1/64', '2001:db8:ffff::1']) expect(isDocumentationAddress(ok), ok).toBe(true);
    for (const bad of ['10.0.0.1', '192.168.1.1/24', '198.20.0.1', '192.0.3.1', '2001:db9::1', 'fd00::1', '127.0.0.1', 'nonsense']) expect(isDocumentationAddress(bad), bad).toBe(false);
  });

  it('gives every topology its own prefix, all namespaces under it', async () => {
    const a = topology('self');
    const b = topology('self');
    expect(a.prefix).not.toBe(b.prefix);
    expect(a.prefix).toMatch(/^wt-[0-9a-z]+-[0-9a-f]{6}-self$/);
    const ns = await a.namespace('x');
    expect(ns).toBe(`${a.prefix}-x`);
    expect(namespacesWithPrefix(a.prefix)).toEqual([ns]);
    await expect(a.namespace('x')).rejects.toThrow('exists already');
    await expect(b.exec(ns, 'true')).rejects.toThrow('not one of ours');
  });

  it('connects nodes over a bridge underlay in IPv4 and IPv6, leaving the host untouched', async () => {
    const before = hostLinks();
    const t = topology('ul');
    const [a, b] = await t.underlay(['a', 'b']);
    expect(a).toMatchObject({ name: 'a', dev: 'eth0', ipv4: '192.0.2.10', ipv6: '2001:db8:0:1::a', cidr4: '192.0.2.10/24' });
    expect(b).toMatchObject({ ipv4: '192.0.2.11', ipv6: '2001:db8:0:1::b' });
    await t.exec(a!.ns, 'ping', ['-c', '1', '-W', '2', b!.ipv4]);
    await t.exec(a!.ns, 'ping', ['-6', '-c', '1', '-W', '2', b!.ipv6]);
    const ports = await t.json<IpLink>(`${t.prefix}-ul`, 'ip', ['link', 'show', 'master', 'br0']);
    expect(ports.map((p) => p.ifname).sort()).toEqual(['p0', 'p1']);
    expect(hostLinks()).toBe(before);
  });

  it('builds veths with weft Netlink as well as with ip, and refuses other addresses', async () => {
    const t = topology('nl');
    const x = await t.namespace('x');
    const y = await t.namespace('y');
    await t.veth({ ns: x, dev: 'v0', addresses: ['203.0.113.1/24', '2001:db8:9::1/64'], mtu: 1400 }, { ns: y, dev: 'v1', addresses: ['203.0.113.2/24'], mac: '02:00:5e:00:53:01' }, { via: 'netlink' });
    const [v0] = await t.json<IpLink & { addr_info: { local: string }[] }>(x, 'ip', ['address', 'show', 'dev', 'v0']);
    expect(v0).toMatchObject({ mtu: 1400 });
    expect(v0?.flags).toContain('UP');
    expect(v0?.addr_info.map((a) => a.local)).toEqual(expect.arrayContaining(['203.0.113.1', '2001:db8:9::1']));
    expect((await t.json<IpLink>(y, 'ip', ['link', 'show', 'dev', 'v1']))[0]?.address).toBe('02:00:5e:00:53:01');
    await t.exec(x, 'ping', ['-c', '1', '-W', '2', '203.0.113.2']);
    await expect(t.veth({ ns: x, dev: 'v2', addresses: ['10.0.0.1/24'] }, { ns: y, dev: 'v3' })).rejects.toThrow('not in a documentation range');
    await expect(t.underlay(['z'], { v4: '10.1.2.0/24' })).rejects.toThrow('not in a documentation range');
  });

  it('destroy() removes every namespace it made, is safe to call twice, and refuses later use', async () => {
    const t = topology('gone');
    await t.underlay(['a', 'b']);
    t.netlink(`${t.prefix}-a`);
    expect(namespacesWithPrefix(t.prefix)).toHaveLength(3);
    t.destroy();
    t.destroy();
    expect(namespacesWithPrefix(t.prefix)).toEqual([]);
    await expect(t.namespace('again')).rejects.toThrow('used after destroy()');
  });

  it('the exit safety net destroys whatever the tests forgot', async () => {
    const t = new Topology('exit'); // deliberately not destroyed by the test
    await t.namespace('left');
    destroyAllTopologies(); // what process.on('exit') runs
    expect(namespacesWithPrefix(t.prefix)).toEqual([]);
  });
});
