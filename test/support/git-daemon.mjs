// The real `git daemon` on loopback (git://, the protocol of Xen 4.17's default URLs): the one
// starter of the unit and fault tests (through servers.ts), the e2e (test/e2e/support.ts) and the
// bench (bench/lib/net.mjs, plain Node, which cannot import the TypeScript support files).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { HOST, freePort, killChild, track, untilListening } from "./loopback.mjs";

/** The last 64 KiB of a file (a daemon's log), or "" when it cannot be read. */
function tail(file) {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.slice(-65536);
  } catch {
    return "";
  }
}

/**
 * Serves every repository under baseDir over git:// on 127.0.0.1 and resolves once it accepts
 * connections. Without opts.port it takes a free port and tries another (opts.attempts, 5) when git
 * daemon cannot bind; a caller that needs a known port (the e2e puts a trap on it afterwards) passes
 * it, and gets one attempt. With opts.logFile both streams are appended there (a long run keeps them
 * all), else the last 64 KiB of stderr are kept in memory; stderr() returns either.
 */
export async function startGitDaemon(baseDir, opts = {}) {
  const base = path.resolve(baseDir);
  const attempts = opts.port === undefined ? (opts.attempts ?? 5) : 1;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const env = opts.env ?? process.env;
  const failures = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = opts.port ?? (await freePort());
    const args = ["daemon", "--reuseaddr", `--listen=${HOST}`, `--port=${port}`, `--base-path=${base}`, "--export-all", "--enable=upload-pack"];
    if (opts.verbose) args.push("--verbose");
    if (opts.informativeErrors) args.push("--informative-errors");
    args.push(base);
    opts.onStart?.(["git", ...args]);
    let child;
    let memory = "";
    if (opts.logFile) {
      const log = fs.openSync(opts.logFile, "a");
      try {
        child = spawn("git", args, { env, stdio: ["ignore", log, log] });
      } finally {
        fs.closeSync(log);
      }
    } else {
      child = spawn("git", args, { env, stdio: ["ignore", "ignore", "pipe"] });
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (d) => {
        memory = (memory + d).slice(-65536);
      });
    }
    track(child);
    const stderr = opts.logFile ? () => tail(opts.logFile) : () => memory;
    let spawnError;
    child.on("error", (e) => {
      spawnError = e;
    });
    const ready = await untilListening(child, port, readyTimeoutMs, () => spawnError);
    if (spawnError) throw new Error(`cannot start git daemon: ${spawnError.message}`);
    if (ready) {
      let stopped;
      return {
        port,
        pid: child.pid,
        child,
        url: (name) => `git://${HOST}:${port}/${name}`,
        stderr,
        stop: () => (stopped ??= killChild(child, 5000)),
      };
    }
    await killChild(child);
    const why = stderr().trim() || `exit ${child.exitCode ?? child.signalCode ?? "?"} (not ready after ${readyTimeoutMs} ms)`;
    failures.push(`port ${port}: ${why}${opts.logFile ? ` (log: ${opts.logFile})` : ""}`);
  }
  throw new Error(`git daemon did not start listening on ${HOST} after ${attempts} attempt${attempts === 1 ? "" : "s"}:\n${failures.join("\n")}`);
}
