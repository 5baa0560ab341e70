// Fault 4: two xqbuild runs at once: on one tree (the second says it waits for the lock, both
// succeed, the stamps and the tree are consistent, configure and make ran once), and on two trees
// sharing one cache fetching the same repository (one waits for the mirror's lock, both succeed,
// one mirror, sound). And a run waiting for a lock still stops on Ctrl-C.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords } from "../support/records.js";
import { startGitDaemon, type GitDaemon } from "../support/servers.js";
import {
  addBigTag,
  builtCli,
  debris,
  expectFsckClean,
  expectOk,
  head,
  makeTree,
  makeWrappers,
  mirrors,
  qemuRemote,
  removeBases,
  seabiosRemote,
  startProxy,
  startXq,
  tempBase,
  until,
  urlLines,
  waitGroupsGone,
  xq,
} from "./support.js";

let base: string;
let repos: UpstreamRepos;
let daemon: GitDaemon;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  builtCli();
  base = tempBase("conc");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
  addBigTag(repos, 2);
  daemon = await startGitDaemon(repos.baseDir);
});
afterAll(async () => {
  for (const c of cleanups) await c();
  await daemon?.stop();
  removeBases();
});

describe.concurrent("two runs at once", () => {
  it("on one tree: the second says it waits for the lock, both succeed, configure and make ran once, stamps consistent", async ({ expect }) => {
    const t = makeTree(base, "one-tree", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    const record = path.join(t.base, "one-tree-record.jsonl");
    const env = { XQ_RECORD: record, XQ_FAKE_JOBS: "6", XQ_JOBLOG: path.join(t.base, "one-tree-jobs.log") };
    const a = startXq(t, ["all", "-j2"], env);
    await a.waitFor(/fetched|started/);
    const b = startXq(t, ["all", "-j2"], env);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expectOk(ra);
    expectOk(rb);
    expect(`${ra.stderr}\n${rb.stderr}`).toMatch(/waiting for the lock on the tree/);
    const recs = readRecords(record);
    expect(recs.filter((r) => r.tool === "configure")).toHaveLength(1);
    expect(recs.filter((r) => r.tool === "make" && r.target === "all")).toHaveLength(2); // qemu-xen and seabios, once each
    const status = await xq(t, ["status", "--json"]);
    expectOk(status);
    const comps = (JSON.parse(status.stdout) as { components: Array<{ name: string; enabled: boolean; stages: Record<string, string>; dirty: string[] }> }).components.filter((c) => c.enabled);
    for (const c of comps) {
      expect(c.stages, c.name).toEqual(c.name === "seabios" ? { build: "up to date" } : { configure: "up to date", build: "up to date" });
      expect(c.dirty, c.name).toEqual([]);
    }
    expect(head(qemuRemote(t))).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect(debris(t, { trees: false })).toEqual([]);
  });

  it("two trees sharing one cache, fetching the same repository: one waits for the mirror, both succeed, one sound mirror", async ({ expect }) => {
    const proxy = await startProxy(daemon.port, { bytesPerSecond: 1024 * 1024 });
    cleanups.push(() => proxy.stop());
    const cache = path.join(base, "shared-cache");
    const config = [...urlLines({ seabios: proxy.url("seabios.git") }), "SEABIOS_UPSTREAM_REVISION = rel-big"];
    const t1 = makeTree(base, "shared1", { config, cache });
    const t2 = makeTree(base, "shared2", { config, cache });
    const a = startXq(t1, ["fetch", "seabios"]);
    await until(() => proxy.serverBytes > 0, 20_000, "the first fetch to reach the server");
    const b = startXq(t2, ["fetch", "seabios"]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expectOk(ra);
    expectOk(rb);
    expect(`${ra.stderr}\n${rb.stderr}`).toMatch(/waiting for the lock on the mirror of/);
    for (const t of [t1, t2]) {
      expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-big"]);
      expect(debris(t, { trees: false })).toEqual([]);
    }
    const ms = mirrors(cache, "seabios");
    expect(ms).toHaveLength(1);
    expectFsckClean(ms[0] as string);
    // The pack crossed the network once.
    expect(proxy.serverBytes).toBeLessThan(3 * 1024 * 1024);
  });

  it("distclean --force while a build runs on the tree: it waits for the tree's lock (and gives up after --lock-timeout), the trees stay", async ({ expect }) => {
    const w = makeWrappers(path.join(base, "distclean-bin"));
    const t = makeTree(base, "distclean", { config: urlLines({ qemu: repos.qemuXen.url }), env: { PATH: w.path } });
    w.set("slow-configure", true);
    const holder = startXq(t, ["all", "qemu-xen"]);
    await until(() => w.reached("configure"), 30_000, "the build's configure");
    const r = await xq(t, ["distclean", "--force", "--lock-timeout", "2"]);
    const kept = existsSync(path.join(qemuRemote(t), "configure"));
    w.set("slow-configure", false);
    holder.child.kill("SIGTERM");
    await holder.done;
    expect(kept, "distclean deleted the source tree of a running build").toBe(true);
    expect(r.stderr).toMatch(/waiting for the lock on the tree|gave up waiting for the lock/);
    expect(r.code).toBe(1);
  });

  it("a run waiting for the tree's lock stops on SIGINT within 5 s (exit 130), and the holder finishes", async ({ expect }) => {
    const w = makeWrappers(path.join(base, "wait-bin"));
    const t = makeTree(base, "wait", { config: urlLines({ qemu: repos.qemuXen.url }), env: { PATH: w.path } });
    w.set("slow-configure", true);
    const holder = startXq(t, ["all", "qemu-xen"]);
    await until(() => w.reached("configure"), 30_000, "the first run's configure");
    const waiter = startXq(t, ["fetch", "qemu-xen"]);
    await waiter.waitFor(/waiting for the lock on the tree/);
    const sent = Date.now();
    waiter.child.kill("SIGINT");
    const left = await waitGroupsGone(new Set([waiter.pid]), 5000);
    const rw = await Promise.race([waiter.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (!rw) waiter.child.kill("SIGKILL");
    expect(left, "the waiting xqbuild still running 5 s after SIGINT").toEqual([]);
    expect(rw?.code).toBe(130);
    expect(Date.now() - sent).toBeLessThan(5500);
    w.set("slow-configure", false);
    // The holder's configure sleeps 60 s: end it early by stopping that sleep; the holder then
    // finishes (configure ran, just late).
    holder.child.kill("SIGINT");
    const rh = await holder.done;
    expect(rh.code).toBe(130);
    expect(existsSync(path.join(t.root, ".xqbuild", "lock"))).toBe(false);
    expectOk(await xq(t, ["all", "qemu-xen"]));
    expect(readFileSync(path.join(t.root, "tools", "qemu-xen-build", "qemu-system-i386"), "utf8").length).toBeGreaterThan(0);
  });
});
