// What `weft lab up` will build, printed as a plan. The lab itself (issue: local lab and bench)
// replaces this with the real thing; until then `npm start` shows exactly what it is going to do.
export interface LabPlanOptions {
  backend: 'vxlan' | 'bgp';
  nodes: number;
  podsPerNode: number;
}

export function labPlan(options: LabPlanOptions): string[] {
  const lines = [
    `weft lab: ${options.nodes} nodes, ${options.podsPerNode} pods per node, backend ${options.backend}`,
    '  1. an underlay segment: bridge weft-lab-br in its own namespace, addresses from 192.0.2.0/24',
  ];
  for (let i = 1; i <= options.nodes; i++) {
    lines.push(`  ${i + 1}. node namespace weft-lab-n${i}: veth to the underlay, 192.0.2.${10 + i}/24, pod subnet 10.244.${i}.0/24`);
  }
  const step = options.nodes + 2;
  lines.push(
    `  ${step}. a real etcd (etcd-server) as the registry, on the underlay`,
    `  ${step + 1}. one \`weft daemon --backend=${options.backend}\` per node namespace`,
    `  ${step + 2}. pods: namespaces created by the CNI bridge + host-local plugins from each daemon's conflist`,
    `  ${step + 3}. a pod-to-pod connectivity matrix (ping between every pair of pods)`,
    '',
    'The lab is not built yet: the daemon and backends it runs are the next issues. What exists today:',
    '  npm test                   the whole suite (netlink layer against the real kernel, in namespaces)',
    '  npx weft bench netlink     programs 5000 remote nodes over netlink vs. ip/bridge -batch',
  );
  return lines;
}

export function printLabPlan(options: LabPlanOptions): void {
  process.stdout.write(`${labPlan(options).join('\n')}\n`);
}
