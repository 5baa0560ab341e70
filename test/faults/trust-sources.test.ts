// Issue 14, the source layer: URLs a fetched file names (.gitmodules, meson wraps) may not reach
// local repositories (1); nothing a fetched tree says writes outside its component directory (2);
// a patch may not touch .git/ (4); a server with many tags leaves a packed mirror (7); revision
// round trips are not local work (13); xqbuild's own writes are not edits (14).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES_UPSTREAM, fileUrl, git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, expectOk, head, makeTree, mirrors, oneCommitRepo, qemuFiles, qemuRemote, removeBases, seabiosRemote, tempBase, urlLines, xq, type Tree } from "./support.js";

let base: string;
let repos: UpstreamRepos;

beforeAll(() => {
  builtCli();
  base = tempBase("trust-src");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

interface Status {
  name: string;
  dirty?: string[];
  localCommits?: string[];
}

async function statusOf(t: Tree, name: string): Promise<Status> {
  const r = await xq(t, ["status", "--json"]);
  expectOk(r);
  const all = JSON.parse(r.stdout) as { components: Status[] };
  const c = all.components.find((x) => x.name === name);
  expect(c, `status --json has ${name}`).toBeDefined();
  return c as Status;
}

describe("13: revision round trips are not local work", () => {
  it("default tag, then a newer branch, back, and forth again: no local commits, no --force", async () => {
    const t = makeTree(base, "roundtrip", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    const q = qemuRemote(t);
    expectOk(await xq(t, ["fetch", "qemu-xen"]));
    const first = head(q);
    expect(first).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect((await statusOf(t, "qemu-xen")).localCommits).toEqual([]);
    for (const [rev, want] of [
      ["stable-4.17", repos.qemuXen.refs["stable-4.17"]],
      ["", first],
      ["master", repos.qemuXen.refs.master],
      ["", first],
      ["stable-4.17", repos.qemuXen.refs["stable-4.17"]],
    ] as const) {
      const env = rev === "" ? {} : { QEMU_UPSTREAM_REVISION: rev };
      const r = await xq(t, ["fetch", "qemu-xen"], env);
      expectOk(r);
      expect(head(q), `at ${rev || "the default"}`).toBe(want);
      const s = await xq(t, ["status", "--json"], env);
      expectOk(s);
      const c = (JSON.parse(s.stdout) as { components: Status[] }).components.find((x) => x.name === "qemu-xen");
      expect(c?.localCommits, `status after moving to ${rev || "the default"}`).toEqual([]);
      expect(c?.dirty).toEqual([]);
    }
    // A real local commit is still local work.
    writeFileSync(path.join(q, "VERSION"), "mine\n");
    git(["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qam", "my change"], { cwd: q });
    expect((await statusOf(t, "qemu-xen")).localCommits?.length).toBe(1);
    const r = await xq(t, ["fetch", "qemu-xen"], { QEMU_UPSTREAM_REVISION: "master" });
    expect(r.code).toBe(1);
    expect(expectCleanError(r.stderr, { maxLines: 16 })).toMatch(/local commit: [0-9a-f]+ my change/);
  });
});

describe("14: xqbuild's own writes are not edits", () => {
  it("a SeaBIOS repository that tracks .version (made from a release tarball): status clean, dist and distclean go ahead", async () => {
    // A SeaBIOS repository made from the release tarball, whose .version is tracked ("1.16.0").
    const work = path.join(base, "work-sb-version");
    execFileSync("cp", ["-a", `${path.join(FIXTURES_UPSTREAM, "seabios")}/.`, work]);
    writeFileSync(path.join(work, "_record.py"), readFileSync(path.join(FIXTURES_UPSTREAM, "_record.py")));
    writeFileSync(path.join(work, ".version"), "1.16.0\n");
    const bare = path.join(base, "upstream", "seabios-tarball.git");
    const env = { ...gitEnv(), GIT_AUTHOR_DATE: "2023-05-01T12:00:00Z", GIT_COMMITTER_DATE: "2023-05-01T12:00:00Z" };
    git(["init", "-q", work], { env });
    git(["add", "-A", "."], { cwd: work, env });
    git(["commit", "-q", "-m", "SeaBIOS 1.16.0 from its release tarball"], { cwd: work, env });
    git(["tag", "rel-1.16.0"], { cwd: work, env });
    git(["clone", "-q", "--bare", work, bare], { env });
    const t = makeTree(base, "sb-version", { config: urlLines({ qemu: repos.qemuXen.url, seabios: fileUrl(bare) }) });
    expectOk(await xq(t, ["fetch", "seabios"]));
    const s = seabiosRemote(t);
    expect(readFileSync(path.join(s, ".version"), "utf8")).toBe("rel-1.16.0\n"); // written as the glue writes it
    expect(git(["status", "--porcelain", "--untracked-files=no"], { cwd: s })).toBe("M .version");
    const st = await statusOf(t, "seabios");
    expect(st.dirty).toEqual([]);
    expect(st.localCommits).toEqual([]);
    const text = await xq(t, ["status"]);
    expectOk(text);
    expect(text.stdout).not.toMatch(/1 changed file/);
    const dist = await xq(t, ["dist", "seabios", "--json"]);
    expectOk(dist);
    const [packed] = JSON.parse(dist.stdout) as Array<{ file: string }>;
    expect(execFileSync("tar", ["-xzOf", packed?.file ?? "", "--wildcards", "*/.version"], { encoding: "utf8" }), "dist packs the committed .version").toBe("1.16.0\n");
    // A real edit beside it is still local work.
    writeFileSync(path.join(s, "Makefile"), `${readFileSync(path.join(s, "Makefile"), "utf8")}# mine\n`);
    expect((await statusOf(t, "seabios")).dirty).toEqual([" M Makefile"]);
    expect((await xq(t, ["distclean", "seabios"])).code).toBe(1);
    git(["checkout", "--", "Makefile"], { cwd: s });
    expectOk(await xq(t, ["distclean", "seabios"]));
    expect(existsSync(s)).toBe(false);
  });
});



describe("1: a fetched .gitmodules may not reach this machine's repositories", () => {
  let secret: string;
  let secretCommit: string;
  let hostile: string;
  beforeAll(() => {
    // A private repository of the user's, elsewhere on the machine.
    secret = path.join(base, "private", "secret.git");
    secretCommit = oneCommitRepo(secret, { "meson.py": "# fake meson\n", "PRIVATE.txt": "the user's private work\n" }, "v1");
    // A superproject (on a server the user named) whose .gitmodules names it, one tag per spelling.
    hostile = path.join(base, "upstream", "qemu-gitmodules.git");
    for (const [tag, url] of [
      ["file-url", fileUrl(secret)],
      ["plain-path", secret],
      ["file-no-slashes", `file:${secret}`],
      ["relative-climb", `../../private/secret.git`],
    ] as const) {
      oneCommitRepo(hostile, qemuFiles({ ".gitmodules": `[submodule "meson"]\n\tpath = meson\n\turl = ${url}\n` }), tag, { meson: secretCommit });
    }
  });

  it.each(["file-url", "plain-path", "file-no-slashes", "relative-climb"])("%s: refused naming .gitmodules, the key and the URL; no mirror of it, no tree", async (tag) => {
    const t = makeTree(base, `gm-${tag}`, { config: [...urlLines({ qemu: fileUrl(hostile) }), `QEMU_UPSTREAM_REVISION = ${tag}`] });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code, r.stderr).toBe(1);
    const para = expectCleanError(r.stderr, { maxLines: 10 });
    expect(para).toMatch(/\.gitmodules/);
    expect(para).toMatch(/submodule\.meson\.url/);
    expect(para).toMatch(/secret\.git/);
    expect(para).toMatch(/mirrors/);
    expect(mirrors(t.cache, "secret"), "no mirror of the private repository").toEqual([]);
    expect(existsSync(qemuRemote(t))).toBe(false);
    expect(existsSync(`${qemuRemote(t)}.xqbuild-tmp`)).toBe(false);
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-dir"))).toBe(false);
  });

  it("a move of an existing tree to such a revision is refused before the tree moves", async () => {
    const good = path.join(base, "upstream", "qemu-gitmodules-good.git");
    const sub = path.join(base, "upstream", "meson-pub.git");
    const subCommit = oneCommitRepo(sub, { "meson.py": "# public meson\n" }, "v1");
    const goodCommit = oneCommitRepo(good, qemuFiles({ ".gitmodules": `[submodule "meson"]\n\tpath = meson\n\turl = ../meson-pub.git\n` }), "good", { meson: subCommit });
    // The bad revision in the same repository as the good one.
    oneCommitRepo(good, qemuFiles({ ".gitmodules": `[submodule "meson"]\n\tpath = meson\n\turl = ${fileUrl(secret)}\n` }), "bad", { meson: secretCommit });
    const t = makeTree(base, "gm-move", { config: [...urlLines({ qemu: fileUrl(good) }), "QEMU_UPSTREAM_REVISION = good"] });
    expectOk(await xq(t, ["fetch", "qemu-xen"]));
    expect(readFileSync(path.join(qemuRemote(t), "meson", "meson.py"), "utf8")).toBe("# public meson\n"); // a sibling, by relative URL: allowed
    const r = await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=bad"]);
    expect(r.code, r.stderr).toBe(1);
    expect(expectCleanError(r.stderr, { maxLines: 10 })).toMatch(/\.gitmodules, key submodule\.meson\.url/);
    expect(head(qemuRemote(t)), "the tree did not move").toBe(goodCommit);
    expect(mirrors(t.cache, "secret")).toEqual([]);
  });

  it("the user's own mirrors setting may map such a URL (the user names the local copy)", async () => {
    const t = makeTree(base, "gm-mirrored", { config: [...urlLines({ qemu: fileUrl(hostile) }), "QEMU_UPSTREAM_REVISION = file-url"] });
    writeFileSync(path.join(t.root, ".xqbuildrc.json"), JSON.stringify({ mirrors: { [fileUrl(secret)]: fileUrl(secret) } }));
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expectOk(r);
    expect(readFileSync(path.join(qemuRemote(t), "meson", "PRIVATE.txt"), "utf8")).toBe("the user's private work\n");
  });

  it("plain git refuses the same: `git submodule update --init` with git's default configuration", () => {
    const clone = path.join(base, "plain-git-clone");
    git(["clone", "-q", "--branch", "file-url", fileUrl(hostile), clone]);
    const r = spawnSync("git", ["submodule", "update", "--init"], { cwd: clone, env: gitEnv(), encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/transport 'file' not allowed/);
  });
});

describe("4: a patch may not touch .git/", () => {
  const marker = (): string => path.join(base, "MARKER-filter-ran");
  const evilConfig = (): string => `+[filter "xqevil"]\n+\tclean = sh -c 'echo clean >> ${marker()}; cat'\n+\tsmudge = sh -c 'echo smudge >> ${marker()}; cat'\n`;
  const cases: Array<[string, () => string]> = [
    ["a quilt series (GNU patch) appending a [filter] to .git/config", () => `--- a/.git/config\n+++ b/.git/config\n@@ -0,0 +1,3 @@\n${evilConfig()}--- a/.gitattributes\n+++ b/.gitattributes\n@@ -0,0 +1 @@\n+* filter=xqevil\n--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-1.16.0\n+1.16.0 patched\n`],
    ["a git diff creating .git/info/attributes", () => `diff --git a/.git/info/attributes b/.git/info/attributes\nnew file mode 100644\n--- /dev/null\n+++ b/.git/info/attributes\n@@ -0,0 +1 @@\n+* filter=xqevil\n`],
    ["a rename into .GIT/ (another case)", () => `diff --git a/VERSION b/.GIT/hooks/x\nsimilarity index 100%\nrename from VERSION\nrename to .GIT/hooks/x\n`],
    ["a path under a symbolic link the patch creates", () => `diff --git a/lnk b/lnk\nnew file mode 120000\n--- /dev/null\n+++ b/lnk\n@@ -0,0 +1 @@\n+.git\n\\ No newline at end of file\ndiff --git a/lnk/config b/lnk/config\n--- a/lnk/config\n+++ b/lnk/config\n@@ -0,0 +1,3 @@\n${evilConfig()}`],
  ];
  it.each(cases)("%s: refused before anything is applied, naming the patch and the path", async (what, text) => {
    const name = `patch-${cases.findIndex((c) => c[0] === what)}`;
    const t = makeTree(base, name, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    const dir = path.join(t.root, "patches", "seabios");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "evil.patch"), text());
    writeFileSync(path.join(dir, "series"), "evil.patch\n");
    writeFileSync(path.join(t.root, ".xqbuildrc.json"), JSON.stringify({ components: { seabios: { patches: "patches/seabios" } } }));
    rmSync(marker(), { force: true });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(existsSync(marker()) ? readFileSync(marker(), "utf8") : "", "a filter from the patch ran").toBe("");
    expect(r.code, r.stderr).toBe(1);
    const para = expectCleanError(r.stderr, { maxLines: 10 });
    expect(para).toMatch(/evil\.patch/);
    expect(para).toMatch(/\.git\/|symbolic link/i);
    expect(existsSync(seabiosRemote(t)), "no tree left behind").toBe(false);
  });

  it("with the patch applied by hand, plain git refuses what the patch asks: `git apply --index` of a .git/ path", () => {
    const clone = path.join(base, "plain-git-apply");
    git(["clone", "-q", repos.seabios.url, clone]);
    writeFileSync(path.join(base, "p.diff"), cases[1]?.[1]() ?? "");
    const r = spawnSync("git", ["apply", "--index", path.join(base, "p.diff")], { cwd: clone, env: gitEnv(), encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/invalid path|beyond a symbolic link|\.git/);
  });
});

describe("7: a server with a huge number of tags", () => {
  it("20 000 tags: after the fetch the mirror holds them packed, no loose tag files", async () => {
    // A copy of the fake qemu-xen with 20 000 more tags (written packed on the server's side).
    const many = path.join(base, "upstream", "qemu-many-tags.git");
    git(["clone", "-q", "--bare", repos.qemuXen.path, many]);
    const c1 = repos.qemuXen.refs["qemu-xen-4.17.3"] as string;
    const lines = Array.from({ length: 20_000 }, (_, i) => `create refs/tags/many-${String(i).padStart(5, "0")} ${c1}\n`).join("");
    const u = spawnSync("git", ["update-ref", "--stdin"], { cwd: many, env: gitEnv(), input: lines, encoding: "utf8" });
    expect(u.status, u.stderr).toBe(0);
    git(["pack-refs", "--all", "--prune"], { cwd: many });
    // A revision by abbreviated commit id: xqbuild fetches the branches and tags to find it.
    const t = makeTree(base, "many-tags", { config: [...urlLines({ qemu: fileUrl(many) }), `QEMU_UPSTREAM_REVISION = ${(repos.qemuXen.refs.master as string).slice(0, 10)}`] });
    expectOk(await xq(t, ["fetch", "qemu-xen"], {}, { timeoutMs: 120_000 }));
    expect(head(qemuRemote(t))).toBe(repos.qemuXen.refs.master);
    const [mirror] = mirrors(t.cache, "qemu-many-tags");
    expect(mirror).toBeDefined();
    const tagsDir = path.join(mirror as string, "refs", "tags");
    expect(existsSync(tagsDir) ? readdirSync(tagsDir).length : 0, "loose tag files in the mirror").toBe(0);
    expect(git(["for-each-ref", "--count=1", "refs/tags/many-19999"], { cwd: mirror as string })).toMatch(/many-19999/);
  }, 180_000);
});

describe("2: nothing a fetched tree says writes outside its component directory", () => {
  let outside: string;
  beforeAll(() => {
    outside = path.join(base, "outside-the-tree");
    mkdirSync(outside, { recursive: true });
    // A meson subproject whose repository tracks a symbolic link out of it.
    const fooWork = path.join(base, "upstream", "wraps", "foo.git.work");
    mkdirSync(fooWork, { recursive: true });
    writeFileSync(path.join(fooWork, "meson.build"), "project('foo')\n");
    symlinkSync(outside, path.join(fooWork, "link"));
    const env = { ...gitEnv(), GIT_AUTHOR_DATE: "2023-05-01T12:00:00Z", GIT_COMMITTER_DATE: "2023-05-01T12:00:00Z" };
    git(["init", "-q", fooWork], { env });
    git(["add", "-A", "."], { cwd: fooWork, env });
    git(["commit", "-q", "-m", "foo"], { cwd: fooWork, env });
    git(["tag", "v1"], { cwd: fooWork, env });
    git(["clone", "-q", "--bare", fooWork, path.join(base, "upstream", "wraps", "foo.git")], { env });
  });

  function wrapTree(name: string, wrap: string, extra: Record<string, string> = {}): Tree {
    const up = path.join(base, "upstream", `qemu-${name}.git`);
    oneCommitRepo(up, qemuFiles({ "subprojects/foo.wrap": wrap, ...extra }), "w1");
    const t = makeTree(base, name, { config: [...urlLines({ qemu: fileUrl(up) }), "QEMU_UPSTREAM_REVISION = w1"] });
    writeFileSync(path.join(t.root, ".xqbuildrc.json"), JSON.stringify({ mirrors: { "https://example.invalid/wraps/": `${fileUrl(path.join(base, "upstream", "wraps"))}/` }, components: { "qemu-xen": { wraps: { fetch: ["foo"] } } } }));
    return t;
  }

  it("a patch_directory copied over a tracked symbolic link of the subproject is refused; nothing written outside", async () => {
    const t = wrapTree("wrap-link", "[wrap-git]\nurl = https://example.invalid/wraps/foo.git\nrevision = v1\npatch_directory = foo\n", { "subprojects/packagefiles/foo/link/evil.txt": "planted\n" });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(readdirSync(outside), "written through the link").toEqual([]);
    expect(r.code, r.stderr).not.toBe(0);
    const para = expectCleanError(r.stderr, { maxLines: 10 });
    expect(para).toMatch(/foo\.wrap/);
    expect(para).toMatch(/patch_directory/);
    expect(para).toMatch(/symbolic link/);
    expect(existsSync(qemuRemote(t))).toBe(false);
  });

  it("directory = ../.git/x is refused naming the wrap file and the key; nothing planted in .git/", async () => {
    const t = wrapTree("wrap-dotgit", "[wrap-git]\nurl = https://example.invalid/wraps/foo.git\nrevision = v1\ndirectory = ../.git/x\n");
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code, r.stderr).not.toBe(0);
    const para = expectCleanError(r.stderr, { maxLines: 10 });
    expect(para).toMatch(/foo\.wrap: "directory"/);
    expect(existsSync(qemuRemote(t))).toBe(false);
  });
});
