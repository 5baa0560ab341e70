import { readFileSync, readlinkSync, rmSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { UserError } from "./errors.js";
import { onExit } from "./signals.js";

export interface LockOptions {
  /** Give up after this many milliseconds (default: wait for ever). */
  readonly timeoutMs?: number;
  /**
   * Called once when the lock is held by someone else and we start to wait, and when a stale lock is
   * taken over: a line saying so, and the same as data (for a reporter's lock-wait event).
   */
  readonly onWait?: (text: string, wait: LockWait) => void;
  readonly signal?: AbortSignal;
}

/** A wait for a lock, as data: what is locked, who holds it, where the lock is. */
export interface LockWait {
  /** "the tree /src/xen", "the mirror of https://..." */
  readonly what: string;
  /** "pid 1234 on host since 12:00:00 UTC" */
  readonly holder: string;
  readonly path: string;
  /** Set when the holder was gone and the lock was taken over (no wait): why it was judged gone. */
  readonly tookOver?: string;
}

export interface Lock {
  release(): Promise<void>;
}

/**
 * How often a holder touches its lock's owner file, and how long without a touch a lock held from
 * another machine (a container gone from a shared cache volume) is taken to be abandoned. Its pid
 * cannot be asked there; a holder that is alive touches the file every minute, so ten minutes
 * without a touch is a holder that is gone (or a machine stopped that long, whose xqbuild then finds
 * its lock taken). A lock of this machine is judged by its pid and that pid's start time instead.
 */
export const LOCK_HEARTBEAT_MS = 60_000;
export const LOCK_STALE_MS = 10 * 60_000;

/** Who holds a lock, as its owner file records it. */
interface Owner {
  readonly pid: number;
  readonly host: string;
  /** The holder's start time (/proc/PID/stat field 22, clock ticks since boot): tells a reused pid. */
  readonly start?: string;
  /** The kernel's boot id: the same host name after a reboot is no longer the holder's machine. */
  readonly boot?: string;
  /** The holder's pid namespace: containers sharing the host name do not share pids. */
  readonly pidns?: string;
  readonly since?: Date;
  /** The owner file's last touch (the holder's heartbeat). */
  readonly touched: Date;
  readonly text: string;
}

/** Whether a process with this pid exists on this machine (EPERM: it does, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Field 22 of /proc/PID/stat (starttime), after the command name, which may hold spaces and ")". */
export function processStartTime(pid: number | "self"): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // Fields 3.. follow the name: starttime (22) is the 20th of them.
    return fields[19];
  } catch {
    return undefined;
  }
}

function readOr(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

const BOOT_ID = readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"));
const PID_NS = readOr(() => readlinkSync("/proc/self/ns/pid"));

/** This process as a lock's owner file records it; the first line is the `pid@host` of older versions. */
function ownerText(): string {
  const start = processStartTime("self");
  return [`${process.pid}@${hostname()}`, ...(start ? [`start ${start}`] : []), ...(BOOT_ID ? [`boot ${BOOT_ID}`] : []), ...(PID_NS ? [`pidns ${PID_NS}`] : []), `since ${new Date().toISOString()}`, ""].join("\n");
}

function parseOwner(text: string, touched: Date): Owner | undefined {
  const [first = "", ...rest] = text.split("\n");
  const m = /^(\d+)@(.*)$/.exec(first.trim());
  if (!m) return undefined;
  const field = (k: string): string | undefined => rest.find((l) => l.startsWith(`${k} `))?.slice(k.length + 1).trim() || undefined;
  const sinceText = field("since");
  const since = sinceText ? new Date(sinceText) : undefined;
  const start = field("start");
  const boot = field("boot");
  const pidns = field("pidns");
  return {
    pid: Number(m[1]),
    host: m[2] as string,
    ...(start ? { start } : {}),
    ...(boot ? { boot } : {}),
    ...(pidns ? { pidns } : {}),
    ...(since && !Number.isNaN(since.getTime()) ? { since } : {}),
    touched,
    text,
  };
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** "process 123 on host h since 2026-01-01T10:00:00Z (5 min ago)". */
function describeOwner(o: Owner): string {
  const since = o.since ?? o.touched;
  return `process ${o.pid} on ${o.host === hostname() ? "this machine" : `host ${o.host}`}, since ${since.toISOString()} (${ago(Date.now() - since.getTime())})`;
}

/**
 * Why the owner is provably gone, or undefined while it may still hold the lock. On this machine
 * (same host name, boot and pid namespace): its pid is dead, or now belongs to a process started at
 * another time. Elsewhere: its heartbeat stopped LOCK_STALE_MS ago.
 */
function goneBecause(o: Owner): string | undefined {
  const sameHost = o.host === hostname();
  if (sameHost && o.boot && BOOT_ID && o.boot !== BOOT_ID) return "this machine has rebooted since";
  const sameMachine = sameHost && (!o.pidns || !PID_NS || o.pidns === PID_NS);
  if (sameMachine) {
    if (!processAlive(o.pid)) return `process ${o.pid} is gone`;
    if (o.start) {
      const now = processStartTime(o.pid);
      if (now !== undefined && now !== o.start) return `pid ${o.pid} now belongs to another process (started at tick ${now}, not ${o.start})`;
    }
    return undefined;
  }
  const quiet = Date.now() - o.touched.getTime();
  if (quiet > LOCK_STALE_MS) return `it has not been refreshed for ${ago(quiet).replace(/ ago$/, "")} (a holder refreshes it every ${LOCK_HEARTBEAT_MS / 1000} s; after ${LOCK_STALE_MS / 60_000} min it is abandoned)`;
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An exclusive lock between xqbuild processes, on this machine or sharing a cache volume: a
 * directory created atomically with mkdir, holding the owner's pid@host, start time and since when
 * (refreshed every minute while held). A lock whose owner is provably gone (goneBecause) is taken
 * over, saying so; any other is waited for (up to opts.timeoutMs), saying who holds it since when.
 */
export async function acquireLock(lockPath: string, what: string, opts: LockOptions = {}): Promise<Lock> {
  await mkdir(path.dirname(lockPath), { recursive: true });
  const started = Date.now();
  let told = false;
  const ownerFile = path.join(lockPath, "owner");
  for (;;) {
    try {
      await mkdir(lockPath);
      await writeFile(ownerFile, ownerText());
      // The heartbeat that tells another machine this lock is alive (goneBecause); never keeps the process up.
      const beat = setInterval(() => {
        const now = new Date();
        void utimes(ownerFile, now, now).catch(() => undefined);
      }, LOCK_HEARTBEAT_MS);
      beat.unref();
      // A process that exits without releasing it (a second Ctrl-C exits at once) leaves no lock.
      const unhook = onExit(() => rmSync(lockPath, { recursive: true, force: true }));
      return {
        release: async () => {
          clearInterval(beat);
          unhook();
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
    let owner: Owner | undefined;
    let raw = "";
    try {
      raw = await readFile(ownerFile, "utf8");
      owner = parseOwner(raw, (await stat(ownerFile)).mtime);
    } catch {
      // Being created or released this very moment.
    }
    if (owner) {
      const why = goneBecause(owner);
      if (why !== undefined && (await takeOver(lockPath, ownerFile, raw))) {
        opts.onWait?.(`took over the lock on ${what} from ${describeOwner(owner)}: ${why} (${lockPath})`, { what, holder: describeOwner(owner), path: lockPath, tookOver: why });
        continue;
      }
    } else if (Date.now() - started > 2000) {
      // An owner file that never appeared (or that no xqbuild wrote) belongs to a process killed
      // between mkdir and write.
      await rm(lockPath, { recursive: true, force: true });
      continue;
    }
    if (!told && owner) {
      told = true;
      opts.onWait?.(`waiting for the lock on ${what}, held by ${describeOwner(owner)} (${lockPath})`, { what, holder: describeOwner(owner), path: lockPath });
    }
    if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) {
      throw new UserError(
        `gave up waiting for the lock on ${what}, held by ${owner ? describeOwner(owner) : "a process that has not said who it is"} (${lockPath}).`,
        `Wait for the other xqbuild to finish, or raise --lock-timeout. A lock whose holder is gone is taken over by itself (at once on the same machine; from another machine after ${LOCK_STALE_MS / 60_000} minutes without its heartbeat).`,
        "failure",
      );
    }
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error("aborted");
    await sleep(200);
  }
}

/**
 * Removes a stale lock, unless it changed hands since it was judged: it is moved aside first (one
 * rename, which only one of two waiters taking it over wins) and checked to be the one judged.
 */
async function takeOver(lockPath: string, ownerFile: string, judged: string): Promise<boolean> {
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return false;
  }
  let moved = "";
  try {
    moved = await readFile(path.join(aside, path.basename(ownerFile)), "utf8");
  } catch {
    // an owner file that went with its lock
  }
  if (moved !== judged) {
    // Another waiter took it over first and this is its new lock: give it back.
    await rename(aside, lockPath).catch(() => undefined);
    return false;
  }
  await rm(aside, { recursive: true, force: true });
  return true;
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
