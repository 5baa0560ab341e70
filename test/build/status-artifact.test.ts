// `status` tells an artifact-cache hit (nothing built in this tree; install restores it, or did)
// apart from a build that never ran (issue 15, point 6).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

let base: string;
let repos: UpstreamRepos;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-status-art-"));
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});

let n = 0;
/** A fresh Xen tree building qemu-xen only; every tree shares one artifact cache. */
function tree(): { root: string; xq: (argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }> } {
  const root = copyXenTree(path.join(base, `t${n++}`, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nCONFIG_SEABIOS = n\n`);
  const env = { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQBUILD_CCACHE: "0" };
  return {
    root,
    xq: async (argv) => {
      const output = memoryOutput();
      const code = await main([...argv, "-C", root], { cwd: root, env, output });
      return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
    },
  };
}

interface StatusJson {
  components: Array<{ name: string; stages: Record<string, string>; artifact?: { key: string; restored: boolean; current: boolean } }>;
}

async function statusOf(t: ReturnType<typeof tree>, extra: string[] = []): Promise<StatusJson["components"][number] | undefined> {
  const r = await t.xq(["status", "--json", ...extra]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as StatusJson).components.find((c) => c.name === "qemu-xen");
}

describe("status and the artifact cache", () => {
  let key: string;
  beforeAll(async () => {
    const first = tree();
    const r = await first.xq(["install", "qemu-xen", "--destdir", path.join(base, "dest0")]);
    expect(r.code, r.stderr).toBe(0);
    // Built here: the stamps hold, no artifact stamp.
    const s = await statusOf(first);
    expect(s?.stages).toEqual({ configure: "up to date", build: "up to date" });
    expect(s?.artifact).toBeUndefined();
  }, 90_000);

  it("a fetched tree that never built says not run", async () => {
    const t = tree();
    expect((await t.xq(["fetch", "qemu-xen"])).code).toBe(0);
    const s = await statusOf(t);
    expect(s?.stages).toEqual({ configure: "not run", build: "not run" });
    expect(s?.artifact).toBeUndefined();
  }, 60_000);

  it("a build the cache stood in for says so (install restores it), then that install restored it", async () => {
    const t = tree();
    const built = await t.xq(["build", "qemu-xen"]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/install restores it/);
    const s = await statusOf(t);
    expect(s?.stages).toEqual({ configure: "in the artifact cache", build: "in the artifact cache" });
    expect(s?.artifact).toMatchObject({ restored: false, current: true });
    key = s?.artifact?.key ?? "";
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect((await t.xq(["status"])).stdout).toMatch(new RegExp(`^ {2}build {4}not built in this tree: in the artifact cache \\(${key.slice(0, 12)}\\); install restores it$`, "m"));

    expect((await t.xq(["install", "qemu-xen", "--destdir", path.join(base, "dest1")])).code).toBe(0);
    expect((await statusOf(t))?.artifact).toEqual({ key, restored: true, current: true });
    // `all` after it skips again: the install that restored it still did.
    expect((await t.xq(["all", "qemu-xen"])).code).toBe(0);
    expect((await t.xq(["status"])).stdout).toMatch(/^ {2}configure not built in this tree: in the artifact cache \([0-9a-f]{12}\); install restored it$/m);

    // Other inputs: that artifact is not theirs, and nothing was built here for them.
    const other = await statusOf(t, ["EXTRA_CFLAGS_QEMU_XEN=-O1"]);
    expect(other?.stages).toEqual({ configure: "not run", build: "not run" });
    expect(other?.artifact).toEqual({ key, restored: true, current: false });
  }, 90_000);
});
