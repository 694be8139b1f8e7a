// The Kubernetes side of the registry benchmark (bench/registry.ts): a test API server holding
// N remote Nodes published the way weft publishes them, plus a factory for KubeRegistry instances
// pointed at it. Lives in src/ (not test/) because `weft bench` runs from the built package.
// Deliberately not here: timing and memory measurement (the bench does that).
import { createLogger, type Logger } from '../log.js';
import { KubeRegistry } from '../registry/kube.js';
import type { LocalNodeSpec, RegistryNetwork, SkipListener } from '../registry/types.js';
import { startKubeApiServer, type KubeApiServer } from './kube-apiserver.js';

/** Room for 65 535 remote /24s plus this node's. */
export const KUBE_BENCH_NETWORK: RegistryNetwork = { network: '10.0.0.0/8', subnetLen: 24 };

export interface KubeBenchTarget {
  server: KubeApiServer;
  network: RegistryNetwork;
  /** Remote nodes in the server (this node excluded). */
  nodeCount: number;
  /** What to pass to register(). */
  self: LocalNodeSpec;
  /** A fresh registry (not registered, not watching); the caller closes it. */
  createRegistry(options?: { onSkip?: SkipListener; logger?: Logger }): KubeRegistry;
  close(): Promise<void>;
}

export async function kubeBenchTarget(options: { nodes?: number } = {}): Promise<KubeBenchTarget> {
  const nodeCount = options.nodes ?? 5000;
  if (nodeCount > 65_535) throw new RangeError(`at most 65535 bench nodes, not ${nodeCount}`);
  const server = await startKubeApiServer({ retainedEvents: nodeCount + 1000 });
  const self: LocalNodeSpec = { name: 'bench-self', publicIP: '198.19.0.1', backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:58:0a:00:00:01' } };
  server.addNode({ name: self.name, podCIDR: '10.0.0.0/24', internalIP: self.publicIP });
  for (let i = 1; i <= nodeCount; i++) {
    const publicIP = `198.18.${(i >> 8) & 0xff}.${i & 0xff}`; // documentation range (RFC 2544)
    const mac = `0a:58:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    server.addNode({
      name: `bench-node-${String(i).padStart(5, '0')}`,
      podCIDR: `10.${(i >> 8) & 0xff}.${i & 0xff}.0/24`,
      internalIP: publicIP,
      annotations: {
        'weft.io/backend-type': 'vxlan',
        'weft.io/backend-data': JSON.stringify({ VNI: 1, VtepMAC: mac }),
        'weft.io/public-ip': publicIP,
        'weft.io/kube-subnet-manager': 'true',
      },
    });
  }
  const quiet = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
  return {
    server,
    network: KUBE_BENCH_NETWORK,
    nodeCount,
    self,
    createRegistry: (opts = {}) =>
      new KubeRegistry({
        nodeName: self.name,
        network: KUBE_BENCH_NETWORK,
        kubeconfig: server.kubeconfigPath,
        logger: opts.logger ?? quiet,
        ...(opts.onSkip ? { onSkip: opts.onSkip } : {}),
      }),
    close: () => server.close(),
  };
}
