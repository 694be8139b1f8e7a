// The vocabulary of `weft doctor`: a Finding (one thing checked, with severity, what was seen, why
// it matters and the exact command that fixes it) and a Check (a named function from the node's
// facts to findings), plus the helpers that print fixes as shell command lines an operator can
// paste. Not here: gathering the facts (node.ts) or printing reports (doctor.ts).
import type { DaemonStatus } from '../../daemon/daemon.js';
import type { SubnetEnv } from '../../cni/subnet-env.js';
import type { Netlink } from '../../netlink/index.js';

export type Severity = 'ok' | 'warn' | 'error';

export interface Finding {
  /** Which check produced it, e.g. "vxlan.fdb". Stable: tests and scripts match on it. */
  check: string;
  severity: Severity;
  /** What was found, naming the entry, device or file. */
  what: string;
  /** Why it matters for pod traffic (empty for ok findings). */
  why?: string;
  /**
   * A shell command line that fixes it, run on this node (in its network namespace). Where no
   * command can (an address plan; a VTEP MAC only the registry knows), what to do, in words.
   */
  fix?: string;
  /** Set when a check does not apply here (e.g. BGP checks on a VXLAN node): said, never silent. */
  notApplicable?: boolean;
}

/** Runs a command in the node's namespace; resolves with stdout, or undefined when it is not installed. */
export type CommandRunner = (command: string, args: string[]) => Promise<{ ok: boolean; stdout: string; stderr: string } | undefined>;

/**
 * Where the processes of a host-local reservation live, if anywhere: the path of its network
 * namespace, or undefined when the container is gone. Pluggable because only the container runtime
 * knows for sure, and doctor cannot reach it; see reservations.ts for the default.
 */
export type PodLocator = (reservation: { containerId: string; ifname: string; network: string }) => PodLocation;

export interface PodLocation {
  alive: boolean;
  /** Path of the pod's network namespace, when known (lets doctor read the pod's addresses). */
  netns?: string;
  /** How liveness was decided, for the finding's text. */
  how: string;
}

/** Everything the checks read about one node, gathered once. */
export interface NodeFacts {
  nl: Netlink;
  /** The node's namespace when doctor runs from outside it (tests); undefined: our own. */
  netns?: string;
  status?: DaemonStatus;
  /** Why /status could not be read, when it could not. */
  statusError?: string;
  subnetFile: string;
  subnetEnv?: SubnetEnv;
  subnetEnvError?: string;
  vxlan: { vni: number; port: number; source: string };
  cniConfDir: string;
  cniBinDir: string;
  /** --cni-ipam-dir: host-local's dataDir as the daemon writes it; undefined = the plugin's default. */
  ipamDir?: string;
  serviceCidr?: string;
  /** Reads /proc/sys/<path> in the node's namespace; undefined when absent. */
  sysctl(path: string): string | undefined;
  /** Lists /proc/sys/<path> in the node's namespace. */
  sysctlDir(path: string): string[];
  run: CommandRunner;
  locatePod: PodLocator;
}

export type Check = (facts: NodeFacts) => Promise<Finding[]>;

/** Single-quotes a word for a POSIX shell, so printed fixes can be pasted as they are. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from its words, each quoted only when the shell needs it. */
export function command(...words: string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * The argv of an iproute2 tool (`ip`, `bridge`) run in a namespace: `-n NAME` for one under
 * /run/netns (what operators type), nsenter for any other path, nothing for our own.
 */
export function iprouteArgv(netns: string | undefined, tool: 'ip' | 'bridge', ...args: string[]): string[] {
  if (netns === undefined) return [tool, ...args];
  const name = netns.startsWith('/run/netns/') ? netns.slice('/run/netns/'.length) : netns.includes('/') ? undefined : netns;
  return name !== undefined ? [tool, '-n', name, ...args] : ['nsenter', `--net=${netns}`, tool, ...args];
}

export function iprouteCommand(netns: string | undefined, tool: 'ip' | 'bridge', ...args: string[]): string {
  return command(...iprouteArgv(netns, tool, ...args));
}
