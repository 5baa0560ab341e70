// Shared machinery of the fault suite (test/faults/*.test.ts): xqbuild compiled from the current
// sources and run as a child process (so signals, kill -9, closed pipes and exit codes are real),
// private Xen trees, loopback servers that misbehave on purpose, PATH wrappers that make configure,
// make or a compile job slow, failing, killed or noisy, and the checks every case shares.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { privateCli } from "../support/build-cli.js";
import { endRunning, groupsOf, killGroups, startNodeCli, type RunOptions, type RunResult, type Running } from "../support/processes.js";
import { FIXTURES_UPSTREAM, git, gitEnv, type UpstreamRepos } from "../support/git.js";
import { HOST, freePort } from "../support/loopback.mjs";
import { which } from "../support/which.js";
import { copyXenTree } from "../support/xen-tree.js";

export {
  aliveInGroups,
  groupsOf,
  interrupt,
  killGroup,
  killGroups,
  killSurvivors,
  survivors,
  waitGone,
  waitGroupsGone,
  type RunOptions,
  type RunResult,
  type Running,
} from "../support/processes.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export { HOST };
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// xqbuild, compiled from the sources as they are now

let builtCliPath: string | undefined;

/**
 * The path of cli.js compiled from the current src/ (not dist/, which may be stale or being rebuilt
 * by another test): test/support/build-cli.ts's privateCli, which test files running side by side
 * build once between them.
 */
export function builtCli(): string {
  builtCliPath ??= privateCli(REPO_ROOT);
  return builtCliPath;
}

// ---------------------------------------------------------------------------------------------
// temporary directories, trees

const bases: string[] = [];

export function tempBase(name: string): string {
  const b = fs.mkdtempSync(path.join(tmpdir(), `xqbuild-faults-${name}-`));
  bases.push(b);
  return b;
}

/**
 * Ends whatever this file started and left running (an xqbuild a failed case did not wait for,
 * configure or make orphaned by a kill -9), by process group, then removes every temporary
 * directory of this file (hard-link copies: never the cached Xen tree).
 */
export function removeBases(): void {
  endRunning();
  for (const b of bases) killGroups(groupsOf(b));
  for (const b of bases.splice(0)) {
    spawnSync("chattr", ["-R", "-i", b], { stdio: "ignore" });
    fs.rmSync(b, { recursive: true, force: true });
  }
}

export interface Tree {
  readonly name: string;
  readonly base: string;
  readonly root: string;
  readonly cache: string;
  env: Record<string, string | undefined>;
}

export interface TreeOptions {
  /** Lines of .config. */
  readonly config?: readonly string[];
  /** A cache shared with another tree. */
  readonly cache?: string;
  readonly env?: Record<string, string | undefined>;
  /** Where to make the tree (default: <base>/<name>). */
  readonly at?: string;
  /** Real copy instead of hard links (for trees on another file system). */
  readonly copy?: boolean;
}

/** A private copy of the real Xen tree, its .config, and an environment with its own cache and HOME. */
export function makeTree(base: string, name: string, opts: TreeOptions = {}): Tree {
  const root = copyXenTree(opts.at ?? path.join(base, name), { hardlink: !opts.copy });
  fs.writeFileSync(path.join(root, ".config"), [...(opts.config ?? []), ""].join("\n"));
  const cache = opts.cache ?? path.join(base, `${name}-cache`);
  const home = path.join(base, "home");
  fs.mkdirSync(home, { recursive: true });
  const env: Record<string, string | undefined> = { ...gitEnv(), HOME: home, XQBUILD_CACHE_DIR: cache, CI: "true", ...opts.env };
  return { name, base, root, cache, env };
}

/** .config lines pointing the three components at the given URLs. */
export function urlLines(urls: { qemu?: string; seabios?: string; traditional?: string }): string[] {
  return [
    ...(urls.qemu ? [`QEMU_UPSTREAM_URL = ${urls.qemu}`] : []),
    ...(urls.seabios ? [`SEABIOS_UPSTREAM_URL = ${urls.seabios}`] : []),
    ...(urls.traditional ? [`QEMU_TRADITIONAL_URL = ${urls.traditional}`] : []),
  ];
}

export const qemuRemote = (t: Tree): string => path.join(t.root, "tools", "qemu-xen-dir-remote");
export const seabiosRemote = (t: Tree): string => path.join(t.root, "tools", "firmware", "seabios-dir-remote");
export const stampFile = (t: Tree, component: string, stage: string): string => path.join(t.root, ".xqbuild", "stamps", component, `${stage}.json`);
export const head = (dir: string): string => git(["rev-parse", "HEAD"], { cwd: dir });

/** What a failed or interrupted fetch must not leave: partial trees, links, temporary clones and mirrors, locks. */
export function debris(t: Tree, opts: { trees?: boolean } = {}): string[] {
  const found: string[] = [];
  const rels = [
    "tools/qemu-xen-dir-remote.xqbuild-tmp",
    "tools/firmware/seabios-dir-remote.xqbuild-tmp",
    "tools/qemu-xen-traditional-dir-remote.xqbuild-tmp",
    ".xqbuild/lock",
    ...(opts.trees === false ? [] : ["tools/qemu-xen-dir", "tools/qemu-xen-dir-remote", "tools/firmware/seabios-dir", "tools/firmware/seabios-dir-remote"]),
  ];
  for (const rel of rels) {
    let exists = false;
    try {
      fs.lstatSync(path.join(t.root, rel));
      exists = true;
    } catch {
      // absent
    }
    if (exists) found.push(rel);
  }
  const gitCache = path.join(t.cache, "git");
  if (fs.existsSync(gitCache)) {
    for (const f of fs.readdirSync(gitCache)) if (/\.lock$|\.tmp-\d+$/.test(f)) found.push(path.join("cache/git", f));
  }
  return found;
}

/** The mirrors in the cache whose name starts with `name-`. */
export function mirrors(cache: string, name: string): string[] {
  const dir = path.join(cache, "git");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith(".git"))
    .map((f) => path.join(dir, f));
}

/** `git fsck` of a repository passes (the cache is not corrupt). */
export function expectFsckClean(dir: string): void {
  const r = spawnSync("git", ["-c", "safe.directory=*", "fsck", "--no-progress", "--connectivity-only"], { cwd: dir, env: gitEnv(), encoding: "utf8" });
  const problems = r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("notice:"));
  expect(`${r.status} ${problems.join("\n")}`.trim(), dir).toBe("0");
}

// ---------------------------------------------------------------------------------------------
// running xqbuild

/** Starts xqbuild (this suite's own build, builtCli()) with its output kept: test/support/processes.ts's runner. */
export function startCli(argv: readonly string[], opts: RunOptions): Running {
  return startNodeCli(builtCli(), argv, opts);
}

export function runCli(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  return startCli(argv, opts).done;
}

/** Runs xqbuild on a tree (-C root). */
export function xq(t: Tree, argv: readonly string[], env: Record<string, string | undefined> = {}, opts: Partial<RunOptions> = {}): Promise<RunResult> {
  return runCli([...argv, "-C", t.root], { cwd: t.root, ...opts, env: { ...t.env, ...env } });
}

export function startXq(t: Tree, argv: readonly string[], env: Record<string, string | undefined> = {}, opts: Partial<RunOptions> = {}): Running {
  return startCli([...argv, "-C", t.root], { cwd: t.root, ...opts, env: { ...t.env, ...env } });
}

/** Fails with xqbuild's output when it did not exit 0. */
export function expectOk(r: RunResult): void {
  expect(r.code === 0 ? "" : `exit ${r.code ?? r.signal}${r.timedOut ? " (timed out)" : ""}:\n${r.stderr}`).toBe("");
}

const STACK_FRAME = /^\s+at (?:async )?(?:\S+ \()?(?:file:|node:|\/).*:\d+:\d+\)?$/m;

/**
 * The error xqbuild printed is one short paragraph: `xqbuild: error: ...` plus its hint, no blank
 * line, no stack trace, no "internal error", at most maxLines lines. Returns the paragraph.
 */
export function expectCleanError(stderr: string, opts: { maxLines?: number; maxChars?: number } = {}): string {
  expect(stderr, "an internal error").not.toMatch(/internal error/);
  expect(stderr, "a stack trace").not.toMatch(STACK_FRAME);
  const i = stderr.indexOf("xqbuild: error:");
  expect(i, `no "xqbuild: error:" in:\n${stderr}`).toBeGreaterThanOrEqual(0);
  const para = stderr.slice(i).replace(/\nxqbuild: failed in [\d.]+ s\s*$/, "").trimEnd();
  const lines = para.split("\n");
  expect(lines.filter((l) => l.trim() === ""), `a blank line in the error:\n${para}`).toEqual([]);
  expect(lines.length, `more than ${opts.maxLines ?? 12} lines:\n${para}`).toBeLessThanOrEqual(opts.maxLines ?? 12);
  expect(stderr.length, "the error's length").toBeLessThan(opts.maxChars ?? 4000);
  return para;
}

export function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/internal error/);
  expect(stderr).not.toMatch(STACK_FRAME);
}

// ---------------------------------------------------------------------------------------------
// upstream repositories

/**
 * Adds to the fixture SeaBIOS repository a tag `rel-big` whose commit (on top of rel-1.16.2) holds
 * `big.bin`, `mb` MiB of random bytes: a pack large enough to be cut or throttled mid-transfer.
 */
export function addBigTag(repos: UpstreamRepos, mb = 2): string {
  const bare = repos.seabios.path;
  const env = { ...gitEnv(), GIT_DIR: bare, GIT_INDEX_FILE: path.join(repos.baseDir, ".big-index"), GIT_AUTHOR_NAME: "F", GIT_AUTHOR_EMAIL: "f@x.invalid", GIT_COMMITTER_NAME: "F", GIT_COMMITTER_EMAIL: "f@x.invalid" };
  const parent = repos.seabios.refs["rel-1.16.2"] as string;
  const blobFile = path.join(repos.baseDir, ".big.bin");
  fs.writeFileSync(blobFile, randomBytes(mb * 1024 * 1024));
  git(["read-tree", parent], { env });
  const blob = git(["hash-object", "-w", blobFile], { env });
  git(["update-index", "--add", "--cacheinfo", `100644,${blob},big.bin`], { env });
  const tree = git(["write-tree"], { env });
  const commit = execFileSync("git", ["commit-tree", tree, "-p", parent, "-m", "big"], { env, encoding: "utf8" }).trim();
  git(["tag", "rel-big", commit], { env });
  fs.rmSync(blobFile);
  fs.rmSync(env.GIT_INDEX_FILE, { force: true });
  repos.seabios.refs["rel-big"] = commit;
  return commit;
}

// ---------------------------------------------------------------------------------------------
// misbehaving servers on loopback

export interface StallServer {
  readonly port: number;
  url(name: string): string;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts connections, reads what it is sent, and never answers. */
export async function startStallServer(): Promise<StallServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("data", () => undefined);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (name) => `git://${HOST}:${port}/${name}`,
    get connections() {
      return connections;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export { startProxy, type FaultProxy, type ProxyFaults } from "../support/tcp-proxy.mjs";

// ---------------------------------------------------------------------------------------------
// PATH wrappers: slow, failing, killed or noisy configure / make / compile jobs

export interface Wrappers {
  /** Put first on PATH. */
  readonly dir: string;
  /** PATH with the wrappers first. */
  readonly path: string;
  /** Turns a behaviour on (a flag file in dir) or off. */
  set(flag: WrapperFlag, on: boolean, content?: string): void;
  /** Whether the wrapped program has reached the point the flag names (a file it touched). */
  reached(what: "configure" | "install" | "olddefconfig" | "job"): boolean;
}

/**
 * - slow-configure: python3 running a `configure` sleeps 60 s first (the fixture's configure is Python);
 * - slow-install / slow-olddefconfig: `make install` / `make ... olddefconfig` sleeps 60 s first;
 * - kill-make: `make all` kills itself with SIGKILL (as the OOM killer would);
 * - slow-job / fail-job / kill-job / flood-job: the fixture's fake compile jobs (XQ_FAKE_JOBS) run
 *   `echo >> $XQ_JOBLOG; sleep 0.3; echo >> $XQ_JOBLOG`; the sleep wrapper then sleeps 60 s; prints
 *   a compiler error and exits 1 (the recipe fails when XQ_JOBLOG cannot be written, since its last
 *   command decides); kills the recipe's shell with SIGKILL; or writes the number of bytes in the
 *   flag file to stdout as lines of build output.
 */
export type WrapperFlag = "slow-configure" | "slow-install" | "slow-olddefconfig" | "kill-make" | "slow-job" | "fail-job" | "kill-job" | "flood-job";

export function makeWrappers(dir: string): Wrappers {
  fs.mkdirSync(dir, { recursive: true });
  const realPython = which("python3");
  const realMake = which("make");
  const realSleep = which("sleep");
  const D = JSON.stringify(dir);
  const write = (name: string, text: string): void => {
    fs.writeFileSync(path.join(dir, name), text);
    fs.chmodSync(path.join(dir, name), 0o755);
  };
  write(
    "python3",
    `#!/bin/sh
case "$1" in
  */configure) if [ -e ${D}/slow-configure ]; then : > ${D}/reached-configure; ${realSleep} 60; fi ;;
esac
exec ${realPython} "$@"
`,
  );
  write(
    "make",
    `#!/bin/sh
for a in "$@"; do
  if [ "$a" = install ] && [ -e ${D}/slow-install ]; then : > ${D}/reached-install; ${realSleep} 60; fi
  if [ "$a" = olddefconfig ] && [ -e ${D}/slow-olddefconfig ]; then : > ${D}/reached-olddefconfig; ${realSleep} 60; fi
  if [ "$a" = all ] && [ -e ${D}/kill-make ]; then kill -9 $$; fi
done
exec ${realMake} "$@"
`,
  );
  write(
    "sleep",
    `#!/bin/sh
: > ${D}/reached-job
# The recipe's shell (the "compiler" make started) dies by SIGKILL, as under the OOM killer.
if [ -e ${D}/kill-job ]; then kill -9 $PPID; kill -9 $$; fi
if [ -e ${D}/fail-job ]; then echo "cc1: fatal error: fake compiler failure requested by the fault suite" >&2; exit 1; fi
if [ -e ${D}/flood-job ]; then yes "fault-suite build output: CC some/long/path/to/a/source/file.o -O2 -Wall -Wextra -DFOO=1" | head -c "$(cat ${D}/flood-job)"; exit 0; fi
if [ -e ${D}/slow-job ]; then exec ${realSleep} 60; fi
exec ${realSleep} "$@"
`,
  );
  return {
    dir,
    path: `${dir}:${process.env.PATH ?? ""}`,
    set(flag, on, content = "") {
      const f = path.join(dir, flag);
      if (on) fs.writeFileSync(f, content);
      else fs.rmSync(f, { force: true });
    },
    reached: (what) => fs.existsSync(path.join(dir, `reached-${what}`)),
  };
}

/** Polls until cond() holds. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A free port on 127.0.0.1 (bound to port 0, then closed): loopback.mjs's freePort. */
export const freeLoopbackPort = freePort;

// ---------------------------------------------------------------------------------------------
// fetched trees of one commit (the hostile upstreams of the trust cases)

/**
 * A bare repository at `bare` (made when missing) with one commit holding `files`, the gitlinks
 * (path → commit) and the symbolic links (path → target), pushed under the tag `tag`, from a work
 * tree of its own made afresh. Returns the commit.
 */
export function oneCommitRepo(bare: string, files: Record<string, string>, tag: string, gitlinks: Record<string, string> = {}, links: Record<string, string> = {}): string {
  const work = `${bare}.work-${tag}`;
  fs.rmSync(work, { recursive: true, force: true });
  const env = { ...gitEnv(), GIT_AUTHOR_DATE: "2023-05-01T12:00:00Z", GIT_COMMITTER_DATE: "2023-05-01T12:00:00Z" };
  git(["init", "-q", work], { env });
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
    fs.writeFileSync(path.join(work, rel), content);
  }
  for (const [rel, to] of Object.entries(links)) {
    fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
    fs.symlinkSync(to, path.join(work, rel));
  }
  git(["add", "-A", "."], { cwd: work, env });
  for (const [p, sha] of Object.entries(gitlinks)) git(["update-index", "--add", "--cacheinfo", `160000,${sha},${p}`], { cwd: work, env });
  git(["commit", "-q", "-m", tag], { cwd: work, env });
  git(["tag", "-f", tag], { cwd: work, env });
  if (!fs.existsSync(bare)) git(["init", "-q", "--bare", bare], { env });
  git(["push", "-q", "-f", bare, `refs/tags/${tag}`], { cwd: work, env });
  return git(["rev-parse", "HEAD"], { cwd: work, env });
}

/** The fixture's qemu-xen files, with its recorder, and `extra` over them: a fetched QEMU to make hostile. */
export function qemuFiles(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out[r] = fs.readFileSync(path.join(dir, e.name), "utf8");
    }
  };
  walk(path.join(FIXTURES_UPSTREAM, "qemu-xen"), "");
  out["_record.py"] = fs.readFileSync(path.join(FIXTURES_UPSTREAM, "_record.py"), "utf8");
  return { ...out, ...extra };
}
