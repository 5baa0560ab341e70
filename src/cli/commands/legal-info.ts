import path from "node:path";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { stagingRootOf } from "../../engine/build.js";
import { loadConfig, treeLockOf, type CommandContext } from "../context.js";

/**
 * `xqbuild legal-info DIR [component...]`: what a distributor of the binaries owes beside them
 * (source tarballs, patch queues, license texts, a manifest, the SBOM) in DIR, the same bytes for
 * the same inputs.
 */
export async function legalInfoCommand(ctx: CommandContext): Promise<number> {
  const target = path.resolve(ctx.cwd, ctx.args.words[0] as string);
  const config = await loadConfig(ctx);
  // With the staging directories, as `xqbuild sbom` plans: the SBOM inside is the one sbom prints.
  const plan = makePlan(config, gatherFacts(config, { probe: false }), { stagingRoot: stagingRootOf(config) });
  // Loaded here only (it loads the SBOM writers and the CycloneDX library), not by every command.
  const { writeLegalInfo } = await import("../../packaging/legal-info.js");
  const r = await writeLegalInfo(config, plan, target, { ...treeLockOf(ctx), emit: (e) => ctx.reporter.emit(e) });
  if (ctx.args.json) ctx.output.out(JSON.stringify(r, null, 2));
  const shown = path.relative(ctx.cwd, r.dir) || r.dir;
  for (const c of r.components) ctx.reporter.emit({ type: "message", level: "info", component: c.component, text: `${c.version || "(no version)"} ${c.license}: ${path.join(shown, c.source)}` });
  ctx.reporter.emit({ type: "message", level: "info", text: `${r.replaced ? "replaced" : "wrote"} ${shown}: ${r.components.length} component${r.components.length === 1 ? "" : "s"}, manifest.csv, manifest.json, sbom.cdx.json, sbom.spdx.json` });
  return 0;
}
