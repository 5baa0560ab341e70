import { lstatSync, statSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { FailureError } from "../util/errors.js";
import { assertInside, isWithin, replaceFile } from "../util/fs.js";
import type { PlannedStep, Recipe, ResolvedRun, RunStep } from "../components/recipe.js";
import { RECIPES } from "../components/index.js";
import { isComponentName } from "../components/names.js";
import type { JobServer } from "./jobserver.js";
import { runCommand } from "./run.js";

export type { ResolvedRun } from "../components/recipe.js";

export interface StepContext {
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly logDir: string;
  readonly component: string;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string) => void;
  readonly jobserver?: JobServer;
  readonly backlog?: () => Promise<void> | undefined;
  /** The run step's command line, when the caller has already resolved it (to name the step). */
  readonly resolved?: ResolvedRun;
  /** A run step: called when it holds its job slots and starts (see RunOptions.onStart). */
  readonly onStart?: (jobs: number | undefined) => void;
  /**
   * A copy or write below this directory (DESTDIR) must stay inside it: a DESTDIR whose usr is a
   * link to /usr is refused before anything is made through it.
   */
  readonly writeRoot?: string;
}

/**
 * Carries out a step that is a command or a file operation. Source steps (git-checkout,
 * local-source) belong to the source layer and are refused here.
 */
export async function executeFileOrRunStep(step: PlannedStep, ctx: StepContext): Promise<void> {
  switch (step.kind) {
    case "run": {
      const { argv, env, jobsFlag, name } = ctx.resolved ?? (await resolveRun(step, ctx.baseEnv, recipeOf(ctx.component)));
      const logFile = path.join(ctx.logDir, `${ctx.component}-${step.stage}.log`);
      // The log is appended to: a link at its name (a tree handed over with its .xqbuild/logs/
      // pointing at ~/.bashrc) is removed first, never appended through.
      if (lstatSync(logFile, { throwIfNoEntry: false })?.isSymbolicLink()) await rm(logFile, { force: true });
      await runCommand(step.cwd, argv, env, {
        ...(jobsFlag ? { jobsFlag: true } : {}),
        baseEnv: ctx.baseEnv,
        logFile,
        // Named after what runs: QEMU's build may be its ninja line rather than make.
        label: `${ctx.component} ${step.stage} (${name ?? step.step})`,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.onLine ? { onLine: ctx.onLine } : {}),
        ...(ctx.jobserver ? { jobserver: ctx.jobserver } : {}),
        ...(step.parallelism === "static" ? { staticJobs: true } : {}),
        ...(ctx.backlog ? { backlog: ctx.backlog } : {}),
        ...(ctx.onStart ? { onStart: ctx.onStart } : {}),
      });
      return;
    }
    case "copy": {
      if (ctx.writeRoot !== undefined && isWithin(path.resolve(step.to), path.resolve(ctx.writeRoot))) assertInside(path.dirname(step.to), ctx.writeRoot, "the install target's directory");
      await mkdir(path.dirname(step.to), { recursive: true });
      try {
        // Replaced, not written through: the target may be a link a fetched tree tracks. A file the
        // recipe has built in (SeaBIOS's standalone .config) is its text.
        const builtin = recipeOf(ctx.component)?.builtinContent?.(step.from);
        const mode = step.mode ?? (builtin !== undefined ? undefined : statSync(step.from).mode & 0o777);
        await replaceFile(step.to, builtin !== undefined ? { content: builtin } : { from: step.from }, mode);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new FailureError(`${ctx.component}: cannot copy ${step.from} to ${step.to}: ${err.code ?? err.message}.`);
      }
      return;
    }
    case "write":
      if (ctx.writeRoot !== undefined && isWithin(path.resolve(step.path), path.resolve(ctx.writeRoot))) assertInside(path.dirname(step.path), ctx.writeRoot, "the install target's directory");
      await mkdir(path.dirname(step.path), { recursive: true });
      await replaceFile(step.path, { content: step.content });
      return;
    case "git-checkout":
    case "tarball":
    case "local-source":
      throw new Error(`internal: ${step.kind} is a source step`);
    default: {
      const never: never = step;
      throw new Error(`internal: unknown step ${JSON.stringify(never)}`);
    }
  }
}

/** The recipe of a component, for the engine's questions to it (see the end of the Recipe contract). */
export function recipeOf(component: string): Recipe | undefined {
  return isComponentName(component) ? RECIPES[component] : undefined;
}

/**
 * A run step's command line as it runs: the recipe's answer once its build directory is configured
 * (see Recipe.resolveRun), else as planned. `plan` shows this and the executor runs it, so the two
 * cannot differ.
 */
export async function resolveRun(step: RunStep, env: Readonly<Record<string, string>> = {}, recipe?: Recipe): Promise<ResolvedRun> {
  return (await recipe?.resolveRun?.(step, env)) ?? { argv: step.argv, env: step.env };
}

/** What a stage's step is called in progress lines and errors: the tool that runs, when xqbuild chose another than the recipe's. */
export function stepName(step: PlannedStep, resolved: ResolvedRun | undefined): string {
  return resolved?.name ?? step.step;
}
