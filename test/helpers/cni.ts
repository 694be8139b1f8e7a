// CNI invocation for tests, the way a container runtime (libcni) does it: for each plugin of a
// conflist, exec /usr/lib/cni/<type> with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
// CNI_PATH in the environment and the plugin's own configuration on stdin — `name` and
// `cniVersion` copied from the list, `runtimeConfig` filtered by the plugin's capabilities, and
// `prevResult` chaining each plugin's result into the next. DEL walks the list in reverse, giving
// every plugin the final ADD result as prevResult (what libcni's result cache does).
//
//   const pod = await cniAdd({ conflist, containerId: 'pod1', netns: podNs, nodeNs });
//   …
//   await cniDel({ conflist, containerId: 'pod1', netns: podNs, nodeNs }, pod.result);
//
// `nodeNs` runs every plugin under `ip netns exec NODE_NS`, so the bridge, the host end of the
// veth and any iptables rules land inside that (simulated) node, never on the host.
//
// What it is not: a runtime. It keeps no result cache on disk, does not run CHECK/GC, and does not
// set up the pod's loopback (tests bring lo up with the namespace).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_CNI_PATH = '/usr/lib/cni';

export interface CniConflistValue {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface CniInvocation {
  /** The conflist value, or the path of a .conflist file (as the daemon wrote it). */
  conflist: CniConflistValue | string;
  containerId: string;
  /** Pod network namespace: a name under /run/netns or a path. */
  netns: string;
  /** Interface name inside the pod (default eth0). */
  ifname?: string;
  /** Node namespace the plugins run in (ip netns exec); default: the caller's. */
  nodeNs?: string;
  /** Where plugin binaries are (default /usr/lib/cni). */
  cniPath?: string;
  /** Runtime capabilities' values, e.g. { portMappings: [...] }; passed only to plugins that declare them. */
  runtimeConfig?: Record<string, unknown>;
  /** CNI_ARGS, e.g. "K8S_POD_NAME=x;K8S_POD_NAMESPACE=y". */
  args?: string;
  /** Per-plugin timeout (default 30 s). */
  timeoutMs?: number;
}

/** The CNI 1.0 result, as far as tests look into it. */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string; mtu?: number }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CniAddOutcome {
  /** The final result (the last plugin's), to hand to cniDel. */
  result: CniResult;
  /** Each plugin's result, in list order. */
  perPlugin: CniResult[];
}

/** A plugin failed: its CNI error (code, msg, details) and what it wrote to stderr. */
export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: 'ADD' | 'DEL' | 'CHECK',
    readonly exitCode: number | null,
    readonly cniCode: number | undefined,
    readonly cniMsg: string | undefined,
    readonly details: string | undefined,
    readonly stderr: string,
  ) {
    super(`CNI ${command} ${plugin}: ${cniMsg ?? 'failed'}${details ? ` (${details})` : ''}${cniCode !== undefined ? ` [code ${cniCode}]` : ''}${stderr.trim() ? ` stderr: ${stderr.trim()}` : ''}`);
    this.name = 'CniPluginError';
  }
}

async function loadConflist(conflist: CniConflistValue | string): Promise<CniConflistValue> {
  if (typeof conflist !== 'string') return conflist;
  return JSON.parse(await readFile(conflist, 'utf8')) as CniConflistValue;
}

function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

/** One plugin's stdin: its own fields plus what the runtime adds. */
function pluginConfig(list: CniConflistValue, plugin: Record<string, unknown>, prevResult: CniResult | undefined, runtimeConfig: Record<string, unknown> | undefined): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  const capabilities = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const granted = Object.fromEntries(Object.entries(runtimeConfig ?? {}).filter(([key]) => capabilities[key] === true));
  if (Object.keys(granted).length > 0) config.runtimeConfig = granted;
  if (prevResult !== undefined) config.prevResult = prevResult;
  return config;
}

function runPlugin(inv: CniInvocation, command: 'ADD' | 'DEL', type: string, stdin: string): Promise<string> {
  const cniPath = inv.cniPath ?? DEFAULT_CNI_PATH;
  const binary = join(cniPath, type);
  const [file, argv] = inv.nodeNs ? ['ip', ['netns', 'exec', inv.nodeNs, binary]] : [binary, []];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: netnsPath(inv.netns),
    CNI_IFNAME: inv.ifname ?? 'eth0',
    CNI_PATH: cniPath,
  };
  if (inv.args !== undefined) env.CNI_ARGS = inv.args;
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, { env, timeout: inv.timeoutMs ?? 30_000, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      let parsed: { code?: number; msg?: string; details?: string } = {};
      try {
        parsed = JSON.parse(stdout) as typeof parsed;
      } catch {
        parsed = { msg: error.message };
      }
      reject(new CniPluginError(type, command, typeof error.code === 'number' ? error.code : null, parsed.code, parsed.msg, parsed.details, stderr));
    });
    child.stdin?.end(stdin);
  });
}

/** ADD through every plugin of the list, chaining results. A failed ADD is undone with DEL (as libcni does). */
export async function cniAdd(inv: CniInvocation): Promise<CniAddOutcome> {
  const list = await loadConflist(inv.conflist);
  const perPlugin: CniResult[] = [];
  let prev: CniResult | undefined;
  try {
    for (const plugin of list.plugins) {
      const type = String(plugin.type);
      const out = await runPlugin(inv, 'ADD', type, JSON.stringify(pluginConfig(list, plugin, prev, inv.runtimeConfig)));
      prev = JSON.parse(out) as CniResult;
      perPlugin.push(prev);
    }
  } catch (error) {
    await cniDel({ ...inv, conflist: list }, prev).catch(() => undefined);
    throw error;
  }
  if (prev === undefined) throw new Error('cniAdd: the conflist has no plugins');
  return { result: prev, perPlugin };
}

/** DEL through every plugin in reverse order; each gets the final ADD result as prevResult. */
export async function cniDel(inv: CniInvocation, prevResult?: CniResult): Promise<void> {
  const list = await loadConflist(inv.conflist);
  const errors: unknown[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await runPlugin(inv, 'DEL', String(plugin.type), JSON.stringify(pluginConfig(list, plugin, prevResult, inv.runtimeConfig)));
    } catch (error) {
      errors.push(error); // keep going: every plugin must get its chance to clean up
    }
  }
  if (errors.length > 0) throw errors[0];
}
