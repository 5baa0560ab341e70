import { statSync } from "node:fs";
import path from "node:path";
import { COMPONENT_NAMES, type ComponentName } from "../components/names.js";
import { RECIPES } from "../components/index.js";
import type { ComponentFacts, PlanFacts } from "../components/recipe.js";
import type { ResolvedConfig } from "../config/types.js";
import { recipeContext } from "./plan.js";
import { reproducibleFacts } from "./reproducible.js";

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The facts a plan needs from the file system: which *_LOC are directories (tested as the glue does,
 * `test -d $(LOC)` from the recipe's locBase), then each recipe's own facts (QEMU's trace probe), and
 * with `reproducible: true` the sources' commit dates (plan/reproducible.ts).
 */
export function gatherFacts(config: ResolvedConfig, opts: { readonly probe?: boolean } = {}): PlanFacts {
  const locIsDir: Partial<Record<ComponentName, boolean>> = {};
  for (const name of COMPONENT_NAMES) {
    const recipe = RECIPES[name];
    const loc = (config.vars.get(recipe.sourceVars.loc)?.value ?? "").trim();
    const base = path.join(config.xenRoot, recipe.locBase ?? "tools");
    locIsDir[name] = loc !== "" && !/^[a-z+]+:\/\//i.test(loc) && isDir(path.resolve(base, loc));
  }
  const reproducible = reproducibleFacts(config, sourceDirsOf(config, locIsDir));
  return { locIsDir, components: recipeFacts(config, locIsDir, opts.probe !== false), ...(reproducible ? { reproducible } : {}) };
}

/** Each component's source directory, as the recipes plan it. */
function sourceDirsOf(config: ResolvedConfig, locIsDir: PlanFacts["locIsDir"]): Partial<Record<ComponentName, string>> {
  const ctx = recipeContext(config, { locIsDir });
  return Object.fromEntries(COMPONENT_NAMES.map((name) => [name, RECIPES[name].sourceDir(ctx)]));
}

/**
 * The facts once the sources are there: each recipe's own facts again, now allowed to ask the
 * fetched source (QEMU's tracetool). A run makes its plan with `probe: false` before fetching and
 * refines it once with these (plan/plan.ts refinePlan).
 */
export function sourceFacts(config: ResolvedConfig, facts: PlanFacts): Partial<PlanFacts> {
  const reproducible = reproducibleFacts(config, sourceDirsOf(config, facts.locIsDir));
  return { components: recipeFacts(config, facts.locIsDir, true), ...(reproducible ? { reproducible } : {}) };
}

/** Each recipe's own facts (Recipe.facts), given which *_LOC are directories; `probe`: see FactsInput. */
function recipeFacts(config: ResolvedConfig, locIsDir: PlanFacts["locIsDir"], probe: boolean): Partial<Record<ComponentName, ComponentFacts>> {
  const ctx = recipeContext(config, { locIsDir });
  const components: Partial<Record<ComponentName, ComponentFacts>> = {};
  for (const name of COMPONENT_NAMES) {
    const recipe = RECIPES[name];
    if (recipe.facts) components[name] = recipe.facts({ config, sourceDir: recipe.sourceDir(ctx), local: locIsDir[name] === true, probe });
  }
  return components;
}
