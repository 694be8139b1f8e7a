// Network namespaces by name, the way `ip netns` names them (/run/netns/NAME).
//
// weft's netlink sockets can be opened in another namespace without a separate process: the main
// thread enters the namespace with setns(2) (our small native addon), the socket is created
// synchronously, and the thread returns to its own namespace before anything else runs. A socket
// keeps the namespace it was created in for its whole life, exactly like `ip -n NAME`.
import { closeSync, existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as osConstants } from 'node:os';

const CLONE_NEWNET = 0x40000000;
export const NETNS_RUN_DIR = '/run/netns';

interface NativeAddon {
  setns(fd: number, nstype: number): void;
  setsockoptInt(fd: number, level: number, name: number, value: number): void;
}

/** The package root: the nearest ancestor holding binding.gyp (works from src/ and from dist/src/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('weft: cannot find the package root (binding.gyp)');
    dir = parent;
  }
  return dir;
}

let addon: NativeAddon | undefined;
export function native(): NativeAddon {
  if (!addon) {
    const path = join(packageRoot(), 'build', 'Release', 'weft_native.node');
    if (!existsSync(path)) {
      throw new Error(`weft: native addon missing at ${path}; run \`npm install\` (or \`npm run build\`)`);
    }
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  }
  return addon;
}

export class NetnsError extends Error {
  constructor(
    readonly netns: string,
    readonly errno: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NetnsError';
  }
}

function errnoName(errno: number): string {
  const entry = Object.entries(osConstants.errno).find(([, value]) => value === errno);
  return entry ? entry[0] : `errno ${errno}`;
}

export function netnsPath(name: string): string {
  return name.includes('/') ? name : join(NETNS_RUN_DIR, name);
}

/**
 * Runs `create` (which must be synchronous) with the main thread inside network namespace `name`,
 * then returns to the original namespace. Only for creating sockets.
 */
export function inNetns<T>(name: string, create: () => T): T {
  const path = netnsPath(name);
  let target: number;
  try {
    target = openSync(path, 'r');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new NetnsError(name, -(e.errno ?? 0), e.code ?? 'EIO', `network namespace "${name}" not found (${path})`);
  }
  const self = openSync('/proc/thread-self/ns/net', 'r');
  try {
    try {
      native().setns(target, CLONE_NEWNET);
    } catch (error) {
      const errno = (error as { errno?: number }).errno ?? 0;
      throw new NetnsError(name, errno, errnoName(errno), `cannot enter network namespace "${name}": ${errnoName(errno)}`);
    }
    try {
      return create();
    } finally {
      // Failing to return would leave every later socket of this process in the wrong namespace.
      native().setns(self, CLONE_NEWNET);
    }
  } finally {
    closeSync(self);
    closeSync(target);
  }
}
