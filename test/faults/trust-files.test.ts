// Issue 14, points 3, 9, 10 (state) and 15: filesystem safety and the caches. No removal or write of
// xqbuild's follows a symbolic link out of the tree, .xqbuild/, a build directory, DESTDIR or the
// cache; the artifact cache owns only what xqbuild wrote there; a remote artifact that does not
// unpack cleanly never reaches DESTDIR (it is dropped and the component built instead); odd state
// (a directory where a file must be, a file where a directory must be) is a one-paragraph message;
// standalone mode starts from an empty directory.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { fileUrl, git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { startWebDav } from "../support/servers.js";
import { builtCli, expectCleanError, expectNoStack, expectOk, makeTree, removeBases, runCli, tempBase, urlLines, xq } from "./support.js";

let base: string;
let repos: UpstreamRepos;
let n = 0;

beforeAll(() => {
  builtCli();
  base = tempBase("trust-files");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

const tree = (env: Record<string, string | undefined> = {}, cache?: string) =>
  makeTree(base, `t${n++}`, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { XQBUILD_CCACHE: "0", ...env }, ...(cache ? { cache } : {}) });

/** A directory outside every tree, with a file that must survive. */
function outside(name: string): { dir: string; sentinel: string } {
  const dir = path.join(base, `outside-${name}`);
  mkdirSync(dir, { recursive: true });
  const sentinel = path.join(dir, "precious");
  writeFileSync(sentinel, "not xqbuild's\n");
  return { dir, sentinel };
}

const HEX = "a".repeat(64);
const sha256 = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");
/** Back-dates a path by two hours: old enough for prune's "interrupted write" rule. */
const age = (p: string): void => {
  const t = new Date(Date.now() - 7_200_000);
  utimesSync(p, t, t);
};
const BIOS = "usr/local/lib/xen/boot/seabios.bin";

/** Runs a python3 program (tarfile writes the entries node-tar and GNU tar refuse to write). */
function py(program: string, ...args: string[]): void {
  const r = spawnSync("python3", ["-c", program, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
}

const filesUnder = (dir: string): string[] => (existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).sort() : []);

describe.concurrent("point 3: no delete or write follows a link out of the tree", () => {
  it("distclean with .xqbuild a link to the tree's parent: refused, naming the link; the parent is untouched", async ({ expect }) => {
    const t = tree();
    const out = outside("state-link");
    symlinkSync(out.dir, path.join(t.root, ".xqbuild"));
    const r = await xq(t, ["distclean"]);
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(path.join(t.root, ".xqbuild"));
    expect(para).toMatch(/symbolic link/);
    expect(filesUnder(out.dir)).toEqual(["precious"]);
    expect(lstatSync(path.join(t.root, ".xqbuild")).isSymbolicLink()).toBe(true);
  });

  it("a build with .xqbuild/stamps a link out: no stamp, lock or log is written there", async ({ expect }) => {
    const t = tree();
    const out = outside("stamps-link");
    mkdirSync(path.join(t.root, ".xqbuild"));
    symlinkSync(out.dir, path.join(t.root, ".xqbuild", "stamps"));
    const r = await xq(t, ["all", "seabios"]);
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(path.join(t.root, ".xqbuild", "stamps"));
    expect(filesUnder(out.dir)).toEqual(["precious"]);
  });

  it("a tree handed over with .xqbuild/logs a link out, or a log that is a link to a file: no log is written through either", async ({ expect }) => {
    const out = outside("logs");
    const t = tree();
    mkdirSync(path.join(t.root, ".xqbuild"));
    symlinkSync(out.dir, path.join(t.root, ".xqbuild", "logs"));
    const r = await xq(t, ["all", "seabios"]);
    expect(r.code).toBe(2);
    expect(expectCleanError(r.stderr)).toContain(path.join(t.root, ".xqbuild", "logs"));
    expect(filesUnder(out.dir)).toEqual(["precious"]);
    // The log itself a link to a file outside: it is replaced, the file keeps its content.
    const u = tree();
    mkdirSync(path.join(u.root, ".xqbuild", "logs"), { recursive: true });
    symlinkSync(out.sentinel, path.join(u.root, ".xqbuild", "logs", "seabios-build.log"));
    expectOk(await xq(u, ["all", "seabios"]));
    expect(readFileSync(out.sentinel, "utf8")).toBe("not xqbuild's\n");
    expect(lstatSync(path.join(u.root, ".xqbuild", "logs", "seabios-build.log")).isFile()).toBe(true);
  });

  it("distclean seabios with .xqbuild/stamps a link out: refused before anything goes, the other side untouched", async ({ expect }) => {
    const t = tree();
    const out = outside("stamps-distclean");
    mkdirSync(path.join(out.dir, "seabios"));
    writeFileSync(path.join(out.dir, "seabios", "build.json"), "{}\n");
    mkdirSync(path.join(t.root, ".xqbuild"));
    symlinkSync(out.dir, path.join(t.root, ".xqbuild", "stamps"));
    const remote = path.join(t.root, "tools", "firmware", "seabios-dir-remote");
    mkdirSync(remote);
    const r = await xq(t, ["distclean", "seabios"]);
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(path.join(t.root, ".xqbuild", "stamps"));
    expect(filesUnder(out.dir)).toEqual(["precious", "seabios", path.join("seabios", "build.json")]);
    // Nothing half done: the component's directory, checked in the same pass, is still there.
    expect(existsSync(remote)).toBe(true);
  });

  it("a link inside the tree is removed itself, never followed (as git clean does)", async ({ expect }) => {
    const t = tree();
    const out = outside("inner-link");
    // The build directory a link to a directory outside: distclean unlinks the link.
    symlinkSync(out.dir, path.join(t.root, "tools", "qemu-xen-build"));
    const r = await xq(t, ["distclean"]);
    expectOk(r);
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-build"))).toBe(false);
    expect(filesUnder(out.dir)).toEqual(["precious"]);
    // Plain git does the same: git clean removes an untracked link, not what it points to.
    const repo = path.join(base, `git-clean-${n++}`);
    mkdirSync(repo);
    spawnSync("git", ["init", "-q", repo]);
    symlinkSync(out.dir, path.join(repo, "link"));
    const g = spawnSync("git", ["-C", repo, "clean", "-ffdx"], { encoding: "utf8" });
    expect(g.status).toBe(0);
    expect(existsSync(path.join(repo, "link"))).toBe(false);
    expect(filesUnder(out.dir)).toEqual(["precious"]);
  });

  it("an install into a DESTDIR whose usr is a link out: refused, nothing written on the other side", async ({ expect }) => {
    const t = tree();
    const out = outside("destdir-link");
    const dest = path.join(t.base, `${t.name}-dest`);
    mkdirSync(dest);
    symlinkSync(out.dir, path.join(dest, "usr"));
    const r = await xq(t, ["install", "seabios", "--destdir", dest]);
    expect(r.code).not.toBe(0);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(path.join(dest, "usr"));
    expect(filesUnder(out.dir)).toEqual(["precious"]);
    // The same without the artifact cache: the install's own copy is refused likewise.
    const none = await xq(t, ["install", "seabios", "--no-cache", "--destdir", dest]);
    expect(none.code).not.toBe(0);
    expect(expectCleanError(none.stderr)).toContain(path.join(dest, "usr"));
    expect(filesUnder(out.dir)).toEqual(["precious"]);
  });

  it("a build directory of the Xen tree that is a link out (tools/qemu-xen-build): build and clean refused, naming the link; nothing configured or cleaned over there", async ({ expect }) => {
    const t = tree();
    expectOk(await xq(t, ["build", "qemu-xen"]));
    // The tree as handed over: its build directory now a link to someone's directory, holding a
    // Makefile whose clean would delete it all.
    const out = outside("build-link");
    writeFileSync(path.join(out.dir, "Makefile"), "clean:\n\trm -f precious\nall:\n\ttouch built-here\n");
    const build = path.join(t.root, "tools", "qemu-xen-build");
    spawnSync("rm", ["-rf", build]);
    symlinkSync(out.dir, build);
    for (const argv of [["build", "qemu-xen"], ["clean", "qemu-xen"], ["all", "qemu-xen"]]) {
      const r = await xq(t, argv);
      expect(r.code, argv.join(" ")).toBe(2);
      const para = expectCleanError(r.stderr);
      expect(para).toContain(`qemu-xen's build directory ${build}`);
      expect(para).toMatch(new RegExp(`${build.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is a symbolic link to `));
      expect(filesUnder(out.dir), argv.join(" ")).toEqual(["Makefile", "precious"]);
    }
  });

  it.for([
    ["qemu-xen", "tools/qemu-xen-dir-remote"],
    ["seabios", "tools/firmware/seabios-dir-remote"],
  ] as const)("%s's checkout directory a link out to a git repository (%s): fetch refused before git runs there; that repository unchanged", async ([component, rel], { expect }) => {
    const t = tree();
    // Someone's own clone, one commit behind what the tree wants, with work in it.
    const upstream = component === "seabios" ? repos.seabios.path : repos.qemuXen.path;
    const out = path.join(base, `outside-clone-${n++}`);
    git(["clone", "--quiet", upstream, out]);
    git(["-C", out, "checkout", "--quiet", "--detach", "HEAD~1"]);
    writeFileSync(path.join(out, "precious"), "not xqbuild's\n");
    const before = { head: git(["-C", out, "rev-parse", "HEAD"]), refs: git(["-C", out, "for-each-ref"]), status: git(["-C", out, "status", "--porcelain"]) };
    const dir = path.join(t.root, rel);
    mkdirSync(path.dirname(dir), { recursive: true });
    symlinkSync(out, dir);
    for (const argv of [["fetch", component], ["update", component, "--force"], ["all", component]]) {
      const r = await xq(t, argv);
      expect(r.code, argv.join(" ")).toBe(2);
      const para = expectCleanError(r.stderr);
      expect(para).toContain(`${component}'s source directory ${dir}`);
      expect(para).toContain(`${dir} is a symbolic link to ${out}`);
    }
    expect({ head: git(["-C", out, "rev-parse", "HEAD"]), refs: git(["-C", out, "for-each-ref"]), status: git(["-C", out, "status", "--porcelain"]) }).toEqual(before);
    expect(readFileSync(path.join(out, "precious"), "utf8")).toBe("not xqbuild's\n");
  });
});

/**
 * A copy of the fixture SeaBIOS repository with a tag rel-links whose commit tracks `.version` and
 * `.config` (the files xqbuild writes into the checkout, as the glue does) as links to victim.
 */
function seabiosWithLinks(victim: string): string {
  const bare = path.join(base, `seabios-links-${n++}.git`);
  git(["clone", "--quiet", "--bare", repos.seabios.path, bare]);
  const env = { ...gitEnv(), GIT_DIR: bare, GIT_INDEX_FILE: `${bare}.index`, GIT_AUTHOR_NAME: "F", GIT_AUTHOR_EMAIL: "f@x.invalid", GIT_COMMITTER_NAME: "F", GIT_COMMITTER_EMAIL: "f@x.invalid" };
  const parent = repos.seabios.refs["rel-1.16.2"] as string;
  git(["read-tree", parent], { env });
  const r = spawnSync("git", ["hash-object", "-w", "--stdin"], { env, input: victim, encoding: "utf8" });
  const blob = r.stdout.trim();
  for (const name of [".version", ".config"]) git(["update-index", "--add", "--cacheinfo", `120000,${blob},${name}`], { env });
  const treeId = git(["write-tree"], { env });
  const commit = spawnSync("git", ["commit-tree", treeId, "-p", parent, "-m", "links"], { env, encoding: "utf8" }).stdout.trim();
  git(["tag", "rel-links", commit], { env });
  return fileUrl(bare);
}

describe.concurrent("point 3: files xqbuild writes into a fetched tree", () => {
  it("a fetched SeaBIOS tracking .version and .config as links out: fetch replaces the links, the victim is untouched", async ({ expect }) => {
    const out = outside("tracked-links");
    const url = seabiosWithLinks(out.sentinel);
    const t = makeTree(base, `t${n++}`, { config: [`SEABIOS_UPSTREAM_URL = ${url}`, "SEABIOS_UPSTREAM_REVISION = rel-links"], env: { XQBUILD_CCACHE: "0" } });
    const r = await xq(t, ["fetch", "seabios"]);
    expectNoStack(r.stderr);
    // Refusing the tree is as good as writing beside the link; writing through it is not.
    if (r.code !== 0) expectCleanError(r.stderr);
    expect(readFileSync(out.sentinel, "utf8")).toBe("not xqbuild's\n");
    expect(filesUnder(out.dir)).toEqual(["precious"]);
    if (r.code === 0) {
      const dir = path.join(t.root, "tools", "firmware", "seabios-dir-remote");
      expect(lstatSync(path.join(dir, ".version")).isFile()).toBe(true);
      expect(lstatSync(path.join(dir, ".config")).isFile()).toBe(true);
    }
  });
});

describe.concurrent("point 10: odd state is a message, not an internal error", () => {
  it("xqbuild.lock a directory", async ({ expect }) => {
    const t = tree();
    mkdirSync(path.join(t.root, "xqbuild.lock"));
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(2);
    expect(expectCleanError(r.stderr)).toContain(path.join(t.root, "xqbuild.lock"));
  });

  it(".xqbuild a file", async ({ expect }) => {
    const t = tree();
    writeFileSync(path.join(t.root, ".xqbuild"), "a file\n");
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(2);
    expect(expectCleanError(r.stderr)).toMatch(new RegExp(`${path.join(t.root, ".xqbuild").replace(/[.+]/g, "\\$&")} is a file, not a directory`));
  });

  it("<cache>/artifacts a file: cache list, prune and an install each say so or go on", async ({ expect }) => {
    const t = tree();
    mkdirSync(t.cache, { recursive: true });
    writeFileSync(path.join(t.cache, "artifacts"), "a file\n");
    for (const argv of [["cache"], ["cache", "prune"]]) {
      const r = await xq(t, argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(expectCleanError(r.stderr)).toContain(path.join(t.cache, "artifacts"));
    }
    // A build goes on without the cache, saying why in one line.
    const dest = path.join(t.base, `${t.name}-dest`);
    const r = await xq(t, ["install", "seabios", "--destdir", dest]);
    expectOk(r);
    expect(r.stderr).toMatch(/not stored in the artifact cache.*artifacts is a file/);
    expect(existsSync(path.join(dest, "usr/local/lib/xen/boot/seabios.bin"))).toBe(true);
  });

  it("an unwritable HOME without XDG_CACHE_HOME or XQBUILD_CACHE_DIR names the cache directory", async ({ expect }) => {
    const t = tree();
    const home = path.join(t.base, `${t.name}-home-is-a-file`);
    writeFileSync(home, "not a directory\n");
    const r = await xq(t, ["fetch", "seabios"], { HOME: home, XQBUILD_CACHE_DIR: undefined, XDG_CACHE_HOME: undefined });
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(path.join(home, ".cache", "xqbuild"));
    expect(para).toMatch(/XQBUILD_CACHE_DIR/);
  });
});

describe.concurrent("point 15: standalone from an empty directory", () => {
  it("xqbuild all seabios --standalone --xen-version 4.20 makes ./build and builds there", async ({ expect }) => {
    const dir = path.join(base, `standalone-${n++}`);
    mkdirSync(dir);
    const env = makeTree(base, `t${n++}`).env;
    const r = await runCli(["all", "seabios", "--standalone", "--xen-version", "4.20", `SEABIOS_UPSTREAM_URL=${repos.seabios.url}`, "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"], { cwd: dir, env });
    expectOk(r);
    expect(existsSync(path.join(dir, "build", "tools", "firmware", "seabios-dir", "out", "bios.bin"))).toBe(true);
    expectNoStack(r.stderr);
  });
});

describe.concurrent("point 9: the artifact cache owns only what xqbuild wrote", () => {
  it("cache prune and cache clear leave foreign files and directories alone, and remove only xqbuild's leftovers", async ({ expect }) => {
    const t = tree();
    const dir = path.join(t.cache, "artifacts");
    mkdirSync(path.join(dir, "someone-elses-dir"), { recursive: true });
    const foreign = ["notes.txt", "backup.tar", `${HEX}.tar.orig`, "someone-elses-dir"];
    for (const f of foreign.slice(0, 3)) writeFileSync(path.join(dir, f), "mine\n");
    writeFileSync(path.join(dir, "someone-elses-dir", "x"), "mine\n");
    mkdirSync(path.join(dir, `${"b".repeat(64)}.json`)); // a directory named like an entry
    const ours = [`.${HEX}.4242.deadbeef.tmp`, `${"c".repeat(64)}.tar`];
    for (const f of ours) writeFileSync(path.join(dir, f), "half of an interrupted write\n");
    for (const f of readdirSync(dir)) age(path.join(dir, f));
    for (const argv of [["cache", "prune"], ["cache", "clear"], ["cache"]]) {
      const r = await xq(t, argv);
      expectOk(r);
      expectNoStack(r.stderr);
    }
    expect(readdirSync(dir).sort()).toEqual([...foreign, `${"b".repeat(64)}.json`].sort());
    expect(readFileSync(path.join(dir, "someone-elses-dir", "x"), "utf8")).toBe("mine\n");
    // A real entry is counted and cleared; the foreign files stay.
    const dest = path.join(t.base, `${t.name}-dest`);
    expectOk(await xq(t, ["install", "seabios", "--destdir", dest]));
    const clear = await xq(t, ["cache", "clear"]);
    expectOk(clear);
    expect(clear.stderr).toMatch(/removed 1 entry/);
    expect(readdirSync(dir).sort()).toEqual([...foreign, `${"b".repeat(64)}.json`].sort());
  });

  it("a directory in an entry's place: the install goes on and says which path to move", async ({ expect }) => {
    const t = tree();
    expectOk(await xq(t, ["install", "seabios", "--destdir", path.join(t.base, `${t.name}-d1`)]));
    const { key } = JSON.parse(readFileSync(path.join(t.root, ".xqbuild", "artifact-keys", "seabios.json"), "utf8")) as { key: string };
    expectOk(await xq(t, ["cache", "clear"]));
    const slot = path.join(t.cache, "artifacts", `${key}.tar`);
    mkdirSync(slot);
    writeFileSync(path.join(slot, "not-xqbuilds"), "x\n");
    const dest = path.join(t.base, `${t.name}-d2`);
    const r = await xq(t, ["install", "seabios", "--destdir", dest]);
    expectOk(r);
    expect(r.stderr).toContain(`${slot} is a directory`);
    expect(existsSync(path.join(dest, BIOS))).toBe(true);
    expect(existsSync(path.join(slot, "not-xqbuilds"))).toBe(true);
  });

  it("hostile remote artifacts (../, absolute, a link out, a gzip bomb, 64 GiB, escape sequences) never reach DESTDIR: dropped, built instead", async ({ expect }) => {
    const dav = await startWebDav(path.join(base, "dav"));
    try {
      // One honest upload gives the key and a good blob.
      const a = tree({ XQBUILD_REMOTE_CACHE: `${dav.url}/honest` });
      const up = await xq(a, ["install", "seabios", "--destdir", path.join(a.base, `${a.name}-dest`)]);
      expectOk(up);
      expect(up.stderr).toMatch(/remote cache: uploaded/);
      const [key] = readdirSync(path.join(dav.root, "honest", "ac"));
      if (key === undefined) throw new Error("nothing uploaded");
      const honest = JSON.parse(readFileSync(path.join(dav.root, "honest", "ac", key), "utf8")) as Record<string, unknown>;
      const out = outside("remote");
      const work = path.join(base, "hostile-blobs");
      mkdirSync(work, { recursive: true });
      const variants: Record<string, { make: (tar: string) => void; component?: string; size?: number; expect?: RegExp }> = {
        dotdot: { make: (tar) => py("import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo('./../../../../evil-dotdot');d=b'evil\\n';i.size=len(d);t.addfile(i,io.BytesIO(d))\nt.close()", tar), expect: /seabios: the cached artifact is damaged, building instead: .*has a \.\. component/ },
        absolute: { make: (tar) => py("import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo(sys.argv[2]);d=b'evil\\n';i.size=len(d);t.addfile(i,io.BytesIO(d))\nt.close()", tar, path.join(out.dir, "evil-absolute")), expect: /seabios: the cached artifact is damaged, building instead: .*is absolute/ },
        "link out": {
          make: (tar) =>
            py("import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo('./usr');i.type=tarfile.SYMTYPE;i.linkname=sys.argv[2];t.addfile(i)\ni=tarfile.TarInfo('./usr/evil-link');d=b'evil\\n';i.size=len(d);t.addfile(i,io.BytesIO(d))\nt.close()", tar, out.dir),
          expect: /seabios: the cached artifact is damaged, building instead: .*holds a link "usr" -> ".*" that leaves it/,
        },
        "gzip bomb": { make: (tar) => py("import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w:gz')\ni=tarfile.TarInfo('./usr/bomb');i.size=256*1024*1024\nt.addfile(i,open('/dev/zero','rb'))\nt.close()", tar), expect: /seabios: the cached artifact is damaged, building instead: .*unpacks to more than \d+ bytes/ },
        "escape sequence in a path": { make: (tar) => py("import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo('./\\x1b]2;pwned\\x07/../../x');d=b'x';i.size=1;t.addfile(i,io.BytesIO(d))\nt.close()", tar), expect: /seabios: the cached artifact is damaged, building instead: .*\\u001b\]2;pwned\\u0007/ },
        "64 GiB, more than the whole cache": { make: (tar) => py("import tarfile,sys\ntarfile.open(sys.argv[1],'w').close()", tar), size: 64 * 1024 ** 3, expect: /remote cache: ignoring [0-9a-f]{12}: its 64 GiB are more than the artifact cache's limit of 10 GiB/ },
        "escape sequence in the entry": { make: (tar) => py("import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\nt.close()", tar), component: "\u001b]2;pwned\u0007seabios" },
      };
      await Promise.all(
        Object.entries(variants).map(async ([name, v], i) => {
          const prefix = `v${i}`;
          const blob = path.join(work, `${prefix}.tar`);
          v.make(blob);
          const sha = sha256(blob);
          mkdirSync(path.join(dav.root, prefix, "cas"), { recursive: true });
          mkdirSync(path.join(dav.root, prefix, "ac"), { recursive: true });
          writeFileSync(path.join(dav.root, prefix, "cas", sha), readFileSync(blob));
          writeFileSync(path.join(dav.root, prefix, "ac", key), JSON.stringify({ ...honest, sha256: sha, size: v.size ?? statSync(blob).size, ...(v.component ? { component: v.component } : {}) }));
          const b = tree({ XQBUILD_REMOTE_CACHE: `${dav.url}/${prefix}`, XQBUILD_REMOTE_CACHE_READONLY: "1" });
          const dest = path.join(b.base, `${b.name}-dest`);
          const r = await xq(b, ["install", "seabios", "--destdir", dest]);
          expectOk(r);
          expect(r.stderr, name).not.toContain("\u001b");
          expect(r.stderr, name).not.toContain("\u0007");
          if (v.expect) expect(r.stderr, name).toMatch(v.expect);
          else if (!v.component) expect(r.stderr, name).toMatch(/seabios: the cached artifact is damaged, building instead: .*(leaves|absolute|\.\.|unpacks to more)/);
          else expect(r.stderr, name).toMatch(/remote cache: .*component is not a component name/);
          expect(r.stderr, name).toMatch(/\[seabios build\] done/);
          expect(existsSync(path.join(dest, BIOS)), name).toBe(true);
          // Nothing but the built files in DESTDIR, nothing outside, and the bad entry gone from the local store.
          expect(filesUnder(dest).filter((f) => f.includes("evil") || f.includes("bomb")), name).toEqual([]);
          expect(existsSync(path.join(b.cache, "evil-dotdot")) || existsSync(path.join(b.base, "evil-dotdot")), name).toBe(false);
          const local = path.join(b.cache, "artifacts", `${key}.json`);
          if (existsSync(local)) expect((JSON.parse(readFileSync(local, "utf8")) as { sha256: string }).sha256, name).not.toBe(sha);
          expect(filesUnder(path.join(b.cache, "artifacts")).filter((f) => f.endsWith(".unpack")), name).toEqual([]);
        }),
      );
      expect(filesUnder(out.dir)).toEqual(["precious"]);
    } finally {
      await dav.stop();
    }
  });

  it("setuid, setgid and sticky bits in a remote artifact are not restored", async ({ expect }) => {
    const dav = await startWebDav(path.join(base, "dav-modes"));
    try {
      const a = tree({ XQBUILD_REMOTE_CACHE: `${dav.url}/c` });
      expectOk(await xq(a, ["install", "seabios", "--destdir", path.join(a.base, `${a.name}-dest`)]));
      const [key] = readdirSync(path.join(dav.root, "c", "ac"));
      if (key === undefined) throw new Error("nothing uploaded");
      const entry = JSON.parse(readFileSync(path.join(dav.root, "c", "ac", key), "utf8")) as { sha256: string };
      const blob = path.join(base, "modes.tar");
      // The honest artifact, every file made setuid, setgid and sticky.
      py("import tarfile,sys\ns=tarfile.open(sys.argv[1]);t=tarfile.open(sys.argv[2],'w')\nfor m in s.getmembers():\n  f=s.extractfile(m) if m.isfile() else None\n  if m.isfile(): m.mode|=0o7000\n  t.addfile(m,f)\nt.close()", path.join(dav.root, "c", "cas", entry.sha256), blob);
      const sha = sha256(blob);
      writeFileSync(path.join(dav.root, "c", "cas", sha), readFileSync(blob));
      writeFileSync(path.join(dav.root, "c", "ac", key), JSON.stringify({ ...entry, sha256: sha, size: statSync(blob).size }));
      const b = tree({ XQBUILD_REMOTE_CACHE: `${dav.url}/c`, XQBUILD_REMOTE_CACHE_READONLY: "1" });
      const dest = path.join(b.base, `${b.name}-dest`);
      const r = await xq(b, ["install", "seabios", "--destdir", dest]);
      expectOk(r);
      expect(r.stderr).toMatch(/\[seabios build\] in the artifact cache/);
      expect(statSync(path.join(dest, BIOS)).mode & 0o7777).toBe(0o644);
    } finally {
      await dav.stop();
    }
  });
});
