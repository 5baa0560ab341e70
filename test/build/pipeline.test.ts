import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords, type FixtureRecord } from "../support/records.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-pipe-up-")));
});

interface Tree {
  root: string;
  record: string;
  env: Record<string, string | undefined>;
}

function setup(name: string): Tree {
  const base = mkdtempSync(path.join(tmpdir(), `xqbuild-pipe-${name}-`));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\nQEMU_TRADITIONAL_URL = ${repos.qemuTraditional.url}\n`);
  const record = path.join(base, "record.jsonl");
  return { root, record, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_RECORD: record } };
}

async function xq(t: Tree, argv: string[], env: Record<string, string | undefined> = {}) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

function records(t: Tree): FixtureRecord[] {
  return existsSync(t.record) ? readRecords(t.record) : [];
}

function takeRecords(t: Tree): FixtureRecord[] {
  const r = records(t);
  rmSync(t.record, { force: true });
  return r;
}

const summary = (rs: FixtureRecord[]): string[] =>
  rs.filter((r) => r.tool !== "tracetool").map((r) => (r.tool === "make" ? `make ${r.dir} ${r.goals}` : `${r.tool}`));

describe("xqbuild all, then again", () => {
  let t: Tree;
  beforeAll(async () => {
    t = setup("all");
    const r = await xq(t, ["all"]);
    expect(r.stderr).toMatch(/finished/);
    expect(r.code).toBe(0);
  });

  it("fetched, configured and built both default components once", () => {
    const rs = summary(takeRecords(t));
    expect(rs.sort()).toEqual(["configure", "make qemu-xen-build all", "make seabios all", "make seabios olddefconfig"].sort());
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-build", "qemu-system-i386"))).toBe(true);
    expect(readFileSync(path.join(t.root, "tools", "firmware", "seabios-dir", "out", "bios.bin"), "utf8")).toMatch(/rel-1\.16\.0-Xen/);
  });

  it("does nothing on a rerun with nothing changed", async () => {
    const r = await xq(t, ["all"]);
    expect(r.code).toBe(0);
    expect(summary(takeRecords(t))).toEqual([]);
    expect(r.stderr).toMatch(/\[qemu-xen configure\] up to date/);
    expect(r.stderr).toMatch(/\[qemu-xen build\] up to date/);
    expect(r.stderr).toMatch(/\[seabios build\] up to date/);
  });

  it("reconfigures and rebuilds only qemu-xen when its cflags change", async () => {
    const r = await xq(t, ["all", "EXTRA_CFLAGS_QEMU_XEN=-O1"]);
    expect(r.code).toBe(0);
    const rs = takeRecords(t);
    expect(summary(rs)).toEqual(["configure", "make qemu-xen-build all"]);
    const conf = rs.find((x) => x.tool === "configure");
    expect(conf && "argv" in conf ? conf.argv.find((a) => a.startsWith("--extra-cflags=")) : "").toMatch(/-O1$/);
    expect(summary(takeRecords(t))).toEqual([]);
    expect((await xq(t, ["all", "EXTRA_CFLAGS_QEMU_XEN=-O1"])).code).toBe(0);
    expect(summary(takeRecords(t))).toEqual([]);
  });

  it("rebuilds but does not reconfigure after an edit in the source tree", async () => {
    const f = path.join(t.root, "tools", "qemu-xen-dir", "VERSION");
    writeFileSync(f, readFileSync(f, "utf8") + "edited\n");
    expect((await xq(t, ["all", "EXTRA_CFLAGS_QEMU_XEN=-O1"])).code).toBe(0);
    expect(summary(takeRecords(t))).toEqual(["make qemu-xen-build all"]);
  });

  it("refetches and rebuilds only SeaBIOS for a new SeaBIOS revision", async () => {
    const r = await xq(t, ["all", "EXTRA_CFLAGS_QEMU_XEN=-O1", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expect(r.code).toBe(0);
    expect(summary(takeRecords(t))).toEqual(["make seabios olddefconfig", "make seabios all"]);
    expect(readFileSync(path.join(t.root, "tools", "firmware", "seabios-dir", ".version"), "utf8")).toBe("rel-1.16.2\n");
  });

  it("installs into DESTDIR where the glue does", async () => {
    const dest = path.join(path.dirname(t.root), "stage");
    const r = await xq(t, ["install", "--destdir", dest, "EXTRA_CFLAGS_QEMU_XEN=-O1", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expect(r.code).toBe(0);
    expect(summary(takeRecords(t))).toEqual(["make qemu-xen-build install"]);
    expect(existsSync(path.join(dest, "usr/local/lib/xen/bin/qemu-system-i386"))).toBe(true);
    expect(readFileSync(path.join(dest, "usr/local/lib/xen/boot/seabios.bin"), "utf8")).toMatch(/rel-1\.16\.2-Xen/);
  });

  it("cleans with the components' make clean, and distclean removes the trees", async () => {
    expect((await xq(t, ["clean"])).code).toBe(0);
    expect(summary(takeRecords(t)).sort()).toEqual(["make qemu-xen-build clean", "make seabios clean"]);
    // The edited VERSION from the test above is local work: distclean keeps it unless forced.
    const refused = await xq(t, ["distclean"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tools\/qemu-xen-dir-remote holds local work \(1 changed files, 0 local commits\)/);
    expect(readFileSync(path.join(t.root, "tools", "qemu-xen-dir", "VERSION"), "utf8")).toMatch(/edited/);
    expect((await xq(t, ["distclean", "--force"])).code).toBe(0);
    for (const d of ["tools/qemu-xen-dir", "tools/qemu-xen-dir-remote", "tools/qemu-xen-build", "tools/firmware/seabios-dir", "tools/firmware/seabios-dir-remote", ".xqbuild"]) {
      expect(existsSync(path.join(t.root, d))).toBe(false);
    }
  });
});

describe("one job budget when SeaBIOS still builds as QEMU's build starts", () => {
  /** A tree built with -j2 while SeaBIOS's build takes `seconds`: QEMU's ninja -jN, the overlap, the stamp. */
  async function race(name: string, seconds: number, run: (t: Tree, env: Record<string, string>) => Promise<string>) {
    const t = setup(name);
    const joblog = path.join(path.dirname(t.root), "jobs.log");
    const ninjalog = path.join(path.dirname(t.root), "ninja.log");
    const out = await run(t, { XQ_FAKE_MESON: "1", XQ_FAKE_NINJA: "8", XQ_FAKE_SEABIOS_SECONDS: String(seconds), XQ_JOBLOG: joblog, XQ_NINJA_LOG: ninjalog });
    const stamp = JSON.parse(readFileSync(path.join(t.root, ".xqbuild", "stamps", "qemu-xen", "build.json"), "utf8")) as { jobs?: number };
    return { out, ninja: readFileSync(ninjalog, "utf8").trim(), ...maxConcurrent(joblog), stamp };
  }

  it.each([1, 2])("starts QEMU's ninja at -j2, not -j1, when SeaBIOS ends %i s later, never more than 2 jobs", async (seconds) => {
    const r = await race(`race${seconds}`, seconds, async (t, env) => {
      const res = await xq(t, ["all", "-j", "2"], env);
      expect(res.code, res.stderr).toBe(0);
      return res.stderr;
    });
    expect(r.ninja).toBe("-j2");
    expect(r.total).toBe(9);
    expect(r.max).toBeLessThanOrEqual(2);
    // What it ran with is said, and kept in the stage's stamp and log.
    expect(r.out).toMatch(/\[qemu-xen build\] started \(ninja -j2\)/);
    expect(r.stamp.jobs).toBe(2);
  }, 60_000);

  it("does the same under an enclosing make -j2, in its jobserver", async () => {
    const r = await race("race-outer", 2, async (t, env) => {
      const mk = path.join(path.dirname(t.root), "outer.mk");
      writeFileSync(mk, `all:\n\t+@node ${path.resolve("dist/src/cli/main.js")} all -C ${t.root}\n`);
      const { spawnSync } = await import("node:child_process");
      const res = spawnSync("make", ["-j2", "-f", mk, "all"], { env: { ...t.env, ...env } as NodeJS.ProcessEnv, encoding: "utf8" });
      expect(res.status, res.stderr).toBe(0);
      return res.stderr;
    });
    expect(r.out).toMatch(/jobs: 2/);
    expect(r.ninja).toBe("-j2");
    expect(r.max).toBeLessThanOrEqual(2);
    expect(r.out).toMatch(/\[qemu-xen build\] started \(ninja -j2\)/);
  }, 60_000);
});

describe("a stamp holds only while the outputs it stands for exist", () => {
  it("configures and builds again after rm -rf of the build directory, and rebuilds SeaBIOS without out/bios.bin", async () => {
    const t = setup("gone");
    expect((await xq(t, ["all"])).code).toBe(0);
    takeRecords(t);
    rmSync(path.join(t.root, "tools", "qemu-xen-build"), { recursive: true, force: true });
    const r = await xq(t, ["all"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/qemu-xen: configure: tools\/qemu-xen-build\/config\.status is missing, so it runs again/);
    expect(summary(takeRecords(t))).toEqual(["configure", "make qemu-xen-build all"]);
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-build", "qemu-system-i386"))).toBe(true);

    rmSync(path.join(t.root, "tools", "firmware", "seabios-dir", "out", "bios.bin"));
    const again = await xq(t, ["all"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/seabios: build: tools\/firmware\/seabios-dir\/out\/bios\.bin is missing, so it runs again/);
    expect(summary(takeRecords(t))).toEqual(["make seabios all"]);
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir", "out", "bios.bin"))).toBe(true);
    // All there again: nothing runs.
    expect((await xq(t, ["all"])).code).toBe(0);
    expect(summary(takeRecords(t))).toEqual([]);
  }, 60_000);
});

/** Every file under dir with its content, relative paths sorted. */
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of (readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const full = path.join(dir, f);
    if (statSync(full).isFile()) out[f] = readFileSync(full, "utf8");
  }
  return out;
}

const ninjaRuns = (rs: FixtureRecord[]): string[][] => rs.filter((r) => r.tool === "ninja").map((r) => ("argv" in r ? r.argv : []));

describe("a meson build directory (QEMU 5.2 and later, XQ_FAKE_MESON)", () => {
  const meson = { XQ_FAKE_MESON: "1" };
  let t: Tree;
  beforeAll(async () => {
    t = setup("meson");
    const r = await xq(t, ["all", "qemu-xen", "-j", "2"], meson);
    expect(r.stderr).toMatch(/finished/);
    expect(r.code).toBe(0);
  }, 60_000);

  it("builds the installed files that are ninja targets, not configure's files among them, asking ninja once", () => {
    const rs = takeRecords(t);
    const build = path.join(t.root, "tools", "qemu-xen-build");
    // meson-info lists a firmware descriptor configure wrote: ninja would refuse it as an unknown target.
    expect(readFileSync(path.join(build, "meson-info", "intro-installed.json"), "utf8")).toMatch(/50-edk2-i386-secure\.json/);
    expect(ninjaRuns(rs)).toEqual([
      ["-C", build, "-t", "targets", "all"],
      ["-j2", "-d", "keepdepfile", "qemu-system-i386", "trace/trace-events-all"],
    ]);
    expect(existsSync(path.join(build, "qemu-system-i386"))).toBe(true);
    // Not `all`: the test program nobody installs is not built.
    expect(existsSync(path.join(build, "tests", "unit", "check-qdict"))).toBe(false);
  });

  it("does not ask ninja anything on the rerun that finds its stamps up to date", async () => {
    const r = await xq(t, ["all", "qemu-xen", "-j", "2"], meson);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[qemu-xen build\] up to date/);
    expect(takeRecords(t)).toEqual([]);
  });

  it("plan shows what runs in place of make all and make install once the build directory is configured", async () => {
    const r = await xq(t, ["plan", "qemu-xen"], meson);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[build\] +\(cd \S+ && env -u MAKELEVEL make all\)\n +runs: \(cd \S+ && env -u MAKELEVEL NINJA=\S+fake-ninja\.py \S+fake-ninja\.py -jN -d keepdepfile qemu-system-i386 trace\/trace-events-all\) \(N: the job slots it holds\)/);
    expect(r.stdout).toMatch(/\[install\] +\(cd \S+ && make install\)\n +runs: \(cd \S+ && python3 \S+fake-meson\.py install --no-rebuild\)/);
    takeRecords(t);
  });

  it("installs the same files as the tree's own make install", async () => {
    const ours = path.join(path.dirname(t.root), "ours");
    expect((await xq(t, ["install", "qemu-xen", "--destdir", ours], meson)).code).toBe(0);
    expect(takeRecords(t).map((r) => r.tool)).toEqual(["meson"]);
    const theirs = path.join(path.dirname(t.root), "theirs");
    const { spawnSync } = await import("node:child_process");
    const res = spawnSync("make", ["install", `DESTDIR=${theirs}`], { cwd: path.join(t.root, "tools", "qemu-xen-build"), env: t.env as NodeJS.ProcessEnv, encoding: "utf8" });
    expect(res.status, res.stderr).toBe(0);
    const installed = filesUnder(ours);
    expect(Object.keys(installed)).toContain("usr/local/share/qemu-xen/firmware/50-edk2-i386-secure.json");
    expect(installed).toEqual(filesUnder(theirs));
    takeRecords(t);
  });

  it("runs make instead of ninja when pythondeps.toml, which QEMU 10's Makefile remakes config-host.mak from, is newer", async () => {
    const f = path.join(t.root, "tools", "qemu-xen-dir", "pythondeps.toml");
    writeFileSync(f, readFileSync(f, "utf8") + "# edited\n");
    const r = await xq(t, ["all", "qemu-xen", "-j", "2"], meson);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[qemu-xen build\] started \(make/);
    const rs = takeRecords(t);
    expect(summary(rs)).toContain("make qemu-xen-build qemu-system-i386 trace/trace-events-all");
    expect(ninjaRuns(rs).filter((a) => !a.includes("-t"))).toEqual([["-j2", "-d", "keepdepfile", "qemu-system-i386", "trace/trace-events-all"]]);
  }, 60_000);
});

describe("failures", () => {
  it("reports a failed configure with the command, exit code, output tail and log, and writes no stamp", async () => {
    const t = setup("fail");
    const r = await xq(t, ["all", "qemu-xen"], { XQ_FAKE_CONFIGURE_FAIL: "1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/qemu-xen configure \(configure\) failed with exit code \d+/);
    expect(r.stderr).toMatch(/command: .*qemu-xen-dir\/configure --enable-xen/);
    expect(r.stderr).toMatch(/full log: .*\.xqbuild\/logs\/qemu-xen-configure\.log/);
    expect(existsSync(path.join(t.root, ".xqbuild", "stamps", "qemu-xen", "configure.json"))).toBe(false);
    takeRecords(t);
    const again = await xq(t, ["all", "qemu-xen"]);
    expect(again.code).toBe(0);
    expect(summary(takeRecords(t))).toEqual(["configure", "make qemu-xen-build all"]);
  });

  it("refuses qemu-xen-traditional on a tree whose release removed it", async () => {
    const t = setup("trad421");
    const mk = path.join(t.root, "xen", "Makefile");
    const text = readFileSync(mk, "utf8").replace(/^export XEN_SUBVERSION\s*=\s*17$/m, "export XEN_SUBVERSION    = 21");
    rmSync(mk);
    writeFileSync(mk, text);
    const r = await xq(t, ["all", "qemu-xen-traditional"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Xen 4.21 removed qemu-xen-traditional/);
  });
});

/** The largest number of fake compile jobs running at once, from their start/end log. */
function maxConcurrent(log: string): { max: number; total: number } {
  const events = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .map(([sign, ts]) => ({ d: sign === "+" ? 1 : -1, t: Number(ts) }))
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let cur = 0;
  let max = 0;
  for (const e of events) {
    cur += e.d;
    max = Math.max(max, cur);
  }
  return { max, total: events.length / 2 };
}

describe("one job budget", () => {
  it.each([1, 2, 3])("never runs more than -j %i compile jobs across both components", async (n) => {
    const t = setup(`jobs${n}`);
    const joblog = path.join(path.dirname(t.root), "jobs.log");
    const r = await xq(t, ["all", "-j", String(n)], { XQ_FAKE_JOBS: "6", XQ_JOBLOG: joblog });
    expect(r.code).toBe(0);
    const { max, total } = maxConcurrent(joblog);
    expect(total).toBe(12);
    expect(max).toBeLessThanOrEqual(n);
    // The budget is used, not just respected: with n > 1 jobs do run side by side.
    if (n > 1) expect(max).toBeGreaterThan(1);
  }, 60_000);

  it("joins the jobserver of an enclosing make instead of making its own", async () => {
    const t = setup("outer");
    const joblog = path.join(path.dirname(t.root), "jobs.log");
    const mk = path.join(path.dirname(t.root), "outer.mk");
    const cli = path.resolve("dist/src/cli/main.js");
    writeFileSync(mk, `all:\n\t+@node ${cli} all -C ${t.root}\nother:\n\t@echo "+ $$(date +%s.%N) outer" >> ${joblog}; sleep 0.3; echo "- $$(date +%s.%N) outer" >> ${joblog}\n`);
    const { spawnSync } = await import("node:child_process");
    const res = spawnSync("make", ["-j2", "-f", mk, "all"], { env: { ...t.env, XQ_FAKE_JOBS: "6", XQ_JOBLOG: joblog } as NodeJS.ProcessEnv, encoding: "utf8" });
    expect(res.stderr + res.stdout).toMatch(/jobs: 2/);
    expect(res.status).toBe(0);
    const { max, total } = maxConcurrent(joblog);
    expect(total).toBe(12);
    expect(max).toBeLessThanOrEqual(2);
  }, 60_000);
});

describe("one job budget with a tool that ignores the jobserver", () => {
  it.each([2, 3])("reserves slots for QEMU's ninja so that -j %i holds with SeaBIOS building alongside", async (n) => {
    const t = setup(`ninja${n}`);
    const joblog = path.join(path.dirname(t.root), "jobs.log");
    const ninjalog = path.join(path.dirname(t.root), "ninja.log");
    const r = await xq(t, ["all", "-j", String(n)], { XQ_FAKE_NINJA: "8", XQ_FAKE_JOBS: "6", XQ_JOBLOG: joblog, XQ_NINJA_LOG: ninjalog });
    expect(r.code).toBe(0);
    const { max, total } = maxConcurrent(joblog);
    expect(total).toBe(14);
    expect(max).toBeLessThanOrEqual(n);
    // ninja was given -jK with K the slots it could have, at least 1 and at most n.
    const k = Number(/-j(\d+)/.exec(readFileSync(ninjalog, "utf8"))?.[1]);
    expect(k).toBeGreaterThanOrEqual(1);
    expect(k).toBeLessThanOrEqual(n);
  }, 60_000);
});
