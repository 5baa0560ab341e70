// Running the measured commands: wall time, the CPU of the whole process tree (GNU time's rusage of
// its waited-for child, descendants included), the bytes the counting proxy saw meanwhile, and for
// xqbuild its own CPU and peak RSS (from a preloaded hook that writes them at exit).
import { Buffer } from "node:buffer";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { performance } from "node:perf_hooks";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers";

export const GNU_TIME = "/usr/bin/time";
export const haveGnuTime = () => spawnSync(GNU_TIME, ["-f", "%e", "true"], { stdio: "ignore" }).status === 0;

/** Processes the bench has running (their process groups), killed if the bench is interrupted. */
const running = new Set();

export function killRunning() {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/**
 * The environment every measured command gets, the same for both tools: no make state, no git
 * redirection or configuration, no ccache (CCACHE_* unset but CCACHE_DISABLE=1, ccache directories
 * off PATH, CC/CXX dropped if they name ccache), no xqbuild settings from outside, no npm additions
 * to PATH. (xqbuild's own ccache switch, XQBUILD_CCACHE=0, is added where xqbuild is run.)
 */
export function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith("GIT_") || k.startsWith("CCACHE_") || k.startsWith("XQBUILD_") || k.startsWith("npm_")) continue;
    if (["MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "GNUMAKEFLAGS", "CI", "NODE_OPTIONS"].includes(k)) continue;
    if (["CC", "CXX", "HOSTCC"].includes(k) && /ccache/.test(v)) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .filter((d) => d && !/ccache/.test(d) && !/node_modules\/\.bin$|node-gyp-bin$/.test(d))
    .join(":");
  // A safety net: should any compiler still be reached through ccache (a masquerade directory
  // elsewhere on PATH, or a build tool that adds one), ccache then runs the real compiler uncached.
  env.CCACHE_DISABLE = "1";
  env.GIT_CONFIG_NOSYSTEM = "1";
  env.GIT_CONFIG_GLOBAL = "/dev/null";
  env.GIT_TERMINAL_PROMPT = "0";
  env.NO_COLOR = "1";
  return env;
}

/** Where each compiler name resolves on PATH (to show, and check, that none is ccache). */
export function resolveCompilers(env) {
  const out = {};
  for (const name of ["cc", "gcc", "c++", "g++"]) {
    const r = spawnSync("sh", ["-c", `command -v ${name}`], { env, encoding: "utf8" });
    const p = r.stdout.trim();
    if (!p) continue;
    try {
      out[name] = fs.realpathSync(p);
    } catch {
      out[name] = p;
    }
  }
  return out;
}

/** Writes the hook that xqbuild is run with (node --import): its own CPU and peak RSS at exit. */
export function writeCpuHook(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const hook = path.join(dir, "cpu-hook.mjs");
  fs.writeFileSync(
    hook,
    `// written by bench/lib/proc.mjs: xqbuild's own resource use, recorded at exit
import fs from "node:fs";
import process from "node:process";
process.on("exit", (code) => {
  const cpu = process.cpuUsage();
  const ru = process.resourceUsage();
  fs.writeFileSync(${JSON.stringify(dir)} + "/xq-" + process.pid + ".json",
    JSON.stringify({ pid: process.pid, code, userUs: cpu.user, systemUs: cpu.system, maxRssKb: ru.maxRSS }));
});
`
  );
  return hook;
}

function readHookOutputs(dir) {
  const out = [];
  for (const f of fs.readdirSync(dir)) {
    if (!/^xq-\d+\.json$/.test(f)) continue;
    const file = path.join(dir, f);
    try {
      out.push(JSON.parse(fs.readFileSync(file, "utf8")));
    } catch {
      // half-written: ignore
    }
    fs.rmSync(file, { force: true });
  }
  return out;
}

function parseGnuTime(file) {
  try {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    const m = /^([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)$/.exec(lines[lines.length - 1] ?? "");
    if (!m) return undefined;
    return { elapsed: Number(m[1]), user: Number(m[2]), sys: Number(m[3]), maxRssKb: Number(m[4]) };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/**
 * Runs one command. Returns { label, argv, cwd, code, wall, cpu: {user, sys} | undefined (the whole
 * tree's), net: {connections, down, up}, xq: {user, sys, maxRssMb} | undefined, load1 (the one-minute
 * load average at the start), loadMean (its mean while the command ran, sampled every 5 s), output }.
 * Its output (both streams) goes to logFile and is kept in `output`.
 */
export async function measure(ctx, label, cmd, args, opts = {}) {
  const { proxy, logDir, hookDir } = ctx;
  const logFile = path.join(logDir, `${String(ctx.counter.n++).padStart(3, "0")}-${label.replace(/[^A-Za-z0-9._-]+/g, "_")}.log`);
  const argv = [cmd, ...args];
  const timeFile = path.join(logDir, `.time-${process.pid}`);
  const useTime = ctx.gnuTime;
  const [c, a] = useTime ? [GNU_TIME, ["-o", timeFile, "-f", "%e %U %S %M", cmd, ...args]] : [cmd, args];
  if (hookDir) readHookOutputs(hookDir);
  fs.writeFileSync(logFile, `$ (cd ${opts.cwd ?? process.cwd()} && ${argv.join(" ")})\n`);
  ctx.say(`${label}: ${argv.map((x) => (x.includes(" ") ? `'${x}'` : x)).join(" ")}`);
  const load1 = os.loadavg()[0];
  const before = proxy.snapshot();
  const started = performance.now();
  const loads = [load1];
  const sampler = setInterval(() => loads.push(os.loadavg()[0]), 5000);
  const res = await new Promise((resolve, reject) => {
    const log = fs.openSync(logFile, "a");
    const child = spawn(c, a, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    running.add(child.pid);
    const chunks = [];
    const take = (b) => {
      chunks.push(b);
      fs.writeSync(log, b);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    const limit = (opts.timeoutMin ?? 90) * 60_000;
    const timer = setTimeout(() => {
      ctx.say(`${label}: still running after ${limit / 60_000} min; stopping it`);
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // gone
      }
    }, limit);
    child.on("error", (e) => {
      clearTimeout(timer);
      running.delete(child.pid);
      fs.closeSync(log);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      fs.closeSync(log);
      resolve({ code: code ?? (signal ? `signal ${signal}` : null), output: Buffer.concat(chunks).toString("utf8") });
    });
  });
  clearInterval(sampler);
  const wall = (performance.now() - started) / 1000;
  const after = proxy.snapshot();
  const t = useTime ? parseGnuTime(timeFile) : undefined;
  let xq;
  if (hookDir) {
    const hooks = readHookOutputs(hookDir);
    const h = hooks[0];
    if (h) xq = { user: h.userUs / 1e6, sys: h.systemUs / 1e6, maxRssMb: h.maxRssKb / 1024 };
  }
  const r = {
    label,
    argv,
    cwd: opts.cwd,
    code: res.code,
    wall,
    cpu: t ? { user: t.user, sys: t.sys } : undefined,
    net: { connections: after.connections - before.connections, down: after.down - before.down, up: after.up - before.up },
    xq,
    load1,
    loadMean: loads.reduce((a, b) => a + b, 0) / loads.length,
    log: logFile,
    output: res.output
  };
  ctx.say(`${label}: exit ${r.code}, ${wall.toFixed(1)} s wall${t ? `, ${(t.user + t.sys).toFixed(1)} s CPU` : ""}, ${r.net.down} bytes received`);
  return r;
}

/** Sums several measured commands (one figure sample made of several commands). */
export function combine(parts) {
  const sum = (f) => parts.reduce((s, p) => s + f(p), 0);
  const haveCpu = parts.every((p) => p.cpu);
  const xqParts = parts.filter((p) => p.xq);
  return {
    ok: parts.every((p) => p.code === 0),
    wall: sum((p) => p.wall),
    cpu: haveCpu ? { user: sum((p) => p.cpu.user), sys: sum((p) => p.cpu.sys) } : undefined,
    net: { connections: sum((p) => p.net.connections), down: sum((p) => p.net.down), up: sum((p) => p.net.up) },
    xq: xqParts.length
      ? { user: xqParts.reduce((s, p) => s + p.xq.user, 0), sys: xqParts.reduce((s, p) => s + p.xq.sys, 0), maxRssMb: Math.max(...xqParts.map((p) => p.xq.maxRssMb)) }
      : undefined,
    load1: parts[0]?.load1,
    // the mean one-minute load average while the commands ran, weighted by their wall time
    loadMean: parts.reduce((s, p) => s + (p.loadMean ?? 0) * p.wall, 0) / Math.max(1e-9, parts.reduce((s, p) => s + p.wall, 0)),
    commands: parts.map(({ output: _o, ...rest }) => rest)
  };
}
