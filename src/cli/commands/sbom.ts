import path from "node:path";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { stagingRootOf } from "../../engine/build.js";
import { fsUserError, writeFileAtomic } from "../../util/fs.js";
import { loadConfig, type CommandContext } from "../context.js";

/**
 * `xqbuild sbom [component...] [--format cyclonedx|spdx] [-o FILE]`: the SBOM of the fetched and
 * built components on standard output, or into FILE (written aside and renamed). The SBOM writers
 * (and the CycloneDX library) are loaded only here, not by every command.
 */
export async function sbomCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  // With the staging directories: the artifact key (and so the installed files) is the install's.
  const plan = makePlan(config, gatherFacts(config, { probe: false }), { stagingRoot: stagingRootOf(config) });
  const { gatherBill, renderSbom } = await import("../../packaging/sbom.js");
  const bill = await gatherBill(config, plan, ctx.signal ? { signal: ctx.signal } : {});
  for (const w of bill.warnings) ctx.reporter.emit({ type: "message", level: "warn", text: w });
  const text = renderSbom(bill, ctx.args.sbomFormat ?? "cyclonedx");
  if (ctx.args.outputFile === undefined) {
    ctx.output.out(text.trimEnd());
    return 0;
  }
  const file = path.resolve(ctx.cwd, ctx.args.outputFile);
  await writeFileAtomic(file, text).catch((e: unknown) => {
    throw fsUserError(e, file, "the SBOM file (-o)");
  });
  if (!ctx.args.quiet) ctx.reporter.emit({ type: "message", level: "info", text: `xqbuild sbom: wrote ${path.relative(ctx.cwd, file) || file}` });
  return 0;
}
