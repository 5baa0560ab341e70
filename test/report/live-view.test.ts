// The live view as a person sees it: the real CLI in a real terminal (tmux: CI is unset, so the
// listr2 view is drawn), read back with `tmux capture-pane`, Ctrl-C typed with send-keys.
//
// Journeys (issue 15, point 4): a success; a failing configure (the view used to spin forever and
// Ctrl-C did nothing); a failing build (its last line shown is the compiler's error, not the caret
// marker below it); Ctrl-C during a long build (the stage shows stopped, never a check, exit 130,
// the cursor back); SIGTERM likewise; a terminal 50 columns wide (no line of the view wraps).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { cliPath } from "../support/cli-path.js";
import { copyXenTree } from "../support/xen-tree.js";
import { tmuxServer } from "../support/tmux.js";

const CLI = cliPath();
const SOCKET = `xq-live-${process.pid}`;
let repos: UpstreamRepos;
let base: string;
let n = 0;

const { run: tmux, screen, waitFor } = tmuxServer(SOCKET, 200);

/** A fresh fake Xen tree whose components come from the fixture upstreams. */
function freshTree(): string {
  const root = copyXenTree(path.join(base, `xen-${++n}`), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  return root;
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { ...(gitEnv() as Record<string, string>), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_JOBLOG: path.join(base, "jobs.log"), TERM: "xterm-256color" };
  delete env["CI"];
  return env;
}

/** Starts xqbuild in a new tmux session of width x 30; the shell prints EXIT=<code> after it. */
function start(session: string, root: string, args: string[], env: Record<string, string>, width = 120): void {
  const assign = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`);
  const cmd = `env -u CI ${assign.join(" ")} '${process.execPath}' '${CLI}' ${args.map((a) => `'${a}'`).join(" ")} -C '${root}'; echo EXIT=$?; sleep 300`;
  tmux(["new-session", "-d", "-s", session, "-x", String(width), "-y", "30", cmd]);
}

/** A line of the view: a component's mark (check, cross, stopped, waiting, a spinner frame) or the output line's. */
const MARK = /^\s*([✔✖⊘↓❯›◼]|[\u2800-\u28ff]) /u;

/** Whether the terminal's cursor is visible (listr2 hides it while it draws). */
const cursorShown = (session: string): boolean => tmux(["display-message", "-p", "-t", session, "#{cursor_flag}"]).trim() === "1";

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-live-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
});

afterAll(() => {
  spawnSync("tmux", ["-L", SOCKET, "kill-server"], { stdio: "ignore" });
});

describe("the live view in a real terminal (tmux)", () => {
  it("a success: every component checked, the run's end line below the view, the cursor back", async () => {
    const root = freshTree();
    start("ok", root, ["all", "-j2"], baseEnv());
    const text = await waitFor("ok", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=0/);
    expect(text).toMatch(/✔ qemu-xen: build done \(\d+\.\d s\)/);
    expect(text).toMatch(/✔ seabios: build done/);
    expect(text).toMatch(/^xqbuild: finished in \d+\.\d s$/m);
    expect(cursorShown("ok")).toBe(true);
  }, 90_000);

  it("a failing configure ends the view at once: a cross, the error below the view, exit 1", async () => {
    const root = freshTree();
    start("conf", root, ["all", "-j2"], { ...baseEnv(), XQ_FAKE_CONFIGURE_FAIL: "1" });
    const text = await waitFor("conf", /EXIT=\d+/, 30_000);
    expect(text).toMatch(/EXIT=1/);
    expect(text).toMatch(/✖ qemu-xen: configure failed/);
    expect(text).not.toMatch(/✔ qemu-xen/);
    // The error paragraph comes after the view, not inside or above it.
    const lines = text.split("\n");
    const mark = lines.findIndex((l) => /✖ qemu-xen: configure failed/.test(l));
    const error = lines.findIndex((l) => /^xqbuild: error: qemu-xen.*configure/.test(l));
    expect(error).toBeGreaterThan(mark);
    expect(text).toMatch(/^xqbuild: failed in \d+\.\d s$/m);
    expect(cursorShown("conf")).toBe(true);
  }, 60_000);

  it("a failing build: the cross, and the last meaningful line (the compiler's error, not its caret marker)", async () => {
    const root = freshTree();
    start("build", root, ["all", "qemu-xen", "-j2"], { ...baseEnv(), XQ_FAKE_BUILD_FAIL: "1" });
    const text = await waitFor("build", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=1/);
    expect(text).toMatch(/✖ qemu-xen: build failed/);
    // Under the cross: the line that says what went wrong.
    expect(text).toMatch(/✖ qemu-xen: build failed.*\n.*error: fake build failure requested by XQ_FAKE_BUILD_FAIL/);
    expect(text).toMatch(/^xqbuild: error: qemu-xen/m);
  }, 90_000);

  it("Ctrl-C during a long build: the view ends at once, the stage shows stopped (no check, no cross), exit 130", async () => {
    const root = freshTree();
    const env = baseEnv();
    start("int-prep", root, ["all", "-j2"], env);
    expect(await waitFor("int-prep", /EXIT=\d+/, 60_000)).toMatch(/EXIT=0/);
    // A changed cflag rebuilds qemu-xen, whose fake build then runs long jobs; seabios is up to date.
    start("int", root, ["all", "-j2", "EXTRA_CFLAGS_QEMU_XEN=-DXQ_LIVE"], { ...env, XQ_FAKE_JOBS: "200" });
    await waitFor("int", /qemu-xen: build…/, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const sent = Date.now();
    tmux(["send-keys", "-t", "int", "C-c"]);
    const text = await waitFor("int", /EXIT=\d+/, 10_000);
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect(text).toMatch(/EXIT=130/);
    expect(text).toMatch(/⊘ qemu-xen: build stopped \(SIGINT\)/);
    expect(text).not.toMatch(/[✔✖] qemu-xen/);
    expect(text).toMatch(/✔ seabios: build up to date/);
    expect(text).toMatch(/^xqbuild: interrupted in \d+\.\d s$/m);
    expect(cursorShown("int")).toBe(true);
  }, 150_000);

  it("SIGTERM to xqbuild alone (as a CI runner sends it) during a build: the stage shows stopped (SIGTERM), exit 143", async () => {
    const root = freshTree();
    const env = baseEnv();
    start("term-prep", root, ["all", "qemu-xen", "-j2"], env);
    expect(await waitFor("term-prep", /EXIT=\d+/, 60_000)).toMatch(/EXIT=0/);
    start("term", root, ["all", "qemu-xen", "-j2", "EXTRA_CFLAGS_QEMU_XEN=-DXQ_TERM"], { ...env, XQ_FAKE_JOBS: "200" });
    await waitFor("term", /qemu-xen: build…/, 60_000);
    // The pane runs sh, whose child is xqbuild (env execs node).
    const sh = tmux(["display-message", "-p", "-t", "term", "#{pane_pid}"]).trim();
    const pid = spawnSync("pgrep", ["-P", sh, "-f", CLI], { encoding: "utf8" }).stdout.trim().split("\n")[0] ?? "";
    expect(pid).toMatch(/^\d+$/);
    const sent = Date.now();
    process.kill(Number(pid), "SIGTERM");
    const text = await waitFor("term", /EXIT=\d+/, 10_000);
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect(text).toMatch(/EXIT=143/);
    expect(text).toMatch(/⊘ qemu-xen: build stopped \(SIGTERM\)/);
    expect(text).not.toMatch(/[✔✖] qemu-xen/);
    expect(cursorShown("term")).toBe(true);
  }, 150_000);

  it("a terminal 50 columns wide: titles and output lines are cut to the width, none wraps", async () => {
    const root = freshTree();
    // Long jobs to watch the running lines, then a build failure whose diagnostic is 73 columns wide.
    start("narrow", root, ["all", "-j2"], { ...baseEnv(), XQ_FAKE_JOBS: "6", XQ_FAKE_BUILD_FAIL: "1" }, 50);
    const views: string[][] = [];
    let seen = "";
    const end = Date.now() + 60_000;
    for (;;) {
      // -J joins lines the terminal wrapped: a line wider than the pane means it wrapped.
      seen = screen("narrow");
      views.push(viewOf(seen));
      if (/EXIT=\d+/.test(seen) || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toMatch(/EXIT=1/);
    const last = viewOf(seen);
    expect(last.join("\n")).toMatch(/✖ qemu-xen: build failed/);
    // The diagnostic, cut with an ellipsis rather than wrapped onto a second line.
    expect(last.join("\n")).toMatch(/› xq-fail\.h:3:5: error: fake build .*…$/m);
    for (const view of views) {
      for (const line of view) {
        expect([...line.trimEnd()].length, line).toBeLessThanOrEqual(50);
        // Every line of the view is a component's line or the output line under it: a line that
        // listr2 itself wrapped would be a continuation without a mark.
        expect(line, view.join("\n")).toMatch(/^\s*([✔✖⊘↓❯›◼]|[\u2800-\u28ff]) /u);
      }
    }
    expect(views.some((v) => v.some((l) => /qemu-xen: build…/.test(l)))).toBe(true);
  }, 90_000);
});

/**
 * The live view's lines on a screen: from the first line with a task mark, while lines carry a mark
 * or are indented (the output line under a task, or a line listr2 wrapped onto the next one); what
 * follows the view (messages, the error paragraph) starts in the first column.
 */
function viewOf(screen: string): string[] {
  const lines = screen.split("\n");
  const first = lines.findIndex((l) => MARK.test(l));
  if (first < 0) return [];
  const view: string[] = [];
  for (const l of lines.slice(first)) {
    if (l.trim() === "" || !(MARK.test(l) || /^\s/.test(l))) break;
    view.push(l);
  }
  return view;
}
