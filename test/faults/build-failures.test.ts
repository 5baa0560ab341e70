// Fault 10: builds that fail. configure and make exiting non-zero, a compiler killed by SIGKILL
// inside make, make itself killed by SIGKILL (the OOM killer), 1 GiB of build output (xqbuild's
// memory stays bounded, the log on disk has all of it), and output into a closed pipe.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, expectOk, makeTree, makeWrappers, removeBases, stampFile, survivors, tempBase, urlLines, xq, type Tree, type Wrappers } from "./support.js";

let base: string;
let repos: UpstreamRepos;
let n = 0;

beforeAll(() => {
  builtCli();
  base = tempBase("build-fail");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

function tree(): { t: Tree; w: Wrappers } {
  const name = `t${n++}`;
  const w = makeWrappers(path.join(base, `${name}-bin`));
  const t = makeTree(base, name, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }), env: { PATH: w.path, XQ_FAKE_JOBS: "1", XQ_JOBLOG: path.join(base, `${name}-jobs.log`) } });
  return { t, w };
}

/** A failed build's report: a one-paragraph head (what failed, how, the command, where), the output's tail, the log. */
function expectBuildFailure(stderr: string, what: RegExp): string {
  const para = expectCleanError(stderr, { maxLines: 60, maxChars: 10_000 });
  expect(para.split("\n")[0]).toMatch(what);
  expect(para).toMatch(/command: /);
  expect(para).toMatch(/full log: .*\.xqbuild\/logs\/qemu-xen-(configure|build)\.log/);
  return para;
}

describe.concurrent("failing builds", () => {
  it("configure exits non-zero: exit 1, what failed and its output, no configure stamp", async ({ expect }) => {
    const { t } = tree();
    const r = await xq(t, ["all", "qemu-xen"], { XQ_FAKE_CONFIGURE_FAIL: "1" });
    expect(r.code).toBe(1);
    const para = expectBuildFailure(r.stderr, /qemu-xen configure \(configure\) failed with exit code 1/);
    expect(para).toMatch(/ERROR: fake configure failure/);
    expect(existsSync(stampFile(t, "qemu-xen", "configure"))).toBe(false);
  });

  it("make exits non-zero (a compile error): exit 1, the compiler's message, configure stamp kept, no build stamp", async ({ expect }) => {
    const { t, w } = tree();
    w.set("fail-job", true);
    // The fake job's recipe ends with `echo >> $(XQ_JOBLOG)`: a directory that does not exist fails it.
    const r = await xq(t, ["all", "qemu-xen"], { XQ_JOBLOG: path.join(t.base, "no-such-dir", "jobs.log") });
    expect(r.code).toBe(1);
    const para = expectBuildFailure(r.stderr, /qemu-xen build \(make\) failed with exit code 2/);
    expect(para).toMatch(/cc1: fatal error: fake compiler failure/);
    expect(existsSync(stampFile(t, "qemu-xen", "configure"))).toBe(true);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
    w.set("fail-job", false);
    expectOk(await xq(t, ["all", "qemu-xen"]));
  });

  it("a compiler killed by SIGKILL inside make: the message says it was killed, perhaps out of memory", async ({ expect }) => {
    const { t, w } = tree();
    w.set("kill-job", true);
    const r = await xq(t, ["all", "qemu-xen"]);
    expect(r.code).toBe(1);
    const para = expectBuildFailure(r.stderr, /qemu-xen build \(make\) failed/);
    expect(para).toMatch(/Killed/); // make's own line, in the tail
    expect(para.split("\n").slice(0, 2).join("\n"), "the head of the message says a process was killed, perhaps out of memory").toMatch(/killed[\s\S]*out of memory|out of memory[\s\S]*killed/i);
  });

  it("make itself killed by SIGKILL: the message says killed by SIGKILL, out of memory?", async ({ expect }) => {
    const { t, w } = tree();
    w.set("kill-make", true);
    const r = await xq(t, ["all", "qemu-xen"]);
    expect(r.code).toBe(1);
    expectBuildFailure(r.stderr, /qemu-xen build \(make\) was killed by SIGKILL \(out of memory\?\)/);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(false);
  });
});

describe("1 GiB of build output", () => {
  it("xqbuild's peak memory stays bounded and the log file holds all of it", async () => {
    const { t, w } = tree();
    const GiB = 1024 ** 3;
    w.set("flood-job", true, String(GiB));
    const timeOut = path.join(t.base, "time.txt");
    const hasTime = spawnSync("/usr/bin/time", ["-v", "true"]).status === 0;
    const r = await xq(t, ["all", "qemu-xen"], {}, { timeoutMs: 120_000, ...(hasTime ? { wrap: ["/usr/bin/time", "-v", "-o", timeOut] } : {}) });
    expectOk(r);
    const log = path.join(t.root, ".xqbuild", "logs", "qemu-xen-build.log");
    expect(statSync(log).size).toBeGreaterThanOrEqual(GiB);
    if (hasTime) {
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(spawnSync("cat", [timeOut], { encoding: "utf8" }).stdout)?.[1]);
      expect(rss, "peak RSS of xqbuild (and its children), KiB").toBeLessThan(300 * 1024);
    }
  }, 150_000);

  it("with -v (every line also to stderr), 128 MiB: memory stays bounded too", async () => {
    const { t, w } = tree();
    w.set("flood-job", true, String(128 * 1024 ** 2));
    const timeOut = path.join(t.base, "time-v.txt");
    const hasTime = spawnSync("/usr/bin/time", ["-v", "true"]).status === 0;
    const r = await xq(t, ["all", "-v", "qemu-xen"], {}, { timeoutMs: 120_000, ...(hasTime ? { wrap: ["/usr/bin/time", "-v", "-o", timeOut] } : {}) });
    expectOk(r);
    if (hasTime) {
      const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(spawnSync("cat", [timeOut], { encoding: "utf8" }).stdout)?.[1]);
      expect(rss, "peak RSS of xqbuild -v (and its children), KiB").toBeLessThan(300 * 1024);
    }
  }, 150_000);
});

describe("output into a closed pipe", () => {
  /** `xqbuild ARGV | head -c N` (or 2>&1 | ...): xqbuild's exit status, its stderr, and what head got. */
  function piped(t: Tree, argv: string[], opts: { bothStreams?: boolean; head?: string } = {}): { rc: number; stderr: string; out: string } {
    const cli = builtCli();
    const errFile = path.join(t.base, `pipe-${n++}.err`);
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const redirect = opts.bothStreams ? "2>&1" : `2>${q(errFile)}`;
    const script = `${q(process.execPath)} ${q(cli)} ${argv.map(q).join(" ")} -C ${q(t.root)} ${redirect} | ${opts.head ?? "head -1"}; echo "rc=\${PIPESTATUS[0]}" >&2`;
    const r = spawnSync("bash", ["-c", script], { env: t.env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 });
    const rc = Number(/rc=(\d+)/.exec(r.stderr)?.[1] ?? -1);
    const stderr = existsSync(errFile) ? spawnSync("cat", [errFile], { encoding: "utf8" }).stdout : "";
    return { rc, stderr, out: r.stdout };
  }

  it.each([
    ["plan | head -1", ["plan"], "head -1", /^# Xen /],
    ["plan --json | head -c 10", ["plan", "--json"], "head -c 10", /^\{/],
    ["config --all | head -1", ["config", "--all"], "head -1", /^# Xen tree/],
  ])("%s: exit 0, nothing on stderr", async (_what, argv, head, first) => {
    const { t } = tree();
    const r = piped(t, argv, { head });
    expect(r.out).toMatch(first);
    expect(r.stderr).toBe("");
    expect(r.rc).toBe(0);
  });

  it("all -v | head -1 (progress is on stderr): the build completes, exit 0", async () => {
    const { t } = tree();
    const r = piped(t, ["all", "-v", "qemu-xen"]);
    expect(r.stderr).not.toMatch(/internal error|EPIPE|\n\s+at /);
    expect(r.rc).toBe(0);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(true);
  });

  it("all --json | head -1 (events on stdout): the build completes, exit 0", async () => {
    const { t } = tree();
    const r = piped(t, ["all", "--json", "qemu-xen"]);
    expect(JSON.parse(r.out) as { type: string }).toMatchObject({ type: expect.any(String) });
    expect(r.stderr).not.toMatch(/internal error|EPIPE|\n\s+at /);
    expect(r.rc).toBe(0);
    expect(existsSync(stampFile(t, "qemu-xen", "build"))).toBe(true);
  });

  it("all -v 2>&1 | sed '/build] started/q' (stderr closed while make runs): the build completes, exit 0, no child left behind", async () => {
    const { t } = tree();
    const joblog = path.join(t.base, "closed-stderr-jobs.log");
    t.env.XQ_FAKE_JOBS = "12";
    t.env.XQ_JOBLOG = joblog;
    const r = piped(t, ["all", "-v", "-j2", "qemu-xen"], { bothStreams: true, head: "sed '/build] started/q'" });
    expect(r.out).toMatch(/\[qemu-xen build\] started/);
    // Whatever xqbuild did about its closed stderr, make and its jobs must not run on without it.
    await new Promise((res) => setTimeout(res, 500));
    const orphans = survivors(joblog);
    for (const p of orphans) process.kill(p.pid, "SIGKILL");
    expect(orphans.map((p) => p.args), "make's jobs left running after xqbuild exited").toEqual([]);
    expect(existsSync(stampFile(t, "qemu-xen", "build")), `the build did not complete (xqbuild exited ${r.rc})`).toBe(true);
    expect(r.rc).toBe(0);
  });
});
