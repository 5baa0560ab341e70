import { existsSync, readFileSync, readlinkSync, renameSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

interface Tree {
  root: string;
  env: Record<string, string | undefined>;
  repos: UpstreamRepos;
}

function setup(name: string, repos?: UpstreamRepos): Tree {
  const base = mkdtempSync(path.join(tmpdir(), `xqbuild-fetch-${name}-`));
  const r = repos ?? makeUpstreamRepos(path.join(base, "upstream"));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  writeFileSync(
    path.join(root, ".config"),
    [`QEMU_UPSTREAM_URL = ${r.qemuXen.url}`, `SEABIOS_UPSTREAM_URL = ${r.seabios.url}`, `QEMU_TRADITIONAL_URL = ${r.qemuTraditional.url}`, ""].join("\n"),
  );
  const env = { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache") } as Record<string, string | undefined>;
  return { root, env, repos: r };
}

async function xq(t: Tree, argv: string[], env: Record<string, string | undefined> = {}) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

const head = (dir: string): string => git(["rev-parse", "HEAD"], { cwd: dir }).trim();

describe("xqbuild fetch over file://", () => {
  let t: Tree;
  beforeAll(async () => {
    t = setup("basic");
    const r = await xq(t, ["fetch"]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "(failed)");
    expect(r.code).toBe(0);
  });

  it("clones into the glue's layout, at the wanted tag, with origin naming the real URL", () => {
    const q = path.join(t.root, "tools", "qemu-xen-dir-remote");
    expect(readlinkSync(path.join(t.root, "tools", "qemu-xen-dir"))).toBe("qemu-xen-dir-remote");
    expect(head(q)).toBe(t.repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect(git(["remote", "get-url", "origin"], { cwd: q }).trim()).toBe(t.repos.qemuXen.url);
    expect(git(["rev-parse", "--abbrev-ref", "HEAD"], { cwd: q }).trim()).toBe("dummy");
    expect(existsSync(path.join(q, ".git", "objects", "info", "alternates"))).toBe(false);
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-dir-remote.xqbuild-tmp"))).toBe(false);
  });

  it("prepares SeaBIOS as the glue's seabios-dir target does", () => {
    const s = path.join(t.root, "tools", "firmware", "seabios-dir");
    expect(readlinkSync(s)).toBe("seabios-dir-remote");
    expect(head(s)).toBe(t.repos.seabios.refs["rel-1.16.0"]);
    expect(readFileSync(path.join(s, ".version"), "utf8")).toBe("rel-1.16.0\n");
    const cfg = readFileSync(path.join(s, ".config"), "utf8");
    expect(cfg).toContain(readFileSync(path.join(t.root, "tools", "firmware", "seabios-config"), "utf8").split("\n")[3] ?? "?");
  });

  it("records url, revision and commit in xqbuild.lock", () => {
    const lock = JSON.parse(readFileSync(path.join(t.root, "xqbuild.lock"), "utf8")) as { version: number; components: Record<string, { url: string; revision: string; commit: string }> };
    expect(lock.version).toBe(1);
    expect(lock.components["qemu-xen"]).toEqual({ url: t.repos.qemuXen.url, revision: "qemu-xen-4.17.3", commit: t.repos.qemuXen.refs["qemu-xen-4.17.3"] });
    expect(lock.components.seabios?.commit).toBe(t.repos.seabios.refs["rel-1.16.0"]);
    expect(lock.components["qemu-xen-traditional"]).toBeUndefined();
  });

  it("needs no network for a second fetch of pinned revisions", async () => {
    const moved = t.repos.qemuXen.path + ".away";
    renameSync(t.repos.qemuXen.path, moved);
    try {
      const r = await xq(t, ["fetch", "qemu-xen"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/qemu-xen: tools\/qemu-xen-dir-remote is at qemu-xen-4.17.3/);
    } finally {
      renameSync(moved, t.repos.qemuXen.path);
    }
  });
});

describe("moving to another revision", () => {
  it("moves a clean tree, refuses one with local work, and update --force keeps a backup", async () => {
    const t = setup("move");
    expect((await xq(t, ["fetch", "qemu-xen"])).code).toBe(0);
    const q = path.join(t.root, "tools", "qemu-xen-dir-remote");
    const tagCommit = head(q);

    const moved = await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=stable-4.17"]);
    expect(moved.code).toBe(0);
    expect(head(q)).toBe(t.repos.qemuXen.refs["stable-4.17"]);
    const lock = JSON.parse(readFileSync(path.join(t.root, "xqbuild.lock"), "utf8")) as { components: Record<string, { revision: string; commit: string }> };
    expect(lock.components["qemu-xen"]).toMatchObject({ revision: "stable-4.17", commit: t.repos.qemuXen.refs["stable-4.17"] });

    // Uncommitted work stops the move and is kept.
    writeFileSync(path.join(q, "VERSION"), "my work\n");
    const refused = await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=qemu-xen-4.17.3"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/would lose local work/);
    expect(refused.stderr).toMatch(/changed: M VERSION/);
    expect(refused.stderr).toMatch(/xqbuild update --force/);
    expect(readFileSync(path.join(q, "VERSION"), "utf8")).toBe("my work\n");
    expect(head(q)).toBe(t.repos.qemuXen.refs["stable-4.17"]);

    // A local commit stops it too.
    git(["-c", "user.name=me", "-c", "user.email=me@example.org", "commit", "-qam", "my local change"], { cwd: q });
    const mine = head(q);
    const refused2 = await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=qemu-xen-4.17.3"]);
    expect(refused2.code).toBe(1);
    expect(refused2.stderr).toMatch(/local commit: [0-9a-f]+ my local change/);
    expect(head(q)).toBe(mine);

    // update --force moves and keeps the old head in a backup ref.
    writeFileSync(path.join(q, "VERSION"), "more work\n");
    const forced = await xq(t, ["update", "qemu-xen", "--force", "QEMU_UPSTREAM_REVISION=qemu-xen-4.17.3"]);
    expect(forced.code).toBe(0);
    expect(head(q)).toBe(tagCommit);
    const backups = git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/xqbuild/backup/"], { cwd: q }).trim().split("\n");
    expect(backups.some((l) => l.endsWith(` ${mine}`))).toBe(true);
    const wt = backups.find((l) => l.split(" ")[0]?.endsWith("-worktree"));
    expect(wt).toBeDefined();
    expect(git(["show", `${wt?.split(" ")[1]}:VERSION`], { cwd: q }).trim()).toBe("more work");
  });

  it("names an unknown revision and leaves the tree untouched", async () => {
    const t = setup("unknown");
    expect((await xq(t, ["fetch", "seabios"])).code).toBe(0);
    const s = path.join(t.root, "tools", "firmware", "seabios-dir-remote");
    const before = head(s);
    const r = await xq(t, ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=rel-9.9.9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no branch, tag or commit named "rel-9.9.9"/);
    expect(head(s)).toBe(before);
  });

  it("accepts an abbreviated commit", async () => {
    const t = setup("short");
    const full = t.repos.seabios.refs["rel-1.16.2"] as string;
    const r = await xq(t, ["fetch", "seabios", `SEABIOS_UPSTREAM_REVISION=${full.slice(0, 10)}`]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
    expect(head(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(full);
  });
});

describe("offline, --locked and debris", () => {
  it("fails offline with nothing cached, naming what is missing, and leaves no directory", async () => {
    const t = setup("offline");
    const r = await xq(t, ["fetch", "seabios", "--offline"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/offline: cannot get rel-1.16.0 of file:\/\/.*seabios/);
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir"))).toBe(false);
  });

  it("works offline from the cache in a second tree", async () => {
    const first = setup("cache1");
    expect((await xq(first, ["fetch", "seabios"])).code).toBe(0);
    const second = setup("cache2", first.repos);
    const r = await xq(second, ["fetch", "seabios"], { XQBUILD_CACHE_DIR: first.env.XQBUILD_CACHE_DIR, XQBUILD_OFFLINE: "1" });
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
    expect(head(path.join(second.root, "tools", "firmware", "seabios-dir"))).toBe(first.repos.seabios.refs["rel-1.16.0"]);
  });

  it("--locked refuses a revision the lock file does not record", async () => {
    const t = setup("locked");
    expect((await xq(t, ["fetch", "seabios"])).code).toBe(0);
    const r = await xq(t, ["fetch", "seabios", "--locked", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--locked: xqbuild.lock pins seabios to .* at rel-1.16.0/);
    expect(head(path.join(t.root, "tools", "firmware", "seabios-dir"))).toBe(t.repos.seabios.refs["rel-1.16.0"]);
  });

  it("clears the debris of an interrupted clone and clones again", async () => {
    const t = setup("debris");
    const tmp = path.join(t.root, "tools", "firmware", "seabios-dir-remote.xqbuild-tmp");
    git(["init", "-q", tmp]);
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(0);
    expect(existsSync(tmp)).toBe(false);
    expect(head(path.join(t.root, "tools", "firmware", "seabios-dir"))).toBe(t.repos.seabios.refs["rel-1.16.0"]);
  });
});

describe("a commit pinned by xqbuild.lock, into an empty cache", () => {
  it("clones a tree at a commit the fresh mirror holds under no branch or tag", async () => {
    const first = setup("pin1");
    expect((await xq(first, ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"])).code).toBe(0);
    const second = setup("pin2", first.repos);
    writeFileSync(path.join(second.root, "xqbuild.lock"), readFileSync(path.join(first.root, "xqbuild.lock")));
    const r = await xq(second, ["fetch", "seabios", "--locked", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
    expect(head(path.join(second.root, "tools", "firmware", "seabios-dir"))).toBe(first.repos.seabios.refs["rel-1.16.2"]);
  });
});

describe("a source whose build describes itself (the recipe's fullHistory: qemu-xen)", () => {
  it("is checked out with the history and tags a plain clone has, so `git describe` (QEMU's pkgversion) matches the glue's, also after a move", async () => {
    const t = setup("describe");
    const up = t.repos.qemuXen;
    // QEMU's release tags are annotated; qemu-version.sh runs `git describe --match 'v*' --dirty`.
    git(["tag", "-a", "-m", "QEMU 7.2.0", "v7.2.0", up.refs["qemu-xen-4.17.3"] ?? ""], { cwd: up.path });
    const plain = (rev: string): string => {
      const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-describe-plain-"));
      git(["clone", "--quiet", up.url, dir]);
      git(["checkout", "--quiet", rev], { cwd: dir });
      return git(["describe", "--match", "v*", "--dirty"], { cwd: dir }).trim();
    };
    const q = path.join(t.root, "tools", "qemu-xen-dir-remote");
    const describe = (): string => git(["describe", "--match", "v*", "--dirty"], { cwd: q }).trim();
    let r = await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=stable-4.17"]);
    expect(r.code, r.stderr).toBe(0);
    expect(describe()).toBe(plain(up.refs["stable-4.17"] ?? ""));
    expect(describe()).toMatch(/^v7\.2\.0-1-g[0-9a-f]+$/);
    expect(existsSync(path.join(q, ".git", "shallow"))).toBe(false);
    // A newer tag upstream (the next point release), reached by a move as the glue's force-update reaches it.
    git(["tag", "-a", "-m", "QEMU 7.2.1", "v7.2.1", up.refs["stable-4.17"] ?? ""], { cwd: up.path });
    r = await xq(t, ["update", "qemu-xen", "QEMU_UPSTREAM_REVISION=master"]);
    expect(r.code, r.stderr).toBe(0);
    r = await xq(t, ["update", "qemu-xen", "QEMU_UPSTREAM_REVISION=v7.2.1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(describe()).toBe("v7.2.1");
  });
});
