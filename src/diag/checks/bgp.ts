// BGP checks (peers not Established, learned prefixes without a kernel route). The BGP backend is
// not built yet, so on every node these say "not applicable" out loud: a check that is skipped
// silently reads as a check that passed.
import type { Finding, NodeFacts } from './types.js';

export async function checkBgp(facts: NodeFacts): Promise<Finding[]> {
  const backend = facts.status?.backend ?? 'unknown';
  const why = backend === 'bgp' ? 'the BGP backend exposes no peer state to doctor yet' : `backend ${backend}`;
  return Promise.resolve([
    { check: 'bgp.peers', severity: 'ok', notApplicable: true, what: `BGP peers Established: not applicable: ${why}` },
    { check: 'bgp.routes', severity: 'ok', notApplicable: true, what: `routes for learned prefixes: not applicable: ${why}` },
  ]);
}
