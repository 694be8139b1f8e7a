// The CNI handoff as one step: from what the daemon knows after the registry granted a lease
// (cluster network, this node's subnets, the pod MTU, --ip-masq) to the two files the runtime
// side reads — the subnet file and 10-weft.conflist — each written atomically and only on change.
// One place decides that IPv6 appears in both files exactly when the cluster is dual stack AND the
// lease has an IPv6 subnet, so the two files can never disagree.
//
// Not here: when to call it (the daemon: after claim(), and on every resync to repair edits), or
// readiness bookkeeping.
import { writeConflist } from './conflist.js';
import { writeSubnetEnv, type SubnetEnv } from './subnet-env.js';

export interface CniHandoff {
  /** Cluster networks (NetConf.network / ipv6Network). */
  network: string;
  ipv6Network?: string;
  /** This node's lease. */
  subnet: string;
  ipv6Subnet?: string;
  /** Pod MTU (the backend's BackendStartResult.mtu). */
  mtu: number;
  ipMasq: boolean;
}

export interface CniHandoffPaths {
  /** --subnet-file */
  subnetFile: string;
  /** --cni-conf-dir */
  cniConfDir: string;
  /** --cni-ipam-dir (host-local dataDir), when set. */
  ipamDataDir?: string;
}

export interface CniHandoffResult {
  subnetFile: string;
  conflist: string;
  /** Which files were rewritten (false: already up to date). */
  subnetFileChanged: boolean;
  conflistChanged: boolean;
}

export function subnetEnvOf(handoff: CniHandoff): SubnetEnv {
  const env: SubnetEnv = { network: handoff.network, subnet: handoff.subnet, mtu: handoff.mtu, ipMasq: handoff.ipMasq };
  if (handoff.ipv6Network !== undefined && handoff.ipv6Subnet !== undefined) {
    env.ipv6Network = handoff.ipv6Network;
    env.ipv6Subnet = handoff.ipv6Subnet;
  }
  return env;
}

/** Writes both files (subnet file first: flannel's CNI plugin reads it, the conflist points runtimes at pods). */
export async function writeCniHandoff(paths: CniHandoffPaths, handoff: CniHandoff): Promise<CniHandoffResult> {
  const env = subnetEnvOf(handoff);
  const subnetFileChanged = await writeSubnetEnv(paths.subnetFile, env);
  const conflist = await writeConflist(paths.cniConfDir, {
    subnet: env.subnet,
    ...(env.ipv6Subnet !== undefined ? { ipv6Subnet: env.ipv6Subnet } : {}),
    mtu: env.mtu,
    ...(paths.ipamDataDir !== undefined ? { dataDir: paths.ipamDataDir } : {}),
  });
  return { subnetFile: paths.subnetFile, conflist: conflist.path, subnetFileChanged, conflistChanged: conflist.changed };
}
