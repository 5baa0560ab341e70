import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { FailureError } from "../util/errors.js";
import type { EnvChanges } from "../components/recipe.js";
import type { JobServer } from "./jobserver.js";
import { shellQuote } from "../report/output.js";
import { spawnFailure } from "../util/proc.js";
import { interruption, trackGroup } from "../util/signals.js";

export interface RunOptions {
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Full output goes here. */
  readonly logFile: string;
  /** Called with each line of output (for progress and -v). */
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** What to call the command in messages ("qemu-xen configure"). */
  readonly label: string;
  /** The job pool: the command takes a slot, and makes below it share the pool through MAKEFLAGS. */
  readonly jobserver?: JobServer;
  /** Reserve slots for a tool below that takes a fixed -jN (see the "static" step parallelism). */
  readonly staticJobs?: boolean;
  /** The command itself takes -jN (ninja run directly): given the slots it holds, as make would. */
  readonly jobsFlag?: boolean;
  /** A promise while the reader of onLine's output is behind (the terminal or CI log is slow). */
  readonly backlog?: () => Promise<void> | undefined;
  /**
   * Called once the command holds its job slots, just before it starts, with the -jN a tool that
   * takes a fixed -jN (staticJobs, jobsFlag) runs with; undefined for a command that shares the pool.
   */
  readonly onStart?: (jobs: number | undefined) => void;
}

const TAIL_LINES = 40;

export function applyEnv(base: Readonly<Record<string, string>>, changes: EnvChanges): Record<string, string> {
  const env = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * Runs one command in its own process group, its output appended to a log file and kept in a
 * bounded tail; a failure reports the command, exit status, the last lines and the log's path.
 */
export async function runCommand(cwd: string, argv: readonly string[], env: EnvChanges, opts: RunOptions): Promise<void> {
  await mkdir(path.dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: "a" });
  let logError: NodeJS.ErrnoException | undefined;
  // A log that cannot be written (a full disk) stops the command: its output has nowhere to go.
  let onLogError: (() => void) | undefined;
  log.on("error", (e: NodeJS.ErrnoException) => {
    logError = logError ?? e;
    onLogError?.();
  });
  const tail: string[] = [];
  let partial = "";
  // Set once the child exists: pausing its output is how a slow log or terminal slows it down,
  // instead of its output piling up in memory.
  let pause: (() => void) | undefined;
  let resume: (() => void) | undefined;
  let paused = false;
  const take = (chunk: Buffer): void => {
    const waits: Array<Promise<unknown>> = [];
    if (!logError && !log.write(chunk)) waits.push(new Promise<void>((r) => log.once("drain", () => r())));
    const text = partial + chunk.toString("utf8");
    const lines = text.split("\n");
    partial = lines.pop() ?? "";
    if (partial.length > 4096) partial = partial.slice(-4096);
    for (const l of lines) {
      tail.push(l);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.onLine?.(l);
    }
    const backlog = opts.backlog?.();
    if (backlog) waits.push(backlog);
    if (waits.length > 0 && !paused && pause && resume) {
      paused = true;
      pause();
      const go = resume;
      void Promise.all(waits).then(() => {
        paused = false;
        go();
      });
    }
  };
  // A tool that takes a fixed -jN waits for the processes of ours that hold slots (they end), then
  // takes the budget: started beside them it would hold fewer slots for the whole of its run.
  if (opts.jobserver && opts.staticJobs) await opts.jobserver.othersDone();
  const release = opts.jobserver ? await opts.jobserver.acquire() : undefined;
  const budget = opts.jobserver?.jobs || availableParallelism();
  const extra = opts.jobserver && opts.staticJobs ? await opts.jobserver.acquireExtra(budget - 1, 1500) : undefined;
  const stopped = interruption(opts.signal);
  if (stopped) {
    extra?.release();
    release?.();
    log.end();
    throw stopped;
  }
  // A command that takes -jN itself gets the slots it holds (make would pass them in MAKEFLAGS).
  const [cmd, ...rest] = argv;
  const jobs = opts.jobsFlag || (opts.staticJobs && opts.jobserver) ? (opts.jobserver ? 1 + (extra?.count ?? 0) : 1) : undefined;
  const args = opts.jobsFlag ? [`-j${jobs ?? 1}`, ...rest] : rest;
  const cmdline = (cmd === undefined ? args : [cmd, ...args]).map(shellQuote).join(" ");
  // The parallelism it runs with for the whole run (make hands its -jN from MAKEFLAGS to ninja).
  if (jobs !== undefined && !opts.jobsFlag) log.write(`# -j${jobs}: ${jobs} job slots held (MAKEFLAGS -j${jobs})\n`);
  log.write(`$ cd ${shellQuote(cwd)} && ${cmdline}\n`);
  opts.onStart?.(jobs);
  try {
    await new Promise<void>((resolve, reject) => {
      if (cmd === undefined) return reject(new Error("internal: empty argv"));
      const childEnv = applyEnv(opts.baseEnv, env);
      delete childEnv.MFLAGS;
      const stdio: Array<"ignore" | "pipe" | number> = ["ignore", "pipe", "pipe"];
      if (opts.jobserver) {
        childEnv.MAKEFLAGS = opts.jobserver.makeflags(extra ? 1 + extra.count : undefined);
        stdio.push(...opts.jobserver.stdio());
      } else {
        delete childEnv.MAKEFLAGS;
      }
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(cmd, args, { cwd, env: childEnv, stdio, detached: true });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        return reject(
          err.code === "E2BIG"
            ? new FailureError(`${opts.label}: cannot run ${cmd}: the argument list or environment is too long (E2BIG, ${argv.reduce((n, a) => n + a.length, 0)} characters of arguments).`, "Shorten the extra arguments or flags in the configuration (CONFIG_QEMUU_EXTRA_ARGS, EXTRA_CFLAGS_*, extraConfigureArgs).")
            : err,
        );
      }
      const kill = (): void => {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, "SIGTERM");
          } catch {
            // already gone
          }
          setTimeout(() => {
            try {
              if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
            } catch {
              // gone
            }
          }, 3000).unref();
        }
      };
      // A second signal exits at once: the group is killed on the way out (signals.ts).
      const untrack = child.pid !== undefined ? trackGroup(child.pid) : () => undefined;
      child.once("close", untrack);
      opts.signal?.addEventListener("abort", kill, { once: true });
      onLogError = () => {
        paused = false;
        resume?.();
        kill();
      };
      child.stdout?.on("data", take);
      child.stderr?.on("data", take);
      pause = () => {
        child.stdout?.pause();
        child.stderr?.pause();
      };
      resume = () => {
        child.stdout?.resume();
        child.stderr?.resume();
      };
      child.on("error", (e: NodeJS.ErrnoException) => {
        opts.signal?.removeEventListener("abort", kill);
        if (e.code === "ENOENT") {
          // A program that is not there is named as such (ToolMissingError); else the directory went.
          const missing = spawnFailure(e, cmd, cwd, childEnv, opts.label);
          return reject(missing !== e ? missing : new FailureError(`${opts.label}: cannot run ${cmd} in ${cwd} (ENOENT): the directory is gone.`, "Run again; xqbuild distclean starts afresh."));
        }
        reject(e.code === "E2BIG" ? new FailureError(`${opts.label}: cannot run ${cmd}: the argument list or environment is too long (E2BIG).`, "Shorten the extra arguments or flags in the configuration.") : e);
      });
      child.on("close", (code, signal) => {
        opts.signal?.removeEventListener("abort", kill);
        if (partial) take(Buffer.from("\n"));
        const stopped = interruption(opts.signal);
        if (stopped) return reject(stopped);
        if (logError) {
          return reject(new FailureError(`${opts.label}: cannot write its log ${opts.logFile}: ${logError.code ?? logError.message}.`, logError.code === "ENOSPC" ? "The disk is full: free some space and run again." : "Check the directory's permissions."));
        }
        if (code === 0) return resolve();
        const killedInside = tail.some((l) => /\] Killed\b|Error 137\b|internal compiler error: Killed|signal terminated program/.test(l));
        const status = signal
          ? `was killed by ${signal}${signal === "SIGKILL" ? " (out of memory?)" : ""}`
          : `failed with exit code ${code}${killedInside ? ": a process below it was killed by SIGKILL (out of memory? try fewer -j)" : ""}`;
        reject(
          new FailureError(
            `${opts.label} ${status}.\n  command: ${cmdline}\n  in: ${cwd}\n${tail.length ? `  last ${tail.length} lines of output:\n${tail.map((l) => "    " + l).join("\n")}\n` : ""}  full log: ${opts.logFile}`,
          ),
        );
      });
    });
  } finally {
    extra?.release();
    release?.();
    await new Promise<void>((r) => log.end(r));
  }
}
