import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { cliPath } from "../support/cli-path.js";
import { copyXenTree } from "../support/xen-tree.js";

const CLI = cliPath();
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
const stripAnsi = (s: string): string => s.replace(ANSI, "");
let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-rep-up-")));
});

function tree(): { root: string; env: NodeJS.ProcessEnv } {
  const base = mkdtempSync(path.join(tmpdir(), "xqbuild-rep-"));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  const env: NodeJS.ProcessEnv = { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache") };
  delete env.CI;
  return { root, env };
}

describe("reporters", () => {
  it("draws a task tree on a terminal (listr2 under a pseudo-terminal)", () => {
    const t = tree();
    // script(1) gives the command a pseudo-terminal, as a person's shell would.
    const r = spawnSync("script", ["-qfec", `stty cols 100 rows 30; node ${CLI} all -C ${t.root}`, "/dev/null"], { env: { ...t.env, TERM: "xterm" }, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    const screen = stripAnsi(r.stdout);
    expect(screen).toMatch(/✔ qemu-xen: build done \(\d+\.\d s\)/);
    expect(screen).toMatch(/✔ seabios: build done/);
    // Without a width the same terminal gets plain lines rather than a garbled tree.
    const t2 = tree();
    const narrow = spawnSync("script", ["-qfec", `stty cols 0; node ${CLI} all -C ${t2.root}`, "/dev/null"], { env: { ...t2.env, TERM: "xterm" }, encoding: "utf8", timeout: 60_000 });
    expect(narrow.status).toBe(0);
    expect(stripAnsi(narrow.stdout)).toMatch(/\[seabios build\] done in/);
  });

  it("prints plain lines with component and stage prefixes in CI", () => {
    const t = tree();
    const r = spawnSync("node", [CLI, "all", "-C", t.root], { env: { ...t.env, CI: "true" }, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^\[qemu-xen configure\] started$/m);
    expect(r.stderr).toMatch(/^\[seabios build\] done in \d+\.\d s$/m);
    expect(r.stderr).not.toMatch(new RegExp(ANSI.source));
  });

  it("streams NDJSON events with --json", () => {
    const t = tree();
    const r = spawnSync("node", [CLI, "all", "--json", "-C", t.root], { env: t.env, encoding: "utf8" });
    expect(r.status).toBe(0);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; component?: string; stage?: string; ok?: boolean });
    expect(events[0]?.type).toBe("run-start");
    expect(events.at(-1)).toMatchObject({ type: "run-end", ok: true });
    expect(events.filter((e) => e.type === "stage-done").map((e) => `${e.component} ${e.stage}`).sort()).toEqual(["qemu-xen build", "qemu-xen configure", "seabios build"]);
  });

  it("streams every output line with -v, and ends quietly when its output pipe is closed", () => {
    const t = tree();
    const r = spawnSync("node", [CLI, "all", "-v", "-C", t.root], { env: { ...t.env, CI: "true" }, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^\[qemu-xen configure\] fake qemu-xen configure: wrote Makefile/m);
    const piped = spawnSync("bash", ["-c", `set -o pipefail; node ${CLI} plan -C ${t.root} | head -1`], { env: t.env, encoding: "utf8" });
    expect(piped.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(piped.stderr).not.toMatch(/EPIPE|Error/);
  });
});
