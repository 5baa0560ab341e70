import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { it } from "vitest";
import { gitEnv } from "../support/git.js";
import { startGitDaemon, startHttpGit } from "../support/servers.js";
import { makeSubmoduleUpstream } from "../support/submodules.js";

const run = async (args: string[], cwd?: string) => (await promisify(execFile)("git", ["-c", "protocol.file.allow=always", ...args], { cwd, env: gitEnv() })).stdout + "";

it("scratch", async () => {
  const base = mkdtempSync(path.join(tmpdir(), "scratch-"));
  const up = makeSubmoduleUpstream(path.join(base, "up"));
  console.log(up.superproject.refs, up.submodules.map((s) => s.commit));
  const d = await startGitDaemon(up.baseDir);
  const h = await startHttpGit(up.baseDir);
  try {
    for (const u of [d.url("qemu-xen.git"), h.url("qemu-xen.git")]) {
      const dest = path.join(base, "c" + u.length);
      console.log(await run(["clone", "-q", "--recurse-submodules", u, dest]));
      console.log(await run(["submodule", "status"], dest));
      const m = path.join(base, "m" + u.length);
      await run(["init", "-q", "--bare", m]);
      const sub = up.submodules[0]!;
      await run(["fetch", "--depth=1", u.replace("qemu-xen", "meson"), sub.commit], m);
      console.log("sha fetch ok", await run(["cat-file", "-t", sub.commit], m));
    }
    console.log(h.log);
  } finally {
    await d.stop();
    await h.stop();
  }
}, 60000);
