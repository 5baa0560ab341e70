#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CommandLineError, USAGE, parseArgs, usageLine, type Args, type Command } from "./args.js";
import { completionScript, type Shell } from "./completion.js";
import { dryRunCommand, type DryRunCommand } from "./dry-run.js";
import { helpText } from "./help.js";
import { manPage } from "./man.js";
import { configCommand } from "./commands/config.js";
import type { CommandContext } from "./context.js";
import { buildCommand, cleanCommand, distcleanCommand } from "./commands/build.js";
import { distCommand } from "./commands/dist.js";
import { legalInfoCommand } from "./commands/legal-info.js";
import { sbomCommand } from "./commands/sbom.js";
import { cacheCommand } from "./commands/cache.js";
import { doctorCommand } from "./commands/doctor.js";
import { fetchCommand } from "./commands/fetch.js";
import { planCommand } from "./commands/plan.js";
import { statusCommand } from "./commands/status.js";
import { InterruptedError, UsageError, UserError } from "../util/errors.js";
import type { Reporter, XqEvent } from "../report/events.js";
import { makeReporter } from "../report/make.js";
import { reporterEnv } from "../config/env.js";
import { memoryOutput, processOutput, type Output } from "../report/output.js";
import { jsonReporter, plainReporter } from "../report/plain.js";
import { redactText } from "../util/redact.js";
import { installSignalHandlers, interruption, processSignal } from "../util/signals.js";
import { xqbuildVersion } from "../util/version.js";

async function dispatch(ctx: CommandContext): Promise<number> {
  if (ctx.args.dryRun) return dryRunCommand(ctx, ctx.args.command as DryRunCommand);
  switch (ctx.args.command) {
    case "help":
      ctx.output.out(helpText(ctx.args.words[0] as Command | undefined));
      return 0;
    case "completion":
      ctx.output.out(completionScript(ctx.args.words[0] as Shell));
      return 0;
    case "man":
      ctx.output.out(manPage());
      return 0;
    case "config":
      return configCommand(ctx);
    case "plan":
      return planCommand(ctx);
    case "fetch":
      return fetchCommand(ctx, { update: false });
    case "update":
      return fetchCommand(ctx, { update: true });
    case "all":
    case "configure":
    case "build":
    case "install":
      return buildCommand(ctx, ctx.args.command);
    case "clean":
      return cleanCommand(ctx);
    case "distclean":
      return distcleanCommand(ctx);
    case "doctor":
      return doctorCommand(ctx);
    case "status":
      return statusCommand(ctx);
    case "dist":
      return distCommand(ctx);
    case "legal-info":
      return legalInfoCommand(ctx);
    case "sbom":
      return sbomCommand(ctx);
    case "cache":
      return cacheCommand(ctx);
    default: {
      const never: never = ctx.args.command;
      throw new Error(`internal: unknown command ${String(never)}`);
    }
  }
}

/** Commands that do work (fetch, build, clean): a live view on a terminal, NDJSON events with --json. */
const WORK_COMMANDS: ReadonlySet<Args["command"]> = new Set(["fetch", "update", "all", "configure", "build", "install", "clean", "distclean"]);

/** An error as the event every reporter renders; its kind picks the exit code. */
export function errorEvent(e: unknown): Extract<XqEvent, { type: "error" }> {
  if (e instanceof InterruptedError) return { type: "error", kind: "interrupted", message: e.message, exitCode: e.exitCode };
  if (e instanceof UserError) {
    // A usage error ends with the usage line of the command it was found with, then the general one.
    const usage = e instanceof CommandLineError && e.command !== undefined ? [usageLine(e.command), USAGE] : [USAGE];
    const hint = e instanceof UsageError ? [e.hint, ...usage].filter((h) => h !== undefined).join("\n") : e.hint;
    return { type: "error", kind: e.kind, message: e.message, ...(hint !== undefined ? { hint } : {}), exitCode: e.exitCode };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    type: "error",
    kind: "internal",
    message: `internal error (a bug in xqbuild ${xqbuildVersion()}, node ${process.version}, ${process.platform}-${process.arch}); please report it with this output:\n${err.stack ?? err.message}`,
    exitCode: 70,
  };
}

function reportError(reporter: Reporter, e: unknown): number {
  const event = errorEvent(e);
  reporter.emit(event);
  return event.exitCode;
}

/** Runs xqbuild with the given arguments and returns its exit code; nothing else exits the process. */
export async function main(
  argv: readonly string[],
  opts: { cwd?: string; env?: Readonly<Record<string, string | undefined>>; output?: Output; signal?: AbortSignal } = {},
): Promise<number> {
  const env = opts.env ?? process.env;
  const output = opts.output ?? processOutput(env);
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    const reporter = argv.includes("--json") ? jsonReporter(output, { document: true }) : plainReporter(output, { verbose: false, quiet: false });
    const code = reportError(reporter, e);
    await reporter.close();
    return code;
  }
  if (args.version) {
    output.out(`xqbuild ${xqbuildVersion()}`);
    return 0;
  }
  if (args.help) {
    output.out(helpText(args.commandGiven ? args.command : undefined));
    return 0;
  }
  const reporter = await makeReporter(output, {
    json: args.json,
    verbose: args.verbose,
    quiet: args.quiet,
    live: WORK_COMMANDS.has(args.command) && !args.dryRun,
    ...reporterEnv(env),
  });
  const started = Date.now();
  let code: number;
  try {
    code = await dispatch({ args, cwd: opts.cwd ?? process.cwd(), env, output, reporter, ...(opts.signal ? { signal: opts.signal } : {}) });
    // A signal that arrived after the last check still ends the run as interrupted (128 + n).
    const stopped = interruption(opts.signal);
    if (stopped) code = reportError(reporter, stopped);
  } catch (e) {
    // Whatever an interrupted phase threw on its way out (a killed git's error, an AbortError), the
    // run was interrupted: one message, one exit code.
    code = reportError(reporter, interruption(opts.signal) ?? e);
  }
  const stopped = interruption(opts.signal);
  reporter.emit({ type: "run-end", ok: code === 0, seconds: (Date.now() - started) / 1000, exitCode: code, ...(stopped ? { signal: stopped.signal } : {}) });
  await reporter.close();
  return code;
}

export { memoryOutput };

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // Ctrl-C, SIGTERM (also when sent to xqbuild's pid alone, as CI runners do) or SIGHUP (the
  // terminal closed): one path (src/signals.ts) stops every child's process group and every
  // in-process phase, writes no stamp for the interrupted stage, removes what it was writing, exits
  // 130, 143 or 129.
  installSignalHandlers();
  main(process.argv.slice(2), { signal: processSignal }).then(
    (code) => {
      process.exitCode = code;
      // Interrupted: the cleanup is done and the reporter closed. What is still running inside the
      // process (node-tar reading the rest of a large file into the pack it no longer writes, a
      // retry's timer) must not hold the exit back: end now (the exit hooks still run).
      if (interruption(processSignal)) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(redactText(`xqbuild: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`));
      process.exitCode = 70;
    },
  );
}
