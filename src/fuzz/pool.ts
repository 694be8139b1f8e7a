// The long fuzz run across worker threads, with a watchdog. The engine's per-case timing catches
// slow cases, but an input that never returns (an infinite loop in synchronous code) can only be
// stopped from outside: every worker publishes the index of the case it is running in shared
// memory; a worker whose index has not moved for `watchdogMs` is terminated, the case is rebuilt
// here from its index (cases are a pure function of seed and index) and recorded as a hang, and a
// fresh worker carries on after it. A worker that dies (out of memory, a native crash) is handled
// the same way, as a crash. Indices are handed out in chunks, so two workers share the load.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { loadCorpus } from './corpus.js';
import { signature, type Finding } from './engine.js';
import { caseSeed, Rng } from './rng.js';
import type { TargetName } from './target.js';
import { targetByName } from './targets.js';
import type { FromWorker, WorkerSetup } from './worker.js';

export interface PoolOptions {
  target: TargetName;
  seed: number;
  cases: number;
  workers: number;
  hangMs: number;
  /** A case running this long is a hang and its worker is terminated. */
  watchdogMs?: number;
  corpusRoot: string;
  chunk?: number;
  onFinding?: (f: Finding) => void;
  onProgress?: (done: number, elapsedMs: number) => void;
}

export interface PoolResult {
  cases: number;
  crashes: number;
  hangs: number;
  /** Workers terminated by the watchdog or found dead. */
  restarts: number;
  findings: Finding[];
  slowestMs: number;
  wallMs: number;
}

interface Slot {
  worker: Worker;
  current: Int32Array;
  chunk?: { from: number; count: number };
  lastIndex: number;
  lastMove: number;
}

export function runFuzzPool(options: PoolOptions): Promise<PoolResult> {
  const watchdogMs = options.watchdogMs ?? 10_000;
  const chunkSize = options.chunk ?? 20_000;
  const target = targetByName(options.target);
  const casePool = [...target.seeds(), ...loadCorpus(target, options.corpusRoot).map((f) => f.case)];
  const queue: { from: number; count: number }[] = [];
  for (let from = 0; from < options.cases; from += chunkSize) queue.push({ from, count: Math.min(chunkSize, options.cases - from) });
  const result: PoolResult = { cases: 0, crashes: 0, hangs: 0, restarts: 0, findings: [], slowestMs: 0, wallMs: 0 };
  const perSignature = new Map<string, number>();
  const started = performance.now();
  const slots = new Set<Slot>();

  const record = (f: Finding): void => {
    const n = (perSignature.get(signature(f)) ?? 0) + 1;
    perSignature.set(signature(f), n);
    if (n > 3) return;
    result.findings.push(f);
    options.onFinding?.(f);
  };

  return new Promise<PoolResult>((resolve, reject) => {
    let finished = false;
    const finishIfIdle = (): void => {
      if (finished || queue.length > 0 || [...slots].some((s) => s.chunk !== undefined)) return;
      finished = true;
      clearInterval(watchdog);
      for (const s of slots) void s.worker.terminate();
      result.wallMs = performance.now() - started;
      resolve(result);
    };

    const feed = (slot: Slot): void => {
      const next = queue.shift();
      if (next === undefined) {
        slot.chunk = undefined;
        finishIfIdle();
        return;
      }
      slot.chunk = next;
      slot.lastIndex = -1;
      slot.lastMove = performance.now();
      Atomics.store(slot.current, 0, 0);
      slot.worker.postMessage({ type: 'run', from: next.from, count: next.count });
    };

    /** The worker of `slot` is stuck or dead on its current case: record it, replace the worker. */
    const replace = (slot: Slot, kind: Finding['kind'], why: string): void => {
      const chunk = slot.chunk;
      slots.delete(slot);
      slot.chunk = undefined;
      void slot.worker.terminate();
      result.restarts++;
      if (chunk !== undefined) {
        const k = Atomics.load(slot.current, 0);
        const index = chunk.from + k;
        const c = target.generate(new Rng(caseSeed(options.seed, target.name, index)), casePool);
        const reason = `${why} (watchdog)`;
        record({ target: target.name, seed: options.seed, index, kind, reason, text: target.serialize(c, `${kind}: ${reason} (seed ${options.seed}, case ${index})`), ms: performance.now() - slot.lastMove });
        if (kind === 'hang') result.hangs++;
        else result.crashes++;
        // The cases before it ran to completion (their findings were already posted).
        result.cases += k + 1;
        if (k + 1 < chunk.count) queue.unshift({ from: index + 1, count: chunk.count - k - 1 });
      }
      spawn();
    };

    const spawn = (): void => {
      const shared = new SharedArrayBuffer(4);
      const setup: WorkerSetup = { target: options.target, seed: options.seed, hangMs: options.hangMs, corpusRoot: options.corpusRoot, current: shared };
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup });
      const slot: Slot = { worker, current: new Int32Array(shared), lastIndex: -1, lastMove: performance.now() };
      slots.add(slot);
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') feed(slot);
        else if (msg.type === 'finding') record(msg.finding);
        else if (msg.type === 'done') {
          result.cases += msg.cases;
          result.crashes += msg.crashes;
          result.hangs += msg.hangs;
          result.slowestMs = Math.max(result.slowestMs, msg.slowestMs);
          options.onProgress?.(result.cases, performance.now() - started);
          feed(slot);
        }
      });
      worker.on('error', (err) => {
        if (!slots.has(slot)) return;
        if (slot.chunk === undefined) return reject(err);
        replace(slot, 'crash', `worker died: ${err.message}`);
      });
      worker.on('exit', (code) => {
        if (finished || !slots.has(slot)) return;
        if (slot.chunk !== undefined) replace(slot, 'crash', `worker exited with code ${code}`);
        else reject(new Error(`fuzz worker exited with code ${code} before taking work`));
      });
    };

    const watchdog = setInterval(() => {
      const now = performance.now();
      for (const slot of [...slots]) {
        if (slot.chunk === undefined) continue;
        const k = Atomics.load(slot.current, 0);
        if (k !== slot.lastIndex) {
          slot.lastIndex = k;
          slot.lastMove = now;
        } else if (now - slot.lastMove > watchdogMs) {
          replace(slot, 'hang', `no progress for ${Math.round(now - slot.lastMove)} ms on one case`);
        }
      }
    }, Math.min(250, watchdogMs / 4));

    for (let i = 0; i < Math.max(1, options.workers); i++) spawn();
  });
}
