// A minimal container runtime's side of CNI (SPEC 1.0): runs the plugins of a conflist in order
// for ADD (chaining prevResult) and in reverse for DEL, with the environment the spec defines.
// The lab uses it to create pods exactly as containerd or CRI-O would, with the reference plugins
// in /usr/lib/cni and the conflist the daemon wrote. Plugins run inside the node's namespace
// (`ip netns exec`) so the bridge they create is the node's, never the host's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, run } from './exec.js';

export const DEFAULT_CNI_PATH = '/usr/lib/cni';

export interface CniInvocation {
  conflistPath: string;
  /** Network namespace the plugins run in (the node). */
  nodeNetns: string;
  /** Path of the pod's network namespace, e.g. /run/netns/lab-n1-p1. */
  podNetnsPath: string;
  containerId: string;
  ifname?: string;
  cniPath?: string;
}

export interface CniIp {
  address: string;
  gateway?: string;
}

export interface CniResult {
  cniVersion: string;
  ips?: CniIp[];
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  routes?: { dst: string; gw?: string }[];
}

export class CniError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: 'ADD' | 'DEL',
    readonly code: number | undefined,
    readonly details: string,
  ) {
    super(`CNI ${command} failed in plugin ${plugin}${code === undefined ? '' : ` (code ${code})`}: ${details}`);
    this.name = 'CniError';
  }
}

interface Conflist {
  cniVersion: string;
  name: string;
  plugins: ({ type: string } & Record<string, unknown>)[];
}

function readConflist(path: string): Conflist {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Conflist;
  if (!parsed.plugins?.length) throw new Error(`${path}: conflist without plugins`);
  return parsed;
}

async function invoke(command: 'ADD' | 'DEL', plugin: Conflist['plugins'][number], list: Conflist, call: CniInvocation, prevResult?: CniResult): Promise<CniResult | undefined> {
  const cniPath = call.cniPath ?? DEFAULT_CNI_PATH;
  const conf = { ...plugin, cniVersion: list.cniVersion, name: list.name, ...(prevResult ? { prevResult } : {}) };
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.podNetnsPath,
    CNI_IFNAME: call.ifname ?? 'eth0',
    CNI_PATH: cniPath,
  };
  try {
    const out = await run(join(cniPath, plugin.type), [], { netns: call.nodeNetns, env, input: JSON.stringify(conf), timeoutMs: 30_000 });
    return out.trim() ? (JSON.parse(out) as CniResult) : undefined;
  } catch (error) {
    if (error instanceof CommandError) {
      // Plugins report errors as JSON ({code, msg, details}) on stdout; some tools use stderr.
      let detail = (error.stdout.trim() || error.stderr.trim());
      try {
        const parsed = JSON.parse(detail) as { code?: number; msg?: string; details?: string };
        throw new CniError(plugin.type, command, parsed.code, `${parsed.msg ?? ''}${parsed.details ? `: ${parsed.details}` : ''}`);
      } catch (inner) {
        if (inner instanceof CniError) throw inner;
        detail ||= error.message;
      }
      throw new CniError(plugin.type, command, undefined, detail);
    }
    throw error;
  }
}

/** ADD: every plugin in order; returns the final result (the pod's IPs). */
export async function cniAdd(call: CniInvocation): Promise<CniResult> {
  const list = readConflist(call.conflistPath);
  let result: CniResult | undefined;
  for (const plugin of list.plugins) result = (await invoke('ADD', plugin, list, call, result)) ?? result;
  if (!result) throw new CniError(list.plugins[0]!.type, 'ADD', undefined, 'no result');
  return result;
}

/** DEL: every plugin in reverse order; tolerant of pods already gone, as the spec requires. */
export async function cniDel(call: CniInvocation): Promise<void> {
  const list = readConflist(call.conflistPath);
  for (const plugin of [...list.plugins].reverse()) await invoke('DEL', plugin, list, call);
}
