// The ONLINK fix, shown with the kernel's own answers before and after.
//
// The VXLAN backend routes each remote pod subnet via the remote VTEP address (e.g. 198.18.9.0),
// which lies in no prefix connected to the VXLAN device; only RTNH_F_ONLINK in rtm_flags makes the
// kernel accept such a gateway. The `netlink` package's typings offer `flags` on a route, but its
// RouteFlags only know RTM_F_* bits, so `{ onlink: true }` is silently encoded as 0 and the kernel
// refuses the route with ENETUNREACH. weft writes RTNH_F_ONLINK itself (src/netlink/routes.ts).
import netlinkPackage from 'netlink';
import type { rt as RtTypes } from 'netlink';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RTPROT_WEFT, type Netlink } from '../../src/netlink/index.js';
import { inNetns } from '../../src/netns.js';
import { describeKernel } from '../helpers/env.js';
import type { IpRoute } from '../helpers/iproute-json.js';
import { Topology, type UnderlayNode } from '../helpers/topology.js';

const { createRtNetlink } = netlinkPackage;

const SUBNET = '198.18.9.0/24';
const VTEP = '198.18.9.0'; // the remote node's VTEP: outside every prefix connected to our device

describeKernel('netlink onlink routes: the kernel before and after the fix', ['ip'], () => {
  const topo = new Topology('onlink');
  let node: UnderlayNode;
  let nl: Netlink;

  beforeAll(async () => {
    [node] = (await topo.underlay(['a'])) as [UnderlayNode];
    nl = topo.netlink(node.ns);
  });
  afterAll(() => topo.destroy());

  it('before: the netlink package sends flags {onlink: true} as 0 and the kernel answers ENETUNREACH', async () => {
    const oif = (await nl.links.get(node.dev))!.index;
    const raw = inNetns(node.ns, () => createRtNetlink());
    try {
      const request = raw.newRoute(
        { family: 2, dstLen: 24, table: 254, protocol: RTPROT_WEFT as RtTypes.Route['protocol'], scope: 'UNIVERSE', type: 'UNICAST', flags: { onlink: true } as RtTypes.RouteFlags },
        { dst: Buffer.from([198, 18, 9, 0]), gateway: Buffer.from([198, 18, 9, 0]), oif },
      );
      await expect(request).rejects.toThrow(/ENETUNREACH/);
    } finally {
      raw.socket.close();
    }
    expect(await topo.json<IpRoute>(node.ns, 'ip', ['route', 'show', SUBNET])).toEqual([]);
  });

  it('after: nl.routes.replace({onlink: true}) is accepted and ip shows the onlink flag', async () => {
    await nl.routes.replace({ dst: SUBNET, gateway: VTEP, dev: node.dev, onlink: true });
    const routes = await topo.json<IpRoute>(node.ns, 'ip', ['route', 'show', SUBNET]);
    expect(routes).toEqual([expect.objectContaining({ dst: SUBNET, gateway: VTEP, dev: node.dev, flags: ['onlink'] })]);
    expect((await nl.routes.list({ protocol: RTPROT_WEFT })).find((r) => r.dst === SUBNET)).toMatchObject({ gateway: VTEP, onlink: true });
  });

  it('and without onlink weft gets the same ENETUNREACH, as a NetlinkError', async () => {
    await expect(nl.routes.replace({ dst: '198.18.8.0/24', gateway: '198.18.8.0', dev: node.dev })).rejects.toMatchObject({
      name: 'NetlinkError',
      code: 'ENETUNREACH',
      operation: 'route.replace',
    });
  });
});
