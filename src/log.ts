// Structured logging for every part of weft: one pino root logger, JSON by default (what log
// shippers want), human-readable when stdout is a terminal (what a person at a shell wants).
// Modules take a child logger with their own bindings ({component, node, ...}); nothing else
// in the codebase writes to stdout/stderr for diagnostics.
import { createRequire } from 'node:module';
import { pino, type Logger, type Level } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };
export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export interface LogOptions {
  level?: string;
  /** Force pretty (true) or JSON (false) output; default: pretty only when stdout is a TTY. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function isLogLevel(value: string): value is Level {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (level !== 'silent' && !isLogLevel(level)) {
    throw new Error(`unknown log level "${level}" (one of ${LOG_LEVELS.join(', ')}, silent)`);
  }
  const destination = options.destination ?? process.stdout;
  const usePretty = options.pretty ?? Boolean((destination as { isTTY?: boolean }).isTTY);
  const base = { level, base: { pid: process.pid } };
  if (usePretty) {
    // Loaded only when used: a daemon logging JSON should not pay for it at start-up.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    // Synchronous pretty stream (no worker thread): logs stay ordered with other output.
    return pino(base, pretty({ destination, colorize: true, sync: true, ignore: 'pid,hostname' }));
  }
  return pino(base, destination);
}

/** The process-wide logger; replaced once by the CLI after flags are parsed. */
let root: Logger = createLogger({ level: process.env.WEFT_LOG_LEVEL ?? 'info' });

export function rootLogger(): Logger {
  return root;
}

export function setRootLogger(logger: Logger): void {
  root = logger;
}
