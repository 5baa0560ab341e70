import { FailureError, type UserError } from "../util/errors.js";
import { collect, requireTool } from "../util/proc.js";

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
 * A git bound to one directory, with xqbuild's safe settings, for work on this machine's own
 * repositories (trees, mirrors on disk). It runs git directly rather than through simple-git, whose
 * completion detection waits 50 ms more after every command that prints nothing: a rerun makes
 * dozens of such calls (status, diff, config), and those waits were most of a no-op's time.
 * It settles as simple-git does: a command fails when it exits non-zero and printed an error.
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
      if (r.signal) throw new Error(r.stderr || `git ${args[0] ?? ""} was killed by ${r.signal}`);
      if (r.code !== 0 && r.stderr !== "") throw new Error(r.stderr);
      return r.stdout;
    },
  };
}

/**
 * A git for commands that reach a remote (fetch, ls-remote): simple-git, whose plugins kill a
 * command that has printed nothing for opts.stallMs (a stalled server) and stop it on the signal.
 * Loaded when first needed: a run that fetches nothing does not pay for it.
 */
export function remoteGitAt(dir: string, opts: GitOptions): Git {
  return {
    async raw(args: readonly string[]): Promise<string> {
      // simple-git reports a git that is not there as a failed command ("Check the URL").
      requireTool(opts.git ?? "git", opts.env);
      const { simpleGit } = await import("simple-git");
      return simpleGit({
        baseDir: dir,
        binary: opts.git ?? "git",
        maxConcurrentProcesses: 4,
        trimmed: false,
        config: [...SAFE_CONFIG],
        ...(opts.signal ? { abort: opts.signal } : {}),
        timeout: { block: opts.stallMs ?? 300_000, stdOut: true, stdErr: true },
        unsafe: {
          // These are xqbuild's own fixed settings above, which turn the dangerous things off.
          allowUnsafeProtocolOverride: true,
          allowUnsafeHooksPath: true,
          allowUnsafeFsMonitor: true,
          allowUnsafeAskPass: true,
          // GIT_SSH(_COMMAND) and GIT_PROXY_COMMAND can only come from the user's own environment
          // (how people reach git:// through a firewall); xqbuild never sets them from configuration.
          allowUnsafeSshCommand: true,
          allowUnsafeGitProxy: true,
        },
      })
        .env(gitEnvironment(opts.env))
        .raw([...args]);
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

/** Whether a git failure is worth retrying: the network, not a missing repository or revision. */
export function isTransient(message: string): boolean {
  if (/not found|does not appear to be a git repository|couldn't find remote ref|unknown revision|Repository not found|HTTP 404|returned error: 404|not our ref|invalid refspec/i.test(message)) {
    return false;
  }
  return /Connection refused|Couldn't connect to server|Failed to connect to|Connection reset|Connection timed out|timed out|early EOF|unexpected disconnect|the remote end hung up|RPC failed|returned error: 5\d\d|HTTP 5\d\d|Could not resolve host|Temporary failure in name resolution|transfer closed|fetch-pack: invalid index-pack output|index-pack failed|Operation timed out|block timeout/i.test(
    message,
  );
}

export function gitFailure(what: string, e: unknown, hint?: string): UserError {
  return new FailureError(`${what} failed:\n${gitMessage(e)}`, hint);
}
