import { existsSync, readFileSync, realpathSync } from "node:fs";
import { copyFile, chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { BUILTIN_PREFIX, builtinFile } from "../builtin/seabios-config.js";
import { FailureError } from "../errors.js";
import type { EnvChanges, PlannedStep, Step } from "../recipe.js";
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
    case "run": {
      const { argv, env } = resolveRun(step);
      await runCommand(step.cwd, argv, env, {
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
    }
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

type RunStep = Extract<Step, { kind: "run" }>;

/**
 * The build outputs a meson build directory installs, relative to it (meson-info/intro-installed.json:
 * installed path by built or source path); undefined when that is not known.
 */
export function installedTargets(buildDir: string): string[] | undefined {
  const file = path.join(buildDir, "meson-info", "intro-installed.json");
  if (!existsSync(file)) return undefined;
  let map: unknown;
  try {
    map = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof map !== "object" || map === null) return undefined;
  const roots = new Set([path.resolve(buildDir), realpathSync(buildDir)]);
  const out: string[] = [];
  for (const from of Object.keys(map)) {
    for (const root of roots) {
      if (from.startsWith(`${root}/`)) {
        out.push(from.slice(root.length + 1));
        break;
      }
    }
  }
  return out.length > 0 ? [...new Set(out)].sort() : undefined;
}

/** The command of build.ninja's meson-internal__install (what `make install` runs after `all`), split into words. */
export function mesonInstallCommand(buildDir: string): string[] | undefined {
  const file = path.join(buildDir, "build.ninja");
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, "utf8").split("\n");
  const at = lines.findIndex((l) => l.startsWith("build meson-internal__install:"));
  if (at < 0) return undefined;
  for (let i = at + 1; i < lines.length && /^\s/.test(lines[i] ?? ""); i++) {
    const m = /^\s+COMMAND = (.*)$/.exec(lines[i] ?? "");
    if (!m) continue;
    const cmd = (m[1] ?? "").trim();
    // Only a plain command: anything ninja or a shell would interpret is left to make install.
    if (/[$'"\\;&|<>`]/.test(cmd)) return undefined;
    const words = cmd.split(/\s+/);
    return words.includes("install") && words.includes("--no-rebuild") ? words : undefined;
  }
  return undefined;
}

/** A run step's command line as it runs: goals and install resolved against the configured build directory. */
export function resolveRun(step: RunStep): { argv: readonly string[]; env: EnvChanges } {
  let argv: readonly string[] = step.argv;
  let env: EnvChanges = step.env;
  if (step.goals === "installed") {
    const targets = installedTargets(step.cwd);
    if (targets) argv = argv.flatMap((a) => (a === "all" ? targets : [a]));
  }
  if (step.install === "meson") {
    const cmd = mesonInstallCommand(step.cwd);
    if (cmd) {
      const destdir = argv.find((a) => a.startsWith("DESTDIR="));
      argv = cmd;
      if (destdir !== undefined) env = { ...env, DESTDIR: destdir.slice("DESTDIR=".length) };
    }
  }
  return { argv, env };
}
