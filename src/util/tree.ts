import { accessSync, constants, lstatSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import { UserError } from "./errors.js";
import { assertInside, mkdirInside } from "./fs.js";
import { withLock, type LockOptions } from "./lock.js";

/** How a run waits for the tree's lock. */
export interface TreeLockOptions {
  /** --lock-timeout, in milliseconds. */
  readonly lockTimeoutMs?: number;
  /** Aborted with an InterruptedError on SIGINT or SIGTERM. */
  readonly signal?: AbortSignal;
}

/** xqbuild's own state in a tree: locks, logs, stamps. */
export function stateDir(config: ResolvedConfig): string {
  return path.join(config.xenRoot, ".xqbuild");
}

/**
 * Runs fn holding the tree's lock: one xqbuild at a time changes a tree. A waiting run says so,
 * gives up after --lock-timeout, and stops at once on Ctrl-C.
 */
export async function withTreeLock<T>(config: ResolvedConfig, opts: TreeLockOptions, onWait: NonNullable<LockOptions["onWait"]>, fn: () => Promise<T>): Promise<T> {
  const signal = opts.signal;
  // Standalone mode builds under a directory of its own (./build) that a first run makes.
  if (config.mode === "standalone") await mkdir(config.xenRoot, { recursive: true }).catch(() => undefined);
  checkWritable(config.xenRoot);
  // The state directory must be a real directory of the tree: a link out would put the lock,
  // stamps and logs elsewhere, and distclean would empty wherever it points.
  await mkdirInside(stateDir(config), config.xenRoot, "its state directory");
  // Nor may anything in it (stamps/, logs/, staging/, ...) be a link out of the tree.
  for (const name of readdirSync(stateDir(config))) {
    const p = path.join(stateDir(config), name);
    if (lstatSync(p).isSymbolicLink()) assertInside(p, config.xenRoot, "xqbuild's state");
  }
  return withLock(
    path.join(stateDir(config), "lock"),
    `the tree ${config.xenRoot}`,
    { ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}), onWait, ...(signal ? { signal } : {}) },
    async () => {
      try {
        return await fn();
      } catch (e) {
        // An interrupted git or make reports its own death; the run was interrupted.
        if (signal?.aborted) throw signal.reason;
        throw e;
      }
    },
  );
}

/** A tree xqbuild cannot write to is named before anything starts. */
export function checkWritable(root: string): void {
  try {
    accessSync(root, constants.W_OK);
    const before = statSync(root);
    const probe = path.join(root, `.xqbuild-write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
    // The probe leaves the tree's root as it was: its mtime tells the make evaluation cache that
    // a file (a new .config) appeared there.
    try {
      utimesSync(root, before.atime, before.mtime);
    } catch {
      // not the owner: the cache then asks make once more
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UserError(`the tree ${root} is not writable (${code}); xqbuild keeps its sources, stamps and logs there.`, "Run xqbuild as the tree's owner, or make the tree writable (a read-only mount?).", "failure");
  }
}

