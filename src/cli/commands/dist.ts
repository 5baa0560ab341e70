import path from "node:path";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { writeDists } from "../../source/dist.js";
import { loadConfig, type CommandContext } from "../context.js";

/** `xqbuild dist [component...]`: reproducible tarballs of the fetched trees, with .sha256 files. */
export async function distCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config, { probe: false }));
  const results = await writeDists(config, plan.components, ctx.signal);
  if (ctx.args.json) ctx.output.out(JSON.stringify(results, null, 2));
  else for (const r of results) ctx.output.out(`${r.sha256}  ${path.relative(ctx.cwd, r.file) || r.file}`);
  return 0;
}
