import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import path from "node:path";
import type { ComponentName } from "../components/names.js";
import type { PlannedStep, ReproducibleFacts } from "../components/recipe.js";
import { envSourceDateEpoch } from "../config/env.js";
import type { ResolvedConfig } from "../config/types.js";
import { gitEnvironment } from "../source/git.js";
import { UserError } from "../util/errors.js";

/*
 * The `reproducible: true` setting (issue 16, point 4): the same inputs built in two trees at
 * different paths give the same bytes. What the compilers are told (QEMU's -ffile-prefix-map) is the
 * recipe's (components/reproducible.ts); what every component shares is here: SOURCE_DATE_EPOCH in
 * the environment of each configure, build and install command, so that whatever a build stamps with
 * "now" (a date in a version string, an archive member's time) stamps the source's date instead.
 * Off, nothing here changes a step: the argv and environment stay exactly the glue's.
 */

/** Whether the config file asks for reproducible binaries. */
export function reproducibleOn(config: ResolvedConfig): boolean {
  return config.settings.reproducible === true;
}

/** Stages whose commands get SOURCE_DATE_EPOCH: the ones that compile and install (fetch's run before the commit is known). */
const DATED_STAGES = new Set(["configure", "build", "install"]);

/**
 * SOURCE_DATE_EPOCH as the user's environment gives it, checked: the reproducible-builds convention is
 * that a packager who sets it decides (dpkg sets it from debian/changelog), so it wins over the commit.
 */
function environmentEpoch(config: ResolvedConfig): string | undefined {
  return envSourceDateEpoch(config.env, "with reproducible: true every build runs with it (unset, each source's commit date is taken)");
}

/** The committer date of HEAD in `dir`, in seconds, or undefined when `dir` is no git checkout (not fetched yet, or a plain directory). */
function commitDate(dir: string, env: Readonly<Record<string, string>>): string | undefined {
  if (!existsSync(path.join(dir, ".git"))) return undefined;
  const r = spawnSync("git", ["-C", dir, "show", "-s", "--format=%ct", "HEAD"], { env: gitEnvironment(env), encoding: "utf8", timeout: 60_000 });
  const out = (r.stdout ?? "").trim();
  return r.status === 0 && /^\d+$/.test(out) ? out : undefined;
}

function realOrSame(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * The facts the setting needs, read once per plan: each component's SOURCE_DATE_EPOCH (the
 * environment's, else its source's commit date) and the real paths of the tree and of the source
 * directories (a compiler records the working directory as getcwd() gives it, links resolved).
 * Undefined when the setting is off, so that a plan without it reads nothing.
 */
export function reproducibleFacts(config: ResolvedConfig, sourceDirs: Readonly<Partial<Record<ComponentName, string>>>): ReproducibleFacts | undefined {
  if (!reproducibleOn(config)) return undefined;
  const fromEnv = environmentEpoch(config);
  const sourceDates: Partial<Record<ComponentName, string>> = {};
  const realPaths: Record<string, string> = {};
  const root = path.resolve(config.xenRoot);
  realPaths[root] = realOrSame(root);
  for (const [name, dir] of Object.entries(sourceDirs) as Array<[ComponentName, string]>) {
    const date = fromEnv ?? commitDate(dir, config.env);
    if (date !== undefined) sourceDates[name] = date;
    realPaths[path.resolve(dir)] = realOrSame(dir);
  }
  return { sourceDates, realPaths, ...(fromEnv !== undefined ? { fromEnvironment: true } : {}) };
}

/** The steps of a component with SOURCE_DATE_EPOCH set in each configure, build and install command's environment, when the setting is on and the date is known. */
export function datedSteps(config: ResolvedConfig, facts: ReproducibleFacts | undefined, name: ComponentName, steps: PlannedStep[]): PlannedStep[] {
  const epoch = facts?.sourceDates[name];
  if (!reproducibleOn(config) || epoch === undefined) return steps;
  return steps.map((s) => (s.kind === "run" && DATED_STAGES.has(s.stage) ? { ...s, env: { ...s.env, SOURCE_DATE_EPOCH: epoch } } : s));
}

/**
 * Before a build with the setting on: each component to build has a SOURCE_DATE_EPOCH (its source
 * is a git checkout, or the environment gives one). A plain source directory has no commit to date
 * it by; building it with "now" would quietly give other bytes on every run.
 */
export function requireSourceDates(config: ResolvedConfig, components: ReadonlyArray<{ readonly name: ComponentName; readonly sourceDir: string }>, facts: ReproducibleFacts | undefined): void {
  if (!reproducibleOn(config)) return;
  for (const c of components) {
    if (facts?.sourceDates[c.name] !== undefined) continue;
    throw new UserError(
      `${c.name}: reproducible: true (${config.settingsFile ?? "the xqbuild config file"}) builds with SOURCE_DATE_EPOCH set to the source's commit date, but ${c.sourceDir} is not a git checkout, so it has none.`,
      "Set SOURCE_DATE_EPOCH in the environment (whole seconds since 1970, the date the source was released), make the source a git repository, or set reproducible: false.",
    );
  }
}
