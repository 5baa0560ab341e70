import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { UserError } from "./errors.js";
import { processSignal, trackGroup } from "./signals.js";
import { onPath } from "./which.js";

/** An environment without its unset entries: what a child process is given. */
export function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** How to get the tools xqbuild itself runs, and the variable that names another one, if any. */
const TOOL_HINTS: Readonly<Record<string, { readonly pkg: string; readonly variable?: string }>> = {
  git: { pkg: "git" },
  make: { pkg: "make", variable: "XQBUILD_MAKE" },
  patch: { pkg: "patch" },
  quilt: { pkg: "quilt" },
  python3: { pkg: "python3", variable: "PYTHON" },
  ninja: { pkg: "ninja-build" },
  tar: { pkg: "tar" },
  gpg: { pkg: "gpg" },
  gpgv: { pkg: "gpgv" },
};

/**
 * A program xqbuild had to run is not there. It keeps the errno code ("ENOENT") of the spawn it
 * stands for, so that a caller to whom a missing tool is an answer (quilt, an optional helper) still
 * reads it as before; everyone else prints one paragraph naming the tool instead of a stack.
 */
export class ToolMissingError extends UserError {
  readonly code = "ENOENT";
  constructor(
    readonly tool: string,
    env: Readonly<Record<string, string | undefined>>,
    what?: string,
  ) {
    const base = tool.split("/").pop() ?? tool;
    const known = TOOL_HINTS[base];
    const where = tool.includes("/") ? `${tool} does not exist or is not executable` : `it is not on PATH (${env.PATH ?? "PATH is not set"})`;
    super(
      `cannot run ${tool}${what ? ` (${what})` : ""}: ${where}.`,
      known
        ? `Install ${base} (Debian/Ubuntu: apt-get install ${known.pkg}) or put it on PATH${known.variable ? `, or set ${known.variable} to its path` : ""}; xqbuild doctor lists every tool needed.`
        : "Install it or put it on PATH; xqbuild doctor lists every tool needed.",
      "failure",
    );
  }
}

/**
 * The one check before a tool is first run through a library that would hide its absence (simple-git
 * reports a git that is not there as a failed clone: "Check the URL"): throws ToolMissingError when
 * the program cannot be found as the shell would find it.
 */
export function requireTool(tool: string, env: Readonly<Record<string, string | undefined>>, what?: string): void {
  if (onPath(tool, definedOnly(env)) === undefined) throw new ToolMissingError(tool, env, what);
}

/** A spawn error for `cmd` in `cwd` as xqbuild reports it: ENOENT of a command that is not there -> ToolMissingError. */
export function spawnFailure(e: NodeJS.ErrnoException, cmd: string, cwd: string, env: Readonly<Record<string, string | undefined>>, what?: string): Error {
  // spawn says ENOENT both for a missing program and for a missing working directory.
  if (e.code === "ENOENT" && existsSync(cwd) && onPath(cmd, definedOnly(env)) === undefined) return new ToolMissingError(cmd, env, what);
  return e;
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
 * cannot be started (the error keeps its code: ENOENT, E2BIG, ...; a program that is not there is a
 * ToolMissingError, code ENOENT).
 *
 * It runs in a process group of its own, which the signal path knows (trackGroup): an interruption
 * (opts.signal, and the process's own signal when the caller passed none, so that no caller can
 * forget it) ends the whole group, a make's $(shell) children or gpg's helpers included, with
 * SIGTERM and then SIGKILL, and a second signal kills it on the way out. The caller reads the
 * interruption (throwIfInterrupted) once it settles.
 */
export function collect(cmd: string, args: readonly string[], opts: { cwd: string; env: Readonly<Record<string, string | undefined>>; signal?: AbortSignal }): Promise<Collected> {
  const signals = opts.signal !== undefined && opts.signal !== processSignal ? [opts.signal, processSignal] : [processSignal];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const pid = child.pid;
    const untrack = pid !== undefined ? trackGroup(pid) : () => undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (pid !== undefined) process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    const stop = (): void => {
      killGroup("SIGTERM");
      setTimeout(() => killGroup("SIGKILL"), 3000).unref();
    };
    const done = (): void => {
      untrack();
      for (const s of signals) s.removeEventListener("abort", stop);
    };
    for (const s of signals) s.addEventListener("abort", stop, { once: true });
    if (signals.some((s) => s.aborted)) stop();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    let failed = false;
    child.on("error", (e) => {
      done();
      failed = true;
      reject(spawnFailure(e, cmd, opts.cwd, opts.env));
    });
    child.on("close", (code, signal) => {
      done();
      if (!failed) resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}
