import { spawn } from "node:child_process";

/** An environment without its unset entries: what a child process is given. */
export function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** What a finished command printed, and how it ended. */
export interface Collected {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to its end with its output collected (no shell, no terminal). Settles when its
 * output is closed, not merely when it exits, so nothing it printed is lost. Rejects only when it
 * cannot be started (the error keeps its code: ENOENT, E2BIG, ...). An abort signal kills it.
 */
export function collect(cmd: string, args: readonly string[], opts: { cwd: string; env: Readonly<Record<string, string | undefined>>; signal?: AbortSignal }): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], ...(opts.signal ? { signal: opts.signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    let failed = false;
    child.on("error", (e) => {
      // An abort kills the child; it still closes, and the caller reads opts.signal.
      if ((e as NodeJS.ErrnoException).code === "ABORT_ERR") return;
      failed = true;
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (!failed) resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}
