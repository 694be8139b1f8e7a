// A V8 CPU profile of a process the bench does not start itself (the lab starts the daemons), for
// `weft bench bgp-scale --cpu-prof DIR`. Node refuses --cpu-prof in NODE_OPTIONS but allows
// --import, so the bench sets
//
//   NODE_OPTIONS="--import file:///…/dist/bench/cpu-profile-preload.js"  WEFT_BENCH_CPU_PROF_DIR=DIR
//
// for that one child: this module starts the profiler before the program runs and writes
// DIR/<pid>.cpuprofile on SIGUSR2 or when the process exits (an in-thread inspector session answers
// synchronously, so that works inside the 'exit' handler). What it is not: a sampler of
// anything but the JavaScript thread.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.WEFT_BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  // On demand (the bench sends SIGUSR2 once it has its figures), else at exit.
  process.on('SIGUSR2', write);
  process.on('exit', write);
}
