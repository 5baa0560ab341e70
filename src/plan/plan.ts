import path from "node:path";
import { COMPONENT_NAMES, type ComponentName } from "../components/names.js";
import { UserError } from "../util/errors.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Enablement, PlanFacts, PlannedStep, Recipe, RecipeContext, Step } from "../components/recipe.js";
import { RECIPES } from "../components/index.js";
import { isTarballLocation } from "../source/tarball.js";
import { datedSteps } from "./reproducible.js";

/** A *_LOC naming a tarball (xqbuild's addition to the glue) takes the place of the git source. */
function sourceOf(recipe: Recipe, ctx: RecipeContext): Step {
  const loc = ctx.word(recipe.sourceVars.loc);
  if (loc !== "" && isTarballLocation(loc)) {
    return { kind: "tarball", url: loc, sha256: ctx.word(recipe.sourceVars.sha256), remoteDir: ctx.root(recipe.dirs.remote), linkDir: ctx.root(recipe.dirs.link) };
  }
  return recipe.source(ctx);
}

export interface ComponentPlan {
  readonly name: ComponentName;
  readonly enabled: boolean;
  readonly reason: string;
  readonly sourceDir: string;
  readonly buildDir: string;
  /** Tracked source files the build itself may write again (the recipe's buildWrites). */
  readonly buildWrites: readonly string[];
  readonly source: Step;
  readonly stages: readonly PlannedStep[];
  /** The recipe's outputs of configure and build, absolute: what a stage's stamp stands for. */
  readonly outputs: { readonly configure: readonly string[]; readonly build: readonly string[] };
  /**
   * With PlanOptions.stagingRoot: the directory this component's install goes into when its files
   * become an artifact (the files it installs, and nothing else), and the install steps planned for it.
   */
  readonly staging?: { readonly dir: string; readonly install: readonly PlannedStep[] };
}

export interface Plan {
  readonly xenRoot: string;
  readonly xenVersion: string;
  readonly release: string;
  readonly mode: ResolvedConfig["mode"];
  readonly components: readonly ComponentPlan[];
  /** What the plan was made from, so that refinePlan adds facts without asking again for the rest. */
  readonly facts: PlanFacts;
  readonly options: PlanOptions;
}

export interface PlanOptions {
  readonly destdir?: string;
  /** Where each component's install is staged for the artifact cache (<stagingRoot>/<name>). */
  readonly stagingRoot?: string;
}

function releaseAtLeast(config: ResolvedConfig, r: { major: number; minor: number }): boolean {
  const { major, minor } = config.xenVersion;
  return major > r.major || (major === r.major && minor >= r.minor);
}

export function enablement(recipe: Recipe, config: ResolvedConfig): Enablement {
  const explicit = config.selected.includes(recipe.name);
  if (recipe.removedIn && releaseAtLeast(config, recipe.removedIn)) {
    const why = `Xen ${recipe.removedIn.major}.${recipe.removedIn.minor} removed ${recipe.name} (this tree is Xen ${config.xenVersion.full})`;
    if (explicit) throw new UserError(`${why}; it cannot be built with this release's glue.`, `Use an older Xen tree for ${recipe.name}, or leave it out.`);
    return { enabled: false, reason: why };
  }
  const sys = recipe.system?.of(config);
  if (sys) {
    if (explicit) throw new UserError(`${recipe.name} is not built: ${sys.from} names the installed ${sys.path}.`, `Leave ${recipe.name} out, or drop ${sys.from}.`);
    return { enabled: false, reason: `the installed ${sys.path} is used (${sys.from})` };
  }
  if (config.selected.length > 0) return { enabled: explicit, reason: explicit ? "named on the command line" : "not named on the command line" };
  const setting = config.settings.components?.[recipe.name]?.enabled;
  if (setting !== undefined) return { enabled: setting, reason: `components.${recipe.name}.enabled in ${config.settingsFile ?? "the xqbuild config"}` };
  // The glue tests these through SUBDIRS-$(CONFIG_...), a variable name, in which make drops blanks.
  const value = (config.vars.get(recipe.enableVar)?.value ?? "").trim();
  return { enabled: value === "y", reason: `${recipe.enableVar}=${value === "" ? "(empty)" : value}` };
}

export function recipeContext(config: ResolvedConfig, facts: PlanFacts, opts: PlanOptions = {}): RecipeContext {
  return {
    config,
    facts,
    v: (name) => config.vars.get(name)?.value ?? "",
    word: (name) => (config.vars.get(name)?.value ?? "").trim(),
    root: (rel) => path.join(config.xenRoot, rel),
    destdir: opts.destdir ? path.resolve(opts.destdir) : "",
  };
}

/** Every step of a component, in stage order. */
export function componentSteps(recipe: Recipe, ctx: RecipeContext): PlannedStep[] {
  const src = sourceOf(recipe, ctx);
  return [
    { ...src, stage: "fetch", step: src.kind },
    ...((src.kind === "git-checkout" || src.kind === "tarball") && recipe.postCheckout ? recipe.postCheckout(ctx) : []),
    ...(recipe.configure?.(ctx) ?? []),
    ...recipe.build(ctx),
    ...recipe.install(ctx),
    ...recipe.clean(ctx),
  ];
}

function outputsOf(recipe: Recipe, ctx: RecipeContext): ComponentPlan["outputs"] {
  const dir = recipe.buildDir(ctx);
  const abs = (rel: readonly string[] | undefined): string[] => (rel ?? []).map((f) => path.resolve(dir, f));
  return { configure: abs(recipe.outputs?.configure), build: abs(recipe.outputs?.build) };
}

/**
 * The dry run: recipes × resolved configuration → what each stage would run. Pure: everything that
 * depends on the file system or the host arrives in `facts`.
 */
export function makePlan(config: ResolvedConfig, facts: PlanFacts, opts: PlanOptions = {}): Plan {
  const ctx = recipeContext(config, facts, opts);
  const names = config.selected.length > 0 ? config.selected : COMPONENT_NAMES;
  const components = COMPONENT_NAMES.filter((n) => names.includes(n)).map((name): ComponentPlan => {
    const recipe = RECIPES[name];
    const { enabled, reason } = enablement(recipe, config);
    return {
      name,
      enabled,
      reason,
      sourceDir: recipe.sourceDir(ctx),
      buildDir: recipe.buildDir(ctx),
      buildWrites: recipe.buildWrites ?? [],
      source: sourceOf(recipe, ctx),
      stages: datedSteps(config, facts.reproducible, name, componentSteps(recipe, ctx)),
      outputs: outputsOf(recipe, ctx),
      ...(opts.stagingRoot !== undefined ? { staging: stagingOf(recipe, config, facts, path.join(opts.stagingRoot, name)) } : {}),
    };
  });
  return { xenRoot: config.xenRoot, xenVersion: config.xenVersion.full, release: config.release.id, mode: config.mode, components, facts, options: opts };
}

function stagingOf(recipe: Recipe, config: ResolvedConfig, facts: PlanFacts, dir: string): NonNullable<ComponentPlan["staging"]> {
  return { dir, install: datedSteps(config, facts.reproducible, recipe.name, recipe.install(recipeContext(config, facts, { destdir: dir }))) };
}

/**
 * The plan once the sources are there: the same plan with the facts that need them (the trace
 * backend QEMU's tracetool accepts) added. A run makes its plan once before fetching (which
 * components, what to fetch, what the host needs) and refines it once after; nothing remakes it.
 */
export function refinePlan(config: ResolvedConfig, plan: Plan, facts: Partial<PlanFacts>): Plan {
  const known = plan.facts as unknown as Record<string, unknown>;
  if (Object.entries(facts).every(([k, v]) => JSON.stringify(known[k]) === JSON.stringify(v))) return plan;
  return makePlan(config, { ...plan.facts, ...facts }, plan.options);
}
