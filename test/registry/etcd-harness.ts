// The contract-suite harness for the etcd registry: each harness gets its own key prefix on a
// shared real etcd-server, writes remote entries in flannel's layout the way another node (or
// etcdctl) would, and deletes its whole prefix on cleanup. Test-only.
import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/log.js';
import { EtcdRegistry, etcdSubnetKey, type EtcdRegistryOptions } from '../../src/registry/etcd.js';
import type { HarnessRegistryOptions, RegistryHarness, RemoteEntryInput } from './contract.js';

let harnessCount = 0;

/** Test logs are silent unless WEFT_TEST_LOG=debug (or another level) is set. */
export const testLogger = createLogger({ level: process.env.WEFT_TEST_LOG ?? 'silent', pretty: false });

/** The stored value for an entry: JSON, with a string backendData spliced in verbatim. */
export function etcdValueOf(nodeName: string, entry: RemoteEntryInput): string {
  const head: Record<string, unknown> = { PublicIP: entry.publicIP, BackendType: entry.backendType, NodeName: nodeName };
  if (entry.publicIPv6 !== undefined) head.PublicIPv6 = entry.publicIPv6;
  const data = typeof entry.backendData === 'string' ? entry.backendData : JSON.stringify(entry.backendData);
  return `${JSON.stringify(head).slice(0, -1)},"BackendData":${data}}`;
}

export interface EtcdHarness extends RegistryHarness {
  prefix: string;
  client: Etcd3;
  metrics: Registry;
}

export function etcdHarnessFactory(endpoint: () => string, extra: Partial<EtcdRegistryOptions> = {}): () => Promise<EtcdHarness> {
  return () => {
    const prefix = `/weft-test/${process.pid}-${++harnessCount}`;
    const client = new Etcd3({ hosts: [endpoint()] });
    const keys = new Map<string, string>();
    const metrics = new Registry();
    const harness: EtcdHarness = {
      prefix,
      client,
      metrics,
      createRegistry(opts: HarnessRegistryOptions) {
        return Promise.resolve(
          new EtcdRegistry({
            endpoints: [endpoint()],
            prefix,
            network: opts.network,
            onSkip: opts.onSkip,
            metrics,
            logger: testLogger.child({ component: 'registry-etcd', node: opts.nodeName }),
            backoff: { initialMs: 100, maxMs: 1000 },
            ...extra,
          }),
        );
      },
      async putRemote(nodeName, entry) {
        const key = etcdSubnetKey(prefix, entry.subnet, entry.ipv6Subnet);
        const old = keys.get(nodeName);
        if (old !== undefined && old !== key) await client.delete().key(old);
        keys.set(nodeName, key);
        await client.put(key).value(etcdValueOf(nodeName, entry));
      },
      async deleteRemote(nodeName) {
        const key = keys.get(nodeName);
        if (key === undefined) return;
        keys.delete(nodeName);
        await client.delete().key(key);
      },
      async touchRemote(nodeName, entry) {
        // Same network facts, one extra field flannel-era tools might add: a new revision, no change.
        const key = etcdSubnetKey(prefix, entry.subnet, entry.ipv6Subnet);
        const value = etcdValueOf(nodeName, entry).replace(/^\{/, '{"Annotations":{"touched":"yes"},');
        await client.put(key).value(value);
      },
      async cleanup() {
        try {
          await client.delete().prefix(`${prefix}/`);
        } finally {
          client.close();
        }
      },
    };
    return Promise.resolve(harness);
  };
}
