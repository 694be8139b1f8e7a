// `weft daemon`: resolve the configuration, build the daemon, run it until SIGTERM/SIGINT.
// Invalid configuration stops start-up with one clear line and exit status 2. On a signal the
// control plane stops and the datapath stays (pods keep talking while weft restarts).
import { hostname } from 'node:os';
import { isConfigError } from '../config/errors.js';
import { resolveDaemonConfig } from '../config/daemon-config.js';
import { rootLogger } from '../log.js';
import { buildDaemon, readTextFile } from './build.js';

export const DEFAULT_STATUS_SOCKET = '/run/weft/weft.sock';

export async function runDaemon(opts: Record<string, unknown>): Promise<void> {
  const logger = rootLogger();
  let config;
  try {
    config = resolveDaemonConfig(opts, process.env, readTextFile, { hostname: hostname() });
  } catch (error) {
    if (isConfigError(error)) {
      process.stderr.write(`weft daemon: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const statusSocket = (opts.statusSocket as string | undefined) ?? process.env.WEFT_STATUS_SOCKET ?? DEFAULT_STATUS_SOCKET;
  const cniIpamDir = (opts.cniIpamDir as string | undefined) ?? process.env.WEFT_CNI_IPAM_DIR;
  // A rejected promise somewhere must not take the node's networking agent down with it.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (ignored)'));
  const log = logger.child({ node: config.nodeName });
  let daemon;
  try {
    daemon = await buildDaemon(config, { statusSocket, ...(cniIpamDir ? { cniIpamDir } : {}) }, log);
  } catch (error) {
    if (isConfigError(error)) {
      process.stderr.write(`weft daemon: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping (datapath stays in place)');
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info({ backend: config.backendOverride, registry: config.registry }, 'starting');
  await daemon.start();
  log.info(daemon.status(), 'started');
}
