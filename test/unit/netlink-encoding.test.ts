// Unit tests of the rtnetlink encodings, without a kernel: the attribute codec (encode.ts), the
// frame layout (socket.ts encodeFrame), and what Routes, Neighbours, Fdb, Addresses and Links put
// on the wire — captured from a fake LinkHandle whose socket records each request — decoded again
// by the same parsers that read the kernel's dumps (encode → parse round trips), plus byte-level
// fixtures for the fields the `netlink` package gets wrong (rtm_flags ONLINK, RTA_TABLE > 255,
// struct rtnexthop). The kernel tests in test/kernel check the same values against iproute2.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress, Addresses } from '../../src/netlink/addresses.js';
import { attribute, attributes, be16, PayloadBuilder, u32 } from '../../src/netlink/encode.js';
import { parseFdb, Fdb } from '../../src/netlink/fdb.js';
import type { LinkHandle } from '../../src/netlink/handle.js';
import { Links, parseLink } from '../../src/netlink/links.js';
import { parseNeighbour, Neighbours } from '../../src/netlink/neighbours.js';
import { RTNH_F_ONLINK, RTPROT_WEFT } from '../../src/netlink/protocol.js';
import { parseNextHops, parseRoute, Routes, type RouteSpec } from '../../src/netlink/routes.js';
import { encodeFrame, targetOf, type RawMessage, type RequestContext, type RtnlSocket } from '../../src/netlink/socket.js';
import { bytesToIp } from '../../src/net/addr.js';

interface Captured {
  type: number;
  flags: number;
  /** The payload as the kernel would see it after the nlmsghdr. */
  data: Buffer;
  context: RequestContext;
}

/** A LinkHandle whose socket records requests instead of sending them; devices by name → index. */
function fakeHandle(devices: Record<string, number> = { eth0: 2, 'flannel.1': 7, br0: 9 }): { handle: LinkHandle; sent: Captured[] } {
  const sent: Captured[] = [];
  const socket = {
    request: (type: number, flags: number, payload: Uint8Array[], context: RequestContext): Promise<RawMessage[]> => {
      sent.push({ type, flags, data: Buffer.concat(payload), context });
      return Promise.resolve([]);
    },
    dump: (): Promise<RawMessage[]> => Promise.resolve([]),
  } as unknown as RtnlSocket;
  const ifindex = (dev: string | number): Promise<number> => {
    if (typeof dev === 'number') return Promise.resolve(dev);
    const index = devices[dev];
    return index === undefined ? Promise.reject(new Error(`no device ${dev}`)) : Promise.resolve(index);
  };
  const handle: LinkHandle = {
    socket,
    ifindex,
    forgetIndex: () => undefined,
    withDevice: async (dev, op) => op(await ifindex(dev)),
  };
  return { handle, sent };
}

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTMSG_FLAGS_OFFSET = 8;
const RTA_TABLE = 15;
const RTA_MULTIPATH = 9;

async function sendRoute(spec: RouteSpec, op: 'replace' | 'delete' = 'replace'): Promise<Captured> {
  const { handle, sent } = fakeHandle();
  const routes = new Routes(handle);
  await (op === 'replace' ? routes.replace(spec) : routes.delete(spec));
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

function asMessage(captured: Captured): RawMessage {
  return { type: captured.type, flags: 0, data: captured.data };
}

function attributeOf(data: Buffer, headerLength: number, type: number): Buffer | undefined {
  for (const [t, value] of attributes(data.subarray(headerLength))) if (t === type) return value;
  return undefined;
}

describe('encode.ts attributes', () => {
  it('lays out one attribute as length, type, value, padded to 4 bytes', () => {
    // len=7 (4 header + 3 value), type=3, "ab\0", one byte of padding
    expect([...attribute(3, Buffer.from('ab\0'))]).toEqual([7, 0, 3, 0, 0x61, 0x62, 0, 0]);
    expect([...attribute(1, Buffer.alloc(0))]).toEqual([4, 0, 1, 0]);
    expect([...u32(0x01020304)]).toEqual([4, 3, 2, 1]);
    expect([...be16(8472)]).toEqual([0x21, 0x18]);
  });

  it('round-trips any list of attributes through attribute() and attributes() (property)', () => {
    const attr = fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), value: fc.uint8Array({ maxLength: 40 }) });
    fc.assert(
      fc.property(fc.array(attr, { maxLength: 12 }), (list) => {
        const blob = Buffer.concat(list.map((a) => attribute(a.type, a.value)));
        expect(blob.length % 4).toBe(0);
        expect([...attributes(blob)].map(([type, value]) => ({ type, value: new Uint8Array(value) }))).toEqual(list.map((a) => ({ type: a.type, value: new Uint8Array(a.value) })));
      }),
    );
  });

  it('clears the nested and byte-order bits of the type', () => {
    const nested = attribute(0x8000 | 5, u32(1));
    const byteOrder = attribute(0x4000 | 6, u32(2));
    expect([...attributes(Buffer.concat([nested, byteOrder]))].map(([type]) => type)).toEqual([5, 6]);
  });

  it('stops at a truncated or malformed attribute instead of reading past the blob', () => {
    const good = attribute(1, u32(7));
    const claimsTooMuch = Buffer.from([200, 0, 2, 0, 1, 2, 3, 4]);
    const tooShort = Buffer.from([2, 0, 3, 0]);
    expect([...attributes(Buffer.concat([good, claimsTooMuch]))].map(([t]) => t)).toEqual([1]);
    expect([...attributes(Buffer.concat([good, tooShort]))].map(([t]) => t)).toEqual([1]);
    expect([...attributes(Buffer.concat([good, Buffer.from([8, 0])]))].map(([t]) => t)).toEqual([1]);
  });

  it('PayloadBuilder writes a header then aligned attributes, growing as needed (property)', () => {
    const attr = fc.record({ type: fc.integer({ min: 1, max: 0x3fff }), value: fc.uint8Array({ maxLength: 70 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(attr, { maxLength: 10 }), (headerLength, list) => {
        const builder = new PayloadBuilder(headerLength, 8);
        builder.header.fill(0xee, 0, headerLength);
        for (const a of list) builder.attr(a.type, a.value);
        const out = builder.finish();
        expect([...out.subarray(0, headerLength)]).toEqual(Array(headerLength).fill(0xee));
        const aligned = (headerLength + 3) & ~3;
        expect([...attributes(out.subarray(aligned))].map(([type, value]) => [type, [...value]])).toEqual(list.map((a) => [a.type, [...a.value]]));
      }),
    );
    expect([...new PayloadBuilder(4).u32(15, 1000).finish()]).toEqual([0, 0, 0, 0, 8, 0, 15, 0, 0xe8, 0x03, 0, 0]);
  });
});

describe('socket.ts encodeFrame', () => {
  it('writes nlmsghdr with the unpadded length and pads the frame to 4 bytes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0x7fffffff }), fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 5 }), (type, flags, seq, parts) => {
        const frame = encodeFrame(type, flags, seq, parts);
        const payloadLength = parts.reduce((sum, p) => sum + p.length, 0);
        expect(frame.readUInt32LE(0)).toBe(16 + payloadLength);
        expect(frame.length).toBe((16 + payloadLength + 3) & ~3);
        expect(frame.readUInt16LE(4)).toBe(type);
        expect(frame.readUInt16LE(6)).toBe(flags);
        expect(frame.readUInt32LE(8)).toBe(seq);
        expect(frame.readUInt32LE(12)).toBe(0); // port: the kernel fills in ours
        expect([...frame.subarray(16, 16 + payloadLength)]).toEqual(parts.flatMap((p) => [...p]));
        expect([...frame.subarray(16 + payloadLength)].every((b) => b === 0)).toBe(true);
      }),
    );
  });
});

describe('routes.ts encoding', () => {
  it('puts RTNH_F_ONLINK into rtm_flags (the netlink package would encode 0 there)', async () => {
    const sent = await sendRoute({ dst: '198.18.3.0/24', gateway: '198.18.3.0', dev: 'flannel.1', onlink: true });
    expect(sent.type).toBe(RTM_NEWROUTE);
    expect(sent.data.readUInt32LE(RTMSG_FLAGS_OFFSET)).toBe(RTNH_F_ONLINK);
    expect(parseRoute(asMessage(sent))).toMatchObject({ dst: '198.18.3.0/24', gateway: '198.18.3.0', index: 7, onlink: true, protocol: RTPROT_WEFT });
    const without = await sendRoute({ dst: '198.18.3.0/24', gateway: '198.18.3.0', dev: 'flannel.1' });
    expect(without.data.readUInt32LE(RTMSG_FLAGS_OFFSET)).toBe(0);
  });

  it('writes the struct rtmsg field by field', async () => {
    const { data } = await sendRoute({ dst: '2001:db8:5::/48', dev: 'eth0' });
    expect([...data.subarray(0, 12)]).toEqual([
      10, // rtm_family AF_INET6
      48, // rtm_dst_len
      0, // rtm_src_len
      0, // rtm_tos
      254, // rtm_table main
      87, // rtm_protocol RTPROT_WEFT
      253, // rtm_scope link: a device-only route, as ip route chooses
      1, // rtm_type unicast
      0, 0, 0, 0, // rtm_flags
    ]);
  });

  it('puts a table id above 255 into RTA_TABLE only, with rtm_table 0', async () => {
    const { data } = await sendRoute({ dst: '198.51.100.0/24', dev: 'eth0', table: 70_000 });
    expect(data.readUInt8(4)).toBe(0);
    expect(attributeOf(data, 12, RTA_TABLE)?.readUInt32LE(0)).toBe(70_000);
    expect(parseRoute({ type: RTM_NEWROUTE, flags: 0, data })?.table).toBe(70_000);
  });

  it('deletes with scope NOWHERE and type 0 unless told, so any scope and type match', async () => {
    const sent = await sendRoute({ dst: '198.51.100.0/24' }, 'delete');
    expect(sent.type).toBe(RTM_DELROUTE);
    expect([sent.data.readUInt8(5), sent.data.readUInt8(6), sent.data.readUInt8(7)]).toEqual([RTPROT_WEFT, 255, 0]);
    // The target text is only built if the write fails (thousands succeed per reconcile).
    expect(sent.context.operation).toBe('route.delete');
    expect(targetOf(sent.context)).toBe('198.51.100.0/24 table 254');
    const typed = await sendRoute({ dst: '198.51.100.0/24', type: 'blackhole' }, 'delete');
    expect(typed.data.readUInt8(7)).toBe(6);
  });

  it('round-trips route specs through encode and parseRoute (property)', async () => {
    const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }), fc.uint8Array({ minLength: 4, maxLength: 4 }));
    const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    const spec = fc.record({
      prefix: fc.oneof(v4, v6),
      withGateway: fc.boolean(),
      dev: fc.constantFrom(undefined, 'eth0', 'flannel.1', 42),
      onlink: fc.boolean(),
      table: fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: undefined }),
      protocol: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
      metric: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
      type: fc.constantFrom(undefined, 'unicast', 'blackhole', 'unreachable', 'prohibit', 'throw'),
    });
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const [address, prefixLen, gateway] = s.prefix;
        const route: RouteSpec = { dst: `${bytesToIp(address)}/${prefixLen}`, onlink: s.onlink };
        if (s.withGateway) route.gateway = bytesToIp(gateway);
        if (s.dev !== undefined) route.dev = s.dev;
        if (s.table !== undefined) route.table = s.table;
        if (s.protocol !== undefined) route.protocol = s.protocol;
        if (s.metric !== undefined) route.metric = s.metric;
        if (s.type !== undefined) route.type = s.type;
        const parsed = parseRoute(asMessage(await sendRoute(route)));
        const family = address.length === 4 ? 4 : 6;
        expect(parsed).toBeDefined();
        expect(parsed!.family).toBe(family);
        // the destination is sent as its network: host bits cleared
        expect(parsed!.dst.endsWith(`/${prefixLen}`)).toBe(true);
        expect(parsed!.table).toBe(s.table ?? 254);
        expect(parsed!.protocol).toBe(s.protocol ?? RTPROT_WEFT);
        expect(parsed!.type).toBe(s.type ?? 'unicast');
        expect(parsed!.onlink).toBe(s.onlink);
        expect(parsed!.metric).toBe(s.metric);
        expect(parsed!.gateway).toBe(s.withGateway ? bytesToIp(gateway) : undefined);
        expect(parsed!.index).toBe(s.dev === undefined ? undefined : typeof s.dev === 'number' ? s.dev : s.dev === 'eth0' ? 2 : 7);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes multipath next hops as struct rtnexthop with a nested RTA_GATEWAY', async () => {
    const { data } = await sendRoute({
      dst: '203.0.113.0/24',
      nexthops: [
        { gateway: '192.0.2.11', dev: 'eth0', weight: 3 },
        { gateway: '192.0.2.12', dev: 'flannel.1', onlink: true },
      ],
    });
    const multipath = attributeOf(data, 12, RTA_MULTIPATH)!;
    expect([...multipath.subarray(0, 16)]).toEqual([
      16, 0, // rtnh_len: 8 + an 8-byte RTA_GATEWAY
      0, // rtnh_flags
      2, // rtnh_hops: weight - 1
      2, 0, 0, 0, // rtnh_ifindex eth0
      8, 0, 5, 0, 192, 0, 2, 11, // RTA_GATEWAY 192.0.2.11
    ]);
    expect(multipath.readUInt8(16 + 2)).toBe(RTNH_F_ONLINK);
    expect(parseNextHops(multipath)).toEqual([
      { gateway: '192.0.2.11', index: 2, weight: 3, onlink: false },
      { gateway: '192.0.2.12', index: 7, weight: 1, onlink: true },
    ]);
    expect(data.readUInt32LE(RTMSG_FLAGS_OFFSET)).toBe(0); // per-hop onlink, not route-level
  });

  it('round-trips any list of next hops through encode and parseNextHops (property)', async () => {
    const hop = fc.record({
      gateway: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }), { nil: undefined }),
      index: fc.option(fc.integer({ min: 1, max: 0x7fffffff }), { nil: undefined }),
      weight: fc.integer({ min: 1, max: 256 }),
      onlink: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(hop, { minLength: 1, maxLength: 8 }), async (hops) => {
        const sent = await sendRoute({
          dst: '2001:db8::/32',
          nexthops: hops.map((h) => ({ weight: h.weight, onlink: h.onlink, ...(h.gateway ? { gateway: bytesToIp(h.gateway) } : {}), ...(h.index ? { dev: h.index } : {}) })),
        });
        const parsed = parseNextHops(attributeOf(sent.data, 12, RTA_MULTIPATH)!);
        expect(parsed).toEqual(hops.map((h) => ({ weight: h.weight, onlink: h.onlink, ...(h.gateway ? { gateway: bytesToIp(h.gateway) } : {}), ...(h.index ? { index: h.index } : {}) })));
      }),
    );
  });

  it('refuses weights outside 1–256 and gateways of the other family', async () => {
    const { handle } = fakeHandle();
    const routes = new Routes(handle);
    await expect(routes.replace({ dst: '203.0.113.0/24', nexthops: [{ gateway: '192.0.2.1', weight: 257 }] })).rejects.toThrow('next hop weight 257 outside 1–256');
    await expect(routes.replace({ dst: '203.0.113.0/24', nexthops: [{ gateway: '192.0.2.1', weight: 0 }] })).rejects.toThrow(RangeError);
    await expect(routes.replace({ dst: '203.0.113.0/24', gateway: '2001:db8::1' })).rejects.toThrow('gateway 2001:db8::1 is not IPv4');
    await expect(routes.replace({ dst: '2001:db8::/32', nexthops: [{ gateway: '192.0.2.1' }] })).rejects.toThrow('gateway 192.0.2.1 is not IPv6');
  });

  it('stops parsing next hops at a truncated entry', () => {
    const one = Buffer.from([8, 0, 0, 0, 3, 0, 0, 0]);
    const claimsMore = Buffer.from([32, 0, 0, 0, 4, 0, 0, 0]);
    expect(parseNextHops(Buffer.concat([one, claimsMore]))).toEqual([{ index: 3, weight: 1, onlink: false }]);
  });
});

describe('neighbour, FDB, address and link encodings round-trip through their parsers', () => {
  it('neighbours: a permanent entry, IPv4 and IPv6', async () => {
    const { handle, sent } = fakeHandle();
    const neighbours = new Neighbours(handle);
    await neighbours.replace({ dev: 'flannel.1', ip: '198.18.3.0', mac: '02:00:5E:00:00:03' });
    await neighbours.replace({ dev: 'eth0', ip: '2001:db8::3', mac: '02:00:5e:00:00:04' });
    await neighbours.delete({ dev: 'eth0', ip: '2001:db8::3' });
    expect(sent.map((s) => parseNeighbour(asMessage(s)))).toEqual([
      { index: 7, family: 4, ip: '198.18.3.0', mac: '02:00:5e:00:00:03', state: ['permanent'], permanent: true },
      { index: 2, family: 6, ip: '2001:db8::3', mac: '02:00:5e:00:00:04', state: ['permanent'], permanent: true },
      { index: 2, family: 6, ip: '2001:db8::3', state: ['permanent'], permanent: true },
    ]);
    expect(sent.map((s) => s.context.operation)).toEqual(['neighbour.replace', 'neighbour.replace', 'neighbour.delete']);
  });

  it('FDB: AF_BRIDGE, NTF_SELF, permanent, with IPv4 or IPv6 dst or none', async () => {
    const { handle, sent } = fakeHandle();
    const fdb = new Fdb(handle);
    await fdb.replace({ dev: 'flannel.1', mac: '02:00:5e:00:00:03', dst: '198.51.100.3' });
    await fdb.replace({ dev: 'flannel.1', mac: '02:00:5e:00:00:04', dst: '2001:db8::4' });
    await fdb.delete({ dev: 'flannel.1', mac: '02:00:5e:00:00:04' });
    expect(sent.map((s) => s.data.readUInt8(0))).toEqual([7, 7, 7]);
    expect(sent.map((s) => parseFdb(asMessage(s)))).toEqual([
      { index: 7, mac: '02:00:5e:00:00:03', dst: '198.51.100.3', self: true, permanent: true, state: ['permanent'] },
      { index: 7, mac: '02:00:5e:00:00:04', dst: '2001:db8::4', self: true, permanent: true, state: ['permanent'] },
      { index: 7, mac: '02:00:5e:00:00:04', self: true, permanent: true, state: ['permanent'] },
    ]);
    expect(sent[2]!.context).toEqual({ operation: 'fdb.delete', target: '02:00:5e:00:00:04 dev flannel.1' });
  });

  it('addresses: IPv4 with IFA_LOCAL, IPv6 without duplicate address detection', async () => {
    const { handle, sent } = fakeHandle();
    const addresses = new Addresses(handle);
    await addresses.add('eth0', '192.0.2.10/24');
    await addresses.replace('eth0', '2001:db8::a/64');
    expect(sent.map((s) => parseAddress(asMessage(s)))).toEqual([
      { index: 2, family: 4, cidr: '192.0.2.10/24', scope: 0, tentative: false },
      { index: 2, family: 6, cidr: '2001:db8::a/64', scope: 0, tentative: false },
    ]);
    const IFA_F_NODAD = 0x02;
    expect(sent[1]!.data.readUInt8(2) & IFA_F_NODAD).toBe(IFA_F_NODAD);
    expect(sent[0]!.context).toEqual({ operation: 'address.add', target: '192.0.2.10/24 dev eth0' });
  });

  it('links: a VXLAN device with every option, read back by parseLink', async () => {
    const { handle, sent } = fakeHandle();
    await new Links(handle).createVxlan({ name: 'flannel.1', vni: 1, port: 8472, local: '198.51.100.1', underlay: 'eth0', learning: false, gbp: true, mtu: 1450, mac: '02:00:5e:00:00:01' });
    await new Links(handle).createVxlan({ name: 'vx6', vni: 0xffffff, port: 4789, local: '2001:db8::1', learning: true });
    expect(sent.map((s) => parseLink(asMessage(s)))).toEqual([
      { index: 0, name: 'flannel.1', kind: 'vxlan', mtu: 1450, mac: '02:00:5e:00:00:01', up: false, lowerUp: false, vxlan: { vni: 1, port: 8472, local: '198.51.100.1', underlayIndex: 2, learning: false, gbp: true } },
      { index: 0, name: 'vx6', kind: 'vxlan', mtu: 0, up: false, lowerUp: false, vxlan: { vni: 0xffffff, port: 4789, local: '2001:db8::1', learning: true, gbp: false } },
    ]);
  });

  it('links: set encodes up/down through flags and change mask, and master', async () => {
    const { handle, sent } = fakeHandle();
    const links = new Links(handle);
    await links.set('eth0', { up: true, mtu: 1400, master: 'br0' });
    await links.set('eth0', { up: false, master: null });
    const IFF_UP = 1;
    // struct ifinfomsg: family(1) pad(1) type(2) index(4) flags(4) change(4)
    expect(sent.map((s) => [s.data.readInt32LE(4), s.data.readUInt32LE(8) & IFF_UP, s.data.readUInt32LE(12) & IFF_UP])).toEqual([
      [2, 1, 1],
      [2, 0, 1],
    ]);
    expect(parseLink(asMessage(sent[0]!))).toMatchObject({ index: 2, mtu: 1400, master: 9, up: true });
    const IFLA_MASTER = 10;
    const IFINFOMSG_LENGTH = 16;
    expect(attributeOf(sent[1]!.data, IFINFOMSG_LENGTH, IFLA_MASTER)?.readUInt32LE(0)).toBe(0); // master 0 = release
    expect(parseLink(asMessage(sent[1]!)).master).toBeUndefined();
  });
});
