import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { artifactCacheFor } from "../../cache/from-config.js";
import { stagingRootOf } from "../../engine/build.js";
import { explainPlan } from "../../engine/explain.js";
import { planJson, planText } from "../../report/plan-text.js";
import { loadConfig, type CommandContext } from "../context.js";

/** `xqbuild plan [component...] [--json]`: what each stage will run, resolved against the tree as it is, without running it. */
export async function planCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config), { ...(ctx.args.destdir !== undefined ? { destdir: ctx.args.destdir } : {}), stagingRoot: stagingRootOf(config) });
  const cache = artifactCacheFor(config, ctx.args.noCache, () => undefined);
  // The key and whether the store has it are shown in the text only (see cacheJson).
  const explained = await explainPlan(config, plan, cache, { keys: !ctx.args.json });
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify(planJson(plan, explained), null, 2));
    return 0;
  }
  for (const line of planText(plan, explained)) ctx.output.out(line);
  return 0;
}
