// The live view prints messages as they happen, above itself: the real CLI in a real terminal
// (tmux: CI is unset, so the listr2 view is drawn), read back with `tmux capture-pane` while the
// build still runs and after it has ended.
//
// Journeys: a warning given by the fetch, at the start of a long build, is on the screen while the
// build runs, above the view (it used to be held until the build was over), and once only at the
// end; a failing stage and Ctrl-C still end the view with the right marks, the warning above it
// and the error paragraph and the end line below it; with CI=true (the plain reporter) the
// warning is the same plain line as before, before the stages' lines.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { cliPath } from "../support/cli-path.js";
import { copyXenTree } from "../support/xen-tree.js";
import { tmuxServer } from "../support/tmux.js";

const CLI = cliPath();
const SOCKET = `xq-live-msg-${process.pid}`;
const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/upstream");
let repos: UpstreamRepos;
let base: string;
let n = 0;

const { run: tmux, screen, waitFor } = tmuxServer(SOCKET, 200);

/** A line of the view: a component's mark (check, cross, stopped, waiting, a spinner frame). */
const MARK = /^\s*([✔✖⊘↓❯›◼]|[\u2800-\u28ff]) /u;
/** The warning the fetch gives for a qemu-xen used in place with a patch queue set. */
const WARNING = /^qemu-xen: warning: the patch queue is not applied to .*, a local directory used in place/;

/**
 * A fresh fake Xen tree whose qemu-xen is a local directory used in place (QEMU_UPSTREAM_LOC)
 * while the xqbuild config file gives it a patch queue: the fetch warns that the queue is not
 * applied, after the run has started and before the build's minutes.
 */
function warningTree(): string {
  const dir = path.join(base, `t-${++n}`);
  const root = copyXenTree(path.join(dir, "xen"), { hardlink: true });
  const qemu = path.join(dir, "qemu-xen-local");
  cpSync(path.join(FIXTURES, "qemu-xen"), qemu, { recursive: true });
  cpSync(path.join(FIXTURES, "_record.py"), path.join(qemu, "_record.py"));
  mkdirSync(path.join(root, "patches"));
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_LOC = ${qemu}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  writeFileSync(path.join(root, "xqbuild.config.json"), JSON.stringify({ components: { "qemu-xen": { patches: "patches" } } }));
  return root;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { ...(gitEnv() as Record<string, string>), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_JOBLOG: path.join(base, "jobs.log"), TERM: "xterm-256color" };
  delete env["CI"];
  return env;
}

/** Starts xqbuild in a new tmux session of 120x40; the shell prints EXIT=<code> after it. CI only when env sets it. */
function start(session: string, root: string, args: string[], env: Record<string, string>): void {
  const assign = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`);
  const cmd = `env -u CI ${assign.join(" ")} '${process.execPath}' '${CLI}' ${args.map((a) => `'${a}'`).join(" ")} -C '${root}'; echo EXIT=$?; sleep 300`;
  tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd]);
}

/** The screen's lines, and where the view starts (its first line with a task mark; -1 when none). */
function layout(text: string): { lines: string[]; view: number } {
  const lines = text.split("\n");
  return { lines, view: lines.findIndex((l) => MARK.test(l)) };
}

/** The indexes of the lines that match re. */
const linesOf = (lines: string[], re: RegExp): number[] => lines.flatMap((l, i) => (re.test(l) ? [i] : []));

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-live-msg-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
});

afterAll(() => {
  spawnSync("tmux", ["-L", SOCKET, "kill-server"], { stdio: "ignore" });
});

describe("the live view prints messages above itself as they come (tmux)", () => {
  it("a warning from the fetch is on the screen, above the view, while the long build runs; once only at the end", async () => {
    const root = warningTree();
    // 60 fake compile jobs of 0.3 s at -j2: a build of about 9 s.
    start("warn", root, ["all", "qemu-xen", "-j2"], { ...baseEnv(), XQ_FAKE_JOBS: "60" });
    const during = await waitFor("warn", /qemu-xen: build… \(?/, 60_000);
    // Read again a moment later: the build still runs, the view has been redrawn since.
    await new Promise((r) => setTimeout(r, 1500));
    const running = screen("warn");
    expect(running, "the build has ended already: the check would prove nothing").not.toMatch(/EXIT=\d+/);
    for (const text of [during, running]) {
      const { lines, view } = layout(text);
      expect(view, text).toBeGreaterThan(0);
      expect(lines[view], text).toMatch(/qemu-xen: build…/);
      const warned = linesOf(lines, WARNING);
      expect(warned, text).toHaveLength(1);
      expect(warned[0], text).toBeLessThan(view);
      // The fetch's own line too, as it happened (the directory used in place).
      expect(linesOf(lines, /^qemu-xen: using .* in place \(QEMU_UPSTREAM_LOC\)$/).length, text).toBe(1);
    }

    const text = await waitFor("warn", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=0/);
    const { lines, view } = layout(text);
    expect(lines[view]).toMatch(/✔ qemu-xen: build done \(\d+\.\d s\)/);
    const warned = linesOf(lines, WARNING);
    expect(warned, text).toHaveLength(1);
    expect(warned[0]).toBeLessThan(view);
    const end = linesOf(lines, /^xqbuild: finished in \d+\.\d s$/);
    expect(end, text).toHaveLength(1);
    expect(end[0]).toBeGreaterThan(view);
    // Nothing garbled: every line between the warning and the view is a message of its own.
    for (const l of lines.slice(0, view)) expect(l, text).not.toMatch(MARK);
  }, 120_000);

  it("a failing build: the cross under the warning, the error and the end line below the view", async () => {
    const root = warningTree();
    start("fail", root, ["all", "qemu-xen", "-j2"], { ...baseEnv(), XQ_FAKE_JOBS: "10", XQ_FAKE_BUILD_FAIL: "1" });
    const text = await waitFor("fail", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=1/);
    const { lines, view } = layout(text);
    expect(lines[view], text).toMatch(/✖ qemu-xen: build failed/);
    expect(text).not.toMatch(/✔ qemu-xen/);
    const warned = linesOf(lines, WARNING);
    expect(warned, text).toHaveLength(1);
    expect(warned[0]).toBeLessThan(view);
    const error = linesOf(lines, /^xqbuild: error: qemu-xen build/);
    expect(error, text).toHaveLength(1);
    expect(error[0]).toBeGreaterThan(view);
    const end = linesOf(lines, /^xqbuild: failed in \d+\.\d s$/);
    expect(end[0]).toBeGreaterThan(error[0] ?? Infinity);
  }, 90_000);

  it("Ctrl-C during the build after the warning: shown stopped (⊘), the warning once above, interrupted below, exit 130", async () => {
    const root = warningTree();
    start("int", root, ["all", "qemu-xen", "-j2"], { ...baseEnv(), XQ_FAKE_JOBS: "200" });
    await waitFor("int", /qemu-xen: build…/, 60_000);
    await new Promise((r) => setTimeout(r, 700));
    tmux(["send-keys", "-t", "int", "C-c"]);
    const text = await waitFor("int", /EXIT=\d+/, 15_000);
    expect(text).toMatch(/EXIT=130/);
    const { lines, view } = layout(text);
    expect(lines[view], text).toMatch(/⊘ qemu-xen: build stopped \(SIGINT\)/);
    expect(text).not.toMatch(/[✔✖] qemu-xen: build/);
    const warned = linesOf(lines, WARNING);
    expect(warned, text).toHaveLength(1);
    expect(warned[0]).toBeLessThan(view);
    const end = linesOf(lines, /^xqbuild: interrupted in \d+\.\d s$/);
    expect(end, text).toHaveLength(1);
    expect(end[0]).toBeGreaterThan(view);
  }, 90_000);

  it("with CI=true on the same terminal: the plain reporter's lines, the warning among them in the fetch's place", async () => {
    const root = warningTree();
    start("ci", root, ["all", "qemu-xen", "-j2"], { ...baseEnv(), CI: "true" });
    const text = await waitFor("ci", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=0/);
    const { lines, view } = layout(text);
    expect(view, "no live view under CI").toBe(-1);
    const warned = linesOf(lines, WARNING);
    expect(warned, text).toHaveLength(1);
    const started = linesOf(lines, /^\[qemu-xen configure\] started/);
    expect(started, text).toHaveLength(1);
    expect(warned[0]).toBeLessThan(started[0] ?? -1);
    expect(linesOf(lines, /^xqbuild all: qemu-xen \(jobs: 2\)$/)[0]).toBeLessThan(warned[0] ?? -1);
    expect(text).toMatch(/^xqbuild: finished in \d+\.\d s$/m);
  }, 90_000);
});
