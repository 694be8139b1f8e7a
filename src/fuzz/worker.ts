// A fuzz worker thread: runs the chunks of case indices the pool hands it, through the in-process
// loop (engine.ts), and reports findings as they happen. It publishes the index of the case it is
// running in shared memory, so the pool's watchdog can tell which input a stuck worker is stuck on
// after terminating it. Loaded by pool.ts only (compiled: it needs no TypeScript loader).
import { parentPort, workerData } from 'node:worker_threads';
import { loadCorpus } from './corpus.js';
import { runCases, type Finding } from './engine.js';
import type { TargetName } from './target.js';
import { targetByName } from './targets.js';

export interface WorkerSetup {
  target: TargetName;
  seed: number;
  hangMs: number;
  corpusRoot: string;
  /** Int32Array[0]: index (within the chunk) of the case now running. */
  current: SharedArrayBuffer;
}

export type ToWorker = { type: 'run'; from: number; count: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'finding'; finding: Finding }
  | { type: 'done'; from: number; cases: number; crashes: number; hangs: number; slowestMs: number };

const setup = workerData as WorkerSetup;
const target = targetByName(setup.target);
const pool = [...target.seeds(), ...loadCorpus(target, setup.corpusRoot).map((f) => f.case)];
const current = new Int32Array(setup.current);
const port = parentPort;
if (port === null) throw new Error('fuzz worker started outside a worker thread');

// WEFT_FUZZ_SELFTEST_HANG=<case index>: that case blocks forever, to show the watchdog works.
const hangAt = process.env.WEFT_FUZZ_SELFTEST_HANG === undefined ? undefined : Number(process.env.WEFT_FUZZ_SELFTEST_HANG);
let chunkFrom = 0;
const checked: typeof target =
  hangAt === undefined
    ? target
    : {
        ...target,
        check(c) {
          if (chunkFrom + Atomics.load(current, 0) === hangAt) for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
          return target.check(c);
        },
      };

port.on('message', (msg: ToWorker) => {
  chunkFrom = msg.from;
  const r = runCases(checked, {
    seed: setup.seed,
    from: msg.from,
    count: msg.count,
    pool,
    hangMs: setup.hangMs,
    current,
    onFinding: (finding) => port.postMessage({ type: 'finding', finding } satisfies FromWorker),
  });
  port.postMessage({ type: 'done', from: msg.from, cases: r.cases, crashes: r.crashes, hangs: r.hangs, slowestMs: r.slowestMs } satisfies FromWorker);
});
port.postMessage({ type: 'ready' } satisfies FromWorker);
