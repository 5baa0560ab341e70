#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { USAGE, helpText, parseArgs, type Args } from "./args.js";
import { configCommand } from "./commands/config.js";
import type { CommandContext } from "./context.js";
import { buildCommand, cleanCommand, distcleanCommand } from "./commands/build.js";
import { distCommand } from "./commands/dist.js";
import { cacheCommand } from "./commands/cache.js";
import { doctorCommand } from "./commands/doctor.js";
import { fetchCommand } from "./commands/fetch.js";
import { planCommand } from "./commands/plan.js";
import { statusCommand } from "./commands/status.js";
import { InterruptedError, UsageError, UserError } from "../util/errors.js";
import { memoryOutput, paint, processOutput, type Output } from "../report/output.js";
import { redactText } from "../util/redact.js";
import { installSignalHandlers, interruption, processSignal } from "../util/signals.js";
import { xqbuildVersion } from "../util/version.js";

async function dispatch(ctx: CommandContext): Promise<number> {
  switch (ctx.args.command) {
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
    case "cache":
      return cacheCommand(ctx);
    default: {
      const never: never = ctx.args.command;
      throw new Error(`internal: unknown command ${String(never)}`);
    }
  }
}

function printError(o: Output, e: unknown): number {
  if (e instanceof InterruptedError) {
    o.err(`xqbuild: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof UserError) {
    o.err(`${paint(o, "1;31", "xqbuild: error:")} ${e.message}${e.hint ? `\n${e.hint}` : ""}`);
    if (e instanceof UsageError) o.err(USAGE);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const dubious = /detected dubious ownership in repository at '([^']*)'/.exec(err.message);
  if (dubious) {
    o.err(
      `${paint(o, "1;31", "xqbuild: error:")} git refuses ${dubious[1]}: it belongs to another user ("dubious ownership").\nRun xqbuild as that user, chown the tree to yourself, or trust it with: git config --global --add safe.directory ${dubious[1]}`,
    );
    return 1;
  }
  o.err(
    `xqbuild: internal error (a bug in xqbuild ${xqbuildVersion()}, node ${process.version}, ${process.platform}-${process.arch}); please report it with this output:\n${err.stack ?? err.message}`,
  );
  return 70;
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
    return printError(output, e);
  }
  if (args.version) {
    output.out(`xqbuild ${xqbuildVersion()}`);
    return 0;
  }
  if (args.help) {
    output.out(helpText(argv.some((a) => a === args.command) ? args.command : undefined));
    return 0;
  }
  try {
    const code = await dispatch({ args, cwd: opts.cwd ?? process.cwd(), env, output, ...(opts.signal ? { signal: opts.signal } : {}) });
    // A signal that arrived after the last check still ends the run as interrupted (128 + n).
    const stopped = interruption(opts.signal);
    return stopped ? printError(output, stopped) : code;
  } catch (e) {
    // Whatever an interrupted phase threw on its way out (a killed git's error, an AbortError), the
    // run was interrupted: one message, one exit code.
    return printError(output, interruption(opts.signal) ?? e);
  }
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
    },
    (e: unknown) => {
      process.stderr.write(redactText(`xqbuild: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`));
      process.exitCode = 70;
    },
  );
}
