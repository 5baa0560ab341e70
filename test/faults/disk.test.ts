// Fault 9: disk and permissions. A read-only Xen tree, a full disk (under the cache, under the
// tree, under xqbuild's logs), a cache directory xqbuild's user cannot write, and repositories git
// calls "dubious ownership" (safe.directory). Each gives one clear paragraph naming the path and
// what to do, leaves nothing half-done, and the next run (once fixed) completes.
//
// As root, chmod does not stop writes: a read-only bind mount makes the tree read-only, tmpfs
// mounts of a few MiB make a full disk, and setpriv runs xqbuild as nobody. Cases whose tool is
// missing or not permitted on the host are skipped (counted as skipped in the summary).
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { addBigTag, builtCli, debris, expectCleanError, expectOk, head, makeTree, makeWrappers, mirrors, removeBases, seabiosRemote, tempBase, urlLines, xq, type Tree } from "./support.js";

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}` };
}

function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  const ok = sh("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]).ok;
  if (ok) mounts.push(dir);
  return ok;
}

function bindReadOnly(from: string, to: string): boolean {
  mkdirSync(to, { recursive: true });
  if (!sh("mount", ["--bind", from, to]).ok) return false;
  mounts.push(to);
  return sh("mount", ["-o", "remount,bind,ro", to]).ok;
}

function hasSetpriv(): boolean {
  return sh("setpriv", ["--version"]).ok;
}

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, outside a restricted container). */
function probeMount(): boolean {
  if (!isRoot) return false;
  const d = mkdtempSync(path.join(tmpdir(), "xqbuild-faults-mount-probe-"));
  const ok = sh("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", d]).ok;
  if (ok) sh("umount", [d]);
  rmSync(d, { recursive: true, force: true });
  return ok;
}

const canMount = probeMount();
const canSetpriv = isRoot && hasSetpriv();
/** How a tree is made read-only here: a read-only bind mount (root), chmod (not root), xqbuild as nobody on a chmod'ed tree (root without mounts). */
const readOnlyBy: "bind" | "chmod" | "nobody" | undefined = canMount ? "bind" : !isRoot ? "chmod" : canSetpriv ? "nobody" : undefined;
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];

let base: string;
let repos: UpstreamRepos;

beforeAll(() => {
  builtCli();
  base = tempBase("disk");
  chmodSync(base, 0o755);
  repos = makeUpstreamRepos(path.join(base, "upstream"));
  addBigTag(repos, 2);
});
afterAll(() => {
  for (const m of mounts.reverse()) if (!sh("umount", [m]).ok) sh("umount", ["-l", m]);
  removeBases();
});

const seabiosTree = (name: string, opts: { cache?: string; rev?: string } = {}): Tree =>
  makeTree(base, name, { config: [...urlLines({ seabios: repos.seabios.url }), ...(opts.rev ? [`SEABIOS_UPSTREAM_REVISION = ${opts.rev}`] : [])], ...(opts.cache ? { cache: opts.cache } : {}) });

describe("a read-only Xen tree", () => {
  it.skipIf(readOnlyBy === undefined)(`fetch and all: a clear error naming the tree and that it is read-only; plan, config and status still work (read-only by ${readOnlyBy ?? "nothing available"})`, async () => {
    const t = seabiosTree("ro-src");
    let ro = t.root;
    const wrap = readOnlyBy === "nobody" ? AS_NOBODY : [];
    if (readOnlyBy === "bind") {
      ro = path.join(base, "ro");
      expect(bindReadOnly(t.root, ro)).toBe(true);
    } else {
      // Directories only: the files are hard links into the cached tree.
      expect(sh("find", [t.root, "-type", "d", "-exec", "chmod", "a-w", "{}", "+"]).ok).toBe(true);
      chmodSync(path.join(t.base, "home"), 0o777);
    }
    const rot: Tree = { ...t, root: ro };
    for (const argv of [["fetch"], ["all"]]) {
      const r = await xq(rot, argv, {}, { wrap });
      expect(r.code === 1 || r.code === 2, `exit ${r.code}`).toBe(true);
      const para = expectCleanError(r.stderr);
      expect(para).toContain(ro);
      expect(para).toMatch(/read-only|EROFS|not writable|permission denied|EACCES/i);
    }
    for (const argv of [["plan"], ["config"], ["status"]]) expectOk(await xq(rot, argv, {}, { wrap }));
    if (readOnlyBy !== "bind") sh("find", [t.root, "-type", "d", "-exec", "chmod", "u+w", "{}", "+"]);
  });
});

describe("a full disk", () => {
  it.skipIf(!canMount)("under the cache (a 2 MiB tmpfs, a 2 MiB pack): a clear error naming the disk, no debris; with room, the same cache serves the fetch", async () => {
    const cache = path.join(base, "cache-on-tmpfs");
    expect(mountTmpfs(cache, "2m")).toBe(true);
    const t = seabiosTree("full-cache", { cache, rev: "rel-big" });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toMatch(/No space left on device|ENOSPC|disk is full/i);
    expect(para, "a full disk is not a wrong URL").not.toMatch(/Check the URL/);
    expect(debris(t)).toEqual([]);
    expect(sh("mount", ["-o", "remount,size=32m", cache]).ok).toBe(true);
    const again = await xq(t, ["fetch", "seabios"]);
    expectOk(again);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-big"]);
    expect(mirrors(cache, "seabios")).toHaveLength(1);
  });

  it.skipIf(!canMount)("under the tree (tools/firmware on a 2 MiB tmpfs): a clear error, no partial tree or temporary clone; with room, the next fetch completes", async () => {
    const t = seabiosTree("full-tree", { rev: "rel-big" });
    const fw = path.join(t.root, "tools", "firmware");
    const saved = mkdtempSync(path.join(base, "fw-"));
    cpSync(fw, saved, { recursive: true });
    expect(mountTmpfs(fw, "2m")).toBe(true);
    cpSync(saved, fw, { recursive: true });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toMatch(/No space left on device|ENOSPC|disk is full/i);
    expect(readdirSync(fw).filter((n) => n.startsWith("seabios-dir"))).toEqual([]);
    expect(sh("mount", ["-o", "remount,size=32m", fw]).ok).toBe(true);
    expectOk(await xq(t, ["fetch", "seabios"]));
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-big"]);
  });

  it.skipIf(!canMount)("under xqbuild's logs (.xqbuild on a 1 MiB tmpfs, 8 MiB of build output): a clear error naming the log, no stamp, no stack", async () => {
    const w = makeWrappers(path.join(base, "full-logs-bin"));
    const t = makeTree(base, "full-logs", { config: urlLines({ qemu: repos.qemuXen.url }), env: { PATH: w.path } });
    expect(mountTmpfs(path.join(t.root, ".xqbuild"), "1m")).toBe(true);
    w.set("flood-job", true, String(8 * 1024 * 1024));
    const r = await xq(t, ["all", "qemu-xen"], { XQ_FAKE_JOBS: "1", XQ_JOBLOG: path.join(t.base, "full-logs-jobs.log") });
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr, { maxLines: 60, maxChars: 8000 });
    expect(para).toMatch(/No space left on device|ENOSPC|disk is full/i);
    expect(para).toMatch(/qemu-xen-build\.log|\.xqbuild/);
    expect(existsSync(path.join(t.root, ".xqbuild", "stamps", "qemu-xen", "build.json"))).toBe(false);
  });
});

describe("ownership and permissions", () => {
  it.skipIf(!canSetpriv)("a cache directory xqbuild's user cannot write (xqbuild as nobody, the cache root's): a clear error naming the cache and what to do", async () => {
    const t = seabiosTree("nobody");
    // nobody may write the tree's own directories (new inodes in the hard-link copy) and HOME.
    for (const d of [t.root, path.join(t.root, "tools"), path.join(t.root, "tools", "firmware"), path.join(t.base, "home")]) chmodSync(d, 0o777);
    mkdirSync(path.join(t.cache, "git"), { recursive: true });
    chmodSync(t.cache, 0o755);
    const r = await xq(t, ["fetch", "seabios"], {}, { wrap: AS_NOBODY });
    expect(r.code === 1 || r.code === 2, `exit ${r.code}:\n${r.stderr}`).toBe(true);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(t.cache);
    expect(para).toMatch(/permission|not writable|EACCES/i);
    expect(para, "says what to do").toMatch(/XQBUILD_CACHE_DIR|owner|permissions|chown/);
    expect(debris(t)).toEqual([]);
  });

  it.skipIf(!isRoot)("a mirror in the cache owned by another user (git: dubious ownership): a clear error naming it and safe.directory or chown", async () => {
    const t = seabiosTree("dubious-cache");
    expectOk(await xq(t, ["fetch", "seabios"]));
    const [mirror] = mirrors(t.cache, "seabios");
    expect(sh("chown", ["-R", "65534:65534", mirror as string]).ok).toBe(true);
    const r = await xq(t, ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(mirror as string);
    expect(para).toMatch(/dubious ownership|owned by/);
    expect(para, "says what to do").toMatch(/safe\.directory|chown/);
    expect(para, "does not blame the URL").not.toMatch(/Check the URL/);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-1.16.0"]);
  });

});

describe.skipIf(!isRoot)("a fetched tree owned by another user (git: dubious ownership)", () => {
  let t: Tree;
  beforeAll(async () => {
    t = seabiosTree("dubious-tree");
    expectOk(await xq(t, ["fetch", "seabios"]));
    writeFileSync(path.join(seabiosRemote(t), "VERSION"), "my edit\n");
    expect(sh("chown", ["-R", "65534:65534", seabiosRemote(t)]).ok).toBe(true);
  });

  it.each([
    ["fetch (a new revision)", ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]],
    ["status", ["status"]],
    ["all", ["all", "seabios"]],
    ["distclean", ["distclean", "seabios"]],
  ])("%s: says so, naming the tree and what to do, never advising to move it away; the edit stays", async (_what, argv) => {
    const r = await xq(t, argv);
    expect(r.code === 1 || r.code === 2, `${argv.join(" ")}: exit ${r.code}:\n${r.stderr}`).toBe(true);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(seabiosRemote(t));
    expect(para).toMatch(/dubious ownership|owned by/);
    expect(para, "says what to do").toMatch(/safe\.directory|chown/);
    expect(para, "never: move the user's tree away").not.toMatch(/Move it away/);
    expect(spawnSync("cat", [path.join(seabiosRemote(t), "VERSION")], { encoding: "utf8" }).stdout).toBe("my edit\n");
  });
});
