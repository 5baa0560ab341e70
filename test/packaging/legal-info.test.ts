import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgs } from "../../src/cli/args.js";
import { main } from "../../src/cli/main.js";
import { csvField, manifestCsv, type ManifestRow } from "../../src/packaging/legal-info.js";
import { memoryOutput } from "../../src/report/output.js";
import { InterruptedError } from "../../src/util/errors.js";
import { cliPath } from "../support/cli-path.js";
import { fileUrl, git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { interrupt, startNodeCli } from "../support/processes.js";
import { copyXenTree } from "../support/xen-tree.js";

const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

/** Every file under dir (relative, sorted), and the sha256 of the whole tree: each path and its bytes. */
function treeOf(dir: string): { files: string[]; sha256: string } {
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      if (lstatSync(path.join(dir, r)).isDirectory()) walk(r);
      else files.push(r);
    }
  };
  walk("");
  const h = createHash("sha256");
  for (const f of files) h.update(`${f}\0`).update(readFileSync(path.join(dir, f))).update("\0");
  return { files, sha256: h.digest("hex") };
}

/** What is beside a legal-info directory: its temporary and set-aside siblings must never stay. */
const siblings = (dir: string): string[] => (existsSync(path.dirname(dir)) ? readdirSync(path.dirname(dir)).filter((f) => f.startsWith(`${path.basename(dir)}.`)) : []);

const P1 = "--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-1.16.0\n+1.16.0-patched\n";
const P2 = "--- /dev/null\n+++ b/NEWFILE\n@@ -0,0 +1 @@\n+added by the queue\n";

let repos: UpstreamRepos;
let base: string;
let srv: string;
/** The commit of the fake qemu-xen tag with subprojects/, and keycodemapdb's. */
let qemuCommit: string;
let keycodeCommit: string;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-legal-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
  // keycodemapdb's upstream, reached only through the mirrors (its own host never resolves).
  srv = path.join(base, "srv");
  const kc = path.join(base, "kc-work");
  git(["init", "-q", kc]);
  mkdirSync(path.join(kc, "data"), { recursive: true });
  writeFileSync(path.join(kc, "meson.build"), "project('keycodemapdb')\n");
  writeFileSync(path.join(kc, "data", "keymaps.csv"), "a,b\n");
  git(["add", "-A"], { cwd: kc });
  git(["commit", "-qm", "keycodemapdb"], { cwd: kc });
  keycodeCommit = git(["rev-parse", "HEAD"], { cwd: kc });
  mkdirSync(srv, { recursive: true });
  git(["clone", "-q", "--bare", kc, path.join(srv, "keycodemapdb.git")]);
  // A QEMU 10-like qemu-xen: a wrap-git meson selects, a wrap-file the config forces (its archive in
  // packagefiles, so no download), and a wrap nothing selects.
  const work = path.join(base, "qemu-work");
  git(["clone", "-q", repos.qemuXen.path, work]);
  git(["checkout", "-q", "qemu-xen-4.17.3"], { cwd: work });
  const sub = path.join(work, "subprojects");
  mkdirSync(path.join(sub, "packagefiles", "libdep"), { recursive: true });
  writeFileSync(path.join(sub, "keycodemapdb.wrap"), `[wrap-git]\nurl = https://gitlab.invalid/qemu-project/keycodemapdb.git\nrevision = ${keycodeCommit}\ndepth = 1\n`);
  const src = path.join(base, "libdep-src");
  mkdirSync(path.join(src, "libdep-1.0"), { recursive: true });
  writeFileSync(path.join(src, "libdep-1.0", "dep.c"), "int dep(void) { return 1; }\n");
  execFileSync("tar", ["-czf", path.join(sub, "packagefiles", "libdep-1.0.tar.gz"), "-C", src, "libdep-1.0"]);
  writeFileSync(path.join(sub, "packagefiles", "libdep", "meson.build"), "project('libdep', 'c')\n");
  writeFileSync(path.join(sub, "libdep.wrap"), `[wrap-file]\ndirectory = libdep-1.0\nsource_filename = libdep-1.0.tar.gz\npatch_directory = libdep\n`);
  writeFileSync(path.join(sub, "unused.wrap"), "[wrap-git]\nurl = https://gitlab.invalid/qemu-project/unused.git\nrevision = v1\n");
  git(["add", "-A"], { cwd: work });
  git(["commit", "-qm", "wraps"], { cwd: work });
  git(["tag", "-f", "wraps-test"], { cwd: work });
  git(["push", "-q", repos.qemuXen.path, "refs/tags/wraps-test"], { cwd: work });
  qemuCommit = git(["rev-parse", "HEAD"], { cwd: work });
});

interface Tree {
  readonly root: string;
  readonly env: Record<string, string | undefined>;
}

/** A Xen tree taking qemu-xen at the tag with wraps and SeaBIOS with a quilt series of two patches. */
function tree(name: string, opts: { patches?: boolean } = {}): Tree {
  const root = copyXenTree(path.join(base, name), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${fileUrl(repos.qemuXen.path)}\nQEMU_UPSTREAM_REVISION = wraps-test\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  const components: Record<string, unknown> = { "qemu-xen": { wraps: { fetch: ["libdep"] } } };
  if (opts.patches !== false) {
    const dir = path.join(root, "patches", "seabios");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "0001-version.patch"), P1);
    writeFileSync(path.join(dir, "0002-newfile.diff"), P2);
    writeFileSync(path.join(dir, "series"), "# a Debian-style series\n0001-version.patch\n0002-newfile.diff -p1\n");
    components.seabios = { patches: "patches/seabios" };
  }
  writeFileSync(path.join(root, ".xqbuildrc.json"), JSON.stringify({ mirrors: { "https://gitlab.invalid/qemu-project/": `${fileUrl(srv)}/` }, components }));
  return { root, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, `cache-${name}`) } };
}

async function xq(t: Tree, argv: string[], signal?: AbortSignal) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: t.env, output, ...(signal ? { signal } : {}) });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

const qemuDir = (t: Tree): string => path.join(t.root, "tools", "qemu-xen-dir");
const seabiosDir = (t: Tree): string => path.join(t.root, "tools", "firmware", "seabios-dir");

/** python3's csv module reading the manifest, as a spreadsheet or a packager's script would. */
function parseCsv(file: string): Record<string, string>[] {
  const out = execFileSync("python3", ["-c", "import csv, json, sys\nwith open(sys.argv[1], newline='') as f: print(json.dumps(list(csv.DictReader(f))))", file], { encoding: "utf8" });
  return JSON.parse(out) as Record<string, string>[];
}

describe("xqbuild legal-info DIR", () => {
  let t: Tree;
  let out: string;
  let first: { files: string[]; sha256: string };

  beforeAll(async () => {
    t = tree("xen");
    const f = await xq(t, ["fetch", "qemu-xen", "seabios"]);
    expect(f.stderr).toBe(f.code === 0 ? f.stderr : "");
    expect(f.code).toBe(0);
    out = path.join(base, "out", "legal-info");
  });

  it("writes the sources, patch queues, licenses and manifest of each component, the same bytes on a rerun", async () => {
    const r = await xq(t, ["legal-info", out, "qemu-xen", "seabios"]);
    expect(r.stderr).toMatch(/wrote .*legal-info: 2 components/);
    expect(r.code).toBe(0);
    first = treeOf(out);
    const qemuTar = readdirSync(path.join(out, "sources")).find((f) => f.startsWith("qemu-xen-") && f.endsWith(".tar.gz")) ?? "";
    const seaTar = readdirSync(path.join(out, "sources")).find((f) => f.startsWith("seabios-") && f.endsWith(".tar.gz")) ?? "";
    expect(qemuTar).toMatch(/^qemu-xen-7\.2\.0-[0-9a-f]{12}\.tar\.gz$/);
    expect(seaTar).toMatch(/^seabios-1\.16\.0-patched-[0-9a-f]{12}\.tar\.gz$/);
    expect(first.files).toEqual([
      ".xqbuild-legal-info",
      "licenses/qemu-xen/COPYING",
      "licenses/qemu-xen/LICENSE",
      "licenses/seabios/COPYING",
      "licenses/seabios/COPYING.LESSER",
      "manifest.csv",
      "manifest.json",
      "patches/seabios/0001-version.patch",
      "patches/seabios/0002-newfile.diff",
      "patches/seabios/series",
      "sbom.cdx.json",
      "sbom.spdx.json",
      `sources/${qemuTar}`,
      `sources/${qemuTar}.sha256`,
      `sources/${seaTar}`,
      `sources/${seaTar}.sha256`,
    ]);
    // The queue as applied: each patch's bytes, and a series quilt reads.
    expect(readFileSync(path.join(out, "patches/seabios/0001-version.patch"), "utf8")).toBe(P1);
    expect(readFileSync(path.join(out, "patches/seabios/0002-newfile.diff"), "utf8")).toBe(P2);
    expect(readFileSync(path.join(out, "patches/seabios/series"), "utf8")).toBe("# The patch queue xqbuild applied to seabios, in order, with GNU patch (as quilt applies a series).\n0001-version.patch\n0002-newfile.diff\n");
    // The license texts are the tree's own files.
    for (const [c, dir] of [["qemu-xen", qemuDir(t)], ["seabios", seabiosDir(t)]] as const) {
      for (const f of readdirSync(path.join(out, "licenses", c))) expect(readFileSync(path.join(out, "licenses", c, f)), `${c} ${f}`).toEqual(readFileSync(path.join(dir, f)));
    }

    // The manifest: one row per component, the JSON and the CSV (read by python's csv) agreeing.
    const rows = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")) as ManifestRow[];
    const seabiosBase = repos.seabios.refs["rel-1.16.0"];
    expect(rows.map(({ patches: _p, licenseFiles: _l, ...row }) => row)).toEqual([
      { component: "qemu-xen", version: "7.2.0", license: "GPL-2.0-only", source: `sources/${qemuTar}`, sha256: sha256(readFileSync(path.join(out, "sources", qemuTar))), url: fileUrl(repos.qemuXen.path), commit: qemuCommit },
      { component: "seabios", version: "1.16.0-patched", license: "LGPL-3.0-only", source: `sources/${seaTar}`, sha256: sha256(readFileSync(path.join(out, "sources", seaTar))), url: repos.seabios.url, commit: seabiosBase },
    ]);
    expect(rows[1]?.patches).toEqual([
      { file: "patches/seabios/0001-version.patch", sha256: sha256(P1) },
      { file: "patches/seabios/0002-newfile.diff", sha256: sha256(P2) },
    ]);
    expect(rows[0]?.patches).toEqual([]);
    expect(rows[1]?.licenseFiles.map((l) => l.file)).toEqual(["licenses/seabios/COPYING.LESSER", "licenses/seabios/COPYING"]);
    expect(parseCsv(path.join(out, "manifest.csv"))).toEqual(rows.map((row) => ({ component: row.component, version: row.version, license: row.license, source: row.source, sha256: row.sha256, url: row.url, commit: row.commit })));
    expect(readFileSync(path.join(out, "manifest.csv"), "utf8").split("\r\n")[0]).toBe("component,version,license,source,sha256,url,commit");
    for (const f of [qemuTar, seaTar]) expect(readFileSync(path.join(out, "sources", `${f}.sha256`), "utf8")).toBe(`${sha256(readFileSync(path.join(out, "sources", f)))}  ${f}\n`);

    // The SBOM of the same trees, both formats, as `xqbuild sbom` prints them.
    for (const [format, file] of [["cyclonedx", "sbom.cdx.json"], ["spdx", "sbom.spdx.json"]] as const) {
      const printed = await xq(t, ["sbom", "qemu-xen", "seabios", "--format", format]);
      expect(printed.code, printed.stderr).toBe(0);
      expect(readFileSync(path.join(out, file), "utf8").trimEnd(), file).toBe(printed.stdout.trimEnd());
    }
    const cdx = JSON.parse(readFileSync(path.join(out, "sbom.cdx.json"), "utf8")) as { specVersion: string; components: Array<{ name: string; licenses?: Array<{ license?: { id?: string } }> }> };
    expect(cdx.specVersion).toBe("1.6");
    expect(cdx.components.filter((c) => c.name === "qemu-xen" || c.name === "seabios").map((c) => [c.name, c.licenses?.[0]?.license?.id])).toEqual([["qemu-xen", "GPL-2.0-only"], ["seabios", "LGPL-3.0-only"]]);

    // A second run replaces the first with the very same bytes, file for file.
    const again = await xq(t, ["legal-info", out, "qemu-xen", "seabios"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/replaced .*legal-info: 2 components/);
    expect(treeOf(out)).toEqual(first);
    expect(siblings(out)).toEqual([]);
  });

  it("packs the wrap subprojects fetch prepared (not .git, not an unused wrap), and dist writes the very same tarballs", async () => {
    const qemuTar = first.files.find((f) => /^sources\/qemu-xen-.*\.tar\.gz$/.test(f)) ?? "";
    const prefix = path.basename(qemuTar, ".tar.gz");
    const listing = execFileSync("tar", ["-tvzf", path.join(out, qemuTar)], { encoding: "utf8" }).trim().split("\n");
    const names = listing.map((l) => l.split(/\s+/).pop() ?? "");
    for (const f of ["subprojects/keycodemapdb/meson.build", "subprojects/keycodemapdb/data/keymaps.csv", "subprojects/keycodemapdb/.meson-subproject-wrap-hash.txt", "subprojects/libdep-1.0/dep.c", "subprojects/libdep-1.0/meson.build", "subprojects/libdep.wrap", "subprojects/unused.wrap", "VERSION"]) {
      expect(names, f).toContain(`${prefix}/${f}`);
    }
    expect(names.filter((n) => n.includes("/.git/") || n.endsWith("/.git")), "git's own files").toEqual([]);
    expect(names.filter((n) => n.includes("subprojects/unused/")), "an unused wrap's directory").toEqual([]);
    // Normalised as the committed files are: sorted, owner 0/0, modes 644 or 755.
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(listing.every((l) => / 0\/0 /.test(l))).toBe(true);
    expect(listing.every((l) => /^-rw-r--r-- |^-rwxr-xr-x /.test(l)), "modes").toBe(true);
    const hashFile = execFileSync("tar", ["-xzOf", path.join(out, qemuTar), `${prefix}/subprojects/keycodemapdb/.meson-subproject-wrap-hash.txt`], { encoding: "utf8" });
    expect(hashFile).toBe(`${sha256(readFileSync(path.join(qemuDir(t), "subprojects", "keycodemapdb.wrap")))}\n`);

    const d = await xq(t, ["dist", "qemu-xen", "seabios", "--json"]);
    expect(d.code, d.stderr).toBe(0);
    const dists = JSON.parse(d.stdout) as Array<{ component: string; file: string; sha256: string; subprojects?: string[] }>;
    expect(dists.map((x) => `sources/${path.basename(x.file)}`)).toEqual(first.files.filter((f) => /^sources\/.*\.tar\.gz$/.test(f)));
    for (const x of dists) expect(sha256(readFileSync(x.file)), x.component).toBe(sha256(readFileSync(path.join(out, "sources", path.basename(x.file)))));
    expect(dists[0]?.subprojects).toEqual(["subprojects/keycodemapdb", "subprojects/libdep-1.0"]);
    expect(dists[1]?.subprojects).toBeUndefined();
  });

  it("leaves out a subproject directory that was not prepared from its wrap (no meson hash, or another wrap's)", async () => {
    const t2 = tree("xen-kept", { patches: false });
    expect((await xq(t2, ["fetch", "qemu-xen"])).code).toBe(0);
    const sub = path.join(qemuDir(t2), "subprojects");
    writeFileSync(path.join(sub, "libdep-1.0", ".meson-subproject-wrap-hash.txt"), `${"0".repeat(64)}\n`);
    rmSync(path.join(sub, "keycodemapdb", ".meson-subproject-wrap-hash.txt"));
    const d = await xq(t2, ["dist", "qemu-xen", "--json"]);
    expect(d.code, d.stderr).toBe(0);
    const [x] = JSON.parse(d.stdout) as Array<{ file: string; subprojects?: string[] }>;
    expect(x?.subprojects).toBeUndefined();
    const names = execFileSync("tar", ["-tzf", x?.file ?? ""], { encoding: "utf8" }).trim().split("\n");
    expect(names.filter((n) => /subprojects\/(keycodemapdb|libdep-1\.0)\//.test(n))).toEqual([]);
  });

  it("refuses a directory that is not empty and not its own output, or its output with a file added; touches neither", async () => {
    const foreign = path.join(base, "out", "mine");
    mkdirSync(path.join(foreign, "sources"), { recursive: true });
    writeFileSync(path.join(foreign, "notes.txt"), "my notes\n");
    const r = await xq(t, ["legal-info", foreign, "seabios"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${foreign} exists, is not empty, and is not a previous output of xqbuild legal-info (it has no .xqbuild-legal-info)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(treeOf(foreign).files).toEqual(["notes.txt"]);
    expect(siblings(foreign)).toEqual([]);

    writeFileSync(path.join(out, "sources", "packager-note.txt"), "do not lose me\n");
    const before = treeOf(out);
    const r2 = await xq(t, ["legal-info", out, "qemu-xen", "seabios"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("holds what legal-info did not write there: sources/packager-note.txt");
    expect(treeOf(out)).toEqual(before);
    rmSync(path.join(out, "sources", "packager-note.txt"));
    expect(treeOf(out)).toEqual(first);

    // An empty directory is taken; a file is not a directory.
    const empty = path.join(base, "out", "empty");
    mkdirSync(empty, { recursive: true });
    expect((await xq(t, ["legal-info", empty, "seabios"])).code).toBe(0);
    expect(existsSync(path.join(empty, "manifest.csv"))).toBe(true);
    const file = path.join(base, "out", "a-file");
    writeFileSync(file, "x");
    const r3 = await xq(t, ["legal-info", file, "seabios"]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(`${file} exists and is not a directory.`);
    // Without a directory at all: a usage error.
    const r4 = await xq(t, ["legal-info"]);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toContain("xqbuild legal-info needs the directory to write into.");
  });

  it("refuses a component not fetched, a tree with a local edit, or a queue changed since the fetch; the previous output stays", async () => {
    const fresh = tree("xen-fresh");
    // Under parents that do not exist yet: they go too.
    const dir = path.join(base, "out", "made", "for", "fresh");
    const r = await xq(fresh, ["legal-info", dir, "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("seabios has not been fetched");
    expect(r.stderr).toContain("Run xqbuild fetch seabios first.");
    expect(existsSync(path.join(base, "out", "made")), "the parents it made").toBe(false);

    // A local edit of a tracked file: dist's refusal, and the previous legal-info untouched.
    const version = path.join(seabiosDir(t), "Makefile");
    const text = readFileSync(version, "utf8");
    writeFileSync(version, `${text}# a local edit\n`);
    try {
      const e = await xq(t, ["legal-info", out, "qemu-xen", "seabios"]);
      expect(e.code).toBe(1);
      expect(e.stderr).toMatch(/seabios-dir has uncommitted changes; a source tarball \(dist, legal-info\) packs the committed tree only:\n M Makefile/);
      expect(treeOf(out)).toEqual(first);
      expect(siblings(out)).toEqual([]);
      // Refused once the writing began (dist's own check): the parents it made are gone as well.
      const e2 = await xq(t, ["legal-info", path.join(base, "out", "made2", "x"), "seabios"]);
      expect(e2.code).toBe(1);
      expect(existsSync(path.join(base, "out", "made2")), "the parents it made").toBe(false);
    } finally {
      writeFileSync(version, text);
    }

    // The config's queue is no longer the one applied: the tarball would not be what patches/ says.
    const series = path.join(t.root, "patches", "seabios", "series");
    writeFileSync(series, "0001-version.patch\n");
    try {
      const q = await xq(t, ["legal-info", out, "seabios"]);
      expect(q.code).toBe(1);
      expect(q.stderr).toMatch(/does not have the configured patch queue of seabios applied \(another queue is\)/);
      expect(q.stderr).toContain("Run xqbuild fetch seabios to apply the configured queue");
      expect(treeOf(out)).toEqual(first);
    } finally {
      writeFileSync(series, "# a Debian-style series\n0001-version.patch\n0002-newfile.diff -p1\n");
    }
    expect((await xq(t, ["legal-info", out, "qemu-xen", "seabios"])).code).toBe(0);
    expect(treeOf(out)).toEqual(first);
  });

  /** A tree whose SeaBIOS has a committed 24 MiB of random bytes: gzip -9 of it takes long enough to be interrupted. */
  let big: Tree | undefined;
  const bigTree = async (): Promise<Tree> => {
    if (big) return big;
    const t3 = tree("xen-big", { patches: false });
    expect((await xq(t3, ["fetch", "seabios"])).code).toBe(0);
    const s = path.join(t3.root, "tools", "firmware", "seabios-dir-remote");
    writeFileSync(path.join(s, "big.bin"), randomBytes(24 * 1024 * 1024));
    git(["add", "big.bin"], { cwd: s });
    git(["commit", "-qm", "big"], { cwd: s });
    return (big = t3);
  };
  /** Resolves once the run with that pid is writing its tarball into its temporary sibling of dir. */
  const packing = async (dir: string, pid: number): Promise<void> => {
    const sources = path.join(`${dir}.xqbuild-tmp-${pid}`, "sources");
    const started = Date.now();
    while (!(existsSync(sources) && readdirSync(sources).some((f) => /\.tmp-\d+$/.test(f)))) {
      if (Date.now() - started > 60_000) throw new Error("legal-info never wrote its tarball");
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it("interrupted while packing: exit 130, no directory and no temporary sibling left, a previous output as it was", async () => {
    const t3 = await bigTree();
    for (const previous of [false, true]) {
      const dir = path.join(base, "out", "big");
      const before = previous ? treeOf(dir) : undefined;
      const c = new AbortController();
      const run = xq(t3, ["legal-info", dir, "seabios"], c.signal);
      await packing(dir, process.pid);
      c.abort(new InterruptedError("SIGINT"));
      const r = await run;
      expect(r.code).toBe(130);
      expect(siblings(dir)).toEqual([]);
      if (before) expect(treeOf(dir)).toEqual(before);
      else expect(existsSync(dir)).toBe(false);
      // Then a whole run, for the second round to have a previous output to keep.
      if (!previous) expect((await xq(t3, ["legal-info", dir, "seabios"])).code).toBe(0);
    }
  }, 120_000);

  it.each(["SIGINT", "SIGTERM"] as const)("%s to the xqbuild process while it packs: exit 128+n at once, nothing left beside DIR", async (sig) => {
    const t3 = await bigTree();
    const dir = path.join(base, "out", `signal-${sig}`);
    const run = startNodeCli(cliPath(), ["legal-info", dir, "seabios", "-C", t3.root], { cwd: t3.root, env: t3.env, timeoutMs: 120_000 });
    await packing(dir, run.pid);
    await interrupt(run, sig);
    expect(existsSync(dir)).toBe(false);
    expect(siblings(dir)).toEqual([]);
  }, 120_000);

  it("names the upstream URL without its credentials, and no file of DIR holds them", async () => {
    const t4 = tree("xen-secret", { patches: false });
    const secret = "https://packager:s3cr3t-token@example.invalid/seabios.git";
    writeFileSync(path.join(t4.root, ".config"), `SEABIOS_UPSTREAM_URL = ${secret}\n`);
    writeFileSync(path.join(t4.root, ".xqbuildrc.json"), JSON.stringify({ mirrors: { "https://packager:s3cr3t-token@example.invalid/": `${fileUrl(repos.baseDir)}/` } }));
    const f = await xq(t4, ["fetch", "seabios"]);
    expect(f.code, f.stderr).toBe(0);
    const dir = path.join(base, "out", "secret");
    const r = await xq(t4, ["legal-info", dir, "seabios"]);
    expect(r.code, r.stderr).toBe(0);
    const [row] = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as ManifestRow[];
    expect(row?.url).toBe("https://example.invalid/seabios.git");
    expect(treeOf(dir).files.filter((f2) => readFileSync(path.join(dir, f2)).includes("s3cr3t"))).toEqual([]);
    // Without the lock's pin (whose URL is stored without them), from the configuration itself.
    rmSync(path.join(t4.root, "xqbuild.lock"));
    expect((await xq(t4, ["legal-info", dir, "seabios"])).code).toBe(0);
    expect((JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as ManifestRow[])[0]?.url).toBe("https://example.invalid/seabios.git");
  });

  it("removes the temporary sibling a killed run left (its process gone), never a live run's", async () => {
    const dir = path.join(base, "out", "stale");
    const dead = execFileSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).trim();
    mkdirSync(path.join(`${dir}.xqbuild-tmp-${dead}`, "sources"), { recursive: true });
    writeFileSync(path.join(`${dir}.xqbuild-tmp-${dead}`, "sources", "half.tar.gz.tmp-1"), "half");
    // pid 1 always runs: that run's directory is not this one's to remove.
    mkdirSync(`${dir}.xqbuild-tmp-1`, { recursive: true });
    const r = await xq(t, ["legal-info", dir, "seabios"]);
    expect(r.code, r.stderr).toBe(0);
    expect(siblings(dir)).toEqual(["stale.xqbuild-tmp-1"]);
    rmSync(`${dir}.xqbuild-tmp-1`, { recursive: true });
  });
});

describe("legal-info's command line", () => {
  it("takes its first word as DIR, whatever it is named, then components", () => {
    const a = parseArgs(["legal-info", "seabios", "qemu-xen", "QEMU_UPSTREAM_REVISION=x"]);
    expect([a.command, a.words, a.components, a.assignments]).toEqual(["legal-info", ["seabios"], ["qemu-xen"], { QEMU_UPSTREAM_REVISION: "x" }]);
    expect(() => parseArgs(["legal-info", "out", "nonsense"])).toThrow(/unknown component "nonsense"/);
    expect(() => parseArgs(["legal-info", "--json"])).toThrow("xqbuild legal-info needs the directory to write into.");
  });
});

describe("the manifest's CSV (RFC 4180)", () => {
  it("quotes a field with a comma, a quote or a line break, doubling quotes; CRLF line ends", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    const row: ManifestRow = { component: "x", version: "1,0", license: "GPL-2.0-only", source: "sources/x.tar.gz", sha256: "0".repeat(64), url: 'https://h/"q"', commit: "1".repeat(40), patches: [], licenseFiles: [] };
    const text = manifestCsv([row]);
    expect(text).toBe(`component,version,license,source,sha256,url,commit\r\nx,"1,0",GPL-2.0-only,sources/x.tar.gz,${"0".repeat(64)},"https://h/""q""",${"1".repeat(40)}\r\n`);
    const file = path.join(mkdtempSync(path.join(tmpdir(), "xqbuild-csv-")), "m.csv");
    writeFileSync(file, text);
    expect(parseCsv(file)).toEqual([{ component: "x", version: "1,0", license: "GPL-2.0-only", source: "sources/x.tar.gz", sha256: "0".repeat(64), url: 'https://h/"q"', commit: "1".repeat(40) }]);
  });
});
