import { redactText } from "../util/redact.js";

/**
 * The only way commands reach the terminal: everything printed goes through an Output. Both
 * implementations pass every line through redactText, the one place where a URL's credentials are
 * hidden for every reporter, NDJSON event and error message, whichever code path made the line.
 */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether ANSI colour may be used on stderr (a TTY, NO_COLOR unset). */
  readonly color: boolean;
  /** Whether a person is watching a terminal (stdout and stderr TTYs, not CI): live progress then. */
  readonly interactive: boolean;
  /** A promise while more than a little is waiting to be written (a slow reader), else undefined. */
  backlog(): Promise<void> | undefined;
  /**
   * Writes text to stderr as it is: no newline added, no redaction (the live view redraws lines
   * with cursor movements, in pieces; what it is given to draw is redacted before). Only the live
   * view uses it.
   */
  raw?(text: string): void;
  /** The terminal's width and height, when stderr is one. */
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
}

let stdoutClosed = false;
let stderrClosed = false;

/** Output to the process's stdout and stderr. A closed stdout (`xqbuild ... | head`) ends output quietly. */
export function processOutput(env: Readonly<Record<string, string | undefined>>): Output {
  // A reader that went away (`xqbuild ... | head`) ends that output, never the build.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") stdoutClosed = true;
    else throw e;
  });
  process.stderr.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") stderrClosed = true;
    else throw e;
  });
  const color = Boolean(process.stderr.isTTY) && env.NO_COLOR === undefined && env.TERM !== "dumb";
  // A terminal without a width (some pseudo-terminals) cannot hold a live task tree: plain lines then.
  const interactive = Boolean(process.stderr.isTTY && process.stdout.isTTY) && (process.stdout.columns ?? 0) >= 40 && !env.CI && env.TERM !== "dumb";
  const stream = (s: NodeJS.WriteStream): Promise<void> | undefined =>
    s.writableLength > 1 << 20 ? new Promise<void>((r) => s.once("drain", () => r())) : undefined;
  return {
    interactive,
    backlog: () => (stderrClosed ? undefined : stream(process.stderr)) ?? (stdoutClosed ? undefined : stream(process.stdout)),
    out(text) {
      if (stdoutClosed) return;
      const shown = redactText(text);
      process.stdout.write(shown.endsWith("\n") ? shown : shown + "\n");
    },
    err(text) {
      if (stderrClosed) return;
      const shown = redactText(text);
      process.stderr.write(shown.endsWith("\n") ? shown : shown + "\n");
    },
    raw(text) {
      if (!stderrClosed) process.stderr.write(text);
    },
    // Read when drawn: a terminal can be resized while the live view runs.
    get columns() {
      return process.stderr.columns || undefined;
    },
    get rows() {
      return process.stderr.rows || undefined;
    },
    color,
  };
}

/** An Output that keeps what was printed, for tests and for embedding. */
export function memoryOutput(): Output & { stdout: string[]; stderr: string[]; raws: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  // What the live view drew, piece by piece, in the order written (with the lines of err()).
  const raws: string[] = [];
  return {
    stdout,
    stderr,
    raws,
    raw: (t) => void raws.push(t),
    out: (t) => void stdout.push(redactText(t)),
    err: (t) => {
      stderr.push(redactText(t));
      raws.push(redactText(t) + "\n");
    },
    color: false,
    interactive: false,
    backlog: () => undefined,
  };
}

export function paint(o: Output, code: string, text: string): string {
  return o.color ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** Quotes a word for display as a shell command line. */
export function shellQuote(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
