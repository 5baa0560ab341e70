// The second real end-to-end test: today's qemu-xen, QEMU 10.0.13 (Debian trixie's source laid out
// as upstream QEMU git has it: meson wraps, python/wheels, see fake-xenbits-today.mjs), and SeaBIOS
// 1.16.3, served with the wraps' gitlab.com/qemu-project repositories by `git daemon` on loopback
// and reached through the `mirrors` setting alone; then a look ahead with QEMU 10.2.2 and SeaBIOS
// 1.17.0 from sid.
//
//   npm run test:e2e   (runs after real-build.test.ts; two QEMU builds of about 5 minutes each on 2
//                       cores with an empty ccache, plus `make install`'s rebuild for comparison)
//
// The Xen tree is the real Xen 4.17 tree from Debian (scripts/real-sources.mjs): Debian's archive on
// these machines answers 404 for trixie's and sid's xen 4.20.4 source, so a real Xen 4.20 tree cannot
// be had here; the overrides go in the tree's .config as a Xen user writes them, and Xen 4.17's own
// glue is the one compared (step g). QEMU 11 cannot be had either (sid's 11.1.x answers 404); 10.2.2
// is the newest QEMU this archive serves whole.
//
// XQBUILD_E2E_KEEP=1 keeps the work directory; it is also kept when a step fails.
import { spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canConnect, freePort } from "../support/servers.js";
import { copyXenTree } from "../support/xen-tree.js";
import {
  BUILD_DEPS, HOST, REPO_ROOT, buildOwnXqbuild, childEnv, configStatus, ensureDebianPackages, explain, installedFiles, journal,
  reportTimings, runGlueUntilBuild, runLogged, say, stageSeconds, startDaemon, startTrap, stopProcess, time, type Ran,
} from "./support.js";

interface Sources {
  cache: string;
  xenTree: string;
  qemu10Source: string;
  seabios1163Source: string;
  qemu102Source: string;
  seabios117Source: string;
}

interface QemuRelease {
  tag: string;
  branch: string;
  version: string;
  commit: string;
  wraps: Record<string, { repo: string; commit: string }>;
  standIns: string[];
}

interface XenbitsToday {
  dir: string;
  qemu: QemuRelease[];
  seabios: { tags: Record<string, string> };
  wheel: string;
}

/** The wraps QEMU's meson setup uses with Xen's configure line; the others must not be fetched. */
const NEEDED_WRAPS = ["berkeley-softfloat-3", "berkeley-testfloat-3", "keycodemapdb"];
const UNNEEDED = ["dtc", "slirp", "libvfio-user", "libblkio", "proc-macro2-1.0.84", "syn-2.0.66", "arbitrary-int-1.2.7"];

let work = "";
let keep = process.env["XQBUILD_E2E_KEEP"] === "1";
let completed = 0;
const STEPS = 7;
let cli = "";
let sources: Sources;
let xenbits: XenbitsToday;
let daemon: ChildProcess | undefined;
let port = 0;
let cacheDir = "";
let tree1 = "";

function needSteps(ctx: { skip: (note?: string) => void }, n: number): void {
  if (completed < n) ctx.skip("an earlier step failed");
}

function xqbuild(args: readonly string[], logName: string, cache = cacheDir): Promise<Ran> {
  return runLogged(process.execPath, [cli, ...args], { logFile: path.join(work, `${logName}.log`), env: childEnv({ XQBUILD_CACHE_DIR: cache }) });
}

function release(tag: string): QemuRelease {
  const r = xenbits.qemu.find((q) => q.tag === tag);
  if (!r) throw new Error(`the fake xenbits has no QEMU ${tag}`);
  return r;
}

/** A tree's .config (the Xen user's override file) and xqbuild's config file with the mirrors setting. */
function writeConfig(tree: string, p: number, qemuTag: string, seabiosTag: string): void {
  const lines = [
    "# xqbuild end-to-end test (today's releases): the fake xenbits on loopback",
    `QEMU_UPSTREAM_URL = git://${HOST}:${p}/qemu-xen.git`,
    `QEMU_UPSTREAM_REVISION = ${qemuTag}`,
    `SEABIOS_UPSTREAM_URL = git://${HOST}:${p}/seabios.git`,
    `SEABIOS_UPSTREAM_REVISION = ${seabiosTag}`,
  ];
  fs.writeFileSync(path.join(tree, ".config"), `${lines.join("\n")}\n`);
  // QEMU's wraps name gitlab.com/qemu-project; only this setting brings them to loopback.
  fs.writeFileSync(path.join(tree, "xqbuild.config.json"), `${JSON.stringify({ mirrors: { "https://gitlab.com/qemu-project/": `git://${HOST}:${p}/qemu-project/` } }, null, 2)}\n`);
}

function git(cwd: string, args: string[]): string {
  return spawnSync("git", args, { cwd, encoding: "utf8", env: childEnv() }).stdout.trim();
}

/** What `qemu-system-i386 -version` and `-machine help` say. */
function runQemu(tree: string): { version: string; machines: string } {
  const qemu = path.join(tree, "tools", "qemu-xen-build", "qemu-system-i386");
  const v = spawnSync(qemu, ["-version"], { encoding: "utf8", env: childEnv() });
  const m = spawnSync(qemu, ["-machine", "help"], { encoding: "utf8", env: childEnv() });
  expect(m.status, `${qemu} -machine help: ${m.stderr}`).toBe(0);
  return { version: v.stdout, machines: m.stdout };
}

function biosVersion(file: string, series: string): string | undefined {
  return new RegExp(`${series.replace(/\./g, "\\.")}[-.0-9a-z]*-Xen`).exec(fs.readFileSync(file).toString("latin1"))?.[0];
}

/** The subproject directories present, and what the fetched ones hold. */
function subprojects(tree: string): string[] {
  const dir = path.join(tree, "tools", "qemu-xen-dir-remote", "subprojects");
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

beforeAll(() => {
  const base = process.env["XQBUILD_E2E_WORKDIR"] ? path.resolve(process.env["XQBUILD_E2E_WORKDIR"]) : os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  work = fs.mkdtempSync(path.join(base, "xq-e2e-today-"));
  journal.progress = path.join(work, "progress.log");
  cacheDir = path.join(work, "xqbuild-cache");
  say(`work directory: ${work} (progress: ${journal.progress})`);
});

afterAll(async () => {
  await stopProcess(daemon);
  reportTimings(work);
  if (completed < STEPS) keep = true;
  if (keep) say(`kept ${work}`);
  else if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("xqbuild against today's qemu-xen (QEMU 10, meson wraps, python/wheels) and SeaBIOS 1.16.3", () => {
  it("(a) has the build dependencies, the Debian sources of trixie and sid, and the fake xenbits", async () => {
    ensureDebianPackages(BUILD_DEPS);
    let r = await runLogged(process.execPath, [path.join(REPO_ROOT, "scripts", "real-sources.mjs"), "--today", "--print"], { logFile: path.join(work, "sources.log") });
    expect(r.code, explain(r)).toBe(0);
    time("sources (real-sources --today)", r.seconds);
    sources = JSON.parse(r.stdout) as Sources;
    r = await runLogged(process.execPath, [path.join(REPO_ROOT, "test", "e2e", "fake-xenbits-today.mjs"), "--print"], { logFile: path.join(work, "fake-xenbits.log") });
    expect(r.code, explain(r)).toBe(0);
    time("fake xenbits (today)", r.seconds);
    xenbits = JSON.parse(r.stdout) as XenbitsToday;
    expect(xenbits.qemu.map((q) => q.version)).toEqual(["10.0.13", "10.2.2"]);
    for (const w of NEEDED_WRAPS) expect(Object.keys(release("v10.0.13").wraps)).toContain(w);
    cli = await buildOwnXqbuild(work);
    port = await freePort();
    daemon = await startDaemon(xenbits.dir, port, path.join(work, "git-daemon.log"));
    completed++;
  }, 30 * 60_000);

  it("(b) fetch takes the source and only the wraps meson needs, through the mirrors setting, prepared as meson would", async (ctx) => {
    needSteps(ctx, 1);
    tree1 = copyXenTree(path.join(work, "xen-1"), { from: sources.xenTree });
    writeConfig(tree1, port, "v10.0.13", "rel-1.16.3");
    const r = await xqbuild(["fetch", "-C", tree1], "fetch-1");
    expect(r.code, explain(r)).toBe(0);
    time("fetch (qemu-xen with its wraps, SeaBIOS)", r.seconds);
    const remote = path.join(tree1, "tools", "qemu-xen-dir-remote");
    expect(git(remote, ["rev-parse", "HEAD"])).toBe(release("v10.0.13").commit);
    // The three wraps configure needs, each at its pinned commit; nothing else (dtc and slirp have
    // system libraries, libvfio-user and the Rust crates are not enabled).
    const present = subprojects(tree1).filter((d) => !["libvduse", "libvhost-user", "packagefiles", "packagecache"].includes(d));
    expect(present).toEqual(NEEDED_WRAPS);
    for (const u of UNNEEDED) expect(present).not.toContain(u);
    expect(fs.existsSync(path.join(remote, "subprojects", "packagecache"))).toBe(false);
    for (const w of NEEDED_WRAPS) {
      const dir = path.join(remote, "subprojects", w);
      expect(git(dir, ["rev-parse", "HEAD"]), w).toBe(release("v10.0.13").wraps[w]?.commit);
      // meson's own record that the subproject matches its wrap file
      expect(fs.existsSync(path.join(dir, ".meson-subproject-wrap-hash.txt")), `${w}/.meson-subproject-wrap-hash.txt`).toBe(true);
    }
    // patch_directory applied: berkeley-softfloat-3's meson.build comes from packagefiles.
    for (const w of ["berkeley-softfloat-3", "berkeley-testfloat-3"]) {
      const ours = fs.readFileSync(path.join(remote, "subprojects", w, "meson.build"));
      expect(ours.equals(fs.readFileSync(path.join(remote, "subprojects", "packagefiles", w, "meson.build")))).toBe(true);
    }
    expect(git(remote, ["status", "--porcelain", "--untracked-files=no"])).toBe("");
    completed++;
  }, 15 * 60_000);

  it("(c) with the git server stopped: xqbuild all configures and builds QEMU 10 and SeaBIOS, ninja at -j2, nothing reaching out", async (ctx) => {
    needSteps(ctx, 2);
    await stopProcess(daemon);
    daemon = undefined;
    expect(await canConnect(port)).toBe(false);
    const trap = await startTrap(port);
    let all: Ran;
    try {
      all = await xqbuild(["all", "-C", tree1, "-j2"], "all-1");
      expect(trap.connections(), "connections to the stopped server's port").toBe(0);
    } finally {
      await trap.close();
    }
    expect(all.code, explain(all)).toBe(0);
    time("xqbuild all, first run (wall)", all.seconds);
    const cfg = stageSeconds(all, "qemu-xen", "configure");
    const build = stageSeconds(all, "qemu-xen", "build");
    if (cfg !== undefined) time("configure (qemu-xen 10.0.13)", cfg);
    if (build !== undefined) time("build (qemu-xen 10.0.13)", build);
    const configureLog = fs.readFileSync(path.join(tree1, ".xqbuild", "logs", "qemu-xen-configure.log"), "utf8");
    // configure made its venv from python/wheels and used the wraps as fetched, downloading nothing.
    expect(configureLog).toMatch(/mkvenv: installing meson==/);
    expect(configureLog).not.toMatch(/revision may be out of date|Downloading|Cloning into/);
    // meson used the three fetched subprojects and no other wrap (dtc: the system libfdt).
    for (const w of NEEDED_WRAPS) expect(configureLog).toContain(`Executing subproject ${w} `);
    expect(configureLog).not.toMatch(/Executing subproject (dtc|slirp|libvfio-user|libblkio)\b/);
    // The build: ninja on targets it knows, with the whole budget.
    const buildLog = fs.readFileSync(path.join(tree1, ".xqbuild", "logs", "qemu-xen-build.log"), "utf8");
    expect(buildLog.split("\n")[0]).toMatch(/ && \S*ninja -j2 -d keepdepfile .*\bqemu-system-i386\b/);
    expect(buildLog).not.toMatch(/unknown target/);

    const q = runQemu(tree1);
    expect(q.version).toMatch(/version 10\.0\.13\b/);
    expect(q.machines).toMatch(/^xenfv\s/m);
    const bios = path.join(tree1, "tools", "firmware", "seabios-dir", "out", "bios.bin");
    const v = biosVersion(bios, "rel-1.16.3");
    expect(v, "bios.bin holds no rel-1.16.3...-Xen version string").toBeDefined();
    say(`${q.version.split("\n")[0] ?? ""}; SeaBIOS ${v ?? "?"}`);
    completed++;
  }, 40 * 60_000);

  it("(d) a second xqbuild all runs nothing", async (ctx) => {
    needSteps(ctx, 3);
    const again = await xqbuild(["all", "-C", tree1, "-j2"], "all-2");
    expect(again.code, explain(again)).toBe(0);
    time("second xqbuild all (wall)", again.seconds);
    for (const s of ["qemu-xen configure", "qemu-xen build", "seabios build"]) expect(again.output).toMatch(new RegExp(`^\\[${s}\\] up to date$`, "m"));
    expect(again.output).not.toMatch(/\] started/);
    completed++;
  }, 10 * 60_000);

  it("(e) install lands in LIBEXEC_BIN and XENFIRMWAREDIR, the same files as make install", async (ctx) => {
    needSteps(ctx, 4);
    const destdir = path.join(work, "destdir");
    const install = await xqbuild(["install", "-C", tree1, "-j2", "--destdir", destdir], "install");
    expect(install.code, explain(install)).toBe(0);
    time("install", install.seconds);
    expect(fs.statSync(path.join(destdir, "usr/local/lib/xen/bin/qemu-system-i386")).isFile()).toBe(true);
    const bios = path.join(tree1, "tools", "firmware", "seabios-dir", "out", "bios.bin");
    expect(fs.readFileSync(path.join(destdir, "usr/local/lib/xen/boot/seabios.bin")).equals(fs.readFileSync(bios))).toBe(true);
    // install_blobs is on (QEMU's default): the descriptors configure wrote are installed too.
    expect(fs.existsSync(path.join(destdir, "usr/local/share/qemu-xen/qemu/firmware/60-edk2-x86_64.json"))).toBe(true);
    const destMake = path.join(work, "destdir-make-install");
    const mk = await runLogged("make", ["-C", path.join(tree1, "tools", "qemu-xen-build"), "-j2", "install", `DESTDIR=${destMake}`], { logFile: path.join(work, "make-install.log") });
    expect(mk.code, explain(mk)).toBe(0);
    time("the glue's way: make install in the same build directory", mk.seconds);
    const ours = installedFiles(destdir);
    ours.delete("usr/local/lib/xen/boot/seabios.bin");
    const theirs = installedFiles(destMake);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    expect([...theirs].filter(([f, val]) => ours.get(f) !== val).map(([f]) => f)).toEqual([]);
    say(`installed files: ${theirs.size}, identical to make install's`);
    completed++;
  }, 40 * 60_000);

  it("(f) Xen's own glue on the same sources runs the same QEMU configure and builds the same SeaBIOS", async (ctx) => {
    needSteps(ctx, 3);
    // The glue lets QEMU's configure download the wraps itself (meson, over git): git's insteadOf,
    // given through the environment, sends gitlab.com/qemu-project to the loopback server.
    const p = await freePort();
    const own = await startDaemon(xenbits.dir, p, path.join(work, "git-daemon-glue.log"));
    try {
      const tree3 = copyXenTree(path.join(work, "xen-glue"), { from: sources.xenTree });
      writeConfig(tree3, p, "v10.0.13", "rel-1.16.3");
      fs.rmSync(path.join(tree3, "xqbuild.config.json"));
      // The glue's .config differs only in the port; what configure records must not show it.
      const env = childEnv({ GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: `url.git://${HOST}:${p}/qemu-project/.insteadOf`, GIT_CONFIG_VALUE_0: "https://gitlab.com/qemu-project/" });
      const logFile = path.join(work, "glue.log");
      time("the glue: clone + configure qemu-xen 10.0.13 (meson downloads the wraps)", await runGlueUntilBuild(tree3, env, logFile));
      const glue = configStatus(tree3);
      const ours = configStatus(tree1);
      expect(glue.argv.length).toBeGreaterThan(20);
      expect(ours.argv).toEqual(glue.argv);
      expect(ours.env).toEqual(glue.env);
      expect(glue.argv.find((a) => a.startsWith("--extra-cflags="))).toContain(" \t-DXC_WANT_COMPAT_GNTTAB_API=1");
      say(`configure, as both ran it: ${JSON.stringify(glue.argv)}`);
      // The glue's wraps, as meson downloaded them, are the commits xqbuild fetched.
      for (const w of NEEDED_WRAPS) expect(git(path.join(tree3, "tools", "qemu-xen-dir-remote", "subprojects", w), ["rev-parse", "HEAD"]), w).toBe(release("v10.0.13").wraps[w]?.commit);

      const fw = await runLogged("make", ["-C", path.join(tree3, "tools", "firmware"), "seabios-dir", "subdir-all-seabios-dir"], { logFile, env });
      expect(fw.code, explain(fw)).toBe(0);
      time("the glue: clone + build SeaBIOS 1.16.3", fw.seconds);
      const sb = (t: string, f: string): Buffer => fs.readFileSync(path.join(t, "tools", "firmware", "seabios-dir", f));
      expect(sb(tree1, ".config").toString()).toBe(sb(tree3, ".config").toString());
      expect(sb(tree1, ".version").toString()).toBe(sb(tree3, ".version").toString());
      expect(sb(tree1, "out/bios.bin").equals(sb(tree3, "out/bios.bin")), "bios.bin byte-identical to the glue's").toBe(true);
    } finally {
      await stopProcess(own);
    }
    completed++;
  }, 30 * 60_000);

  it("(g) looking ahead: QEMU 10.2.2 and SeaBIOS 1.17.0 (Xen 4.22's) from sid build the same way", async (ctx) => {
    needSteps(ctx, 2);
    const p = await freePort();
    const own = await startDaemon(xenbits.dir, p, path.join(work, "git-daemon-ahead.log"));
    try {
      const tree = copyXenTree(path.join(work, "xen-ahead"), { from: sources.xenTree });
      writeConfig(tree, p, "v10.2.2", "rel-1.17.0");
      const r = await xqbuild(["all", "-C", tree, "-j2"], "all-ahead", path.join(work, "xqbuild-cache-ahead"));
      expect(r.code, explain(r)).toBe(0);
      time("look ahead: fetch + configure + build QEMU 10.2.2 and SeaBIOS 1.17.0 (wall)", r.seconds);
      const q = runQemu(tree);
      expect(q.version).toMatch(/version 10\.2\.2\b/);
      expect(q.machines).toMatch(/^xenfv\s/m);
      expect(biosVersion(path.join(tree, "tools", "firmware", "seabios-dir", "out", "bios.bin"), "rel-1.17.0")).toBeDefined();
      say(`look ahead: ${q.version.split("\n")[0] ?? ""}`);
    } finally {
      await stopProcess(own);
    }
    completed++;
  }, 40 * 60_000);
});
