// Unit tests of the registry's support pieces: SkipReporter (log and count once per change, on
// an injected metrics registry), Backoff (capped, jittered), the previous-run subnet file, and the
// etcd key/value codecs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Backoff } from '../../src/registry/backoff.js';
import { encodeEtcdValue, etcdSubnetKey, subnetsOfKey } from '../../src/registry/etcd.js';
import { SKIPPED_METRIC, SkipReporter, skippedEntriesCounter } from '../../src/registry/metrics.js';
import { readPreviousSubnets } from '../../src/registry/subnet-file.js';
import type { SkippedEntry } from '../../src/registry/types.js';

function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false, destination }), lines };
}

async function counts(metrics: Registry): Promise<Record<string, number>> {
  const values = (await metrics.getSingleMetric(SKIPPED_METRIC)!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.reason), v.value]));
}

describe('SkipReporter', () => {
  it('logs and counts each (entry, reason) once, again only after a change', async () => {
    const metrics = new Registry();
    const { logger, lines } = captureLogger();
    const heard: SkippedEntry[] = [];
    const reporter = new SkipReporter({ logger, metrics, onSkip: (s) => heard.push(s) });
    const bad: SkippedEntry = { entry: 'node-x', reason: 'bad-mac', detail: 'VtepMAC "zz" is not a MAC address' };
    expect(reporter.update([bad])).toEqual([bad]);
    expect(reporter.update([bad])).toEqual([]);
    expect(reporter.update([{ ...bad, reason: 'bad-ip' }])).toHaveLength(1);
    expect(reporter.update([])).toEqual([]); // fixed
    expect(reporter.update([bad])).toHaveLength(1); // broken again
    expect(heard.map((s) => s.reason)).toEqual(['bad-mac', 'bad-ip', 'bad-mac']);
    expect(await counts(metrics)).toEqual({ 'bad-mac': 2, 'bad-ip': 1 });
    const skippedLines = lines.filter((l) => l.msg === 'registry entry skipped');
    expect(skippedLines).toHaveLength(3);
    expect(skippedLines[0]).toMatchObject({ node: 'node-x', reason: 'bad-mac', level: 40 });
    expect(lines.filter((l) => l.msg === 'registry entry no longer skipped')).toHaveLength(1);
  });

  it('shares one counter per metrics registry and survives a throwing listener', () => {
    const metrics = new Registry();
    expect(skippedEntriesCounter(metrics)).toBe(skippedEntriesCounter(metrics));
    const { logger, lines } = captureLogger();
    const reporter = new SkipReporter({
      logger,
      metrics,
      onSkip: () => {
        throw new Error('listener bug');
      },
    });
    expect(() => reporter.update([{ entry: 'n', reason: 'unparsable', detail: 'x' }])).not.toThrow();
    expect(lines.some((l) => l.msg === 'skip listener threw')).toBe(true);
  });
});

describe('Backoff', () => {
  it('grows exponentially with jitter between half and all of the step, capped', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
    high.reset();
    expect(high.attempts).toBe(0);
    expect(high.next()).toBe(100);
  });
});

describe('readPreviousSubnets', () => {
  it('reads flannel and weft subnet files and ignores what it cannot use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-test-subnetfile-'));
    try {
      const file = join(dir, 'subnet.env');
      writeFileSync(file, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\nFLANNEL_MTU=1450\n');
      expect(await readPreviousSubnets(file)).toEqual({ subnet: '10.244.3.0/24', ipv6Subnet: 'fd00:10:244:3::/64' });
      writeFileSync(file, 'export WEFT_SUBNET="10.244.9.1/24"\nFLANNEL_IPV6_SUBNET=nonsense\n');
      expect(await readPreviousSubnets(file)).toEqual({ subnet: '10.244.9.0/24' });
      expect(await readPreviousSubnets(join(dir, 'missing.env'))).toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('etcd key and value codecs', () => {
  it('uses flannel\'s key layout, dual-stack keys included', () => {
    expect(etcdSubnetKey('/weft/network', '10.244.3.0/24')).toBe('/weft/network/subnets/10.244.3.0-24');
    expect(etcdSubnetKey('/weft/network/', '10.244.3.0/24', 'fd00::/64')).toBe('/weft/network/subnets/10.244.3.0-24&fd00::-64');
    expect(subnetsOfKey('10.244.3.0-24&fd00::-64')).toEqual({ subnet: '10.244.3.0/24', ipv6Subnet: 'fd00::/64' });
    expect(subnetsOfKey('junk')).toEqual({ subnet: 'junk' });
  });

  it('publishes flannel\'s fields plus NodeName', () => {
    const value = JSON.parse(encodeEtcdValue({ name: 'n1', publicIP: '192.0.2.1', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:01' } })) as unknown;
    expect(value).toEqual({ PublicIP: '192.0.2.1', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:58:0a:f4:00:01' }, NodeName: 'n1' });
  });
});
