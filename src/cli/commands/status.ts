import { stagingRootOf } from "../../engine/build.js";
import { treeStatus } from "../../engine/status.js";
import { statusText } from "../../report/status-text.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { loadConfig, type CommandContext } from "../context.js";

/** `xqbuild status [--json]`: the state of each component's source and stages. */
export async function statusCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config), { stagingRoot: stagingRootOf(config) });
  const all = await treeStatus(config, plan);
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify({ xenRoot: config.xenRoot, xenVersion: config.xenVersion.full, components: all }, null, 2));
    return 0;
  }
  for (const line of statusText(config.xenRoot, all)) ctx.output.out(line);
  return 0;
}
