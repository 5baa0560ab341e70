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
