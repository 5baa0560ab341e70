// The plan is what runs (issue 15, point 2): `plan --json`'s resolved command of each step is the
// argv the fake configure, ninja and meson record when the build runs it, step by step; the plan
// shows the patch queue with each patch's sha256 and the artifact cache's lookups; ninja's [N/M]
// lines become progress events.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { progressEmitter } from "../../src/engine/pipeline.js";
import { RECIPES } from "../../src/components/index.js";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { readRecords, type FixtureRecord } from "../support/records.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
beforeAll(() => {
  repos = makeUpstreamRepos(mkdtempSync(path.join(tmpdir(), "xqbuild-planrun-up-")));
});

interface Tree {
  base: string;
  root: string;
  record: string;
  env: Record<string, string | undefined>;
  /** --config-file FILE, when the tree has an xqbuild config file. */
  extra: string[];
}

function setup(name: string, settings?: string): Tree {
  const base = mkdtempSync(path.join(tmpdir(), `xqbuild-planrun-${name}-`));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  const record = path.join(base, "record.jsonl");
  const env: Record<string, string | undefined> = { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_RECORD: record, XQ_FAKE_MESON: "1" };
  const extra: string[] = [];
  if (settings !== undefined) {
    writeFileSync(path.join(base, "xqbuild.json"), settings);
    extra.push("--config-file", path.join(base, "xqbuild.json"));
  }
  return { base, root, record, env, extra };
}

async function xq(t: Tree, argv: string[]) {
  const output = memoryOutput();
  const code = await main([...argv, ...t.extra, "-C", t.root], { cwd: t.root, env: t.env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

function takeRecords(t: Tree): FixtureRecord[] {
  const r = existsSync(t.record) ? readRecords(t.record) : [];
  rmSync(t.record, { force: true });
  return r;
}

interface RunsJson {
  cwd: string;
  argv: string[];
  env: Record<string, string | null>;
  jobsFlag?: boolean;
  name?: string;
  command: string;
}
interface StepJson {
  name: string;
  kind: string;
  step: string;
  argv?: string[];
  runs?: RunsJson;
}
interface ComponentJson {
  name: string;
  stages: StepJson[];
  patches?: Array<{ name: string; sha256: string; file: string }>;
  cache?: { local: string; staging?: string; stagingInstall?: StepJson[] };
}

async function planOf(t: Tree, argv: string[]): Promise<ComponentJson> {
  const r = await xq(t, ["plan", "--json", ...argv]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const plan = JSON.parse(r.stdout) as { components: ComponentJson[] };
  const c = plan.components.find((x) => x.name === "qemu-xen");
  if (!c) throw new Error("no qemu-xen in the plan");
  return c;
}

function runsOf(c: ComponentJson, stage: string): RunsJson {
  const s = c.stages.find((x) => x.name === stage && x.kind === "run");
  if (!s?.runs) throw new Error(`no resolved ${stage} step in the plan`);
  return s.runs;
}

describe("plan --json is what the build runs (QEMU's meson build directory, XQ_FAKE_MESON)", () => {
  let t: Tree;
  beforeAll(async () => {
    t = setup("meson");
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code, r.stderr).toBe(0);
    takeRecords(t);
  }, 60_000);

  it("configure: the plan's argv is the one configure records", async () => {
    const runs = runsOf(await planOf(t, ["qemu-xen"]), "configure");
    takeRecords(t);
    const r = await xq(t, ["configure", "qemu-xen", "--no-cache"]);
    expect(r.code, r.stderr).toBe(0);
    const conf = takeRecords(t).filter((x) => x.tool === "configure");
    expect(conf).toHaveLength(1);
    const rec = conf[0];
    expect(rec && "argv0" in rec ? [rec.argv0, ...rec.argv] : []).toEqual(runs.argv);
    expect(runs.command).toMatch(/^\(cd \S+qemu-xen-build && env -u MAKELEVEL PKG_CONFIG_PATH=\S+ \S+\/configure --enable-xen /);
  }, 60_000);

  it("build: the ninja line the plan resolves after configure is the argv ninja records, with the job slots after argv[0]", async () => {
    const plan = await planOf(t, ["qemu-xen", "-j", "2"]);
    const runs = runsOf(plan, "build");
    expect(runs.name).toBe("ninja");
    expect(runs.jobsFlag).toBe(true);
    // The line to paste: the same argv with the run's job count, NINJA exported as the Makefile does.
    expect(runs.command).toBe(`(cd ${runs.cwd} && env -u MAKELEVEL NINJA=${runs.argv[0]} ${runs.argv[0]} -j2 ${runs.argv.slice(1).join(" ")})`);
    takeRecords(t);
    const r = await xq(t, ["build", "qemu-xen", "-j", "2", "--no-cache", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const ninja = takeRecords(t).filter((x): x is Extract<FixtureRecord, { tool: "ninja" }> => x.tool === "ninja" && !x.argv.includes("-t"));
    expect(ninja.map((x) => x.argv)).toEqual([["-j2", ...runs.argv.slice(1)]]);
    expect(ninja[0]?.cwd).toBe(runs.cwd);
    // ninja's [N/M] lines, read by the qemu-xen recipe, are progress events of the build stage.
    const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { type: string; component?: string; stage?: string; phase?: string; done?: number; total?: number });
    const progress = events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((e) => e.component === "qemu-xen" && e.stage === "build" && e.phase === "ninja")).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: 2, total: 2 });
  }, 60_000);

  it("install: meson install --no-rebuild with the plan's argv and DESTDIR, into --destdir or the artifact's staging directory", async () => {
    const dest = path.join(t.base, "dest");
    // (plan takes no --destdir: its install steps are those of an install to /, its cache lookup's
    // those into the staging directory, which is where `install` puts the files first.)
    const plan = await planOf(t, ["qemu-xen"]);
    const direct = runsOf(plan, "install");
    expect(direct.name).toBe("meson install");
    expect(direct.env.DESTDIR).toBeUndefined();
    takeRecords(t);
    expect((await xq(t, ["install", "qemu-xen", "--destdir", dest, "--no-cache"])).code).toBe(0);
    const meson = takeRecords(t).filter((x): x is Extract<FixtureRecord, { tool: "meson" }> => x.tool === "meson");
    expect(meson.map((x) => [x.cwd, x.argv, x.env.DESTDIR])).toEqual([[direct.cwd, direct.argv.slice(2), dest]]);
    expect(direct.argv.slice(0, 2)).toEqual(["python3", expect.stringMatching(/fake-meson\.py$/)]);

    // With the artifact cache, install goes into the staging directory the plan shows.
    const cached = plan;
    const staged = cached.cache?.stagingInstall?.find((s) => s.kind === "run")?.runs;
    expect(staged?.env.DESTDIR).toBe(cached.cache?.staging);
    const lookup = /\[cache\] +artifact ([0-9a-f]{64}) in (\S+): not there locally$/m.exec((await xq(t, ["plan", "qemu-xen"])).stdout);
    expect(lookup?.[2]).toBe(path.join(t.env.XQBUILD_CACHE_DIR as string, "artifacts"));
    expect((await xq(t, ["install", "qemu-xen", "--destdir", dest])).code).toBe(0);
    const stagedRun = takeRecords(t).filter((x): x is Extract<FixtureRecord, { tool: "meson" }> => x.tool === "meson");
    expect(stagedRun.map((x) => [x.cwd, x.argv, x.env.DESTDIR])).toEqual([[staged?.cwd, staged?.argv.slice(2), cached.cache?.staging]]);
    // The key the plan showed is the one the install stored under, and the plan now finds it.
    const after = (await xq(t, ["plan", "qemu-xen"])).stdout;
    expect(after).toContain(`[cache]      artifact ${lookup?.[1]} in ${lookup?.[2]}: there (install restores it)`);
    expect(existsSync(path.join(lookup?.[2] ?? "/nonexistent", `${lookup?.[1]}.tar`))).toBe(true);
  }, 90_000);
});

describe("plan shows the patch queue and the cache lookups", () => {
  it("names each patch with its sha256, in text and --json", async () => {
    const patches = mkdtempSync(path.join(tmpdir(), "xqbuild-planrun-patches-"));
    const one = "--- a/README.fixture\n+++ b/README.fixture\n@@ -1 +1,2 @@\n x\n+y\n";
    writeFileSync(path.join(patches, "0001-one.patch"), one);
    writeFileSync(path.join(patches, "0002-two.patch"), one.replace("+y", "+z"));
    const t = setup("patches", JSON.stringify({ components: { "qemu-xen": { patches } } }));
    const c = await planOf(t, ["qemu-xen"]);
    const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
    expect(c.patches?.map((p) => [p.name, p.sha256])).toEqual([
      ["0001-one.patch", sha(one)],
      ["0002-two.patch", sha(one.replace("+y", "+z"))],
    ]);
    expect(c.cache?.staging).toBe(path.join(t.root, ".xqbuild", "staging", "qemu-xen"));
    // Before the fetch there is no key to look up: the plan says why.
    const text = await xq(t, ["plan", "qemu-xen"]);
    expect(text.stdout).toContain(`[patch]      0001-one.patch (sha256 ${sha(one)}, git apply -p1)`);
    expect(text.stdout).toMatch(/\[cache\] +no lookup \(not fetched yet/);
    // A dry run: nothing written under the tree's state.
    expect(existsSync(path.join(t.root, ".xqbuild", "artifact-keys"))).toBe(false);
  }, 60_000);
});

describe("progress from ninja's status lines", () => {
  it("the qemu-xen recipe reads [N/M]; other lines and other components give none", () => {
    const read = RECIPES["qemu-xen"].progressOf;
    expect(read?.("[3/1200] Compiling C object libqemu.a.p/foo.c.o")).toEqual({ phase: "ninja", done: 3, total: 1200 });
    expect(read?.("ninja: no work to do.")).toBeUndefined();
    expect(read?.("  [3/4] not at the start")).toBeUndefined();
    expect(RECIPES.seabios.progressOf).toBeUndefined();
  });

  it("is reported at most every 250 ms, and the last step always", () => {
    let now = 0;
    const seen: number[] = [];
    const feed = progressEmitter(RECIPES["qemu-xen"], (p) => seen.push(p.done), () => now);
    for (let i = 1; i <= 100; i++) {
      now = i * 10; // a line every 10 ms: 1 s in all
      feed(`[${i}/100] step ${i}`);
    }
    expect(seen).toEqual([1, 26, 51, 76, 100]);
    const none = progressEmitter(RECIPES.seabios, () => {
      throw new Error("no progress from a recipe without progressOf");
    });
    none("[1/2] x");
  });
});
