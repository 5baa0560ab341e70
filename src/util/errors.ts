/**
 * What kind of expected failure an error is; the kind alone picks the exit code (EXIT_CODES), and
 * code that reacts to an error looks at its kind (or its class), never at its text.
 * - usage: the command line (unknown command, option or component): 2, printed with the usage line.
 * - config: a configuration value or file, or an input xqbuild refuses before doing any work: 2.
 * - failure: the work itself failed (a tool exited non-zero, a fetch failed, local work in the way): 1.
 * - missing-tool: a program xqbuild must run is not installed: 1.
 */
export type ErrorKind = "usage" | "config" | "failure" | "missing-tool" | "interrupted" | "internal";

export const EXIT_CODES: Readonly<Record<Exclude<ErrorKind, "interrupted">, number>> = {
  usage: 2,
  config: 2,
  failure: 1,
  "missing-tool": 1,
  internal: 70,
};

/**
 * A mistake the user can fix: bad input, a missing tool, a refused operation.
 * It is printed as one paragraph, without a stack, and its kind picks the exit code.
 * Anything that is not a UserError is a bug in xqbuild and is printed as an internal error.
 */
export class UserError extends Error {
  override readonly name: string = "UserError";
  constructor(
    message: string,
    /** What to do about it; printed after the message. */
    readonly hint?: string,
    readonly kind: Exclude<ErrorKind, "interrupted" | "internal"> = "config",
  ) {
    super(message);
  }
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** A usage error: unknown command, option or component. Printed with the usage line. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, "usage");
  }
}

/** Work that failed (a configure or make exiting non-zero, a clone that failed): exit code 1. */
export class FailureError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, "failure");
  }
}

/** The signals that interrupt a run (src/util/signals.ts). */
export type InterruptSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The run was interrupted by a signal; exit 128 + signal number. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly kind = "interrupted" as const;
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
