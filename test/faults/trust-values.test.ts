// Trust in values (issue 14 points 5, 11, 12): a password in a URL is never echoed or stored, every
// XQBUILD_* switch and number means one thing or is refused, and what reaches configure is what the
// glue's shell would have given it (globs), with messages that say where a revision was written.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect as expectGlobal, it } from "vitest";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { planComponent, stepsOf, type PlanJson } from "../support/plan-json.js";
import { startHttpGit, startWebDav, type HttpGitServer } from "../support/servers.js";
import { builtCli, debris, expectCleanError, expectOk, HOST, makeTree, removeBases, seabiosRemote, tempBase, urlLines, xq, type RunResult, type Tree } from "./support.js";

const PW = "Pw-xq-5ecret-91";
const USER = "xquser";

let base: string;
let repos: UpstreamRepos;
const stops: Array<() => Promise<void>> = [];

beforeAll(() => {
  builtCli();
  base = tempBase("trust-values");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(async () => {
  for (const s of stops) await s();
  removeBases();
});

async function httpGit(failFirst = 0): Promise<HttpGitServer> {
  const s = await startHttpGit(repos.baseDir, { failFirst });
  stops.push(() => s.stop());
  return s;
}

/** `http://xquser:PW@127.0.0.1:PORT/NAME` for a server. */
const withPassword = (s: HttpGitServer, name: string): string => s.url(name).replace("http://", `http://${USER}:${PW}@`);

/**
 * Files under the tree and the cache that hold the password, apart from the one the user wrote it
 * in (.config, or the xqbuild config file). grep -r reads every byte, .git directories included.
 */
function filesWithPassword(t: Tree, userFiles: readonly string[]): string[] {
  const r = spawnSync("grep", ["-rlaF", "--", PW, t.root, t.cache], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .filter((f) => f !== "" && !userFiles.includes(f))
    .map((f) => (f.startsWith(t.root) ? path.relative(t.root, f) : `cache/${path.relative(t.cache, f)}`));
}

function expectNoPassword(r: RunResult, what: string, expect: (v: unknown, m?: string) => { not: { toContain(s: string): void } }): void {
  expect(r.stdout, `${what}: stdout`).not.toContain(PW);
  expect(r.stderr, `${what}: stderr`).not.toContain(PW);
}

describe.concurrent("trust: values", () => {
  it("point 5: a password in .config's URL appears in no output (fetch with a retry, status, plan, their --json, config) and no file; xqbuild.lock holds the URL without it and still matches; plain git hides it too", async ({ expect }) => {
    const s = await httpGit(1);
    const url = withPassword(s, "seabios.git");
    const t = makeTree(base, "pw-config", { config: urlLines({ seabios: url }) });
    const fetched = await xq(t, ["fetch", "seabios"]);
    expectOk(fetched);
    expect(s.log[0]?.status).toBe(500);
    // The retry line names the URL: shown, but without the password.
    expect(fetched.stderr).toMatch(/retrying in/);
    expect(fetched.stderr).toContain(`http://***@${HOST}:${s.port}/seabios.git`);
    expectNoPassword(fetched, "fetch", expect);
    const lock = JSON.parse(readFileSync(path.join(t.root, "xqbuild.lock"), "utf8")) as { components: Record<string, { url: string }> };
    expect(lock.components.seabios?.url).toBe(s.url("seabios.git"));
    // The pin without the password is the pin of the URL with it.
    const locked = await xq(t, ["fetch", "seabios", "--locked"]);
    expectOk(locked);
    expectNoPassword(locked, "fetch --locked", expect);
    for (const argv of [["status"], ["status", "--json"], ["plan", "seabios"], ["plan", "seabios", "--json"], ["config", "SEABIOS_UPSTREAM_URL"], ["config", "--json"], ["build", "seabios", "--json"]]) {
      const r = await xq(t, argv);
      expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
      expectNoPassword(r, argv.join(" "), expect);
      if (argv[0] !== "build") expect(r.stdout + r.stderr, argv.join(" ")).toContain(`${HOST}:${s.port}/seabios.git`);
    }
    expect(filesWithPassword(t, [path.join(t.root, ".config")])).toEqual([]);
    expect(git(["remote", "get-url", "origin"], { cwd: seabiosRemote(t) })).toBe(s.url("seabios.git"));
    // git itself: the URL it cannot reach, named without the password.
    const plain = spawnSync("git", ["ls-remote", `http://${USER}:${PW}@${HOST}:1/x.git`], { env: gitEnv(), encoding: "utf8" });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toContain(`${HOST}:1/x.git`);
    expect(plain.stderr).not.toContain(PW);
  });

  it("point 5 and 12: a bad revision's error hides the password and names .config:2; a pin of xqbuild.lock that is gone names xqbuild.lock", async ({ expect }) => {
    const s = await httpGit();
    const url = withPassword(s, "seabios.git");
    const t = makeTree(base, "pw-rev", { config: [...urlLines({ seabios: url }), "SEABIOS_UPSTREAM_REVISION = no-such-rev-xq"] });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(`http://***@${HOST}:${s.port}/seabios.git has no branch, tag or commit named "no-such-rev-xq"`);
    expect(para).toContain("SEABIOS_UPSTREAM_REVISION at .config:2");
    expect(para).not.toMatch(/\*_REVISION variable/);
    expectNoPassword(r, "bad revision", expect);
    expect(debris(t)).toEqual([]);
    expect(filesWithPassword(t, [path.join(t.root, ".config")])).toEqual([]);

    // The lock pins a commit the server does not have (a history rewritten upstream).
    const u = makeTree(base, "pin-gone", { config: urlLines({ seabios: s.url("seabios.git") }) });
    const gone = "0123456789abcdef0123456789abcdef01234567";
    writeFileSync(path.join(u.root, "xqbuild.lock"), JSON.stringify({ version: 1, components: { seabios: { url: s.url("seabios.git"), revision: "rel-1.16.0", commit: gone } } }));
    const p = await xq(u, ["fetch", "seabios"]);
    expect(p.code).toBe(1);
    const msg = expectCleanError(p.stderr);
    expect(msg).toContain(`named "${gone}"`);
    expect(msg).toContain("xqbuild.lock");
  });

  it("point 5: a password in a `mirrors` target and in XQBUILD_REMOTE_CACHE is shown as ***@ in retry lines and errors, and stored nowhere", async ({ expect }) => {
    const s = await httpGit(1);
    const t = makeTree(base, "pw-mirror", { config: urlLines({ seabios: "http://upstream.invalid/seabios.git" }) });
    const rc = path.join(t.root, ".xqbuildrc.json");
    writeFileSync(rc, JSON.stringify({ mirrors: { "http://upstream.invalid/": `http://${USER}:${PW}@${HOST}:${s.port}/` } }));
    const r = await xq(t, ["fetch", "seabios"]);
    expectOk(r);
    expect(r.stderr).toMatch(/retrying in/);
    expect(r.stderr).toContain(`http://***@${HOST}:${s.port}/seabios.git`);
    expectNoPassword(r, "fetch through the mirror", expect);
    expect(filesWithPassword(t, [path.join(t.root, ".config"), rc])).toEqual([]);

    const remote = `http://${USER}:${PW}@${HOST}:1/cache?token=${PW}`;
    for (const argv of [["build", "seabios"], ["build", "seabios", "--json"]]) {
      const b = await xq(t, argv, { XQBUILD_REMOTE_CACHE: remote, XQBUILD_NO_DOCTOR: "1" });
      expect(b.code, b.stderr).toBe(2);
      expect(expectCleanError(b.stderr)).toMatch(/XQBUILD_REMOTE_CACHE.*credentials/);
      expectNoPassword(b, argv.join(" "), expect);
    }
  });

  it("point 11: yes/no words mean what they say: XQBUILD_OFFLINE=true goes to no server; XQBUILD_ARTIFACT_CACHE=no stores nothing; XQBUILD_REMOTE_CACHE_READONLY=false uploads and =on does not", async ({ expect }) => {
    const s = await httpGit();
    const t = makeTree(base, "offline-true", { config: urlLines({ seabios: s.url("seabios.git") }) });
    const off = await xq(t, ["fetch", "seabios"], { XQBUILD_OFFLINE: "true" });
    expect(off.code).toBe(1);
    expect(expectCleanError(off.stderr)).toMatch(/^xqbuild: error: offline: cannot get/);
    expect(s.requests).toBe(0);
    expect(debris(t)).toEqual([]);

    // Artifacts are kept by an install (what it stages is the artifact).
    const install = (tree: Tree, env: Record<string, string>): Promise<RunResult> => xq(tree, ["install", "seabios", "--destdir", path.join(tree.base, `${tree.name}-dest`)], { XQBUILD_CCACHE: "off", ...env });
    const tars = (tree: Tree): string[] => (existsSync(path.join(tree.cache, "artifacts")) ? readdirSync(path.join(tree.cache, "artifacts")).filter((f) => f.endsWith(".tar")) : []);
    expectOk(await install(t, { XQBUILD_ARTIFACT_CACHE: "no" }));
    expect(tars(t)).toEqual([]);
    const yes = makeTree(base, "cache-yes", { config: urlLines({ seabios: s.url("seabios.git") }) });
    expectOk(await install(yes, { XQBUILD_ARTIFACT_CACHE: "YES" }));
    expect(tars(yes)).toHaveLength(1);

    const dav = path.join(t.base, "dav");
    mkdirSync(dav);
    const server = await startWebDav(dav);
    stops.push(() => server.stop());
    const w = makeTree(base, "ro-on", { config: urlLines({ seabios: s.url("seabios.git") }) });
    expectOk(await install(w, { XQBUILD_REMOTE_CACHE: server.url, XQBUILD_REMOTE_CACHE_READONLY: "on" }));
    expect(readdirSync(dav)).toEqual([]);
    const rw = makeTree(base, "ro-false", { config: urlLines({ seabios: s.url("seabios.git") }) });
    const up = await install(rw, { XQBUILD_REMOTE_CACHE: server.url, XQBUILD_REMOTE_CACHE_READONLY: "false" });
    expectOk(up);
    expect(up.stderr).toMatch(/seabios: remote cache: uploaded/);
    expect(readdirSync(dav).sort()).toEqual(["ac", "cas"]);
  });

  it.each([
    ["XQBUILD_OFFLINE", "maybe"],
    ["XQBUILD_ARTIFACT_CACHE", "nope"],
    ["XQBUILD_REMOTE_CACHE_READONLY", "2"],
    ["XQBUILD_NO_DOCTOR", "sure"],
    ["XQBUILD_STALL_TIMEOUT", "-5"],
    ["XQBUILD_STALL_TIMEOUT", "ten"],
    ["XQBUILD_REMOTE_CACHE_TIMEOUT", "0"],
    ["XQBUILD_TARBALL_MAX_BYTES", "1e99"],
  ])("point 11: %s=%s is refused with exit 2 naming it, before anything is done", async (name, value) => {
    const expect = expectGlobal;
    const t = makeTree(base, `bad-${name}-${value}`.replace(/[^A-Za-z0-9-]/g, "_"), { config: urlLines({ seabios: repos.seabios.url }) });
    const r = await xq(t, ["fetch", "seabios"], { [name]: value });
    expect(r.code).toBe(2);
    const para = expectCleanError(r.stderr);
    expect(para).toContain(`${name}=${JSON.stringify(value)}`);
    expect(existsSync(path.join(t.root, ".xqbuild"))).toBe(false);
    expect(existsSync(t.cache)).toBe(false);
  });

  it("point 12: CONFIG_QEMUU_EXTRA_ARGS='--foo DIR/host*' reaches configure as /bin/sh expands it (and a pattern matching nothing as written)", async ({ expect }) => {
    const dir = path.join(base, "globbed");
    mkdirSync(dir, { recursive: true });
    for (const f of ["host.conf", "hostname", "hosts", ".hostdot"]) writeFileSync(path.join(dir, f), "");
    const extra = `--foo ${dir}/host* --bar=${dir}/none* '${dir}/host*'`;
    const t = makeTree(base, "glob", { config: [...urlLines({ qemu: repos.qemuXen.url }), `CONFIG_QEMUU_EXTRA_ARGS = ${extra}`] });
    const sh = spawnSync("/bin/sh", ["-c", `for w in ${extra}; do printf '%s\\0' "$w"; done`], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
    const shWords = sh.stdout.split("\0").slice(0, -1);
    expect(shWords).toEqual(["--foo", `${dir}/host.conf`, `${dir}/hostname`, `${dir}/hosts`, `--bar=${dir}/none*`, `${dir}/host*`]);
    const r = await xq(t, ["plan", "qemu-xen", "--json"]);
    expectOk(r);
    const plan = JSON.parse(r.stdout) as PlanJson;
    const argv = stepsOf(planComponent(plan, "qemu-xen"), "configure", "run").find((x) => x.argv[0]?.endsWith("/configure"))?.argv ?? [];
    const at = argv.indexOf("--foo");
    expect(at).toBeGreaterThan(0);
    expect(argv.slice(at, at + shWords.length)).toEqual(shWords);
  });
});
