// Probes the end-to-end tests run against a lab: wait for a condition, read weft's routes on a
// node, one sample of its /metrics, and a continuous 10 ms ping whose losses are counted (the "no
// packet lost" assertions).
import { spawn } from 'node:child_process';
import { daemonGet } from '../../src/daemon/client.js';
import { run } from '../../src/lab/exec.js';
import type { Lab } from '../../src/lab/lab.js';

/** Polls `check` every 50 ms until it returns something truthy, and returns that. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One sample of a node's /metrics: `name{labels}` exactly (all labels given), or undefined. */
export async function metric(lab: Lab, node: number, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const body = (await daemonGet({ socketPath: lab.statusSocket(node) }, '/metrics')).body;
  const want = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!] as const).sort(([a], [b]) => a.localeCompare(b));
    if (JSON.stringify(have) === JSON.stringify(want)) return Number(m[3]);
  }
  return undefined;
}

export interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
}

/** `ip -j route show proto 87` in node `node`'s namespace. */
export async function weftRoutes(lab: Lab, node: number): Promise<RouteJson[]> {
  return JSON.parse(await run('ip', ['-j', '-n', lab.nodeLayout(node).netns, 'route', 'show', 'proto', '87'])) as RouteJson[];
}

/** Pings every 10 ms from `netns` to `address` until stopped; returns sent and received. */
export function continuousPing(netns: string, address: string): { stop: () => Promise<{ sent: number; received: number }> } {
  const child = spawn('ip', ['netns', 'exec', netns, 'ping', '-i', '0.01', '-W', '1', address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  return {
    stop: async () => {
      // 'close', not 'exit': the summary ping prints on SIGINT can still be in the pipe at 'exit'.
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGINT');
      await closed;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
      if (!m) throw new Error(`no ping summary in: ${output.slice(-300)}`);
      return { sent: Number(m[1]), received: Number(m[2]) };
    },
  };
}
