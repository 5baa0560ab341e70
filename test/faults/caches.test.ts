// Faults of the caches: the artifact cache, the shared remote cache and ccache. A DESTDIR that
// cannot be written, a remote cache that accepts connections and never answers, a remote that
// answers with errors, an artifact entry that is garbage, and settings that make no sense: each is
// a clear message or a build that goes on, never a half-installed tree or a cache entry for work
// that failed.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, expectOk, makeTree, removeBases, startStallServer, tempBase, urlLines, xq, HOST } from "./support.js";

let base: string;
let repos: UpstreamRepos;
let n = 0;

beforeAll(() => {
  builtCli();
  base = tempBase("caches");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

const tree = (env: Record<string, string | undefined> = {}, cache?: string) =>
  makeTree(base, `t${n++}`, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { XQBUILD_CCACHE: "0", ...env }, ...(cache ? { cache } : {}) });

const artifacts = (cache: string): string[] => (existsSync(path.join(cache, "artifacts")) ? readdirSync(path.join(cache, "artifacts")).sort() : []);

describe.concurrent("cache faults", () => {
  it("a DESTDIR that cannot be written: exit 1, one paragraph naming it; the artifact stays valid and the next install uses it", async ({ expect }) => {
    const t = tree();
    const dest = path.join(t.base, `${t.name}-dest`);
    writeFileSync(dest, "a file where the directory should be\n");
    const r = await xq(t, ["install", "qemu-xen", "--destdir", dest]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(dest);
    expect(para).toMatch(/cannot unpack the cached qemu-xen/);
    // What was packed is whole: the install into a good DESTDIR restores it without building.
    const good = path.join(t.base, `${t.name}-good`);
    const again = await xq(t, ["install", "qemu-xen", "--destdir", good]);
    expectOk(again);
    expect(again.stderr).toMatch(/\[qemu-xen build\] in the artifact cache/);
    expect(existsSync(path.join(good, "usr/local/lib/xen/bin/qemu-system-i386"))).toBe(true);
  });

  it("a remote cache that accepts connections and never answers: the build goes on after the timeout", async ({ expect }) => {
    const stall = await startStallServer();
    try {
      const t = tree({ XQBUILD_REMOTE_CACHE: `http://${HOST}:${stall.port}/cache`, XQBUILD_REMOTE_CACHE_TIMEOUT: "1" });
      const r = await xq(t, ["install", "qemu-xen", "--destdir", path.join(t.base, `${t.name}-dest`)]);
      expectOk(r);
      expect(r.stderr).toMatch(/remote cache: .*(time|stall|idle)/i);
      expect(r.stderr).toMatch(/\[qemu-xen build\] done/);
      expect(stall.connections).toBeGreaterThan(0);
    } finally {
      await stall.stop();
    }
  });

  it("a remote cache that answers 500 to everything: a miss, an upload that says why, and a finished build", async ({ expect }) => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    try {
      const port = (server.address() as { port: number }).port;
      const t = tree({ XQBUILD_REMOTE_CACHE: `http://${HOST}:${port}/c` });
      const r = await xq(t, ["install", "qemu-xen", "--destdir", path.join(t.base, `${t.name}-dest`)]);
      expectOk(r);
      expect(r.stderr).toMatch(/qemu-xen: remote cache: .*500/);
      expect(r.stderr).toMatch(/qemu-xen: remote cache: not uploaded: .*500/);
      expect(requests).toBeGreaterThan(1);
      // The local artifact is there all the same.
      expect(artifacts(t.cache).filter((f) => f.endsWith(".tar"))).toHaveLength(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("an artifact entry that is garbage is a miss: the component is built and stored again", async ({ expect }) => {
    const first = tree();
    expectOk(await xq(first, ["install", "qemu-xen", "--destdir", path.join(first.base, `${first.name}-dest`)]));
    const entries = artifacts(first.cache).filter((f) => f.endsWith(".json"));
    expect(entries).toHaveLength(1);
    writeFileSync(path.join(first.cache, "artifacts", entries[0] as string), "{ not json");
    const t = tree({}, first.cache);
    const r = await xq(t, ["install", "qemu-xen", "--destdir", path.join(t.base, `${t.name}-dest`)]);
    expectOk(r);
    expect(r.stderr).toMatch(/\[qemu-xen build\] done/);
    // Stored again, whole.
    expect(artifacts(first.cache).filter((f) => f.endsWith(".json"))).toEqual(entries);
  });

  it("an artifact directory that cannot be written: the build and install finish, the failure to store is said", async ({ expect }) => {
    const t = tree();
    mkdirSync(t.cache, { recursive: true });
    writeFileSync(path.join(t.cache, "artifacts"), "not a directory\n");
    const dest = path.join(t.base, `${t.name}-dest`);
    const r = await xq(t, ["install", "qemu-xen", "--destdir", dest]);
    expectOk(r);
    expect(r.stderr).toMatch(/qemu-xen: not stored in the artifact cache \(.*artifacts\): (ENOTDIR|EEXIST)/);
    expect(existsSync(path.join(dest, "usr/local/lib/xen/bin/qemu-system-i386"))).toBe(true);
    expect(existsSync(path.join(t.root, ".xqbuild", "staging", "qemu-xen"))).toBe(false);
  });

  it("settings that make no sense: exit 2, naming the file and the key", async ({ expect }) => {
    const cases: Array<[unknown, RegExp]> = [
      [{ artifactCache: { remote: "ftp://127.0.0.1/cache" } }, /\.xqbuildrc\.json: "artifactCache\.remote" is not a usable cache URL/],
      [{ artifactCache: { remote: "http://user:secret@127.0.0.1/cache" } }, /"artifactCache\.remote" is not a usable cache URL/],
      [{ artifactCache: { maxSize: "lots" } }, /"artifactCache\.maxSize" must be a size/],
      [{ artifactCache: { size: "1G" } }, /"artifactCache\.size" is not an artifact cache setting/],
      [{ ccache: 5 }, /"ccache" must be true, false, "auto" or the path of ccache/],
      [{ ccache: "/nonexistent/ccache" }, /\/nonexistent\/ccache/],
    ];
    for (const [settings, re] of cases) {
      const t = tree({ XQBUILD_CCACHE: undefined });
      writeFileSync(path.join(t.root, ".xqbuildrc.json"), JSON.stringify(settings));
      const r = await xq(t, ["all", "qemu-xen"]);
      expect(r.code, JSON.stringify(settings)).toBe(2);
      const para = expectCleanError(r.stderr);
      expect(para).toMatch(re);
      expect(para).not.toContain("secret");
      expect(existsSync(path.join(t.root, "tools", "qemu-xen-dir-remote")), "nothing fetched before the settings were checked").toBe(false);
    }
  });
});
