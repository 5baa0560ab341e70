#!/usr/bin/env node
// npm run bench — xqbuild against Xen 4.17's real make glue, on the same work, side by side.
//
//   npm run bench [-- --runs N] [--cold-runs N] [--only a,b,...] [--jobs N] [--workdir DIR] [--keep]
//
// Both tools fetch the real QEMU 7.2 (as qemu-xen, with its submodules) and SeaBIOS from the fake
// xenbits of the e2e test (test/e2e/fake-xenbits.mjs), served by `git daemon` on loopback behind a
// counting TCP proxy, into fresh copies of the real, configured Xen 4.17 tree (scripts/real-sources.mjs).
// The glue is Xen's own make: `make -jN -C tools subdir-all-qemu-xen-dir` and `make -jN -C
// tools/firmware seabios-dir subdir-all-seabios-dir`; xqbuild is a snapshot of dist/ taken at the
// start (so a rebuild of dist/ meanwhile does not change the tool under test), run as
// `node dist/src/cli.js all -jN` with a preloaded hook that records its own CPU and peak RSS.
//
// Figures (see README.md, "## Benchmark"):
//   (a) cold build, fresh tree, empty caches        (d) fetch into a second tree: time and bytes
//   (b) rerun with nothing changed                  (e) xqbuild's own CPU and peak RSS in (a)
//   (c) rerun after one more cflag                  (f) fresh tree sharing the cache: all + install
// Results: bench/results/<timestamp>.json (every sample) and .md (the table, also printed).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureFakeXenbits, realSourcesAll } from "../test/e2e/fake-xenbits.mjs";
import { HOST, freePort, startCountingProxy, startGitDaemon } from "./lib/net.mjs";
import { cleanEnv, combine, haveGnuTime, killRunning, measure, resolveCompilers, writeCpuHook } from "./lib/proc.mjs";
import { fmtBytes, machineInfo, markdown, median } from "./lib/report.mjs";
import { builtOutputs, ccacheInBuild, dotConfig, fileHas, freshTree, glueActivity, removeTree, settleDisk, xqActivity, xqLogSizes } from "./lib/tree.mjs";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const RESULTS = path.join(REPO_ROOT, "bench", "results");
const FIGURES = ["a", "b", "c", "d", "e", "f"];
/** QEMU 7.2's configure asks git-submodule.sh for these (the glue's submodule fetch, figure d). */
const QEMU_CONFIGURE_SUBMODULES = "ui/keycodemapdb meson tests/fp/berkeley-testfloat-3 tests/fp/berkeley-softfloat-3 dtc";

const USAGE = `usage: node bench/run.mjs [options]        (npm run bench [-- options])

  --runs N        samples of the cheap figures (b, d; f when it hits the cache), default 3
  --cold-runs N   samples of the full builds (a, c; f while it rebuilds), default 1 (~5 min each per tool)
  --only LIST     figures to run, e.g. --only b,d (a cold build of each tool is still done when
                  b, c, e or f need one; d alone fills the mirror cache with an unmeasured fetch)
  --jobs N        the parallelism given to both tools (xqbuild -jN, make -jN), default 2
  --workdir DIR   where the trees go (default: a new directory under ${os.tmpdir()}; ~4 GB)
  --keep          keep the work directory (it is also kept when something failed)
`;

function parseArgs(argv) {
  const o = { runs: 3, coldRuns: 1, only: new Set(FIGURES), jobs: 2, workdir: undefined, keep: false };
  const num = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, not ${v ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--runs") o.runs = num(flag, value());
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

async function shutdown() {
  if (proxy) await proxy.close();
  if (daemon) await daemon.stop();
  proxy = undefined;
  daemon = undefined;
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
  const dist = path.join(REPO_ROOT, "dist", "src", "cli.js");
  if (!fs.existsSync(dist)) throw new Error("dist/src/cli.js is missing: run `npm run build` (npm run bench does)");
  const own = path.join(work, "xqbuild");
  fs.mkdirSync(own, { recursive: true });
  execFileSync("cp", ["-a", path.join(REPO_ROOT, "dist"), path.join(own, "dist")]);
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(own, "package.json"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(own, "node_modules"));
  const cli = path.join(own, "dist", "src", "cli.js");
  const version = spawnSync(process.execPath, [cli, "--version"], { encoding: "utf8" }).stdout.trim().replace(/^xqbuild /, "");
  const git = (args) => spawnSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" }).stdout.trim();
  return { cli, version, commit: git(["rev-parse", "HEAD"]) || undefined, dirty: git(["status", "--porcelain", "--", "src", "recipes"]) !== "" };
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

async function main() {
  say(`work directory: ${work} (progress: ${progressLog})`);
  const env = cleanEnv();
  const compilers = resolveCompilers(env);
  const viaCcache = Object.entries(compilers).filter(([, p]) => /ccache/.test(p));
  if (viaCcache.length) throw new Error(`these compilers resolve to ccache on the cleaned PATH: ${viaCcache.map(([n, p]) => `${n} → ${p}`).join(", ")}`);
  const gnuTime = haveGnuTime();
  if (!gnuTime) say("warning: /usr/bin/time (Debian package `time`) is missing: no CPU totals, so no figure (e) fraction");

  say("the real sources and the fake xenbits (node scripts/real-sources.mjs --all; cached)");
  const sources = realSourcesAll();
  const xenbits = ensureFakeXenbits(sources);
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
  const cfg = dotConfig(proxyPort, xenbits);
  const ctx = { proxy, logDir, hookDir: undefined, counter: { n: 1 }, gnuTime, say };
  const xqCtx = { ...ctx, hookDir };

  const j = `-j${opts.jobs}`;
  const runXq = (label, args, cache, cwd) =>
    measure(xqCtx, label, process.execPath, ["--import", pathToFileURL(hook).href, xq.cli, ...args], { env: { ...env, XQBUILD_CACHE_DIR: cache, XQBUILD_CCACHE: "0" }, cwd: cwd ?? work });
  /** The glue's two make commands (qemu-xen, then SeaBIOS), as one sample. */
  const runGlue = async (label, tree, vars = []) => {
    const q = await measure(ctx, `${label}-qemu`, "make", [j, "-C", path.join(tree, "tools"), "subdir-all-qemu-xen-dir", ...vars], { env, cwd: work });
    const s = q.code === 0 ? await measure(ctx, `${label}-seabios`, "make", [j, "-C", path.join(tree, "tools", "firmware"), "seabios-dir", "subdir-all-seabios-dir", ...vars], { env, cwd: work }) : undefined;
    const sample = combine(s ? [q, s] : [q]);
    sample.activity = glueActivity(q.output, s?.output ?? "");
    if (!sample.ok) errors.push(`${label}: ${(s ?? q).argv.join(" ")} failed (exit ${(s ?? q).code}); log ${(s ?? q).log}`);
    return sample;
  };
  const runXqAll = async (label, tree, cache, extra = []) => {
    const before = xqLogSizes(tree);
    const r = await runXq(label, ["all", "-C", tree, j, ...extra], cache);
    const sample = combine([r]);
    sample.activity = xqActivity(tree, r.output, before);
    if (!sample.ok) errors.push(`${label}: xqbuild all failed (exit ${r.code}); log ${r.log}`);
    return sample;
  };

  const want = (x) => opts.only.has(x);
  const needGlueCold = want("a") || want("b") || want("c");
  const needXqCold = needGlueCold || want("e") || want("f");
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
          const tree = freshTree(xenTree, path.join(work, `a${i}-glue`), cfg);
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
          const tree = freshTree(xenTree, path.join(work, `a${i}-xqbuild`), cfg);
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
            const inst = await runXq(`a${i}-xqbuild-install`, ["install", "-C", tree, j, "--destdir", path.join(work, `a${i}-destdir`)], cache);
            s.install = { ok: inst.code === 0, wall: inst.wall, log: inst.log };
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
      const prime = freshTree(xenTree, path.join(work, "d0-prime"), cfg);
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
    const sources = ["tools/qemu-xen-dir-remote", "tools/firmware/seabios-dir-remote"];
    for (let i = 1; i <= opts.runs; i++) {
      const order = i % 2 ? ["glue", "xqbuild"] : ["xqbuild", "glue"];
      for (const who of order) {
        const tree = freshTree(xenTree, path.join(work, `d${i}-${who}`), cfg);
        settleDisk();
        if (who === "glue") {
          // the glue's fetch: its clone targets, then the submodules QEMU's configure would fetch
          const parts = [];
          parts.push(await measure(ctx, `d${i}-glue-qemu-xen-dir`, "make", [j, "-C", path.join(tree, "tools"), "qemu-xen-dir-find"], { env, cwd: work }));
          parts.push(await measure(ctx, `d${i}-glue-seabios-dir`, "make", [j, "-C", path.join(tree, "tools", "firmware"), "seabios-dir"], { env, cwd: work }));
          parts.push(
            await measure(ctx, `d${i}-glue-submodules`, "scripts/git-submodule.sh", ["update", modules], { env: { ...env, GIT: "git" }, cwd: path.join(tree, "tools", "qemu-xen-dir") })
          );
          const s = combine(parts);
          if (!s.ok) errors.push(`d${i}-glue: a fetch command failed; logs ${parts.map((p) => p.log).join(", ")}`);
          glue.push(s);
        } else {
          const r = await runXq(`d${i}-xqbuild-fetch`, ["fetch", "-C", tree, j], cache);
          const s = combine([r]);
          if (!s.ok) errors.push(`d${i}-xqbuild-fetch: failed (exit ${r.code}); log ${r.log}`);
          ours.push(s);
          if (s.ok && !fs.existsSync(archive)) execFileSync("tar", ["-C", tree, "--exclude=.git", "-cf", archive, ...sources]);
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
    if (g) observations.push(`(d) glue: qemu-xen-dir-find + seabios-dir + \`scripts/git-submodule.sh update ${modules}\` (what QEMU's configure fetches): ${g.net.connections} connections, ${fmtBytes(g.net.down)} received`);
    if (x) observations.push(`(d) xqbuild fetch with the first tree's mirror cache: ${x.net.connections} connections, ${fmtBytes(x.net.down)} received`);
    if (fs.existsSync(archive)) {
      const size = fs.statSync(archive).size;
      const files = execFileSync("tar", ["-tf", archive], { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n").filter((l) => l && !l.endsWith("/")).length;
      observations.push(`(d) floor: \`tar -x\` of the work-tree files the fetch writes (${sources.join(", ")}, submodules included, no .git): ${files} files, a ${fmtBytes(size)} archive in memory`);
    }
  }

  // (f) a fresh tree sharing the cache of an earlier build: all, then install
  if (want("f") && state.xqCache) {
    const ours = [];
    let runs = opts.runs;
    for (let i = 1; i <= runs; i++) {
      const tree = freshTree(xenTree, path.join(work, `f${i}-xqbuild`), cfg);
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
  return { sources, xenbits, xq, compilers, figures };
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
  options: { runs: opts.runs, coldRuns: opts.coldRuns, only: [...opts.only], jobs: opts.jobs },
  machine: machineInfo(cleanEnv()),
  compilers: outcome?.compilers,
  load: { start: loadStart, end: os.loadavg() },
  xqbuild: { version: outcome?.xq?.version, commit: outcome?.xq?.commit, dirty: outcome?.xq?.dirty },
  sources: {
    xenTree: outcome?.sources?.xenTree,
    xenVersion: outcome?.sources?.xenVersion,
    qemuTag: outcome?.xenbits?.qemu?.tag,
    qemuCommit: outcome?.xenbits?.qemu?.commit,
    seabiosRevision: "rel-1.16.0"
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
