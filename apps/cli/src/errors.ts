/**
 * A CLI error: its message is printed as one line (no stack trace) and the process exits
 * with `exitCode`. Throw it for bad flags, missing files and anything the user can fix.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
