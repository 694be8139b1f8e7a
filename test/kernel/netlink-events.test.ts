// Kernel test of nl.subscribe: link, address, route, neighbour and FDB notifications, new and del,
// for changes made by iproute2 (not by weft), parsed into the same values the dumps return.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Netlink, NetlinkEvent } from '../../src/netlink/index.js';
import type { EventStream } from '../../src/netlink/events.js';
import { describeKernel } from '../helpers/env.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

describeKernel('netlink events', ['ip', 'bridge'], () => {
  const topo = new Topology('events');
  let node: UnderlayNode;
  let nl: Netlink;
  let stream: EventStream;
  const seen: NetlinkEvent[] = [];

  /** Resolves with the first event (already seen or still to come) that matches. */
  async function expectEvent<K extends NetlinkEvent['kind']>(kind: K, match: (event: Extract<NetlinkEvent, { kind: K }>) => boolean): Promise<Extract<NetlinkEvent, { kind: K }>> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const found = seen.find((e): e is Extract<NetlinkEvent, { kind: K }> => e.kind === kind && match(e as Extract<NetlinkEvent, { kind: K }>));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${kind} event matched; saw ${JSON.stringify(seen.map((e) => e.kind))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    nl = topo.netlink(node.ns);
    stream = nl.subscribe(['link', 'address', 'route', 'neighbour'], (event) => seen.push(event));
  });
  afterAll(() => {
    stream.close();
    topo.destroy();
  });

  it('reports a new link and its deletion', async () => {
    await topo.ip(node.ns, ['link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1']);
    const created = await expectEvent('link', (e) => e.action === 'new' && e.link.name === 'ev0');
    expect(created.link).toMatchObject({ kind: 'veth', up: false });
    await topo.ip(node.ns, ['link', 'set', 'ev0', 'up']);
    await expectEvent('link', (e) => e.action === 'new' && e.link.name === 'ev0' && e.link.up);
    await topo.ip(node.ns, ['link', 'del', 'ev0']);
    const deleted = await expectEvent('link', (e) => e.action === 'del' && e.link.name === 'ev0');
    expect(deleted.link.index).toBe(created.link.index);
  });

  it.each([
    ['IPv4', '203.0.113.5/24'],
    ['IPv6', '2001:db8:7::5/64'],
  ])('reports a new and a deleted %s address', async (_family, cidr) => {
    await topo.ip(node.ns, ['address', 'add', cidr, 'dev', node.dev, 'nodad']);
    const added = await expectEvent('address', (e) => e.action === 'new' && e.address.cidr === cidr);
    expect(added.address.index).toBe((await nl.links.get(node.dev))?.index);
    await topo.ip(node.ns, ['address', 'del', cidr, 'dev', node.dev]);
    await expectEvent('address', (e) => e.action === 'del' && e.address.cidr === cidr);
  });

  it.each([
    ['IPv4', '198.51.100.0/24', () => '192.0.2.20'],
    ['IPv6', '2001:db8:8::/64', () => '2001:db8:0:1::20'],
  ])('reports a new and a deleted %s route, with its protocol', async (_family, dst, gateway) => {
    await topo.ip(node.ns, ['route', 'add', dst, 'via', gateway(), 'dev', node.dev, 'proto', '87']);
    const added = await expectEvent('route', (e) => e.action === 'new' && e.route.dst === dst);
    expect(added.route).toMatchObject({ gateway: gateway(), protocol: 87, table: 254 });
    await topo.ip(node.ns, ['route', 'del', dst]);
    await expectEvent('route', (e) => e.action === 'del' && e.route.dst === dst);
  });

  it.each([
    ['IPv4', '192.0.2.30', '02:00:5e:20:00:01'],
    ['IPv6', '2001:db8:0:1::30', '02:00:5e:20:00:02'],
  ])('reports a new and a deleted %s neighbour', async (_family, ip, mac) => {
    await topo.ip(node.ns, ['neigh', 'add', ip, 'lladdr', mac, 'dev', node.dev, 'nud', 'permanent']);
    const added = await expectEvent('neighbour', (e) => e.action === 'new' && e.neighbour.ip === ip);
    expect(added.neighbour).toMatchObject({ mac, permanent: true });
    await topo.ip(node.ns, ['neigh', 'del', ip, 'dev', node.dev]);
    await expectEvent('neighbour', (e) => e.action === 'del' && e.neighbour.ip === ip);
  });

  it('reports a new and a deleted FDB entry on a VXLAN device, apart from neighbours', async () => {
    await topo.ip(node.ns, ['link', 'add', 'vx0', 'type', 'vxlan', 'id', '9', 'dstport', '8472', 'local', node.ipv4, 'dev', node.dev, 'nolearning']);
    await topo.bridge(node.ns, ['fdb', 'add', '02:00:5e:30:00:01', 'dev', 'vx0', 'dst', '198.51.100.30', 'self', 'permanent']);
    const added = await expectEvent('fdb', (e) => e.action === 'new' && e.fdb.mac === '02:00:5e:30:00:01');
    expect(added.fdb).toMatchObject({ dst: '198.51.100.30', self: true, permanent: true });
    await topo.bridge(node.ns, ['fdb', 'del', '02:00:5e:30:00:01', 'dev', 'vx0', 'dst', '198.51.100.30', 'self']);
    await expectEvent('fdb', (e) => e.action === 'del' && e.fdb.mac === '02:00:5e:30:00:01');
    expect(seen.some((e) => e.kind === 'neighbour' && e.neighbour.mac === '02:00:5e:30:00:01')).toBe(false);
  });

  it('reports changes weft itself makes, too', async () => {
    await nl.routes.replace({ dst: '198.18.20.0/24', gateway: '198.18.20.0', dev: node.dev, onlink: true });
    const added = await expectEvent('route', (e) => e.action === 'new' && e.route.dst === '198.18.20.0/24');
    expect(added.route).toMatchObject({ onlink: true, protocol: 87 });
  });

  // The netlink package's native receive path aborts the process on ENOBUFS (its error path
  // throws in C++). Our sockets set NETLINK_NO_ENOBUFS, so an overflow drops notifications
  // instead: the stream must survive a flood it cannot keep up with and keep working after it.
  it('survives a notification flood while the event loop is blocked, and keeps reporting', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(`route add 10.${100 + (i >> 8)}.${i & 255}.0/24 dev ${node.dev}`);
    const batch = join(mkdtempSync(join(tmpdir(), 'wt-flood-')), 'routes.batch');
    writeFileSync(batch, `${lines.join('\n')}\n`);
    try {
      const flood = spawn('ip', ['-n', node.ns, '-batch', batch], { stdio: 'ignore' });
      const blockedUntil = Date.now() + 1500;
      while (Date.now() < blockedUntil) {
        // keep the loop busy so the kernel overflows the stream's receive buffer
      }
      await new Promise((resolve) => flood.on('exit', resolve));
      await topo.ip(node.ns, ['link', 'add', 'ev9', 'type', 'veth', 'peer', 'name', 'ev8']);
      await expectEvent('link', (e) => e.action === 'new' && e.link.name === 'ev9');
    } finally {
      rmSync(dirname(batch), { recursive: true, force: true });
      await topo.ip(node.ns, ['link', 'del', 'ev9']).catch(() => undefined);
    }
  });

  it('stops reporting once closed', async () => {
    const quiet: NetlinkEvent[] = [];
    const closed = nl.subscribe(['link'], (event) => quiet.push(event));
    closed.close();
    closed.close();
    await topo.ip(node.ns, ['link', 'add', 'ev2', 'type', 'veth', 'peer', 'name', 'ev3']);
    await expectEvent('link', (e) => e.action === 'new' && e.link.name === 'ev2'); // the open stream saw it
    expect(quiet).toEqual([]);
  });
});
