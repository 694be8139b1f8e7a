// A bench's own host on a lab's underlay segment: a namespace with one veth (eth0) on the lab's
// bridge and the addresses it is given, removed by the bench's cleanup (also on failure). The
// BGP benches put their joining node, route generator and BIRD reference there.
//
// What it is not: a lab node (no daemon, no registry entry); the namespace name must carry the
// bench's unique prefix.
import { run } from '../src/lab/exec.js';
import type { Lab } from '../src/lab/lab.js';
import type { Cleanup } from './harness.js';

export interface UnderlayHost {
  netns: string;
  addAddress(cidr: string): Promise<void>;
  delAddress(cidr: string): Promise<void>;
}

/** Creates `netns` with eth0 plugged into the lab's bridge as port `port` (≤ 15 chars). */
export async function underlayHost(cleanup: Cleanup, lab: Lab, netns: string, port: string, addresses: string[]): Promise<UnderlayHost> {
  const ul = lab.layout.underlayNetns;
  cleanup.add(`namespace ${netns}`, () => run('ip', ['netns', 'del', netns]).then(() => undefined, () => undefined));
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', ul, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await run('ip', ['-n', ul, 'link', 'set', port, 'master', lab.layout.bridge, 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  for (const a of addresses) await run('ip', ['-n', netns, 'addr', 'add', a, 'dev', 'eth0']);
  return {
    netns,
    addAddress: async (cidr) => void (await run('ip', ['-n', netns, 'addr', 'add', cidr, 'dev', 'eth0'])),
    delAddress: async (cidr) => void (await run('ip', ['-n', netns, 'addr', 'del', cidr, 'dev', 'eth0'])),
  };
}
