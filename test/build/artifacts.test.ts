// The build artifact cache, the shared remote cache (a real nginx with WebDAV on loopback) and
// ccache (the real one), on the fixture upstreams: what each saves is read off the fake tools'
// records (a restored component runs no configure and no make), the installed files are compared
// byte for byte, and damaged artifacts are shown to be detected and replaced by a build.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords, type FixtureRecord } from "../support/records.js";
import { startWebDav, type WebDavServer } from "../support/servers.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
let base: string;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-artifacts-"));
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});

interface Tree {
  root: string;
  record: string;
  env: Record<string, string | undefined>;
}

let n = 0;
/** A fresh Xen tree; trees made with the same cache share the mirror and artifact caches. */
function tree(cache: string, extraConfig = ""): Tree {
  const dir = path.join(base, `t${n++}`);
  const root = copyXenTree(path.join(dir, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n${extraConfig}`);
  const record = path.join(dir, "record.jsonl");
  return { root, record, env: { ...gitEnv(), XQBUILD_CACHE_DIR: cache, XQ_RECORD: record, XQBUILD_CCACHE: "0" } };
}

async function xq(t: Tree, argv: string[], env: Record<string, string | undefined> = {}) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

function takeRecords(t: Tree): string[] {
  const rs: FixtureRecord[] = existsSync(t.record) ? readRecords(t.record) : [];
  rmSync(t.record, { force: true });
  return rs.filter((r) => r.tool !== "tracetool").map((r) => (r.tool === "make" ? `make ${r.dir} ${r.goals}` : r.tool)).sort();
}

/** Every file under dir → its mode and content (sha of nothing: the fixtures are small). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, r);
      if (e.isDirectory()) walk(r);
      else out[r] = `${(statSync(full).mode & 0o777).toString(8)} ${readFileSync(full).toString("base64")}`;
    }
  };
  walk("");
  return out;
}

/** What a restore still runs: SeaBIOS's olddefconfig belongs to its checkout, as in the glue's seabios-dir target. */
const RESTORED = ["make seabios olddefconfig"];
const BUILT = ["configure", "make qemu-xen-build all", "make qemu-xen-build install", "make seabios all", "make seabios olddefconfig"].sort();

async function cacheList(t: Tree, env: Record<string, string | undefined> = {}): Promise<{ component: string; key: string; size: number; sha256: string }[]> {
  const r = await xq(t, ["cache", "--json"], env);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { entries: { component: string; key: string; size: number; sha256: string }[] }).entries;
}

describe("the build artifact cache", () => {
  const cache = (): string => path.join(base, "cache-local");
  let first: Tree;
  let installed: Record<string, string>;

  beforeAll(async () => {
    first = tree(cache());
    const r = await xq(first, ["install", "--destdir", path.join(first.root, "..", "dest")]);
    expect(r.code, r.stderr).toBe(0);
    expect(takeRecords(first)).toEqual(BUILT);
    installed = snapshot(path.join(first.root, "..", "dest"));
  });

  it("packs what install put in DESTDIR, one artifact per component, and installs exactly those files", async () => {
    expect(Object.keys(installed).sort()).toEqual(["usr/local/lib/xen/bin/qemu-system-i386", "usr/local/lib/xen/boot/seabios.bin"]);
    expect(installed["usr/local/lib/xen/bin/qemu-system-i386"]).toMatch(/^755 /);
    const entries = await cacheList(first);
    expect(entries.map((e) => e.component).sort()).toEqual(["qemu-xen", "seabios"]);
    for (const e of entries) expect(existsSync(path.join(cache(), "artifacts", `${e.key}.tar`))).toBe(true);
    // The staging directories are gone once the files are in place.
    expect(existsSync(path.join(first.root, ".xqbuild", "staging", "qemu-xen"))).toBe(false);
  });

  it("a fresh tree with the same key restores instead of building: no configure, no make, the same files", async () => {
    const t = tree(cache());
    const dest = path.join(t.root, "..", "dest");
    const r = await xq(t, ["install", "--destdir", dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(takeRecords(t)).toEqual(RESTORED);
    expect(r.stderr).toMatch(/^\[qemu-xen configure\] in the artifact cache \([0-9a-f]{12}\)$/m);
    expect(r.stderr).toMatch(/^\[seabios build\] in the artifact cache/m);
    expect(snapshot(dest)).toEqual(installed);
    // `all` there builds nothing either: install will restore.
    const all = await xq(t, ["all"]);
    expect(all.code, all.stderr).toBe(0);
    expect(takeRecords(t)).toEqual([]);
    expect(all.stderr).toMatch(/in the artifact cache \([0-9a-f]{12}\); install restores it/);
  });

  it("--no-cache and XQBUILD_ARTIFACT_CACHE=0 build, and a changed cflag misses for qemu-xen only", async () => {
    const t = tree(cache());
    expect((await xq(t, ["install", "--no-cache", "--destdir", path.join(t.root, "..", "d1")])).code).toBe(0);
    expect(takeRecords(t)).toEqual(BUILT);
    const u = tree(cache());
    expect((await xq(u, ["all"], { XQBUILD_ARTIFACT_CACHE: "0" })).code).toBe(0);
    expect(takeRecords(u)).toEqual(BUILT.filter((x) => !x.includes("install")));
    const v = tree(cache(), "EXTRA_CFLAGS_QEMU_XEN = -DXQ_ARTIFACT_TEST=1\n");
    const r = await xq(v, ["install", "--destdir", path.join(v.root, "..", "d2")]);
    expect(r.code, r.stderr).toBe(0);
    expect(takeRecords(v)).toEqual(["configure", "make qemu-xen-build all", "make qemu-xen-build install", ...RESTORED]);
    expect((await cacheList(v)).map((e) => e.component).sort()).toEqual(["qemu-xen", "qemu-xen", "seabios"]);
  });

  it("a build that writes a tracked source file again (QEMU's meson-buildoptions.sh) is up to date on a rerun and stores under the clean tree's key", async () => {
    const flags = "EXTRA_CFLAGS_QEMU_XEN = -DXQ_BUILD_WRITES=1\n";
    const t = tree(cache(), flags);
    expect((await xq(t, ["fetch"])).code).toBe(0);
    const src = path.join(t.root, "tools", "qemu-xen-dir-remote");
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(src, "meson_options.txt"), later, later);
    const all = await xq(t, ["all"]);
    expect(all.code, all.stderr).toBe(0);
    expect(takeRecords(t)).toContain("make qemu-xen-build all");
    // The build did write it again, as QEMU's does: git sees the change.
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: src, encoding: "utf8" });
    expect(status).toBe(" M scripts/meson-buildoptions.sh\n");
    expect(readFileSync(path.join(src, "scripts", "meson-buildoptions.sh"), "utf8")).toMatch(/^# regenerated by the build/);
    // Not an edit: nothing to rebuild, and install (which stores the artifact) builds nothing first.
    const again = await xq(t, ["all"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^\[qemu-xen build\] up to date$/m);
    expect(takeRecords(t)).toEqual([]);
    const inst = await xq(t, ["install", "--destdir", path.join(t.root, "..", "dest")]);
    expect(inst.code, inst.stderr).toBe(0);
    expect(takeRecords(t)).toEqual(["make qemu-xen-build install"]); // SeaBIOS: restored (the first tree's)
    // A fresh tree (whose checkout leaves the file alone) has the key it was stored under.
    const u = tree(cache(), flags);
    const r = await xq(u, ["install", "--destdir", path.join(u.root, "..", "dest")]);
    expect(r.code, r.stderr).toBe(0);
    expect(takeRecords(u)).toEqual(RESTORED);
    expect(r.stderr).toMatch(/^\[qemu-xen configure\] in the artifact cache/m);
    // dist packs the committed tree: the rewrite is not an edit that stops it, and is packed as committed.
    const dist = await xq(t, ["dist", "qemu-xen", "--json"]);
    expect(dist.code, dist.stderr).toBe(0);
    const [packed] = JSON.parse(dist.stdout) as Array<{ file: string }>;
    const inTar = execFileSync("tar", ["-xzOf", packed?.file ?? "", "--wildcards", "*/scripts/meson-buildoptions.sh"], { encoding: "utf8" });
    expect(inTar).toBe(execFileSync("git", ["show", "HEAD:scripts/meson-buildoptions.sh"], { cwd: src, encoding: "utf8" }));
    expect(inTar).not.toMatch(/^# regenerated by the build/);
    // `update` to another revision does not take the rewrite for the user's work: it moves without
    // --force and keeps the rewritten file in a backup ref, as --force would.
    const gitIn = (args: string[]): string => execFileSync("git", args, { cwd: src, encoding: "utf8" });
    const up = await xq(t, ["update", "qemu-xen", "QEMU_UPSTREAM_REVISION=stable-4.17"]);
    expect(up.code, up.stderr).toBe(0);
    expect(gitIn(["rev-parse", "HEAD"]).trim()).toBe(repos.qemuXen.refs["stable-4.17"]);
    const kept = `${up.stdout}\n${up.stderr}`.match(/the old state is kept in (refs\/xqbuild\/backup\/\S+)/)?.[1];
    expect(kept, up.stderr).toBeDefined();
    expect(gitIn(["show", `${kept}-worktree:scripts/meson-buildoptions.sh`])).toMatch(/^# regenerated by the build/);
    // Beside an edit of the user's, the same rewrite is refused as before.
    utimesSync(path.join(src, "meson_options.txt"), later, later);
    expect((await xq(t, ["all", "QEMU_UPSTREAM_REVISION=stable-4.17"])).code).toBe(0);
    expect(gitIn(["status", "--porcelain", "--untracked-files=no"])).toBe(" M scripts/meson-buildoptions.sh\n");
    writeFileSync(path.join(src, "VERSION"), "my edit\n");
    const refused = await xq(t, ["update", "qemu-xen"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/would lose local work[\s\S]*changed: M VERSION[\s\S]*changed: M scripts\/meson-buildoptions\.sh/);
    expect(readFileSync(path.join(src, "VERSION"), "utf8")).toBe("my edit\n");
  });

  it("a damaged artifact is detected by its sha256, dropped, and the component built and stored again", async () => {
    const entries = (await cacheList(first)).filter((x) => x.component === "qemu-xen");
    expect(entries.length).toBeGreaterThan(0);
    // Damage every qemu-xen artifact (same size, other bytes).
    for (const e of entries) {
      const file = path.join(cache(), "artifacts", `${e.key}.tar`);
      const buf = readFileSync(file);
      buf[600] = (buf[600] ?? 0) ^ 0xff;
      writeFileSync(file, buf);
    }
    const t = tree(cache());
    const dest = path.join(t.root, "..", "dest");
    const r = await xq(t, ["install", "--destdir", dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/qemu-xen: the cached artifact is damaged, building instead: .*has sha256 [0-9a-f]{64}, not [0-9a-f]{64}/);
    expect(takeRecords(t)).toEqual(["configure", "make qemu-xen-build all", "make qemu-xen-build install", ...RESTORED]);
    expect(snapshot(dest)).toEqual(installed);
    // Stored again, whole: the next fresh tree restores it.
    const again = tree(cache());
    expect((await xq(again, ["install", "--destdir", path.join(again.root, "..", "dest")])).code).toBe(0);
    expect(takeRecords(again)).toEqual(RESTORED);
  });

  it("keeps within its size limit, least recently used first; xqbuild cache shows, prunes and clears", async () => {
    const c = path.join(base, "cache-lru");
    const a = tree(c);
    expect((await xq(a, ["install", "--destdir", path.join(a.root, "..", "d")])).code).toBe(0);
    const entries = await cacheList(a);
    expect(entries).toHaveLength(2);
    const largest = Math.max(...entries.map((e) => e.size));
    // Room for one artifact only: storing the next one evicts the least recently used.
    const b = tree(c, "EXTRA_CFLAGS_QEMU_XEN = -DXQ_LRU=1\n");
    const r = await xq(b, ["install", "--destdir", path.join(b.root, "..", "d")], { XQBUILD_CACHE_MAX_SIZE: String(largest + 1) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/artifact cache: evicted \d+ least recently used/);
    const left = await cacheList(b);
    expect(left).toHaveLength(1);
    expect(left[0]?.component).toBe("qemu-xen");
    expect(entries.map((e) => e.key)).not.toContain(left[0]?.key);

    const shown = await xq(b, ["cache"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^ {2}1 entry, .* of 10 GiB$/m);
    expect(shown.stdout).toContain(`${left[0]?.key.slice(0, 12)}  qemu-xen`);
    const prune = await xq(b, ["cache", "prune", "0"]);
    expect(prune.code).toBe(0);
    expect(prune.stderr).toMatch(/removed 1 entry/);
    expect(await cacheList(b)).toEqual([]);
    const bad = await xq(b, ["cache", "prune", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a size/);
    const wrong = await xq(b, ["cache", "tidy"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/expected list, prune \[SIZE\] or clear/);
  });
});

describe("the shared remote cache (nginx WebDAV on loopback)", () => {
  let dav: WebDavServer;
  let davRoot: string;
  beforeAll(async () => {
    davRoot = mkdtempSync(path.join(tmpdir(), "xqbuild-dav-"));
    dav = await startWebDav(davRoot);
  });
  afterAll(async () => {
    await dav?.stop();
  });

  it("uploads from one machine's cache and restores into another's, verified; read-only jobs upload nothing", async () => {
    const a = tree(path.join(base, "cache-remote-a"));
    const env = { XQBUILD_REMOTE_CACHE: dav.url };
    const r = await xq(a, ["install", "--destdir", path.join(a.root, "..", "d")], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/qemu-xen: remote cache: uploaded/);
    expect(readdirSync(path.join(davRoot, "cas"))).toHaveLength(2);
    expect(readdirSync(path.join(davRoot, "ac"))).toHaveLength(2);
    const installed = snapshot(path.join(a.root, "..", "d"));

    // Another machine: an empty local cache, read-only access to the remote.
    const b = tree(path.join(base, "cache-remote-b"));
    const rb = await xq(b, ["install", "--destdir", path.join(b.root, "..", "d")], { ...env, XQBUILD_REMOTE_CACHE_READONLY: "1" });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(/qemu-xen: remote cache: downloaded/);
    expect(takeRecords(b)).toEqual(RESTORED);
    expect(snapshot(path.join(b.root, "..", "d"))).toEqual(installed);

    // A read-only job that builds something new uploads nothing.
    const c = tree(path.join(base, "cache-remote-c"), "EXTRA_CFLAGS_QEMU_XEN = -DXQ_RO=1\n");
    const rc = await xq(c, ["install", "--destdir", path.join(c.root, "..", "d")], { ...env, XQBUILD_REMOTE_CACHE_READONLY: "1" });
    expect(rc.code, rc.stderr).toBe(0);
    expect(takeRecords(c)).toEqual(["configure", "make qemu-xen-build all", "make qemu-xen-build install", ...RESTORED]);
    expect(readdirSync(path.join(davRoot, "cas"))).toHaveLength(2);
  });

  it("ignores a corrupted or truncated download and builds instead", async () => {
    for (const [i, damage] of (["corrupt", "truncate"] as const).entries()) {
      for (const f of readdirSync(path.join(davRoot, "cas"))) {
        const file = path.join(davRoot, "cas", f);
        const buf = readFileSync(file);
        if (damage === "corrupt") {
          buf[700] = (buf[700] ?? 0) ^ 0xff;
          writeFileSync(file, buf);
        } else writeFileSync(file, buf.subarray(0, buf.length - 512));
      }
      const t = tree(path.join(base, `cache-remote-bad-${i}`));
      const r = await xq(t, ["install", "--destdir", path.join(t.root, "..", "d")], { XQBUILD_REMOTE_CACHE: dav.url, XQBUILD_REMOTE_CACHE_READONLY: "1" });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/qemu-xen: remote cache: ignoring [0-9a-f]{12}: /);
      expect(takeRecords(t)).toEqual(BUILT);
      expect(readdirSync(path.join(t.env.XQBUILD_CACHE_DIR as string, "artifacts")).filter((x) => x.endsWith(".download"))).toEqual([]);
    }
  });

  it("a remote that is down is a miss, not a failure", async () => {
    const t = tree(path.join(base, "cache-remote-down"));
    const r = await xq(t, ["install", "--destdir", path.join(t.root, "..", "d")], { XQBUILD_REMOTE_CACHE: "http://127.0.0.1:9/xq" });
    expect(r.code, r.stderr).toBe(0);
    expect(takeRecords(t)).toEqual(BUILT);
    expect(r.stderr).toMatch(/remote cache: .*(ECONNREFUSED|refused)/);
    const bad = await xq(t, ["all"], { XQBUILD_REMOTE_CACHE: "ftp://example.invalid/cache" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the remote cache URL "ftp:\/\/example\.invalid\/cache" \(XQBUILD_REMOTE_CACHE\)/);
  });
});

describe("ccache", () => {
  it("compiles through ccache and shows the build's hits and misses, without changing the fingerprints", async () => {
    const ccacheDir = path.join(base, "ccache");
    const env = { XQBUILD_CCACHE: "1", CCACHE_DIR: ccacheDir, XQ_FAKE_COMPILE: "1", XQBUILD_ARTIFACT_CACHE: "0" };
    const a = tree(path.join(base, "cache-cc"));
    const r = await xq(a, ["all", "qemu-xen"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/compiling through ccache \d/);
    expect(r.stderr).toMatch(/^xqbuild: ccache: 0 hits, 1 miss \(0% hit rate\)/m);
    // Another tree, elsewhere: the same compilation is a hit (CCACHE_BASEDIR is the tree's root).
    const b = tree(path.join(base, "cache-cc"));
    const rb = await xq(b, ["all", "qemu-xen"], env);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(/^xqbuild: ccache: 1 hit, 0 misses \(100% hit rate\)/m);
    // ccache on or off is not an input of the build: turning it off reruns nothing.
    takeRecords(b);
    const off = await xq(b, ["all", "qemu-xen"], { ...env, XQBUILD_CCACHE: "0" });
    expect(off.code).toBe(0);
    expect(takeRecords(b)).toEqual([]);
    // Asked for by path, and missing: a clear error before anything runs.
    const missing = await xq(b, ["all", "qemu-xen"], { ...env, XQBUILD_CCACHE: "/nonexistent/ccache" });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/ccache/);
  });
});
