// Failures a weft command expects and reports in one line, with no stack trace: they describe the
// operator's situation (no daemon running, no such lab, a daemon that answered an error), not a
// defect in weft. `main` prints them as `weft <command>: <message>` with exit status 1; anything
// else still surfaces with its stack, because then it is a bug and the stack is what a report needs.
// Not for the daemon's own start-up errors: `weft daemon` reports those itself (exit status 2).
import { ConfigError } from './config/errors.js';
import { DaemonUnreachableError } from './daemon/client.js';
import { DEFAULT_LAB_ID } from './lab/layout.js';

/** A command could not do what was asked, for a reason the message states completely. */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/** `weft lab …` or `weft trace --lab` named a lab that is not there. */
export class LabNotFoundError extends CommandFailure {
  constructor(
    readonly id: string,
    readonly stateFile: string,
  ) {
    super(`no lab "${id}" here (${stateFile} not found); start one with \`weft lab up${id === DEFAULT_LAB_ID ? '' : ` --id ${id}`}\``);
    this.name = 'LabNotFoundError';
  }
}

/** Whether `main` reports this error in one line instead of letting it surface with its stack. */
export function isCommandFailure(error: unknown): error is Error {
  return error instanceof CommandFailure || error instanceof DaemonUnreachableError || error instanceof ConfigError;
}
