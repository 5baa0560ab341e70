import type { Args } from "./args.js";
import { resolveConfig } from "../config/resolve.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Reporter } from "../report/events.js";
import type { Output } from "../report/output.js";
import type { FetchOptions } from "../source/fetch.js";
import type { TreeLockOptions } from "../util/tree.js";

/** What every command is given. */
export interface CommandContext {
  readonly args: Args;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly output: Output;
  /** Where everything that happens goes; reporters are the only printers (src/report/). */
  readonly reporter: Reporter;
  /** Aborted with an InterruptedError on SIGINT or SIGTERM. */
  readonly signal?: AbortSignal;
}

/** Resolves the configuration for a command and prints its warnings. */
export async function loadConfig(ctx: CommandContext): Promise<ResolvedConfig> {
  const a = ctx.args;
  const config = await resolveConfig({
    cwd: ctx.cwd,
    ...(a.xenRoot !== undefined ? { xenRoot: a.xenRoot } : {}),
    standalone: a.standalone,
    ...(a.xenVersion !== undefined ? { xenVersion: a.xenVersion } : {}),
    commandLine: a.assignments,
    env: ctx.env,
    ...(a.configFile !== undefined ? { configFile: a.configFile } : {}),
    selected: a.components,
    ...(a.jobs !== undefined ? { jobs: a.jobs } : {}),
    offline: a.offline,
    features: a.features,
    ...(a.systemQemu !== undefined ? { systemQemu: a.systemQemu } : {}),
    ...(a.systemSeabios !== undefined ? { systemSeabios: a.systemSeabios } : {}),
  });
  for (const w of config.warnings) ctx.reporter.emit({ type: "message", level: "warn", text: w });
  return config;
}

/** The fetch options a command's arguments give. */
export function fetchOptionsOf(ctx: CommandContext, update: boolean): FetchOptions {
  const a = ctx.args;
  return {
    update,
    force: a.force,
    locked: a.locked,
    updateLock: a.updateLock,
    ...treeLockOf(ctx),
    emit: (e) => ctx.reporter.emit(e),
  };
}

/** How a command waits for the tree's lock: --lock-timeout, and the run's signal. */
export function treeLockOf(ctx: CommandContext): TreeLockOptions {
  return { ...(ctx.args.lockTimeoutMs !== undefined ? { lockTimeoutMs: ctx.args.lockTimeoutMs } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) };
}
