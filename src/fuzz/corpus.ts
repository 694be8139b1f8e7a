// The fuzz corpus on disk: test/fixtures/fuzz-corpus/<target>/, one case per file, named by a hash
// of the case (so the same input found twice is one file) — the seeds plus every failing input
// ever found. The CI tests replay every file; the engine also mutates them, so old crashers keep
// seeding new searches. Text files only (hex for BGP, JSON for the others): reviewable in a diff.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FuzzTarget } from './target.js';

/** The repository root: the nearest directory above this module holding package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'fixtures'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export function defaultCorpusRoot(): string {
  return join(repoRoot(), 'test', 'fixtures', 'fuzz-corpus');
}

export interface CorpusFile<C> {
  file: string;
  case: C;
}

/** Every case in `<root>/<target>/` (sorted by file name), parsed with the target's parser. */
export function loadCorpus<C>(target: FuzzTarget<C>, root = defaultCorpusRoot()): CorpusFile<C>[] {
  const dir = join(root, target.name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(`.${target.ext}`))
    .sort()
    .map((f) => ({ file: join(dir, f), case: target.parse(readFileSync(join(dir, f), 'utf8')) }));
}

export function caseFileName<C>(target: FuzzTarget<C>, c: C): string {
  const hash = createHash('sha256').update(target.serialize(c)).digest('hex').slice(0, 16);
  return `${hash}.${target.ext}`;
}

/** Write a case unless the same case is already there; returns the path and whether it is new. */
export function saveCase<C>(target: FuzzTarget<C>, c: C, note?: string, root = defaultCorpusRoot()): { file: string; added: boolean } {
  const dir = join(root, target.name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, caseFileName(target, c));
  if (existsSync(file)) return { file, added: false };
  writeFileSync(file, target.serialize(c, note));
  return { file, added: true };
}
