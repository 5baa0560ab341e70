// The source layer as typed values and events: git failures are GitErrors (also when git prints
// nothing), git's --progress lines become progress events, and `fetch --json` is the NDJSON stream
// of what the fetch did (run-start, fetch-start/done, resolved, run-end), errors included.
import { chownSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import type { XqEvent } from "../../src/report/events.js";
import { fetchLines, plainReporter } from "../../src/report/plain.js";
import { memoryOutput } from "../../src/report/output.js";
import { GitError, GitOwnershipError, gitAt, parseGitProgress, remoteGitAt, type GitProgress } from "../../src/source/git.js";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

const isRoot = process.getuid?.() === 0;

describe("gitAt: a failed git command is a GitError", () => {
  let repo: string;
  beforeAll(() => {
    repo = mkdtempSync(path.join(tmpdir(), "xqbuild-gitat-"));
    git(["init", "--quiet", repo]);
  });

  it("exit 1 with nothing on stderr (git config --get of an unset key) fails, with the exit code, args and empty stderr", async () => {
    const e = await gitAt(repo, { env: gitEnv() })
      .raw(["config", "--get", "xqbuild.no-such-key"])
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(e).toBeInstanceOf(GitError);
    const g = e as GitError;
    expect(g.exitCode).toBe(1);
    expect(g.stderr).toBe("");
    expect(g.args).toEqual(["config", "--get", "xqbuild.no-such-key"]);
    expect(g.message).toBe("git config exited with 1");
  });

  it("a failure git explains keeps its words in stderr and message", async () => {
    const e = (await gitAt(repo, { env: gitEnv() }).raw(["rev-parse", "--verify", "no-such-rev"]).catch((err: unknown) => err)) as GitError;
    expect(e).toBeInstanceOf(GitError);
    expect(e.exitCode).toBe(128);
    expect(e.stderr).toMatch(/fatal: Needed a single revision/);
    expect(e.message).toBe(e.stderr);
  });

  it.skipIf(!isRoot)("a repository another user owns is a GitOwnershipError naming it, with safe.directory in the hint", async () => {
    const other = mkdtempSync(path.join(tmpdir(), "xqbuild-owned-"));
    git(["init", "--quiet", other]);
    chownSync(other, 65534, 65534);
    chownSync(path.join(other, ".git"), 65534, 65534);
    const e = await gitAt(other, { env: gitEnv() }).raw(["rev-parse", "--git-dir"]).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(GitOwnershipError);
    const o = e as GitOwnershipError;
    expect(o.kind).toBe("failure");
    expect(o.dir).toBe(other);
    expect(o.message).toBe(`git refuses ${other}: it belongs to another user ("dubious ownership").`);
    expect(o.hint).toContain(`git config --global --add safe.directory ${other}`);
  });
});

describe("git's progress", () => {
  it("parses a Receiving objects line with bytes and rate, a remote's counting line, and nothing else", () => {
    expect(parseGitProgress("Receiving objects:  45% (123/456), 12.30 MiB | 2.10 MiB/s")).toEqual({
      phase: "Receiving objects",
      percent: 45,
      done: 123,
      total: 456,
      bytes: Math.round(12.3 * 1024 ** 2),
      rate: Math.round(2.1 * 1024 ** 2),
    });
    expect(parseGitProgress("remote: Counting objects:   7% (14/200)   ")).toEqual({ phase: "remote: Counting objects", percent: 7, done: 14, total: 200 });
    expect(parseGitProgress("Resolving deltas: 100% (12/12), done.")).toEqual({ phase: "Resolving deltas", percent: 100, done: 12, total: 12 });
    expect(parseGitProgress("remote: Enumerating objects: 202, done.")).toBeUndefined();
    expect(parseGitProgress("fatal: couldn't find remote ref nope")).toBeUndefined();
  });

  it("a fetch reports its phases through onProgress, each ending at 100%, and a failed fetch's stderr holds no progress lines", async () => {
    const base = mkdtempSync(path.join(tmpdir(), "xqbuild-progress-"));
    const src = path.join(base, "src");
    mkdirSync(src);
    git(["init", "--quiet", src]);
    for (let i = 0; i < 300; i++) writeFileSync(path.join(src, `f${i}`), `${i}\n`.repeat(50));
    git(["add", "."], { cwd: src });
    git(["commit", "--quiet", "-m", "many files"], { cwd: src });
    const mirror = path.join(base, "m.git");
    git(["init", "--quiet", "--bare", mirror]);
    const seen: GitProgress[] = [];
    const net = remoteGitAt(mirror, { env: gitEnv(), onProgress: (p) => seen.push(p) });
    await net.raw(["fetch", "--quiet", "--no-tags", "--end-of-options", `file://${src}`, "+HEAD:refs/heads/main"]);
    const phases = [...new Set(seen.map((p) => p.phase))];
    // Over file:// git says only the remote side's phases (a transfer this small is too quick for
    // "Receiving objects", which a real server's fetch shows).
    expect(phases).toContain("remote: Counting objects");
    for (const ph of phases) expect(seen.filter((p) => p.phase === ph).at(-1)?.percent, ph).toBe(100);
    expect(seen.filter((p) => p.phase === "remote: Counting objects").at(-1)).toMatchObject({ done: 302, total: 302 });
    // Throttled: git rewrites the counting line once per percent, a hundred times; a few get through.
    expect(seen.filter((p) => p.phase === "remote: Counting objects").length).toBeLessThan(10);
    const e = (await net.raw(["fetch", "--quiet", "--no-tags", "--end-of-options", `file://${src}`, "refs/heads/no-such-branch"]).catch((err: unknown) => err)) as GitError;
    expect(e).toBeInstanceOf(GitError);
    expect(e.exitCode).toBe(128);
    expect(e.stderr).toMatch(/couldn't find remote ref/);
    expect(e.stderr).not.toMatch(/objects:|%/);
  });
});

describe("fetch-done as the fetch lines", () => {
  const base = { type: "fetch-done", component: "qemu-xen", what: "source", name: "qemu-xen", seconds: 1 } as const;
  it("renders cloned, moved (with backup ref), unchanged, in-place and an applied queue as the fetch has always said them", () => {
    expect(fetchLines({ ...base, action: "cloned", revision: "qemu-xen-4.17.3", commit: "60d656fb6a98aaaabbbbccccddddeeeeffff0000", dir: "tools/qemu-xen-dir-remote" })).toEqual([
      "fetched qemu-xen-4.17.3 (60d656fb6a98) into tools/qemu-xen-dir-remote",
    ]);
    expect(
      fetchLines({ ...base, action: "moved", revision: "master", commit: "1".repeat(40), head: "2".repeat(40), dir: "tools/qemu-xen-dir-remote", backupRef: "refs/xqbuild/backup/x", patches: 2 }),
    ).toEqual(["moved tools/qemu-xen-dir-remote to master (111111111111); the old state is kept in refs/xqbuild/backup/x", "applied 2 patches (222222222222)"]);
    expect(fetchLines({ ...base, action: "unchanged", revision: "v1", commit: "3".repeat(40), dir: "d" })).toEqual(["d is at v1 (333333333333)"]);
    expect(fetchLines({ ...base, action: "in-place", dir: "/src/qemu", variable: "QEMU_UPSTREAM_LOC" })).toEqual(["using /src/qemu in place (QEMU_UPSTREAM_LOC)"]);
    expect(fetchLines({ ...base, what: "submodule", name: "dtc", commit: "4".repeat(40) })).toEqual([]);
  });

  it("plain: a lock wait is the waiting line; resolved and fetch-start only with --verbose", () => {
    const out = memoryOutput();
    const r = plainReporter(out, { verbose: false, quiet: false });
    r.emit({ type: "lock-wait", what: "the tree /x", holder: "process 42 on this machine", path: "/x/.xqbuild/lock" });
    r.emit({ type: "resolved", component: "seabios", revision: "rel-1.16.0", commit: "5".repeat(40) });
    r.emit({ type: "fetch-start", component: "seabios", what: "source", name: "seabios" });
    expect(out.stderr).toEqual(["xqbuild: waiting for the lock on the tree /x, held by process 42 on this machine (/x/.xqbuild/lock)"]);
    const v = memoryOutput();
    const rv = plainReporter(v, { verbose: true, quiet: false });
    rv.emit({ type: "resolved", component: "seabios", revision: "rel-1.16.0", commit: "5".repeat(40), from: "SEABIOS_UPSTREAM_REVISION at .config:1" });
    expect(v.stderr).toEqual(["seabios: rel-1.16.0 is 555555555555 (SEABIOS_UPSTREAM_REVISION at .config:1)"]);
  });
});

describe("xqbuild fetch --json", () => {
  let repos: UpstreamRepos;
  let base: string;
  beforeAll(() => {
    base = mkdtempSync(path.join(tmpdir(), "xqbuild-fetch-json-"));
    repos = makeUpstreamRepos(path.join(base, "upstream"));
  });

  async function run(name: string, argv: string[]) {
    const root = copyXenTree(path.join(base, name), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `SEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    const output = memoryOutput();
    const env = { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, `cache-${name}`) } as Record<string, string | undefined>;
    const code = await main([...argv, "--json", "-C", root], { cwd: root, env, output });
    const events = output.stdout.map((l) => JSON.parse(l) as XqEvent & { time: string });
    return { code, events, stderr: output.stderr.join("\n") };
  }

  it("prints run-start, fetch-start, resolved, fetch-done and run-end as NDJSON on stdout, nothing on stderr", async () => {
    const r = await run("ok", ["fetch", "seabios"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const types = r.events.map((e) => e.type);
    expect(types[0]).toBe("run-start");
    expect(types.at(-1)).toBe("run-end");
    expect(r.events[0]).toMatchObject({ type: "run-start", command: "fetch", components: ["seabios"] });
    expect(r.events.find((e) => e.type === "fetch-start")).toMatchObject({ component: "seabios", what: "source", name: "seabios", url: repos.seabios.url });
    const commit = repos.seabios.refs["rel-1.16.0"];
    expect(r.events.find((e) => e.type === "resolved")).toMatchObject({ component: "seabios", revision: "rel-1.16.0", commit, from: expect.stringMatching(/^SEABIOS_UPSTREAM_REVISION /) as unknown });
    expect(r.events.find((e) => e.type === "fetch-done")).toMatchObject({ component: "seabios", what: "source", action: "cloned", revision: "rel-1.16.0", commit, dir: "tools/firmware/seabios-dir-remote" });
    expect(r.events.find((e) => e.type === "message" && e.text === "wrote xqbuild.lock")).toBeDefined();
    expect(r.events.at(-1)).toMatchObject({ type: "run-end", ok: true, exitCode: 0 });
    expect(types.indexOf("fetch-start")).toBeLessThan(types.indexOf("fetch-done"));
  });

  it("a bad revision: an error event with the message and hint, run-end not ok, exit 1, and only the error's paragraph on stderr", async () => {
    const r = await run("bad", ["fetch", "seabios", "SEABIOS_UPSTREAM_REVISION=no-such-rev"]);
    expect(r.code).toBe(1);
    // As cargo's --message-format=json: the event on stdout, the paragraph for a person on stderr.
    expect(r.stderr).toMatch(/^xqbuild: error: .*has no branch, tag or commit named "no-such-rev".*\nCorrect it there[^\n]*\n?$/s);
    const err = r.events.find((e) => e.type === "error");
    expect(err).toMatchObject({ type: "error", kind: "failure", exitCode: 1 });
    expect(err?.type === "error" && err.message).toContain('has no branch, tag or commit named "no-such-rev"');
    expect(err?.type === "error" && err.hint).toMatch(/Correct it there/);
    expect(r.events[0]?.type).toBe("run-start");
    expect(r.events.at(-1)).toMatchObject({ type: "run-end", ok: false, exitCode: 1 });
  });
});
