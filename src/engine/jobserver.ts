import type { ResolvedConfig } from "../config/types.js";
import { execFileSync } from "node:child_process";
import { closeSync, constants, fstatSync, openSync, read, rmSync, writeSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { onExit } from "../util/signals.js";

/**
 * The most job slots xqbuild's own pool holds. Its tokens (one byte each, jobs - 1 of them) are
 * written into the FIFO when the pool is made, and a pipe holds at most 64 KiB, or one 4 KiB page
 * once the user is over /proc/sys/fs/pipe-user-pages-soft: with more, that write would block for
 * ever, and with it the whole process (signals included). 4096 slots is far more than any machine
 * has cores for; GNU make itself is rarely run with more than a few hundred.
 */
export const MAX_JOBS = 4096;

/**
 * A GNU make jobserver: one pool of job tokens shared by every make (and anything that speaks the
 * protocol) that xqbuild starts. xqbuild owns a pool of N slots, or, when it runs under a make that
 * has one (MAKEFLAGS carries --jobserver-auth), joins that make's pool so `make -j8` around it
 * never oversubscribes.
 *
 * Every process xqbuild starts counts for one slot: the first runs on xqbuild's own implicit slot,
 * each further one first takes a token from the pool and gives it back when it ends.
 */
export class JobServer {
  private implicitFree = true;
  private queue: Array<(t: number | undefined) => void> = [];
  private reading = false;
  private closed = false;
  /** Slots held by processes of ours (acquire() until its release), the implicit one included. */
  private held = 0;
  /** acquireExtra() calls still waiting: each holds a slot it will not give back while it waits. */
  private waitingExtra = 0;
  /** Called whenever `held` changes, so that a waiting acquireExtra() can decide how long to wait. */
  private readonly watchers = new Set<() => void>();
  /** Removes the exit hook that deletes an owned pool's directory. */
  private unhook: (() => void) | undefined;

  private constructor(
    readonly jobs: number,
    private readonly readFd: number,
    private readonly writeFd: number,
    readonly owned: boolean,
    private readonly fifo?: string,
    private readonly authText?: string,
  ) {}

  /**
   * A pool of `jobs` slots owned by this process (a FIFO opened read-write; make 4.3 gets its fd).
   * `from` names where the number came from, for the message when it is over MAX_JOBS.
   */
  static create(jobs: number, from = "the job budget"): JobServer {
    if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) {
      throw new UserError(
        `${from} is ${jobs}: xqbuild's job pool holds at most ${MAX_JOBS} slots (each is a byte in a pipe, which holds no more without blocking).`,
        `Use a number of jobs from 1 to ${MAX_JOBS}, for example -j${Math.min(MAX_JOBS, 64)}.`,
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-jobserver-"));
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const fd = openSync(fifo, constants.O_RDWR);
    const tokens = Buffer.alloc(Math.max(0, jobs - 1), "+");
    if (tokens.length > 0) writeSync(fd, tokens);
    const pool = new JobServer(jobs, fd, fd, true, fifo);
    // An exit that does not come back through close() (a second Ctrl-C) still removes the directory.
    pool.unhook = onExit(() => rmSync(dir, { recursive: true, force: true }));
    return pool;
  }

  /** Joins the jobserver of an enclosing make, if MAKEFLAGS names one whose descriptors are open. */
  static join(makeflags: string | undefined): JobServer | undefined {
    if (!makeflags) return undefined;
    const m = /--jobserver-(?:auth|fds)=(?:(\d+),(\d+)|fifo:(\S+))/.exec(makeflags);
    if (!m) return undefined;
    const jobsMatch = /(?:^|\s)-j(\d+)/.exec(makeflags);
    const jobs = jobsMatch ? Number(jobsMatch[1]) : 0;
    try {
      if (m[3]) {
        const fd = openSync(m[3], constants.O_RDWR);
        return new JobServer(jobs, fd, fd, false, undefined, `fifo:${m[3]}`);
      }
      const r = Number(m[1]);
      const w = Number(m[2]);
      fstatSync(r);
      fstatSync(w);
      return new JobServer(jobs, r, w, false, undefined, `${r},${w}`);
    } catch {
      // The enclosing make did not pass its descriptors to us (a recipe line without +/$(MAKE)).
      return undefined;
    }
  }

  /** The MAKEFLAGS a child gets, with the descriptors at 3 and 4 (see stdio()); `jobs` overrides -j. */
  makeflags(jobs?: number): string {
    const n = jobs ?? this.jobs;
    const j = n > 0 ? `-j${n} ` : "";
    if (this.authText?.startsWith("fifo:")) return `${j}--jobserver-auth=${this.authText}`;
    return `${j}--jobserver-auth=3,4`;
  }

  /** Descriptors to hand a child as its fds 3 and 4. */
  stdio(): [number, number] {
    return [this.readFd, this.writeFd];
  }

  /** Takes a slot for one process; the returned function gives it back. */
  async acquire(): Promise<() => void> {
    if (this.implicitFree) {
      this.implicitFree = false;
      return this.releaser(undefined);
    }
    // undefined: the implicit slot, handed over by a process that ended; a number: a pool token.
    const token = await new Promise<number | undefined>((resolve) => {
      this.queue.push(resolve);
      this.pump();
    });
    return this.releaser(token);
  }

  /**
   * Takes up to `max` more slots for a tool that cannot share the pool while it runs (ninja before
   * 1.13 runs -jN jobs of its own), held until it ends: the tool is then given -j(1 + count), and
   * the budget still holds. While other processes of ours hold slots (SeaBIOS's make as QEMU's build
   * starts) it waits for them however long they take: they end, and starting with fewer slots would
   * keep the tool at that -jN for the whole of its run. Once none of ours hold any, what is missing
   * is held outside (an enclosing make's jobs, another xqbuild waiting as this one does): then it
   * waits `graceMs` at most and takes what it has. The implicit slot, handed on by a process of ours
   * that ended, counts as one of the slots held.
   */
  async acquireExtra(max: number, graceMs: number): Promise<{ count: number; release: () => void }> {
    const tokens: number[] = [];
    let implicit = false;
    const count = (): number => tokens.length + (implicit ? 1 : 0);
    this.waitingExtra++;
    // Another waiter, waiting as this one does, is no longer a holder to wait for.
    this.notify();
    try {
      while (count() < max && !this.closed) {
        const got = await new Promise<number | undefined | "timeout">((resolve) => {
          let timer: NodeJS.Timeout | undefined;
          const finish = (v: number | undefined | "timeout"): void => {
            clearTimeout(timer);
            this.watchers.delete(arm);
            if (v === "timeout") {
              // Whatever arrives for this waiter later goes back to the pool.
              const i = this.queue.indexOf(finish);
              if (i >= 0) this.queue.splice(i, 1);
            }
            resolve(v);
          };
          // Each waiter holds its own slot; the rest are held by processes that will end.
          const arm = (): void => {
            const bounded = this.held - this.waitingExtra;
            if (bounded > 0) {
              clearTimeout(timer);
              timer = undefined;
            } else if (timer === undefined) {
              timer = setTimeout(() => finish("timeout"), graceMs);
            }
          };
          this.watchers.add(arm);
          this.queue.push(finish);
          this.pump();
          arm();
        });
        if (got === "timeout") break;
        if (got === undefined) implicit = true;
        else tokens.push(got);
      }
    } finally {
      this.waitingExtra--;
      this.notify();
    }
    let done = false;
    return {
      count: count(),
      release: () => {
        if (done) return;
        done = true;
        if (!this.closed && tokens.length > 0) writeSync(this.writeFd, Buffer.from(tokens));
        if (implicit) this.handOnImplicit();
      },
    };
  }

  /**
   * Resolves once no process of ours holds a slot. A tool that takes a fixed -jN starts then, and
   * takes the whole budget: waiting while holding a slot would leave that slot idle and the others'
   * makes short of it, and starting early with what is free would keep it at that -jN throughout.
   */
  othersDone(): Promise<void> {
    if (this.held === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.held > 0 && !this.closed) return;
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
    });
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }

  /**
   * The implicit slot goes to the first waiter. With none, in a pool of our own it becomes a token
   * in the pool, so that a make running below us (SeaBIOS's, while QEMU's build waits to take the
   * budget) can use it; the next process of ours reads it back as any token. In an enclosing make's
   * pool it stays ours (a token left there would outlive us): it is free for our next process.
   */
  private handOnImplicit(): void {
    const next = this.queue.shift();
    if (next) {
      next(undefined);
    } else if (this.owned && !this.closed) {
      writeSync(this.writeFd, Buffer.from("+"));
    } else {
      this.implicitFree = true;
    }
  }

  private releaser(token: number | undefined): () => void {
    this.held++;
    this.notify();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.held--;
      if (token !== undefined) {
        if (!this.closed) writeSync(this.writeFd, Buffer.from([token]));
      } else {
        this.handOnImplicit();
      }
      this.notify();
    };
  }

  private pump(): void {
    if (this.reading || this.queue.length === 0 || this.closed) return;
    this.reading = true;
    const buf = Buffer.alloc(1);
    read(this.readFd, buf, 0, 1, null, (err, n) => {
      this.reading = false;
      if (this.closed) {
        // close() wrote one byte to end this read; what was read is not a token of ours.
        return;
      }
      if (err || n !== 1) {
        setTimeout(() => this.pump(), 50);
        return;
      }
      const next = this.queue.shift();
      if (next) next(buf[0] ?? 0x2b);
      else writeSync(this.writeFd, buf);
      this.pump();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A read still waiting in the thread pool would keep the process alive: give it a byte to end on.
    if (this.reading) writeSync(this.writeFd, Buffer.from("+"));
    if (this.owned) {
      try {
        closeSync(this.readFd);
      } catch {
        // already closed
      }
      if (this.fifo) rmSync(path.dirname(this.fifo), { recursive: true, force: true });
      this.unhook?.();
    }
  }
}

/** The job pool: the enclosing make's when there is one, else a new one of -j slots. */
export function jobServerFor(config: ResolvedConfig, explicitJobs: boolean): JobServer {
  if (!explicitJobs) {
    const joined = JobServer.join(config.env.MAKEFLAGS);
    if (joined) return joined;
  }
  // A number the user gave over the pool's bound is refused (saying where it came from); the
  // number of CPUs, a default, is only capped.
  if (explicitJobs) return JobServer.create(config.jobs, "-j/--jobs");
  if (config.settings.jobs !== undefined) return JobServer.create(config.jobs, `the jobs setting${config.settingsFile ? ` in ${config.settingsFile}` : ""}`);
  return JobServer.create(Math.min(config.jobs, MAX_JOBS));
}
