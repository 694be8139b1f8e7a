// Names and addresses of a lab: everything the lab creates is derived from its id, so `lab down`
// can find and remove it all even when the state file is gone (after a crash or a reboot).
// Underlay addresses come from documentation ranges only; pod subnets exist only inside the
// lab's namespaces.
import { join } from 'node:path';

export const DEFAULT_LAB_ID = 'weft-lab';
export const DEFAULT_RUN_ROOT = '/run/weft-lab';

export interface LabLayout {
  id: string;
  runDir: string;
  /** Namespace holding the underlay bridge and the lab's etcd. */
  underlayNetns: string;
  bridge: string;
  /** The underlay side of the registry (etcd) and the ToR. */
  serviceIP: string;
  serviceIPv6: string;
  etcdEndpoint: string;
  network: string;
  ipv6Network: string;
  stateFile: string;
}

export function labLayout(id: string, runRoot = DEFAULT_RUN_ROOT): LabLayout {
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(id)) throw new Error(`lab id "${id}": use up to 16 lowercase letters, digits and dashes`);
  const runDir = join(runRoot, id);
  return {
    id,
    runDir,
    underlayNetns: `${id}-ul`,
    bridge: 'br0',
    serviceIP: '192.0.2.1',
    serviceIPv6: '2001:db8::1',
    etcdEndpoint: 'http://192.0.2.1:2379',
    network: '10.244.0.0/16',
    ipv6Network: 'fd00:10:244::/56',
    stateFile: join(runDir, 'state.json'),
  };
}

export interface NodeLayout {
  index: number;
  name: string;
  netns: string;
  /** Veth end on the underlay bridge (in the underlay namespace). */
  bridgePort: string;
  ip: string;
  ipv6: string;
  dir: string;
}

export function nodeLayout(lab: LabLayout, index: number): NodeLayout {
  if (index < 1 || index > 200) throw new Error(`node index ${index} outside 1–200`);
  return {
    index,
    name: `node${index}`,
    netns: `${lab.id}-n${index}`,
    bridgePort: `n${index}`,
    ip: `192.0.2.${10 + index}`,
    ipv6: `2001:db8::${(10 + index).toString(16)}`,
    dir: join(lab.runDir, `node${index}`),
  };
}

export function podNetns(lab: LabLayout, node: number, pod: number): string {
  return `${lab.id}-n${node}-p${pod}`;
}
