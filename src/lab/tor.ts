// FRR top-of-rack routers for the lab's BGP backend (`tor: 'frr'`): FRR 8 zebra + bfdd + bgpd as
// an eBGP ToR with TCP-MD5 and BFD, every node in an AS of its own (`--bgp-asn 6500N`). One ToR
// lives in the underlay namespace at 192.0.2.1; with `tors: 2`, two live in namespaces of their
// own (<id>-t1 at 192.0.2.2, <id>-t2 at 192.0.2.3) on the same bridge, so every node has two equal
// paths (ECMP) to every other node's podCIDR, and a dead ToR is noticed by BFD in about a second.
//
// The ToRs are real routers: they announce the podCIDRs with themselves as next hop
// (next-hop-self), zebra installs what bgpd learns into the ToR namespace's kernel, and the
// namespace forwards the pod traffic. Each ToR also originates an "outside" prefix
// (198.51.100.0/24, its lo holds 198.51.100.1) that the nodes accept only because their peer
// entry's Import lists it. The config is loaded the way an operator's integrated frr.conf is
// (vtysh), so deploy/tor/frr-*.conf run here unchanged (`torConfig`). Processes are daemonised
// with pid files in the ToR's own directory and stopped by those PIDs only. Not here: the BIRD
// route reflector (`tor: 'bird'`, lab.ts).
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, probe, run, stopPid } from './exec.js';
import type { LabLayout } from './layout.js';

/** The ToRs' AS; node N has AS 65000 + N of its own (`--bgp-asn`), so no path loops back. */
export const TOR_ASN = 65000;
export function nodeAsn(index: number): number {
  return TOR_ASN + index;
}
export const TOR_PASSWORD = 'weft-lab-md5';
/** Originated by every FRR ToR; the nodes' peer entries Import it. */
export const OUTSIDE_PREFIX = '198.51.100.0/24';
export const OUTSIDE_ADDRESS = '198.51.100.1';

export interface LabTor {
  index: number;
  name: string;
  netns: string;
  ip: string;
  asn: number;
  /** Veth end on the underlay bridge (own-namespace ToRs only). */
  bridgePort?: string;
  dir: string;
  pids: number[];
}

const FRR_DAEMONS = ['zebra', 'bfdd', 'bgpd'] as const;

/** Where ToR `index` of `count` lives: alone in the underlay namespace, or in its own. */
export function torLayout(lab: LabLayout, index: number, count: number): LabTor {
  const dir = join(lab.runDir, `tor${index}`);
  if (count === 1) return { index, name: `tor${index}`, netns: lab.underlayNetns, ip: lab.serviceIP, asn: TOR_ASN, dir, pids: [] };
  return { index, name: `tor${index}`, netns: `${lab.id}-t${index}`, ip: `192.0.2.${1 + index}`, asn: TOR_ASN, bridgePort: `t${index}`, dir, pids: [] };
}

/** The lab's FRR config: every node of 192.0.2.0/24 may connect (passive, dynamic neighbours). */
export function frrTorConfig(tor: LabTor): string {
  return `hostname ${tor.name}
!
router bgp ${tor.asn}
 bgp router-id ${tor.ip}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp bestpath as-path multipath-relax
 neighbor NODES peer-group
 neighbor NODES remote-as external
 neighbor NODES password ${TOR_PASSWORD}
 neighbor NODES bfd
 bgp listen range 192.0.2.0/24 peer-group NODES
 !
 address-family ipv4 unicast
  network ${OUTSIDE_PREFIX}
  neighbor NODES next-hop-self
 exit-address-family
!
`;
}

/** Namespace, veth on the bridge, address, forwarding (not needed for the underlay-namespace ToR). */
export async function makeTorNamespace(lab: LabLayout, tor: LabTor, mtu: number): Promise<void> {
  if (tor.bridgePort === undefined) return;
  await run('ip', ['netns', 'add', tor.netns]);
  await run('ip', ['-n', tor.netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', lab.underlayNetns, 'link', 'add', tor.bridgePort, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', tor.netns]);
  await run('ip', ['-n', lab.underlayNetns, 'link', 'set', tor.bridgePort, 'master', lab.bridge, 'up']);
  await run('ip', ['-n', tor.netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', tor.netns, 'addr', 'add', `${tor.ip}/24`, 'dev', 'eth0']);
}

/** Routing on: forward, originate the outside prefix, and no ICMP redirects (nodes share the segment). */
async function prepareRouting(tor: LabTor): Promise<void> {
  const dev = tor.bridgePort === undefined ? 'br0' : 'eth0';
  await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', `net.ipv4.conf.${dev}.send_redirects=0`], { netns: tor.netns });
  await run('ip', ['-n', tor.netns, 'addr', 'replace', `${OUTSIDE_ADDRESS}/32`, 'dev', 'lo']);
}

async function frrUid(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'frr']), run('id', ['-g', 'frr'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * Starts zebra, bfdd and bgpd in the ToR's namespace and loads `config` as an integrated config
 * (what `vtysh -b` does with /etc/frr/frr.conf: each line goes to the daemon that owns it).
 * The directory belongs to the frr user (the daemons drop to it and write pid files and sockets).
 */
export async function startFrr(tor: LabTor, config: string, onPid: (pid: number) => void): Promise<void> {
  mkdirSync(tor.dir, { recursive: true });
  const { uid, gid } = await frrUid();
  chownSync(tor.dir, uid, gid);
  const conf = join(tor.dir, 'frr.conf');
  const empty = join(tor.dir, 'empty.conf');
  writeFileSync(conf, config);
  writeFileSync(empty, '');
  await prepareRouting(tor);
  for (const daemon of FRR_DAEMONS) {
    const pidFile = join(tor.dir, `${daemon}.pid`);
    const extra = daemon === 'bfdd' ? ['--bfdctl', join(tor.dir, 'bfdd.sock')] : [];
    await run(`/usr/lib/frr/${daemon}`, ['-d', '-f', empty, '-i', pidFile, '-z', join(tor.dir, 'zserv.api'), '--vty_socket', tor.dir, '-P', '0', '--log', `file:${join(tor.dir, `${daemon}.log`)}`, ...extra], { netns: tor.netns });
    const pid = await readPid(pidFile, daemon);
    tor.pids.push(pid);
    onPid(pid);
  }
  const deadline = Date.now() + 10_000;
  while (!(await probe('vtysh', ['--vty_socket', tor.dir, '-c', 'show bgp summary json'], { timeoutMs: 3000 })).ok) {
    if (Date.now() > deadline || tor.pids.some((p) => !isAlive(p))) throw new Error(`FRR on ${tor.name} did not start; see ${tor.dir}/*.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const loaded = await run('vtysh', ['--vty_socket', tor.dir, '-f', conf]);
  if (/^%|error/im.test(loaded)) throw new Error(`FRR on ${tor.name} refused part of its config: ${loaded.trim()}`);
}

async function readPid(path: string, what: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    if (existsSync(path)) {
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pid > 0) return pid;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not write ${path}`);
}

/** bgpd first, then bfdd and zebra; `graceMs` 0 kills at once (a failed box cleans nothing up). */
export async function stopFrr(tor: LabTor, graceMs = 3000): Promise<void> {
  for (const pid of [...tor.pids].reverse()) await stopPid(pid, graceMs);
  tor.pids = [];
}

/** A vtysh command against the ToR (all its daemons answer on the vty sockets in its directory). */
export function vtysh(tor: LabTor, command: string): Promise<string> {
  return run('vtysh', ['--vty_socket', tor.dir, '-c', command]);
}
