// reproducible: true (issue 16, point 4): QEMU's configure gets -ffile-prefix-map for the tree's
// paths after the glue's arguments, and every configure, build and install runs with
// SOURCE_DATE_EPOCH = the source's commit date; without the setting, argv and environment are the
// glue's (test/golden pins that too). The fake upstream trees record what they are given.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords, type ConfigureRecord, type FixtureRecord } from "../support/records.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-repro-up-")));
});

interface Tree {
  base: string;
  root: string;
  record: string;
  env: Record<string, string | undefined>;
  extra: string[];
}

/** A private Xen tree at <base>/<dir> fetching the fake upstreams; `settings`: the xqbuild config file's JSON. */
function setup(name: string, settings: object | undefined, opts: { dir?: string; env?: Record<string, string | undefined>; dotConfig?: string } = {}): Tree {
  const base = mkdtempSync(path.join(tmpdir(), `xqbuild-repro-${name}-`));
  const root = copyXenTree(path.join(base, opts.dir ?? "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), opts.dotConfig ?? `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  const record = path.join(base, "record.jsonl");
  // (no SOURCE_DATE_EPOCH from the environment the tests run in, unless a test gives one)
  const env: Record<string, string | undefined> = { ...gitEnv(), SOURCE_DATE_EPOCH: undefined, XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_RECORD: record, XQ_FAKE_MESON: "1", ...opts.env };
  const extra: string[] = [];
  if (settings !== undefined) {
    writeFileSync(path.join(base, "xqbuild.json"), JSON.stringify(settings));
    extra.push("--config-file", path.join(base, "xqbuild.json"));
  }
  return { base, root, record, env, extra };
}

async function xq(t: Tree, argv: string[], root = t.root) {
  const output = memoryOutput();
  const code = await main([...argv, ...t.extra, "-C", root], { cwd: t.base, env: t.env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

function takeRecords(t: Tree): FixtureRecord[] {
  const r = existsSync(t.record) ? readRecords(t.record) : [];
  rmSync(t.record, { force: true });
  return r;
}

/** The commit date of HEAD in a checkout, as git gives it. */
function commitDate(dir: string): string {
  return execFileSync("git", ["-C", dir, "show", "-s", "--format=%ct", "HEAD"], { encoding: "utf8", env: gitEnv() }).trim();
}

function configureOf(records: readonly FixtureRecord[]): ConfigureRecord & { sourceDateEpoch?: string } {
  const c = records.filter((r): r is ConfigureRecord & { sourceDateEpoch?: string } => r.tool === "configure");
  expect(c).toHaveLength(1);
  return c[0] as ConfigureRecord;
}

const ON = { reproducible: true };

/** The prefix maps of a tree's root (as spelt): each directory down to QEMU's build directory, relative to that directory. */
const mapsOf = (root: string): string => `-ffile-prefix-map=${root}=../.. -ffile-prefix-map=${root}/tools=.. -ffile-prefix-map=${root}/tools/qemu-xen-build=.`;

describe("reproducible: true", () => {
  let on: Tree;
  let off: Tree;
  let onRecords: FixtureRecord[];
  let offRecords: FixtureRecord[];
  beforeAll(async () => {
    on = setup("on", ON);
    off = setup("off", undefined);
    for (const t of [on, off]) {
      const r = await xq(t, ["install", "--no-cache", "--destdir", path.join(t.base, "dest")]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    onRecords = takeRecords(on);
    offRecords = takeRecords(off);
  }, 120_000);

  it("gives QEMU's configure the prefix maps of its tree after the glue's arguments; without it the argv is the glue's", () => {
    const with_ = configureOf(onRecords).argv;
    const without = configureOf(offRecords).argv;
    // The glue's arguments (the tree's own paths in them), then one --extra-cflags of xqbuild's.
    expect(with_.slice(0, -1)).toEqual(without.map((a) => a.split(off.root).join(on.root)));
    expect(with_.at(-1)).toBe(`--extra-cflags=${mapsOf(on.root)}`);
    expect(without.join(" ")).not.toContain("prefix-map");
  });

  it("runs configure, build and install with SOURCE_DATE_EPOCH = the source's commit date; without it, none", () => {
    const qemuDate = commitDate(path.join(on.root, "tools", "qemu-xen-dir-remote"));
    const biosDate = commitDate(path.join(on.root, "tools", "firmware", "seabios-dir-remote"));
    expect(qemuDate).toMatch(/^\d+$/);
    expect(configureOf(onRecords).sourceDateEpoch).toBe(qemuDate);
    const qemuBuild = onRecords.filter((r) => r.tool === "ninja" || r.tool === "meson" || (r.tool === "make" && r.dir === "qemu-xen-build"));
    expect(qemuBuild.length).toBeGreaterThan(1);
    expect(qemuBuild.map((r) => r.sourceDateEpoch)).toEqual(qemuBuild.map(() => qemuDate));
    const bios = onRecords.filter((r) => r.tool === "make" && r.dir === "seabios");
    // (olddefconfig runs in fetch, before the commit is known to the plan: only all is dated)
    expect(bios.filter((r) => r.tool === "make" && r.target === "all").map((r) => r.sourceDateEpoch)).toEqual([biosDate]);
    expect(offRecords.filter((r) => r.sourceDateEpoch !== undefined)).toEqual([]);
  });

  it("shows in plan: the header line, --json's reproducible and the steps' SOURCE_DATE_EPOCH", async () => {
    const qemuDate = commitDate(path.join(on.root, "tools", "qemu-xen-dir-remote"));
    const text = await xq(on, ["plan"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^# reproducible: true: SOURCE_DATE_EPOCH from each source's commit date \\(.*qemu-xen ${qemuDate}`, "m"));
    expect(text.stdout).toContain(`SOURCE_DATE_EPOCH=${qemuDate} ${on.root}/tools/qemu-xen-dir/configure --enable-xen`);
    expect(text.stdout).toContain(`'--extra-cflags=${mapsOf(on.root)}'`);
    const json = JSON.parse((await xq(on, ["plan", "--json"])).stdout) as { reproducible?: { sourceDateEpoch: Record<string, string>; from: string }; components: Array<{ name: string; stages: Array<{ name: string; kind: string; env?: Record<string, string | null> }> }> };
    expect(json.reproducible).toEqual({ sourceDateEpoch: expect.objectContaining({ "qemu-xen": qemuDate, seabios: commitDate(path.join(on.root, "tools", "firmware", "seabios-dir-remote")) }), from: "commit" });
    const qemu = json.components.find((c) => c.name === "qemu-xen");
    expect(qemu?.stages.filter((s) => s.kind === "run" && ["configure", "build", "install"].includes(s.name)).map((s) => s.env?.SOURCE_DATE_EPOCH)).toEqual([qemuDate, qemuDate, qemuDate]);
    const plain = JSON.parse((await xq(off, ["plan", "--json"])).stdout) as Record<string, unknown>;
    expect("reproducible" in plain).toBe(false);
  }, 60_000);

  it("is part of the stages' fingerprints: turning it off reconfigures and rebuilds", async () => {
    rmSync(path.join(on.base, "xqbuild.json"));
    writeFileSync(path.join(on.base, "xqbuild.json"), JSON.stringify({ reproducible: false }));
    try {
      const r = await xq(on, ["build", "qemu-xen", "--no-cache"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/\[qemu-xen configure\] up to date/);
      const rec = configureOf(takeRecords(on));
      expect(rec.argv.join(" ")).not.toContain("prefix-map");
      expect(rec.sourceDateEpoch).toBeUndefined();
    } finally {
      writeFileSync(path.join(on.base, "xqbuild.json"), JSON.stringify(ON));
    }
  }, 60_000);
});

describe("reproducible: true in two trees at different paths", () => {
  it("maps each tree's own path, and the two share one artifact key", async () => {
    const a = setup("tree-a", ON);
    const b = setup("tree-b", ON, { dir: "a/much/longer/path/to/xen" });
    for (const t of [a, b]) {
      const r = await xq(t, ["install", "qemu-xen", "--destdir", path.join(t.base, "dest")]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const [ra, rb] = [configureOf(takeRecords(a)), configureOf(takeRecords(b))];
    expect(ra.argv.at(-1)).toBe(`--extra-cflags=${mapsOf(a.root)}`);
    expect(rb.argv.at(-1)).toBe(`--extra-cflags=${mapsOf(b.root)}`);
    expect(ra.sourceDateEpoch).toBe(rb.sourceDateEpoch);
    // The artifact key writes the tree's place as <ROOT>: the prefix maps do not split the cache.
    const key = (t: Tree): string => (JSON.parse(readFileSync(path.join(t.root, ".xqbuild", "artifact-keys", "qemu-xen.json"), "utf8")) as { key: string }).key;
    expect(key(a)).toBe(key(b));
  }, 120_000);

  it("a tree reached through a link is mapped by both its paths", async () => {
    const t = setup("link", ON);
    const link = path.join(t.base, "via-link");
    symlinkSync(t.root, link);
    const r = await xq(t, ["configure", "qemu-xen", "--no-cache"], link);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const rec = configureOf(takeRecords(t));
    expect(rec.argv.at(-1)).toBe(`--extra-cflags=${mapsOf(link)} ${mapsOf(t.root)}`);
  }, 60_000);
});

describe("reproducible: true and SeaBIOS's version string", () => {
  it("a release tarball builds with git kept out of buildversion.py (its tracked .version, rewritten, would be dirty); a git checkout as the glue builds it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-repro-tar-"));
    const tarball = path.join(dir, "seabios-1.16.0.tar.gz");
    execFileSync("git", ["--git-dir", repos.seabios.path, "archive", "--format=tar.gz", "--prefix=seabios-1.16.0/", "-o", tarball, "HEAD"], { env: gitEnv() });
    const tarSha = execFileSync("sha256sum", [tarball], { encoding: "utf8" }).split(" ")[0] ?? "";
    const dotConfig = `SEABIOS_UPSTREAM_LOC = ${tarball}\nSEABIOS_UPSTREAM_SHA256 = ${tarSha}\n`;
    const make = (records: readonly FixtureRecord[]): FixtureRecord[] => records.filter((r) => r.tool === "make" && r.dir === "seabios" && r.target === "all");
    for (const [settings, gitDir] of [[ON, "/dev/null"], [undefined, undefined]] as const) {
      const t = setup(`tar-${settings ? "on" : "off"}`, settings, { dotConfig });
      const r = await xq(t, ["build", "seabios", "--no-cache"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const all = make(takeRecords(t));
      expect(all).toHaveLength(1);
      expect(all[0]?.gitDir).toBe(gitDir);
      // (the repository made of a tarball is committed at a fixed date: that is its SOURCE_DATE_EPOCH)
      expect(all[0]?.sourceDateEpoch).toBe(settings ? commitDate(path.join(t.root, "tools", "firmware", "seabios-dir-remote")) : undefined);
    }
    // From git, nothing changes the version SeaBIOS finds (the glue's build of a clean checkout).
    const t = setup("git-bios", ON);
    expect((await xq(t, ["build", "seabios", "--no-cache"])).code).toBe(0);
    expect(make(takeRecords(t)).map((r) => r.gitDir)).toEqual([undefined]);
  }, 90_000);
});

describe("reproducible: true, where the date comes from", () => {
  it("SOURCE_DATE_EPOCH from the environment wins over the commit date", async () => {
    const t = setup("env", ON, { env: { SOURCE_DATE_EPOCH: "1234567890" } });
    const r = await xq(t, ["configure", "qemu-xen", "--no-cache"]);
    expect(r.code, r.stderr).toBe(0);
    expect(configureOf(takeRecords(t)).sourceDateEpoch).toBe("1234567890");
    expect((await xq(t, ["plan"])).stdout).toMatch(/^# reproducible: true: SOURCE_DATE_EPOCH from the environment \(/m);
  }, 60_000);

  it("a SOURCE_DATE_EPOCH that is no number of seconds is refused, naming it, before anything runs", async () => {
    const t = setup("bad-env", ON, { env: { SOURCE_DATE_EPOCH: "yesterday" } });
    const r = await xq(t, ["configure", "qemu-xen", "--no-cache"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SOURCE_DATE_EPOCH in the environment is "yesterday", which is not a time');
    expect(takeRecords(t)).toEqual([]);
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-dir-remote"))).toBe(false);
  }, 60_000);

  it("a local source directory that is no git checkout has no date: refused before configure, naming it", async () => {
    const plain = mkdtempSync(path.join(tmpdir(), "xqbuild-repro-plain-"));
    execFileSync("sh", ["-c", 'git --git-dir="$1" archive HEAD | tar -x -C "$2"', "sh", repos.qemuXen.path, plain], { env: gitEnv() });
    const t = setup("plain", ON, { dotConfig: `QEMU_UPSTREAM_LOC = ${plain}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n` });
    const r = await xq(t, ["configure", "qemu-xen", "--no-cache"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/qemu-xen: reproducible: true \(\S*xqbuild\.json\) builds with SOURCE_DATE_EPOCH set to the source's commit date, but (\S+) is not a git checkout/);
    expect(r.stderr).toContain(`but ${plain} is not a git checkout`);
    expect(takeRecords(t).filter((x) => x.tool === "configure")).toEqual([]);
    // With a date from the environment it builds, and the directory outside the tree is mapped too.
    t.env.SOURCE_DATE_EPOCH = "1700000000";
    const ok = await xq(t, ["configure", "qemu-xen", "--no-cache"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(configureOf(takeRecords(t)).argv.at(-1)).toBe(`--extra-cflags=${mapsOf(t.root)} -ffile-prefix-map=${plain}=../qemu-xen-dir`);
  }, 60_000);

  it("the setting must be true or false", async () => {
    const t = setup("not-bool", { reproducible: "yes" });
    const r = await xq(t, ["plan"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('xqbuild.json: "reproducible" must be true or false.');
  }, 60_000);
});
