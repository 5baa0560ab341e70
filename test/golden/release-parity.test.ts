// Golden tests, one per Xen release: `xqbuild plan --json --standalone --xen-version X.Y` against what
// that release's own make glue ran, as scripts/record-release-glue.mjs recorded it into
// test/golden/releases/<release>.json from the release's tag of xen-project/xen (the header of each
// file names the tag and commit). Only Debian's Xen 4.17 tree can be had on this machine at test time
// (test/golden/glue-parity.test.ts runs that one live); the other releases' glue was run once, against
// the same recording fake upstreams (fixtures/upstream/) and harness (test/support/glue.ts runGlue),
// and what it ran is kept as data. To record again: node scripts/record-release-glue.mjs --git-dir
// <xen-project/xen git dir> --tag RELEASE-X.Y.Z (or master).
//
// For each recorded case (its VAR=value pairs were in the glue's .config; here they are on xqbuild's
// command line), compared exactly, byte for byte, no whitespace collapsed:
// - qemu-xen: configure's path, every argument, cwd, PKG_CONFIG_PATH, MAKELEVEL unset; `make all`;
//   the checkout's URL and revision (what git-checkout.sh cloned and checked out) and its layout.
// - SeaBIOS: the checkout, olddefconfig's and all's directory, goals and CC/LD/PYTHON/EXTRAVERSION,
//   .version's content, and seabios-config (sha256 of the release's against xqbuild's built-in).
// - qemu-xen-traditional: xen-setup's argv, cwd and exports, `make all`; and for 4.21 on, that the
//   release has no such targets and xqbuild disables it.
// - the release profile (src/config/release.ts) against the targets and defaults the glue has.
//
// Known differences (asserted in "known differences", never skipped):
// | difference | the glue | xqbuild standalone | why it is not a bug |
// |---|---|---|---|
// | tracetool probe | probes the checked-out QEMU's tracetool.py before configure | the plan is made before any checkout: no probe, the `log` backend | the glue's first probe asks for `log`, and every QEMU of these releases has it (the build stage probes again) |
// | seabios-config | copies the tree's tools/firmware/seabios-config (the same file in every release) | copies its built-in one (src/builtin/seabios-config.ts), which olddefconfig completes | there is no tree in standalone mode, and Xen's file is not xqbuild's to ship; in a tree xqbuild copies the tree's (glue-parity) |
// | the checkout's git commands | git-checkout.sh: clone, [fetch origin REV,] checkout -b dummy | its own fetch (mirror cache), same URL, revision and layout | the profile's checkoutFetchesRevision says which the release does; a branch name works in both from 4.21 on |
//
// The --extra-cflags argument: the glue's recipe continues the quoted value over several lines, so
// each -D flag after the first is preceded by " \t" (a blank and the recipe line's second TAB) and the
// value ends in " \t" plus EXTRA_CFLAGS_QEMU_XEN. The bytes are the same in every release recorded
// here. Until xqbuild's qemuXenConfigureArgs produces those bytes (helper "config"'s change) the
// "configure argv, byte for byte" assertions fail; the assertion beside it compares every other
// argument so that a regression elsewhere still shows.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEABIOS_CONFIG } from "../../src/components/seabios/builtin-config.js";
import { main } from "../../src/cli/main.js";
import { releaseProfile } from "../../src/config/release.js";
import { memoryOutput } from "../../src/report/output.js";
import { glueEnv } from "../support/glue.js";
import { oneStep, planComponent, stepsOf, type JsonComponent, type JsonStepOf, type PlanJson } from "../support/plan-json.js";

// ---------------------------------------------------------------------------------------------------
// The recordings (scripts/record-release-glue.mjs)

interface RecordedMake {
  cwd: string;
  target: string;
  goals: string;
  vars: Record<string, string | null>;
  makelevel: string;
  env?: Record<string, string | null>;
}

interface RecordedCase {
  name: string;
  vars: Record<string, string>;
  qemuXen: {
    tracetool: { argv0: string; argv: string[] }[];
    configure: { argv0: string; argv: string[]; cwd: string; env: { PKG_CONFIG_PATH: string | null; MAKELEVEL: string | null } };
    make: RecordedMake[];
  };
  seabios: { make: RecordedMake[]; version: string };
  git: { cwd: string; argv: string[] }[];
  traditional?: {
    xenSetup: { argv0: string; argv: string[]; cwd: string; env: Record<string, string | null> };
    make: RecordedMake[];
  };
}

interface Recording {
  recordedBy: string;
  tag: string;
  commit: string;
  xenVersion: string;
  release: string;
  defaults: Record<string, string>;
  targets: Record<"subdir-all-qemu-xen-traditional-dir" | "subtree-force-update-all", boolean>;
  seabiosConfigSha256: string;
  cases: RecordedCase[];
}

const RELEASES_DIR = fileURLToPath(new URL("./releases/", import.meta.url));
const EXPECTED_RELEASES = ["4.17", "4.18", "4.19", "4.20", "4.21", "4.22", "master"];

function loadRecordings(): Recording[] {
  const files = fs.existsSync(RELEASES_DIR) ? fs.readdirSync(RELEASES_DIR).filter((f) => f.endsWith(".json")).sort() : [];
  return files.map((f) => JSON.parse(fs.readFileSync(path.join(RELEASES_DIR, f), "utf8")) as Recording);
}

const RECORDINGS = loadRecordings();

// ---------------------------------------------------------------------------------------------------
// Running xqbuild

let work: string;
let runs = 0;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "xq-release-parity-"));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The environment of the recordings' make (runGlue's minimal one), plus a private cache. */
function xqEnv(dir: string): Record<string, string | undefined> {
  return { ...glueEnv(), XQBUILD_CACHE_DIR: path.join(dir, "cache"), HOME: dir };
}

async function xq(argv: readonly string[]): Promise<{ stdout: string; cwd: string }> {
  const cwd = path.join(work, `run-${runs++}`);
  fs.mkdirSync(cwd);
  const output = memoryOutput();
  const code = await main(argv, { cwd, env: xqEnv(cwd), output });
  expect(code, `xqbuild ${argv.join(" ")} failed:\n${output.stderr.join("\n")}`).toBe(0);
  return { stdout: output.stdout.join("\n"), cwd };
}

const versionArg = (rec: Recording): string => (rec.release === "master" ? "master" : rec.release);
const words = (c: RecordedCase): string[] => Object.entries(c.vars).map(([k, v]) => `${k}=${v}`);

interface PlanRun {
  plan: PlanJson;
  /** replaces the standalone root with <root>, as the recordings have the glue's tree */
  norm: (s: string) => string;
}

const plans = new Map<string, Promise<PlanRun>>();

function planFor(rec: Recording, c: RecordedCase): Promise<PlanRun> {
  const key = `${rec.release}\0${c.name}`;
  let p = plans.get(key);
  if (p === undefined) {
    p = xq(["plan", "--json", "--standalone", "--xen-version", versionArg(rec), ...words(c)]).then(({ stdout }) => {
      const plan = JSON.parse(stdout) as PlanJson;
      const root = plan.xenRoot;
      return { plan, norm: (s: string) => s.split(root).join("<root>") };
    });
    plans.set(key, p);
  }
  return p;
}

const component = planComponent;

interface MakeCall {
  dir: string;
  goals: string[];
  vars: Record<string, string | null>;
}

/** A `make` step of the plan: the directory it works in (-C), its goals and VAR=value words. */
function planMakeCall(step: JsonStepOf<"run">, norm: (s: string) => string, links: Readonly<Record<string, string>>): MakeCall {
  const [prog, ...rest] = step.argv;
  expect(prog).toBe("make");
  let dir = step.cwd;
  const goals: string[] = [];
  const vars: Record<string, string | null> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === "-C") dir = path.resolve(dir, rest[++i] ?? "");
    else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) vars[a.slice(0, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
    else if (a.startsWith("-")) throw new Error(`unexpected make option in the plan: ${a}`);
    else goals.push(a);
  }
  return { dir: physical(norm(dir), links), goals, vars };
}

/** The recordings have physical directories: the glue's -dir links resolved to their -dir-remote. */
function physical(dir: string, links: Readonly<Record<string, string>>): string {
  for (const [link, remote] of Object.entries(links)) if (dir === link || dir.startsWith(`${link}/`)) return remote + dir.slice(link.length);
  return dir;
}

function recordedMakeCall(r: RecordedMake): MakeCall {
  return { dir: r.cwd, goals: r.goals.split(/\s+/).filter(Boolean), vars: r.vars };
}

/** An environment variable as a run step of the plan leaves it (xqbuild's own environment otherwise). */
function effectiveEnv(step: JsonStepOf<"run">, name: string): string | null {
  if (Object.prototype.hasOwnProperty.call(step.env, name)) return step.env[name] ?? null;
  return glueEnv()[name] ?? null;
}

/** What scripts/git-checkout.sh did for one component, from the recorded git commands. */
function glueCheckout(c: RecordedCase, link: string): { url: string; revision: string; remoteDir: string; fetchedRevision: boolean } {
  const dir = path.dirname(link);
  const base = path.basename(link);
  const clone = c.git.find((g) => g.cwd === dir && g.argv[0] === "clone" && g.argv.at(-1) === `${base}-remote.tmp`);
  if (clone === undefined) throw new Error(`${c.name}: the glue did not clone into ${link}-remote.tmp`);
  const inTmp = c.git.filter((g) => g.cwd === `${link}-remote.tmp`);
  const fetch = inTmp.find((g) => g.argv[0] === "fetch");
  const checkout = inTmp.find((g) => g.argv[0] === "checkout");
  if (checkout === undefined) throw new Error(`${c.name}: the glue did not check out a revision in ${link}-remote.tmp`);
  const target = checkout.argv.at(-1) ?? "";
  return {
    url: clone.argv.at(-2) ?? "",
    // from 4.21: `fetch origin REV` then `checkout -b dummy FETCH_HEAD`
    revision: target === "FETCH_HEAD" ? (fetch?.argv.at(-1) ?? "") : target,
    remoteDir: `${link}-remote`,
    fetchedRevision: fetch !== undefined,
  };
}

function compareCheckout(run: PlanRun, comp: JsonComponent, c: RecordedCase, link: string): void {
  const step = oneStep(comp, "fetch", "git-checkout");
  const glue = glueCheckout(c, link);
  expect({ url: step.url, revision: step.revision, remoteDir: run.norm(step.remoteDir), linkDir: run.norm(step.linkDir) }, `${link}: checkout`).toEqual({
    url: glue.url,
    revision: glue.revision,
    remoteDir: glue.remoteDir,
    linkDir: link,
  });
}

const LINKS = {
  "<root>/tools/qemu-xen-dir": "<root>/tools/qemu-xen-dir-remote",
  "<root>/tools/firmware/seabios-dir": "<root>/tools/firmware/seabios-dir-remote",
  "<root>/tools/qemu-xen-traditional-dir": "<root>/tools/qemu-xen-traditional-dir-remote",
};

const isExtraCflags = (a: string): boolean => a.startsWith("--extra-cflags=");

// ---------------------------------------------------------------------------------------------------

describe("the recordings", () => {
  it("every release xqbuild has a profile for has one, recorded from a release tag (or master) of xen-project/xen", () => {
    expect(RECORDINGS.map((r) => r.release).sort()).toEqual([...EXPECTED_RELEASES].sort());
    for (const r of RECORDINGS) {
      expect(r.recordedBy).toBe("scripts/record-release-glue.mjs");
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(r.tag).toBe(r.release === "master" ? "master" : `RELEASE-${r.xenVersion}`);
      expect(r.cases.map((c) => c.name)).toContain("defaults");
    }
  });
});

for (const rec of RECORDINGS) {
  const profile = rec.release === "master" ? releaseProfile(4, 99) : releaseProfile(Number(rec.release.split(".")[0]), Number(rec.release.split(".")[1]));

  describe(`Xen ${rec.release}: xqbuild plan --standalone --xen-version ${versionArg(rec)} vs. ${rec.tag}'s glue (${rec.commit.slice(0, 12)})`, () => {
    it("the release profile: qemu-xen-traditional targets, subtree-force-update-all, git:// defaults, debug default", async () => {
      expect(profile.id).toBe(rec.release);
      expect(profile.hasQemuTraditional, "hasQemuTraditional").toBe(rec.targets["subdir-all-qemu-xen-traditional-dir"]);
      expect(profile.hasSubtreeForceUpdateAll, "hasSubtreeForceUpdateAll").toBe(rec.targets["subtree-force-update-all"]);
      expect(profile.gitProtocolDefault, "gitProtocolDefault").toBe(rec.defaults["QEMU_UPSTREAM_URL"]?.startsWith("git://"));
      expect(profile.debugDefault, "debugDefault").toBe(rec.defaults["debug"]);
      const defaults = rec.cases.find((c) => c.name === "defaults");
      if (defaults === undefined) throw new Error("no defaults case");
      expect(profile.checkoutFetchesRevision, "checkoutFetchesRevision").toBe(glueCheckout(defaults, "<root>/tools/qemu-xen-dir").fetchedRevision);
      const { plan } = await planFor(rec, defaults);
      expect(plan.release).toBe(rec.release);
      expect(plan.mode).toBe("standalone");
      expect(plan.xenVersion).toBe(rec.xenVersion);
    });

    it("the source variables' defaults: xqbuild config --json as the release's make has them", async () => {
      const names = Object.keys(rec.defaults);
      const { stdout } = await xq(["config", "--json", "--standalone", "--xen-version", versionArg(rec), ...names]);
      const entries = JSON.parse(stdout) as Record<string, { value: string }>;
      expect(Object.fromEntries(names.map((n) => [n, entries[n]?.value ?? ""]))).toEqual(rec.defaults);
    });


    for (const c of rec.cases) {
      describe(c.name, () => {
        it("qemu-xen: configure argv, byte for byte", async () => {
          const run = await planFor(rec, c);
          const step = oneStep(component(run.plan, "qemu-xen"), "configure", "run", "configure");
          expect(step.argv.slice(1), "configure's arguments").toEqual(c.qemuXen.configure.argv);
        });

        it("qemu-xen: configure argv other than --extra-cflags, byte for byte; --extra-cflags present at the same place", async () => {
          const run = await planFor(rec, c);
          const args = oneStep(component(run.plan, "qemu-xen"), "configure", "run", "configure").argv.slice(1);
          const glue = c.qemuXen.configure.argv;
          expect(args.findIndex(isExtraCflags)).toBe(glue.findIndex(isExtraCflags));
          expect(args.filter((a) => !isExtraCflags(a))).toEqual(glue.filter((a) => !isExtraCflags(a)));
        });

        it("qemu-xen: configure's path, cwd, PKG_CONFIG_PATH, MAKELEVEL; make all; the checkout", async () => {
          const run = await planFor(rec, c);
          const comp = component(run.plan, "qemu-xen");
          expect(comp.enabled, comp.reason).toBe(true);
          const step = oneStep(comp, "configure", "run", "configure");
          const conf = c.qemuXen.configure;
          expect(run.norm(step.argv[0] ?? ""), "configure's path").toBe(conf.argv0);
          expect(run.norm(step.cwd)).toBe(conf.cwd);
          expect(run.norm(effectiveEnv(step, "PKG_CONFIG_PATH") ?? ""), "PKG_CONFIG_PATH").toBe(conf.env.PKG_CONFIG_PATH);
          expect(effectiveEnv(step, "MAKELEVEL"), "configure runs with MAKELEVEL unset").toBe(conf.env.MAKELEVEL);
          const makes = stepsOf(comp, "build", "run");
          expect(makes.map((s) => planMakeCall(s, run.norm, LINKS))).toEqual(c.qemuXen.make.map(recordedMakeCall));
          expect(c.qemuXen.make.map((m) => m.makelevel)).toEqual(["0"]);
          expect(makes.map((s) => s.env["MAKELEVEL"])).toEqual([null]);
          compareCheckout(run, comp, c, "<root>/tools/qemu-xen-dir");
        });

        it("seabios: the checkout, .config, olddefconfig, .version, make all", async () => {
          const run = await planFor(rec, c);
          const comp = component(run.plan, "seabios");
          expect(comp.enabled, comp.reason).toBe(true);
          const fetch = comp.stages.filter((s) => s.name === "fetch");
          expect(fetch.map((s) => s.kind)).toEqual(["git-checkout", "copy", "run", "write"]);
          compareCheckout(run, comp, c, "<root>/tools/firmware/seabios-dir");
          const copy = oneStep(comp, "fetch", "copy");
          expect(run.norm(copy.to)).toBe("<root>/tools/firmware/seabios-dir/.config");
          const olddef = oneStep(comp, "fetch", "run");
          const glueOlddef = c.seabios.make.filter((m) => m.target === "olddefconfig");
          expect([planMakeCall(olddef, run.norm, LINKS)], "olddefconfig").toEqual(glueOlddef.map(recordedMakeCall));
          const version = oneStep(comp, "fetch", "write");
          expect(run.norm(version.path)).toBe("<root>/tools/firmware/seabios-dir/.version");
          expect(version.content, ".version").toBe(c.seabios.version);
          const glueAll = c.seabios.make.filter((m) => m.target === "all");
          expect(stepsOf(comp, "build", "run").map((s) => planMakeCall(s, run.norm, LINKS)), "make all").toEqual(glueAll.map(recordedMakeCall));
        });

        if (c.traditional !== undefined) {
          const trad = c.traditional;
          it("qemu-xen-traditional: the checkout, xen-setup argv (byte for byte), cwd, exports, make all", async () => {
            const run = await planFor(rec, c);
            const comp = component(run.plan, "qemu-xen-traditional");
            expect(comp.enabled, comp.reason).toBe(true);
            compareCheckout(run, comp, c, "<root>/tools/qemu-xen-traditional-dir");
            const step = oneStep(comp, "configure", "run", "xen-setup");
            expect(step.argv, "xen-setup's argv").toEqual([trad.xenSetup.argv0, ...trad.xenSetup.argv]);
            expect(physical(run.norm(step.cwd), LINKS), "xen-setup's cwd").toBe(trad.xenSetup.cwd);
            const envOf = (s: JsonStepOf<"run">): Record<string, string | null> =>
              Object.fromEntries(Object.keys(trad.xenSetup.env).map((n) => [n, ((v) => (v === null ? null : run.norm(v)))(effectiveEnv(s, n))]));
            expect(envOf(step), "xen-setup's environment").toEqual(trad.xenSetup.env);
            const makes = stepsOf(comp, "build", "run");
            expect(makes.map((s) => planMakeCall(s, run.norm, LINKS)), "make all").toEqual(trad.make.map(recordedMakeCall));
            expect(makes.map(envOf)).toEqual(trad.make.map((m) => m.env));
          });
        } else {
          it(
            rec.targets["subdir-all-qemu-xen-traditional-dir"]
              ? "qemu-xen-traditional: disabled in both (CONFIG_QEMU_TRAD is not y)"
              : `qemu-xen-traditional: ${rec.tag} has no such targets, and xqbuild disables it`,
            async () => {
              const run = await planFor(rec, c);
              const comp = component(run.plan, "qemu-xen-traditional");
              expect(comp.enabled, comp.reason).toBe(false);
              if (!rec.targets["subdir-all-qemu-xen-traditional-dir"]) expect(comp.reason).toMatch(/removed qemu-xen-traditional/);
            },
          );
        }
      });
    }

    describe("known differences (documented, not bugs)", () => {
      it("seabios-config: the glue copies the tree's tools/firmware/seabios-config, standalone xqbuild its own built-in (Xen's text is not xqbuild's to ship)", async () => {
        // every release recorded here has the same file; xqbuild's is a short one that olddefconfig completes
        expect(new Set(RECORDINGS.map((r) => r.seabiosConfigSha256)).size).toBe(1);
        expect(createHash("sha256").update(SEABIOS_CONFIG).digest("hex")).not.toBe(rec.seabiosConfigSha256);
        const defaults = rec.cases.find((c) => c.name === "defaults");
        if (defaults === undefined) throw new Error("no defaults case");
        const run = await planFor(rec, defaults);
        expect(oneStep(component(run.plan, "seabios"), "fetch", "copy").from).toBe("builtin:seabios-config");
      });

      it("tracetool: the glue probes the checkout for `log` first; the standalone plan, made before any checkout, takes `log`", async () => {
        const defaults = rec.cases.find((c) => c.name === "defaults");
        if (defaults === undefined) throw new Error("no defaults case");
        expect(defaults.qemuXen.tracetool.map((t) => t.argv)).toEqual([["--check-backend", "--backend", "log"]]);
        const flag = defaults.qemuXen.configure.argv.filter((a) => a.startsWith("--enable-trace-backend"));
        const run = await planFor(rec, defaults);
        const args = oneStep(component(run.plan, "qemu-xen"), "configure", "run", "configure").argv;
        expect(args.filter((a) => a.startsWith("--enable-trace-backend"))).toEqual(flag);
      });

      it("the checkout's git commands: git-checkout.sh's clone [+ fetch origin REV] + checkout -b dummy; xqbuild fetches its own way", async () => {
        const defaults = rec.cases.find((c) => c.name === "defaults");
        if (defaults === undefined) throw new Error("no defaults case");
        const verbs = defaults.git.filter((g) => g.cwd === "<root>/tools" || g.cwd === "<root>/tools/qemu-xen-dir-remote.tmp").map((g) => g.argv[0]);
        expect(verbs).toEqual(profile.checkoutFetchesRevision ? ["clone", "fetch", "branch", "checkout"] : ["clone", "branch", "checkout"]);
        // xqbuild's plan names what is fetched, not how: the same for every release
        const run = await planFor(rec, defaults);
        const step = oneStep(component(run.plan, "qemu-xen"), "fetch", "git-checkout");
        expect(Object.keys(step).sort()).toEqual(["kind", "linkDir", "name", "remoteDir", "revision", "step", "url"]);
      });
    });
  });
}
