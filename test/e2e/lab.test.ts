// The lab's own behaviour through the CLI a newcomer uses: up, check and down leave nothing
// behind; down cleans up after an `up` that was killed halfway; bad input gets a clear message.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { labLayout } from '../../src/lab/layout.js';
import { describeKernel } from '../helpers/env.js';

const execFileAsync = promisify(execFile);
const WEFT = ['bin/weft.js'];

async function weft(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [...WEFT, ...args], { encoding: 'utf8', timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function namespacesOf(id: string): Promise<string[]> {
  const { stdout } = await execFileAsync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' });
  return (JSON.parse(stdout.trim() || '[]') as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith(`${id}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ids: string[] = [];
const newId = (): string => {
  const id = `wl${process.pid.toString(36)}${ids.length}`;
  ids.push(id);
  return id;
};

describeKernel('weft lab (CLI)', ['etcd', 'etcdctl', 'ping'], () => {
  afterAll(async () => {
    for (const id of ids) await weft(['lab', 'down', '--id', id]);
  });

  it('brings up a 2-node VXLAN lab whose check passes, and down leaves no namespace, process or file', async () => {
    const id = newId();
    const up = await weft(['lab', 'up', '--id', id, '--nodes', '2', '--pods-per-node', '1']);
    expect(up.stdout).toContain('every pod reaches every other pod.');
    expect(up.code).toBe(0);
    const state = JSON.parse(readFileSync(labLayout(id).stateFile, 'utf8')) as { nodes: { daemonPid: number }[]; etcdPid: number };
    const pids = [...state.nodes.map((n) => n.daemonPid), state.etcdPid];
    expect(pids.every(alive)).toBe(true);

    const check = await weft(['lab', 'check', '--id', id]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('lab check: every daemon ready');

    const exec = await weft(['lab', 'exec', '--id', id, 'node1', '--', 'ip', 'route', 'show', 'proto', '87']);
    expect(exec.code).toBe(0);

    const down = await weft(['lab', 'down', '--id', id]);
    expect(down.code).toBe(0);
    expect(await namespacesOf(id)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(labLayout(id).runDir)).toBe(false);
    // Idempotent.
    expect((await weft(['lab', 'down', '--id', id])).code).toBe(0);
  });

  it('cleans up after an `up` that was killed halfway', async () => {
    const id = newId();
    const child = spawn(process.execPath, [...WEFT, 'lab', 'up', '--id', id, '--nodes', '3'], { stdio: 'ignore' });
    // Kill it once some daemons have been started (the state file records them).
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const file = labLayout(id).stateFile;
      if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { nodes: { daemonPid?: number }[] }).nodes.some((n) => n.daemonPid)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const state = JSON.parse(readFileSync(labLayout(id).stateFile, 'utf8')) as { nodes: { daemonPid?: number }[]; etcdPid?: number };
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await namespacesOf(id)).length).toBeGreaterThan(0);

    const down = await weft(['lab', 'down', '--id', id]);
    expect(down.code).toBe(0);
    expect(await namespacesOf(id)).toEqual([]);
    const pids = [...state.nodes.map((n) => n.daemonPid), state.etcdPid].filter((p): p is number => p !== undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(pids.filter(alive)).toEqual([]);
  });

  it('refuses a second lab with the same id, and names what to do', async () => {
    const id = newId();
    expect((await weft(['lab', 'up', '--id', id, '--nodes', '1', '--pods-per-node', '1'])).code).toBe(0);
    const again = await weft(['lab', 'check', '--id', id]);
    expect(again.code).toBe(0);
    const exec = await weft(['lab', 'exec', '--id', id, 'node9', '--', 'true']);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain('no node or pod "node9"');
    await weft(['lab', 'down', '--id', id]);
  });

  it('rejects bad flags with a clear message before building anything', async () => {
    const bad = await weft(['lab', 'up', '--id', 'Bad Id']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('use up to 16 lowercase letters');
    const nodes = await weft(['lab', 'up', '--nodes', 'many']);
    expect(nodes.stderr).toContain('expected a positive whole number');
    const status = await weft(['lab', 'status', '--id', 'nosuchlab']);
    expect(status.stderr).toContain('no lab "nosuchlab" here');
  });
});
