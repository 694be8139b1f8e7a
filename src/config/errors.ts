// ConfigError: one invalid configuration value, as facts (which field, what it was, what would
// have been accepted) and as one line a person can act on:
//
//   net-conf.json: Backend.VNI: expected an integer 0–16777215, got "x"
//   --resync: expected a duration like 10s, 1m or 500ms (100ms–24h), got "soon" (from WEFT_RESYNC)
//
// Shared by the net-conf.json schema and the daemon's flags. Not a place for I/O errors of the
// daemon at run time: those are not configuration.

export interface ConfigErrorOptions {
  /** Where the value came from as a prefix ("net-conf.json", "/etc/weft/net-conf.json"). */
  source?: string;
  /** Replaces the rendering of `value` after "got" (e.g. "an unknown key", "nothing"). */
  problem?: string;
  /** Appended in parentheses, e.g. "from WEFT_RESYNC". */
  origin?: string;
}

export class ConfigError extends Error {
  readonly source: string | undefined;

  constructor(
    /** The field: a JSON path ("Backend.VNI") or a flag ("--resync"). */
    readonly field: string,
    /** The offending value as it was given (undefined when it was missing). */
    readonly value: unknown,
    /** What would have been accepted, phrased to follow "expected". */
    readonly expected: string,
    options: ConfigErrorOptions = {},
  ) {
    const got = options.problem ?? describeValue(value);
    const origin = options.origin ? ` (${options.origin})` : '';
    // Field names, `expected` and `problem` can quote the input (a key, a parser's message): a
    // newline there would split the one line (and let a config file forge log lines).
    super(oneLine(`${options.source ? `${options.source}: ` : ''}${field}: expected ${expected}, got ${got}${origin}`));
    this.name = 'ConfigError';
    this.source = options.source;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}

/** Control characters (and the Unicode line separators) as \n, \t or \uXXXX escapes. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

const MAX_SHOWN = 60;

/** A short, single-line rendering of any value (JSON, truncated), for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined; // cycles, BigInt: not from JSON or flags, but never fail while reporting
  }
  text ??= typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' ? value.toString() : Object.prototype.toString.call(value);
  // One line, whatever the input: control characters and newlines are already escaped by JSON.
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}
