import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { UserError } from "../errors.js";

export interface LockOptions {
  /** Give up after this many milliseconds (default: wait for ever). */
  readonly timeoutMs?: number;
  /** Called once when the lock is held by someone else and we start to wait. */
  readonly onWait?: (holder: string) => void;
  readonly signal?: AbortSignal;
}

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An exclusive lock between xqbuild processes on this machine: a directory created atomically with
 * mkdir, holding the owner's pid. A lock whose owner has died (kill -9) is taken over.
 */
export async function acquireLock(lockPath: string, what: string, opts: LockOptions = {}): Promise<Lock> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const started = Date.now();
  let told = false;
  const me = `${process.pid}@${hostname()}`;
  for (;;) {
    try {
      await mkdir(lockPath);
      await writeFile(path.join(lockPath, "owner"), me);
      return {
        release: async () => {
          await rm(lockPath, { recursive: true, force: true });
        },
      };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== "EEXIST") {
        if (err.code === "EACCES" || err.code === "EROFS" || err.code === "EPERM") {
          throw new UserError(`cannot create the lock ${lockPath} (${err.code}): ${what} is not writable by this user.`, "Check the directory's owner and permissions.");
        }
        throw e;
      }
    }
    let owner = "";
    try {
      owner = (await readFile(path.join(lockPath, "owner"), "utf8")).trim();
    } catch {
      // Being created or released this very moment.
    }
    const [pidText, host] = owner.split("@");
    const pid = Number(pidText);
    if (owner !== "" && host === hostname() && Number.isInteger(pid) && !alive(pid)) {
      await rm(lockPath, { recursive: true, force: true });
      continue;
    }
    if (owner === "") {
      // An owner file that never appeared belongs to a process killed between mkdir and write.
      const age = Date.now() - started;
      if (age > 2000) {
        await rm(lockPath, { recursive: true, force: true });
        continue;
      }
    }
    if (!told && owner !== "") {
      told = true;
      opts.onWait?.(`waiting for the lock on ${what}, held by process ${owner} (${lockPath})`);
    }
    if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) {
      throw new UserError(`gave up waiting for the lock on ${what}, held by process ${owner} (${lockPath}).`, "Wait for the other xqbuild to finish, or raise --lock-timeout.", 1);
    }
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error("aborted");
    await sleep(200);
  }
}

/** Runs fn while holding the lock. */
export async function withLock<T>(lockPath: string, what: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(lockPath, what, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
