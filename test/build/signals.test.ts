import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { cliPath } from "../support/cli-path.js";
import { startNodeCli, survivors } from "../support/processes.js";
import { copyXenTree } from "../support/xen-tree.js";

const CLI = cliPath();
let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-sig-up-")));
});

describe("signals", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s to xqbuild's pid alone stops every child within 5 s, exits %i, leaves no stamp, and a rerun resumes", async (sig, code) => {
    const base = mkdtempSync(path.join(tmpdir(), `xqbuild-sig-${sig}-`));
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    // Long fake builds whose job logs name this tree, so leftover processes can be found.
    const joblog = path.join(base, "jobs-marker.log");
    const env = { ...gitEnv(), CI: "true", XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_FAKE_JOBS: "200", XQ_JOBLOG: joblog };
    const run = startNodeCli(CLI, ["all", "qemu-xen", "-j2", "-C", root], { env, timeoutMs: 60_000 });
    const child = run.child;
    await run.waitFor(/\[qemu-xen build\] started/, 30_000);
    await new Promise((r) => setTimeout(r, 700));
    expect(survivors(joblog).length).toBeGreaterThan(0);
    const sent = Date.now();
    child.kill(sig);
    const exit = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    expect(exit).toBe(code);
    expect(Date.now() - sent).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(survivors(joblog)).toEqual([]);
    const stamps = path.join(root, ".xqbuild", "stamps", "qemu-xen");
    expect(existsSync(path.join(stamps, "configure.json"))).toBe(true);
    expect(existsSync(path.join(stamps, "build.json"))).toBe(false);
    const rerun = spawnSync(process.execPath, [CLI, "all", "qemu-xen", "-C", root], { env: { ...env, XQ_FAKE_JOBS: "1" }, encoding: "utf8" });
    expect(rerun.status).toBe(0);
    expect(rerun.stderr).toMatch(/\[qemu-xen configure\] up to date/);
    expect(rerun.stderr).toMatch(/\[qemu-xen build\] done/);
  }, 60_000);
});
