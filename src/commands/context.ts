import type { Args } from "../args.js";
import { resolveConfig } from "../config/resolve.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Output } from "../report/output.js";

/** What every command is given. */
export interface CommandContext {
  readonly args: Args;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly output: Output;
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
  for (const w of config.warnings) ctx.output.err(`xqbuild: warning: ${w}`);
  return config;
}
