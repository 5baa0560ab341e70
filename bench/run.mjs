#!/usr/bin/env node
// npm run bench — xqbuild against Xen 4.17's real make glue, on the same work, side by side.
//
//   npm run bench [-- --release 4.17|4.20] [--runs N] [--cold-runs N] [--only a,b,...] [--jobs N] [--workdir DIR] [--keep]
//
// Both tools fetch the real sources of a release from the fake xenbits of the e2e tests, served by
// `git daemon` on loopback behind a counting TCP proxy, into fresh copies of the real, configured
// Xen 4.17 tree (scripts/real-sources.mjs):
//   --release 4.17  QEMU 7.2 as qemu-xen (with its submodules) and SeaBIOS (test/e2e/fake-xenbits.mjs)
//   --release 4.20  QEMU 10.0.13 (meson wraps, python/wheels) and SeaBIOS 1.16.3, the sources of the
//                   releases people run today (test/e2e/fake-xenbits-today.mjs). Debian's archive
//                   here has no Xen 4.20 tree, so the glue is Xen 4.17's, given the revisions in
//                   .config as a user writes them; the recorded 4.20 glue (test/golden/releases/)
//                   runs the same QEMU configure line and SeaBIOS makes, which the golden tests check.
// The glue is Xen's own make: `make -jN -C tools subdir-all-qemu-xen-dir` and `make -jN -C
// tools/firmware seabios-dir subdir-all-seabios-dir`; xqbuild is a snapshot of dist/ taken at the
// start (so a rebuild of dist/ meanwhile does not change the tool under test), run as
// `node dist/src/cli/main.js all -jN` with a preloaded hook that records its own CPU and peak RSS.
//
// Figures (see README.md, "## Benchmark"):
//   (a) cold build, fresh tree, empty caches        (d) fetch into a second tree: time and bytes
//   (b) rerun with nothing changed                  (e) xqbuild's own CPU and peak RSS in (a)
//   (c) rerun after one more cflag                  (f) fresh tree sharing the cache: all + install
//   (g) move to the next stable point release: update + rebuild, against *-force-update + rebuild
//   (h) a fresh CI runner: empty tree and local caches, the remote cache (nginx WebDAV) warm
// Results: bench/results/<timestamp>.json (every sample) and .md (the table, also printed).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureFakeXenbits, realSourcesAll } from "../test/e2e/fake-xenbits.mjs";
import { GITLAB_PREFIX, PROJECT_DIR, ensureFakeXenbitsToday, realSourcesToday } from "../test/e2e/fake-xenbits-today.mjs";
import { installedFiles } from "../test/support/tree-outputs.mjs";
import { startWebDav } from "../test/support/webdav.mjs";
import { HOST, freePort, startCountingProxy, startGitDaemon } from "./lib/net.mjs";
import { cleanEnv, combine, haveGnuTime, killRunning, measure, resolveCompilers, writeCpuHook } from "./lib/proc.mjs";
import { fmtBytes, machineInfo, markdown, median } from "./lib/report.mjs";
import { builtOutputs, ccacheInBuild, dotConfig, fileHas, freshTree, glueActivity, removeTree, settleDisk, xqActivity, xqLogSizes } from "./lib/tree.mjs";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const RESULTS = path.join(REPO_ROOT, "bench", "results");
const FIGURES = ["a", "b", "c", "d", "e", "f", "g", "h"];
const RELEASES = { "4.17": "4.17", "4.20": "4.20", today: "4.20" };
/** QEMU 7.2's configure asks git-submodule.sh for these (the glue's submodule fetch, figure d). */
const QEMU_CONFIGURE_SUBMODULES = "ui/keycodemapdb meson tests/fp/berkeley-testfloat-3 tests/fp/berkeley-softfloat-3 dtc";

const USAGE = `usage: node bench/run.mjs [options]        (npm run bench [-- options])

  --release R     the sources: 4.17 (QEMU 7.2, SeaBIOS rel-1.16.0; the default) or 4.20 (alias
                  today: QEMU 10.0.13, SeaBIOS 1.16.3)
  --runs N        samples of the cheap figures (b, d, h; f when it hits the cache), default 3
  --g-with-ccache (g) with xqbuild's ccache on, as its users have it where ccache is installed (a
                  private CCACHE_DIR the base build fills); by default off, as in (a): on the 7.2.0 →
                  7.2.22 move it missed nearly every compile, and its base_dir changes the binaries'
                  debug paths, so they are no longer byte for byte the glue's
  --cold-runs N   samples of the full builds (a, c; f while it rebuilds), default 1 (~5 min each per tool)
  --only LIST     figures to run, e.g. --only b,d (a cold build of each tool is still done when
                  b, c, e or f need one; d alone fills the mirror cache with an unmeasured fetch)
  --jobs N        the parallelism given to both tools (xqbuild -jN, make -jN), default 2
  --workdir DIR   where the trees go (default: a new directory under ${os.tmpdir()}; ~4 GB)
  --keep          keep the work directory (it is also kept when something failed)
`;

function parseArgs(argv) {
  const o = { release: "4.17", gCcache: false, runs: 3, coldRuns: 1, only: new Set(FIGURES), jobs: 2, workdir: undefined, keep: false };
  const num = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, not ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--release") {
      const r = value();
      if (!Object.hasOwn(RELEASES, r ?? "")) throw new Error(`--release takes ${Object.keys(RELEASES).join(", ")}, not ${r ?? "nothing"}`);
      o.release = RELEASES[r];
    } else if (flag === "--g-with-ccache") o.gCcache = true;
    else if (flag === "--runs") o.runs = num(flag, value());
    else if (flag === "--cold-runs") o.coldRuns = num(flag, value());
    else if (flag === "--jobs" || flag === "-j") o.jobs = num(flag, value());
    else if (flag === "--only") {
      const list = (value() ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      const bad = list.filter((x) => !FIGURES.includes(x));
      if (list.length === 0 || bad.length) throw new Error(`--only takes a list of ${FIGURES.join(",")}${bad.length ? ` (not ${bad.join(",")})` : ""}`);
      o.only = new Set(list);
    } else if (flag === "--workdir") o.workdir = path.resolve(value() ?? "");
    else if (flag === "--keep") o.keep = true;
    else if (flag === "--help" || flag === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

const opts = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    process.exit(2);
  }
})();

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
const work = opts.workdir ?? fs.mkdtempSync(path.join(os.tmpdir(), "xqbench-"));
fs.mkdirSync(work, { recursive: true });
const progressLog = path.join(work, "progress.log");

function say(text) {
  const line = `[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`;
  process.stderr.write(line);
  fs.appendFileSync(progressLog, line);
}

const errors = [];
const observations = [];
let daemon;
let proxy;
let webdav;
let webdavProxy;

async function shutdown() {
  if (proxy) await proxy.close();
  if (daemon) await daemon.stop();
  if (webdavProxy) await webdavProxy.close();
  if (webdav) await webdav.stop();
  proxy = undefined;
  daemon = undefined;
  webdavProxy = undefined;
  webdav = undefined;
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    say(`${sig}: stopping (work directory kept: ${work})`);
    killRunning();
    shutdown().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  });
}

/** A snapshot of the built xqbuild (dist/, package.json, node_modules), as the e2e test does. */
function snapshotXqbuild() {
  const dist = path.join(REPO_ROOT, "dist", "src", "cli", "main.js");
  if (!fs.existsSync(dist)) throw new Error("dist/src/cli/main.js is missing: run `npm run build` (npm run bench does)");
  const own = path.join(work, "xqbuild");
  fs.mkdirSync(own, { recursive: true });
  execFileSync("cp", ["-a", path.join(REPO_ROOT, "dist"), path.join(own, "dist")]);
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(own, "package.json"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(own, "node_modules"));
  const cli = path.join(own, "dist", "src", "cli", "main.js");
  const version = spawnSync(process.execPath, [cli, "--version"], { encoding: "utf8" }).stdout.trim().replace(/^xqbuild /, "");
  const git = (args) => spawnSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).stdout.trim();
  return { cli, version, commit: git(["rev-parse", "HEAD"]) || undefined, dirty: git(["status", "--porcelain", "--", "src"]) !== "" };
}

function summarize(samples, extra = {}) {
  const ok = samples.filter((s) => s.ok);
  return {
    samples,
    median: {
      wall: median(ok.map((s) => s.wall)),
      cpu: median(ok.map((s) => (s.cpu ? s.cpu.user + s.cpu.sys : undefined))),
      bytes: median(ok.map((s) => s.net.down)),
      connections: median(ok.map((s) => s.net.connections)),
      ...extra
    }
  };
}

function describeActivity(a) {
  if (!a) return "?";
  const parts = [];
  if (a.stages) {
    const st = Object.entries(a.stages).map(([k, v]) => `${k}: ${v}`);
    if (st.length) parts.push(st.join(", "));
  }
  parts.push(a.qemuConfigureRan ? "QEMU's configure (meson) ran" : "QEMU's configure did not run");
  parts.push(a.ninjaEdges ? `ninja ran ${a.ninjaEdges} edges (${a.ninjaCompiles} compile/link)` : a.ninjaNoWork ? "ninja: no work to do" : "no ninja edges");
  // xqbuild's QEMU build: the -jN its ninja had for the whole build (the glue's is make's -jN).
  if (a.ninjaJobs !== undefined) parts.push(`ninja ran with -j${a.ninjaJobs}`);
  parts.push(`${a.seabiosSteps} SeaBIOS build steps`);
  return parts.join("; ");
}

/** ccache on the machine's PATH (not the bench's cleaned one), or undefined. */
function ccachePath() {
  const r = spawnSync("sh", ["-c", "command -v ccache"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** The wraps QEMU 10's meson setup downloads with Xen's configure line (test/e2e/today-build.test.ts). */
const QEMU10_WRAPS = ["keycodemapdb", "berkeley-softfloat-3", "berkeley-testfloat-3"];

/**
 * A release's sources, and what each tool needs besides them: the revisions for .config, the
 * directory that stands for https://gitlab.com/qemu-project/ on the loopback server (QEMU's
 * submodules and wraps name it: xqbuild reaches it through its mirrors setting, the glue's git and
 * meson through git's insteadOf in the environment), and the point-release move of figure (g).
 */
function releaseSetup(release) {
  if (release === "4.20") {
    const sources = realSourcesToday();
    const xenbits = ensureFakeXenbitsToday(sources);
    const q = xenbits.qemu.find((r) => r.tag === "v10.0.13");
    if (!q) throw new Error("the fake xenbits (today) has no QEMU v10.0.13");
    return {
      release,
      title: "QEMU 10.0.13 and SeaBIOS rel-1.16.3 (Xen 4.20's sources), against Xen 4.17's make glue",
      sources,
      xenbits,
      qemu: { revision: q.tag, commit: q.commit, version: q.version },
      seabios: "rel-1.16.3",
      gitlabDir: `${PROJECT_DIR}/`,
      wraps: QEMU10_WRAPS,
      move: undefined,
      noMove: "only one QEMU 10.0 point release can be had from Debian's archive here (10.0.13, trixie; bookworm-backports' 10.0.2 answers 404 for its .dsc), so there is no 10.0 point release to move to"
    };
  }
  const sources = realSourcesAll();
  const xenbits = ensureFakeXenbits(sources);
  return {
    release,
    title: "QEMU 7.2 (qemu-xen-4.17.3) and SeaBIOS rel-1.16.0, against Xen 4.17's make glue",
    sources,
    xenbits,
    qemu: { revision: xenbits.qemu.tag, commit: xenbits.qemu.commit, version: xenbits.qemu.version },
    seabios: "rel-1.16.0",
    gitlabDir: "",
    wraps: undefined,
    // (g): v7.2.0 (with the two Debian patches the dfsg tree needs to configure: the qemu-xen-4.17.3
    // tag) moved to Debian's whole series on v7.2.0, which carries the 7.2.1 ... 7.2.22 stable diffs.
    move: {
      from: xenbits.qemu.tag,
      to: xenbits.qemu.series.commit,
      what: `${xenbits.qemu.tag} (QEMU 7.2.0 + 2 build patches) → ${xenbits.qemu.series.branch} ${xenbits.qemu.series.commit.slice(0, 12)} (QEMU 7.2.0 + Debian's ${xenbits.qemu.series.patches.length} patches: 7.2.22)`
    }
  };
}

async function main() {
  say(`work directory: ${work} (progress: ${progressLog})`);
  const env = cleanEnv();
  const compilers = resolveCompilers(env);
  const viaCcache = Object.entries(compilers).filter(([, p]) => /ccache/.test(p));
  if (viaCcache.length) throw new Error(`these compilers resolve to ccache on the cleaned PATH: ${viaCcache.map(([n, p]) => `${n} → ${p}`).join(", ")}`);
  const gnuTime = haveGnuTime();
  if (!gnuTime) say("warning: /usr/bin/time (Debian package `time`) is missing: no CPU totals, so no figure (e) fraction");

  say(`release ${opts.release}: the real sources and the fake xenbits (node scripts/real-sources.mjs; cached)`);
  const rel = releaseSetup(opts.release);
  const { sources, xenbits } = rel;
  say(rel.title);
  // Private copies of the fake xenbits and of the configured Xen tree (~80 MB): the shared cache
  // they come from may be remade by someone else while the bench runs.
  const xenbitsDir = path.join(work, "xenbits");
  const xenTree = path.join(work, "xen-configured");
  execFileSync("cp", ["-a", xenbits.dir, xenbitsDir]);
  execFileSync("cp", ["-a", sources.xenTree, xenTree]);
  const xq = snapshotXqbuild();
  say(`xqbuild ${xq.version} from ${xq.cli}`);

  const logDir = path.join(work, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const hookDir = path.join(work, "hook");
  const hook = writeCpuHook(hookDir);

  const daemonPort = await freePort();
  daemon = await startGitDaemon(xenbitsDir, daemonPort, path.join(logDir, "git-daemon.log"), env);
  const proxyPort = await freePort();
  proxy = await startCountingProxy(proxyPort, daemonPort);
  say(`git daemon (pid ${daemon.pid}) on ${HOST}:${daemonPort}, counting proxy on ${HOST}:${proxyPort}`);
  const cfg = dotConfig(proxyPort, rel.qemu.revision, rel.seabios);
  // xqbuild's mirrors setting and the glue's insteadOf: gitlab.com/qemu-project to loopback, through the proxy
  const loopGitlab = `git://${HOST}:${proxyPort}/${rel.gitlabDir}`;
  const xqFiles = { "xqbuild.config.json": `${JSON.stringify({ mirrors: { [GITLAB_PREFIX]: loopGitlab } }, null, 2)}\n` };
  const glueEnv = { ...env, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: `url.${loopGitlab}.insteadOf`, GIT_CONFIG_VALUE_0: GITLAB_PREFIX };
  const newTree = (from, dest, who, dot = cfg) => freshTree(from, dest, dot, who === "xqbuild" ? xqFiles : {});
  const ctx = { proxy, logDir, hookDir: undefined, counter: { n: 1 }, gnuTime, say };
  const xqCtx = { ...ctx, hookDir };

  const j = `-j${opts.jobs}`;
  /** xqbuild with the bench's environment; an extraEnv value of undefined removes that variable. */
  const runXq = (label, args, cache, extraEnv = {}) => {
    const e = { ...env, XQBUILD_CACHE_DIR: cache, XQBUILD_CCACHE: "0", ...extraEnv };
    for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
    return measure(xqCtx, label, process.execPath, ["--import", pathToFileURL(hook).href, xq.cli, ...args], { env: e, cwd: work });
  };
  /** The glue's two make commands (qemu-xen, then SeaBIOS), as one sample. */
  const runGlue = async (label, tree, vars = []) => {
    const q = await measure(ctx, `${label}-qemu`, "make", [j, "-C", path.join(tree, "tools"), "subdir-all-qemu-xen-dir", ...vars], { env: glueEnv, cwd: work });
    const s = q.code === 0 ? await measure(ctx, `${label}-seabios`, "make", [j, "-C", path.join(tree, "tools", "firmware"), "seabios-dir", "subdir-all-seabios-dir", ...vars], { env: glueEnv, cwd: work }) : undefined;
    const sample = combine(s ? [q, s] : [q]);
    sample.activity = glueActivity(q.output, s?.output ?? "");
    if (!sample.ok) errors.push(`${label}: ${(s ?? q).argv.join(" ")} failed (exit ${(s ?? q).code}); log ${(s ?? q).log}`);
    return sample;
  };
  const runXqAll = async (label, tree, cache, extra = [], extraEnv = {}) => {
    // (the same, for `all`, with what the run did read from its output and logs)
    const before = xqLogSizes(tree);
    const r = await runXq(label, ["all", "-C", tree, j, ...extra], cache, extraEnv);
    const sample = combine([r]);
    sample.activity = xqActivity(tree, r.output, before);
    if (!sample.ok) errors.push(`${label}: xqbuild all failed (exit ${r.code}); log ${r.log}`);
    return sample;
  };

  const want = (x) => opts.only.has(x);
  const needGlueCold = want("a") || want("b") || want("c");
  const needXqCold = needGlueCold || want("e") || want("f") || want("h");
  // (h): the shared remote cache, the real nginx with WebDAV (as the tests run it), behind a
  // counting proxy of its own; (a)'s install (another runner) fills it.
  let remoteEnv = {};
  if (want("h")) {
    webdav = await startWebDav(path.join(work, "remote-cache"));
    webdavProxy = await startCountingProxy(await freePort(), webdav.port);
    remoteEnv = { XQBUILD_REMOTE_CACHE: `http://${HOST}:${webdavProxy.port}` };
    say(`remote cache: nginx WebDAV on ${webdav.url}, counting proxy on ${remoteEnv.XQBUILD_REMOTE_CACHE}`);
  }
  const figures = {};
  const state = { glueTree: undefined, xqTree: undefined, xqCache: undefined };

  // (a) cold builds, (e) from xqbuild's
  if (needGlueCold || needXqCold) {
    const glue = [];
    const ours = [];
    for (let i = 1; i <= opts.coldRuns; i++) {
      const order = i % 2 ? ["glue", "xqbuild"] : ["xqbuild", "glue"];
      for (const who of order) {
        if (who === "glue" && !needGlueCold) continue;
        if (who === "glue") {
          if (state.glueTree) removeTree(state.glueTree);
          const tree = newTree(xenTree, path.join(work, `a${i}-glue`), "glue");
          settleDisk();
          const s = await runGlue(`a${i}-glue-cold`, tree);
          s.tree = tree;
          const built = builtOutputs(tree);
          if (s.ok && built.missing.length) {
            s.ok = false;
            errors.push(`a${i}-glue-cold: finished but ${built.missing.join(", ")} missing`);
          }
          s.ccacheInBuild = ccacheInBuild(tree);
          glue.push(s);
          state.glueTree = s.ok ? tree : undefined;
        } else {
          if (state.xqTree) removeTree(state.xqTree);
          const tree = newTree(xenTree, path.join(work, `a${i}-xqbuild`), "xqbuild");
          settleDisk();
          const cache = path.join(work, `cache-a${i}`);
          const s = await runXqAll(`a${i}-xqbuild-cold`, tree, cache);
          s.tree = tree;
          s.cacheDir = cache;
          const built = builtOutputs(tree);
          if (s.ok && built.missing.length) {
            s.ok = false;
            errors.push(`a${i}-xqbuild-cold: finished but ${built.missing.join(", ")} missing`);
          }
          if (s.ok && !built.missing.length) {
            // Not part of (a): install once, as a user would, which is what stores the build in the
            // artifact cache that (f) then finds (xqbuild stores artifacts at install, not at build).
            // With (h), this install is also the other runner that fills the shared remote cache.
            const inst = await runXq(`a${i}-xqbuild-install`, ["install", "-C", tree, j, "--destdir", path.join(work, `a${i}-destdir`)], cache, remoteEnv);
            s.install = { ok: inst.code === 0, wall: inst.wall, log: inst.log, destdir: path.join(work, `a${i}-destdir`) };
            if (inst.code !== 0) errors.push(`a${i}-xqbuild-install: failed (exit ${inst.code}); log ${inst.log}`);
          }
          s.ccacheInBuild = ccacheInBuild(tree) || fs.existsSync(path.join(tree, ".xqbuild", "ccache-bin")) || /^ccache: \d+ hits?|compiling through ccache/m.test(s.commands.map((c) => c.log).map((l) => fs.readFileSync(l, "utf8")).join("\n"));
          ours.push(s);
          state.xqTree = s.ok ? tree : undefined;
          state.xqCache = s.ok ? cache : state.xqCache;
        }
      }
    }
    figures.a = { xqbuild: summarize(ours), ...(glue.length ? { glue: summarize(glue) } : {}) };
    if ([...glue, ...ours].some((s) => s.ccacheInBuild)) observations.push("(a) **ccache was in use in a cold build** (build.ninja, or xqbuild's ccache lines) despite XQBUILD_CCACHE=0; CCACHE_DISABLE=1 should still have made it compile uncached: check");
    const gA = glue.find((s) => s.ok);
    const xA = ours.find((s) => s.ok);
    if (gA) observations.push(`(a) glue: ${describeActivity(gA.activity)}; ${gA.net.connections} connections, ${fmtBytes(gA.net.down)} received`);
    if (xA) observations.push(`(a) xqbuild: ${describeActivity(xA.activity)}; ${xA.net.connections} connections, ${fmtBytes(xA.net.down)} received; then (not counted in a) \`xqbuild install\` in ${xA.install ? xA.install.wall.toFixed(1) : "?"} s, which fills the artifact cache for (f)`);

    // (e): xqbuild's own CPU and peak RSS during its cold builds
    const e = ours
      .filter((s) => s.ok && s.xq)
      .map((s) => {
        const own = s.xq.user + s.xq.sys;
        const total = s.cpu ? s.cpu.user + s.cpu.sys : undefined;
        return { ownCpu: own, ownUser: s.xq.user, ownSys: s.xq.sys, totalCpu: total, fraction: total ? own / total : undefined, maxRssMb: s.xq.maxRssMb };
      });
    figures.e = {
      samples: e,
      median: { ownCpu: median(e.map((x) => x.ownCpu)), totalCpu: median(e.map((x) => x.totalCpu)), fraction: median(e.map((x) => x.fraction)), maxRssMb: median(e.map((x) => x.maxRssMb)) }
    };
  }

  // (b) rerun with nothing changed
  if (want("b")) {
    const glue = [];
    const ours = [];
    for (let i = 1; i <= opts.runs; i++) {
      const order = i % 2 ? ["glue", "xqbuild"] : ["xqbuild", "glue"];
      for (const who of order) {
        if (who === "glue" && state.glueTree) glue.push(await runGlue(`b${i}-glue-noop`, state.glueTree));
        if (who === "xqbuild" && state.xqTree) ours.push(await runXqAll(`b${i}-xqbuild-noop`, state.xqTree, state.xqCache));
      }
    }
    figures.b = { xqbuild: summarize(ours), glue: summarize(glue) };
    if (glue[0]) observations.push(`(b) glue: ${describeActivity(glue[0].activity)}`);
    if (ours[0]) observations.push(`(b) xqbuild: ${describeActivity(ours[0].activity)}; its own CPU ${ours[0].xq ? (ours[0].xq.user + ours[0].xq.sys).toFixed(2) : "?"} s of ${ours[0].cpu ? (ours[0].cpu.user + ours[0].cpu.sys).toFixed(2) : "?"} s`);
  }

  // (c) rerun after one more cflag: EXTRA_CFLAGS_QEMU_XEN=-DXQBENCH=<run> on both command lines
  if (want("c")) {
    const glue = [];
    const ours = [];
    for (let i = 1; i <= opts.coldRuns; i++) {
      const flag = `EXTRA_CFLAGS_QEMU_XEN=-DXQBENCH=${i}`;
      const check = (tree) => ({
        inConfigStatus: fileHas(path.join(tree, "tools", "qemu-xen-build", "config.status"), `-DXQBENCH=${i}`),
        inBuildNinja: fileHas(path.join(tree, "tools", "qemu-xen-build", "build.ninja"), `-DXQBENCH=${i}`)
      });
      const order = i % 2 ? ["glue", "xqbuild"] : ["xqbuild", "glue"];
      for (const who of order) {
        if (who === "glue" && state.glueTree) {
          const s = await runGlue(`c${i}-glue-cflag`, state.glueTree, [flag]);
          s.flag = check(state.glueTree);
          glue.push(s);
        }
        if (who === "xqbuild" && state.xqTree) {
          const s = await runXqAll(`c${i}-xqbuild-cflag`, state.xqTree, state.xqCache, [flag]);
          s.flag = check(state.xqTree);
          ours.push(s);
        }
      }
    }
    figures.c = { xqbuild: summarize(ours), glue: summarize(glue) };
    const flagText = (s) => `-DXQBENCH in config.status: ${s.flag.inConfigStatus ? "yes" : "**no**"}, in build.ninja: ${s.flag.inBuildNinja ? "yes" : "**no**"}`;
    if (glue[0]) observations.push(`(c) glue (the same two makes with \`EXTRA_CFLAGS_QEMU_XEN=-DXQBENCH=1\`; no force-update, build dir kept): ${describeActivity(glue[0].activity)}; ${flagText(glue[0])}`);
    if (ours[0]) observations.push(`(c) xqbuild (\`xqbuild all EXTRA_CFLAGS_QEMU_XEN=-DXQBENCH=1\`): ${describeActivity(ours[0].activity)}; ${flagText(ours[0])}`);
  }

  // (d) fetch into a second tree: xqbuild shares the first tree's cache; the glue clones again
  if (want("d")) {
    let cache = state.xqCache;
    if (!cache) {
      cache = path.join(work, "cache-d");
      const prime = newTree(xenTree, path.join(work, "d0-prime"), "xqbuild");
      say("(d) no cold build ran: filling the mirror cache with an unmeasured xqbuild fetch");
      const r = await runXq("d0-xqbuild-prime", ["fetch", "-C", prime, j], cache);
      if (r.code !== 0) errors.push(`d0-xqbuild-prime: xqbuild fetch failed; log ${r.log}`);
      removeTree(prime);
    }
    const modules = (() => {
      const mak = state.glueTree ? path.join(state.glueTree, "tools", "qemu-xen-build", "config-host.mak") : undefined;
      const m = mak && fs.existsSync(mak) ? /^GIT_SUBMODULES=(.*)$/m.exec(fs.readFileSync(mak, "utf8")) : undefined;
      return m ? m[1].trim() : QEMU_CONFIGURE_SUBMODULES;
    })();
    const glue = [];
    const ours = [];
    // The floor under any fetch into a new tree: writing the same work-tree files (both trees,
    // submodules included, no .git) with GNU tar, from an uncompressed archive just written (so in
    // the page cache).
    const floor = [];
    const archive = path.join(work, "d-worktrees.tar");
    const worktrees = ["tools/qemu-xen-dir-remote", "tools/firmware/seabios-dir-remote"];
    for (let i = 1; i <= opts.runs; i++) {
      const order = i % 2 ? ["glue", "xqbuild"] : ["xqbuild", "glue"];
      for (const who of order) {
        const tree = newTree(xenTree, path.join(work, `d${i}-${who}`), who);
        settleDisk();
        if (who === "glue") {
          // the glue's fetch: its clone targets, then the submodules QEMU's configure would fetch
          const parts = [];
          parts.push(await measure(ctx, `d${i}-glue-qemu-xen-dir`, "make", [j, "-C", path.join(tree, "tools"), "qemu-xen-dir-find"], { env: glueEnv, cwd: work }));
          parts.push(await measure(ctx, `d${i}-glue-seabios-dir`, "make", [j, "-C", path.join(tree, "tools", "firmware"), "seabios-dir"], { env: glueEnv, cwd: work }));
          const qemuDir = path.join(tree, "tools", "qemu-xen-dir");
          parts.push(
            rel.wraps
              ? // QEMU 10's configure has meson download the wraps during `meson setup`; the host's
                // meson downloads the same ones, from the same wrap files, the same way (git, depth 1).
                await measure(ctx, `d${i}-glue-wraps`, "meson", ["subprojects", "download", ...rel.wraps], { env: glueEnv, cwd: qemuDir })
              : await measure(ctx, `d${i}-glue-submodules`, "scripts/git-submodule.sh", ["update", modules], { env: { ...glueEnv, GIT: "git" }, cwd: qemuDir })
          );
          const s = combine(parts);
          if (!s.ok) errors.push(`d${i}-glue: a fetch command failed; logs ${parts.map((p) => p.log).join(", ")}`);
          glue.push(s);
        } else {
          const r = await runXq(`d${i}-xqbuild-fetch`, ["fetch", "-C", tree, j], cache);
          const s = combine([r]);
          if (!s.ok) errors.push(`d${i}-xqbuild-fetch: failed (exit ${r.code}); log ${r.log}`);
          ours.push(s);
          if (s.ok && !fs.existsSync(archive)) execFileSync("tar", ["-C", tree, "--exclude=.git", "-cf", archive, ...worktrees]);
        }
      }
      if (fs.existsSync(archive)) {
        const dest = path.join(work, `d${i}-floor`);
        fs.mkdirSync(dest, { recursive: true });
        settleDisk();
        const r = await measure(ctx, `d${i}-floor-tar-x`, "tar", ["-C", dest, "-xf", archive], { env, cwd: work });
        const s = combine([r]);
        if (!s.ok) errors.push(`d${i}-floor: tar -x failed; log ${r.log}`);
        floor.push(s);
      }
    }
    // The trees go with the work directory at the very end: deleting 1.8 GB here slowed (f) from
    // 3 s to 9-14 s (this disk gives deleted blocks back for seconds after).
    figures.d = { xqbuild: summarize(ours), glue: summarize(glue), floor: summarize(floor), submodules: modules };
    const x = ours.find((s) => s.ok);
    const g = glue.find((s) => s.ok);
    const glueFetch = rel.wraps
      ? `\`meson subprojects download ${rel.wraps.join(" ")}\` with the host's meson (the wraps QEMU's configure has meson download)`
      : `\`scripts/git-submodule.sh update ${modules}\` (what QEMU's configure fetches)`;
    if (g) observations.push(`(d) glue: qemu-xen-dir-find + seabios-dir + ${glueFetch}: ${g.net.connections} connections, ${fmtBytes(g.net.down)} received`);
    if (x) observations.push(`(d) xqbuild fetch with the first tree's mirror cache: ${x.net.connections} connections, ${fmtBytes(x.net.down)} received`);
    if (fs.existsSync(archive)) {
      const size = fs.statSync(archive).size;
      const files = execFileSync("tar", ["-tf", archive], { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n").filter((l) => l && !l.endsWith("/")).length;
      observations.push(`(d) floor: \`tar -x\` of the work-tree files the fetch writes (${worktrees.join(", ")}, submodules and wraps included, no .git): ${files} files, a ${fmtBytes(size)} archive in memory`);
    }
  }

  // (f) a fresh tree sharing the cache of an earlier build: all, then install
  if (want("f") && state.xqCache) {
    const ours = [];
    let runs = opts.runs;
    for (let i = 1; i <= runs; i++) {
      const tree = newTree(xenTree, path.join(work, `f${i}-xqbuild`), "xqbuild");
      settleDisk();
      const all = await runXqAll(`f${i}-xqbuild-all`, tree, state.xqCache);
      let sample = all;
      if (all.ok) {
        const inst = await runXq(`f${i}-xqbuild-install`, ["install", "-C", tree, j, "--destdir", path.join(work, `f${i}-destdir`)], state.xqCache);
        if (inst.code !== 0) errors.push(`f${i}-xqbuild-install: failed (exit ${inst.code}); log ${inst.log}`);
        sample = combine([...all.commands.map((c) => ({ ...c, output: "" })), inst]);
        sample.activity = all.activity;
        sample.allWall = all.wall;
        sample.installWall = inst.wall;
      }
      ours.push(sample);
      // Kept until the work directory goes: the deletion of one (f) tree slowed the next sample
      // from 4 s to 9 s.
      // While the artifact cache misses, each sample is a full build: count it as a cold run.
      if (i === 1 && sample.wall > 60 && runs > opts.coldRuns) {
        say(`(f) took ${sample.wall.toFixed(0)} s (a rebuild, not a cache hit): ${opts.coldRuns} sample(s) only, as for the cold builds`);
        runs = opts.coldRuns;
      }
    }
    figures.f = { xqbuild: summarize(ours) };
    const x = ours[0];
    if (x?.activity) observations.push(`(f) xqbuild in a fresh tree with the warm cache: ${describeActivity(x.activity)}${x.installWall !== undefined ? `; install ${x.installWall.toFixed(1)} s` : ""}`);
  }
  // (g) moving to the next stable point release: both tools build the first release in a fresh tree
  // (not measured), .config then names the next, and each tool moves and rebuilds as its user
  // would: the glue `qemu-xen-dir-force-update` and `subdir-all-qemu-xen-dir`, xqbuild `update
  // qemu-xen` and `all qemu-xen`. Both trees are made at the same path, one after the other, so that
  // their installs (`subdir-install-qemu-xen-dir`, `install qemu-xen`) can be compared byte for byte.
  if (want("g") && !rel.move) {
    figures.g = { notMeasured: rel.noMove };
    observations.push(`(g) not measured for ${rel.release}: ${rel.noMove}`);
  } else if (want("g")) {
    const place = path.join(work, "g-tree");
    const fromCfg = dotConfig(proxyPort, rel.move.from, rel.seabios);
    const toCfg = dotConfig(proxyPort, rel.move.to, rel.seabios);
    const cache = path.join(work, "cache-g");
    // Without ccache, as in (a); --g-with-ccache runs xqbuild as its users have it where ccache is
    // installed ("auto"), with an empty private CCACHE_DIR that the base build fills.
    const ccacheEnv = opts.gCcache && ccachePath() ? { XQBUILD_CCACHE: "1", CCACHE_DISABLE: undefined, CCACHE_DIR: path.join(work, "ccache-g") } : {};
    const out = {};
    for (const who of ["glue", "xqbuild"]) {
      const t = newTree(xenTree, place, who, fromCfg);
      settleDisk();
      const base = who === "glue" ? await runGlue("g-glue-base", t) : await runXqAll("g-xqbuild-base", t, cache, [], ccacheEnv);
      if (!base.ok) {
        errors.push(`g-${who}-base: the build at ${rel.move.from} failed`);
        continue;
      }
      fs.writeFileSync(path.join(t, ".config"), toCfg);
      settleDisk();
      let move;
      if (who === "glue") {
        const up = await measure(ctx, "g-glue-force-update", "make", [j, "-C", path.join(t, "tools"), "qemu-xen-dir-force-update"], { env: glueEnv, cwd: work });
        const b = up.code === 0 ? await measure(ctx, "g-glue-rebuild", "make", [j, "-C", path.join(t, "tools"), "subdir-all-qemu-xen-dir"], { env: glueEnv, cwd: work }) : undefined;
        move = combine(b ? [up, b] : [up]);
        move.activity = glueActivity(b?.output ?? "", "");
      } else {
        const up = await runXq("g-xqbuild-update", ["update", "qemu-xen", "-C", t, j], cache, ccacheEnv);
        const before = xqLogSizes(t);
        const b = up.code === 0 ? await runXq("g-xqbuild-rebuild", ["all", "qemu-xen", "-C", t, j], cache, ccacheEnv) : undefined;
        move = combine(b ? [up, b] : [up]);
        if (b) move.activity = xqActivity(t, b.output, before);
        move.ccache = b ? (/^ccache: .*$/m.exec(b.output)?.[0] ?? (ccacheEnv.XQBUILD_CCACHE ? "ccache: no summary line" : "ccache off")) : undefined;
      }
      if (!move.ok) errors.push(`g-${who}: the move to ${rel.move.to} failed; logs ${move.commands.map((c) => c.log).join(", ")}`);
      const head = spawnSync("git", ["-C", path.join(t, "tools", "qemu-xen-dir-remote"), "rev-parse", "HEAD"], { encoding: "utf8", env }).stdout.trim();
      move.movedTo = head;
      // The installs, not measured: what the move gave.
      const dest = path.join(work, `g-${who}-destdir`);
      const inst =
        who === "glue"
          ? await measure(ctx, "g-glue-install", "make", [j, "-C", path.join(t, "tools"), "subdir-install-qemu-xen-dir", `DESTDIR=${dest}`], { env: glueEnv, cwd: work })
          : await runXq("g-xqbuild-install", ["install", "qemu-xen", "-C", t, j, "--destdir", dest], cache, ccacheEnv);
      if (inst.code !== 0) errors.push(`g-${who}-install: failed (exit ${inst.code}); log ${inst.log}`);
      const version = spawnSync(path.join(t, "tools", "qemu-xen-build", "qemu-system-i386"), ["-version"], { encoding: "utf8", env }).stdout.split("\n")[0];
      out[who] = { ...move, version, destdir: inst.code === 0 ? dest : undefined };
      // The next tool's tree takes this place; this one is kept (moved aside) until the end.
      if (who === "glue") fs.renameSync(place, `${place}-glue`);
    }
    const x = out.xqbuild;
    const g = out.glue;
    let same;
    if (x?.destdir && g?.destdir) {
      const ours = installedFiles(x.destdir);
      const theirs = installedFiles(g.destdir);
      const names = [...new Set([...ours.keys(), ...theirs.keys()])].sort();
      const differ = names.filter((f) => ours.get(f) !== theirs.get(f));
      same = { files: theirs.size, ours: ours.size, differ: differ.slice(0, 20), differCount: differ.length };
    }
    figures.g = { what: rel.move.what, xqbuild: summarize(x ? [x] : []), glue: summarize(g ? [g] : []), installed: same };
    if (g) observations.push(`(g) glue (\`qemu-xen-dir-force-update\`, then \`subdir-all-qemu-xen-dir\`), ${rel.move.what}: ${describeActivity(g.activity)}; now ${g.version}`);
    if (x) observations.push(`(g) xqbuild (\`update qemu-xen\`, then \`all qemu-xen\`${ccacheEnv.XQBUILD_CCACHE ? ", with its default ccache: a private CCACHE_DIR the base build filled" : ", ccache off"}): ${describeActivity(x.activity)}; ${x.ccache ?? ""}; now ${x.version}`);
    if (g && x && g.movedTo !== x.movedTo) errors.push(`(g) the tools moved to different commits: glue ${g.movedTo}, xqbuild ${x.movedTo}`);
    if (same) {
      const text = same.differCount === 0 ? `identical: ${same.files} files, byte for byte` : `**${same.differCount} differ** (${same.differ.join(", ")}); the glue installed ${same.files} files, xqbuild ${same.ours}`;
      observations.push(`(g) installed files after the move (both trees built at ${place}): ${text}`);
    }
  }

  // (h) a fresh CI runner: an empty tree and empty local caches (mirrors, artifacts), the shared
  // remote cache warm from (a)'s install: all, then install; with the bytes it received from the
  // git server and from the remote cache.
  if (want("h") && state.xqCache && webdavProxy) {
    const ours = [];
    let runs = opts.runs;
    for (let i = 1; i <= runs; i++) {
      const t = newTree(xenTree, path.join(work, `h${i}-xqbuild`), "xqbuild");
      const cache = path.join(work, `cache-h${i}`);
      settleDisk();
      const r0 = webdavProxy.snapshot();
      const all = await runXqAll(`h${i}-xqbuild-all`, t, cache, [], remoteEnv);
      let sample = all;
      const dest = path.join(work, `h${i}-destdir`);
      if (all.ok) {
        const inst = await runXq(`h${i}-xqbuild-install`, ["install", "-C", t, j, "--destdir", dest], cache, remoteEnv);
        if (inst.code !== 0) errors.push(`h${i}-xqbuild-install: failed (exit ${inst.code}); log ${inst.log}`);
        sample = combine([...all.commands.map((c) => ({ ...c, output: "" })), inst]);
        sample.activity = all.activity;
        sample.allWall = all.wall;
        sample.installWall = inst.wall;
        sample.restored = /\[[a-z-]+ install\] .*restor|in the artifact cache/.test(inst.output + all.commands.map((c) => fs.readFileSync(c.log, "utf8")).join(""));
      }
      const r1 = webdavProxy.snapshot();
      sample.remote = { connections: r1.connections - r0.connections, down: r1.down - r0.down, up: r1.up - r0.up };
      // What (a)'s runner installed, byte for byte?
      const a = figures.a?.xqbuild?.samples?.find((s) => s.install?.ok)?.install?.destdir;
      if (a && fs.existsSync(dest)) {
        const mine = installedFiles(dest);
        const theirs = installedFiles(a);
        sample.sameAsA = mine.size === theirs.size && [...theirs].every(([f, v]) => mine.get(f) === v);
        sample.installedFiles = mine.size;
      }
      ours.push(sample);
      if (i === 1 && sample.wall > 60 && runs > opts.coldRuns) {
        say(`(h) took ${sample.wall.toFixed(0)} s (a rebuild, not a cache hit): ${opts.coldRuns} sample(s) only`);
        runs = opts.coldRuns;
      }
    }
    figures.h = { xqbuild: summarize(ours, { remoteBytes: median(ours.filter((s) => s.ok).map((s) => s.remote.down)) }) };
    const x = ours[0];
    if (x) {
      observations.push(
        `(h) xqbuild on a fresh runner (empty tree, empty XQBUILD_CACHE_DIR, XQBUILD_REMOTE_CACHE warm from (a)'s install): ${describeActivity(x.activity)}; ` +
          `${fmtBytes(x.net.down)} from the git server (${x.net.connections} connections), ${fmtBytes(x.remote.down)} from the remote cache (${x.remote.connections} connections)` +
          `${x.installWall !== undefined ? `; all ${x.allWall.toFixed(1)} s, install ${x.installWall.toFixed(1)} s` : ""}` +
          `${x.sameAsA === undefined ? "" : x.sameAsA ? `; the ${x.installedFiles} installed files are (a)'s, byte for byte` : "; **the installed files differ from (a)'s**"}`
      );
    }
  }
  return { rel, sources, xenbits, xq, compilers, figures };
}

let outcome;
let failed = false;
const loadStart = os.loadavg();
try {
  outcome = await main();
} catch (e) {
  failed = true;
  errors.push(`bench: ${e instanceof Error ? e.message : String(e)}`);
  say(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  await shutdown();
}

const finishedAt = new Date();
const results = {
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  durationMin: (finishedAt - startedAt) / 60000,
  options: { release: opts.release, gCcache: opts.gCcache, runs: opts.runs, coldRuns: opts.coldRuns, only: [...opts.only], jobs: opts.jobs },
  machine: machineInfo(cleanEnv()),
  compilers: outcome?.compilers,
  load: { start: loadStart, end: os.loadavg() },
  xqbuild: { version: outcome?.xq?.version, commit: outcome?.xq?.commit, dirty: outcome?.xq?.dirty },
  sources: {
    xenTree: outcome?.sources?.xenTree,
    xenVersion: outcome?.sources?.xenVersion,
    release: opts.release,
    title: outcome?.rel?.title,
    qemuTag: outcome?.rel?.qemu?.revision,
    qemuCommit: outcome?.rel?.qemu?.commit,
    qemuVersion: outcome?.rel?.qemu?.version,
    seabiosRevision: outcome?.rel?.seabios
  },
  workdir: work,
  figures: outcome?.figures ?? {},
  observations,
  errors
};
fs.mkdirSync(RESULTS, { recursive: true });
const gi = path.join(RESULTS, ".gitignore");
if (!fs.existsSync(gi)) fs.writeFileSync(gi, "*\n!.gitignore\n");
const jsonFile = path.join(RESULTS, `${stamp}.json`);
const mdFile = path.join(RESULTS, `${stamp}.md`);
fs.writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
const md = markdown(results);
fs.writeFileSync(mdFile, md);
process.stdout.write(`\n${md}\n`);
say(`results: ${jsonFile} and ${mdFile}`);
const keep = opts.keep || failed || errors.length > 0;
if (keep) say(`work directory kept: ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
process.exit(failed || errors.length ? 1 : 0);
