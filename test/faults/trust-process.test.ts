// Issue 14, processes: signals end every phase (6), bounded job pools (7), stale locks (8), missing
// tools (10), the live view in a real pty (16). xqbuild runs as a real child process compiled from
// src/ (support.ts); signals, ptys, pids and hosts are real.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import fs from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { buildCli } from "../support/build-cli.js";
import { pidAlive } from "../support/dir-lock.mjs";
import { which } from "../support/which.js";
import { xenTrees } from "../support/make-diff.js";
import { realSources } from "../support/xen-tree.js";
import { tmuxServer } from "../support/tmux.js";
import {
  builtCli,
  expectCleanError,
  expectOk,
  groupsOf,
  interrupt as interruptRun,
  killGroups,
  makeTree,
  mirrors,
  removeBases,
  seabiosRemote,
  startXq,
  stampFile,
  tempBase,
  until,
  urlLines,
  waitGroupsGone,
  xq,
  type Running,
  type Tree,
} from "./support.js";

let base: string;
let repos: UpstreamRepos;

beforeAll(() => {
  builtCli();
  base = tempBase("trust-process");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

/** A directory of links to the programs on PATH but those named: PATH as on a machine without them. */
function pathWithout(name: string, missing: readonly string[]): string {
  const dir = path.join(base, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const d of (process.env.PATH ?? "").split(":")) {
    if (!d || !fs.existsSync(d)) continue;
    for (const e of fs.readdirSync(d)) {
      if (missing.includes(e) || fs.existsSync(path.join(dir, e))) continue;
      try {
        fs.accessSync(path.join(d, e), fs.constants.X_OK);
        fs.symlinkSync(path.join(d, e), path.join(dir, e));
      } catch {
        // not a program
      }
    }
  }
  return dir;
}

describe("7: the job pool is bounded (no write that blocks the process for ever)", () => {
  let t: Tree;
  beforeAll(() => {
    t = makeTree(base, "jobs", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
  });

  it.each([
    ["-j 65538", ["-j", "65538"], /-j\/--jobs 65538: more than xqbuild's limit of 4096 job slots/],
    ["-j 99999999999999999999", ["-j", "99999999999999999999"], /-j\/--jobs 99999999999999999999: more than xqbuild's limit of 4096/],
  ] as const)("%s is refused with exit 2 at once", async (_what, jobs, why) => {
    const r = await xq(t, ["all", "seabios", ...jobs], {}, { timeoutMs: 20_000 });
    expect(r.timedOut, "xqbuild blocked").toBe(false);
    expect(r.stderr).toMatch(why);
    expectCleanError(r.stderr, { maxLines: 4 });
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote")), "nothing fetched").toBe(false);
  });

  it("a jobs setting of 70000 in the config file is refused with exit 2, naming the file", async () => {
    const t2 = makeTree(base, "jobs-setting", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    fs.writeFileSync(path.join(t2.root, "xqbuild.config.json"), JSON.stringify({ jobs: 70000 }));
    const r = await xq(t2, ["all", "seabios"], {}, { timeoutMs: 30_000 });
    expect(r.timedOut, "xqbuild blocked writing tokens").toBe(false);
    expect(r.stderr).toMatch(/the jobs setting in \S*xqbuild\.config\.json is 70000: xqbuild's job pool holds at most 4096 slots/);
    expectCleanError(r.stderr, { maxLines: 4 });
    expect(r.code).toBe(2);
  });

  it("-j 4096 (the limit) runs", async () => {
    const r = await xq(t, ["all", "seabios", "-j", "4096"], {}, { timeoutMs: 60_000 });
    expectOk(r);
  });
});

describe("10: a tool that is not there is named, with what to do", () => {
  it("git missing from PATH: exit 1, one paragraph naming git and how to get it, not 'Check the URL'", async () => {
    const t = makeTree(base, "nogit", { config: urlLines({ seabios: repos.seabios.url }) });
    const r = await xq(t, ["fetch", "seabios"], { PATH: pathWithout("bin-nogit", ["git"]) }, { timeoutMs: 30_000 });
    const para = expectCleanError(r.stderr, { maxLines: 3 });
    expect(para).toMatch(/cannot run git: it is not on PATH \(.*bin-nogit\)/);
    expect(para).toMatch(/Install git \(Debian\/Ubuntu: apt-get install git\)/);
    expect(para).not.toMatch(/Check the URL/);
    expect(r.code).toBe(1);
  });

  it("make missing from PATH: the hint names XQBUILD_MAKE, the variable xqbuild reads (not MAKE)", async () => {
    const t = makeTree(base, "nomake", { config: urlLines({ seabios: repos.seabios.url }) });
    const r = await xq(t, ["config"], { PATH: pathWithout("bin-nomake", ["make", "gmake"]) }, { timeoutMs: 30_000 });
    const para = expectCleanError(r.stderr, { maxLines: 3 });
    expect(para).toMatch(/GNU make \("make"\) was not found/);
    expect(para).toMatch(/set XQBUILD_MAKE to its path/);
    expect(para).not.toMatch(/set MAKE /);
    expect(r.code).not.toBe(0);
  });

  it("make missing when a build runs it (the tree read with XQBUILD_MAKE): the build's make is named", async () => {
    const t = makeTree(base, "nomake-build", { config: urlLines({ seabios: repos.seabios.url }) });
    const dir = pathWithout("bin-nomake-build", ["make", "gmake"]);
    const realMake = which("make");
    const r = await xq(t, ["all", "seabios"], { PATH: dir, XQBUILD_MAKE: realMake, XQBUILD_NO_DOCTOR: "1" }, { timeoutMs: 60_000 });
    const para = expectCleanError(r.stderr, { maxLines: 4 });
    expect(para).toMatch(/cannot run make .*it is not on PATH/);
    expect(para).toMatch(/apt-get install make/);
    expect(r.code).toBe(1);
  });
});

describe("8: stale locks: say who holds them since when; take over one whose holder is provably gone", () => {
  /** Plants a lock directory as another xqbuild would have left it, its owner file dated `ageMs` ago. */
  function plantLock(dir: string, owner: string, ageMs: number): void {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.mkdirSync(dir);
    const file = path.join(dir, "owner");
    fs.writeFileSync(file, owner);
    const when = new Date(Date.now() - ageMs);
    fs.utimesSync(file, when, when);
  }
  const treeLock = (t: Tree): string => path.join(t.root, ".xqbuild", "lock");
  const since = (ms: number): string => new Date(Date.now() - ms).toISOString();

  it("the tree lock of a process on another host, not refreshed for an hour, is taken over (saying so); the run completes", async () => {
    const t = makeTree(base, "lock-other-host-stale", { config: urlLines({ seabios: repos.seabios.url }) });
    plantLock(treeLock(t), `4242@gone-container-7f3a\nsince ${since(3_600_000)}\n`, 3_600_000);
    const r = await xq(t, ["all", "seabios"], {}, { timeoutMs: 40_000 });
    expect(r.timedOut, "waited for ever on a lock whose holder is gone").toBe(false);
    expectOk(r);
    expect(r.stderr).toMatch(/took over the lock on the tree .* from process 4242 on host gone-container-7f3a, since \S+ \(60 min ago\): it has not been refreshed for 60 min/);
    expect(fs.existsSync(treeLock(t)), "the lock is released").toBe(false);
  });

  it("a fresh lock of another host is waited for: --lock-timeout gives up naming the holder and since when (exit 1, lock left alone)", async () => {
    const t = makeTree(base, "lock-other-host-fresh", { config: urlLines({ seabios: repos.seabios.url }) });
    plantLock(treeLock(t), `4243@busy-builder\nsince ${since(90_000)}\n`, 5_000);
    const r = await xq(t, ["all", "seabios", "--lock-timeout", "1"], {}, { timeoutMs: 30_000 });
    const para = expectCleanError(r.stderr, { maxLines: 3 });
    expect(para).toMatch(/gave up waiting for the lock on the tree .*, held by process 4243 on host busy-builder, since \S+ \(9\d s ago\)/);
    expect(r.stderr).toMatch(/waiting for the lock on the tree .*held by process 4243 on host busy-builder/);
    expect(r.code).toBe(1);
    expect(fs.readFileSync(path.join(treeLock(t), "owner"), "utf8")).toContain("4243@busy-builder");
  });

  it("a lock of this machine whose pid is alive but is another process (start time differs) is taken over", async () => {
    const t = makeTree(base, "lock-reused-pid", { config: urlLines({ seabios: repos.seabios.url }) });
    // This test's own pid: alive, and not started at tick 1.
    plantLock(treeLock(t), `${process.pid}@${hostname()}\nstart 1\nsince ${since(7_200_000)}\n`, 7_200_000);
    const r = await xq(t, ["all", "seabios"], {}, { timeoutMs: 40_000 });
    expect(r.timedOut, "waited for ever on a reused pid").toBe(false);
    expectOk(r);
    expect(r.stderr).toMatch(new RegExp(`took over the lock on the tree .* from process ${process.pid} on this machine.*: pid ${process.pid} now belongs to another process`));
  });

  it("a lock of this machine whose holder is alive (pid and start time match) is waited for, however old", async () => {
    const t = makeTree(base, "lock-live", { config: urlLines({ seabios: repos.seabios.url }) });
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    plantLock(treeLock(t), `${process.pid}@${hostname()}\nstart ${start}\nsince ${since(7_200_000)}\n`, 7_200_000);
    const r = await xq(t, ["all", "seabios", "--lock-timeout", "1"], {}, { timeoutMs: 30_000 });
    expect(r.stderr).toMatch(new RegExp(`gave up waiting for the lock on the tree .*, held by process ${process.pid} on this machine, since \\S+ \\(2 h ago\\)`));
    expect(r.code).toBe(1);
  });

  it("a mirror lock in a shared cache left by a container that is gone is taken over by fetch", async () => {
    const cache = path.join(base, "lock-shared-cache");
    const t1 = makeTree(base, "lock-mirror-1", { config: urlLines({ seabios: repos.seabios.url }), cache });
    expectOk(await xq(t1, ["fetch", "seabios"]));
    const [mirror] = mirrors(cache, "seabios");
    expect(mirror).toBeDefined();
    plantLock(`${mirror as string}.lock`, `99@old-ci-runner\n`, 3_600_000);
    const t2 = makeTree(base, "lock-mirror-2", { config: urlLines({ seabios: repos.seabios.url }), cache });
    const r = await xq(t2, ["fetch", "seabios"], {}, { timeoutMs: 40_000 });
    expect(r.timedOut, "waited for ever on the mirror's lock").toBe(false);
    expectOk(r);
    expect(r.stderr).toMatch(/took over the lock on the mirror of .* from process 99 on host old-ci-runner/);
    expect(fs.existsSync(`${mirror as string}.lock`)).toBe(false);
  });
});

describe("6: one signal path: SIGINT, SIGTERM and SIGHUP end every phase, in-process ones included", () => {
  const CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
  type Sig = keyof typeof CODES;

  /**
   * PATH wrappers: `make install DESTDIR=...` installs, then adds a 768 MiB sparse file to what it
   * installed (the artifact pack then takes seconds, all of it inside xqbuild); and a `sleep` that
   * makes the fixture's compile jobs slow.
   */
  function wrappers(name: string): string {
    const dir = path.join(base, name);
    fs.mkdirSync(dir, { recursive: true });
    const real = which;
    fs.writeFileSync(
      path.join(dir, "make"),
      `#!/bin/sh\n${real("make")} "$@" || exit $?\nfor a in "$@"; do case "$a" in DESTDIR=*) d="\${a#DESTDIR=}"; mkdir -p "$d/usr/share/big" && truncate -s 768M "$d/usr/share/big/blob.bin";; esac; done\n`,
    );
    fs.writeFileSync(path.join(dir, "sleep"), `#!/bin/sh\n: > ${JSON.stringify(path.join(dir, "reached-job"))}\nexec ${real("sleep")} 60\n`);
    for (const f of ["make", "sleep"]) fs.chmodSync(path.join(dir, f), 0o755);
    return dir;
  }

  /** Files of a directory tree whose name matches re. */
  function found(dir: string, re: RegExp): string[] {
    if (!fs.existsSync(dir)) return [];
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => re.test(path.basename(f))).map((f) => path.join(dir, f));
  }

  /** test/support/processes.ts's interrupt: the signal to xqbuild's pid alone, and what every signal case checks. */
  async function interrupt(run: Running, sig: Sig, extraGroups: ReadonlySet<number> = new Set()): Promise<{ code: number | null; stderr: string }> {
    return interruptRun(run, sig, { code: CODES[sig], groups: extraGroups });
  }

  it.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("%s during the artifact pack of install: exit 128+n, no .tmp in the cache, no entry, nothing in DESTDIR, no lock or jobserver left", async (sig) => {
    const bin = wrappers(`bin-pack-${sig}`);
    const tmp = path.join(base, `tmp-pack-${sig}`);
    fs.mkdirSync(tmp, { recursive: true });
    const t = makeTree(base, `pack-${sig}`, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { TMPDIR: tmp } });
    t.env.PATH = `${bin}:${process.env.PATH ?? ""}`;
    const dest = path.join(base, `dest-pack-${sig}`);
    const run = startXq(t, ["install", "qemu-xen", "--destdir", dest], {}, { timeoutMs: 120_000 });
    const artifacts = path.join(t.cache, "artifacts");
    await until(() => found(artifacts, /\.tmp$/).some((f) => fs.statSync(f).size > 16 * 1024 * 1024), 100_000, "the artifact pack to be under way");
    await interrupt(run, sig);
    expect(found(artifacts, /\.tmp$/), "the half-written pack").toEqual([]);
    expect(found(artifacts, /\.(tar|json)$/), "an artifact entry").toEqual([]);
    expect(found(dest, /blob\.bin$/), "files in DESTDIR").toEqual([]);
    expect(fs.existsSync(path.join(t.root, ".xqbuild", "lock")), "the tree lock").toBe(false);
    expect(fs.existsSync(path.join(t.root, ".xqbuild", "staging", "qemu-xen")), "the staging directory").toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("xqbuild-jobserver-")), "the jobserver directory").toEqual([]);
    expect(fs.existsSync(stampFile(t, "qemu-xen", "build")), "the build before it stays done").toBe(true);
  });

  it.each(["SIGINT", "SIGTERM"] as const)("%s during dist: exit 128+n, no half-written tarball or .tmp", async (sig) => {
    const t = makeTree(base, `dist-${sig}`, { config: urlLines({ seabios: repos.seabios.url }) });
    expectOk(await xq(t, ["fetch", "seabios"]));
    // A committed 48 MiB of random bytes: gzip -9 of it takes seconds.
    const tree = seabiosRemote(t);
    fs.writeFileSync(path.join(tree, "big.bin"), randomBytes(48 * 1024 * 1024));
    const g = (args: string[]): void => {
      const r = spawnSync("git", ["-c", "user.name=T", "-c", "user.email=t@x.invalid", ...args], { cwd: tree, env: t.env as NodeJS.ProcessEnv, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    };
    g(["add", "big.bin"]);
    g(["commit", "-q", "-m", "big"]);
    const out = path.join(t.root, "dist", "xqbuild-sources");
    const run = startXq(t, ["dist", "seabios"], {}, { timeoutMs: 120_000 });
    await until(() => found(out, /\.tmp-\d+$/).length > 0, 60_000, "dist to be writing its tarball");
    await interrupt(run, sig);
    expect(fs.readdirSync(out), "what dist left").toEqual([]);
  });

  it("a second signal does not wait for a child that ignores SIGTERM: exit at once, its group killed, no lock, no jobserver directory", async () => {
    const bin = path.join(base, "bin-stubborn");
    fs.mkdirSync(bin, { recursive: true });
    const realMake = which("make");
    const reached = path.join(bin, "reached-install");
    // make install that ignores SIGTERM, SIGINT and SIGHUP (and so does the sleep it runs).
    fs.writeFileSync(path.join(bin, "make"), `#!/bin/sh\nfor a in "$@"; do if [ "$a" = install ]; then trap '' TERM INT HUP; : > ${JSON.stringify(reached)}; sleep 60; fi; done\nexec ${realMake} "$@"\n`);
    fs.chmodSync(path.join(bin, "make"), 0o755);
    const tmp = path.join(base, "tmp-stubborn");
    fs.mkdirSync(tmp, { recursive: true });
    const t = makeTree(base, "stubborn", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { TMPDIR: tmp } });
    t.env.PATH = `${bin}:${process.env.PATH ?? ""}`;
    const run = startXq(t, ["install", "qemu-xen", "--destdir", path.join(base, "dest-stubborn")], {}, { timeoutMs: 90_000 });
    await until(() => fs.existsSync(reached), 60_000, "make install to start");
    const groups = groupsOf(reached);
    run.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    run.child.kill("SIGTERM");
    const r = await run.done;
    // The child sleeps 60 s ignoring SIGTERM: an exit that waited for it would take a minute.
    expect(Date.now() - sent, "exit after the second signal").toBeLessThan(5000);
    expect(r.code).toBe(143);
    const left = await waitGroupsGone(groups, 2000);
    killGroups(groups);
    expect(left, "the stubborn make install").toEqual([]);
    expect(fs.existsSync(path.join(t.root, ".xqbuild", "lock")), "the tree lock").toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("xqbuild-jobserver-")), "the jobserver directory").toEqual([]);
  });

  it.each(["SIGINT", "SIGTERM"] as const)("%s while a tarball source is being unpacked (in-process tar): exit 128+n within 5 s, no partial tree", async (sig) => {
    // An uncompressed tarball of a Makefile and 640 MiB of zeros: its unpacking takes seconds.
    const file = path.join(base, `big-${sig}.tar`);
    const py = [
      "import sys, tarfile, io",
      "path, size = sys.argv[1], int(sys.argv[2])",
      "class Z(io.RawIOBase):",
      "    def __init__(s, n): s.n = n",
      "    def readable(s): return True",
      "    def readinto(s, b):",
      "        k = min(len(b), s.n); b[:k] = bytes(k); s.n -= k; return k",
      "with tarfile.open(path, 'w', format=tarfile.GNU_FORMAT) as t:",
      "    d = b'all:\\n\\t@true\\nolddefconfig:\\n\\t@true\\n'",
      "    i = tarfile.TarInfo('pkg/Makefile'); i.size = len(d); t.addfile(i, io.BytesIO(d))",
      "    i = tarfile.TarInfo('pkg/big.bin'); i.size = size; t.addfile(i, io.BufferedReader(Z(size)))",
    ].join("\n");
    const made = spawnSync("python3", ["-c", py, file, String(640 * 1024 * 1024)], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
    const sha = spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0] as string;
    const t = makeTree(base, `tarball-${sig}`, { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${file}`, `SEABIOS_UPSTREAM_SHA256 = ${sha}`] });
    const fw = path.join(t.root, "tools", "firmware");
    const run = startXq(t, ["fetch", "seabios"], { XQBUILD_TARBALL_MAX_BYTES: String(2 * 1024 * 1024 * 1024) }, { timeoutMs: 120_000 });
    await until(() => found(fw, /^big\.bin$/).length > 0, 100_000, "the unpacking to be under way");
    await interrupt(run, sig);
    expect(found(fw, /^big\.bin$/), "unpacked files left").toEqual([]);
    expect(fs.readdirSync(fw).filter((f) => f.startsWith("seabios-dir")), "a partial tree").toEqual([]);
    fs.rmSync(file, { force: true });
  }, 120_000);

  it.each(["SIGINT", "SIGTERM"] as const)("%s while a tarball source downloads from a server that trickles: exit 128+n within 5 s, no download left in the cache", async (sig) => {
    const sockets = new Set<Socket>();
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-tar", "content-length": String(64 * 1024 * 1024) });
      const tick = setInterval(() => res.write(Buffer.alloc(512)), 50);
      res.on("close", () => clearInterval(tick));
    });
    server.on("connection", (c) => {
      sockets.add(c);
      c.on("close", () => sockets.delete(c));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const t = makeTree(base, `download-${sig}`, { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = http://127.0.0.1:${port}/seabios.tar`, `SEABIOS_UPSTREAM_SHA256 = ${"ab".repeat(32)}`] });
      const tarballs = path.join(t.cache, "tarballs");
      const run = startXq(t, ["fetch", "seabios"], {}, { timeoutMs: 60_000 });
      await until(() => found(tarballs, /\.tmp-\d+$/).some((f) => fs.statSync(f).size > 4096), 30_000, "the download to be under way");
      await interrupt(run, sig);
      expect(found(tarballs, /./), "the partial download").toEqual([]);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("SIGHUP during a build: make and its jobs gone, exit 129, no build stamp, no tree lock, no jobserver directory", async () => {
    const bin = wrappers("bin-hup-build");
    const tmp = path.join(base, "tmp-hup-build");
    fs.mkdirSync(tmp, { recursive: true });
    const t = makeTree(base, "hup-build", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { TMPDIR: tmp } });
    t.env.PATH = `${bin}:${process.env.PATH ?? ""}`;
    const run = startXq(t, ["all", "qemu-xen", "-j2"], { XQ_FAKE_JOBS: "4", XQ_JOBLOG: path.join(base, "hup-jobs.log") }, { timeoutMs: 90_000 });
    await until(() => fs.existsSync(path.join(bin, "reached-job")), 60_000, "compile jobs to run");
    await interrupt(run, "SIGHUP", groupsOf(bin));
    expect(fs.existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
    expect(fs.existsSync(path.join(t.root, ".xqbuild", "lock"))).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("xqbuild-jobserver-"))).toEqual([]);
  });
});

describe("16: the live view on a real terminal (tmux) ends on a failure, on Ctrl-C and on SIGTERM, with the error printed", () => {
  const SOCKET = `xq-trust-pty-${process.pid}`;
  const { run: tmux, waitFor: waitScreen } = tmuxServer(SOCKET, 300);
  /** xqbuild in a new tmux session (a pty, CI unset: the listr2 view); the shell prints EXIT=<code> after it, and its pid first. */
  function startPty(s: string, t: Tree, args: string[], env: Record<string, string> = {}): void {
    const q = (v: string): string => `'${v.replace(/'/g, "'\\''")}'`;
    const all: Record<string, string> = { ...(t.env as Record<string, string>), TERM: "xterm-256color", ...env };
    delete all.CI;
    const assign = Object.entries(all).map(([k, v]) => `${k}=${q(v)}`);
    // In the foreground (Ctrl-C reaches it): a shell that says its pid and becomes xqbuild.
    const inner = `echo PID=$$; exec env -u CI ${assign.join(" ")} ${q(process.execPath)} ${q(builtCli())} ${args.map(q).join(" ")} -C ${q(t.root)}`;
    const cmd = `sh -c ${q(inner)}; echo EXIT=$?; sleep 300`;
    tmux(["new-session", "-d", "-s", s, "-x", "120", "-y", "40", cmd]);
  }
  const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
  afterAll(() => {
    spawnSync("tmux", ["-L", SOCKET, "kill-server"], { stdio: "ignore" });
  });

  it("tmux is there (the pty cases need it)", () => {
    expect(hasTmux, "tmux is not installed: the live view cannot be tried in a pty").toBe(true);
  });

  it("a configure that exits 1 ends the view with the error and exit 1, three times out of three", async () => {
    const t = makeTree(base, "pty-fail", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    for (const n of [1, 2, 3]) {
      startPty(`fail${n}`, t, ["all", "qemu-xen", "-j2"], { XQ_FAKE_CONFIGURE_FAIL: "1" });
      const text = await waitScreen(`fail${n}`, /EXIT=\d+/, 40_000);
      expect(text, `try ${n}`).toMatch(/EXIT=1\b/);
      expect(text, `try ${n}`).toMatch(/xqbuild: error: qemu-xen configure \(configure\) failed with exit code 1/);
      expect(text, `try ${n}`).toMatch(/ERROR: fake configure failure/);
    }
  }, 150_000);

  it.each([
    ["Ctrl-C", 130, "SIGINT"],
    ["SIGTERM to xqbuild's pid", 143, "SIGTERM"],
  ] as const)("%s during a build ends the view, says it was interrupted, exit %i", async (_what, code, sig) => {
    const t = makeTree(base, `pty-${sig}`, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    const s = `int-${sig}`;
    startPty(s, t, ["all", "qemu-xen", "-j2"], { XQ_FAKE_JOBS: "200", XQ_JOBLOG: path.join(base, `pty-${sig}.log`) });
    const first = await waitScreen(s, /qemu-xen: build…/, 60_000);
    const pid = Number(/PID=(\d+)/.exec(first)?.[1]);
    await new Promise((r) => setTimeout(r, 700));
    if (sig === "SIGINT") tmux(["send-keys", "-t", s, "C-c"]);
    else process.kill(pid, "SIGTERM");
    const text = await waitScreen(s, /EXIT=\d+/, 15_000);
    expect(text).toMatch(new RegExp(`EXIT=${code}\\b`));
    expect(text).toMatch(new RegExp(`xqbuild: interrupted by ${sig}`));
    // Issue 15 point 4: an interrupted stage is shown stopped (⊘), neither a check nor a cross.
    expect(text).toMatch(new RegExp(`⊘ qemu-xen: build stopped \\(${sig}\\)`));
    expect(text).not.toMatch(/[✔✖] qemu-xen: build/);
    expect(fs.existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
  }, 90_000);

  it("closing the terminal (SIGHUP) during a build: xqbuild, make and its jobs end, no lock, no build stamp, no jobserver directory", async () => {
    const tmp = path.join(base, "tmp-pty-hup");
    fs.mkdirSync(tmp, { recursive: true });
    const t = makeTree(base, "pty-hup", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { TMPDIR: tmp } });
    const joblog = path.join(base, "pty-hup.log");
    startPty("hup", t, ["all", "qemu-xen", "-j2"], { XQ_FAKE_JOBS: "200", XQ_JOBLOG: joblog });
    const first = await waitScreen("hup", /qemu-xen: build…/, 60_000);
    const pid = Number(/PID=(\d+)/.exec(first)?.[1]);
    await until(() => fs.existsSync(joblog), 30_000, "compile jobs to run");
    const groups = groupsOf(joblog);
    tmux(["kill-session", "-t", "hup"]);
    const gone = (): boolean => !pidAlive(pid);
    await until(gone, 5_000, "xqbuild to end on SIGHUP");
    const left = await waitGroupsGone(groups, 5_000);
    killGroups(groups);
    expect(left, "the build's processes left behind").toEqual([]);
    expect(fs.existsSync(path.join(t.root, ".xqbuild", "lock")), "the tree lock").toBe(false);
    expect(fs.existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("xqbuild-jobserver-")), "the jobserver directory").toEqual([]);
  }, 90_000);
});

describe("17: the GNU make differential tests take the real trees from scripts/real-sources.mjs, and in CI a missing tree fails", () => {
  it("the trees are where the script says, for the cache XQBUILD_E2E_CACHE names (not a path under the home directory)", () => {
    // Another cache directory holding the same sources (links to the cached ones).
    const real = realSources();
    const other = path.join(base, "e2e-cache-elsewhere");
    fs.mkdirSync(other, { recursive: true });
    for (const e of fs.readdirSync(real.cache)) fs.symlinkSync(path.join(real.cache, e), path.join(other, e));
    const trees = xenTrees({ env: { ...process.env, XQBUILD_E2E_CACHE: other } });
    expect(trees?.configured).toBe(path.join(other, "xen-configured"));
    expect(trees?.unconfigured).toBe(path.join(other, "src", `xen-${real.xenVersion}`));
    expect(trees?.version).toBe(real.xenVersion);
  });

  const failing = (): never => {
    throw new Error("node scripts/real-sources.mjs --print failed (exit code 1)");
  };
  it("in CI (CI=true) a tree that cannot be had is a failure, naming why", () => {
    expect(() => xenTrees({ env: { CI: "true" }, sources: failing })).toThrow(/not available: node scripts\/real-sources.mjs --print failed.*\n\(CI is set: a missing tree is a failure, not a skip/);
  });

  it("in CI a tree the script names but that is not there (a newer Debian version, an emptied cache) is a failure", () => {
    const gone = path.join(base, "no-such-cache");
    const sources = (): ReturnType<typeof realSources> => ({ ...realSources(), cache: gone, xenTree: path.join(gone, "xen-configured"), xenSource: path.join(gone, "src", "xen-4.17.99"), xenVersion: "4.17.99" });
    expect(() => xenTrees({ env: { CI: "true" }, sources })).toThrow(/Xen 4\.17\.99 trees without .*no-such-cache\/xen-configured\/config\/Tools\.mk/);
  });

  it("outside CI it is a skip, said out loud", () => {
    expect(xenTrees({ env: {}, sources: failing })).toBeUndefined();
  });
});

describe("19: the unit suite compiles the CLI once (its globalSetup) and a failed compile fails the run", () => {
  /** A copy of the project's compiled inputs (node_modules linked), to break without touching the real one. */
  function projectCopy(name: string): string {
    const root = path.join(base, name);
    fs.mkdirSync(root, { recursive: true });
    for (const d of ["src"]) fs.cpSync(path.join(REPO, d), path.join(root, d), { recursive: true });
    for (const f of ["tsconfig.json", "package.json"]) fs.copyFileSync(path.join(REPO, f), path.join(root, f));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
    return root;
  }
  const REPO = path.resolve(import.meta.dirname, "../..");

  it("vitest.config.ts runs test/support/build-cli.ts as a globalSetup, and no test file runs tsc itself", () => {
    expect(fs.readFileSync(path.join(REPO, "vitest.config.ts"), "utf8")).toMatch(/globalSetup: \[[^\]]*"test\/support\/build-cli\.ts"/);
    const offenders = (fs.readdirSync(path.join(REPO, "test"), { recursive: true }) as string[])
      .filter((f) => f.endsWith(".test.ts") && !f.startsWith("faults") && !f.startsWith("e2e"))
      .filter((f) => /["']tsc["']|typescript[/"', ]+bin[/"', ]+tsc/.test(fs.readFileSync(path.join(REPO, "test", f), "utf8")));
    expect(offenders, "test files that compile dist/ themselves").toEqual([]);
  });

  it("a source that does not compile throws with tsc's message and leaves dist/ not marked current; fixed, it compiles once", () => {
    const root = projectCopy("project-copy");
    fs.writeFileSync(path.join(root, "src", "zz-broken.ts"), 'export const broken: number = "not a number";\n');
    expect(() => buildCli(root)).toThrow(/compiling xqbuild .* failed with 2[^]*zz-broken\.ts\(1,14\): error TS2322/);
    expect(fs.existsSync(path.join(root, "dist", ".xqbuild-sources")), "a stamp for a failed compile").toBe(false);
    fs.rmSync(path.join(root, "src", "zz-broken.ts"));
    const cli = buildCli(root);
    expect(cli).toBe(path.join(root, "dist", "src", "cli", "main.js"));
    expect(spawnSync(process.execPath, [cli, "--version"], { encoding: "utf8" }).stdout).toMatch(/^xqbuild \d/);
    // Unchanged sources: no second compile (dist/ is not rewritten).
    const before = fs.statSync(cli).mtimeMs;
    buildCli(root);
    expect(fs.statSync(cli).mtimeMs).toBe(before);
    // Two whole compiles of the project: a minute each on a loaded two-core machine (one CI run
    // timed out at 60 s). This is a guard against a hang, not a measure of speed.
  }, 240_000);
});
