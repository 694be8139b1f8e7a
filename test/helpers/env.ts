// Preconditions of kernel and interop tests. Outside CI a test whose needs are not met is skipped
// with the reason printed; under CI=true it fails instead, because a silent skip would let a
// broken setup pass as green.
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What is missing for a test that needs root (CAP_NET_ADMIN) and the given commands. */
export function missingRequirements(commands: string[] = []): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (CAP_NET_ADMIN to create network namespaces)');
  for (const command of ['ip', ...commands]) if (!commandExists(command)) missing.push(`command "${command}" (run: npm run setup)`);
  return missing;
}

/**
 * `describe` for tests that touch the real kernel or real daemons. When requirements are missing
 * it skips (with a message) locally and fails under CI.
 */
export function describeKernel(name: string, commands: string[], body: () => void): void {
  const missing = missingRequirements(commands);
  if (missing.length === 0) {
    describe(name, body);
  } else if (IN_CI) {
    describe(name, () => {
      throw new Error(`CI=true and this machine lacks: ${missing.join(', ')}`);
    });
  } else {
    console.warn(`skipping "${name}": missing ${missing.join(', ')}`);
    describe.skip(name, body);
  }
}
