// The lab's Kubernetes registry (`registry: 'kube'`): the in-repo API test server run as its own
// process in the underlay namespace, on the service address (192.0.2.1:6443), so every node's
// `weft daemon --registry kube` reaches it over the underlay exactly as it would reach a real API
// server; and the client for its control socket, through which the lab plays controller-manager
// (creates each node's Node with its podCIDR) and tests inject faults (dropped watches, 410s).
//
// Why a process and not the server object in the test's own process: it must listen inside the
// underlay namespace, and a lab must outlive the command that built it (`weft lab up`).
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, startDetached } from './exec.js';
import type { LabLayout } from './layout.js';

export const KUBE_API_PORT = 6443;

/** The podCIDR the lab assigns node `index` (as the controller-manager's allocator would). */
export function kubeNodePodCidr(layout: LabLayout, index: number): string {
  const [a, b] = layout.network.split('.');
  return `${a}.${b}.${index}.0/24`;
}

export function kubeControlSocket(layout: LabLayout): string {
  return join(layout.runDir, 'kube.ctl');
}

function serverEntry(): string {
  // From dist/src/lab/ (built) or src/lab/ (tests run the sources): the built entry point.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, '..', 'testing', 'kube-apiserver-process.js'), join(here, '..', '..', 'dist', 'src', 'testing', 'kube-apiserver-process.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('cannot find the built kube-apiserver-process.js; run `npx tsc -p tsconfig.build.json`');
}

/** Starts the server and waits until its control socket answers; returns its PID. */
export async function startKubeApiServerProcess(layout: LabLayout, onPid: (pid: number) => void): Promise<number> {
  const control = kubeControlSocket(layout);
  const child = startDetached(process.execPath, [serverEntry(), '--host', layout.serviceIP, '--port', String(KUBE_API_PORT), '--dir', layout.runDir, '--control', control], {
    netns: layout.underlayNetns,
    logFile: join(layout.runDir, 'kube-apiserver.log'),
  });
  if (child.pid === undefined) throw new Error('could not start the Kubernetes API test server');
  onPid(child.pid);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await kubeControl(layout, 'GET', '/state');
      return child.pid;
    } catch {
      if (!isAlive(child.pid) || Date.now() > deadline) throw new Error(`the Kubernetes API test server did not start; see ${join(layout.runDir, 'kube-apiserver.log')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** One request to the server's control socket; rejects on anything but 200. */
export function kubeControl<T = unknown>(layout: LabLayout, method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: kubeControlSocket(layout), method, path, headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(JSON.parse(text || '{}') as T);
        else reject(new Error(`kube control ${method} ${path}: ${res.statusCode} ${text}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`kube control ${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
