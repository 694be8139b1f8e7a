// The weft command line: every subcommand has --help, flags are validated with a clear error,
// and the installed bin runs (npm install builds dist/ through the prepare step).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli.js';
import { labLayout, nodeLayout } from '../../src/lab/layout.js';

function run(args: string[]): { out: string; err: string; exitCode: number | undefined } {
  let out = '';
  let err = '';
  const program = buildProgram();
  const silence = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    cmd.commands.forEach(silence);
  };
  silence(program);
  try {
    program.parse(['node', 'weft', ...args]);
    return { out, err, exitCode: undefined };
  } catch (error) {
    return { out, err, exitCode: (error as { exitCode?: number }).exitCode };
  }
}

function allCommandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((sub) => [[...prefix, sub.name()], ...allCommandPaths(sub, [...prefix, sub.name()])]);
}

describe('weft CLI', () => {
  it('prints help for the program and for every subcommand', () => {
    const paths = allCommandPaths(buildProgram());
    expect(paths).toContainEqual(['lab', 'up']);
    expect(paths).toContainEqual(['lab', 'down']);
    expect(paths).toContainEqual(['lab', 'check']);
    expect(paths).toContainEqual(['bench', 'netlink']);
    for (const path of [[], ...paths]) {
      const { out, exitCode } = run([...path, '--help']);
      expect(exitCode, path.join(' ')).toBe(0);
      expect(out).toContain('Usage: weft');
    }
  });

  it('rejects an unknown log level, naming the accepted ones', () => {
    const { err, exitCode } = run(['--log-level', 'loud', 'lab', 'up']);
    expect(exitCode).toBe(1);
    expect(err).toContain("option '--log-level <level>' argument 'loud' is invalid");
    expect(err).toContain('expected one of fatal, error, warn, info, debug, trace, silent');
  });

  it('rejects a node count that is not a positive whole number', () => {
    const { err, exitCode } = run(['lab', 'up', '--nodes', '0']);
    expect(exitCode).toBe(1);
    expect(err).toContain('expected a positive whole number');
  });

  it('rejects an unknown backend', () => {
    const { err, exitCode } = run(['lab', 'up', '--backend', 'gre']);
    expect(exitCode).toBe(1);
    expect(err).toContain('Allowed choices are vxlan, bgp');
  });

  it('names every lab namespace from the lab id and uses documentation underlay addresses', () => {
    const lab = labLayout('weft-lab');
    expect(lab.underlayNetns).toBe('weft-lab-ul');
    expect(nodeLayout(lab, 3)).toMatchObject({ netns: 'weft-lab-n3', ip: '192.0.2.13' });
    expect(() => labLayout('Bad Id')).toThrow('use up to 16 lowercase letters');
  });

  it('runs as the installed bin', () => {
    const out = execFileSync(process.execPath, ['bin/weft.js', '--help'], { encoding: 'utf8' });
    expect(out).toContain('Usage: weft');
    expect(out).toContain('bench');
  });
});

/** Runs the installed bin; its exit status and output, whether or not it failed. */
function runBin(args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, ['bin/weft.js', ...args], { encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the operator\'s commands when there is nothing to talk to', () => {
  const missing = `/tmp/weft-cli-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  it('weft status without a daemon: one line naming the socket and what to check, exit status 1', () => {
    const r = runBin(['status', '--socket', `${missing}/weft.sock`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`weft status: cannot reach the weft daemon at ${missing}/weft.sock: connect ENOENT ${missing}/weft.sock — is weft daemon running on this node? (--socket names another status socket)`]);
  });

  it('weft trace without a daemon: the same one line', () => {
    const r = runBin(['trace', '10.244.1.2', '10.244.2.3', '--socket', `${missing}/weft.sock`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^weft trace: cannot reach the weft daemon at .*ENOENT/)]);
  });

  it('weft lab status and weft trace --lab for a lab that is not there: one line with the command that makes it', () => {
    const id = `nolab${process.pid.toString(36)}`.slice(0, 16);
    for (const args of [['lab', 'status', '--id', id], ['lab', 'exec', '--id', id, 'node1', '--', 'true'], ['trace', '10.244.1.2', '10.244.2.3', '--lab', id, '--lab-root', missing]]) {
      const r = runBin(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([expect.stringMatching(new RegExp(`^weft (lab status|lab exec|trace): no lab "${id}" here \\(.*state\\.json not found\\); start one with \`weft lab up --id ${id}\`$`))]);
    }
  });

  it('weft trace checks its arguments are IPv4 addresses before looking for anything', () => {
    const r = runBin(['trace', 'pod-a', '10.244.2.3', '--socket', `${missing}/weft.sock`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("command-argument value 'pod-a' is invalid for argument 'src-pod-ip'. expected an IPv4 pod address");
    expect(r.stderr).not.toContain('cannot reach');
  });
});

describe('weft daemon start-up errors', () => {
  it('stops with one line naming the bad flag and exit status 2', () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, ['bin/weft.js', 'daemon', '--backend', 'gre', '--node-name', 'n1'], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, WEFT_LOG_LEVEL: 'silent' } });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(2);
    expect(failure?.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^weft daemon: --backend: expected .*vxlan.*bgp.*, got "gre"/)]);
  });
});
