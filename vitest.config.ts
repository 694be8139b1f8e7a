// Test runner configuration. Kernel and interop tests create their own namespaces and processes,
// so files run in separate forked workers (a crash in one cannot leak into another) and get
// generous timeouts for real daemons starting on a 2-core machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
