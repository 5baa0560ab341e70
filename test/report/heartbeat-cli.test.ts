// The CI heartbeat end to end: the real CLI in CI mode, a SeaBIOS build that takes a few seconds
// (the fixture's XQ_FAKE_SEABIOS_SECONDS), XQBUILD_HEARTBEAT_SECONDS read once by the config layer.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { cliPath } from "../support/cli-path.js";
import { copyXenTree } from "../support/xen-tree.js";

const CLI = cliPath();
let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-beat-up-")));
});

function tree(): { root: string; env: NodeJS.ProcessEnv } {
  const base = mkdtempSync(path.join(tmpdir(), "xqbuild-beat-"));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  // The fixture's slow job logs its start and end to XQ_JOBLOG.
  return { root, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), CI: "true", XQBUILD_NO_DOCTOR: "1", XQ_JOBLOG: path.join(base, "jobs.log") } };
}

describe("the CI heartbeat through the CLI", () => {
  it("a stage that runs longer than XQBUILD_HEARTBEAT_SECONDS says it is still running, and 0 turns it off", () => {
    const t = tree();
    const beat = spawnSync("node", [CLI, "all", "seabios", "-C", t.root], { env: { ...t.env, XQBUILD_HEARTBEAT_SECONDS: "1", XQ_FAKE_SEABIOS_SECONDS: "3" }, encoding: "utf8", timeout: 60_000 });
    expect(beat.status, beat.stderr).toBe(0);
    expect(beat.stderr).toMatch(/^\[seabios build\] still running \(\d+s\)$/m);
    const t2 = tree();
    const off = spawnSync("node", [CLI, "all", "seabios", "-C", t2.root], { env: { ...t2.env, XQBUILD_HEARTBEAT_SECONDS: "0", XQ_FAKE_SEABIOS_SECONDS: "3" }, encoding: "utf8", timeout: 60_000 });
    expect(off.status, off.stderr).toBe(0);
    expect(off.stderr).not.toMatch(/still running/);
  });

  it("a value that is not a number of seconds stops the run before anything starts (exit 2)", () => {
    const t = tree();
    const r = spawnSync("node", [CLI, "all", "seabios", "-C", t.root], { env: { ...t.env, XQBUILD_HEARTBEAT_SECONDS: "soon" }, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/XQBUILD_HEARTBEAT_SECONDS="soon" is not a whole number of seconds from 0 to 86400/);
  });
});
