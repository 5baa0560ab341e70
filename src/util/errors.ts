/**
 * A mistake the user can fix: bad input, a missing tool, a refused operation.
 * It is printed as one paragraph, without a stack, and maps to an exit code.
 * Anything that is not a UserError is a bug in xqbuild and is printed as an internal error.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    /** What to do about it; printed after the message. */
    readonly hint?: string,
    /** 2 for usage and configuration errors, 1 for failures of the work itself. */
    readonly exitCode: number = 2,
  ) {
    super(message);
  }
}

/** A usage error: unknown command, option or component. Printed with the usage line. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, 2);
  }
}

/** Work that failed (a configure or make exiting non-zero, a clone that failed): exit code 1. */
export class FailureError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, 1);
  }
}

/** The signals that interrupt a run (src/signals.ts). */
export type InterruptSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The run was interrupted by a signal; exit 128 + signal number. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
  }
  get exitCode(): number {
    return this.signal === "SIGINT" ? 130 : this.signal === "SIGHUP" ? 129 : 143;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
