import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { fetchSources } from "../../source/fetch.js";
import { fetchOptionsOf, loadConfig, type CommandContext } from "../context.js";

/**
 * `xqbuild fetch [component...]` and `xqbuild update [--force]`: the run starts with the components
 * it fetches (as a build's does, so --json gives run-start ... run-end), then the fetch service's
 * events.
 */
export async function fetchCommand(ctx: CommandContext, opts: { readonly update: boolean }): Promise<number> {
  const config = await loadConfig(ctx);
  // What to fetch does not depend on the sources fetched: no trace probe.
  const plan = makePlan(config, gatherFacts(config, { probe: false }));
  ctx.reporter.emit({ type: "run-start", command: ctx.args.command, components: plan.components.filter((c) => c.enabled).map((c) => c.name), jobs: config.jobs });
  await fetchSources(config, plan.components, fetchOptionsOf(ctx, opts.update));
  return 0;
}
