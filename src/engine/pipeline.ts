import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import { InterruptedError, UserError } from "../util/errors.js";
import type { ComponentPlan } from "../plan/plan.js";
import type { LineProgress, PlannedStep, Recipe, StageName } from "../components/recipe.js";
import type { Reporter } from "../report/events.js";
import { gitAt } from "../source/git.js";
import { fingerprint, stableJson } from "./fingerprint.js";
import { removeInside, writeFileAtomic } from "../util/fs.js";
import type { JobServer } from "./jobserver.js";
import type { Stamps } from "./stamps.js";
import { executeFileOrRunStep, recipeOf, resolveRun, stepName } from "./steps.js";
import { RECIPES } from "../components/index.js";
import type { ArtifactCache } from "../cache/cache.js";
import { copyInto } from "../cache/artifacts.js";
import { throwIfInterrupted } from "../util/signals.js";

/** Environment variables that change what configure or make produce; part of every fingerprint. */
const RELEVANT_ENV = ["PATH", "CC", "CXX", "CPP", "LD", "AR", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR", "PYTHON", "CROSS_COMPILE", "CCACHE_DIR", "SOURCE_DATE_EPOCH"];

export type BuildStage = Extract<StageName, "configure" | "build" | "install">;

export interface PipelineOptions {
  readonly config: ResolvedConfig;
  readonly components: readonly ComponentPlan[];
  readonly stages: readonly BuildStage[];
  readonly reporter: Reporter;
  readonly stamps: Stamps;
  readonly logDir: string;
  readonly jobserver?: JobServer;
  readonly signal?: AbortSignal;
  /** Run stages even when their stamps are up to date. */
  readonly force?: boolean;
  /** Set for the commands run, not part of any fingerprint (ccache's PATH and CCACHE_* variables). */
  readonly runEnv?: Readonly<Record<string, string>>;
  /** The build artifact cache; undefined with --no-cache. */
  readonly artifacts?: ArtifactOptions;
  /** Awaited once before the first stage that does work (ccache's counters are read then). */
  readonly beforeWork?: () => Promise<void>;
  /** --destdir: what xqbuild's own install copies write may not leave through a link (see StepContext.writeRoot). */
  readonly destdir?: string;
}

/** How the artifact cache takes part in a run. */
export interface ArtifactOptions {
  readonly cache: ArtifactCache;
  /** Per component: the directory install stages into, and the install steps planned for it. */
  readonly staging: ReadonlyMap<string, { readonly dir: string; readonly install: readonly PlannedStep[] }>;
  /** Where the installed files finally go: --destdir, else "/" (as make install without DESTDIR). */
  readonly destdir: string;
}

const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");

/**
 * What the source tree is: its commit and a hash of its uncommitted changes to tracked files, so an
 * edit in the tree reruns the build; a directory that is not a git tree cannot be fingerprinted and
 * is always built (make decides what is out of date there, as with the glue).
 */
export async function sourceState(dir: string, env: Readonly<Record<string, string>>, buildWrites: readonly string[] = []): Promise<{ commit: string; changes: unknown }> {
  if (!existsSync(path.join(dir, ".git"))) return { commit: `directory ${dir}`, changes: { unknown: Date.now() } };
  const git = gitAt(dir, { env });
  // One git call for a clean tree (the usual rerun): its commit, and that nothing changed.
  // What the build itself writes again is left out (a pathspec only when there is one: same keys as before).
  const spec = buildWrites.length > 0 ? ["--", ".", ...buildWrites.map((f) => `:(exclude)${f}`)] : [];
  const v2 = await git.raw(["status", "--porcelain=v2", "--branch", "--untracked-files=no", "--ignore-submodules=none", ...spec]);
  const oid = /^# branch\.oid ([0-9a-f]{40,64})$/m.exec(v2)?.[1];
  if (oid && v2.split("\n").every((l) => l === "" || l.startsWith("#"))) return { commit: oid, changes: { status: "", diff: EMPTY_SHA256 } };
  // An edited tree: the changes as before (the status text and a hash of the diff); its commit is
  // the one status gave, unless it had none to give.
  const [head, status, diff] = await Promise.all([
    oid ?? git.raw(["rev-parse", "HEAD"]),
    git.raw(["status", "--porcelain", "--untracked-files=no", "--ignore-submodules=none", ...spec]),
    git.raw(["diff", "--no-ext-diff", "--binary", "HEAD", ...spec]),
  ]);
  return { commit: head.trim(), changes: { status, diff: createHash("sha256").update(diff).digest("hex") } };
}

const versionCache = new Map<string, Promise<Record<string, string>>>();

/**
 * The first line of `--version` of the tools every build uses (the compiler, make, Python) and of
 * those a recipe names (Recipe.versionedTools: QEMU's ninja), once per run. Every recipe's, whichever
 * are built: a stage's fingerprint does not depend on which other components a run takes.
 */
export function toolVersions(env: Readonly<Record<string, string>>): Promise<Record<string, string>> {
  const cc = env.CC ?? "cc";
  // The whole environment: anything in it may change what a tool says (PYENV_VERSION, ...).
  const key = stableJson(env);
  const known = versionCache.get(key);
  if (known) return known;
  const one = (argv: string[]): Promise<string> =>
    new Promise((resolve) => {
      execFile(argv[0] as string, argv.slice(1), { env, timeout: 10_000 }, (err, stdout) => resolve(err ? "missing" : (stdout.split("\n")[0] ?? "").trim()));
    });
  const named = new Map<string, readonly string[]>();
  for (const r of Object.values(RECIPES)) for (const [name, argv] of Object.entries(r.versionedTools ?? {})) named.set(name, argv);
  const p = Promise.all([
    one([...cc.split(/\s+/), "--version"]),
    one(["make", "--version"]),
    one([env.PYTHON || "python3", "--version"]),
    ...[...named.values()].map((argv) => one([...argv])),
  ]).then(([c, m, py, ...rest]) => {
    const out: Record<string, string> = { cc: c ?? "", make: m ?? "", python: py ?? "" };
    [...named.keys()].forEach((name, i) => (out[name] = rest[i] ?? ""));
    return out;
  });
  versionCache.set(key, p);
  return p;
}

function stepsOf(c: ComponentPlan, stage: StageName): PlannedStep[] {
  return c.stages.filter((s) => s.stage === stage);
}

function relevantEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of RELEVANT_ENV) if (env[k] !== undefined) out[k] = env[k] as string;
  return out;
}

/** Runs the given stages of every component, the components side by side. */
export async function runPipeline(opts: PipelineOptions): Promise<{ failures: Error[] }> {
  const failures: Error[] = [];
  await Promise.all(
    opts.components.map(async (c) => {
      try {
        await runComponent(c, opts);
      } catch (e) {
        if (e instanceof InterruptedError) throw e;
        failures.push(e instanceof Error ? e : new Error(String(e)));
      }
    }),
  );
  return { failures };
}

/** How often a stage's progress is reported at most: a few times a second, whatever the tool prints. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * Turns a stage's output lines into progress events as the recipe reads them (ninja's "[N/M]"), no
 * more than one per PROGRESS_INTERVAL_MS; the last step ([M/M]) is always reported.
 */
export function progressEmitter(recipe: Recipe | undefined, emit: (p: LineProgress) => void, now: () => number = Date.now): (line: string) => void {
  const read = recipe?.progressOf;
  if (!read) return () => undefined;
  let last = -Infinity;
  return (line) => {
    const p = read(line);
    if (!p) return;
    const t = now();
    if (t - last < PROGRESS_INTERVAL_MS && p.done < p.total) return;
    last = t;
    emit(p);
  };
}

/** One stage's steps and the fingerprint of everything it depends on. */
export interface StageInputs {
  readonly stage: BuildStage;
  readonly steps: readonly PlannedStep[];
  readonly fingerprint: string;
}

/**
 * The fingerprints of a component's stages, each chained to the one before: configure depends on
 * the commit, the build also on uncommitted edits (an edit rebuilds but does not reconfigure).
 */
export async function stageInputs(c: ComponentPlan, stages: readonly BuildStage[], env: Readonly<Record<string, string>>): Promise<StageInputs[]> {
  const [source, tools] = await Promise.all([sourceState(c.sourceDir, env, c.buildWrites), toolVersions(env)]);
  return stageInputsOf(c, stages, env, source, tools);
}

type SourceState = Awaited<ReturnType<typeof sourceState>>;
type Tools = Awaited<ReturnType<typeof toolVersions>>;

function stageInputsOf(c: ComponentPlan, stages: readonly BuildStage[], env: Readonly<Record<string, string>>, source: SourceState, tools: Tools): StageInputs[] {
  // A new compiler, make, Python or ninja reconfigures (and so rebuilds) everything.
  let previous: string = fingerprint({ commit: source.commit, tools });
  return stages.map((stage) => {
    const steps = stepsOf(c, stage);
    const fp = fingerprint({ stage, after: previous, steps, env: relevantEnv(env), ...(stage === "build" ? { changes: source.changes } : {}) });
    previous = fp;
    return { stage, steps, fingerprint: fp };
  });
}

/**
 * The key of a component's artifact: everything its installed files depend on, with the Xen tree's
 * place and the staging directory written as <ROOT> and <DESTDIR>, so that another tree (or
 * machine) with the same sources, arguments, tools and Xen libraries shares it. The commit and any
 * uncommitted edit of the source, the tools' versions, every configure, build and install argument
 * and the environment that matters (without PATH: the tools' versions stand for it), the contents
 * of files copied in before the build (SeaBIOS's .config), and what the recipe adds (artifactInputs:
 * for QEMU, the Xen libraries it links).
 */
export async function artifactKey(
  c: ComponentPlan,
  installSteps: readonly PlannedStep[],
  staging: string,
  xenRoot: string,
  env: Readonly<Record<string, string>>,
  known?: { source: SourceState; tools: Tools },
  /** record: false for a dry run (plan), which leaves no file behind. */
  opts: { readonly record?: boolean } = {},
): Promise<string> {
  const [source, tools] = known ? [known.source, known.tools] : await Promise.all([sourceState(c.sourceDir, env, c.buildWrites), toolVersions(env)]);
  const configure = stepsOf(c, "configure");
  const steps = [...configure, ...stepsOf(c, "build"), ...installSteps];
  const copied: Record<string, string> = {};
  const recipe = recipeOf(c.name);
  for (const s of configure) {
    if (s.kind === "copy" && recipe?.builtinContent?.(s.from) === undefined) {
      try {
        copied[s.from] = createHash("sha256").update(readFileSync(s.from)).digest("hex");
      } catch {
        copied[s.from] = "missing";
      }
    }
  }
  let libs: unknown;
  if (recipe?.artifactInputs) {
    // Asked in the environment configure runs in (its PKG_CONFIG_PATH finds the tree's libraries).
    const cfg = configure.find((s) => s.kind === "run");
    const cfgEnv = { ...env };
    if (cfg?.kind === "run") for (const [k, v] of Object.entries(cfg.env)) if (v !== null && v !== undefined) cfgEnv[k] = v;
    libs = await recipe.artifactInputs({ xenRoot, env: cfgEnv });
  }
  const rest = relevantEnv(env);
  delete rest.PATH;
  const text = stableJson({ steps, env: rest, copied, libs }).split(staging).join("<DESTDIR>").split(xenRoot).join("<ROOT>");
  const inputs = { kind: "xqbuild artifact", format: 1, component: c.name, commit: source.commit, changes: source.changes, tools, text };
  const key = fingerprint(inputs);
  // What the key was made of, to answer "why did this tree miss the cache?" (diff two trees' files).
  if (opts.record === false) return key;
  await writeFileAtomic(path.join(xenRoot, ".xqbuild", "artifact-keys", `${c.name}.json`), `${JSON.stringify({ key, ...inputs, text: JSON.parse(text) as unknown }, null, 2)}\n`, xenRoot).catch(() => undefined);
  return key;
}

/**
 * The first output a stage's stamp stands for that is gone, or undefined when all are there: the
 * recipe's outputs of that stage and what its run steps stand for as the recipe says (builtOutputs:
 * for QEMU's build of what meson installs, each build-directory file meson-info lists). A stat per
 * file and one small JSON file: cheap enough for the rerun that does nothing.
 */
export function missingOutput(c: ComponentPlan, stage: BuildStage, steps: readonly PlannedStep[]): string | undefined {
  const declared = stage === "configure" ? c.outputs.configure : stage === "build" ? c.outputs.build : [];
  const gone = declared.find((f) => !existsSync(f));
  if (gone !== undefined) return gone;
  const recipe = recipeOf(c.name);
  for (const s of steps) {
    if (s.kind !== "run") continue;
    const missing = recipe?.builtOutputs?.(s)?.find((f) => !existsSync(f));
    if (missing !== undefined) return missing;
  }
  return undefined;
}

/** Whether a stamp holds; when it matches its inputs but not the files, the file that is gone. */
type StampCheck = { readonly ok: true } | { readonly ok: false; readonly missing?: string };

/** Whether a stage's stamp holds: it matches the stage's inputs and what it stands for is still there. */
function stampHolds(c: ComponentPlan, stamps: Stamps, stage: BuildStage, steps: readonly PlannedStep[], fp: string): StampCheck {
  if (!stamps.upToDate(c.name, stage, fp)) return { ok: false };
  const missing = missingOutput(c, stage, steps);
  return missing === undefined ? { ok: true } : { ok: false, missing };
}

/**
 * The stamp a run leaves when the artifact cache stood in for configure and build (nothing was built
 * in this tree): its fingerprint is the artifact's key, its inputs say whether install restored it.
 * `status` tells that apart from a build that never ran.
 */
export const ARTIFACT_STAMP = "artifact";

/** Only fetched sources have a fingerprint that another tree can share. */
export function cacheable(c: ComponentPlan): boolean {
  return c.source.kind === "git-checkout" || c.source.kind === "tarball";
}

async function runComponent(c: ComponentPlan, opts: PipelineOptions): Promise<void> {
  const { config, reporter, stamps } = opts;
  const env = config.env;
  const art = opts.artifacts;
  const staging = art?.staging.get(c.name);
  let key: string | undefined;
  const [source, tools] = await Promise.all([sourceState(c.sourceDir, env, c.buildWrites), toolVersions(env)]);
  const inputs = stageInputsOf(c, opts.stages, env, source, tools);
  // Each stamp is checked once: its answer (and why it does not hold) is used again below.
  const holds = new Map<BuildStage, StampCheck>(inputs.map((i) => [i.stage, i.stage === "install" || i.steps.length === 0 ? { ok: true } : stampHolds(c, stamps, i.stage, i.steps, i.fingerprint)]));
  const built = inputs.every((i) => holds.get(i.stage)?.ok === true);
  if (art && staging && cacheable(c) && !opts.force && (opts.stages.includes("install") || !built)) {
    key = await artifactKey(c, staging.install, staging.dir, config.xenRoot, env, { source, tools });
    const skip = (reason: string): void => {
      for (const stage of opts.stages) if (stage !== "install") reporter.emit({ type: "stage-skip", component: c.name, stage, reason });
    };
    if (opts.stages.includes("install")) {
      const entry = await art.cache.find(key, c.name);
      if (entry) {
        skip(`in the artifact cache (${key.slice(0, 12)})`);
        await opts.beforeWork?.();
        reporter.emit({ type: "stage-start", component: c.name, stage: "install", step: "restore" });
        const started = Date.now();
        const r = await art.cache.store.restore(entry, art.destdir);
        if (r.ok) {
          await stamps.write(c.name, ARTIFACT_STAMP, key, { restored: true, destdir: art.destdir });
          reporter.emit({ type: "stage-done", component: c.name, stage: "install", seconds: (Date.now() - started) / 1000 });
          return;
        }
        reporter.emit({ type: "message", level: "warn", text: `${c.name}: the cached artifact is damaged, building instead: ${r.why}` });
      }
    } else if (opts.stages.includes("build")) {
      if (await art.cache.has(key)) {
        skip(`in the artifact cache (${key.slice(0, 12)}); install restores it`);
        // (An install that restored this very artifact before still did.)
        const was = stamps.read(c.name, ARTIFACT_STAMP);
        if (was?.fingerprint !== key) await stamps.write(c.name, ARTIFACT_STAMP, key, { restored: false });
        return;
      }
    }
  }
  let ran = false;
  for (const { stage, steps: planned, fingerprint: fp } of inputs) {
    const toStaging = stage === "install" && key !== undefined && staging !== undefined;
    const steps = toStaging ? staging.install : planned;
    if (steps.length === 0) continue;
    if (toStaging) await removeInside(staging.dir, config.xenRoot, "the staging directory");
    const always = stage === "install";
    // A stage after one that ran had its stamp cleared with it.
    const now: StampCheck = ran ? { ok: false } : (holds.get(stage) ?? stampHolds(c, stamps, stage, planned, fp));
    if (!opts.force && !always && now.ok) {
      reporter.emit({ type: "stage-skip", component: c.name, stage, reason: "up to date" });
      continue;
    }
    if (!opts.force && !always && !now.ok && now.missing !== undefined) {
      reporter.emit({ type: "message", level: "info", component: c.name, text: `${stage}: ${path.relative(config.xenRoot, now.missing) || now.missing} is missing, so it runs again` });
    }
    ran = true;
    // The stamp goes first: an interrupted or failed stage must not look done, nor anything after it.
    for (const later of opts.stages.slice(opts.stages.indexOf(stage))) await stamps.clear(c.name, later);
    // Built here from now on: the artifact cache no longer stands in for it.
    if (!always) await stamps.clear(c.name, ARTIFACT_STAMP);
    await opts.beforeWork?.();
    // The first step's command line is resolved once: to name it here, and to run it below.
    const first = steps[0];
    const baseEnv = opts.runEnv ? { ...env, ...opts.runEnv } : env;
    const recipe = recipeOf(c.name);
    const firstRun = first?.kind === "run" ? await resolveRun(first, baseEnv, recipe) : undefined;
    const startEvent = { type: "stage-start", component: c.name, stage, ...(first ? { step: stepName(first, firstRun) } : {}) } as const;
    // A step that takes a fixed -jN says so once it holds its slots: "started (ninja -j2)".
    const waitsForSlots = first?.kind === "run" && first.parallelism === "static" && opts.jobserver !== undefined;
    let jobs: number | undefined;
    if (!waitsForSlots) reporter.emit(startEvent);
    const started = Date.now();
    const progress = progressEmitter(recipe, (p) => reporter.emit({ type: "progress", component: c.name, stage, ...p }));
    try {
      for (const step of steps) {
        throwIfInterrupted(opts.signal);
        if (step.kind === "run") await mkdir(step.cwd, { recursive: true });
        await executeFileOrRunStep(step, {
          baseEnv,
          logDir: opts.logDir,
          component: c.name,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.jobserver ? { jobserver: opts.jobserver } : {}),
          // Into the staging directory the artifact's restore checks instead.
          ...(stage === "install" && !toStaging && opts.destdir !== undefined ? { writeRoot: opts.destdir } : {}),
          onLine: (line) => {
            reporter.emit({ type: "output", component: c.name, stage, line });
            progress(line);
          },
          backlog: () => reporter.backlog?.(),
          ...(step === first && firstRun ? { resolved: firstRun } : {}),
          ...(step === first && waitsForSlots
            ? {
                onStart: (n: number | undefined) => {
                  jobs = n;
                  reporter.emit({ ...startEvent, ...(n !== undefined ? { jobs: n } : {}) });
                },
              }
            : {}),
        });
      }
    } catch (e) {
      // Interrupted: neither done nor failed (the view shows it stopped, never with a check).
      if (e instanceof InterruptedError) reporter.emit({ type: "stage-stop", component: c.name, stage, signal: e.signal, seconds: (Date.now() - started) / 1000 });
      else reporter.emit({ type: "stage-fail", component: c.name, stage, message: e instanceof UserError ? e.message.split("\n")[0] ?? "" : String(e) });
      throw e;
    }
    if (toStaging && art && key) {
      try {
        await putInPlace(c, art, key, staging.dir, config.xenRoot, reporter, opts.signal);
      } catch (e) {
        // Interrupted while packing, hashing or copying (in this process: no child to kill): what
        // was being written is removed, the staged files with it; no stamp.
        if (e instanceof InterruptedError) await removeInside(staging.dir, config.xenRoot, "the staging directory");
        throw e;
      }
    }
    throwIfInterrupted(opts.signal);
    if (!always) await stamps.write(c.name, stage, fp, { stage, steps: steps.map((s) => s.step) }, jobs !== undefined ? { jobs } : {});
    reporter.emit({ type: "stage-done", component: c.name, stage, seconds: (Date.now() - started) / 1000 });
  }
}

/**
 * Installed into the staging directory: keep it as the artifact, then put it in place. A cache that
 * cannot take it costs the cache, not the install; an interruption (between every phase) stops it.
 */
async function putInPlace(c: ComponentPlan, art: ArtifactOptions, key: string, stagingDir: string, root: string, reporter: Reporter, signal: AbortSignal | undefined): Promise<void> {
  let entry: Awaited<ReturnType<typeof art.cache.put>> | undefined;
  try {
    entry = await art.cache.put(key, c.name, stagingDir);
  } catch (e) {
    // An interruption is not a cache that cannot take the artifact.
    throwIfInterrupted(signal);
    if (e instanceof InterruptedError) throw e;
    const err = e as NodeJS.ErrnoException;
    // The errno code, and the sentence saying what is in the way when there is one.
    const why = err.code !== undefined ? `${err.code}${e instanceof UserError ? `: ${err.message}` : ""}` : err.message;
    reporter.emit({ type: "message", level: "warn", text: `${c.name}: not stored in the artifact cache (${art.cache.store.dir}): ${why}` });
  }
  throwIfInterrupted(signal);
  if (entry) {
    const r = await art.cache.store.restore(entry, art.destdir);
    if (!r.ok) throw new UserError(`${c.name}: the artifact just packed does not verify: ${r.why}.`, "Check the disk holding the cache directory.", "failure");
  } else {
    try {
      await mkdir(art.destdir, { recursive: true });
      // copyInto checks for the signal before each entry, and lets none more through once interrupted.
      await copyInto(stagingDir, art.destdir);
    } catch (e) {
      if (e instanceof UserError || e instanceof InterruptedError) throw e;
      throw new UserError(`${c.name}: cannot copy the installed files into ${art.destdir}: ${(e as Error).message}.`, "Check that the destination is writable.", "failure");
    }
    throwIfInterrupted(signal);
  }
  await removeInside(stagingDir, root, "the staging directory");
}
