import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { parseWrap } from "../../src/source/wraps.js";
import { memoryOutput } from "../../src/report/output.js";
import { fileUrl, git, gitEnv, makeUpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

describe("meson wraps (newer QEMU's subprojects)", () => {
  it("parses wrap-git and wrap-file sections", () => {
    expect(parseWrap("[wrap-git]\nurl = https://x/y.git\nrevision = v1\n# c\ndepth = 1\n", "y")).toEqual({ name: "y", type: "wrap-git", keys: { url: "https://x/y.git", revision: "v1", depth: "1" } });
    expect(parseWrap("[wrap-file]\ndirectory = z-1\nsource_url = https://x/z.tar.gz\nsource_hash = ab\n\n[provide]\nz = z_dep\n", "z")?.keys).toEqual({ directory: "z-1", source_url: "https://x/z.tar.gz", source_hash: "ab" });
  });

  it("fetches pinned wrap-git and wrap-file sources at fetch time, so configure needs no network", async () => {
    const base = mkdtempSync(path.join(tmpdir(), "xqbuild-wraps-"));
    const repos = makeUpstreamRepos(path.join(base, "up"));
    // A dependency archive, as a wrap-file names it.
    const dep = path.join(base, "dep");
    mkdirSync(path.join(dep, "libdep-1.0"), { recursive: true });
    writeFileSync(path.join(dep, "libdep-1.0", "meson.build"), "project('libdep')\n");
    const archive = path.join(base, "libdep-1.0.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", dep, "libdep-1.0"]);
    const hash = createHash("sha256").update(readFileSync(archive)).digest("hex");
    // A QEMU-like superproject with two wraps.
    const work = path.join(base, "qemu-work");
    git(["clone", "-q", repos.qemuXen.path, work]);
    git(["checkout", "-q", "qemu-xen-4.17.3"], { cwd: work });
    mkdirSync(path.join(work, "subprojects"));
    const pinned = repos.seabios.refs["rel-1.16.2"] as string;
    writeFileSync(path.join(work, "subprojects", "bios.wrap"), `[wrap-git]\nurl = ${repos.seabios.url}\nrevision = ${pinned}\ndepth = 1\n`);
    writeFileSync(path.join(work, "subprojects", "libdep.wrap"), `[wrap-file]\ndirectory = libdep-1.0\nsource_url = ${archive}\nsource_filename = libdep-1.0.tar.gz\nsource_hash = ${hash}\n`);
    git(["add", "subprojects"], { cwd: work });
    git(["commit", "-qm", "wraps"], { cwd: work });
    git(["tag", "-f", "wraps-test"], { cwd: work });
    git(["push", "-q", repos.qemuXen.path, "refs/tags/wraps-test"], { cwd: work });

    const run = async (root: string, cache: string, extra: string[] = []) => {
      const o = memoryOutput();
      const code = await main(["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=wraps-test", ...extra, "-C", root], { cwd: root, env: { ...gitEnv(), XQBUILD_CACHE_DIR: cache }, output: o });
      return { code, stderr: o.stderr.join("\n") };
    };
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${fileUrl(repos.qemuXen.path)}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    const cache = path.join(base, "cache");
    const r = await run(root, cache);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
    const sub = path.join(root, "tools", "qemu-xen-dir", "subprojects");
    expect(git(["rev-parse", "HEAD"], { cwd: path.join(sub, "bios") }).trim()).toBe(pinned);
    expect(git(["remote", "get-url", "origin"], { cwd: path.join(sub, "bios") }).trim()).toBe(repos.seabios.url);
    expect(readFileSync(path.join(sub, "packagecache", "libdep-1.0.tar.gz")).equals(readFileSync(archive))).toBe(true);
    // A second tree, offline, with the archive gone: all from the cache.
    const root2 = copyXenTree(path.join(base, "xen2"), { hardlink: true });
    writeFileSync(path.join(root2, ".config"), readFileSync(path.join(root, ".config")));
    execFileSync("mv", [archive, `${archive}.away`]);
    const r2 = await run(root2, cache, ["--offline"]);
    // The wrap-file's source is a local path here, so only the git parts can come from the cache:
    // the archive's absence must be reported clearly rather than half-fetching.
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/the tarball .*libdep-1.0.tar.gz does not exist/);
    expect(existsSync(path.join(root2, "tools", "qemu-xen-dir-remote"))).toBe(false);
  });
});
