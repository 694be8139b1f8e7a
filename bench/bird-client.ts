// BIRD as a client of a lab's route reflector, installing what it learns into its namespace's
// kernel (`protocol kernel`, routes with proto bird = 12): the in-run reference of the BGP
// benches, since it does what a weft node behind the same reflector does, in C.
//
// Its log (ms timestamps, wall clock) records when the session came up; the bench turns that
// into CLOCK_MONOTONIC with an offset it measures. Started in the foreground (`-f`) by
// Cleanup.spawn, so it is stopped by PID; its files live in the bench's temp directory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probe, run } from '../src/lab/exec.js';
import type { Cleanup } from './harness.js';

export const RTPROT_BIRD = 12;

export interface BirdClient {
  pid: number;
  birdc(...args: string[]): Promise<string>;
  /** Wall-clock ms (epoch) of each time the session to the reflector reached Established. */
  establishedAt(): number[];
}

export async function startBirdClient(cleanup: Cleanup, options: { netns: string; dir: string; name: string; address: string; reflector: string; asn: number }): Promise<BirdClient> {
  const conf = join(options.dir, `${options.name}.conf`);
  const log = join(options.dir, `${options.name}.log`);
  const socket = join(options.dir, `${options.name}.ctl`);
  writeFileSync(
    conf,
    `router id ${options.address};
log "${log}" all;
timeformat log "%F %T.%3f";
protocol device {}
protocol kernel {
  ipv4 { import none; export all; };
  learn off;
  scan time 60;
}
protocol bgp reflector {
  local ${options.address} as ${options.asn};
  neighbor ${options.reflector} as ${options.asn};
  direct;
  connect delay time 1;
  error wait time 1, 2;
  debug { states };
  ipv4 { gateway direct; import all; export none; };
}
`,
  );
  writeFileSync(log, '');
  const child = cleanup.spawn('bird', ['-f', '-c', conf, '-s', socket, '-P', join(options.dir, `${options.name}.pid`)], { netns: options.netns, stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await probe('birdc', ['-s', socket, 'show', 'status'], { netns: options.netns, timeoutMs: 2000 })).ok) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`bird client did not start; see ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid!,
    birdc: (...args) => run('birdc', ['-s', socket, ...args], { netns: options.netns }),
    establishedAt: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => /reflector: State changed to up/.test(l))
        .map((l) => new Date(l.slice(0, 23).replace(' ', 'T')).getTime()),
  };
}
