import { fetchSources } from "../../source/fetch.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { fetchOptionsOf, loadConfig, type CommandContext } from "../context.js";

/** `xqbuild fetch [component...]` and `xqbuild update [--force]`. */
export async function fetchCommand(ctx: CommandContext, opts: { readonly update: boolean }): Promise<number> {
  const config = await loadConfig(ctx);
  // What to fetch does not depend on the sources fetched: no trace probe.
  const plan = makePlan(config, gatherFacts(config, { probe: false }));
  await fetchSources(config, plan.components, fetchOptionsOf(ctx, opts.update));
  return 0;
}
