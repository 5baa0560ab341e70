// The one lock of the test machinery (the fault suite's CLI build, the e2e's fake xenbits,
// scripts/real-sources.mjs): a directory made with mkdir (atomic), holding its owner's pid, so that
// parallel test workers and runs serialise on a shared cache and a lock whose owner died is taken
// over. Plain Node (with dir-lock.d.mts for TypeScript): the scripts and e2e builders are .mjs.
import fs from "node:fs";
import path from "node:path";
import process from "node:process";

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

/** Blocks this thread for ms (the lock is taken by synchronous code). */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/**
 * Takes the lock directory `lock`, waiting while another live process holds it; returns release(),
 * which removes it (and is also run at this process's exit). A lock whose pid is gone, or which has
 * no pid file for opts.staleMs (10 s; the owner died between mkdir and writing it), is stale and
 * removed (opts.log says so). After opts.timeoutMs (an hour) of waiting, opts.fail(message) is
 * called (default: throw an Error); opts.log also says once that it waits.
 */
export function acquireDirLock(lock, opts = {}) {
  const ownerFile = path.join(lock, "pid");
  const timeoutMs = opts.timeoutMs ?? 60 * 60 * 1000;
  const staleMs = opts.staleMs ?? 10_000;
  const log = opts.log ?? (() => undefined);
  const fail =
    opts.fail ??
    ((message) => {
      throw new Error(message);
    });
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(ownerFile, `${process.pid}\n`);
      const release = () => rmrf(lock);
      process.on("exit", release);
      return () => {
        process.off("exit", release);
        release();
      };
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
    }
    let pid;
    try {
      pid = Number.parseInt(fs.readFileSync(ownerFile, "utf8"), 10);
    } catch {
      pid = undefined;
    }
    let age = 0;
    try {
      age = Date.now() - fs.statSync(lock).mtimeMs;
    } catch {
      continue; // just released
    }
    const stale = pid !== undefined && Number.isFinite(pid) ? !pidAlive(pid) : age > staleMs;
    if (stale) {
      log(`removing stale lock ${lock}${pid ? ` (pid ${pid} is gone)` : ""}`);
      rmrf(lock);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      fail(`timed out waiting for ${lock} (held by pid ${pid ?? "?"})`);
      throw new Error(`timed out waiting for ${lock}`); // fail() is meant to throw
    }
    if (!told) {
      log(`waiting for another run (pid ${pid ?? "?"}) holding ${lock}`);
      told = true;
    }
    sleepSync(opts.pollMs ?? 500);
  }
}
