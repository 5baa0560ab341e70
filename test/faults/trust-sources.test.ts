// Issue 14, the source layer: URLs a fetched file names (.gitmodules, meson wraps) may not reach
// local repositories (1); nothing a fetched tree says writes outside its component directory (2);
// a patch may not touch .git/ (4); a server with many tags leaves a packed mirror (7); revision
// round trips are not local work (13); xqbuild's own writes are not edits (14).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES_UPSTREAM, fileUrl, git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, expectOk, head, makeTree, mirrors, qemuRemote, removeBases, seabiosRemote, tempBase, urlLines, xq, type Tree } from "./support.js";

let base: string;
let repos: UpstreamRepos;

beforeAll(() => {
  builtCli();
  base = tempBase("trust-src");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

interface Status {
  name: string;
  dirty?: string[];
  localCommits?: string[];
}

async function statusOf(t: Tree, name: string): Promise<Status> {
  const r = await xq(t, ["status", "--json"]);
  expectOk(r);
  const all = JSON.parse(r.stdout) as { components: Status[] };
  const c = all.components.find((x) => x.name === name);
  expect(c, `status --json has ${name}`).toBeDefined();
  return c as Status;
}

describe("13: revision round trips are not local work", () => {
  it("default tag, then a newer branch, back, and forth again: no local commits, no --force", async () => {
    const t = makeTree(base, "roundtrip", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
    const q = qemuRemote(t);
    expectOk(await xq(t, ["fetch", "qemu-xen"]));
    const first = head(q);
    expect(first).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expect((await statusOf(t, "qemu-xen")).localCommits).toEqual([]);
    for (const [rev, want] of [
      ["stable-4.17", repos.qemuXen.refs["stable-4.17"]],
      ["", first],
      ["master", repos.qemuXen.refs.master],
      ["", first],
      ["stable-4.17", repos.qemuXen.refs["stable-4.17"]],
    ] as const) {
      const env = rev === "" ? {} : { QEMU_UPSTREAM_REVISION: rev };
      const r = await xq(t, ["fetch", "qemu-xen"], env);
      expectOk(r);
      expect(head(q), `at ${rev || "the default"}`).toBe(want);
      const s = await xq(t, ["status", "--json"], env);
      expectOk(s);
      const c = (JSON.parse(s.stdout) as { components: Status[] }).components.find((x) => x.name === "qemu-xen");
      expect(c?.localCommits, `status after moving to ${rev || "the default"}`).toEqual([]);
      expect(c?.dirty).toEqual([]);
    }
    // A real local commit is still local work.
    writeFileSync(path.join(q, "VERSION"), "mine\n");
    git(["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qam", "my change"], { cwd: q });
    expect((await statusOf(t, "qemu-xen")).localCommits?.length).toBe(1);
    const r = await xq(t, ["fetch", "qemu-xen"], { QEMU_UPSTREAM_REVISION: "master" });
    expect(r.code).toBe(1);
    expect(expectCleanError(r.stderr, { maxLines: 16 })).toMatch(/local commit: [0-9a-f]+ my change/);
  });
});

describe("14: xqbuild's own writes are not edits", () => {
  it("a SeaBIOS repository that tracks .version (made from a release tarball): status clean, dist and distclean go ahead", async () => {
    // A SeaBIOS repository made from the release tarball, whose .version is tracked ("1.16.0").
    const work = path.join(base, "work-sb-version");
    execFileSync("cp", ["-a", `${path.join(FIXTURES_UPSTREAM, "seabios")}/.`, work]);
    writeFileSync(path.join(work, "_record.py"), readFileSync(path.join(FIXTURES_UPSTREAM, "_record.py")));
    writeFileSync(path.join(work, ".version"), "1.16.0\n");
    const bare = path.join(base, "upstream", "seabios-tarball.git");
    const env = { ...gitEnv(), GIT_AUTHOR_DATE: "2023-05-01T12:00:00Z", GIT_COMMITTER_DATE: "2023-05-01T12:00:00Z" };
    git(["init", "-q", work], { env });
    git(["add", "-A", "."], { cwd: work, env });
    git(["commit", "-q", "-m", "SeaBIOS 1.16.0 from its release tarball"], { cwd: work, env });
    git(["tag", "rel-1.16.0"], { cwd: work, env });
    git(["clone", "-q", "--bare", work, bare], { env });
    const t = makeTree(base, "sb-version", { config: urlLines({ qemu: repos.qemuXen.url, seabios: fileUrl(bare) }) });
    expectOk(await xq(t, ["fetch", "seabios"]));
    const s = seabiosRemote(t);
    expect(readFileSync(path.join(s, ".version"), "utf8")).toBe("rel-1.16.0\n"); // written as the glue writes it
    expect(git(["status", "--porcelain", "--untracked-files=no"], { cwd: s })).toBe("M .version");
    const st = await statusOf(t, "seabios");
    expect(st.dirty).toEqual([]);
    expect(st.localCommits).toEqual([]);
    const text = await xq(t, ["status"]);
    expectOk(text);
    expect(text.stdout).not.toMatch(/1 changed file/);
    const dist = await xq(t, ["dist", "seabios", "--json"]);
    expectOk(dist);
    const [packed] = JSON.parse(dist.stdout) as Array<{ file: string }>;
    expect(execFileSync("tar", ["-xzOf", packed?.file ?? "", "--wildcards", "*/.version"], { encoding: "utf8" }), "dist packs the committed .version").toBe("1.16.0\n");
    // A real edit beside it is still local work.
    writeFileSync(path.join(s, "Makefile"), `${readFileSync(path.join(s, "Makefile"), "utf8")}# mine\n`);
    expect((await statusOf(t, "seabios")).dirty).toEqual([" M Makefile"]);
    expect((await xq(t, ["distclean", "seabios"])).code).toBe(1);
    git(["checkout", "--", "Makefile"], { cwd: s });
    expectOk(await xq(t, ["distclean", "seabios"]));
    expect(existsSync(s)).toBe(false);
  });
});
