import { copyFile, chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { BUILTIN_PREFIX, builtinFile } from "../builtin/seabios-config.js";
import { FailureError } from "../errors.js";
import type { PlannedStep } from "../recipe.js";
import type { JobServer } from "./jobserver.js";
import { runCommand } from "./run.js";

export interface StepContext {
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly logDir: string;
  readonly component: string;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string) => void;
  readonly jobserver?: JobServer;
  readonly backlog?: () => Promise<void> | undefined;
}

/**
 * Carries out a step that is a command or a file operation. Source steps (git-checkout,
 * local-source) belong to the source layer and are refused here.
 */
export async function executeFileOrRunStep(step: PlannedStep, ctx: StepContext): Promise<void> {
  switch (step.kind) {
    case "run":
      await runCommand(step.cwd, step.argv, step.env, {
        baseEnv: ctx.baseEnv,
        logFile: path.join(ctx.logDir, `${ctx.component}-${step.stage}.log`),
        label: `${ctx.component} ${step.stage} (${step.step})`,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.onLine ? { onLine: ctx.onLine } : {}),
        ...(ctx.jobserver ? { jobserver: ctx.jobserver } : {}),
        ...(step.parallelism === "static" ? { staticJobs: true } : {}),
        ...(ctx.backlog ? { backlog: ctx.backlog } : {}),
      });
      return;
    case "copy": {
      await mkdir(path.dirname(step.to), { recursive: true });
      try {
        if (step.from.startsWith(BUILTIN_PREFIX)) await writeFile(step.to, builtinFile(step.from) ?? "");
        else await copyFile(step.from, step.to);
        if (step.mode !== undefined) await chmod(step.to, step.mode);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new FailureError(`${ctx.component}: cannot copy ${step.from} to ${step.to}: ${err.code ?? err.message}.`);
      }
      return;
    }
    case "write":
      await mkdir(path.dirname(step.path), { recursive: true });
      await writeFile(step.path, step.content);
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
