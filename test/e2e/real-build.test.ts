// The real end-to-end test: xqbuild fetches QEMU 7.2 (as qemu-xen) and SeaBIOS 1.16.2 from a fake
// xenbits served by `git daemon` on loopback, configures, builds and installs them in a copy of the
// real Xen 4.17 tree, then shows that a second run does nothing, and that a second tree sharing the
// cache configures with the server gone.
//
//   npm run test:e2e          (vitest.e2e.config.ts; about 8 minutes on 2 cores, the QEMU build
//                              being 6 of them; the Debian sources and the fake xenbits add about
//                              40 s the first time, and are cached)
//
// Needs root on a fresh machine (apt-get install of the build dependencies, apt-get source).
// The steps share state and run in order; each prints its timing, and a table comes at the end.
// Step (j) builds twice more, with reproducible: true in two trees at other paths: the second
// build's compiles are ccache hits (base_dir), and so are the first's once ccache has seen them.
// XQBUILD_E2E_KEEP=1 keeps the work directory (printed at the start); it is also kept on failure.
// XQBUILD_E2E_WORKDIR: where the work directory is made (default: the system's temporary directory;
//   it needs about 1.5 GB). XQBUILD_E2E_CACHE: the cache of Debian sources and the fake xenbits
//   (default ~/.cache/xqbuild-e2e). XQBUILD_E2E_QEMU_PATCHES=series: see fake-xenbits.mjs.
import { spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canConnect, freePort, startHttpGit } from "../support/servers.js";
import { copyXenTree } from "../support/xen-tree.js";
import { shellQuote } from "../../src/report/output.js";
import {
  BUILD_DEPS, HOST, REPO_ROOT, buildOwnXqbuild, childEnv, configStatus, ensureDebianPackages, explain, installedFiles, journal, mtimes,
  reportTimings, runGlueUntilBuild, runLogged, say, stageSeconds, startDaemon, startTrap, stopProcess, time, when, type Ran,
} from "./support.js";

/** xqbuild as built for this run (see step d): <work>/xqbuild/dist/src/cli/main.js */
let cli = "";


interface RealSourcesAll {
  cache: string;
  xenTree: string;
  qemuSource: string;
  seabiosSource: string;
  mesonSource: string;
}

interface FakeXenbits {
  dir: string;
  qemu: {
    tag: string;
    branch: string;
    commit: string;
    patches: string[];
    submodules: { path: string; commit: string }[];
    unpatched: { tag: string; commit: string };
    series: { branch: string; commit: string; tree: string; patches: string[] };
  };
  seabios: { tags: Record<string, string> };
}

let work = "";
let keep = process.env["XQBUILD_E2E_KEEP"] === "1";
/** How many of the STEPS tests below ran to their end. */
let completed = 0;
const STEPS = 10;
let sources: RealSourcesAll;
/** Stops this file's git daemon (step c's), if it still runs. */
async function stopDaemon(): Promise<void> {
  const child = daemon;
  daemon = undefined;
  await stopProcess(child);
}

let xenbits: FakeXenbits;
let daemon: ChildProcess | undefined;
let port = 0;
let cacheDir = "";
let tree1 = "";
let tree2 = "";
let destdir = "";

function xqbuild(args: readonly string[], logName: string): Promise<Ran> {
  return runLogged(process.execPath, [cli, ...args], {
    logFile: path.join(work, `${logName}.log`),
    env: childEnv({ XQBUILD_CACHE_DIR: cacheDir })
  });
}

/** A run step of `plan --json` with what it resolves to (src/engine/explain.ts: ExplainedRun). */
interface PlannedRun {
  cwd: string;
  argv: string[];
  jobsFlag?: boolean;
  name?: string;
}
interface PlannedComponent {
  name: string;
  stages: Array<{ name: string; kind: string; runs?: PlannedRun }>;
  cache?: { stagingInstall?: Array<{ name: string; kind: string; runs?: PlannedRun }> };
}

/** The line runCommand writes at the head of a step's log for this resolved command ("$ cd DIR && ARGV", -jN after argv[0]). */
function loggedLine(r: PlannedRun | undefined, jobs?: string): string {
  if (!r) return "(no resolved command in the plan)";
  const argv = r.jobsFlag && jobs ? [r.argv[0] ?? "", jobs, ...r.argv.slice(1)] : r.argv;
  return `$ cd ${shellQuote(r.cwd)} && ${argv.map(shellQuote).join(" ")}`;
}

function writeDotConfig(tree: string): void {
  const lines = [
    "# xqbuild end-to-end test: the fake xenbits on loopback, over git:// (Xen 4.17's default protocol)",
    `QEMU_UPSTREAM_URL = git://${HOST}:${port}/qemu-xen.git`,
    `SEABIOS_UPSTREAM_URL = git://${HOST}:${port}/seabios.git`,
    // Xen 4.17's own defaults (Config.mk), spelled out.
    `QEMU_UPSTREAM_REVISION = ${xenbits.qemu.tag}`,
    "SEABIOS_UPSTREAM_REVISION = rel-1.16.0"
  ];
  fs.writeFileSync(path.join(tree, ".config"), `${lines.join("\n")}\n`);
}

/** Skips a step when an earlier one did not get to its end (its failure is the one to read). */
function needSteps(ctx: { skip: (note?: string) => void }, n: number): void {
  if (completed < n) ctx.skip("an earlier step failed");
}

beforeAll(() => {
  const base = process.env["XQBUILD_E2E_WORKDIR"] ? path.resolve(process.env["XQBUILD_E2E_WORKDIR"]) : os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  work = fs.mkdtempSync(path.join(base, "xq-e2e-"));
  journal.progress = path.join(work, "progress.log");
  cacheDir = path.join(work, "xqbuild-cache");
  say(`work directory: ${work} (progress: ${journal.progress})`);
});

afterAll(async () => {
  await stopDaemon();
  reportTimings(work);
  // Kept for inspection when any step did not get to its end.
  if (completed < STEPS) keep = true;
  if (keep) say(`kept ${work}`);
  if (keep && completed >= 4 && tree1) {
    say(
      `built: ${path.join(tree1, "tools", "qemu-xen-build", "qemu-system-i386")} (QEMU with Xen support) and ` +
        `${path.join(tree1, "tools", "firmware", "seabios-dir", "out", "bios.bin")} (SeaBIOS); installed under ${destdir}`,
    );
  }
  else if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("xqbuild against the real QEMU and SeaBIOS, served by a fake xenbits", () => {
  it("(a) has the Debian build dependencies installed", () => {
    const started = Date.now();
    const installed = ensureDebianPackages(BUILD_DEPS);
    if (installed.length === 0) say("every build dependency is installed");
    time("apt (build dependencies)", (Date.now() - started) / 1000);
    completed++;
  }, 30 * 60_000);

  it("(b) has the Debian sources and the fake xenbits", async (ctx) => {
    needSteps(ctx, 1);
    const logFile = path.join(work, "sources.log");
    let r = await runLogged(process.execPath, [path.join(REPO_ROOT, "scripts", "real-sources.mjs"), "--all", "--print"], { logFile });
    expect(r.code, explain(r)).toBe(0);
    time("sources (real-sources --all)", r.seconds);
    sources = JSON.parse(r.stdout) as RealSourcesAll;
    expect(sources.qemuSource && sources.seabiosSource && sources.mesonSource, "real-sources --all gave no QEMU/SeaBIOS/meson").toBeTruthy();

    r = await runLogged(process.execPath, [path.join(REPO_ROOT, "test", "e2e", "fake-xenbits.mjs"), "--print"], { logFile: path.join(work, "fake-xenbits.log") });
    expect(r.code, explain(r)).toBe(0);
    time("fake xenbits", r.seconds);
    xenbits = JSON.parse(r.stdout) as FakeXenbits;
    for (const repo of ["qemu-xen", "seabios", "meson", "keycodemapdb", "berkeley-softfloat-3", "berkeley-testfloat-3"]) {
      expect(fs.existsSync(path.join(xenbits.dir, `${repo}.git`)), repo).toBe(true);
    }
    expect(Object.keys(xenbits.seabios.tags).sort()).toEqual(["rel-1.16.0", "rel-1.16.2"]);
    completed++;
  }, 30 * 60_000);

  it("(c) serves the fake xenbits with git daemon on loopback", async (ctx) => {
    needSteps(ctx, 2);
    port = await freePort();
    daemon = await startDaemon(xenbits.dir, port, path.join(work, "git-daemon.log"));
    const r = await runLogged("git", ["ls-remote", `git://${HOST}:${port}/qemu-xen.git`], { logFile: path.join(work, "ls-remote.log") });
    expect(r.code, explain(r)).toBe(0);
    expect(r.output).toContain(`refs/tags/${xenbits.qemu.tag}^{}`);
    expect(r.output).toContain(`refs/heads/${xenbits.qemu.branch}`);
    completed++;
  }, 60_000);

  it("(d, e) xqbuild all builds qemu-xen and SeaBIOS in a copy of the real Xen tree, and installs them", async (ctx) => {
    needSteps(ctx, 3);
    cli = await buildOwnXqbuild(work);
    const version = await runLogged(process.execPath, [cli, "--version"], { logFile: path.join(work, "tsc.log") });
    expect(version.stdout.trim()).toMatch(/^xqbuild \d/);

    tree1 = copyXenTree(path.join(work, "xen-1"), { from: sources.xenTree });
    writeDotConfig(tree1);

    const all = await xqbuild(["all", "-C", tree1, "-j2"], "all-1");
    expect(all.code, explain(all)).toBe(0);
    const fetchDone = when(all, /^xqbuild all: /);
    if (fetchDone !== undefined) time("fetch (xqbuild all, until the build starts)", fetchDone);
    const cfg = stageSeconds(all, "qemu-xen", "configure");
    const build = stageSeconds(all, "qemu-xen", "build");
    const biosBuild = stageSeconds(all, "seabios", "build");
    if (cfg !== undefined) time("configure (qemu-xen)", cfg);
    if (build !== undefined) time("build (qemu-xen, ninja -j2)", build);
    if (biosBuild !== undefined) time("build (SeaBIOS, alongside)", biosBuild);
    time("xqbuild all, first run (wall)", all.seconds);
    // (the wording of these lines is xqbuild's; what matters is checked on disk below)
    expect(all.output).toMatch(/^qemu-xen: .*qemu-xen-4\.17\.3/m);
    expect(all.output).toMatch(/^seabios: .*rel-1\.16\.0/m);

    // The glue's layout, at the tagged commits, with QEMU's submodules checked out.
    const remote = path.join(tree1, "tools", "qemu-xen-dir-remote");
    expect(fs.readlinkSync(path.join(tree1, "tools", "qemu-xen-dir"))).toBe("qemu-xen-dir-remote");
    expect(fs.readlinkSync(path.join(tree1, "tools", "firmware", "seabios-dir"))).toBe("seabios-dir-remote");
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: remote, encoding: "utf8", env: childEnv() });
    expect(head.stdout.trim()).toBe(xenbits.qemu.commit);
    const subs = spawnSync("git", ["submodule", "status"], { cwd: remote, encoding: "utf8", env: childEnv() });
    for (const s of xenbits.qemu.submodules) expect(subs.stdout).toContain(` ${s.commit} ${s.path} `);

    // QEMU's configure used the system libfdt (no dtc submodule) and found every submodule.
    const configureLog = fs.readFileSync(path.join(tree1, ".xqbuild", "logs", "qemu-xen-configure.log"), "utf8");
    expect(configureLog).toMatch(/fdt support\s*:\s*system/);
    expect(configureLog).not.toMatch(/Unable to automatically checkout GIT submodules/);
    // The build ran ninja as QEMU's Makefile would, on the installed outputs only, with the job
    // slots it held; the source tree was left as checked out.
    const buildLog = fs.readFileSync(path.join(tree1, ".xqbuild", "logs", "qemu-xen-build.log"), "utf8");
    expect(buildLog.split("\n")[0]).toMatch(/ && \S*ninja -j2 -d keepdepfile .*\bqemu-system-i386\b/);
    expect(buildLog).not.toMatch(/Makefile\.mtest/);
    expect(all.output).toMatch(/^\[qemu-xen build\] started \(ninja -j2\)$/m);
    // The plan is what ran (issue 15, point 2): plan --json, asked now that the build directory is
    // configured, resolves the build to the very command line the executor logged when it ran it.
    const planned = await xqbuild(["plan", "qemu-xen", "-C", tree1, "--json"], "plan-after-build");
    expect(planned.code, explain(planned)).toBe(0);
    const qemuPlan = (JSON.parse(planned.stdout) as { components: PlannedComponent[] }).components.find((c) => c.name === "qemu-xen");
    const buildRuns = qemuPlan?.stages.find((st) => st.name === "build" && st.kind === "run")?.runs;
    expect(buildRuns?.name).toBe("ninja");
    expect(buildRuns?.jobsFlag).toBe(true);
    expect(buildLog.split("\n")[0]).toBe(loggedLine(buildRuns, "-j2"));
    const srcStatus = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: remote, encoding: "utf8", env: childEnv() });
    expect(srcStatus.stdout).toBe("");

    // qemu-system-i386 runs and has Xen's machine.
    const qemu = path.join(tree1, "tools", "qemu-xen-build", "qemu-system-i386");
    const help = spawnSync(qemu, ["-machine", "help"], { encoding: "utf8", env: childEnv() });
    expect(help.status, `${qemu} -machine help: ${help.stderr}`).toBe(0);
    expect(help.stdout).toMatch(/^xenfv\s/m);

    // SeaBIOS, with the glue's EXTRAVERSION=-Xen in its version string.
    const bios = path.join(tree1, "tools", "firmware", "seabios-dir", "out", "bios.bin");
    const biosText = fs.readFileSync(bios).toString("latin1");
    const biosVersion = /rel-1\.16\.[0-9][-.0-9a-z]*-Xen/.exec(biosText)?.[0];
    expect(biosVersion, "bios.bin holds no version string ending in -Xen").toBeDefined();
    say(`SeaBIOS version string: ${biosVersion ?? "?"}`);

    destdir = path.join(work, "destdir");
    const install = await xqbuild(["install", "-C", tree1, "-j2", "--destdir", destdir], "install");
    expect(install.code, explain(install)).toBe(0);
    time("install", install.seconds);
    // install goes through configure and build first: both were done by `all`.
    expect(install.output).toMatch(/^\[qemu-xen configure\] up to date$/m);
    expect(install.output).toMatch(/^\[qemu-xen build\] up to date$/m);
    expect(install.output).toMatch(/^\[seabios build\] up to date$/m);
    expect(fs.statSync(path.join(destdir, "usr/local/lib/xen/bin/qemu-system-i386")).isFile()).toBe(true);
    expect(fs.statSync(path.join(destdir, "usr/local/lib/xen/boot/seabios.bin")).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(destdir, "usr/local/lib/xen/boot/seabios.bin")).equals(fs.readFileSync(bios))).toBe(true);

    // xqbuild built only what is installed and ran meson install itself; the glue's way, `make
    // install` in the same build directory (which first builds all of `all`, tests included),
    // installs exactly the same files, byte for byte.
    const destMake = path.join(work, "destdir-make-install");
    const mk = await runLogged("make", ["-C", path.join(tree1, "tools", "qemu-xen-build"), "-j2", "install", `DESTDIR=${destMake}`], { logFile: path.join(work, "make-install.log") });
    expect(mk.code, explain(mk)).toBe(0);
    time("the glue's way: make install in the same build directory (all, tests included, then install)", mk.seconds);
    const ours = installedFiles(destdir);
    ours.delete("usr/local/lib/xen/boot/seabios.bin");
    const theirs = installedFiles(destMake);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    expect(theirs.size).toBeGreaterThan(20);
    const differ = [...theirs].filter(([f, v]) => ours.get(f) !== v).map(([f]) => f);
    expect(differ).toEqual([]);
    say(`installed files: ${theirs.size}, identical to make install's`);
    // The install ran the plan's meson install --no-rebuild (into the artifact's staging directory
    // with the cache on, else into --destdir: the same argv, DESTDIR in its environment).
    const installRuns = (qemuPlan?.cache?.stagingInstall ?? qemuPlan?.stages)?.find((st) => st.name === "install" && st.kind === "run")?.runs;
    expect(installRuns?.name).toBe("meson install");
    const installLog = fs.readFileSync(path.join(tree1, ".xqbuild", "logs", "qemu-xen-install.log"), "utf8").split("\n").filter((l) => l.startsWith("$ cd "));
    expect(installLog.at(-1)).toBe(loggedLine(installRuns));
    completed++;
  }, 40 * 60_000);

  it("(e) a second xqbuild all runs no configure and no make", async (ctx) => {
    needSteps(ctx, 4);
    const build = path.join(tree1, "tools", "qemu-xen-build");
    const before = mtimes(build);
    const again = await xqbuild(["all", "-C", tree1, "-j2"], "all-2");
    expect(again.code, explain(again)).toBe(0);
    time("second xqbuild all (wall)", again.seconds);
    expect(again.output).toMatch(/^\[qemu-xen configure\] up to date$/m);
    expect(again.output).toMatch(/^\[qemu-xen build\] up to date$/m);
    expect(again.output).toMatch(/^\[seabios build\] up to date$/m);
    expect(again.output).not.toMatch(/\] started/);
    const after = mtimes(build);
    const changed = [...after].filter(([f, t]) => before.get(f) !== t).map(([f]) => f);
    const gone = [...before.keys()].filter((f) => !after.has(f));
    expect({ changed: changed.slice(0, 20), gone: gone.slice(0, 20) }).toEqual({ changed: [], gone: [] });
    completed++;
  }, 10 * 60_000);

  it("(g) Xen's own glue on the same code runs the same QEMU configure and SeaBIOS build, into the same layout", async (ctx) => {
    needSteps(ctx, 5);
    // A third tree where Xen 4.17's real make glue does the work: its clone, tracetool probe and
    // real configure run; once its `$(MAKE) all` has started ninja (the five-minute build that
    // xqbuild already did the same way), the glue's process group is stopped.
    const tree3 = copyXenTree(path.join(work, "xen-glue"), { from: sources.xenTree });
    writeDotConfig(tree3);
    const logFile = path.join(work, "glue.log");
    time("the glue: clone + configure qemu-xen", await runGlueUntilBuild(tree3, childEnv(), logFile));
    const fw = await runLogged("make", ["-C", path.join(tree3, "tools", "firmware"), "seabios-dir", "subdir-all-seabios-dir"], { logFile });
    expect(fw.code, explain(fw)).toBe(0);
    time("the glue: clone + build SeaBIOS", fw.seconds);

    const glue = configStatus(tree3);
    const ours = configStatus(tree1);
    expect(glue.argv.length).toBeGreaterThan(20);
    expect(ours.argv).toEqual(glue.argv);
    expect(ours.env).toEqual(glue.env);
    say(`configure, as both ran it: ${glue.argv.join(" ")}`);

    // The same layout: -dir links to -dir-remote, the out-of-tree build directory, the same commits.
    for (const link of ["tools/qemu-xen-dir", "tools/firmware/seabios-dir"]) {
      expect(fs.readlinkSync(path.join(tree1, link))).toBe(fs.readlinkSync(path.join(tree3, link)));
      const head = (t: string): string => spawnSync("git", ["rev-parse", "HEAD"], { cwd: path.join(t, link), encoding: "utf8", env: childEnv() }).stdout.trim();
      expect(head(tree1)).toBe(head(tree3));
    }
    expect(fs.statSync(path.join(tree3, "tools", "qemu-xen-build")).isDirectory()).toBe(true);

    // SeaBIOS: the same .config after olddefconfig, the same .version, the same version string.
    const sb = (t: string, f: string): Buffer => fs.readFileSync(path.join(t, "tools", "firmware", "seabios-dir", f));
    expect(sb(tree1, ".config").toString()).toBe(sb(tree3, ".config").toString());
    expect(sb(tree1, ".version").toString()).toBe(sb(tree3, ".version").toString());
    const version = (b: Buffer): string | undefined => /rel-1\.16\.[0-9][-.0-9a-z]*-Xen/.exec(b.toString("latin1"))?.[0];
    expect(version(sb(tree1, "out/bios.bin"))).toBe(version(sb(tree3, "out/bios.bin")));
    // Byte for byte (issue 16, point 4): SeaBIOS's buildversion.py stamps no date nor host name into
    // a clean build of a tagged git checkout with EXTRAVERSION set, so another tree gives the same bytes.
    expect(sb(tree1, "out/bios.bin").equals(sb(tree3, "out/bios.bin")), "bios.bin of xqbuild's tree and of the glue's differ").toBe(true);
    say("bios.bin byte-identical to the glue's, built in another tree");
    completed++;
  }, 20 * 60_000);

  it("(f) a second tree sharing the cache configures with the server stopped, and nothing tries to reach it", async (ctx) => {
    needSteps(ctx, 5);
    await stopDaemon();
    expect(await canConnect(port)).toBe(false);
    // Anything that still tries the old URL now connects here and is counted.
    const trap = await startTrap(port);
    try {
      tree2 = copyXenTree(path.join(work, "xen-2"), { from: sources.xenTree });
      writeDotConfig(tree2);
      const r = await xqbuild(["configure", "-C", tree2, "-j2"], "configure-2");
      expect(r.code, explain(r)).toBe(0);
      time("network off: fetch + configure in a second tree", r.seconds);
      const fetchDone = when(r, /^xqbuild configure: /);
      if (fetchDone !== undefined) time("network off: fetch from the cache", fetchDone);
      const cfg = stageSeconds(r, "qemu-xen", "configure");
      if (cfg !== undefined) time("network off: configure (qemu-xen)", cfg);
      expect(r.output).toMatch(/^\[qemu-xen configure\] done in/m);
      const remote = path.join(tree2, "tools", "qemu-xen-dir-remote");
      const subs = spawnSync("git", ["submodule", "status"], { cwd: remote, encoding: "utf8", env: childEnv() });
      for (const s of xenbits.qemu.submodules) expect(subs.stdout).toContain(` ${s.commit} ${s.path} `);
      // QEMU's configure ran scripts/git-submodule.sh update (a git checkout), and it was satisfied.
      const configureLog = fs.readFileSync(path.join(tree2, ".xqbuild", "logs", "qemu-xen-configure.log"), "utf8");
      expect(configureLog).not.toMatch(/Unable to automatically checkout GIT submodules|failed to update modules/);
      // (this line comes from scripts/git-submodule.sh itself: it did run, in update mode)
      expect(configureLog).toContain("warn: ignoring non-existent submodule dtc");
      expect(fs.readFileSync(path.join(remote, ".git-submodule-status"), "utf8")).toContain(xenbits.qemu.submodules[0]?.commit ?? "?");
      expect(trap.connections(), "connections to the stopped server's port").toBe(0);
    } finally {
      await trap.close();
    }
    completed++;
  }, 15 * 60_000);
  it("(h) the GIT_HTTP=y path: the same sources over smart HTTP into an empty cache, then configure", async (ctx) => {
    needSteps(ctx, 4);
    // git http-backend behind a small loopback HTTP server, serving the same fake xenbits.
    const http = await startHttpGit(xenbits.dir);
    try {
      const tree4 = copyXenTree(path.join(work, "xen-http"), { from: sources.xenTree });
      const lines = [
        "# xqbuild end-to-end test: the fake xenbits over smart HTTP (Xen 4.17's GIT_HTTP=y path)",
        "GIT_HTTP = y",
        `QEMU_UPSTREAM_URL = ${http.url("qemu-xen.git")}`,
        `SEABIOS_UPSTREAM_URL = ${http.url("seabios.git")}`,
        `QEMU_UPSTREAM_REVISION = ${xenbits.qemu.tag}`,
        "SEABIOS_UPSTREAM_REVISION = rel-1.16.0",
      ];
      fs.writeFileSync(path.join(tree4, ".config"), `${lines.join("\n")}\n`);
      const r = await runLogged(process.execPath, [cli, "configure", "-C", tree4, "-j2"], {
        logFile: path.join(work, "configure-http.log"),
        env: childEnv({ XQBUILD_CACHE_DIR: path.join(work, "xqbuild-cache-http") }),
      });
      expect(r.code, explain(r)).toBe(0);
      time("over smart HTTP: fetch into an empty cache + configure", r.seconds);
      expect(r.output).toMatch(/^\[qemu-xen configure\] done in/m);
      expect(http.requests).toBeGreaterThan(0);
      const remote = path.join(tree4, "tools", "qemu-xen-dir-remote");
      const origin = spawnSync("git", ["remote", "get-url", "origin"], { cwd: remote, encoding: "utf8", env: childEnv() }).stdout.trim();
      expect(origin).toBe(http.url("qemu-xen.git"));
      const subs = spawnSync("git", ["submodule", "status"], { cwd: remote, encoding: "utf8", env: childEnv() });
      for (const sm of xenbits.qemu.submodules) expect(subs.stdout).toContain(` ${sm.commit} ${sm.path} `);
      const head = (dir: string): string => spawnSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8", env: childEnv() }).stdout.trim();
      expect(head(remote)).toBe(head(path.join(tree1, "tools", "qemu-xen-dir-remote")));
      expect(head(path.join(tree4, "tools", "firmware", "seabios-dir-remote"))).toBe(head(path.join(tree1, "tools", "firmware", "seabios-dir-remote")));
    } finally {
      await http.stop();
    }
    completed++;
  }, 20 * 60_000);
  it("(i) a real patch queue: unpatched QEMU 7.2 plus Debian's debian/patches/series builds, from the very tree the pre-patched source has", async (ctx) => {
    needSteps(ctx, 4);
    // The unpatched source as released (tag v7.2.0, QEMU's own .gitmodules naming gitlab.com), with
    // Debian's series (38 patches, a quilt series) as xqbuild's patch queue for qemu-xen. The
    // submodules come through the mirrors setting from loopback; every proxy variable points at a
    // trap, so a URL that escaped the rewrite would be counted there instead of leaving the machine.
    const p = await freePort();
    const own = await startDaemon(xenbits.dir, p, path.join(work, "git-daemon-series.log"));
    const trapPort = await freePort();
    const trap = await startTrap(trapPort);
    const proxy = `http://${HOST}:${trapPort}`;
    try {
      const tree5 = copyXenTree(path.join(work, "xen-series"), { from: sources.xenTree });
      const patchDir = path.join(sources.qemuSource, "debian", "patches");
      fs.writeFileSync(
        path.join(tree5, ".config"),
        [
          "# xqbuild end-to-end test: unpatched QEMU plus Debian's series as the patch queue",
          `QEMU_UPSTREAM_URL = git://${HOST}:${p}/qemu-xen.git`,
          `QEMU_UPSTREAM_REVISION = ${xenbits.qemu.unpatched.tag}`,
          "",
        ].join("\n"),
      );
      fs.writeFileSync(
        path.join(tree5, ".xqbuildrc.json"),
        `${JSON.stringify({ mirrors: { "https://gitlab.com/qemu-project/": `git://${HOST}:${p}/` }, components: { "qemu-xen": { patches: patchDir } } }, null, 2)}\n`,
      );
      const r = await runLogged(process.execPath, [cli, "all", "qemu-xen", "-C", tree5, "-j2"], {
        logFile: path.join(work, "all-series.log"),
        env: childEnv({
          XQBUILD_CACHE_DIR: path.join(work, "xqbuild-cache-series"),
          http_proxy: proxy, https_proxy: proxy, HTTP_PROXY: proxy, HTTPS_PROXY: proxy, all_proxy: proxy, ALL_PROXY: proxy,
        }),
      });
      expect(r.code, explain(r)).toBe(0);
      time("patch queue: fetch v7.2.0 + apply Debian's series + configure + build (wall)", r.seconds);
      const n = xenbits.qemu.series.patches.length;
      expect(n).toBe(38);
      expect(r.output).toMatch(new RegExp(`^qemu-xen: applied ${n} patches`, "m"));

      // The queue, applied by xqbuild, gives exactly the tree Debian's series gives applied on its own.
      const remote = path.join(tree5, "tools", "qemu-xen-dir-remote");
      const g = (args: string[]): string => spawnSync("git", args, { cwd: remote, encoding: "utf8", env: childEnv() }).stdout.trim();
      expect(g(["rev-parse", "HEAD^{tree}"])).toBe(xenbits.qemu.series.tree);
      expect(g(["rev-parse", `HEAD~${n}`])).toBe(xenbits.qemu.unpatched.commit);
      expect(g(["log", "--format=%s", `-${n}`, "--reverse"]).split("\n")).toEqual(xenbits.qemu.series.patches.map((x) => `[xqbuild patch] ${x}`));
      expect(g(["status", "--porcelain", "--untracked-files=no"])).toBe("");
      const subs = g(["submodule", "status"]);
      for (const sm of xenbits.qemu.submodules) expect(subs).toContain(`${sm.commit} ${sm.path} `);

      // Configured as the pre-patched tree was in step (d), and built: Debian's 7.2.22, with Xen's machine.
      expect(configStatus(tree5)).toEqual(configStatus(tree1));
      const qemu = path.join(tree5, "tools", "qemu-xen-build", "qemu-system-i386");
      const version = spawnSync(qemu, ["-version"], { encoding: "utf8", env: childEnv() });
      expect(version.stdout).toMatch(/version 7\.2\.22\b/);
      const help = spawnSync(qemu, ["-machine", "help"], { encoding: "utf8", env: childEnv() });
      expect(help.stdout).toMatch(/^xenfv\s/m);
      say(`patch queue: ${version.stdout.split("\n")[0] ?? ""}; tree ${xenbits.qemu.series.tree.slice(0, 12)} = ${xenbits.qemu.series.branch}'s`);
      expect(trap.connections(), "connections through the proxy trap").toBe(0);
    } finally {
      await trap.close();
      own.kill("SIGTERM");
    }
    completed++;
  }, 30 * 60_000);
  it("(j) reproducible: true in two trees at other paths: the same qemu-system-i386, bios.bin and installed files, with no tree path in them; the second build from ccache", async (ctx) => {
    needSteps(ctx, 4);
    // Own git daemon (step f stopped the first); both trees share the mirrors and ccache's own
    // directory (base_dir is each tree: the compiles of the second are hits), not the artifact cache
    // (--no-cache: each tree builds, or there would be nothing to compare).
    const p = await freePort();
    const own = await startDaemon(xenbits.dir, p, path.join(work, "git-daemon-repro.log"));
    const roots = [path.join(work, "repro-1", "xen"), path.join(work, "repro-2", "at", "another", "depth", "xen")];
    try {
      for (const [i, dir] of roots.entries()) {
        const t = copyXenTree(dir, { from: sources.xenTree });
        fs.writeFileSync(
          path.join(t, ".config"),
          [
            "# xqbuild end-to-end test: reproducible: true",
            `QEMU_UPSTREAM_URL = git://${HOST}:${p}/qemu-xen.git`,
            `SEABIOS_UPSTREAM_URL = git://${HOST}:${p}/seabios.git`,
            `QEMU_UPSTREAM_REVISION = ${xenbits.qemu.tag}`,
            "SEABIOS_UPSTREAM_REVISION = rel-1.16.0",
            "",
          ].join("\n"),
        );
        fs.writeFileSync(path.join(t, ".xqbuildrc.json"), `${JSON.stringify({ reproducible: true, ccache: true }, null, 2)}\n`);
        // install: fetch, configure, build, then install into a DESTDIR of its own.
        const r = await runLogged(process.execPath, [cli, "install", "-C", t, "-j2", "--no-cache", "--destdir", `${path.dirname(dir)}-dest`], { logFile: path.join(work, `install-repro-${i + 1}.log`), env: childEnv({ XQBUILD_CACHE_DIR: cacheDir }) });
        expect(r.code, explain(r)).toBe(0);
        const stats = /ccache: (\d+) hits?, (\d+) miss/.exec(r.output);
        time(`reproducible: xqbuild install in tree ${i + 1} (wall; ${stats ? `ccache ${stats[1]} hits, ${stats[2]} misses` : "no ccache counters"})`, r.seconds);
        // The commit's date is what the build ran with, and the tree's path went in as a prefix map.
        const qemuDate = spawnSync("git", ["show", "-s", "--format=%ct", "HEAD"], { cwd: path.join(t, "tools", "qemu-xen-dir-remote"), encoding: "utf8", env: childEnv() }).stdout.trim();
        expect(configStatus(t).argv).toContain("--extra-cflags=-ffile-prefix-map=<ROOT>=../.. -ffile-prefix-map=<ROOT>/tools=.. -ffile-prefix-map=<ROOT>/tools/qemu-xen-build=.");
        const planned = await runLogged(process.execPath, [cli, "plan", "qemu-xen", "-C", t], { logFile: path.join(work, `plan-repro-${i + 1}.log`), env: childEnv({ XQBUILD_CACHE_DIR: cacheDir }) });
        expect(planned.stdout).toContain(`SOURCE_DATE_EPOCH from each source's commit date (qemu-xen ${qemuDate})`);
        if (i === 1) {
          // The second tree's compiles came from the first's (the tree paths differ, base_dir hides
          // them). QEMU 7.2's i386 build is well over 1000 compiles; what still misses is meson's
          // and configure's own probes, compiled in directories of random names.
          expect(stats, "no ccache counters in the second build's output").not.toBeNull();
          const [hits, misses] = [Number(stats?.[1]), Number(stats?.[2])];
          expect(hits).toBeGreaterThan(500);
          expect(misses * 4).toBeLessThan(hits);
        }
      }
      const qemuOf = (t: string): Buffer => fs.readFileSync(path.join(t, "tools", "qemu-xen-build", "qemu-system-i386"));
      const biosOf = (t: string): Buffer => fs.readFileSync(path.join(t, "tools", "firmware", "seabios-dir", "out", "bios.bin"));
      const [q1, q2] = roots.map(qemuOf) as [Buffer, Buffer];
      // Neither binary names any tree of any run of this test (they all live in an xq-e2e-* directory);
      // tree 1's, built without the setting, does (its debug information), which is what the setting removes.
      for (const [i, q] of [q1, q2].entries()) expect(q.includes("xq-e2e-"), `qemu-system-i386 of reproducible tree ${i + 1} names an xq-e2e- path`).toBe(false);
      expect(qemuOf(tree1).includes("xq-e2e-"), "qemu-system-i386 built without reproducible names no tree path: the check above proves nothing").toBe(true);
      expect(q1.length).toBeGreaterThan(1_000_000);
      expect(q1.equals(q2), `qemu-system-i386 differs between ${roots[0] ?? ""} and ${roots[1] ?? ""} (cmp -l them)`).toBe(true);
      // SeaBIOS: the same bytes with the setting as without it (tree 1), in every tree.
      for (const t of roots) expect(biosOf(t).equals(biosOf(tree1)), `bios.bin of ${t} differs from tree 1's`).toBe(true);
      // Everything installed (meson install of QEMU, and SeaBIOS), file for file and byte for byte.
      const [d1, d2] = roots.map((dir) => installedFiles(`${path.dirname(dir)}-dest`));
      expect(d1?.size).toBeGreaterThan(20);
      expect([...(d1?.keys() ?? [])].sort()).toEqual([...(d2?.keys() ?? [])].sort());
      expect([...(d1 ?? [])].filter(([f, v]) => d2?.get(f) !== v).map(([f]) => f)).toEqual([]);
      const version = spawnSync(path.join(roots[1] ?? "", "tools", "qemu-xen-build", "qemu-system-i386"), ["-version"], { encoding: "utf8", env: childEnv() });
      expect(version.stdout).toMatch(/version 7\.2\./);
      say(`reproducible: qemu-system-i386 (${q1.length} bytes), bios.bin and all ${d1?.size ?? 0} installed files byte-identical from ${roots.join(" and ")}`);
    } finally {
      own.kill("SIGTERM");
    }
    completed++;
  }, 40 * 60_000);
});
