import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import { InterruptedError, UserError } from "../errors.js";
import type { ComponentPlan } from "../plan.js";
import type { PlannedStep, StageName } from "../recipe.js";
import type { Reporter } from "../report/events.js";
import { gitAt } from "../source/git.js";
import { fingerprint } from "./fingerprint.js";
import type { JobServer } from "./jobserver.js";
import type { Stamps } from "./stamps.js";
import { executeFileOrRunStep } from "./steps.js";

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
}

/**
 * What the source tree is: its commit and a hash of its uncommitted changes to tracked files, so an
 * edit in the tree reruns the build; a directory that is not a git tree cannot be fingerprinted and
 * is always built (make decides what is out of date there, as with the glue).
 */
export async function sourceState(dir: string, env: Readonly<Record<string, string>>): Promise<{ commit: string; changes: unknown }> {
  if (!existsSync(path.join(dir, ".git"))) return { commit: `directory ${dir}`, changes: { unknown: Date.now() } };
  const git = gitAt(dir, { env });
  const [head, status, diff] = await Promise.all([
    git.raw(["rev-parse", "HEAD"]),
    git.raw(["status", "--porcelain", "--untracked-files=no", "--ignore-submodules=none"]),
    git.raw(["diff", "--no-ext-diff", "--binary", "HEAD"]),
  ]);
  return { commit: head.trim(), changes: { status, diff: createHash("sha256").update(diff).digest("hex") } };
}

const versionCache = new Map<string, Promise<Record<string, string>>>();

/** The first line of `--version` of the tools every build uses, once per run. */
export function toolVersions(env: Readonly<Record<string, string>>): Promise<Record<string, string>> {
  const cc = env.CC ?? "cc";
  const key = `${env.PATH}\0${cc}\0${env.PYTHON ?? ""}`;
  const known = versionCache.get(key);
  if (known) return known;
  const one = (argv: string[]): Promise<string> =>
    new Promise((resolve) => {
      execFile(argv[0] as string, argv.slice(1), { env, timeout: 10_000 }, (err, stdout) => resolve(err ? "missing" : (stdout.split("\n")[0] ?? "").trim()));
    });
  const p = Promise.all([
    one([...cc.split(/\s+/), "--version"]),
    one(["make", "--version"]),
    one([env.PYTHON || "python3", "--version"]),
    one(["ninja", "--version"]),
  ]).then(([c, m, py, n]) => ({ cc: c ?? "", make: m ?? "", python: py ?? "", ninja: n ?? "" }));
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
  const [source, tools] = await Promise.all([sourceState(c.sourceDir, env), toolVersions(env)]);
  // A new compiler, make, Python or ninja reconfigures (and so rebuilds) everything.
  let previous: string = fingerprint({ commit: source.commit, tools });
  return stages.map((stage) => {
    const steps = stepsOf(c, stage);
    const fp = fingerprint({ stage, after: previous, steps, env: relevantEnv(env), ...(stage === "build" ? { changes: source.changes } : {}) });
    previous = fp;
    return { stage, steps, fingerprint: fp };
  });
}

async function runComponent(c: ComponentPlan, opts: PipelineOptions): Promise<void> {
  const { config, reporter, stamps } = opts;
  const env = config.env;
  for (const { stage, steps, fingerprint: fp } of await stageInputs(c, opts.stages, env)) {
    if (steps.length === 0) continue;
    const always = stage === "install";
    if (!opts.force && !always && stamps.upToDate(c.name, stage, fp)) {
      reporter.emit({ type: "stage-skip", component: c.name, stage, reason: "up to date" });
      continue;
    }
    // The stamp goes first: an interrupted or failed stage must not look done, nor anything after it.
    for (const later of opts.stages.slice(opts.stages.indexOf(stage))) await stamps.clear(c.name, later);
    reporter.emit({ type: "stage-start", component: c.name, stage, ...(steps[0] ? { step: steps[0].step } : {}) });
    const started = Date.now();
    try {
      for (const step of steps) {
        if (opts.signal?.aborted) throw opts.signal.reason instanceof InterruptedError ? opts.signal.reason : new InterruptedError("SIGINT");
        if (step.kind === "run") await mkdir(step.cwd, { recursive: true });
        await executeFileOrRunStep(step, {
          baseEnv: env,
          logDir: opts.logDir,
          component: c.name,
          ...(opts.signal ? { signal: opts.signal } : {}),
          ...(opts.jobserver ? { jobserver: opts.jobserver } : {}),
          onLine: (line) => reporter.emit({ type: "output", component: c.name, stage, line }),
          backlog: () => reporter.backlog?.(),
        });
      }
    } catch (e) {
      if (!(e instanceof InterruptedError)) {
        reporter.emit({ type: "stage-fail", component: c.name, stage, message: e instanceof UserError ? e.message.split("\n")[0] ?? "" : String(e) });
      }
      throw e;
    }
    if (!always) await stamps.write(c.name, stage, fp, { stage, steps: steps.map((s) => s.step) });
    reporter.emit({ type: "stage-done", component: c.name, stage, seconds: (Date.now() - started) / 1000 });
  }
}

