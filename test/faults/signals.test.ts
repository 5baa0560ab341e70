// Fault 3: SIGINT and SIGTERM to xqbuild's pid alone at each stage (fetch, configure, build,
// install): every child process gone within 5 s, exit 130 / 143, no stamp for the interrupted
// stage, nothing half-done left, and the next run completes. (test/build/signals.test.ts covers the
// build stage through dist/; this file covers every stage through the current sources.)
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, it, type ExpectStatic } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { startGitDaemon, type GitDaemon } from "../support/servers.js";
import {
  addBigTag,
  builtCli,
  debris,
  expectOk,
  groupsOf,
  head,
  interrupt as interruptRun,
  makeTree,
  makeWrappers,
  removeBases,
  seabiosRemote,
  startProxy,
  startXq,
  stampFile,
  tempBase,
  until,
  urlLines,
  xq,
  type Running,
  type Tree,
} from "./support.js";

let base: string;
let repos: UpstreamRepos;
let daemon: GitDaemon;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  builtCli();
  base = tempBase("sig");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
  addBigTag(repos, 2);
  daemon = await startGitDaemon(repos.baseDir);
});
afterAll(async () => {
  for (const c of cleanups) await c();
  await daemon?.stop();
  removeBases();
});

const SIGNALS = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const;

/**
 * Sends the signal to xqbuild's pid alone, and checks: exit code, every process of xqbuild's group
 * and of the given child groups gone within 5 s of the signal (test/support/processes.ts's interrupt).
 */
async function interrupt(run: Running, sig: "SIGINT" | "SIGTERM", code: number, childGroups: Set<number>, expect: ExpectStatic): Promise<string> {
  return (await interruptRun(run, sig, { code, groups: childGroups, expect })).stderr;
}

function buildTree(name: string): { t: Tree; w: ReturnType<typeof makeWrappers> } {
  const w = makeWrappers(path.join(base, `${name}-bin`));
  const t = makeTree(base, name, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
  t.env.PATH = w.path;
  return { t, w };
}

describe.concurrent.each(SIGNALS)("%s", (sig, code) => {
  it(`during fetch (a throttled clone): git gone, exit ${code}, no partial tree, lock released; the next fetch completes`, async ({ expect }) => {
    const proxy = await startProxy(daemon.port, { bytesPerSecond: 128 * 1024 });
    cleanups.push(() => proxy.stop());
    const t = makeTree(base, `fetch-${sig}`, { config: [...urlLines({ seabios: proxy.url("seabios.git") }), "SEABIOS_UPSTREAM_REVISION = rel-big"] });
    const run = startXq(t, ["fetch", "seabios"]);
    await until(() => proxy.serverBytes > 200 * 1024, 30_000, "the pack to be on its way");
    await interrupt(run, sig, code, groupsOf(`127.0.0.1:${proxy.port}/`), expect);
    expect(debris(t)).toEqual([]);
    proxy.faults.bytesPerSecond = undefined;
    const again = await xq(t, ["fetch", "seabios"]);
    expectOk(again);
    expect(head(seabiosRemote(t))).toBe(repos.seabios.refs["rel-big"]);
  });

  it(`during configure: configure's process group gone, exit ${code}, no configure stamp; the next run configures and builds`, async ({ expect }) => {
    const { t, w } = buildTree(`configure-${sig}`);
    w.set("slow-configure", true);
    const run = startXq(t, ["all", "qemu-xen", "-j2"]);
    await until(() => w.reached("configure"), 30_000, "configure to start");
    await interrupt(run, sig, code, groupsOf(w.dir), expect);
    expect(existsSync(stampFile(t, "qemu-xen", "configure"))).toBe(false);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
    expect(existsSync(path.join(t.root, ".xqbuild", "lock"))).toBe(false);
    w.set("slow-configure", false);
    const again = await xq(t, ["all", "qemu-xen"]);
    expectOk(again);
    expect(again.stderr).toMatch(/\[qemu-xen configure\] done/);
    expect(again.stderr).toMatch(/\[qemu-xen build\] done/);
  });

  it(`during build: make and its jobs gone, exit ${code}, configure stamp kept, no build stamp; the next run only builds`, async ({ expect }) => {
    const { t } = buildTree(`build-${sig}`);
    const joblog = path.join(t.base, `jobs-${sig}.log`);
    const run = startXq(t, ["all", "qemu-xen", "-j2"], { XQ_FAKE_JOBS: "200", XQ_JOBLOG: joblog });
    await run.waitFor(/\[qemu-xen build\] started/);
    await until(() => existsSync(joblog) && readFileSync(joblog, "utf8").length > 0, 30_000, "compile jobs to run");
    await interrupt(run, sig, code, groupsOf(joblog), expect);
    expect(existsSync(stampFile(t, "qemu-xen", "configure"))).toBe(true);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
    const again = await xq(t, ["all", "qemu-xen"], { XQ_FAKE_JOBS: "1", XQ_JOBLOG: joblog });
    expectOk(again);
    expect(again.stderr).toMatch(/\[qemu-xen configure\] up to date/);
    expect(again.stderr).toMatch(/\[qemu-xen build\] done/);
  });

  it(`during install: make install gone, exit ${code}, build stamp kept; the next install completes`, async ({ expect }) => {
    const { t, w } = buildTree(`install-${sig}`);
    const dest = path.join(t.base, `stage-${sig}`);
    mkdirSync(dest, { recursive: true });
    w.set("slow-install", true);
    const run = startXq(t, ["install", "qemu-xen", "--destdir", dest]);
    await until(() => w.reached("install"), 30_000, "make install to start");
    await interrupt(run, sig, code, groupsOf(w.dir), expect);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(true);
    expect(existsSync(stampFile(t, "qemu-xen", "install"))).toBe(false);
    w.set("slow-install", false);
    const again = await xq(t, ["install", "qemu-xen", "--destdir", dest]);
    expectOk(again);
    expect(again.stderr).toMatch(/\[qemu-xen build\] up to date/);
    expect(existsSync(path.join(dest, "usr/local/lib/xen/bin/qemu-system-i386"))).toBe(true);
  });
});
