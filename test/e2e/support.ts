// What the real end-to-end tests share (real-build.test.ts: Xen 4.17 with QEMU 7.2;
// today-build.test.ts: QEMU 10 with SeaBIOS 1.16.3): logging with timings, running programs with their
// output kept, git daemon and the network-off trap on loopback, what QEMU's configure recorded, and
// comparing two installs.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileCli } from "../support/build-cli.js";
import { startGitDaemon } from "../support/git-daemon.mjs";
import { HOST, killChild } from "../support/loopback.mjs";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export { HOST };

/**
 * shared/REAL-SOURCES.md's build dependencies: what QEMU 7.2 with Xen support and SeaBIOS need,
 * then what Xen 4.17's own ./configure needs (the cached Xen tree is configured), plus pkg-config
 * (configure's PKG_CHECK_MODULES) and patch (fake-xenbits applies Debian's patches). `iasl` is
 * provided by acpica-tools, so only that is asked of dpkg.
 */
export const BUILD_DEPS = [
  "libxen-dev", "libglib2.0-dev", "libpixman-1-dev", "libfdt-dev", "libslirp-dev", "meson", "ninja-build",
  "flex", "bison", "python3-venv", "libusb-1.0-0-dev", "libcap-ng-dev", "libattr1-dev", "bzip2", "acpica-tools",
  "uuid-dev", "libyajl-dev", "libnl-3-dev", "libnl-route-3-dev", "libncurses-dev", "python3-dev", "zlib1g-dev",
  "liblzma-dev", "libzstd-dev", "libbz2-dev", "liblzo2-dev",
  "pkg-config", "patch", "git", "make", "gcc",
  // step (j) of real-build.test.ts: the second reproducible build's compiles are ccache hits
  "ccache"
];

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  output: string;
  /** stdout alone */
  stdout: string;
  /** each line of output with the seconds since the start at which it arrived */
  lines: { t: number; line: string }[];
}

/** The progress log every line also goes to (set by a test's beforeAll), and the step timings. */
export const journal = { progress: "", timings: [] as [string, number][] };

export function say(text: string): void {
  const line = `[e2e ${new Date().toISOString().slice(11, 19)}] ${text}\n`;
  process.stderr.write(line);
  if (journal.progress) fs.appendFileSync(journal.progress, line);
}

export function time(step: string, seconds: number): void {
  journal.timings.push([step, seconds]);
  say(`timing: ${step}: ${seconds.toFixed(1)} s`);
}

/** The timings as a table (logged), and written to work/timings.json. */
export function reportTimings(work: string): void {
  const timings = journal.timings;
  if (timings.length === 0) return;
  const width = Math.max(...timings.map(([s]) => s.length));
  const table = timings.map(([s, t]) => `  ${s.padEnd(width)}  ${t.toFixed(1).padStart(7)} s`).join("\n");
  say(`timings:\n${table}`);
  fs.writeFileSync(path.join(work, "timings.json"), `${JSON.stringify(Object.fromEntries(timings), null, 2)}\n`);
}

/** The environment children get: no make state or git redirection leaking in from outside. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("GIT_") || ["MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"].includes(k)) continue;
    env[k] = v;
  }
  env["GIT_CONFIG_NOSYSTEM"] = "1";
  env["GIT_CONFIG_GLOBAL"] = "/dev/null";
  env["GIT_TERMINAL_PROMPT"] = "0";
  env["NO_COLOR"] = "1";
  return { ...env, ...extra };
}


/** Runs a program, its output (both streams) appended to logFile and kept; never throws on exit status. */
export function runLogged(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string }): Promise<Ran> {
  const started = Date.now();
  fs.appendFileSync(opts.logFile, `$ ${[cmd, ...args].join(" ")}\n`);
  say(`run: ${[cmd, ...args].join(" ")}  (log: ${opts.logFile})`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const lines: Ran["lines"] = [];
    let output = "";
    let stdout = "";
    let partial = "";
    const take = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      fs.appendFileSync(opts.logFile, text);
      output += text;
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      const t = (Date.now() - started) / 1000;
      for (const line of parts) lines.push({ t, line });
    };
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      take(chunk);
    });
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (partial) lines.push({ t: (Date.now() - started) / 1000, line: partial });
      resolve({ code, signal, seconds: (Date.now() - started) / 1000, output, stdout, lines });
    });
  });
}

export function explain(r: Ran): string {
  return `exit ${r.code ?? r.signal}; output:\n${r.output.split("\n").slice(-60).join("\n")}`;
}

/** The seconds at which the first line matching re arrived. */
export function when(r: Ran, re: RegExp): number | undefined {
  return r.lines.find((l) => re.test(l.line))?.t;
}

/** "[qemu-xen build] done in 251.3 s" → 251.3 */
export function stageSeconds(r: Ran, component: string, stage: string): number | undefined {
  const m = new RegExp(`^\\[${component} ${stage}\\] done in ([0-9.]+) s`, "m").exec(r.output);
  return m ? Number(m[1]) : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * git daemon on HOST:p serving dir (the shared starter, test/support/git-daemon.mjs), every
 * connection logged to logFile; the process, for stopProcess().
 */
export async function startDaemon(dir: string, p: number, logFile: string): Promise<ChildProcess> {
  const daemon = await startGitDaemon(dir, { port: p, logFile, env: childEnv(), verbose: true, informativeErrors: true, onStart: (argv) => say(`starting ${argv.join(" ")}`) });
  return daemon.child;
}

/** Ends a server started here: SIGTERM, then SIGKILL after 5 s (loopback.mjs's killChild). */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (child) await killChild(child, 5000);
}

/** A TCP listener on the daemon's old port that counts who still tries to reach "xenbits". */
export function startTrap(p: number): Promise<{ connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const srv = net.createServer((sock) => {
    count++;
    say(`network-off trap: a connection to ${HOST}:${p} (the stopped git daemon's port)`);
    sock.destroy();
  });
  return new Promise((resolve, reject) => {
    srv.on("error", reject);
    srv.listen(p, HOST, () =>
      resolve({ connections: () => count, close: () => new Promise<void>((r) => srv.close(() => r())) })
    );
  });
}

/** Every file under dir (not following symbolic links) → its mtime in ns. */
export function mtimes(dir: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.set(r, fs.lstatSync(path.join(dir, r), { bigint: true }).mtimeNs);
      if (e.isDirectory()) walk(r);
    }
  };
  walk("");
  return out;
}

/** QEMU's configure records its environment and command line in config.status; with the tree's path as <ROOT>. */
export function configStatus(tree: string): { env: string[]; argv: string[] } {
  const text = fs.readFileSync(path.join(tree, "tools", "qemu-xen-build", "config.status"), "utf8");
  // Paths only: the arguments are compared byte for byte (the glue's --extra-cflags holds tabs).
  const norm = (v: string): string => v.split(tree).join("<ROOT>").replace(/<ROOT>\/tools\/\.\.\//g, "<ROOT>/");
  // ccache comes in through PATH alone (a masquerade directory first): a documented difference.
  const noCcache = (l: string): string => (l.startsWith("PATH=") ? l.replace(/(?<=^PATH=')(?:\/usr\/lib(?:64)?\/ccache|[^:']*\/\.xqbuild\/ccache-bin):/, "") : l);
  const env = text.split("\n").filter((l) => /^[A-Z_]+=|^unset /.test(l)).map(norm).map(noCcache);
  const exec = text.split("\n").find((l) => l.startsWith("exec ")) ?? "";
  const words = [...exec.slice(5).replace(/ "\$@"$/, "").matchAll(/'((?:[^']|'\\'')*)'/g)].map((m) => (m[1] ?? "").replace(/'\\''/g, "'"));
  return { env, argv: words.map(norm) };
}

export function dpkgInstalled(pkg: string): boolean {
  const r = spawnSync("dpkg", ["-s", pkg], { encoding: "utf8", env: childEnv() });
  return r.status === 0 && /^Status: install ok installed$/m.test(r.stdout);
}

export { installedFiles } from "../support/tree-outputs.mjs";

/**
 * `tsc -p tsconfig.json`, written to a private directory instead of dist/: the whole test then runs
 * one xqbuild, even when someone rebuilds dist/ meanwhile (that happened: a rebuild between `all` and
 * `install` changed the build step, and install rebuilt QEMU). package.json (for "type": "module" and
 * the version) and node_modules are what dist/ finds next to it in the repo. Returns its cli.js.
 */
export async function buildOwnXqbuild(work: string): Promise<string> {
  const own = path.join(work, "xqbuild");
  fs.mkdirSync(own);
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(own, "package.json"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(own, "node_modules"));
  say(`compiling xqbuild into ${own}/dist`);
  const started = Date.now();
  // The one compile of the tests (test/support/build-cli.ts); it throws with tsc's output.
  const cli = compileCli(REPO_ROOT, path.join(own, "dist"));
  fs.appendFileSync(path.join(work, "tsc.log"), `compiled ${cli} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return cli;
}

/** Installs what is missing of deps with apt-get (as root), updating the lists once if that fails; returns what it installed. */
export function ensureDebianPackages(deps: readonly string[]): string[] {
  const missing = deps.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(" ")}; installing them needs root`);
  say(`apt-get install -y ${missing.join(" ")}`);
  const env = childEnv({ DEBIAN_FRONTEND: "noninteractive" });
  let r = spawnSync("apt-get", ["install", "-y", ...missing], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update"], { env, stdio: "ignore" });
    r = spawnSync("apt-get", ["install", "-y", ...missing], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  }
  if (r.status !== 0) throw new Error(`apt-get install failed:\n${r.stdout}\n${r.stderr}`);
  const still = deps.filter((p) => !dpkgInstalled(p));
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(" ")}`);
  return missing;
}

/**
 * Runs Xen's own glue, `make -C TREE/tools subdir-all-qemu-xen-dir`, until its clone and QEMU's real
 * configure are done and `$(MAKE) all` has started ninja (the long build that xqbuild already did the
 * same way); then its process group is stopped. Returns the seconds it took; fails if the glue stopped
 * before its build started.
 */
export async function runGlueUntilBuild(tree: string, env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
  const build = path.join(tree, "tools", "qemu-xen-build");
  const started = Date.now();
  const out = fs.openSync(logFile, "a");
  const glueMake = spawn("make", ["-C", path.join(tree, "tools"), "subdir-all-qemu-xen-dir"], { env, stdio: ["ignore", out, out], detached: true });
  const exited = new Promise<number | null>((r) => glueMake.on("close", (c) => r(c)));
  let reachedBuild = false;
  try {
    for (;;) {
      const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))]);
      if (done) break;
      const ps = spawnSync("ps", ["-o", "args=", "-g", String(glueMake.pid)], { encoding: "utf8" }).stdout;
      if (fs.existsSync(path.join(build, "config.status")) && /(^|\/)ninja /m.test(ps)) {
        reachedBuild = true;
        process.kill(-(glueMake.pid as number), "SIGTERM");
        await exited;
        break;
      }
      if (Date.now() - started > 15 * 60_000) {
        process.kill(-(glueMake.pid as number), "SIGTERM");
        throw new Error("the glue neither configured nor failed within 15 minutes");
      }
    }
  } finally {
    fs.closeSync(out);
  }
  if (!reachedBuild) throw new Error(`the glue stopped before its build started; see ${logFile}`);
  return (Date.now() - started) / 1000;
}
