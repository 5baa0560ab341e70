/** The only way commands reach the terminal: everything printed goes through an Output. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether ANSI colour may be used on stderr (a TTY, NO_COLOR unset). */
  readonly color: boolean;
  /** Whether a person is watching a terminal (stdout and stderr TTYs, not CI): live progress then. */
  readonly interactive: boolean;
}

let stdoutClosed = false;

/** Output to the process's stdout and stderr. A closed stdout (`xqbuild ... | head`) ends output quietly. */
export function processOutput(env: Readonly<Record<string, string | undefined>>): Output {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") stdoutClosed = true;
    else throw e;
  });
  const color = Boolean(process.stderr.isTTY) && env.NO_COLOR === undefined && env.TERM !== "dumb";
  // A terminal without a width (some pseudo-terminals) cannot hold a live task tree: plain lines then.
  const interactive = Boolean(process.stderr.isTTY && process.stdout.isTTY) && (process.stdout.columns ?? 0) >= 40 && !env.CI && env.TERM !== "dumb";
  return {
    interactive,
    out(text) {
      if (!stdoutClosed) process.stdout.write(text.endsWith("\n") ? text : text + "\n");
    },
    err(text) {
      process.stderr.write(text.endsWith("\n") ? text : text + "\n");
    },
    color,
  };
}

/** An Output that keeps what was printed, for tests and for embedding. */
export function memoryOutput(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    color: false,
    interactive: false,
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
