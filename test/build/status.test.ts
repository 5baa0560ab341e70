import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv, makeUpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

interface Status {
  components: Array<{ name: string; enabled: boolean; present: boolean; head?: string; base?: string; patches: string[]; dirty: string[]; locked?: { revision: string; commit: string; matches: boolean }; stages: Record<string, string> }>;
}

describe("xqbuild status", () => {
  it("tells revisions, lock, patches, local changes and which stages are up to date", async () => {
    const base = mkdtempSync(path.join(tmpdir(), "xqbuild-status-"));
    const repos = makeUpstreamRepos(path.join(base, "up"));
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    mkdirSync(path.join(root, "p"));
    writeFileSync(path.join(root, "p", "one.patch"), "--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-1.16.0\n+1.16.0-p\n");
    writeFileSync(path.join(root, "xqbuild.config.json"), JSON.stringify({ components: { seabios: { patches: "p" } } }));
    const env = { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache") };
    const xq = async (argv: string[]): Promise<{ code: number; out: string }> => {
      const o = memoryOutput();
      const code = await main([...argv, "-C", root], { cwd: root, env, output: o });
      return { code, out: o.stdout.join("\n") };
    };
    const before = JSON.parse((await xq(["status", "--json"])).out) as Status;
    expect(before.components.find((c) => c.name === "qemu-xen")).toMatchObject({ enabled: true, present: false });
    expect((await xq(["all"])).code).toBe(0);
    const after = JSON.parse((await xq(["status", "--json"])).out) as Status;
    const q = after.components.find((c) => c.name === "qemu-xen");
    expect(q).toMatchObject({ present: true, head: repos.qemuXen.refs["qemu-xen-4.17.3"], patches: [], dirty: [], stages: { configure: "up to date", build: "up to date" } });
    expect(q?.locked).toEqual({ revision: "qemu-xen-4.17.3", commit: repos.qemuXen.refs["qemu-xen-4.17.3"], matches: true });
    const s = after.components.find((c) => c.name === "seabios");
    expect(s?.patches).toEqual(["one.patch"]);
    expect(s?.base).toBe(repos.seabios.refs["rel-1.16.0"]);
    expect(s?.stages).toEqual({ build: "up to date" });
    writeFileSync(path.join(root, "tools", "qemu-xen-dir", "VERSION"), "changed\n");
    const changed = JSON.parse((await xq(["status", "--json", "EXTRA_CFLAGS_QEMU_XEN=-O1"])).out) as Status;
    expect(changed.components.find((c) => c.name === "qemu-xen")).toMatchObject({ dirty: [" M VERSION"], stages: { configure: "out of date", build: "out of date" } });
    const text = (await xq(["status"])).out;
    expect(text).toMatch(/^seabios: enabled \(CONFIG_SEABIOS=y\)$/m);
    expect(text).toMatch(/^ {2}at {7}[0-9a-f]{12} \+ 1 patches/m);
    expect(text).toMatch(/^ {2}tree {5}1 changed files, 0 local commits$/m);
  });
});
