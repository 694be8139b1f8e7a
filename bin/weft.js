#!/usr/bin/env node
// Entry point of the `weft` command: runs the compiled CLI (built by `npm install`'s prepare step).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('weft: not built yet; run `npm install` (or `npm run build`) in the repository first');
  process.exit(1);
}
const { main } = await import(cli.href);
await main(process.argv);
