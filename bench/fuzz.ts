// Long fuzz runs (`weft bench fuzz`): the BGP decoder, the registry entry parser and the config
// parser, each through its oracle (src/fuzz), across worker threads with a watchdog (or in this
// process with --workers 0). Prints cases, wall time, cases/s, crashes and hangs per target, writes
// every new failing input into the corpus (test/fixtures/fuzz-corpus/<target>/, named by hash) and
// optionally the figures as JSON. Not a CI test: CI runs bounded samples (test/unit/fuzz-*.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { caseFileName, defaultCorpusRoot, loadCorpus } from '../src/fuzz/corpus.js';
import { DEFAULT_HANG_MS, runCases, signature, type Finding } from '../src/fuzz/engine.js';
import { runFuzzPool } from '../src/fuzz/pool.js';
import { dateSeed } from '../src/fuzz/rng.js';
import { TARGET_NAMES, type TargetName } from '../src/fuzz/target.js';
import { targetByName } from '../src/fuzz/targets.js';

export interface FuzzBenchOptions {
  /** Cases per target. */
  cases: number;
  seed?: number;
  target: TargetName | 'all';
  /** Worker threads (0: run in this process, without the watchdog). */
  workers: number;
  hangMs?: number;
  watchdogMs?: number;
  corpus?: string;
  json?: string;
}

export interface FuzzBenchRow {
  target: TargetName;
  seed: number;
  cases: number;
  wallSeconds: number;
  casesPerSecond: number;
  crashes: number;
  hangs: number;
  workerRestarts: number;
  slowestCaseMs: number;
  /** Distinct failures (reason with numbers blanked) and the corpus files written for them. */
  failures: { signature: string; example: string }[];
  newCorpusFiles: string[];
}

function machine(): string {
  let distro = 'Linux';
  try {
    distro = /^NAME="?([^"\n ]+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch {
    // not Linux, or no os-release: keep the kernel's name
  }
  return `${distro}, ${cpus().length} cores, Node ${process.versions.node.split('.')[0]}`;
}

/** Write a finding into the corpus under the hash of its case; returns the path if it is new. */
function keep(f: Finding, root: string): string | undefined {
  // The watchdog self-test's hang is made up: nothing to keep.
  if (process.env.WEFT_FUZZ_SELFTEST_HANG !== undefined) return undefined;
  const target = targetByName(f.target as TargetName);
  const file = join(root, f.target, caseFileName(target, target.parse(f.text)));
  if (existsSync(file)) return undefined;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, f.text);
  return file;
}

export async function runFuzzBench(options: FuzzBenchOptions): Promise<FuzzBenchRow[]> {
  const seed = options.seed ?? dateSeed();
  const root = options.corpus ?? defaultCorpusRoot();
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS;
  const names = options.target === 'all' ? [...TARGET_NAMES] : [options.target];
  const rows: FuzzBenchRow[] = [];
  console.log(`fuzz: seed ${seed}, ${options.cases.toLocaleString('en')} cases per target, ${options.workers} worker(s), hang limit ${hangMs} ms, corpus ${relative(process.cwd(), root) || root}`);
  for (const name of names) {
    const newFiles: string[] = [];
    const onFinding = (f: Finding): void => {
      console.log(`  ${f.kind} at case ${f.index}: ${f.reason}`);
      const file = keep(f, root);
      if (file !== undefined) newFiles.push(relative(process.cwd(), file));
    };
    let r: { cases: number; crashes: number; hangs: number; findings: Finding[]; slowestMs: number; wallMs: number; restarts?: number };
    if (options.workers > 0) {
      let lastPrint = 0;
      r = await runFuzzPool({
        target: name,
        seed,
        cases: options.cases,
        workers: options.workers,
        hangMs,
        ...(options.watchdogMs !== undefined ? { watchdogMs: options.watchdogMs } : {}),
        corpusRoot: root,
        onFinding,
        onProgress: (done, ms) => {
          if (ms - lastPrint < 15_000) return;
          lastPrint = ms;
          console.log(`  ${name}: ${done.toLocaleString('en')} cases, ${Math.round((done / ms) * 1000).toLocaleString('en')}/s`);
        },
      });
    } else {
      const target = targetByName(name);
      const pool = [...target.seeds(), ...loadCorpus(target, root).map((f) => f.case)];
      r = runCases(target, { seed, from: 0, count: options.cases, pool, hangMs, onFinding });
    }
    const bySignature = new Map<string, Finding>();
    for (const f of r.findings) if (!bySignature.has(signature(f))) bySignature.set(signature(f), f);
    const row: FuzzBenchRow = {
      target: name,
      seed,
      cases: r.cases,
      wallSeconds: Math.round(r.wallMs) / 1000,
      casesPerSecond: Math.round((r.cases / r.wallMs) * 1000),
      crashes: r.crashes,
      hangs: r.hangs,
      workerRestarts: r.restarts ?? 0,
      slowestCaseMs: Math.round(r.slowestMs * 10) / 10,
      failures: [...bySignature].map(([s, f]) => ({ signature: s, example: `case ${f.index}: ${f.reason}` })),
      newCorpusFiles: newFiles,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(8)} ${row.cases.toLocaleString('en').padStart(12)} cases  ${row.wallSeconds.toFixed(1).padStart(7)} s  ${row.casesPerSecond.toLocaleString('en').padStart(8)} cases/s  crashes ${row.crashes}  hangs ${row.hangs}  slowest case ${row.slowestCaseMs} ms  new corpus files ${newFiles.length}`,
    );
  }
  if (options.json !== undefined) {
    // Rows of other targets already in the file are kept: one file can hold a long BGP run and
    // shorter registry/config runs made separately.
    let kept: (FuzzBenchRow & { environment?: unknown })[] = [];
    try {
      kept = (JSON.parse(readFileSync(options.json, 'utf8')) as { rows: (FuzzBenchRow & { environment?: unknown })[] }).rows.filter((r) => !names.includes(r.target));
    } catch {
      kept = [];
    }
    const environment = { date: new Date().toISOString(), machine: machine(), load: Math.round(loadavg()[0]! * 100) / 100, workers: options.workers, hangLimitMs: hangMs };
    const all = [...kept, ...rows.map((r) => ({ ...r, environment }))].sort((a, b) => TARGET_NAMES.indexOf(a.target) - TARGET_NAMES.indexOf(b.target));
    writeFileSync(options.json, `${JSON.stringify({ rows: all }, null, 2)}\n`);
  }
  return rows;
}
