// Golden tests: `xqbuild plan --json` against Xen's real make glue (the Xen 4.17 tree from Debian's
// archive, test/support/xen-tree.ts), run against the recording fake upstreams (fixtures/upstream/).
//
// For each configuration below, one private hard-linked copy of the tree gets a .config; Xen's glue
// builds qemu-xen (subdir-all-qemu-xen-dir), SeaBIOS (seabios-dir + subdir-all-seabios-dir) and, where
// the configuration enables it, qemu-xen-traditional (subdir-all-qemu-xen-traditional-dir) in it; then
// `xqbuild plan --json` runs in the SAME tree, with the same .config, the same environment (the one the
// glue's make ran with) and the same VAR=value words, and each command the plan would run is compared
// with what the fake tools recorded of the glue's commands.
//
// Why the plan is computed after the glue, in the same tree: the glue chooses QEMU's trace flag by
// running the fetched tree's scripts/tracetool.py, and xqbuild's plan does the same probe (src/facts.ts),
// which can only answer once a tree is there. Running the plan in the glue's own tree lets it probe
// exactly the checkout the glue probed, with every path identical, so nothing has to be rewritten
// before comparing. The plan only reads the tree; the "defaults" case checks that the glue's outputs
// (checkouts, qemu-xen-build) do not change what xqbuild reads from the configuration: its plan before
// and after the glue ran are equal.
//
// What is compared, per component:
// - qemu-xen: configure's argv[0] (path-normalised) and its whole argument list byte for byte (the
//   glue's recipe continues --extra-cflags="..." over tab-indented lines, and the tabs make leaves
//   there reach configure and its config.status), its cwd (physical), PKG_CONFIG_PATH (path-normalised), MAKELEVEL unset; the tracetool probes
//   (arguments, in order); `make all` in qemu-xen-build with MAKELEVEL unset; the checkout (origin URL,
//   the commit the revision names, `-dir` -> `-dir-remote`) or the local source directory.
// - SeaBIOS: the checkout, seabios-config copied to seabios-dir/.config, `make olddefconfig` and
//   `make all` (directory, goals and command-line variables CC, LD, PYTHON, EXTRAVERSION exactly), and
//   the content of .version.
// - qemu-xen-traditional: xen-setup's argv (exactly), cwd and the exported PREFIX, XEN_SCRIPT_DIR,
//   XEN_ROOT (normalised), CONFIG_BLKTAP1, BUILDING_QEMU_TRAD, QEMU_ROOT (unset vs set), the same for
//   `make all`, and the checkout.
//
// Known differences that are NOT bugs (asserted as such in one place: "known differences", at the end):
//
// | difference | Xen's glue | xqbuild | why it is not a bug |
// |---|---|---|---|
// | XEN_ROOT exported to qemu-xen-traditional; the spelling of configure's and tracetool's $0 and of PKG_CONFIG_PATH | `<root>/tools/..`, `<root>/tools/../tools/...` | `<root>`, `<root>/tools/...` | the same paths; compared normalised |
// | top-level `make VAR=value` | reaches configure's environment and every component's make (MAKEFLAGS `w -- VAR=value`) | not passed on | a side effect of recursive make, not an interface; stripped from the glue's records |
// | a branch name as *_REVISION (`stable-4.17`) | fails: `git checkout -b dummy stable-4.17` in a fresh clone | plans and fetches it | xqbuild does what was asked |
//
// PKG_CONFIG_PATH is NOT one of them: the glue's own recipe reads it (`$${PKG_CONFIG_PATH:+:...}`), so
// the value make exports for it (from its command line, or from .config over the environment's) is an
// input of the glue. The two "PKG_CONFIG_PATH ..." cases fail until xqbuild uses that value too.
//
// make's own level (MAKELEVEL) of the SeaBIOS and qemu-xen-traditional makes is not compared: the glue
// runs them from a make, xqbuild directly. For qemu-xen, where the glue unsets MAKELEVEL on purpose, it
// is.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import type { ComponentName } from "../../src/components/names.js";
import { memoryOutput } from "../../src/report/output.js";
import { git, makeUpstreamRepos } from "../support/git.js";
import type { UpstreamRepos } from "../support/git.js";
import { glueEnv, runGlue } from "../support/glue.js";
import type { GlueComponent, GlueResult } from "../support/glue.js";
import { configureRecords, makeRecords, readRecords, tracetoolRecords, xenSetupRecords } from "../support/records.js";
import type { MakeRecord, RecordedEnv } from "../support/records.js";
import { copyXenTree, realXenTree } from "../support/xen-tree.js";
import { oneStep, planComponent, stepsOf, type JsonComponent, type JsonStepOf, type PlanJson } from "../support/plan-json.js";

// ---------------------------------------------------------------------------------------------------
// The configurations

type Env = Record<string, string | undefined>;

interface Case {
  readonly name: string;
  /** .config lines after the fixture URLs */
  readonly config?: readonly string[];
  /** URL variables not to write into .config (a legacy alias or GIT_HTTP provides them) */
  readonly omitUrls?: readonly ("QEMU_UPSTREAM_URL" | "SEABIOS_UPSTREAM_URL" | "QEMU_TRADITIONAL_URL")[];
  /** environment of both the glue's make and xqbuild */
  readonly env?: Env;
  /** VAR=value words on both command lines */
  readonly args?: readonly string[];
  /** also build qemu-xen-traditional (the configuration enables it) */
  readonly trad?: boolean;
  /** extra .config lines computed from the fixtures */
  readonly dynamicConfig?: (ctx: { repos: UpstreamRepos; work: string }) => string[];
  /** prepares the tree copy after .config is written, before the glue runs */
  readonly prepare?: (root: string) => void;
  /** what the glue must have done, so that the case really exercises what its name says */
  readonly glueSanity?: (run: CaseRun) => void;
}

let work: string;
let repos: UpstreamRepos;
const localCheckouts = new Set<string>();

/** A checkout of a fixture repository outside any Xen tree (for QEMU_UPSTREAM_LOC, CONFIG_QEMU), made once. */
function localCheckout(which: "qemuXen" | "qemuTraditional", tag: string): string {
  const dir = path.join(work, `local-${repos[which].name}`);
  if (!localCheckouts.has(dir)) {
    git(["clone", "-q", repos[which].path, dir]);
    git(["checkout", "-q", "--detach", tag], { cwd: dir });
    localCheckouts.add(dir);
  }
  return dir;
}
const localQemu = (): string => localCheckout("qemuXen", "qemu-xen-4.17.3");
const localTrad = (): string => localCheckout("qemuTraditional", "xen-4.17.3");

const LEGACY = "legacy SEABIOS_UPSTREAM_TAG, QEMU_REMOTE, QEMU_TAG with CONFIG_QEMU_TRAD=y on the command line";
const COMMAND_LINE = "values from the command line (over .config)";

const CASES: readonly Case[] = [
  {
    name: "defaults",
    glueSanity: (r) => {
      expect(glueConfigure(r).argv).toContain("--enable-trace-backends=log");
      expect(glueConfigure(r).argv.at(-1)).toBe("--cpu=x86_64");
    },
  },
  {
    name: "GIT_HTTP=y (fixture URLs in .config)",
    config: ["GIT_HTTP = y"],
    glueSanity: (r) => {
      expect(git(["remote", "get-url", "origin"], { cwd: path.join(r.root, "tools/qemu-xen-dir-remote") })).toBe(repos.qemuXen.url);
      expect(git(["remote", "get-url", "origin"], { cwd: path.join(r.root, "tools/firmware/seabios-dir-remote") })).toBe(repos.seabios.url);
    },
  },
  {
    name: LEGACY,
    omitUrls: ["QEMU_TRADITIONAL_URL"],
    dynamicConfig: ({ repos: r }) => [`SEABIOS_UPSTREAM_TAG = rel-1.16.2`, `QEMU_REMOTE = ${r.qemuTraditional.url}`, `QEMU_TAG = origin/stable-4.17`],
    args: ["CONFIG_QEMU_TRAD=y"],
    trad: true,
    glueSanity: (r) => {
      expect(fs.readFileSync(path.join(r.root, "tools/firmware/seabios-dir/.version"), "utf8")).toBe("rel-1.16.2\n");
      expect(fs.readFileSync(path.join(r.root, "tools/qemu-xen-traditional-dir/VERSION"), "utf8")).toBe("0.10.2-stable\n");
    },
  },
  {
    name: "CONFIG_9PFS=y in .config",
    config: ["CONFIG_9PFS = y"],
    glueSanity: (r) => expect(glueConfigure(r).argv.at(-1)).toBe("--enable-virtfs"),
  },
  {
    name: "CONFIG_9PFS=n in .config",
    config: ["CONFIG_9PFS = n"],
    glueSanity: (r) => expect(glueConfigure(r).argv.at(-1)).toBe("--disable-virtfs"),
  },
  {
    name: "debug=y in .config",
    config: ["debug = y"],
    glueSanity: (r) => expect(glueConfigure(r).argv[2]).toBe("--enable-debug"),
  },
  {
    name: "XEN_TOOLS_RPATH=y (qemu-xen and qemu-xen-traditional, enabled in .config)",
    config: ["XEN_TOOLS_RPATH = y", "CONFIG_QEMU_TRAD = y"],
    trad: true,
    glueSanity: (r) => {
      expect(glueConfigure(r).argv).toContain("--extra-ldflags=-Wl,-rpath,/usr/local/lib/xen/lib:/usr/local/lib");
      expect(glueXenSetup(r).argv).toContain("--extra-ldflags=-Wl,-rpath,/usr/local/lib");
    },
  },
  {
    name: "EXTRA_CFLAGS_QEMU_XEN and CONFIG_QEMUU_EXTRA_ARGS (a quoted argument with a blank) in .config",
    config: ["EXTRA_CFLAGS_QEMU_XEN = -DXQ_ONE=1 -O1", `CONFIG_QEMUU_EXTRA_ARGS = --enable-spice --extra-x="a b" --with-z='c  d'`],
    glueSanity: (r) => {
      const argv = glueConfigure(r).argv;
      expect(argv).toContain("--extra-x=a b");
      expect(argv).toContain("--with-z=c  d");
      expect(argv.find((a) => a.startsWith("--extra-cflags="))).toMatch(/-DXQ_ONE=1 -O1$/);
    },
  },
  {
    // The glue's shell expands an unquoted glob in the recipe line (pathname expansion, in
    // qemu-xen-build); a pattern that matches nothing stays as written, a quoted one is not expanded.
    name: "CONFIG_QEMUU_EXTRA_ARGS with globs (one matching files, one matching none, one quoted)",
    dynamicConfig: ({ work: w }) => {
      const dir = path.join(w, "globbed");
      fs.mkdirSync(dir, { recursive: true });
      for (const f of ["host.conf", "hostname", "hosts", ".hostdot"]) fs.writeFileSync(path.join(dir, f), "");
      return [`CONFIG_QEMUU_EXTRA_ARGS = --xq-glob ${dir}/host* --xq-none=${dir}/none* '${dir}/h*'`];
    },
    glueSanity: (r) => {
      const dir = path.join(work, "globbed");
      const argv = glueConfigure(r).argv;
      const at = argv.indexOf("--xq-glob");
      expect(argv.slice(at, at + 6)).toEqual(["--xq-glob", `${dir}/host.conf`, `${dir}/hostname`, `${dir}/hosts`, `--xq-none=${dir}/none*`, `${dir}/h*`]);
    },
  },
  {
    name: "a local QEMU_UPSTREAM_LOC directory outside the tree",
    dynamicConfig: () => [`QEMU_UPSTREAM_LOC = ${localQemu()}`],
    glueSanity: (r) => {
      expect(glueConfigure(r).argv0).toBe(`${localQemu()}/configure`);
      expect(tracetoolRecords(r.glue.records)[0]?.argv0).toBe(`${localQemu()}/scripts/tracetool.py`);
    },
  },
  {
    // The glue runs xen-setup from $(QEMU_ROOT) (exported) in the empty tools/qemu-xen-traditional-dir
    // it makes, then `make all` there. The real xen-setup prepares that out-of-tree build directory;
    // the fake one does not, so a one-line Makefile including the source's stands in for it.
    name: "a local qemu-xen-traditional directory (legacy CONFIG_QEMU): QEMU_ROOT exported",
    config: ["CONFIG_QEMU_TRAD = y"],
    dynamicConfig: () => [`CONFIG_QEMU = ${localTrad()}`],
    trad: true,
    prepare: (root) => {
      const dir = path.join(root, "tools/qemu-xen-traditional-dir");
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "Makefile"), `include ${localTrad()}/Makefile\n`);
    },
    glueSanity: (r) => {
      expect(glueXenSetup(r).argv0).toBe(`${localTrad()}/xen-setup`);
      expect(glueXenSetup(r).env["QEMU_ROOT"]).toBe(localTrad());
    },
  },
  {
    // What make lets the environment override: only what is not assigned with = or := before it is
    // read. EXTRA_CFLAGS_QEMU_XEN (nothing assigns it), debug (tools/Rules.mk: ?=) and
    // SEABIOS_EXTRAVERSION (tools/firmware/Makefile: ?=) are taken from the environment; PYTHON and
    // CONFIG_9PFS are not (config/Tools.mk assigns them with :=). PKG_CONFIG_PATH is appended to.
    name: "values from the environment",
    env: {
      EXTRA_CFLAGS_QEMU_XEN: "-DXQ_FROM_ENV=1",
      debug: "y",
      SEABIOS_EXTRAVERSION: "-FromEnv",
      PYTHON: "/nonexistent/python-from-env",
      CONFIG_9PFS: "y",
      PKG_CONFIG_PATH: "/opt/xq/pkgconfig",
    },
    glueSanity: (r) => {
      const argv = glueConfigure(r).argv;
      expect(argv[2]).toBe("--enable-debug");
      expect(argv).toContain("--python=python3");
      expect(argv).not.toContain("--enable-virtfs");
      expect(argv.find((a) => a.startsWith("--extra-cflags="))).toMatch(/-DXQ_FROM_ENV=1$/);
      expect(makeRecords(r.glue.records, { dir: "seabios", target: "all" })[0]?.vars["EXTRAVERSION"]).toBe("-FromEnv");
    },
  },
  {
    name: COMMAND_LINE,
    config: ["debug = n", "CONFIG_9PFS = n"],
    args: ["debug=y", "CONFIG_9PFS=y"],
    glueSanity: (r) => {
      const argv = glueConfigure(r).argv;
      expect(argv[2]).toBe("--enable-debug");
      expect(argv.at(-1)).toBe("--enable-virtfs");
    },
  },
  {
    // The glue's recipe appends "$PKG_CONFIG_PATH" of its shell, and make puts a command-line variable
    // into every recipe's environment (over the environment's value).
    name: "PKG_CONFIG_PATH on the command line (over the environment's)",
    env: { PKG_CONFIG_PATH: "/opt/xq/env-pkgconfig" },
    args: ["PKG_CONFIG_PATH=/opt/xq/cl-pkgconfig"],
    glueSanity: (r) => expect(normPathList(glueConfigure(r).env["PKG_CONFIG_PATH"] ?? null)).toBe(`${r.root}/tools/pkg-config:/opt/xq/cl-pkgconfig`),
  },
  {
    // A variable that came from the environment is exported to recipes with the value the makefiles
    // (here .config) gave it.
    name: "PKG_CONFIG_PATH in .config (over the environment's)",
    env: { PKG_CONFIG_PATH: "/opt/xq/env-pkgconfig" },
    config: ["PKG_CONFIG_PATH = /opt/xq/config-pkgconfig"],
    glueSanity: (r) => expect(normPathList(glueConfigure(r).env["PKG_CONFIG_PATH"] ?? null)).toBe(`${r.root}/tools/pkg-config:/opt/xq/config-pkgconfig`),
  },
  {
    name: "XQ_FAKE_TRACE=stderr (tracetool accepts only stderr)",
    env: { XQ_FAKE_TRACE: "stderr" },
    glueSanity: (r) => expect(glueConfigure(r).argv[2]).toBe("--enable-trace-backends=stderr"),
  },
  {
    name: "XQ_FAKE_TRACE=none (tracetool accepts no backend)",
    env: { XQ_FAKE_TRACE: "none" },
    glueSanity: (r) => expect(glueConfigure(r).argv.filter((a) => a.startsWith("--enable-trace"))).toEqual([]),
  },
];

// ---------------------------------------------------------------------------------------------------
// Running a case: the glue, then xqbuild in the same tree

interface CaseRun {
  readonly c: Case;
  readonly root: string;
  readonly glue: GlueResult;
  /** the environment xqbuild was given: the glue's, plus XQ_RECORD for its own tracetool probe */
  readonly xqEnv: Env;
  readonly plan: PlanJson;
  /** the plan computed before the glue ran (defaults case only) */
  readonly planBefore?: PlanJson;
  /** what xqbuild's own tracetool probe recorded */
  readonly xqRecords: ReturnType<typeof readRecords>;
  readonly xqStderr: string;
}

function writeConfig(root: string, c: Case): void {
  const urls: Record<string, string> = {
    QEMU_UPSTREAM_URL: repos.qemuXen.url,
    SEABIOS_UPSTREAM_URL: repos.seabios.url,
    QEMU_TRADITIONAL_URL: repos.qemuTraditional.url,
  };
  const lines = Object.entries(urls)
    .filter(([k]) => !((c.omitUrls ?? []) as readonly string[]).includes(k))
    .map(([k, v]) => `${k} = ${v}`);
  lines.push(...(c.config ?? []), ...(c.dynamicConfig?.({ repos, work }) ?? []));
  fs.writeFileSync(path.join(root, ".config"), `${lines.join("\n")}\n`);
}

async function xq(root: string, argv: readonly string[], env: Env): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = memoryOutput();
  const code = await main([...argv, "-C", root], { cwd: root, env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

async function xqPlan(root: string, c: Case, env: Env): Promise<PlanJson> {
  const r = await xq(root, ["plan", "--json", ...(c.args ?? [])], env);
  expect(r.code, `xqbuild plan failed:\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

function explain(res: GlueResult): string {
  return `make exited ${res.code}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;
}

const runs = new Map<string, Promise<CaseRun>>();

/** Runs a case once per file (the known-differences tests reuse the runs of the cases). */
function runCase(name: string): Promise<CaseRun> {
  const c = CASES.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no case ${name}`);
  let p = runs.get(name);
  if (p === undefined) {
    p = doRunCase(c, CASES.indexOf(c));
    runs.set(name, p);
  }
  return p;
}

async function doRunCase(c: Case, index: number): Promise<CaseRun> {
  const root = copyXenTree(path.join(work, `case-${index}`), { hardlink: true });
  writeConfig(root, c);
  c.prepare?.(root);
  const xqRecordFile = path.join(work, `case-${index}.xq-records.jsonl`);
  const components: GlueComponent[] = c.trad ? ["qemu-xen", "seabios", "qemu-xen-traditional"] : ["qemu-xen", "seabios"];
  let planBefore: PlanJson | undefined;
  if (index === 0) planBefore = await xqPlan(root, c, { ...glueEnv({ env: c.env ?? {} }), XQ_RECORD: xqRecordFile });
  fs.rmSync(xqRecordFile, { force: true });
  const glue = await runGlue(root, { components, env: c.env ?? {}, makeArgs: c.args ?? [] });
  expect(glue.code, explain(glue)).toBe(0);
  // The same environment the glue's make had (runGlue's, without its XQ_RECORD), so that xqbuild's
  // make evaluation and tracetool probe see what the glue saw.
  const xqEnv: Env = { ...glue.env, XQ_RECORD: xqRecordFile };
  const r = await xq(root, ["plan", "--json", ...(c.args ?? [])], xqEnv);
  expect(r.code, `xqbuild plan failed:\n${r.stderr}`).toBe(0);
  const plan = JSON.parse(r.stdout) as PlanJson;
  return { c, root, glue, xqEnv, plan, ...(planBefore ? { planBefore } : {}), xqRecords: readRecords(xqRecordFile), xqStderr: r.stderr };
}

// ---------------------------------------------------------------------------------------------------
// Helpers for comparing

/** A colon-separated list of paths, each normalised (`<root>/tools/../tools/pkg-config`). */
function normPathList(v: string | null): string | null {
  return v === null ? null : v
    .split(":")
    .map((p) => (p === "" ? p : path.normalize(p)))
    .join(":");
}

function component(run: CaseRun, name: ComponentName): JsonComponent {
  return planComponent(run.plan, name);
}

function glueConfigure(run: CaseRun) {
  const recs = configureRecords(run.glue.records);
  if (recs.length !== 1) throw new Error(`the glue ran configure ${recs.length} times\n${explain(run.glue)}`);
  return recs[0] as NonNullable<(typeof recs)[0]>;
}

function glueXenSetup(run: CaseRun) {
  const recs = xenSetupRecords(run.glue.records);
  if (recs.length !== 1) throw new Error(`the glue ran xen-setup ${recs.length} times\n${explain(run.glue)}`);
  return recs[0] as NonNullable<(typeof recs)[0]>;
}

/** An environment variable as a run step of the plan leaves it: set, unset, or inherited from xqbuild's. */
function effectiveEnv(run: CaseRun, step: JsonStepOf<"run">, name: string): string | null {
  if (Object.prototype.hasOwnProperty.call(step.env, name)) return step.env[name] ?? null;
  return run.xqEnv[name] ?? null;
}

/** The names of the VAR=value words on the glue's top-level make command line (they leak, see above). */
function leakedNames(run: CaseRun): Set<string> {
  return new Set((run.c.args ?? []).map((a) => a.slice(0, a.indexOf("="))));
}

interface MakeCall {
  /** physical directory the make ran in */
  dir: string;
  goals: string[];
  vars: Record<string, string | null>;
}

/** What the glue's make of a fake tree was given, without the variables leaked through MAKEFLAGS. */
function glueMakeCall(run: CaseRun, rec: MakeRecord): MakeCall {
  const leaked = leakedNames(run);
  const vars: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(rec.vars)) if (!leaked.has(k)) vars[k] = v;
  return { dir: rec.cwd, goals: rec.goals.split(/\s+/).filter(Boolean), vars };
}

/** The same for a `make ...` step of the plan. */
function planMakeCall(step: JsonStepOf<"run">): MakeCall {
  const [prog, ...rest] = step.argv;
  expect(prog).toBe("make");
  let dir = step.cwd;
  const goals: string[] = [];
  const vars: Record<string, string | null> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "-C") {
      dir = path.resolve(dir, rest[++i] ?? "");
    } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) {
      vars[a.slice(0, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
    } else if (a.startsWith("-")) {
      throw new Error(`unexpected make option in the plan: ${a}`);
    } else {
      goals.push(a);
    }
  }
  return { dir: fs.realpathSync(dir), goals, vars };
}

/** The plan's checkout against the clone the glue made (scripts/git-checkout.sh). */
function compareCheckout(step: JsonStepOf<"git-checkout">, root: string, link: string): void {
  expect(step.linkDir).toBe(path.join(root, link));
  expect(step.remoteDir).toBe(path.join(root, `${link}-remote`));
  // the glue's clone: its origin is the URL the glue cloned, its HEAD the commit it checked out
  expect(git(["remote", "get-url", "origin"], { cwd: step.remoteDir }), `${link}: URL`).toBe(step.url);
  expect(git(["rev-parse", `${step.revision}^{commit}`], { cwd: step.remoteDir }), `${link}: revision ${step.revision}`).toBe(
    git(["rev-parse", "HEAD"], { cwd: step.remoteDir }),
  );
  // the layout: -dir is a relative symlink to -dir-remote, no leftovers
  expect(fs.lstatSync(step.linkDir).isSymbolicLink()).toBe(true);
  expect(fs.readlinkSync(step.linkDir)).toBe(path.basename(step.remoteDir));
  expect(fs.statSync(step.remoteDir).isDirectory()).toBe(true);
  expect(fs.existsSync(`${step.remoteDir}.tmp`)).toBe(false);
}

// ---------------------------------------------------------------------------------------------------
// Per component

function compareQemuXen(run: CaseRun): void {
  const comp = component(run, "qemu-xen");
  expect(comp.enabled, comp.reason).toBe(true);
  const conf = glueConfigure(run);
  const root = run.root;

  // where the source comes from
  const src = comp.stages.find((s) => s.name === "fetch");
  if (src === undefined) throw new Error("qemu-xen: no fetch step");
  if (src.kind === "git-checkout") {
    compareCheckout(src, root, "tools/qemu-xen-dir");
  } else if (src.kind === "local-source") {
    expect(path.normalize(src.dir)).toBe(conf.source);
    // qemu-xen-dir-find's `mkdir -p qemu-xen-dir`: a real directory, no clone
    expect(src.mkdir).toBe(path.join(root, "tools/qemu-xen-dir"));
    expect(fs.lstatSync(path.join(root, "tools/qemu-xen-dir")).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(root, "tools/qemu-xen-dir-remote"))).toBe(false);
  } else {
    throw new Error(`qemu-xen: unexpected source step ${src.kind}`);
  }
  expect(path.normalize(comp.sourceDir)).toBe(conf.source);

  // the trace backend probe: the same questions, in the same order
  const glueProbes = tracetoolRecords(run.glue.records);
  const xqProbes = tracetoolRecords(run.xqRecords);
  expect(xqProbes.map((r) => r.argv), "tracetool probes").toEqual(glueProbes.map((r) => r.argv));
  expect(xqProbes.map((r) => path.normalize(r.argv0))).toEqual(glueProbes.map((r) => path.normalize(r.argv0)));

  // configure
  const step = oneStep(comp, "configure", "run", "configure");
  const [argv0, ...args] = step.argv;
  expect(path.normalize(argv0 ?? ""), "configure's path").toBe(path.normalize(conf.argv0));
  expect(args, "configure's arguments, byte for byte").toEqual(conf.argv);
  expect(fs.realpathSync(step.cwd)).toBe(conf.cwd);
  expect(conf.env["MAKELEVEL"]).toBeNull();
  expect(step.env["MAKELEVEL"], "configure runs with MAKELEVEL unset").toBeNull();

  // make all in qemu-xen-build, MAKELEVEL unset
  const glueMakes = makeRecords(run.glue.records, { dir: "qemu-xen-build" });
  const planMakes = stepsOf(comp, "build", "run");
  expect(planMakes.map(planMakeCall)).toEqual(glueMakes.map((r) => glueMakeCall(run, r)));
  expect(glueMakes.map((r) => r.makelevel)).toEqual(["0"]);
  expect(planMakes.map((s) => s.env["MAKELEVEL"])).toEqual([null]);
  expect(fs.realpathSync(comp.buildDir)).toBe(conf.cwd);
  expect(comp.buildDir).toBe(path.join(root, "tools/qemu-xen-build"));

  // last, so that a difference here does not hide the checks above
  expect(normPathList(effectiveEnv(run, step, "PKG_CONFIG_PATH")), "configure's PKG_CONFIG_PATH").toBe(normPathList(conf.env["PKG_CONFIG_PATH"] ?? null));
}

function compareSeabios(run: CaseRun): void {
  const comp = component(run, "seabios");
  expect(comp.enabled, comp.reason).toBe(true);
  const root = run.root;
  const dir = path.join(root, "tools/firmware/seabios-dir");

  // the glue's seabios-dir target, in order: clone, copy .config, olddefconfig, .version
  const fetch = comp.stages.filter((s) => s.name === "fetch");
  expect(fetch.map((s) => s.kind)).toEqual(["git-checkout", "copy", "run", "write"]);
  const checkout = oneStep(comp, "fetch", "git-checkout");
  compareCheckout(checkout, root, "tools/firmware/seabios-dir");
  expect(comp.sourceDir).toBe(dir);

  const copy = oneStep(comp, "fetch", "copy");
  expect(copy.from).toBe(path.join(root, "tools/firmware/seabios-config")); // `cp seabios-config seabios-dir/.config`
  expect(copy.to).toBe(path.join(dir, ".config"));
  // the fake olddefconfig appends one marker line to what was copied
  expect(fs.readFileSync(copy.to, "utf8")).toBe(`${fs.readFileSync(copy.from, "utf8")}# xq-fake-olddefconfig\n`);

  const olddef = oneStep(comp, "fetch", "run");
  const glueOlddef = makeRecords(run.glue.records, { dir: "seabios", target: "olddefconfig" });
  expect([planMakeCall(olddef)], "olddefconfig").toEqual(glueOlddef.map((r) => glueMakeCall(run, r)));

  const version = oneStep(comp, "fetch", "write");
  expect(version.path).toBe(path.join(dir, ".version"));
  expect(version.content, ".version").toBe(fs.readFileSync(version.path, "utf8"));

  const glueAll = makeRecords(run.glue.records, { dir: "seabios", target: "all" });
  expect(stepsOf(comp, "build", "run").map(planMakeCall), "make all").toEqual(glueAll.map((r) => glueMakeCall(run, r)));
  expect(Object.keys(glueAll[0]?.vars ?? {}).filter((k) => !leakedNames(run).has(k)).sort()).toEqual(["CC", "EXTRAVERSION", "LD", "PYTHON"]);
}

const TRAD_ENV = ["PREFIX", "XEN_SCRIPT_DIR", "XEN_ROOT", "CONFIG_BLKTAP1", "BUILDING_QEMU_TRAD", "QEMU_ROOT"] as const;

function tradEnvOf(get: (name: string) => string | null): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of TRAD_ENV) {
    const v = get(name);
    out[name] = name === "XEN_ROOT" && v !== null ? path.normalize(v) : v;
  }
  return out;
}

function compareTraditional(run: CaseRun): void {
  const comp = component(run, "qemu-xen-traditional");
  expect(comp.enabled, comp.reason).toBe(run.c.trad === true);
  if (!run.c.trad) return;
  const root = run.root;
  const setup = glueXenSetup(run);
  const link = path.join(root, "tools/qemu-xen-traditional-dir");
  const src = comp.stages.find((s) => s.name === "fetch");
  if (src?.kind === "git-checkout") {
    compareCheckout(src, root, "tools/qemu-xen-traditional-dir");
    expect(comp.sourceDir).toBe(link);
  } else if (src?.kind === "local-source") {
    // qemu-xen-traditional-dir-find's `mkdir -p qemu-xen-traditional-dir`; xen-setup comes from QEMU_ROOT
    expect(src.dir).toBe(setup.env["QEMU_ROOT"]);
    expect(src.mkdir).toBe(link);
    expect(fs.lstatSync(link).isDirectory()).toBe(true);
    expect(fs.existsSync(`${link}-remote`)).toBe(false);
    expect(comp.sourceDir).toBe(src.dir);
  } else {
    throw new Error(`qemu-xen-traditional: unexpected source step ${src?.kind ?? "(none)"}`);
  }
  expect(comp.buildDir).toBe(link);

  const step = oneStep(comp, "configure", "run", "xen-setup");
  expect(step.argv, "xen-setup's argv").toEqual([setup.argv0, ...setup.argv]);
  expect(fs.realpathSync(step.cwd)).toBe(setup.cwd);
  expect(tradEnvOf((n) => effectiveEnv(run, step, n)), "xen-setup's environment").toEqual(tradEnvOf((n) => setup.env[n] ?? null));

  const glueMakes = makeRecords(run.glue.records, { dir: "qemu-xen-traditional" });
  const planMakes = stepsOf(comp, "build", "run");
  expect(glueMakes.map((r) => r.target)).toEqual(["all"]);
  expect(planMakes.map(planMakeCall), "make all").toEqual(glueMakes.map((r) => glueMakeCall(run, r)));
  expect(planMakes.map((s) => tradEnvOf((n) => effectiveEnv(run, s, n)))).toEqual(glueMakes.map((r) => tradEnvOf((n) => (r.env as RecordedEnv)[n] ?? null)));
}

// ---------------------------------------------------------------------------------------------------

const started = Date.now();

beforeAll(() => {
  realXenTree();
  work = fs.mkdtempSync(path.join(os.tmpdir(), "xq-glue-parity-"));
  repos = makeUpstreamRepos(path.join(work, "upstream"));
}, 900_000);

afterAll(() => {
  if (work && !process.env["XQ_PARITY_KEEP"]) fs.rmSync(work, { recursive: true, force: true });
  if (process.env["XQ_PARITY_TIMING"]) process.stderr.write(`glue-parity: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});

describe("xqbuild plan --json matches Xen 4.17's glue", () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it("the glue did what the configuration asks", async () => {
        const run = await runCase(c.name);
        c.glueSanity?.(run);
      }, 60_000);
      it("qemu-xen: source, tracetool probes, configure argv, cwd, environment, make all", async () => {
        compareQemuXen(await runCase(c.name));
      }, 60_000);
      it("seabios: source, .config, olddefconfig, .version, make all", async () => {
        compareSeabios(await runCase(c.name));
      }, 60_000);
      it(c.trad ? "qemu-xen-traditional: source, xen-setup argv, cwd, exports, make all" : "qemu-xen-traditional: disabled in both", async () => {
        compareTraditional(await runCase(c.name));
      }, 60_000);
    });
  }

  it("the glue's outputs do not change what xqbuild reads (plan before the glue = plan after, defaults)", async () => {
    const run = await runCase("defaults");
    expect(run.plan).toEqual(run.planBefore);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------
// GIT_HTTP: the URL variables as make resolves them vs. `xqbuild config --json`

const URL_VARS_TOOLS = ["QEMU_UPSTREAM_URL", "QEMU_UPSTREAM_LOC", "QEMU_TRADITIONAL_URL", "QEMU_TRADITIONAL_LOC", "SEABIOS_UPSTREAM_URL"];
const URL_VARS_FIRMWARE = ["SEABIOS_UPSTREAM_URL"];

/** Values of make variables as the glue's make sees them in a directory of the tree. */
function makePrint(root: string, sub: string, names: readonly string[], env: NodeJS.ProcessEnv, args: readonly string[]): Record<string, string> {
  const rule = `xq-print: ; @: $(foreach v,${names.join(" ")},$(info XQPRINT $(v)=$($(v))))`;
  const res = spawnSync("make", ["-s", "--no-print-directory", "-C", sub, `--eval=${rule}`, "xq-print", ...args], { cwd: root, env, encoding: "utf8" });
  expect(res.status, res.stderr).toBe(0);
  const out: Record<string, string> = {};
  for (const line of res.stdout.split("\n")) {
    const m = /^XQPRINT ([A-Za-z_0-9]+)=(.*)$/.exec(line);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

describe("GIT_HTTP=y: resolved URL variables, xqbuild config --json vs. make", () => {
  const variants: Array<{ how: string; config: string[]; env: Env; args: string[] }> = [
    { how: "in .config", config: ["GIT_HTTP = y"], env: {}, args: [] },
    { how: "in the environment", config: [], env: { GIT_HTTP: "y" }, args: [] },
    { how: "on the command line", config: [], env: {}, args: ["GIT_HTTP=y"] },
  ];
  let root: string;
  beforeAll(() => {
    root = copyXenTree(path.join(work, "git-http"), { hardlink: true });
  });
  for (const v of variants) {
    it(`GIT_HTTP=y ${v.how}: the xenbits http URLs, as make has them`, async () => {
      fs.writeFileSync(path.join(root, ".config"), v.config.map((l) => `${l}\n`).join(""));
      const env = glueEnv({ env: v.env });
      const fromMake = {
        ...makePrint(root, "tools", URL_VARS_TOOLS, env, v.args),
        ...makePrint(root, "tools/firmware", URL_VARS_FIRMWARE, env, v.args),
      };
      expect(fromMake["QEMU_UPSTREAM_URL"]).toBe("http://xenbits.xen.org/git-http/qemu-xen.git");
      expect(fromMake["SEABIOS_UPSTREAM_URL"]).toBe("http://xenbits.xen.org/git-http/seabios.git");
      const r = await xq(root, ["config", "--json", ...URL_VARS_TOOLS, ...v.args], env);
      expect(r.code, r.stderr).toBe(0);
      const entries = JSON.parse(r.stdout) as Record<string, { value: string }>;
      const fromXq = Object.fromEntries(Object.entries(entries).map(([k, e]) => [k, e.value]));
      expect(fromXq).toEqual(fromMake);
    }, 60_000);
  }
});

// ---------------------------------------------------------------------------------------------------
// Known differences, not bugs (the table at the top of this file)

describe("known differences (documented, not bugs)", () => {
  it("XEN_ROOT: the glue exports <root>/tools/.. to qemu-xen-traditional, xqbuild the normalised root", async () => {
    const run = await runCase(LEGACY);
    const setup = glueXenSetup(run);
    expect(setup.env["XEN_ROOT"]).toBe(`${run.root}/tools/..`);
    const step = oneStep(component(run, "qemu-xen-traditional"), "configure", "run", "xen-setup");
    expect(step.env["XEN_ROOT"]).toBe(run.root);
    // and the glue's spelling of the qemu-xen paths
    expect(glueConfigure(run).argv0).toBe(`${run.root}/tools/../tools/qemu-xen-dir/configure`);
    expect(glueConfigure(run).env["PKG_CONFIG_PATH"]).toBe(`${run.root}/tools/../tools/pkg-config`);
    expect(oneStep(component(run, "qemu-xen"), "configure", "run").argv[0]).toBe(`${run.root}/tools/qemu-xen-dir/configure`);
  }, 60_000);

  it("MAKEFLAGS: the glue leaks `make VAR=value` into configure's environment and every component's make; xqbuild does not", async () => {
    const run = await runCase(COMMAND_LINE);
    const conf = glueConfigure(run);
    expect(conf.env["MAKEFLAGS"]).toBe("w -- CONFIG_9PFS=y debug=y");
    expect(makeRecords(run.glue.records, { dir: "qemu-xen-build" })[0]?.vars).toEqual({ CONFIG_9PFS: "y", debug: "y" });
    expect(makeRecords(run.glue.records, { dir: "seabios", target: "all" })[0]?.vars).toMatchObject({ CONFIG_9PFS: "y", debug: "y" });
    const qemu = component(run, "qemu-xen");
    const configure = oneStep(qemu, "configure", "run");
    expect(effectiveEnv(run, configure, "MAKEFLAGS")).toBeNull();
    expect(oneStep(qemu, "build", "run").argv).toEqual(["make", "all"]);
    const seabiosAll = oneStep(component(run, "seabios"), "build", "run");
    expect(seabiosAll.argv.some((a) => a.startsWith("debug=") || a.startsWith("CONFIG_9PFS="))).toBe(false);
  }, 60_000);

  it("a branch name as QEMU_UPSTREAM_REVISION: the glue fails, xqbuild plans and fetches it", async () => {
    const root = copyXenTree(path.join(work, "branch"), { hardlink: true });
    writeConfig(root, { name: "branch", config: ["QEMU_UPSTREAM_REVISION = stable-4.17"] });
    const glue = await runGlue(root, { components: ["qemu-xen"] });
    expect(glue.code).toBe(2);
    expect(glue.stderr).toContain("fatal: 'stable-4.17' is not a commit and a branch 'dummy' cannot be created from it");
    const env: Env = { ...glue.env, XQBUILD_CACHE_DIR: path.join(work, "branch-cache") };
    const r = await xq(root, ["plan", "--json", "qemu-xen"], env);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    const [qemu] = plan.components;
    if (qemu === undefined) throw new Error("no qemu-xen in the plan");
    const checkout = oneStep(qemu, "fetch", "git-checkout");
    expect(checkout.revision).toBe("stable-4.17");
    // the glue left its half-made clone behind; xqbuild fetches the branch anyway
    const f = await xq(root, ["fetch", "qemu-xen"], env);
    expect(f.code, f.stderr).toBe(0);
    expect(git(["rev-parse", "HEAD"], { cwd: checkout.remoteDir })).toBe(repos.qemuXen.refs["stable-4.17"]);
    expect(fs.readlinkSync(checkout.linkDir)).toBe("qemu-xen-dir-remote");
  }, 60_000);
});
