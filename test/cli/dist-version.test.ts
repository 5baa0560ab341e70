import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gitEnv } from "../support/git.js";
import { treeVersion } from "../../src/source/dist.js";
import { gitAt } from "../../src/source/git.js";

function repo(files: Record<string, string>, tags: readonly string[] = []): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-distver-"));
  const env = gitEnv();
  const git = (args: string[]): string => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@xqbuild.invalid", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], { cwd: dir, env, encoding: "utf8" });
  git(["init", "-q", "-b", "master"]);
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  git(["add", "-A"]);
  git(["commit", "-q", "-m", "one"]);
  for (const t of tags) git(["tag", t]);
  return dir;
}

const versionOf = (dir: string): Promise<string | undefined> => treeVersion(gitAt(dir, { env: gitEnv() as Record<string, string> }));

describe("dist names a tarball by the tree's version", () => {
  it("takes the committed VERSION file first (QEMU's 10.0.13), not an edit of it", async () => {
    const dir = repo({ VERSION: "10.0.13\n", "x.c": "" }, ["qemu-xen-4.20.0"]);
    writeFileSync(path.join(dir, "VERSION"), "99.0.0\n");
    expect(await versionOf(dir)).toBe("10.0.13");
  });

  it("falls back to the number at the end of the nearest tag (SeaBIOS's rel-1.16.3)", async () => {
    expect(await versionOf(repo({ "x.c": "" }, ["rel-1.16.3"]))).toBe("1.16.3");
  });

  it("gives nothing for a tree with neither, or with a VERSION that is not a version", async () => {
    expect(await versionOf(repo({ "x.c": "" }))).toBeUndefined();
    expect(await versionOf(repo({ VERSION: "../../etc/passwd\n" }))).toBeUndefined();
  });
});
