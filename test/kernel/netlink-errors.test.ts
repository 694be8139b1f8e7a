// Kernel test of NetlinkError: every refusal carries the errno, its symbolic code, the operation
// and its target, so callers branch on `code` instead of parsing messages. Covers EEXIST, ESRCH on
// deleting a missing route, ENODEV (unknown device name, and an ifindex the kernel does not know),
// ENETUNREACH, and what a closed handle or a missing namespace answers.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Netlink, NetlinkError, isNetlinkError } from '../../src/netlink/index.js';
import { NetnsError } from '../../src/netns.js';
import { describeKernel } from '../helpers/env.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

/** The rejection of `promise`, which must be a NetlinkError. */
async function refusal(promise: Promise<unknown>): Promise<NetlinkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof NetlinkError)) throw new Error(`expected a NetlinkError, got ${String(error)}`);
  return error;
}

describeKernel('netlink errors', ['ip'], () => {
  const topo = new Topology('errors');
  let node: UnderlayNode;
  let nl: Netlink;

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    nl = topo.netlink(node.ns);
  });
  afterAll(() => topo.destroy());

  it('EEXIST: creating a device whose name is taken', async () => {
    const error = await refusal(nl.links.createBridge(node.dev));
    expect(error).toMatchObject({ errno: 17, code: 'EEXIST', operation: 'link.create-bridge', target: node.dev });
    expect(error.message).toBe(`link.create-bridge ${node.dev}: EEXIST`);
    expect(isNetlinkError(error, 'EEXIST')).toBe(true);
    expect(isNetlinkError(error, 'ENOENT')).toBe(false);
  });

  it.each([
    ['IPv4', '198.51.100.0/24'],
    ['IPv6', '2001:db8:200::/64'],
  ])('ESRCH: deleting an %s route that does not exist', async (_family, dst) => {
    const error = await refusal(nl.routes.delete({ dst }));
    expect(['ESRCH', 'ENOENT']).toContain(error.code);
    expect(error.operation).toBe('route.delete');
    expect(error.target).toContain(dst);
  });

  it('ENODEV: a device name that does not exist, before anything is sent', async () => {
    const error = await refusal(nl.routes.replace({ dst: '198.51.100.0/24', dev: 'nosuchdev' }));
    expect(error).toMatchObject({ errno: 19, code: 'ENODEV', operation: 'link.lookup', target: 'nosuchdev' });
    await expect(nl.links.set('nosuchdev', { up: true })).rejects.toMatchObject({ code: 'ENODEV' });
    await expect(nl.addresses.add('nosuchdev', '192.0.2.99/24')).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('ENODEV: an ifindex the kernel does not know', async () => {
    const error = await refusal(nl.routes.replace({ dst: '198.51.100.0/24', dev: 99_999 }));
    expect(error).toMatchObject({ code: 'ENODEV', operation: 'route.replace' });
    expect(error.target).toContain('198.51.100.0/24');
  });

  it.each([
    ['IPv4', '198.51.100.0/24', '198.18.0.1', ['ENETUNREACH']],
    ['IPv6', '2001:db8:200::/64', '2001:db8:ffff::1', ['ENETUNREACH', 'EHOSTUNREACH']],
  ])('ENETUNREACH: an %s gateway outside every connected prefix, without onlink', async (_family, dst, gateway, codes) => {
    const error = await refusal(nl.routes.replace({ dst, gateway, dev: node.dev }));
    expect(codes).toContain(error.code);
    expect(error.target).toBe(`${dst} via ${gateway} dev ${node.dev} table 254`);
  });

  it('every request of a closed handle fails with EBADF, and close is idempotent', async () => {
    const closed = topo.netlink(node.ns);
    closed.close();
    closed.close();
    await expect(closed.links.list()).rejects.toMatchObject({ code: 'EBADF', operation: 'link.list' });
  });

  it('a namespace that does not exist is a NetnsError, not a socket in the wrong namespace', () => {
    expect(() => Netlink.open({ netns: `${topo.prefix}-missing` })).toThrow(NetnsError);
  });
});
