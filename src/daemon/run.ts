// `weft daemon`: resolve the configuration, build the daemon, run it until SIGTERM/SIGINT.
// Invalid configuration stops start-up with one clear line and exit status 2. On a signal the
// control plane stops and the datapath stays (pods keep talking while weft restarts). When the
// daemon cannot go on (this node's public IP went away) it stops the same way and exits with
// status 1, for its supervisor (the DaemonSet, systemd) to start it again on the new address.
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
  // Set below, once `stop` exists; the daemon reports a fatal condition only after start.
  let onFatal = (_reason: string): void => undefined;
  try {
    daemon = await buildDaemon(config, { statusSocket, ...(cniIpamDir ? { cniIpamDir } : {}), onFatal: (reason) => onFatal(reason) }, log);
  } catch (error) {
    if (isConfigError(error)) {
      process.stderr.write(`weft daemon: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let stopping = false;
  const stop = (signal: string, exitCode = 0): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping (datapath stays in place)');
    daemon.stop().then(
      () => process.exit(exitCode),
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  onFatal = (reason) => stop(reason, 1);
  log.info({ backend: config.backendOverride, registry: config.registry }, 'starting');
  await daemon.start();
  log.info(daemon.status(), 'started');
}
