// What the ToR interop tests check on a lab's nodes, whatever the router: each node's podCIDR,
// and that every node holds exactly the other nodes' podCIDRs as weft routes via the expected
// next hop (the originating node behind a route reflector, the ToR behind an eBGP router).
import type { Lab } from '../../src/lab/lab.js';
import { waitFor, weftRoutes } from './lab-probes.js';

export interface LabNode {
  index: number;
  ip: string;
  subnet: string;
}

export async function labNodes(lab: Lab): Promise<LabNode[]> {
  return Promise.all(lab.state.nodes.map(async (n) => ({ index: n.index, ip: n.ip, subnet: ((await lab.daemonStatus(n.index)) as { subnet: string }).subnet })));
}

/** Waits until every node has the other podCIDRs (and nothing else) via `nextHop(from, to)`. */
export async function waitForPodRoutes(lab: Lab, nodes: LabNode[], nextHop: (from: LabNode, to: LabNode) => string, timeoutMs = 20_000): Promise<void> {
  for (const node of nodes) {
    const expected = nodes.filter((o) => o !== node).map((o) => `${o.subnet} via ${nextHop(node, o)}`).sort();
    let last: string[] = [];
    await waitFor(`node${node.index}'s routes ${JSON.stringify(expected)}`, async () => {
      last = (await weftRoutes(lab, node.index)).map((r) => `${r.dst} via ${r.gateway}`).sort();
      return JSON.stringify(last) === JSON.stringify(expected);
    }, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`);
    });
  }
}
