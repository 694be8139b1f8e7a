// NetlinkError: what the kernel refused, carried as facts (errno and its name, the operation and
// its target) so callers branch on `code === 'EEXIST'` instead of matching message strings.
import { constants as osConstants } from 'node:os';

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

export class NetlinkError extends Error {
  /** Positive errno, e.g. 17 for EEXIST. */
  readonly errno: number;
  /** Symbolic errno, e.g. "EEXIST". */
  readonly code: string;

  constructor(
    /** What was asked, e.g. "route.replace". */
    readonly operation: string,
    /** What it was asked of, e.g. "10.244.3.0/24 dev flannel.1". */
    readonly target: string,
    errno: number,
    /** The kernel's extended-ack message, when it sent one. */
    readonly detail?: string,
  ) {
    const code = errnoName(errno);
    super(`${operation} ${target}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'NetlinkError';
    this.errno = errno;
    this.code = code;
  }
}

export function isNetlinkError(error: unknown, code?: string): error is NetlinkError {
  return error instanceof NetlinkError && (code === undefined || error.code === code);
}
