// Gathers a node's facts for the checks: a netlink handle in the node's namespace, the daemon's
// /status over its socket, the subnet file, the VXLAN settings (net-conf.json, else the defaults),
// and readers for /proc/sys and commands that work in that namespace. Doctor normally runs on the
// node itself (netns undefined); tests pass the node's namespace and run from outside it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { daemonGet, type DaemonAddress } from '../../daemon/client.js';
import type { DaemonStatus } from '../../daemon/daemon.js';
import { readSubnetEnv } from '../../cni/subnet-env.js';
import { parseNetConfText, DEFAULT_VXLAN_PORT, DEFAULT_VXLAN_VNI } from '../../config/netconf.js';
import { Netlink } from '../../netlink/index.js';
import { inNetns } from '../../netns.js';
import { KNOWN_CNI_BIN_DIRS } from './cni.js';
import { defaultPodLocator } from './reservations.js';
import type { CommandRunner, NodeFacts, PodLocator } from './types.js';

export const DEFAULTS = {
  socket: '/run/weft/weft.sock',
  subnetFile: '/run/weft/subnet.env',
  cniConfDir: '/etc/cni/net.d',
  netConf: '/etc/weft/net-conf.json',
};

export interface GatherOptions {
  /** Read the node from outside: its namespace name or path. */
  netns?: string;
  /** An open handle to reuse (closed by the caller); default: one opened in `netns`. */
  nl?: Netlink;
  daemon?: DaemonAddress;
  subnetFile?: string;
  cniConfDir?: string;
  /** Default: the first of /opt/cni/bin, /usr/lib/cni, /usr/libexec/cni that exists. */
  cniBinDir?: string;
  ipamDir?: string;
  netConf?: string;
  serviceCidr?: string;
  locatePod?: PodLocator;
}

/** Runs a command in `netns` (or here); undefined when the command is not installed. */
export function commandRunner(netns: string | undefined): CommandRunner {
  return (cmd, args) =>
    new Promise((resolve) => {
      const argv = netns ? ['ip', 'netns', 'exec', netns, cmd, ...args] : [cmd, ...args];
      execFile(argv[0]!, argv.slice(1), { timeout: 10_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
        // Not installed: ENOENT here, or `ip netns exec` reporting that its exec failed.
        const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' || /exec of ".*" failed: No such file or directory/.test(stderr);
        if (missing) resolve(undefined);
        else resolve({ ok: !error, stdout, stderr });
      });
    });
}

/** /proc/sys/net is per network namespace: read it with the thread inside the node's. */
function procSys<T>(netns: string | undefined, read: () => T): T {
  return netns ? inNetns(netns, read) : read();
}

export async function gatherNodeFacts(options: GatherOptions = {}): Promise<NodeFacts & { close(): void }> {
  const own = options.nl === undefined;
  const nl = options.nl ?? Netlink.open(options.netns ? { netns: options.netns } : {});
  const subnetFile = options.subnetFile ?? DEFAULTS.subnetFile;
  let status: DaemonStatus | undefined;
  let statusError: string | undefined;
  try {
    const res = await daemonGet(options.daemon ?? { socketPath: DEFAULTS.socket }, '/status');
    if (res.status === 200) status = JSON.parse(res.body) as DaemonStatus;
    else statusError = `daemon answered ${res.status}`;
  } catch (error) {
    statusError = (error as Error).message;
  }
  let subnetEnv: NodeFacts['subnetEnv'];
  let subnetEnvError: string | undefined;
  try {
    subnetEnv = await readSubnetEnv(subnetFile);
    if (!subnetEnv) subnetEnvError = `${subnetFile} missing`;
  } catch (error) {
    subnetEnvError = (error as Error).message;
  }
  const netConfPath = options.netConf ?? DEFAULTS.netConf;
  let vxlan = { vni: DEFAULT_VXLAN_VNI, port: DEFAULT_VXLAN_PORT, source: `defaults (no ${netConfPath})` };
  if (existsSync(netConfPath)) {
    try {
      const conf = parseNetConfText(readFileSync(netConfPath, 'utf8'));
      vxlan = { vni: conf.backend.vxlan.vni, port: conf.backend.vxlan.port, source: netConfPath };
    } catch (error) {
      vxlan.source = `defaults (${netConfPath} unreadable: ${(error as Error).message})`;
    }
  }
  const netns = options.netns;
  return {
    nl,
    ...(netns ? { netns } : {}),
    ...(status ? { status } : {}),
    ...(statusError ? { statusError } : {}),
    subnetFile,
    ...(subnetEnv ? { subnetEnv } : {}),
    ...(subnetEnvError ? { subnetEnvError } : {}),
    vxlan,
    cniConfDir: options.cniConfDir ?? DEFAULTS.cniConfDir,
    cniBinDir: options.cniBinDir ?? KNOWN_CNI_BIN_DIRS.find((d) => existsSync(d)) ?? KNOWN_CNI_BIN_DIRS[0]!,
    ...(options.ipamDir ? { ipamDir: options.ipamDir } : {}),
    ...(options.serviceCidr ? { serviceCidr: options.serviceCidr } : {}),
    sysctl: (path) =>
      procSys(netns, () => {
        try {
          return readFileSync(join('/proc/sys', path), 'utf8').trim();
        } catch {
          return undefined;
        }
      }),
    sysctlDir: (path) => procSys(netns, () => (existsSync(join('/proc/sys', path)) ? readdirSync(join('/proc/sys', path)) : [])),
    run: commandRunner(netns),
    locatePod: options.locatePod ?? defaultPodLocator(),
    close: () => {
      if (own) nl.close();
    },
  };
}
