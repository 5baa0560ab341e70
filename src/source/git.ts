import { FailureError, type UserError } from "../util/errors.js";
import { spawn } from "node:child_process";
import { collect, requireTool, spawnFailure } from "../util/proc.js";

/**
 * Variables that would point git at another repository, index or configuration than the one xqbuild
 * names; they are never passed to git.
 */
const REDIRECTING = /^GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|NAMESPACE|CONFIG|CONFIG_COUNT|CONFIG_KEY_\d+|CONFIG_VALUE_\d+|CONFIG_PARAMETERS|CONFIG_GLOBAL|CONFIG_SYSTEM|CEILING_DIRECTORIES|DISCOVERY_ACROSS_FILESYSTEM|TEMPLATE_DIR|EXEC_PATH|REPLACE_REF_BASE|GRAFT_FILE|SHALLOW_FILE|QUARANTINE_PATH|EXTERNAL_DIFF|PAGER|EDITOR|ASKPASS)$/;

/** Programs git would start for a person (editors, pagers, password prompts): never wanted here. */
const INTERACTIVE = /^(EDITOR|VISUAL|PAGER|SSH_ASKPASS|GIT_SEQUENCE_EDITOR|PREFIX)$/i;

/**
 * Settings every git command runs with, whatever the repository's own configuration says: no
 * remote helpers such as ext::, no hooks or fsmonitor from a fetched tree, no prompts.
 */
export const SAFE_CONFIG = [
  "protocol.ext.allow=never",
  "protocol.fd.allow=never",
  // git's own default since 2.38.1: file:// and local paths when the user names them (a clone,
  // a fetch xqbuild runs), never in what a repository names (submodule URLs). See url-policy.ts.
  "protocol.file.allow=user",
  "core.hooksPath=/dev/null",
  // Attributes come from the tree's own .gitattributes only, whose filter and diff drivers are
  // defined nowhere a fetched input can write: no patch, wrap or tarball may touch .git/ (patches.ts,
  // wraps.ts), so .git/config and .git/info/attributes are xqbuild's and git's alone.
  "core.attributesFile=/dev/null",
  "core.fsmonitor=false",
  "core.askPass=",
  "credential.interactive=false",
  "advice.detachedHead=false",
  "init.defaultBranch=master",
  "gc.auto=0",
  "maintenance.auto=false",
  // Files are checked out one after another, in index order, as a plain clone does: QEMU's
  // build regenerates the tracked scripts/meson-buildoptions.sh when meson_options.txt is newer,
  // and parallel checkout (checkout.workers) made that order, and so the tree's state after a
  // build, a matter of chance.
  "checkout.workers=1",
] as const;

/** The environment git runs with: the caller's, without variables that redirect it, never prompting. */
export function gitEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || REDIRECTING.test(k) || INTERACTIVE.test(k)) continue;
    out[k] = v;
  }
  out.GIT_TERMINAL_PROMPT = "0";
  out.GIT_ATTR_NOSYSTEM = "1";
  out.LC_ALL = "C";
  return out;
}

export interface GitOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly git?: string;
  readonly signal?: AbortSignal;
  /** Kill git when it has printed nothing for this long (a stalled server). */
  readonly stallMs?: number;
}

/** A git bound to one directory: `raw(args)` runs `git args` there and gives its standard output. */
export interface Git {
  raw(args: readonly string[]): Promise<string>;
}

/**
 * A git command that failed: its arguments (after xqbuild's -c settings), exit code (null when a
 * signal ended it), the signal, and what it printed on standard error. Code that reacts to a git
 * failure looks at these, or at the class (GitOwnershipError), never at an error's message.
 */
export class GitError extends Error {
  override readonly name = "GitError";
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly signal?: string,
    /** Killed because the remote sent nothing for this many milliseconds (a stalled server). */
    readonly stalledMs?: number,
  ) {
    super(stderr.trim() !== "" ? stderr : stalledMs !== undefined ? `git ${args[0] ?? ""}: no data from the server for ${Math.round(stalledMs / 1000)} s (stalled; XQBUILD_STALL_TIMEOUT)` : signal ? `git ${args[0] ?? ""} was killed by ${signal}` : `git ${args[0] ?? ""} exited with ${exitCode ?? "?"}`);
  }
}

/**
 * git refused a repository another user owns ("detected dubious ownership", safe.directory): the
 * user's to fix, with the repository named; raised wherever xqbuild runs git.
 */
export class GitOwnershipError extends FailureError {
  constructor(readonly dir: string, readonly stderr: string) {
    super(
      `git refuses ${dir}: it belongs to another user ("dubious ownership").`,
      `Run xqbuild as that user, chown the tree to yourself, or trust it with: git config --global --add safe.directory ${dir}`,
    );
  }
}

/** The typed error for a git command that ended badly; git's own words are the only input read. */
function gitError(args: readonly string[], code: number | null, stderr: string, signal?: string, stalledMs?: number): Error {
  const owned = /detected dubious ownership in repository at '([^']*)'/.exec(stderr);
  if (owned) return new GitOwnershipError(owned[1] as string, stderr);
  return new GitError(args, code, stderr, signal, stalledMs);
}

/**
 * A git bound to one directory, with xqbuild's safe settings, for work on this machine's own
 * repositories (trees, mirrors on disk). It runs git directly (a library such as simple-git waited
 * 50 ms more after every command that prints nothing: a rerun makes dozens of such calls, and those
 * waits were most of a no-op's time).
 * A command fails (GitError) when it exits non-zero, whether or not it printed anything: `git
 * fetch` from a shallow mirror can refuse a ref with exit 1 and nothing said under --quiet.
 */
export function gitAt(dir: string, opts: GitOptions): Git {
  const env = gitEnvironment(opts.env);
  const prefix = SAFE_CONFIG.flatMap((c) => ["-c", c]);
  const binary = opts.git ?? "git";
  return {
    async raw(args: readonly string[]): Promise<string> {
      if (opts.signal?.aborted) throw new Error("Abort signal received");
      const r = await collect(binary, [...prefix, ...args], { cwd: dir, env, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (opts.signal?.aborted) throw new Error("Abort signal received");
      if (r.signal) throw gitError(args, null, r.stderr, r.signal);
      if (r.code !== 0) throw gitError(args, r.code, r.stderr);
      return r.stdout;
    },
  };
}

/** How far a network git command has come, from its --progress lines. */
export interface GitProgress {
  /** git's own name for the phase: "Receiving objects", "Resolving deltas", "remote: Counting objects". */
  readonly phase: string;
  readonly percent: number;
  readonly done: number;
  readonly total: number;
  /** Bytes received so far and the rate (bytes per second), when git says (Receiving objects). */
  readonly bytes?: number;
  readonly rate?: number;
}

const UNITS: Readonly<Record<string, number>> = { bytes: 1, byte: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const PROGRESS = /^(remote: )?([A-Za-z][A-Za-z ]*?):\s+(\d+)% \((\d+)\/(\d+)\)(?:, ([\d.]+) (bytes?|KiB|MiB|GiB)(?: \| ([\d.]+) (bytes?|KiB|MiB|GiB)\/s)?)?/;

/** One of git's progress lines ("Receiving objects:  45% (123/456), 12.30 MiB | 2.10 MiB/s"), or undefined. */
export function parseGitProgress(line: string): GitProgress | undefined {
  const m = PROGRESS.exec(line.trim());
  if (!m) return undefined;
  const bytes = m[6] !== undefined ? Math.round(Number(m[6]) * (UNITS[m[7] as string] ?? 1)) : undefined;
  const rate = m[8] !== undefined ? Math.round(Number(m[8]) * (UNITS[m[9] as string] ?? 1)) : undefined;
  return {
    phase: `${m[1] ?? ""}${m[2] as string}`,
    percent: Number(m[3]),
    done: Number(m[4]),
    total: Number(m[5]),
    ...(bytes !== undefined ? { bytes } : {}),
    ...(rate !== undefined ? { rate } : {}),
  };
}

/** The other lines --progress prints, kept out of a failure's stderr. */
const PROGRESS_NOISE = /^(remote: )?(Enumerating objects|Counting objects|Compressing objects|Total \d+|Receiving objects|Resolving deltas|Checking connectivity|Finding sources)\b/;

/** At most this often a progress report per phase (the last one, 100%, always goes). */
const PROGRESS_EVERY_MS = 250;

export interface RemoteGitOptions extends GitOptions {
  /** git's progress, throttled; network commands then run with --progress. */
  readonly onProgress?: (p: GitProgress) => void;
}

/** The commands that take --progress and report a transfer with it. */
const PROGRESSING = new Set(["fetch", "clone"]);

/**
 * A git for commands that reach a remote (fetch, ls-remote): a command that has printed nothing for
 * opts.stallMs (a stalled server) is killed, as is any on the signal; fetch and clone run with
 * --progress, whose lines go to onProgress (throttled) and are kept out of the stderr an error shows.
 */
export function remoteGitAt(dir: string, opts: RemoteGitOptions): Git {
  const env = gitEnvironment(opts.env);
  const prefix = SAFE_CONFIG.flatMap((c) => ["-c", c]);
  const binary = opts.git ?? "git";
  const stallMs = opts.stallMs ?? 300_000;
  return {
    raw(args: readonly string[]): Promise<string> {
      requireTool(binary, opts.env);
      if (opts.signal?.aborted) return Promise.reject(new Error("Abort signal received"));
      const progress = opts.onProgress !== undefined && PROGRESSING.has(args[0] ?? "");
      const full = [...prefix, ...(progress ? [args[0] as string, "--progress", ...args.slice(1)] : args)];
      return new Promise((resolve, reject) => {
        const child = spawn(binary, full, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const kept: string[] = [];
        let partial = "";
        let stalled = false;
        const last = new Map<string, number>();
        let timer: NodeJS.Timeout | undefined;
        const arm = (): void => {
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            stalled = true;
            child.kill("SIGKILL");
          }, stallMs);
        };
        const onAbort = (): void => {
          child.kill("SIGKILL");
        };
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        const line = (l: string): void => {
          const p = progress ? parseGitProgress(l) : undefined;
          if (!p) {
            // What --progress adds besides percentages ("remote: Total 202 (delta 0)", "..., done.")
            // is not part of an error's account.
            if (l.trim() !== "" && !(progress && PROGRESS_NOISE.test(l.trim()))) kept.push(l);
            return;
          }
          const now = Date.now();
          if (p.percent < 100 && now - (last.get(p.phase) ?? 0) < PROGRESS_EVERY_MS) return;
          last.set(p.phase, now);
          opts.onProgress?.(p);
        };
        arm();
        child.stdout.on("data", (b: Buffer) => {
          arm();
          out.push(b);
        });
        child.stderr.on("data", (b: Buffer) => {
          arm();
          // git rewrites a progress line in place with \r; every piece between \r or \n is a line.
          const parts = (partial + b.toString("utf8")).split(/\r|\n/);
          partial = parts.pop() ?? "";
          for (const l of parts) line(l);
        });
        let failed = false;
        child.on("error", (e) => {
          failed = true;
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener("abort", onAbort);
          reject(spawnFailure(e, binary, dir, opts.env));
        });
        child.on("close", (code, signal) => {
          if (timer) clearTimeout(timer);
          opts.signal?.removeEventListener("abort", onAbort);
          if (failed) return;
          if (partial !== "") line(partial);
          if (opts.signal?.aborted) return reject(new Error("Abort signal received"));
          const stderr = kept.join("\n");
          if (stalled) return reject(gitError(args, null, "", "SIGKILL", stallMs));
          if (signal) return reject(gitError(args, null, stderr, signal));
          if (code !== 0) return reject(gitError(args, code, stderr));
          resolve(Buffer.concat(out).toString("utf8"));
        });
      });
    },
  };
}

/** The first lines of git's message, for errors. */
export function gitMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(hint|warning):/.test(l))
    .slice(0, 6)
    .join("\n");
}

/**
 * For a `.catch` where a failed git command means "no" (a key not set, a revision not there):
 * gives `value` for a GitError and rethrows anything else (a repository git refuses to use, an
 * interruption), which must not pass for "no".
 */
export function whenGitFails<T>(value: T): (e: unknown) => T {
  return (e) => {
    if (e instanceof GitError) return value;
    throw e;
  };
}

/*
 * What a failed network git command means, read from the only place git says it: its standard
 * error (GitError.stderr, with LC_ALL=C). These few functions are the one place that reads git's
 * words; everything else reacts to their answer.
 */
function said(e: unknown, re: RegExp): boolean {
  return e instanceof GitError && re.test(e.stderr);
}

/** Whether a git failure is worth retrying: the network, not a missing repository or revision. */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof GitError)) return false;
  if (e.stalledMs !== undefined) return true;
  if (said(e, /not found|does not appear to be a git repository|couldn't find remote ref|unknown revision|Repository not found|HTTP 404|returned error: 404|not our ref|invalid refspec/i)) return false;
  return said(
    e,
    /Connection refused|Couldn't connect to server|Failed to connect to|Connection reset|Connection timed out|timed out|early EOF|unexpected disconnect|the remote end hung up|RPC failed|returned error: 5\d\d|HTTP 5\d\d|Could not resolve host|Temporary failure in name resolution|transfer closed|fetch-pack: invalid index-pack output|index-pack failed|Operation timed out/i,
  );
}

/** The server would not give a shallow (--depth) fetch, or a commit by id. */
export function refusedShallow(e: unknown): boolean {
  return said(e, /shallow|depth|unadvertised|not our ref|allowAnySHA1InWant|dumb http/i);
}

/** The server could not be reached at all (name, connection, a stall), rather than answering no. */
export function unreachableServer(e: unknown): boolean {
  return (e instanceof GitError && e.stalledMs !== undefined) || said(e, /Could not resolve host|Connection refused|Couldn't connect to server|Failed to connect to|timed out/i);
}

/** git could not write its objects: the disk is full. */
export function diskFull(e: unknown): boolean {
  return said(e, /No space left on device/i);
}

/** git could not read or write the repository as this user. */
export function permissionDenied(e: unknown): boolean {
  return e instanceof GitOwnershipError || said(e, /Permission denied/i);
}

export function gitFailure(what: string, e: unknown, hint?: string): UserError {
  return new FailureError(`${what} failed:\n${gitMessage(e)}`, hint);
}
