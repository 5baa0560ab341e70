import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import type { ComponentPlan, Plan } from "../plan/plan.js";
import type { EnvChanges, PlannedStep, ResolvedRun } from "../components/recipe.js";
import type { ArtifactCache } from "../cache/cache.js";
import { loadPatchQueue } from "../source/patches.js";
import { shellQuote } from "../report/output.js";
import { artifactKey, cacheable } from "./pipeline.js";
import { recipeOf, resolveRun } from "./steps.js";

/** A run step as it will execute: what the executor hands runCommand, and a line to paste that does the same. */
export interface ExplainedRun {
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly env: EnvChanges;
  /** The executor puts -j<the job slots it holds> after argv[0] (as make hands ninja its -jN). */
  readonly jobsFlag?: boolean;
  /** The tool that runs in place of the recipe's command (ninja, meson install). */
  readonly name?: string;
  /** argv shell-quoted, with its environment and directory (-j: the run's job count). */
  readonly command: string;
}

export type ExplainedStep = PlannedStep & { readonly runs?: ExplainedRun };

/** The artifact cache's lookup for a component: its key and where it is looked for. */
export interface CacheLookup {
  readonly key?: string;
  /** Why there is no key (not fetched yet, a local source). */
  readonly why?: string;
  readonly local: string;
  /** In the local store now. */
  readonly hit?: boolean;
  readonly remote?: string;
  /** The directory install stages into, whose files become the artifact. */
  readonly staging?: string;
  readonly stagingInstall?: readonly ExplainedStep[];
}

export interface ExplainedComponent {
  readonly plan: ComponentPlan;
  readonly steps: readonly ExplainedStep[];
  readonly patches: ReadonlyArray<{ readonly name: string; readonly file: string; readonly sha256: string; readonly strip: number; readonly tool: string }>;
  readonly cache?: CacheLookup;
}

/** A command line a user can paste into a shell: the same directory, environment and argv. */
export function pasteable(cwd: string, argv: readonly string[], env: EnvChanges): string {
  const changes = Object.entries(env).map(([k, v]) => (v === null ? `-u ${k}` : `${k}=${shellQuote(v)}`));
  return `(cd ${shellQuote(cwd)} && ${changes.length ? `env ${changes.join(" ")} ` : ""}${argv.map(shellQuote).join(" ")})`;
}

async function explainStep(c: ComponentPlan, s: PlannedStep, env: Readonly<Record<string, string>>, jobs: number): Promise<ExplainedStep> {
  if (s.kind !== "run") return s;
  const r: ResolvedRun = await resolveRun(s, env, recipeOf(c.name));
  const shown = r.jobsFlag ? [r.argv[0] ?? "", `-j${jobs}`, ...r.argv.slice(1)] : r.argv;
  return {
    ...s,
    runs: { cwd: s.cwd, argv: r.argv, env: r.env, ...(r.jobsFlag ? { jobsFlag: true } : {}), ...(r.name !== undefined ? { name: r.name } : {}), command: pasteable(s.cwd, shown, r.env) },
  };
}

/**
 * The plan as it will execute, resolved against what is on disk now: each run step's command line
 * as the executor will run it (the same resolveRun), each component's patch queue with the sha256 of
 * each patch, and the artifact cache's lookup (its key once the source is there, unless keys is
 * false: the key costs a git status and a pkg-config). A dry run: nothing
 * is written, nothing is fetched, the remote cache is named but not asked.
 */
export async function explainPlan(config: ResolvedConfig, plan: Plan, cache: ArtifactCache | undefined, opts: { readonly keys?: boolean } = {}): Promise<ExplainedComponent[]> {
  const env = config.env;
  return Promise.all(
    plan.components.map(async (c): Promise<ExplainedComponent> => {
      if (!c.enabled) return { plan: c, steps: c.stages, patches: [] };
      const steps = await Promise.all(c.stages.map((s) => explainStep(c, s, env, config.jobs)));
      const own = config.settings.components?.[c.name];
      const patches = c.source.kind === "local-source" ? [] : loadPatchQueue(own?.patches, `the patch queue of ${c.name}`, own?.patchTool);
      const explained = patches.map((p) => ({ name: p.name, file: p.file, sha256: createHash("sha256").update(p.content).digest("hex"), strip: p.strip, tool: p.tool }));
      return { plan: c, steps, patches: explained, ...(cache ? { cache: await lookupOf(config, c, cache, opts.keys !== false) } : {}) };
    }),
  );
}

async function lookupOf(config: ResolvedConfig, c: ComponentPlan, cache: ArtifactCache, keys: boolean): Promise<CacheLookup> {
  const where = { local: cache.store.dir, ...(cache.remote ? { remote: cache.remote.url } : {}) };
  if (!cacheable(c) || !c.staging) return { ...where, why: `${c.source.kind}: a source used in place is always built` };
  const staging = { staging: c.staging.dir, stagingInstall: await Promise.all(c.staging.install.map((s) => explainStep(c, s, config.env, config.jobs))) };
  if (!keys) return { ...where, ...staging };
  if (!existsSync(path.join(c.sourceDir, ".git"))) return { ...where, ...staging, why: "not fetched yet: the key is the fetched commit's" };
  const key = await artifactKey(c, c.staging.install, c.staging.dir, config.xenRoot, config.env, undefined, { record: false });
  return { ...where, ...staging, key, hit: cache.store.lookup(key) !== undefined };
}
