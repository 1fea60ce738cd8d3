/** Exit codes shared by every command (see README: "Exit codes"). */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  pending: 3,
  /** A bug in rfsq itself, not in the user's input. */
  internal: 70,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can act on: one line saying what was wrong, and a hint saying how to fix it.
 * The CLI prints `error: <message>` and `hint: <hint>` and exits with `exitCode`, with no stack
 * trace unless --debug is given.
 */
export class RfsqError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(message: string, options: { hint?: string; exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RfsqError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.usage;
  }
}

/** Input the user gave (flag, file, data) is wrong: exit code 2. */
export function inputError(message: string, hint?: string): RfsqError {
  return new RfsqError(message, { hint, exitCode: ExitCode.usage });
}
