// The CLI's exit codes and named errors. Every failure the user sees is a CliError: a message
// that says what is wrong, an optional hint that says what to do, and the exit code scripts
// rely on (documented in README.md and `kubectl spaces --help`).
import type { FieldError } from '../model/index.ts';

export const EXIT = {
  /** Success: the command did what was asked and found nothing wrong. */
  ok: 0,
  /** An error: not found, the API server refused or could not be reached, a file could not be read. */
  error: 1,
  /** Usage: an unknown command or flag, a missing argument, a flag value out of range. */
  usage: 2,
  /** Refused by validation: the same rules as the admission webhook (locally or by the API server). */
  refused: 3,
  /** `doctor` found problems, or `reach` found an app exposed beyond its Space and peers. */
  problems: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: ExitCode, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, EXIT.usage, hint);
}

export function notFound(what: string, hint?: string): CliError {
  return new CliError(`${what} not found`, EXIT.error, hint);
}

export function failure(message: string, hint?: string, cause?: unknown): CliError {
  return new CliError(message, EXIT.error, hint, cause === undefined ? undefined : { cause });
}

/** A refusal: the object, then one line per field error. */
export function refused(what: string, errors: readonly FieldError[], hint?: string): CliError {
  const lines = errors.map((e) => `  ${e.field}: ${e.message}`);
  return new CliError([`${what} refused:`, ...lines].join('\n'), EXIT.refused, hint);
}

/** The text printed on stderr for an error: `error: <message>` and the hint on its own line. */
export function errorText(err: CliError): string {
  return `error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`;
}
