import path from "node:path";
import { stagingRootOf } from "../../engine/build.js";
import { treeStatus } from "../../engine/status.js";
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
  for (const s of all) {
    ctx.output.out(`${s.name}: ${s.enabled ? "enabled" : "disabled"} (${s.reason})`);
    if (!s.enabled && !s.present) continue;
    ctx.output.out(`  source   ${path.relative(config.xenRoot, s.sourceDir) || s.sourceDir}${s.present ? "" : " (not fetched)"}`);
    if (s.url) ctx.output.out(`  wanted   ${s.url} at ${s.wanted || "(default branch)"}`);
    if (s.head) ctx.output.out(`  at       ${s.base?.slice(0, 12)}${s.patches.length ? ` + ${s.patches.length} patches (${s.head.slice(0, 12)})` : ""}`);
    if (s.locked) ctx.output.out(`  lock     ${s.locked.revision} = ${s.locked.commit.slice(0, 12)}${s.locked.matches ? "" : " (differs from the checkout)"}`);
    if (s.locked?.tagObject) ctx.output.out(`  signed   tag object ${s.locked.tagObject}, signed by ${s.locked.signer ?? "?"}`);
    if (s.present && s.head) ctx.output.out(`  tree     ${s.dirty.length || s.localCommits.length ? `${s.dirty.length} changed files, ${s.localCommits.length} local commits` : "clean"}`);
    for (const [stage, st] of Object.entries(s.stages)) {
      const cached = st === "in the artifact cache" && s.artifact ? `not built in this tree: in the artifact cache (${s.artifact.key.slice(0, 12)}); ${s.artifact.restored ? "install restored it" : "install restores it"}` : st;
      ctx.output.out(`  ${stage.padEnd(8)} ${cached}`);
    }
  }
  return 0;
}
