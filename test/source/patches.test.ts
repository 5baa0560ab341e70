import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords } from "../support/records.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-patch-up-")));
});

const P1 = `--- a/VERSION
+++ b/VERSION
@@ -1 +1 @@
-1.16.0
+1.16.0-patched
`;
const P2 = `Index: seabios/NEWFILE
===================================================================
--- /dev/null
+++ b/NEWFILE
@@ -0,0 +1 @@
+added by the queue
`;

function setup(name: string, patches: Record<string, string>, series?: string) {
  const base = mkdtempSync(path.join(tmpdir(), `xqbuild-patch-${name}-`));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  const dir = path.join(root, "patches", "seabios");
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(patches)) writeFileSync(path.join(dir, f), text);
  if (series !== undefined) writeFileSync(path.join(dir, "series"), series);
  writeFileSync(path.join(root, ".xqbuildrc.json"), JSON.stringify({ components: { seabios: { patches: "patches/seabios" } } }));
  const record = path.join(base, "record.jsonl");
  return { root, dir, record, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_RECORD: record } as Record<string, string | undefined> };
}

async function xq(t: ReturnType<typeof setup>, argv: string[]) {
  const output = memoryOutput();
  const code = await main([...argv, "seabios", "-C", t.root], { cwd: t.root, env: t.env, output });
  return { code, stderr: output.stderr.join("\n") };
}

const seabiosDir = (root: string): string => path.join(root, "tools", "firmware", "seabios-dir");

describe("patch queues", () => {
  it("applies a quilt series as commits on the wanted revision, once", async () => {
    const t = setup("series", { "0001-version.patch": P1, "0002-newfile.diff": P2 }, "# Debian-style series\n0001-version.patch\n0002-newfile.diff -p1\n");
    const r = await xq(t, ["fetch"]);
    expect(r.stderr).toMatch(/seabios: applied 2 patches/);
    expect(r.code).toBe(0);
    const s = seabiosDir(t.root);
    expect(readFileSync(path.join(s, "VERSION"), "utf8")).toBe("1.16.0-patched\n");
    expect(readFileSync(path.join(s, "NEWFILE"), "utf8")).toBe("added by the queue\n");
    expect(git(["log", "--format=%s", "-3"], { cwd: s }).trim().split("\n")).toEqual([
      "[xqbuild patch] 0002-newfile.diff",
      "[xqbuild patch] 0001-version.patch",
      git(["log", "--format=%s", "-1", repos.seabios.refs["rel-1.16.0"] as string], { cwd: s }).trim(),
    ]);
    // The lock file records the upstream commit, not the patched one.
    const lock = JSON.parse(readFileSync(path.join(t.root, "xqbuild.lock"), "utf8")) as { components: { seabios: { commit: string } } };
    expect(lock.components.seabios.commit).toBe(repos.seabios.refs["rel-1.16.0"]);
    const head = git(["rev-parse", "HEAD"], { cwd: s }).trim();
    const again = await xq(t, ["fetch"]);
    expect(again.stderr).not.toMatch(/applied/);
    expect(git(["rev-parse", "HEAD"], { cwd: s }).trim()).toBe(head);
    // The same queue on the same commit gives the same commits in another tree.
    const other = setup("series2", { "0001-version.patch": P1, "0002-newfile.diff": P2 }, "0001-version.patch\n0002-newfile.diff\n");
    expect((await xq(other, ["fetch"])).code).toBe(0);
    expect(git(["rev-parse", "HEAD"], { cwd: seabiosDir(other.root) }).trim()).toBe(head);
  });

  it("rebuilds when a patch changes, and applies every *.patch/*.diff in order without a series", async () => {
    const t = setup("change", { "a.patch": P1 });
    expect((await xq(t, ["all"])).code).toBe(0);
    expect(readFileSync(path.join(seabiosDir(t.root), "out", "bios.bin"), "utf8")).toMatch(/version rel-1.16.0-Xen/);
    rmSync(t.record, { force: true });
    expect((await xq(t, ["all"])).code).toBe(0);
    expect(existsSync(t.record)).toBe(false);
    writeFileSync(path.join(t.dir, "b.diff"), P2);
    const r = await xq(t, ["all"]);
    expect(r.code).toBe(0);
    expect(readRecords(t.record).map((x) => (x.tool === "make" ? x.goals : x.tool))).toEqual(["olddefconfig", "all"]);
    expect(existsSync(path.join(seabiosDir(t.root), "NEWFILE"))).toBe(true);
  });

  it("stops at a patch that does not apply, naming it, with the tree back at the clean checkout", async () => {
    const bad = P1.replace("-1.16.0\n", "-9.9.9\n");
    const t = setup("bad", { "0001-ok.diff": P2, "0002-bad.patch": bad });
    const r = await xq(t, ["fetch"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the patch 0002-bad.patch .* does not apply/);
    expect(r.stderr).toMatch(/patch failed|does not apply/);
    // A fresh clone that fails to patch is not left behind as if complete.
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
    // In an existing tree the failure leaves the clean checkout.
    rmSync(path.join(t.dir, "0002-bad.patch"));
    expect((await xq(t, ["fetch"])).code).toBe(0);
    writeFileSync(path.join(t.dir, "0003-bad.patch"), bad);
    const r2 = await xq(t, ["fetch"]);
    expect(r2.code).toBe(1);
    const s = seabiosDir(t.root);
    expect(git(["rev-parse", "HEAD"], { cwd: s }).trim()).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(git(["status", "--porcelain", "--untracked-files=no"], { cwd: s }).trim()).toBe("");
  });

  describe("a quilt series is applied as quilt does (GNU patch, no fuzz)", () => {
    // Debian's series carry what git apply refuses: "Binary files ... differ" entries without data,
    // and hunks whose line numbers moved (an offset is not fuzz: quilt accepts it).
    const OFFSET = `Description: a Debian-style patch with a header and an offset hunk
--- a/Makefile
+++ b/Makefile
@@ -13,4 +13,5 @@
 XQ_HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
 XQ_CMDVARS = $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
+# patched by an offset hunk
 XQ_ENV := MAKELEVEL MAKEFLAGS
 xq_record = python3 $(XQ_HERE)_record.py make seabios '$@' '$(MAKECMDGOALS)' '$(MAKELEVEL)' '$(XQ_ENV)' '$(XQ_CMDVARS)'
`;
    const BINARY = `diff --git a/VERSION b/VERSION
index f3cd98c594..94e695c9f4 100644
--- a/VERSION
+++ b/VERSION
@@ -1 +1 @@
-1.16.0
+1.16.0-deb
diff --git a/Makefile b/Makefile
index 267709e4e4..737e5a2447 100644
Binary files a/Makefile and b/Makefile differ
`;
    const FUZZY = `--- a/VERSION
+++ b/VERSION
@@ -1,2 +1,2 @@
-1.16.0-deb
+1.16.0-fuzzy
 a context line that is not there
`;
        /** git status, without the .config and .version that Xen's SeaBIOS step writes into the tree. */
    const status = (dir: string): string =>
      git(["status", "--porcelain", "--ignored"], { cwd: dir })
        .split("\n")
        .filter((l) => l.trim() !== "" && !/^(\?\?|!!) \.(config|version)$/.test(l))
        .join("\n");
    const series = "# comments and a comment-only patch, as in debian/patches/series\noffset.patch\nbinary.diff\nnotes.patch\n";

    it("applies the series with GNU patch, stages exactly what it changed, and records the tool in the queue's identity", async () => {
      const t = setup("quilt", { "offset.patch": OFFSET, "binary.diff": BINARY, "notes.patch": "Only a description; no change.\n" }, series);
      const r = await xq(t, ["fetch"]);
      expect(r.stderr).toMatch(/seabios: applied 3 patches/);
      expect(r.code).toBe(0);
      const s = seabiosDir(t.root);
      expect(readFileSync(path.join(s, "VERSION"), "utf8")).toBe("1.16.0-deb\n");
      expect(readFileSync(path.join(s, "Makefile"), "utf8")).toContain("$(v)))\n# patched by an offset hunk\nXQ_ENV := MAKELEVEL MAKEFLAGS\n");
      expect(git(["log", "--format=%s", "-3"], { cwd: s }).trim().split("\n")).toEqual(["[xqbuild patch] notes.patch", "[xqbuild patch] binary.diff", "[xqbuild patch] offset.patch"]);
      // Nothing left uncommitted, no .orig or .rej files, and no file patch did not name.
      expect(status(s)).toBe("");
      expect(git(["diff", "--name-only", "HEAD~3", "HEAD"], { cwd: s }).trim().split("\n").sort()).toEqual(["Makefile", "VERSION"]);

      // The same queue with git apply, which a quilt series cannot always satisfy: it names the tool.
      writeFileSync(path.join(t.root, ".xqbuildrc.json"), JSON.stringify({ components: { seabios: { patches: "patches/seabios", patchTool: "git" } } }));
      const g = await xq(t, ["fetch"]);
      expect(g.code).toBe(1);
      expect(g.stderr).toMatch(/the patch (offset\.patch|binary\.diff) .*does not apply .*\(with git apply\)/);
      expect(git(["status", "--porcelain", "--untracked-files=no"], { cwd: s }).trim()).toBe("");
    });

    it("refuses a hunk that needs fuzz, naming the patch and the hunk, and leaves the clean checkout with no reject files", async () => {
      const t = setup("fuzz", { "binary.diff": BINARY, "fuzzy.patch": FUZZY }, "binary.diff\nfuzzy.patch\n");
      const r = await xq(t, ["fetch"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the patch fuzzy\.patch .*does not apply .*\(with GNU patch, as quilt applies a series\)/);
      expect(r.stderr).toMatch(/Hunk #1 FAILED/);
      expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
      // In an existing tree: no half-applied patch, no .rej or .orig files.
      writeFileSync(path.join(t.dir, "series"), "binary.diff\n");
      expect((await xq(t, ["fetch"])).code).toBe(0);
      writeFileSync(path.join(t.dir, "series"), "binary.diff\nfuzzy.patch\n");
      expect((await xq(t, ["fetch"])).code).toBe(1);
      const s = seabiosDir(t.root);
      expect(git(["rev-parse", "HEAD"], { cwd: s }).trim()).toBe(repos.seabios.refs["rel-1.16.0"]);
      expect(status(s)).toBe("");
    });

    it("applies a git-style rename, staging both names, and rejects an unknown patchTool", async () => {
      const RENAME = `diff --git a/VERSION b/VERSION.txt
similarity index 100%
rename from VERSION
rename to VERSION.txt
`;
      const t = setup("rename", { "rename.patch": RENAME }, "rename.patch\n");
      const r = await xq(t, ["fetch"]);
      expect(r.code, r.stderr).toBe(0);
      const s = seabiosDir(t.root);
      expect(existsSync(path.join(s, "VERSION"))).toBe(false);
      expect(readFileSync(path.join(s, "VERSION.txt"), "utf8")).toBe("1.16.0\n");
      expect(status(s)).toBe("");
      expect(git(["diff", "--name-status", "HEAD~1", "HEAD"], { cwd: s }).trim()).toMatch(/^R100\tVERSION\tVERSION\.txt$/);

      writeFileSync(path.join(t.root, ".xqbuildrc.json"), JSON.stringify({ components: { seabios: { patches: "patches/seabios", patchTool: "quilt" } } }));
      const bad = await xq(t, ["fetch"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/components\.seabios\.patchTool.*must be "patch".*or "git"/);
    });
  });
});
