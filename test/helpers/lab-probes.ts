// Probes the end-to-end tests run against a lab: wait for a condition, read weft's routes on a
// node, and a continuous 10 ms ping whose losses are counted (the "no packet lost" assertions).
import { spawn } from 'node:child_process';
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
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
      if (!m) throw new Error(`no ping summary in: ${output.slice(-300)}`);
      return { sent: Number(m[1]), received: Number(m[2]) };
    },
  };
}
