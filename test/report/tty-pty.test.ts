// The live terminal view in a real terminal: xqbuild run inside tmux (a pty; CI is unset, so the
// listr2 view is what a person sees), read back with `tmux capture-pane`, and Ctrl-C sent as a key.
//
// Journeys: a run that has nothing to do ends at once (it used to spin forever when the run ended
// before listr2 had started the components' tasks); a build interrupted with Ctrl-C ends with 130,
// is shown stopped (it used to get a green check, then a cross), leaves no stamp for the stage it stopped,
// and the next run finishes it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { cliPath } from "../support/cli-path.js";
import { copyXenTree } from "../support/xen-tree.js";
import { tmuxServer } from "../support/tmux.js";

const CLI = cliPath();
const SOCKET = `xq-pty-${process.pid}`;
let repos: UpstreamRepos;
let base: string;

const { run: tmux, waitFor } = tmuxServer(SOCKET, 200);

/** Starts xqbuild in a new tmux window of 120x30 with env; the shell prints EXIT=<code> after it. */
function start(session: string, root: string, args: string[], env: Record<string, string>): void {
  const assign = Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`);
  const cmd = `env -u CI ${assign.join(" ")} '${process.execPath}' '${CLI}' ${args.map((a) => `'${a}'`).join(" ")} -C '${root}'; echo EXIT=$?; sleep 300`;
  tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "30", cmd]);
}

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-pty-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
});

afterAll(() => {
  spawnSync("tmux", ["-L", SOCKET, "kill-server"], { stdio: "ignore" });
});

describe("the live view on a terminal (tmux)", () => {
  it("a run with nothing to do ends at once; Ctrl-C during a build ends it with 130 and no stamp; the next run finishes", async () => {
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    const env: Record<string, string> = { ...(gitEnv() as Record<string, string>), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_JOBLOG: path.join(base, "jobs.log"), TERM: "xterm-256color" };
    delete env["CI"];

    // First run, on the terminal: builds both fake components and ends.
    start("first", root, ["all", "-j2"], env);
    let text = await waitFor("first", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=0/);
    expect(text).toMatch(/qemu-xen: build done/);

    // Nothing to do: the view must end, not spin.
    start("noop", root, ["all", "-j2"], env);
    text = await waitFor("noop", /EXIT=\d+/, 20_000);
    expect(text).toMatch(/EXIT=0/);
    expect(text).toMatch(/qemu-xen: build up to date/);

    // A changed cflag rebuilds qemu-xen; its fake build runs long jobs; Ctrl-C while it builds.
    start("int", root, ["all", "qemu-xen", "-j2", "EXTRA_CFLAGS_QEMU_XEN=-DXQ_PTY"], { ...env, XQ_FAKE_JOBS: "100" });
    await waitFor("int", /qemu-xen: build…/, 60_000);
    await new Promise((r) => setTimeout(r, 700));
    tmux(["send-keys", "-t", "int", "C-c"]);
    text = await waitFor("int", /EXIT=\d+/, 15_000);
    expect(text).toMatch(/EXIT=130/);
    // The interrupted build is shown stopped (⊘), neither with a check mark nor a cross.
    expect(text).toMatch(/⊘ qemu-xen: build stopped \(SIGINT\)/);
    expect(text).not.toMatch(/[✔✖] qemu-xen: build/);
    const stamps = path.join(root, ".xqbuild", "stamps", "qemu-xen");
    expect(existsSync(path.join(stamps, "build.json"))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(stamps, "configure.json"), "utf8"))).toHaveProperty("fingerprint");

    // Again, to its end: configure is up to date, the build runs.
    start("again", root, ["all", "qemu-xen", "-j2", "EXTRA_CFLAGS_QEMU_XEN=-DXQ_PTY"], env);
    text = await waitFor("again", /EXIT=\d+/, 60_000);
    expect(text).toMatch(/EXIT=0/);
    expect(text).toMatch(/qemu-xen: build done/);
    expect(existsSync(path.join(stamps, "build.json"))).toBe(true);
  }, 180_000);
});
