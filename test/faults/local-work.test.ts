// Fault 5: local work in a fetched source tree (uncommitted edits, untracked files, local commits)
// survives fetch, all, update and a revision change without --force, clean, and distclean without
// --force; `update --force` moves the tree and keeps the old head (and the edits) in backup refs.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { git, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, expectOk, head, makeTree, qemuRemote, removeBases, seabiosRemote, tempBase, urlLines, xq, type RunResult, type Tree } from "./support.js";

let base: string;
let repos: UpstreamRepos;
let t: Tree;
let myCommit: string;
let sbMakefile: string;
const q = (): string => qemuRemote(t);
const s = (): string => seabiosRemote(t);

beforeAll(async () => {
  builtCli();
  base = tempBase("local");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
  t = makeTree(base, "xen", { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
  expectOk(await xq(t, ["all"]));
  // qemu-xen: an uncommitted edit and an untracked file; SeaBIOS: a local commit and an uncommitted edit.
  writeFileSync(path.join(q(), "VERSION"), "7.2.0 with my uncommitted edit\n");
  writeFileSync(path.join(q(), "my-notes.txt"), "untracked notes\n");
  writeFileSync(path.join(s(), "VERSION"), "1.16.0 committed locally\n");
  git(["-c", "user.name=me", "-c", "user.email=me@example.invalid", "commit", "-qam", "my local SeaBIOS change"], { cwd: s() });
  myCommit = head(s());
  sbMakefile = readFileSync(path.join(s(), "Makefile"), "utf8") + "# an uncommitted SeaBIOS edit\n";
  writeFileSync(path.join(s(), "Makefile"), sbMakefile);
});
afterAll(removeBases);

/** The local work is all still there. */
function expectWorkKept(): void {
  expect(readFileSync(path.join(q(), "VERSION"), "utf8")).toBe("7.2.0 with my uncommitted edit\n");
  expect(readFileSync(path.join(q(), "my-notes.txt"), "utf8")).toBe("untracked notes\n");
  expect(head(s())).toBe(myCommit);
  expect(readFileSync(path.join(s(), "VERSION"), "utf8")).toBe("1.16.0 committed locally\n");
  expect(readFileSync(path.join(s(), "Makefile"), "utf8")).toBe(sbMakefile);
}

function expectRefusal(r: RunResult, why: RegExp): void {
  expect(r.code).toBe(1);
  const para = expectCleanError(r.stderr, { maxLines: 16 });
  expect(para).toMatch(why);
}

describe("local work in the fetched trees", () => {
  it("survives fetch (the tree at the wanted commit is left alone; a local commit stops the move)", async () => {
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expectOk(r);
    expectWorkKept();
    const sb = await xq(t, ["fetch", "seabios"]);
    expectRefusal(sb, /would lose local work[\s\S]*local commit: [0-9a-f]+ my local SeaBIOS change/);
    expect(sb.stderr).toMatch(/xqbuild update --force/);
    expectWorkKept();
  });

  it("survives all (a rebuild of the edited qemu-xen; SeaBIOS refused, untouched)", async () => {
    const r = await xq(t, ["all", "qemu-xen"]);
    expectOk(r);
    expect(r.stderr).toMatch(/\[qemu-xen build\] done/);
    expectWorkKept();
    const both = await xq(t, ["all"]);
    expectRefusal(both, /seabios-dir-remote is at [0-9a-f]{12} but rel-1\.16\.0 is [0-9a-f]{12}, and moving it would lose local work/);
    expectWorkKept();
  });

  it("survives update without --force, and a revision change without --force", async () => {
    expectRefusal(await xq(t, ["update", "seabios"]), /would lose local work/);
    expectRefusal(await xq(t, ["update", "qemu-xen", "QEMU_UPSTREAM_REVISION=stable-4.17"]), /would lose local work[\s\S]*changed: M VERSION/);
    expectRefusal(await xq(t, ["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=stable-4.17"]), /would lose local work/);
    expect(head(q())).toBe(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    expectWorkKept();
  });

  it("survives clean", async () => {
    const r = await xq(t, ["clean"]);
    expectOk(r);
    expectWorkKept();
  });

  it("survives distclean without --force, which names the trees and what to do", async () => {
    const r = await xq(t, ["distclean"]);
    expectRefusal(r, /holds local work \(\d+ changed files, \d+ local commits\); distclean would delete it/);
    expect(r.stderr).toMatch(/distclean --force/);
    expectWorkKept();
    const one = await xq(t, ["distclean", "seabios"]);
    expectRefusal(one, /seabios-dir-remote holds local work \(1 changed files, 1 local commits\)/);
    expectWorkKept();
  });

  it("update --force moves the trees and keeps the old heads and edits in backup refs", async () => {
    const r = await xq(t, ["update", "--force", "QEMU_UPSTREAM_REVISION=stable-4.17", "SEABIOS_UPSTREAM_REVISION=rel-1.16.2"]);
    expectOk(r);
    expect(r.stderr).toMatch(/the old state is kept in refs\/xqbuild\/backup\//);
    expect(head(q())).toBe(repos.qemuXen.refs["stable-4.17"]);
    expect(head(s())).toBe(repos.seabios.refs["rel-1.16.2"]);
    const refs = (dir: string): Map<string, string> =>
      new Map(
        git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/xqbuild/backup/"], { cwd: dir })
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => l.split(" ") as [string, string]),
      );
    const sb = refs(s());
    expect([...sb.values()]).toContain(myCommit);
    const sbWork = [...sb].find(([name]) => name.endsWith("-worktree"));
    expect(sbWork).toBeDefined();
    expect(git(["show", `${sbWork?.[1]}:Makefile`], { cwd: s() })).toMatch(/# an uncommitted SeaBIOS edit$/);
    const qb = refs(q());
    expect([...qb.values()]).toContain(repos.qemuXen.refs["qemu-xen-4.17.3"]);
    const qWork = [...qb].find(([name]) => name.endsWith("-worktree"));
    expect(git(["show", `${qWork?.[1]}:VERSION`], { cwd: q() })).toBe("7.2.0 with my uncommitted edit");
    // Untracked files are neither tracked work nor deleted.
    expect(existsSync(path.join(q(), "my-notes.txt"))).toBe(true);
  });
});
