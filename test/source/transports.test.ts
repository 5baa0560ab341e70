// xqbuild fetch over the network protocols Xen's glue uses, served on loopback by the real git
// programs: git:// from `git daemon` (Xen 4.17's default URLs) and smart HTTP from `git
// http-backend` (GIT_HTTP=y, and the https-era URLs of 4.18 and later); QEMU's submodules fetched up
// front so that the build needs no network; the shared mirror cache, retries, and failures.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { freePort, startGitDaemon, startHttpGit, type GitDaemon, type HttpGitServer } from "../support/servers.js";
import { EXTRA_SUBMODULE, makeSubmoduleUpstream, type SubmoduleUpstream } from "../support/submodules.js";
import { copyXenTree } from "../support/xen-tree.js";

const execFileP = promisify(execFile);

interface Tree {
  root: string;
  env: Record<string, string | undefined>;
  cache: string;
}

interface Urls {
  qemu?: string;
  seabios?: string;
  traditional?: string;
}

const bases: string[] = [];

function tempBase(name: string): string {
  const base = mkdtempSync(path.join(tmpdir(), `xqbuild-net-${name}-`));
  bases.push(base);
  return base;
}

/**
 * A private copy of the real Xen tree whose .config points at the given URLs (plus extra lines), and
 * an environment with its own cache and HOME (so no ~/.gitconfig of the person running the tests).
 */
function makeTree(base: string, name: string, urls: Urls, opts: { cache?: string; extra?: string[] } = {}): Tree {
  const root = copyXenTree(path.join(base, name), { hardlink: true });
  const lines = [
    ...(urls.qemu ? [`QEMU_UPSTREAM_URL = ${urls.qemu}`] : []),
    ...(urls.seabios ? [`SEABIOS_UPSTREAM_URL = ${urls.seabios}`] : []),
    ...(urls.traditional ? [`QEMU_TRADITIONAL_URL = ${urls.traditional}`] : []),
    ...(opts.extra ?? []),
    "",
  ];
  writeFileSync(path.join(root, ".config"), lines.join("\n"));
  const cache = opts.cache ?? path.join(base, `${name}-cache`);
  const home = path.join(base, "home");
  mkdirSync(home, { recursive: true });
  const env = { ...gitEnv(), HOME: home, XQBUILD_CACHE_DIR: cache } as Record<string, string | undefined>;
  return { root, env, cache };
}

async function xq(t: Tree, argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const output = memoryOutput();
  const started = Date.now();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n"), ms: Date.now() - started };
}

/** Fails with xqbuild's messages when it did not exit 0. */
function expectOk(r: { code: number; stderr: string }): void {
  expect(r.code === 0 ? "" : r.stderr).toBe("");
  expect(r.code).toBe(0);
}

const head = (dir: string): string => git(["rev-parse", "HEAD"], { cwd: dir });
const originOf = (dir: string): string => git(["remote", "get-url", "origin"], { cwd: dir });

const qemuRemote = (t: Tree): string => path.join(t.root, "tools", "qemu-xen-dir-remote");
const seabiosRemote = (t: Tree): string => path.join(t.root, "tools", "firmware", "seabios-dir-remote");

/** The mirrors in the cache whose name starts with `name-` (cache/git/<name>-<hash>.git). */
function mirrors(cache: string, name: string): string[] {
  const dir = path.join(cache, "git");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith(".git"))
    .map((f) => path.join(dir, f));
}

/** What a failed or interrupted fetch must not leave: partial trees, links, temporary mirrors, locks. */
function debris(t: Tree): string[] {
  const found: string[] = [];
  for (const rel of [
    "tools/qemu-xen-dir",
    "tools/qemu-xen-dir-remote",
    "tools/qemu-xen-dir-remote.xqbuild-tmp",
    "tools/firmware/seabios-dir",
    "tools/firmware/seabios-dir-remote",
    "tools/firmware/seabios-dir-remote.xqbuild-tmp",
    ".xqbuild/lock",
  ]) {
    if (existsSync(path.join(t.root, rel))) found.push(rel);
  }
  const gitCache = path.join(t.cache, "git");
  if (existsSync(gitCache)) {
    for (const f of readdirSync(gitCache)) if (/\.lock$|\.tmp-\d+$/.test(f)) found.push(path.join("cache/git", f));
  }
  return found;
}

function expectNoAlternates(repoGitDir: string): void {
  expect(existsSync(path.join(repoGitDir, "objects", "info", "alternates")), `${repoGitDir}/objects/info/alternates`).toBe(false);
}

function readLock(t: Tree): Record<string, { url: string; revision: string; commit: string }> {
  return (JSON.parse(readFileSync(path.join(t.root, "xqbuild.lock"), "utf8")) as { components: Record<string, { url: string; revision: string; commit: string }> }).components;
}

afterAll(() => {
  // The trees are hard-link copies: removing them unlinks names only, never the cached Xen tree.
  for (const b of bases) rmSync(b, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
describe("the loopback servers themselves", () => {
  let up: SubmoduleUpstream;
  let daemon: GitDaemon;
  let http: HttpGitServer;
  let base: string;
  beforeAll(async () => {
    base = tempBase("servers");
    up = makeSubmoduleUpstream(path.join(base, "upstream"));
    // Enough tags that git's fetch request is over 1 KiB, which git sends gzip-compressed.
    for (let i = 0; i < 40; i++) git(["tag", `fixture-tag-with-a-long-name-${String(i).padStart(3, "0")}`, up.superproject.refs["qemu-xen-4.17.3"] as string], { env: { ...gitEnv(), GIT_DIR: up.superproject.path } });
    daemon = await startGitDaemon(up.baseDir);
    http = await startHttpGit(up.baseDir);
  });
  afterAll(async () => {
    await daemon?.stop();
    await http?.stop();
  });

  it("git daemon and smart HTTP both clone the superproject with its submodules (relative URLs)", async () => {
    for (const [label, url] of [["git", daemon.url("qemu-xen.git")], ["http", http.url("qemu-xen.git")]] as const) {
      const dest = path.join(base, `clone-${label}`);
      await execFileP("git", ["clone", "-q", "--recurse-submodules", url, dest], { env: gitEnv() });
      expect(head(dest)).toBe(up.superproject.refs.master);
      for (const s of up.submodules) expect(head(path.join(dest, s.path))).toBe(s.commit);
      expect(originOf(path.join(dest, "meson"))).toBe(url.replace("qemu-xen.git", "meson.git"));
    }
    const gzipped = http.log.filter((r) => r.gzip);
    expect(gzipped.length).toBeGreaterThan(0);
    expect(gzipped.every((r) => r.status === 200)).toBe(true);
    expect(http.log.every((r) => r.gitProtocol === "version=2")).toBe(true);
  });

  it("the fixture's configure refuses a checkout without its submodules", async () => {
    const dest = path.join(base, "no-submodules");
    git(["clone", "-q", up.superproject.path, dest]);
    const build = path.join(base, "no-submodules-build");
    mkdirSync(build);
    await expect(execFileP(path.join(dest, "configure"), ["--enable-xen"], { cwd: build, env: gitEnv() })).rejects.toThrow(/submodules not checked out: meson\/meson.py ui\/keycodemapdb/);
  });

  it("fault injection: failFirst, notFound, the request counter; stop() stops serving", async () => {
    const s = await startHttpGit(up.baseDir, { failFirst: 1 });
    const env = gitEnv();
    await expect(execFileP("git", ["ls-remote", s.url("dtc.git")], { env })).rejects.toThrow(/returned error: 500/);
    const { stdout } = await execFileP("git", ["ls-remote", s.url("dtc.git"), "refs/heads/master"], { env });
    expect(stdout).toContain(up.submodules.find((x) => x.repo === "dtc")?.tip);
    expect(s.requests).toBe(s.log.length);
    expect(s.log[0]).toMatchObject({ status: 500 });
    s.faults.notFound = true;
    await expect(execFileP("git", ["ls-remote", s.url("dtc.git")], { env })).rejects.toThrow(/not found/);
    expect(s.log.at(-1)).toMatchObject({ status: 404 });
    await s.stop();
    // Once stopped it serves nothing. (The port itself may be taken at once by another test's
    // server running alongside, so what a new connection meets is not asserted.)
    const served = s.requests;
    await execFileP("git", ["ls-remote", s.url("dtc.git")], { env }).catch(() => undefined);
    expect(s.requests).toBe(served);
  });
});

// ---------------------------------------------------------------------------------------------
describe("git:// from git daemon (Xen 4.17's default protocol)", () => {
  let repos: UpstreamRepos;
  let daemon: GitDaemon;
  let base: string;
  beforeAll(async () => {
    base = tempBase("gitd");
    repos = makeUpstreamRepos(path.join(base, "upstream"));
    daemon = await startGitDaemon(repos.baseDir);
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  const urls = (): Urls => ({ qemu: daemon.url("qemu-xen.git"), seabios: daemon.url("seabios.git"), traditional: daemon.url("qemu-xen-traditional.git") });

  it("(a) fetches qemu-xen and SeaBIOS into the glue's layout, origin naming the git:// URL", async () => {
    const t = makeTree(base, "a", urls());
    const r = await xq(t, ["fetch"]);
    expectOk(r);
    expect(readlinkSync(path.join(t.root, "tools", "qemu-xen-dir"))).toBe("qemu-xen-dir-remote");
    expect(readlinkSync(path.join(t.root, "tools", "firmware", "seabios-dir"))).toBe("seabios-dir-remote");
    expect(head(qemuRemote(t))).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(originOf(qemuRemote(t))).toBe(daemon.url("qemu-xen.git"));
    expect(originOf(seabiosRemote(t))).toBe(daemon.url("seabios.git"));
    expect(git(["rev-parse", "--abbrev-ref", "HEAD"], { cwd: qemuRemote(t) })).toBe("dummy");
    expectNoAlternates(path.join(qemuRemote(t), ".git"));
    expectNoAlternates(path.join(seabiosRemote(t), ".git"));
    expect(readFileSync(path.join(seabiosRemote(t), ".version"), "utf8")).toBe("rel-1.16.0\n");
    expect(existsSync(path.join(t.root, "tools", "qemu-xen-traditional-dir-remote"))).toBe(false);
    expect(readLock(t)).toMatchObject({
      "qemu-xen": { url: daemon.url("qemu-xen.git"), revision: "qemu-xen-4.17.3", commit: repos.qemuXen.refs["qemu-xen-4.17.3"] },
      seabios: { url: daemon.url("seabios.git"), revision: "rel-1.16.0", commit: repos.seabios.refs["rel-1.16.0"] },
    });
    expect(mirrors(t.cache, "qemu-xen")).toHaveLength(1);
    expect(mirrors(t.cache, "seabios")).toHaveLength(1);
    expect(debris(t).filter((d) => d.includes("xqbuild-tmp") || d.startsWith("cache/") || d === ".xqbuild/lock")).toEqual([]);
  });

  it("(a) follows a branch over git:// (asks the server) and moves the tree", async () => {
    const t = makeTree(base, "branch", urls());
    expectOk(await xq(t, ["fetch", "qemu-xen"]));
    expectOk(await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=stable-4.17"]));
    expect(head(qemuRemote(t))).toBe(repos.qemuXen.refs["stable-4.17"]);
    expect(originOf(qemuRemote(t))).toBe(daemon.url("qemu-xen.git"));
  });

  it("(f) a repository the daemon does not serve: a clear error at once, not retried, no debris", async () => {
    const url = daemon.url("no-such-seabios.git");
    const t = makeTree(base, "missing", { seabios: url });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot fetch from ${url}`);
    expect(r.stderr).toMatch(/not exported|does not appear to be a git repository|not found/);
    expect(r.stderr).not.toMatch(/retrying in/);
    expect(r.stderr).toMatch(/Check the URL/);
    expect(debris(t)).toEqual([]);
  });

  it("(g) a tag fetched into an empty cache makes a shallow mirror holding only that commit", async () => {
    const t = makeTree(base, "shallow", urls());
    const tag = "rel-1.16.2"; // its commit has a parent (rel-1.16.0), which a shallow fetch leaves out
    const want = repos.seabios.refs[tag] as string;
    const parent = repos.seabios.refs["rel-1.16.0"] as string;
    expectOk(await xq(t, ["fetch", "seabios", `SEABIOS_UPSTREAM_REVISION=${tag}`]));
    expect(head(seabiosRemote(t))).toBe(want);
    const [mirror, ...others] = mirrors(t.cache, "seabios");
    expect(others).toEqual([]);
    expect(mirror).toBeDefined();
    const m = mirror as string;
    expect(existsSync(path.join(m, "shallow"))).toBe(true);
    expect(readFileSync(path.join(m, "shallow"), "utf8").trim().split("\n")).toEqual([want]);
    expect(git(["rev-list", "--count", `refs/tags/${tag}`], { cwd: m })).toBe("1");
    expect(() => git(["cat-file", "-e", `${parent}^{commit}`], { cwd: m })).toThrow();
    expect(git(["for-each-ref", "--format=%(refname)"], { cwd: m })).toBe(`refs/tags/${tag}`);
    // The tree's objects are the mirror's own files, linked (no pack written anew, no alternates),
    // with the mirror's shallow list: a sound repository of its own.
    const packs = (dir: string): string[] => readdirSync(path.join(dir, "objects", "pack")).filter((f) => f.endsWith(".pack")).sort();
    const treeGit = path.join(seabiosRemote(t), ".git");
    expect(packs(treeGit)).toEqual(packs(m));
    for (const p of packs(treeGit)) expect(statSync(path.join(treeGit, "objects", "pack", p)).ino).toBe(statSync(path.join(m, "objects", "pack", p)).ino);
    expect(existsSync(path.join(treeGit, "objects", "info", "alternates"))).toBe(false);
    expect(readFileSync(path.join(treeGit, "shallow"), "utf8")).toBe(readFileSync(path.join(m, "shallow"), "utf8"));
    expect(git(["rev-parse", `refs/tags/${tag}`], { cwd: seabiosRemote(t) })).toBeTruthy();
    git(["fsck", "--connectivity-only", "--no-progress"], { cwd: seabiosRemote(t) });

    // An abbreviated commit cannot be asked of a server: xqbuild needs the whole history for it.
    const t2 = makeTree(base, "short", urls(), { cache: t.cache });
    const r = await xq(t2, ["fetch", "seabios", `SEABIOS_UPSTREAM_REVISION=${parent.slice(0, 10)}`]);
    expectOk(r);
    expect(head(seabiosRemote(t2))).toBe(parent);
    expect(originOf(seabiosRemote(t2))).toBe(daemon.url("seabios.git"));
    expect(readLock(t2).seabios).toEqual({ url: daemon.url("seabios.git"), revision: parent.slice(0, 10), commit: parent });
    expect(existsSync(path.join(m, "shallow"))).toBe(false);
    expect(git(["rev-parse", "refs/heads/master"], { cwd: m })).toBe(repos.seabios.refs.master);
  });
});

// ---------------------------------------------------------------------------------------------
describe("smart HTTP from git http-backend (GIT_HTTP=y, and https from 4.18)", () => {
  let repos: UpstreamRepos;
  let http: HttpGitServer;
  let base: string;
  const extra: HttpGitServer[] = [];
  beforeAll(async () => {
    base = tempBase("http");
    repos = makeUpstreamRepos(path.join(base, "upstream"));
    http = await startHttpGit(repos.baseDir);
  });
  afterAll(async () => {
    await http?.stop();
    for (const s of extra) await s.stop();
  });

  it("(b) GIT_HTTP=y turns the default URLs into xenbits' http://.../git-http/ URLs (configuration only)", async () => {
    const t = makeTree(base, "config", {});
    const vars = ["QEMU_UPSTREAM_URL", "SEABIOS_UPSTREAM_URL", "QEMU_TRADITIONAL_URL", "QEMU_UPSTREAM_LOC"];
    const read = async (argv: string[]): Promise<Record<string, { value: string; origin: string }>> => {
      const r = await xq(t, ["config", "--json", ...vars, ...argv]);
      expectOk(r);
      return JSON.parse(r.stdout) as Record<string, { value: string; origin: string }>;
    };
    const plain = await read([]);
    expect(plain.QEMU_UPSTREAM_URL?.value).toBe("git://xenbits.xen.org/qemu-xen.git");
    expect(plain.SEABIOS_UPSTREAM_URL?.value).toBe("git://xenbits.xen.org/seabios.git");
    const cmdline = await read(["GIT_HTTP=y"]);
    expect(cmdline.QEMU_UPSTREAM_URL?.value).toBe("http://xenbits.xen.org/git-http/qemu-xen.git");
    expect(cmdline.SEABIOS_UPSTREAM_URL?.value).toBe("http://xenbits.xen.org/git-http/seabios.git");
    expect(cmdline.QEMU_TRADITIONAL_URL?.value).toBe("http://xenbits.xen.org/git-http/qemu-xen-traditional.git");
    expect(cmdline.QEMU_UPSTREAM_LOC?.value).toBe("http://xenbits.xen.org/git-http/qemu-xen.git");
    writeFileSync(path.join(t.root, ".config"), "GIT_HTTP = y\n");
    const dotConfig = await read([]);
    expect(dotConfig.QEMU_UPSTREAM_URL?.value).toBe("http://xenbits.xen.org/git-http/qemu-xen.git");
    expect(dotConfig.SEABIOS_UPSTREAM_URL?.value).toBe("http://xenbits.xen.org/git-http/seabios.git");
  });

  it("(b) fetches qemu-xen and SeaBIOS over smart HTTP, origin naming the http:// URL", async () => {
    const t = makeTree(base, "b", { qemu: http.url("qemu-xen.git"), seabios: http.url("seabios.git"), traditional: http.url("qemu-xen-traditional.git") }, { extra: ["GIT_HTTP = y"] });
    const before = http.requests;
    expectOk(await xq(t, ["fetch"]));
    expect(http.requests).toBeGreaterThan(before);
    expect(http.log.slice(before).every((r) => r.status === 200)).toBe(true);
    expect(readlinkSync(path.join(t.root, "tools", "qemu-xen-dir"))).toBe("qemu-xen-dir-remote");
    expect(head(qemuRemote(t))).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(originOf(qemuRemote(t))).toBe(http.url("qemu-xen.git"));
    expect(originOf(seabiosRemote(t))).toBe(http.url("seabios.git"));
    expectNoAlternates(path.join(qemuRemote(t), ".git"));
    expect(readLock(t)["qemu-xen"]?.url).toBe(http.url("qemu-xen.git"));
  });

  it("(e) retries transient HTTP 500s with backoff and then succeeds", async () => {
    const s = await startHttpGit(repos.baseDir, { failFirst: 2 });
    extra.push(s);
    const t = makeTree(base, "retry", { seabios: s.url("seabios.git") });
    const r = await xq(t, ["fetch", "seabios"]);
    expectOk(r);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(s.log.slice(0, 2).map((x) => x.status)).toEqual([500, 500]);
    expect(s.log.slice(2).every((x) => x.status === 200)).toBe(true);
    expect(s.requests).toBeGreaterThan(2);
    expect(r.stderr.match(/retrying in/g) ?? []).toHaveLength(2);
    expect(r.ms).toBeGreaterThanOrEqual(2500); // 1 s, then 2 s of backoff
  }, 60_000);

  it("(e) a 404 is a clear error at once: exit 1, no debris, and the cache mirror is still usable", async () => {
    const s = await startHttpGit(repos.baseDir, { notFound: true });
    extra.push(s);
    const t = makeTree(base, "notfound", { seabios: s.url("seabios.git") });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot fetch from ${s.url("seabios.git")}`);
    expect(r.stderr).toMatch(/not found/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(s.requests).toBe(1); // not retried
    expect(debris(t)).toEqual([]);
    expect(existsSync(path.join(t.root, "xqbuild.lock"))).toBe(false);

    s.faults.notFound = false;
    const again = await xq(t, ["fetch", "seabios"]);
    expectOk(again);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(mirrors(t.cache, "seabios")).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Each of these waits for xqbuild's backoff (1 + 2 + 4 s): run them side by side.
describe.concurrent("an unreachable server", () => {
  let base: string;
  let repos: UpstreamRepos;
  beforeAll(() => {
    base = tempBase("refused");
    repos = makeUpstreamRepos(path.join(base, "upstream"));
  });

  it("(f) connection refused: a clear error in bounded time, exit 1, no debris", async ({ expect }) => {
    const port = await freePort(); // nothing listens there
    const url = `git://127.0.0.1:${port}/seabios.git`;
    const t = makeTree(base, "f", { seabios: url });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.ms).toBeLessThan(60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot fetch from ${url}`);
    expect(r.stderr).toMatch(/Connection refused/);
    expect(r.stderr).toMatch(/retrying in/); // refused is transient: the server may be restarting
    expect(r.stderr).toMatch(/could not be reached/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(debris(t)).toEqual([]);
    expect(existsSync(path.join(t.root, "xqbuild.lock"))).toBe(false);
  }, 90_000);

  it("(f) connection refused over http://: retried and reported like git://", async ({ expect }) => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/seabios.git`;
    const t = makeTree(base, "f-http", { seabios: url });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.ms).toBeLessThan(60_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot fetch from ${url}`);
    expect(r.stderr).toMatch(/Couldn't connect to server|Connection refused/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(debris(t)).toEqual([]);
    expect(r.stderr).toMatch(/could not be reached/);
    expect(r.stderr).toMatch(/retrying in/);
  }, 90_000);

  it("(f) a commit pinned in xqbuild.lock, from a server that refuses connections: a clear error too", async ({ expect }) => {
    const port = await freePort();
    const url = `git://127.0.0.1:${port}/seabios.git`;
    const t = makeTree(base, "f-pinned", { seabios: url });
    const commit = repos.seabios.refs["rel-1.16.0"] as string;
    writeFileSync(path.join(t.root, "xqbuild.lock"), JSON.stringify({ version: 1, components: { seabios: { url, revision: "rel-1.16.0", commit } } }, null, 2) + "\n");
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.ms).toBeLessThan(60_000);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot fetch from ${url}`);
    expect(r.stderr).toMatch(/Connection refused/);
    expect(debris(t)).toEqual([]);
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------
type Serve = { url(name: string): string; stop(): Promise<void> };

describe.each([
  // The branch check waits for xqbuild's retries (7 s); once is enough, the code path is the same.
  { protocol: "git://", start: (dir: string): Promise<Serve> => startGitDaemon(dir), checkBranch: true },
  { protocol: "smart HTTP", start: (dir: string): Promise<Serve> => startHttpGit(dir), checkBranch: false },
])("QEMU's submodules over $protocol", ({ start, checkBranch }) => {
  let base: string;
  let up: SubmoduleUpstream;
  let seabios: UpstreamRepos["seabios"];
  let server: Serve;
  let t: Tree;
  let serverUp = false;

  beforeAll(async () => {
    base = tempBase("submodules");
    const dir = path.join(base, "upstream");
    // seabios.git and qemu-xen-traditional.git from the plain fixtures; qemu-xen.git is replaced by
    // the superproject with submodules. One directory, one server.
    seabios = makeUpstreamRepos(dir).seabios;
    up = makeSubmoduleUpstream(dir);
    server = await start(dir);
    serverUp = true;
    t = makeTree(base, "tree1", { qemu: server.url("qemu-xen.git"), seabios: server.url("seabios.git") });
    expectOk(await xq(t, ["fetch"]));
    expect(head(seabiosRemote(t))).toBe(seabios.refs["rel-1.16.0"]);
  });
  afterAll(async () => {
    if (serverUp) await server.stop();
  });

  it("(c) checks out the five submodules at the recorded commits, and not roms/big", () => {
    const q = qemuRemote(t);
    expect(head(q)).toBe(up.superproject.refs["qemu-xen-4.17.3"]);
    // One line per submodule: " SHA PATH (describe)" when checked out at the recorded commit,
    // "-SHA PATH" when not initialised.
    const status = new Map(
      git(["submodule", "status"], { cwd: q })
        .split("\n")
        .map((l) => /^(.)([0-9a-f]{40}) (\S+)/.exec(l.padStart(l.length + (/^[0-9a-f]/.test(l) ? 1 : 0), " ")))
        .filter((m) => m !== null)
        .map((m) => [m[3] as string, `${m[1]}${m[2]}`]),
    );
    for (const s of up.submodules) {
      const dir = path.join(q, s.path);
      expect(existsSync(path.join(dir, s.file)), `${s.path}/${s.file}`).toBe(true);
      expect(head(dir)).toBe(s.commit);
      expect(status.get(s.path)).toBe(` ${s.commit}`);
    }
    // roms/big: registered in .gitmodules, never initialised, nothing of it fetched.
    expect(status.get(EXTRA_SUBMODULE.path)).toBe(`-${up.extra.commit}`);
    expect(readdirSync(path.join(q, EXTRA_SUBMODULE.path))).toEqual([]);
    expect(existsSync(path.join(q, ".git", "modules", ...EXTRA_SUBMODULE.name.split("/")))).toBe(false);
    expect(() => git(["config", `submodule.${EXTRA_SUBMODULE.name}.url`], { cwd: q })).toThrow();
    expect(mirrors(t.cache, "big")).toEqual([]);
  });

  it("(c) each submodule's origin is its real URL, resolved against the superproject's (not the cache)", () => {
    const q = qemuRemote(t);
    for (const s of up.submodules) {
      const real = server.url(`${s.repo}.git`);
      expect(originOf(path.join(q, s.path))).toBe(real);
      expect(git(["config", `submodule.${s.name}.url`], { cwd: q })).toBe(real);
      expect(mirrors(t.cache, s.repo)).toHaveLength(1);
    }
  });

  it("(c) no submodule borrows objects from the cache (no alternates)", () => {
    const modules = path.join(qemuRemote(t), ".git", "modules");
    expectNoAlternates(path.join(qemuRemote(t), ".git"));
    let shallow = 0;
    for (const s of up.submodules) {
      const gitDir = path.join(modules, ...s.name.split("/"));
      expect(existsSync(path.join(gitDir, "HEAD")), gitDir).toBe(true);
      expectNoAlternates(gitDir);
      // From a shallow mirror, the submodule's packs are the mirror's own files, linked.
      const mirror = mirrors(t.cache, s.repo)[0] as string;
      if (!existsSync(path.join(mirror, "shallow"))) continue;
      shallow++;
      // (a small fetch leaves loose objects, a larger one a pack)
      const objectFiles = (objects: string): string[] =>
        readdirSync(objects)
          .filter((d) => d === "pack" || /^[0-9a-f]{2}$/.test(d))
          .flatMap((d) => readdirSync(path.join(objects, d)).filter((f) => d !== "pack" || f.endsWith(".pack")).map((f) => `${d}/${f}`));
      const files = objectFiles(path.join(mirror, "objects"));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect(statSync(path.join(gitDir, "objects", f)).ino, `${s.path}: ${f}`).toBe(statSync(path.join(mirror, "objects", f)).ino);
      expect(readFileSync(path.join(gitDir, "shallow"), "utf8")).toBe(readFileSync(path.join(mirror, "shallow"), "utf8"));
      git(["fsck", "--connectivity-only", "--no-progress"], { cwd: path.join(qemuRemote(t), s.path) });
    }
    // Pinned commits are fetched shallow from these servers.
    expect(shallow).toBe(up.submodules.length);
  });

  it("(c) with the server stopped, configure and `git submodule update --init` still succeed", async () => {
    await server.stop();
    serverUp = false;
    const q = path.join(t.root, "tools", "qemu-xen-dir");
    const build = path.join(t.root, "tools", "qemu-xen-build");
    mkdirSync(build, { recursive: true });
    const record = path.join(base, "record.jsonl");
    const args = ["--enable-xen", "--target-list=i386-softmmu", "--python=python3"];
    const r = await execFileP(path.join(q, "configure"), args, { cwd: build, env: { ...gitEnv(), XQ_RECORD: record } });
    expect(r.stdout).toMatch(/wrote Makefile/);
    const rec = JSON.parse(readFileSync(record, "utf8").trim().split("\n")[0] as string) as { tool: string; argv: string[]; version: string };
    expect(rec).toMatchObject({ tool: "configure", argv: args, version: "7.2.0" });
    expect(existsSync(path.join(build, "Makefile"))).toBe(true);

    const paths = up.submodules.map((s) => s.path);
    await execFileP("git", ["submodule", "update", "--init", "--", ...paths], { cwd: q, env: gitEnv() });
    for (const s of up.submodules) expect(head(path.join(q, s.path))).toBe(s.commit);
    expect(git(["status", "--porcelain"], { cwd: q })).toBe("");
  });

  it("(d) a second tree on the same cache fetches tags with the server stopped; a branch needs the server", async () => {
    expect(serverUp).toBe(false);
    const t2 = makeTree(base, "tree2", { qemu: server.url("qemu-xen.git"), seabios: server.url("seabios.git") }, { cache: t.cache });
    expectOk(await xq(t2, ["fetch"]));
    const q = qemuRemote(t2);
    expect(head(q)).toBe(up.superproject.refs["qemu-xen-4.17.3"]);
    expect(originOf(q)).toBe(server.url("qemu-xen.git"));
    for (const s of up.submodules) {
      expect(head(path.join(q, s.path))).toBe(s.commit);
      expect(originOf(path.join(q, s.path))).toBe(server.url(`${s.repo}.git`));
      expectNoAlternates(path.join(q, ".git", "modules", ...s.name.split("/")));
    }
    expect(head(seabiosRemote(t2))).toBe(seabios.refs["rel-1.16.0"]);
    expect(originOf(seabiosRemote(t2))).toBe(server.url("seabios.git"));

    if (!checkBranch) return;
    // A branch is asked of the server each time: without it, a clear error and the tree untouched.
    const branch = await xq(t2, ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=master"]);
    expect(branch.code).toBe(1);
    expect(branch.stderr).toContain(`cannot fetch from ${server.url("seabios.git")}`);
    expect(branch.stderr).not.toMatch(/internal error/);
    expect(head(seabiosRemote(t2))).toBe(seabios.refs["rel-1.16.0"]);
  }, 90_000);

  it("(d) the cache keeps what it fetched through `git gc --prune=now` (a third tree, offline)", async () => {
    expect(serverUp).toBe(false);
    for (const m of readdirSync(path.join(t.cache, "git")).filter((f) => f.endsWith(".git"))) {
      git(["gc", "--quiet", "--prune=now"], { cwd: path.join(t.cache, "git", m) });
    }
    const t3 = makeTree(base, "tree3", { qemu: server.url("qemu-xen.git"), seabios: server.url("seabios.git") }, { cache: t.cache });
    expectOk(await xq(t3, ["fetch", "--offline"]));
    const q = qemuRemote(t3);
    expect(head(q)).toBe(up.superproject.refs["qemu-xen-4.17.3"]);
    for (const s of up.submodules) expect(head(path.join(q, s.path))).toBe(s.commit);
  });
});
