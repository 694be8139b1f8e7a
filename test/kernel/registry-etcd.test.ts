// The etcd registry against a real etcd-server started for this file: the shared registry
// contract, then what only etcd has — allocation races, the subnet file, lease expiry, an etcd
// crash and restart mid-watch, compaction under a watch, and flannel-era entries.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { createLogger } from '../../src/log.js';
import { EtcdRegistry, etcdSubnetKey, readEtcdNetworkConfig, EtcdConfigError, type EtcdRegistryOptions } from '../../src/registry/etcd.js';
import { SKIPPED_METRIC } from '../../src/registry/metrics.js';
import type { LocalNodeSpec, RegistryNetwork } from '../../src/registry/types.js';
import { CONTRACT_NETWORK, registryContract, SkipRecorder, SnapshotRecorder, sleep, subnetsOf, vxlanEntry } from '../registry/contract.js';
import { EtcdServer } from '../registry/etcd-server.js';
import { etcdHarnessFactory, etcdValueOf, testLogger } from '../registry/etcd-harness.js';

describeKernel('etcd registry (real etcd-server)', ['etcd'], () => {
  let server: EtcdServer | undefined;
  const endpoint = (): string => {
    if (server === undefined) throw new Error('etcd-server not started');
    return server.endpoint;
  };

  beforeAll(async () => {
    server = await EtcdServer.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  registryContract('etcd', etcdHarnessFactory(endpoint));

  // -- etcd-specific ----------------------------------------------------------------------------

  let prefixCount = 0;
  let client: Etcd3;
  let prefix: string;
  let open: EtcdRegistry[] = [];
  const tmpDirs: string[] = [];

  function newPrefix(): string {
    prefix = `/weft-test-etcd/${process.pid}-${++prefixCount}`;
    client = new Etcd3({ hosts: [endpoint()] });
    return prefix;
  }

  function registry(extra: Partial<EtcdRegistryOptions> = {}, network: RegistryNetwork = CONTRACT_NETWORK): EtcdRegistry {
    const r = new EtcdRegistry({
      endpoints: [endpoint()],
      prefix,
      network,
      metrics: new Registry(),
      logger: testLogger.child({ component: 'registry-etcd' }),
      backoff: { initialMs: 100, maxMs: 1000 },
      ...extra,
    });
    open.push(r);
    return r;
  }

  function spec(name: string, octet: number): LocalNodeSpec {
    const hex = octet.toString(16).padStart(2, '0');
    return { name, publicIP: `192.0.2.${octet}`, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: `0a:58:0a:f4:01:${hex}` } };
  }

  afterEach(async () => {
    const all = open;
    open = [];
    await Promise.allSettled(all.map((r) => r.close()));
    if (client !== undefined && prefix !== undefined) {
      // The server may be the one a test just restarted; cleanup must not fail the next test.
      await client.delete().prefix(`${prefix}/`).catch(() => undefined);
      client.close();
    }
    for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('8 registries racing for a 10-subnet range all get distinct subnets', async () => {
    newPrefix();
    const network: RegistryNetwork = { network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0/24', subnetMax: '10.244.10.0/24' };
    const leases = await Promise.all(Array.from({ length: 8 }, (_, i) => registry({}, network).register(spec(`race-${i}`, 20 + i))));
    const subnets = leases.map((l) => l.subnet);
    expect(new Set(subnets).size).toBe(8);
    for (const s of subnets) {
      const third = Number(s.split('.')[2]);
      expect(third).toBeGreaterThanOrEqual(1);
      expect(third).toBeLessThanOrEqual(10);
    }
    const stored = await client.getAll().prefix(`${prefix}/subnets/`).keys();
    expect(stored.sort()).toEqual(subnets.map((s) => etcdSubnetKey(prefix, s)).sort());
  });

  it('restart: a new instance reuses its entry; after expiry it takes the subnet file\'s subnet', async () => {
    newPrefix();
    const first = await registry().register(spec('restarter', 40));
    const again = await registry().register(spec('restarter', 40));
    expect(again.subnet).toBe(first.subnet);
    // A node whose entry is gone (expired) but whose subnet file survived gets that subnet.
    const dir = mkdtempSync(join(tmpdir(), 'weft-test-subnet-'));
    tmpDirs.push(dir);
    const file = join(dir, 'subnet.env');
    writeFileSync(file, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.77.1/24\nFLANNEL_MTU=1450\n');
    const fromFile = await registry({ subnetFile: file }).register(spec('from-file', 41));
    expect(fromFile.subnet).toBe('10.244.77.0/24');
  });

  it('lease expiry removes a node from the others\' snapshots', async () => {
    newPrefix();
    const watcher = registry();
    await watcher.register(spec('watcher', 50));
    const shortLived = registry({ leaseTtlSeconds: 2 });
    const lease = await shortLived.register(spec('short-lived', 51));
    const rec = new SnapshotRecorder();
    watcher.watch(rec.onSnapshot);
    await rec.until((s) => subnetsOf(s).includes(lease.subnet), 'short-lived present');
    // Still there after more than one TTL while renewals run.
    await sleep(2500);
    expect(subnetsOf(rec.latest!)).toContain(lease.subnet);
    await shortLived.close(); // stops renewing, does not revoke
    const t0 = Date.now();
    await rec.until((s) => !subnetsOf(s).includes(lease.subnet), 'short-lived expired', 10_000);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it('re-claims the same subnet when its lease is revoked behind its back', async () => {
    newPrefix();
    const r = registry({ leaseRenewMs: 300 });
    const lease = await r.register(spec('revoked', 55));
    const key = etcdSubnetKey(prefix, lease.subnet);
    const kv = (await client.kv.range({ key: Buffer.from(key) })).kvs[0]!;
    await client.leaseClient.leaseRevoke({ ID: kv.lease });
    expect((await client.kv.range({ key: Buffer.from(key) })).kvs).toHaveLength(0);
    const deadline = Date.now() + 5000;
    let back: string | undefined;
    while (back === undefined && Date.now() < deadline) {
      await sleep(100);
      const now = (await client.kv.range({ key: Buffer.from(key) })).kvs[0];
      if (now !== undefined && now.lease !== kv.lease) back = now.lease;
    }
    expect(back).toBeDefined();
    expect(r.currentLease?.subnet).toBe(lease.subnet);
    // register() again (idempotent) works with the new lease.
    expect((await r.register(spec('revoked', 55))).subnet).toBe(lease.subnet);
  });

  it('keeps the last snapshot while etcd is killed, and converges after it restarts', async () => {
    newPrefix();
    const lines: { msg?: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as { msg?: string });
        cb();
      },
    });
    const watcher = registry({ logger: createLogger({ level: 'info', pretty: false, destination }) });
    await watcher.register(spec('watcher', 60));
    const other = registry({ leaseTtlSeconds: 30 });
    const otherLease = await other.register(spec('other', 61));
    const rec = new SnapshotRecorder();
    watcher.watch(rec.onSnapshot);
    await rec.until((s) => subnetsOf(s).includes(otherLease.subnet), 'other present');
    const before = rec.snapshots.length;

    await server!.kill();
    await sleep(2000);
    expect(rec.snapshots.length).toBe(before); // nothing delivered: the last snapshot stands
    await server!.launch();

    // A change made after the restart reaches the watcher; the other node survived the outage.
    const writer = new Etcd3({ hosts: [endpoint()] });
    try {
      await writer.put(etcdSubnetKey(prefix, '10.244.140.0/24')).value(etcdValueOf('late', vxlanEntry(12)));
    } finally {
      writer.close();
    }
    const s = await rec.until((x) => subnetsOf(x).includes('10.244.140.0/24'), 'late node after restart', 20_000);
    expect(subnetsOf(s)).toContain(otherLease.subnet);
    // One line per state change, however many retries the outage took.
    expect(lines.filter((l) => l.msg === 'etcd unreachable, keeping last snapshot')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'etcd reachable again, resynced')).toHaveLength(1);
    // Renewal works against the restarted server too.
    expect(await other.register(spec('other', 61))).toMatchObject({ subnet: otherLease.subnet });
  });

  it('re-reads and re-watches when the watch revision has been compacted', async () => {
    newPrefix();
    await client.put(etcdSubnetKey(prefix, '10.244.131.0/24')).value(etcdValueOf('doomed', vxlanEntry(3)));
    const watchedFrom: bigint[] = [];
    const compacting = registry({
      beforeWatch: async (from) => {
        watchedFrom.push(from);
        if (watchedFrom.length > 1) return;
        // Between the read and the watch: two changes, then compact past the watch revision.
        await client.put(etcdSubnetKey(prefix, '10.244.132.0/24')).value(etcdValueOf('born', vxlanEntry(4)));
        const del = await client.delete().key(etcdSubnetKey(prefix, '10.244.131.0/24')).exec();
        await client.kv.compact({ revision: del.header.revision, physical: true });
      },
    });
    await compacting.register(spec('compacting', 70));
    const rec = new SnapshotRecorder();
    compacting.watch(rec.onSnapshot);
    const s = await rec.until((x) => subnetsOf(x).join() === '10.244.132.0/24', 'state after compaction');
    expect(s.nodes.map((n) => n.name)).toEqual(['born']);
    expect(watchedFrom.length).toBeGreaterThanOrEqual(2);
    expect(watchedFrom[1]!).toBeGreaterThan(watchedFrom[0]!);
    // And the new watch is live.
    await client.put(etcdSubnetKey(prefix, '10.244.133.0/24')).value(etcdValueOf('after', vxlanEntry(5)));
    await rec.until((x) => subnetsOf(x).includes('10.244.133.0/24'), 'a change after the re-watch');
  });

  it('skips every kind of bad entry, names flannel entries by key, and counts skips once', async () => {
    newPrefix();
    const metrics = new Registry();
    const skips = new SkipRecorder();
    const r = registry({ metrics, onSkip: skips.onSkip });
    const lease = await r.register(spec('judge', 80));
    const put = (subnet: string, value: string): Promise<unknown> => client.put(etcdSubnetKey(prefix, subnet)).value(value).exec();
    const flannel = (ip: string, data: string, type = 'vxlan'): string => `{"PublicIP":"${ip}","BackendType":"${type}","BackendData":${data}}`;
    await put('10.244.150.0/24', 'garbage');
    await put('10.244.151.0/24', '[1,2,3]');
    await put('10.244.152.0/24', flannel('192.0.2.152', '{"VNI":1,"VtepMAC":"not-a-mac"}'));
    await put('10.244.153.0/24', flannel('10.0.0.999', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:01"}'));
    await put('10.244.154.0/33', flannel('192.0.2.154', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:02"}'));
    await put('172.16.0.0/24', flannel('192.0.2.155', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:03"}'));
    await put(`${lease.subnet.split('/')[0]}/25`, flannel('192.0.2.156', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:04"}'));
    await put('10.244.160.0/24', flannel('192.0.2.160', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:05"}'));
    await put('10.244.160.0/23', flannel('192.0.2.161', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:06"}'));
    await put('10.244.162.0/24', flannel('192.0.2.162', '{"VNI":1}', 'wireguard'));
    await put('10.244.163.0/24', flannel('192.0.2.163', '{"ASN":64512}', 'bgp'));
    await put('10.244.164.0/24', flannel('192.0.2.164', '{"VNI":"one","VtepMAC":"0a:58:0a:f4:99:07"}'));
    await put('10.244.170.0/24', flannel('192.0.2.170', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:08"}'));
    const rec = new SnapshotRecorder();
    r.watch(rec.onSnapshot);
    // The /24 was written first: it keeps its subnet, the later /23 around it is skipped (a
    // newcomer cannot take a running node's subnet, whatever its key sorts like).
    const s = await rec.until((x) => subnetsOf(x).join() === '10.244.160.0/24,10.244.170.0/24', 'only the good entries');
    expect(s.nodes.map((n) => n.name)).toEqual(['10.244.160.0-24', '10.244.170.0-24']);
    const byEntry = Object.fromEntries(skips.skipped.map((k) => [k.entry, k.reason]));
    expect(byEntry).toEqual({
      '10.244.150.0-24': 'unparsable',
      '10.244.151.0-24': 'unparsable',
      '10.244.152.0-24': 'bad-mac',
      '10.244.153.0-24': 'bad-ip',
      '10.244.154.0-33': 'bad-subnet',
      '172.16.0.0-24': 'outside-network',
      [`${lease.subnet.split('/')[0]}-25`]: 'overlaps-local',
      '10.244.160.0-23': 'overlaps-other',
      '10.244.162.0-24': 'unknown-backend',
      '10.244.163.0-24': 'backend-mismatch',
      '10.244.164.0-24': 'unparsable',
    });
    // More traffic: no repeated reports, the counter counted each skip once.
    await put('10.244.171.0/24', flannel('192.0.2.171', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:09"}'));
    await rec.until((x) => subnetsOf(x).includes('10.244.171.0/24'), 'one more good entry');
    expect(skips.skipped).toHaveLength(11);
    const metric = (await metrics.getSingleMetric(SKIPPED_METRIC)!.get()).values;
    expect(metric.reduce((sum, v) => sum + v.value, 0)).toBe(11);
    expect(metric.find((v) => v.labels.reason === 'unparsable')?.value).toBe(3);
    // Fixing an entry brings it back.
    await put('10.244.152.0/24', flannel('192.0.2.152', '{"VNI":1,"VtepMAC":"0a:58:0a:f4:99:0a"}'));
    await rec.until((x) => subnetsOf(x).includes('10.244.152.0/24'), 'the fixed entry');
  });

  // -- dual stack (flannel's layout: one key "<v4>-<len>&<v6>-<len>" names both subnets) ----------

  const DUAL: RegistryNetwork = { ...CONTRACT_NETWORK, ipv6Network: 'fd00:10:244::/56', ipv6SubnetLen: 64 };

  function dualSpec(name: string, octet: number): LocalNodeSpec {
    const hex = octet.toString(16).padStart(2, '0');
    return { ...spec(name, octet), publicIPv6: `2001:db8::${hex}`, backendV6Data: { VNI: 1, VtepMAC: `0a:58:fd:00:01:${hex}` } };
  }

  function inV6Network(subnet: string | undefined): boolean {
    return subnet !== undefined && /^fd00:10:244:(?:[0-9a-f]{1,2})?::\/64$/.test(subnet);
  }

  it('dual stack: claims an IPv6 subnet too, in one flannel-style key with PublicIPv6 and BackendV6Data', async () => {
    newPrefix();
    const lease = await registry({}, DUAL).register(dualSpec('dual', 30));
    expect(lease.subnet).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(inV6Network(lease.ipv6Subnet)).toBe(true);
    expect(lease.ipv6Subnet).not.toBe('fd00:10:244::/64'); // flannel's default IPv6SubnetMin skips the first
    const kvs = await client.getAll().prefix(`${prefix}/subnets/`).strings();
    const key = etcdSubnetKey(prefix, lease.subnet, lease.ipv6Subnet);
    expect(key).toBe(`${prefix}/subnets/${lease.subnet.replace('/', '-')}&${lease.ipv6Subnet!.replace('/', '-')}`);
    expect(Object.keys(kvs)).toEqual([key]);
    expect(JSON.parse(kvs[key]!)).toEqual({
      PublicIP: '192.0.2.30',
      PublicIPv6: '2001:db8::1e',
      BackendType: 'vxlan',
      BackendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:1e' },
      BackendV6Data: { VNI: 1, VtepMAC: '0a:58:fd:00:01:1e' },
      NodeName: 'dual',
    });
    // IPv4-only registries keep the IPv4-only key and value (no IPv6 fields appear).
    const v4 = await registry().register(spec('single', 31));
    expect(v4.ipv6Subnet).toBeUndefined();
    const single = (await client.get(etcdSubnetKey(prefix, v4.subnet)).string())!;
    expect(Object.keys(JSON.parse(single) as object)).toEqual(['PublicIP', 'BackendType', 'BackendData', 'NodeName']);
  });

  it('dual stack restart keeps both subnets; after expiry the subnet file gives both back; a v4-only entry gains a v6 subnet', async () => {
    newPrefix();
    const first = await registry({}, DUAL).register(dualSpec('restarter6', 32));
    const again = await registry({}, DUAL).register(dualSpec('restarter6', 32));
    expect(again).toEqual(first);
    expect(await client.getAll().prefix(`${prefix}/subnets/`).keys()).toHaveLength(1);
    // The entry is gone (expired); the subnet file of the previous run survived.
    await client.delete().prefix(`${prefix}/subnets/`);
    const dir = mkdtempSync(join(tmpdir(), 'weft-test-subnet-'));
    tmpDirs.push(dir);
    const file = join(dir, 'subnet.env');
    writeFileSync(file, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.77.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:4d::1/64\n');
    const fromFile = await registry({ subnetFile: file }, DUAL).register(dualSpec('from-file6', 33));
    expect(fromFile).toMatchObject({ subnet: '10.244.77.0/24', ipv6Subnet: 'fd00:10:244:4d::/64' });
    // A node registered before the cluster turned dual stack keeps its IPv4 subnet; its key is replaced.
    const old = await registry().register(spec('upgraded', 34));
    const upgraded = await registry({}, DUAL).register(dualSpec('upgraded', 34));
    expect(upgraded.subnet).toBe(old.subnet);
    expect(inV6Network(upgraded.ipv6Subnet)).toBe(true);
    const keys = await client.getAll().prefix(`${prefix}/subnets/`).keys();
    expect(keys).toContain(etcdSubnetKey(prefix, upgraded.subnet, upgraded.ipv6Subnet));
    expect(keys).not.toContain(etcdSubnetKey(prefix, old.subnet));
  });

  it('dual stack: re-claims both subnets when its lease is revoked behind its back', async () => {
    newPrefix();
    const r = registry({ leaseRenewMs: 300 }, DUAL);
    const lease = await r.register(dualSpec('revoked6', 37));
    const key = etcdSubnetKey(prefix, lease.subnet, lease.ipv6Subnet);
    const kv = (await client.kv.range({ key: Buffer.from(key) })).kvs[0]!;
    await client.leaseClient.leaseRevoke({ ID: kv.lease });
    const deadline = Date.now() + 5000;
    let back: string | undefined;
    while (back === undefined && Date.now() < deadline) {
      await sleep(100);
      const now = (await client.kv.range({ key: Buffer.from(key) })).kvs[0];
      if (now !== undefined && now.lease !== kv.lease) back = now.lease;
    }
    expect(back).toBeDefined();
    expect(r.currentLease).toEqual(lease);
  });

  it('8 dual-stack registries racing for 10 subnets per family all get distinct subnets in both', async () => {
    newPrefix();
    // IPv4 has room to spare, IPv6 does not: a shared IPv6 subnet under two different keys would
    // pass a key-absent check; only the transaction's create-revision guard prevents it.
    const network: RegistryNetwork = { network: '10.244.0.0/16', subnetLen: 24, ipv6Network: 'fd00:10:244::/56', ipv6SubnetLen: 64, ipv6SubnetMin: 'fd00:10:244:1::/64', ipv6SubnetMax: 'fd00:10:244:a::/64' };
    const leases = await Promise.all(Array.from({ length: 8 }, (_, i) => registry({}, network).register(dualSpec(`race6-${i}`, 20 + i))));
    expect(new Set(leases.map((l) => l.subnet)).size).toBe(8);
    expect(new Set(leases.map((l) => l.ipv6Subnet)).size).toBe(8);
    for (const l of leases) expect(parseInt(l.ipv6Subnet!.split(':')[3]!, 16)).toBeGreaterThanOrEqual(1);
    for (const l of leases) expect(parseInt(l.ipv6Subnet!.split(':')[3]!, 16)).toBeLessThanOrEqual(10);
    const stored = await client.getAll().prefix(`${prefix}/subnets/`).keys();
    expect(stored.sort()).toEqual(leases.map((l) => etcdSubnetKey(prefix, l.subnet, l.ipv6Subnet)).sort());
  });

  it('dual-stack snapshots carry ipv6Subnet, publicIPv6 and backendV6Data of remote nodes', async () => {
    newPrefix();
    const watcher = registry({}, DUAL);
    await watcher.register(dualSpec('watcher6', 35));
    const otherLease = await registry({}, DUAL).register(dualSpec('other6', 36));
    const rec = new SnapshotRecorder();
    watcher.watch(rec.onSnapshot);
    const s = await rec.until((x) => x.nodes.some((n) => n.name === 'other6'), 'other6 present');
    expect(s.nodes).toEqual([
      {
        name: 'other6',
        subnet: otherLease.subnet,
        ipv6Subnet: otherLease.ipv6Subnet,
        publicIP: '192.0.2.36',
        publicIPv6: '2001:db8::24',
        backendType: 'vxlan',
        backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:01:24' },
        backendV6Data: { VNI: 1, VtepMAC: '0a:58:fd:00:01:24' },
      },
    ]);
  });

  it('dual stack: an IPv6 subnet overlapping another node\'s is skipped, and never allocated', async () => {
    newPrefix();
    const network: RegistryNetwork = { ...DUAL, ipv6SubnetMin: 'fd00:10:244:1::/64', ipv6SubnetMax: 'fd00:10:244:4::/64' };
    const value = (name: string, octet: number): string =>
      JSON.stringify({ PublicIP: `192.0.2.${octet}`, PublicIPv6: `2001:db8::${octet}`, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: `0a:58:0a:f4:02:${octet}` }, BackendV6Data: { VNI: 1, VtepMAC: `0a:58:fd:00:02:${octet}` }, NodeName: name });
    // a-first holds fd00:10:244:1::/64; b-second claims a /62 (:0 to :3) covering it; c-third is fine.
    await client.put(etcdSubnetKey(prefix, '10.244.141.0/24', 'fd00:10:244:1::/64')).value(value('a-first', 41));
    await client.put(etcdSubnetKey(prefix, '10.244.142.0/24', 'fd00:10:244::/62')).value(value('b-second', 42));
    await client.put(etcdSubnetKey(prefix, '10.244.143.0/24', 'fd00:10:244:10::/64')).value(value('c-third', 43));
    const skips = new SkipRecorder();
    const r = registry({ onSkip: skips.onSkip }, network);
    const lease = await r.register(dualSpec('judge6', 44));
    // :1 to :3 are taken (the /62 counts for allocation even though it is skipped): :4 is left.
    expect(lease.ipv6Subnet).toBe('fd00:10:244:4::/64');
    const rec = new SnapshotRecorder();
    r.watch(rec.onSnapshot);
    const s = await rec.until((x) => x.nodes.length === 2, 'the two good entries');
    expect(s.nodes.map((n) => [n.name, n.ipv6Subnet])).toEqual([
      ['a-first', 'fd00:10:244:1::/64'],
      ['c-third', 'fd00:10:244:10::/64'],
    ]);
    expect(skips.skipped).toEqual([expect.objectContaining({ entry: 'b-second', reason: 'overlaps-other' })]);
    expect(skips.skipped[0]!.detail).toContain('fd00:10:244::/62');
  });

  it('reads net-conf.json from <prefix>/config', async () => {
    newPrefix();
    await expect(readEtcdNetworkConfig(client, prefix)).rejects.toBeInstanceOf(EtcdConfigError);
    await client.put(`${prefix}/config`).value('{"Network":"10.50.0.0/16","SubnetMin":"10.50.10.0","SubnetMax":"10.50.20.0","Backend":{"Type":"vxlan","VNI":4}}');
    const conf = await readEtcdNetworkConfig(client, prefix);
    expect(conf.network).toEqual({ network: '10.50.0.0/16', subnetLen: 24, subnetMin: '10.50.10.0/24', subnetMax: '10.50.20.0/24' });
    expect(conf.backendType).toBe('vxlan');
    expect(conf.raw.Backend).toEqual({ Type: 'vxlan', VNI: 4 });
    const lease = await registry({}, conf.network).register(spec('configured', 90));
    expect(Number(lease.subnet.split('.')[2])).toBeGreaterThanOrEqual(10);
    await client.put(`${prefix}/config`).value('{"Network":"nope"}');
    await expect(readEtcdNetworkConfig(client, prefix)).rejects.toThrow(/Network "nope"/);
  });
});
