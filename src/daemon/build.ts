// Builds a Daemon from a validated DaemonConfig: the real registry (etcd or Kubernetes), the
// configured backend, underlay selection, the CNI handoff and --ip-masq. The only place that
// knows which concrete implementation goes with which flag; the Daemon itself only sees parts.
import { readFileSync } from 'node:fs';
import type { NodeBgpSettings } from '../../modes/bgp/index.js';
import { createBackend } from '../../modes/index.js';
import { ConfigError } from '../config/errors.js';
import { netConfFromRegistry, type DaemonConfig } from '../config/daemon-config.js';
import { toRegistryNetwork, type NetConf } from '../config/netconf.js';
import { writeCniHandoff } from '../cni/handoff.js';
import type { Logger } from '../log.js';
import { selectUnderlay } from '../net/iface.js';
import { Netlink } from '../netlink/index.js';
import type { OwnBgpAnnotations } from '../registry/kube.js';
import type { NodeRegistry } from '../registry/types.js';
import { Daemon } from './daemon.js';
import { applyMasq } from './masq.js';
import { DaemonMetrics } from './metrics.js';

export interface DaemonExtras {
  /** --status-socket */
  statusSocket?: string;
  /** --cni-ipam-dir: host-local's reservation directory (one per simulated node in a lab). */
  cniIpamDir?: string;
  /** Told when the daemon cannot go on (see DaemonParts.onFatal). */
  onFatal?: (reason: string) => void;
}

/** net-conf.json from the file the config named, else (etcd) from <prefix>/config. */
async function loadNetConf(config: DaemonConfig, logger: Logger): Promise<NetConf> {
  if (config.netConf) return config.netConf;
  if (config.registry !== 'etcd') throw new ConfigError('--net-conf', undefined, 'a net-conf.json file (required with --registry=kube)', { problem: 'nothing' });
  const [{ Etcd3 }, { readEtcdNetworkConfig }] = await Promise.all([import('etcd3'), import('../registry/etcd.js')]);
  const client = new Etcd3({ hosts: config.etcdEndpoints });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await readEtcdNetworkConfig(client, config.etcdPrefix);
        return netConfFromRegistry(stored.raw, `${config.etcdPrefix}/config`, config);
      } catch (error) {
        if (error instanceof ConfigError || attempt >= 30) throw error;
        if (attempt === 1) logger.warn({ err: error, endpoints: config.etcdEndpoints }, 'waiting for net-conf.json in etcd');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
      }
    }
  } finally {
    client.close();
  }
}

export async function buildDaemon(config: DaemonConfig, extras: DaemonExtras, logger: Logger): Promise<Daemon> {
  const netConf = await loadNetConf(config, logger);
  const metrics = new DaemonMetrics();
  const network = toRegistryNetwork(netConf);
  const registryLogger = logger.child({ component: 'registry' });
  // Each registry's client is imported only when it is used. The Kubernetes client costs ~0.5 s of
  // start-up (over 1 s on a busy machine) and ~35 MB of RSS that an etcd-backed daemon would carry
  // for nothing (weft bench scale); etcd3 with gRPC and protobufjs ~0.18 s and ~30 MB that every
  // daemon on the kube registry — the usual install — would.
  let bgpNode: NodeBgpSettings | undefined;
  let registry: NodeRegistry;
  if (config.registry === 'etcd') {
    const { EtcdRegistry } = await import('../registry/etcd.js');
    registry = new EtcdRegistry({ endpoints: config.etcdEndpoints, prefix: config.etcdPrefix, network, subnetFile: config.subnetFile, logger: registryLogger, metrics: metrics.registry });
  } else {
    const kube = new (await import('../registry/kube.js')).KubeRegistry({ nodeName: config.nodeName, network, ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}), annotationPrefix: config.kubeAnnotationPrefix, logger: registryLogger, metrics: metrics.registry });
    registry = kube;
    // Flags win over the node's annotations; without flags, a BGP node reads its own.
    if (netConf.backend.type === 'bgp' && config.bgpNode === undefined) bgpNode = settingsFromAnnotations(await kube.ownBgpAnnotations());
  }
  if (config.bgpNode !== undefined) bgpNode = { ...config.bgpNode, allowInlinePassword: true };
  const netlink = Netlink.open();
  const backend = await createBackend(netConf, { netlink, logger: logger.child({ component: netConf.backend.type }), ...(bgpNode ? { bgpNode } : {}) });
  let publicIPs: { publicIP: string; publicIPv6?: string } | undefined;
  return new Daemon({
    nodeName: config.nodeName,
    registry,
    backend,
    selectUnderlay: async () => {
      const selected = await selectUnderlay(netlink, {
        iface: config.iface,
        ifaceRegex: config.ifaceRegex,
        ...(config.publicIP ? { publicIP: config.publicIP } : {}),
        ...(config.publicIPv6 ? { publicIPv6: config.publicIPv6 } : {}),
        ipv6: netConf.enableIPv6,
      });
      publicIPs = { publicIP: selected.publicIP, ...(selected.publicIPv6 ? { publicIPv6: selected.publicIPv6 } : {}) };
      logger.info({ iface: selected.underlay.name, chosenBy: selected.chosenBy }, 'underlay chosen');
      return selected.underlay;
    },
    get publicIP() {
      return publicIPs?.publicIP;
    },
    get publicIPv6() {
      return publicIPs?.publicIPv6;
    },
    writeCni: async (lease, mtu) => {
      const result = await writeCniHandoff(
        { subnetFile: config.subnetFile, cniConfDir: config.cniConfDir, ...(extras.cniIpamDir ? { ipamDataDir: extras.cniIpamDir } : {}) },
        { network: netConf.network, ...(netConf.ipv6Network ? { ipv6Network: netConf.ipv6Network } : {}), subnet: lease.subnet, ...(lease.ipv6Subnet ? { ipv6Subnet: lease.ipv6Subnet } : {}), mtu, ipMasq: config.ipMasq },
      );
      if (result.subnetFileChanged || result.conflistChanged) logger.info({ subnetFile: result.subnetFile, conflist: result.conflist }, 'CNI files written');
    },
    ...(config.ipMasq
      ? {
          applyMasq: (lease) =>
            applyMasq({ network: netConf.network, subnet: lease.subnet, ...(netConf.ipv6Network && lease.ipv6Subnet ? { ipv6Network: netConf.ipv6Network, ipv6Subnet: lease.ipv6Subnet } : {}) }),
        }
      : {}),
    // A --public-ip need not be local (NAT): only an address we took from an interface is checked.
    ...(config.publicIP ? {} : { hasLocalAddress: async (address: string) => (await netlink.addresses.list()).some((a) => a.cidr.split('/')[0] === address) }),
    ...(extras.onFatal ? { onFatal: extras.onFatal } : {}),
    resyncMs: config.resyncMs,
    health: config.healthAddr,
    ...(extras.statusSocket ? { statusSocket: extras.statusSocket } : {}),
    metrics,
    logger,
  });
}

/** Longest per-node BGP annotation taken (Kubernetes allows 256 KiB for all of a Node's). */
const MAX_BGP_ANNOTATION = 64 * 1024;

function settingsFromAnnotations(found: OwnBgpAnnotations): NodeBgpSettings | undefined {
  const origins = { asn: `annotation ${found.names.asn}`, peers: `annotation ${found.names.peers}`, routeReflector: `annotation ${found.names.routeReflector}` };
  for (const key of ['asn', 'peers', 'routeReflector'] as const) {
    const value = found[key];
    if (value !== undefined && value.length > MAX_BGP_ANNOTATION) throw new ConfigError(origins[key], undefined, `at most ${MAX_BGP_ANNOTATION} characters`, { problem: `${value.length} characters` });
  }
  if (found.asn === undefined && found.peers === undefined && found.routeReflector === undefined) return undefined;
  return {
    ...(found.asn !== undefined ? { asn: found.asn } : {}),
    ...(found.peers !== undefined ? { peers: found.peers } : {}),
    ...(found.routeReflector !== undefined ? { routeReflector: found.routeReflector } : {}),
    origins,
    allowInlinePassword: false,
  };
}

/** Reads a file for resolveDaemonConfig. */
export function readTextFile(path: string): string {
  return readFileSync(path, 'utf8');
}
