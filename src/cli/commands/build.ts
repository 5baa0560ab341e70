import path from "node:path";
import { definedOnly } from "../../util/proc.js";
import { UserError } from "../../util/errors.js";
import { artifactCacheFor } from "../../cache/from-config.js";
import { toolVersions, type BuildStage } from "../../engine/pipeline.js";
import { runBuild, stagingRootOf } from "../../engine/build.js";
import { cleanTree, distcleanTree } from "../../engine/clean.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { COMPONENT_NAMES } from "../../components/names.js";
import { fetchOptionsOf, loadConfig, treeLockOf, type CommandContext } from "../context.js";

const STAGES_FOR: Record<"all" | "configure" | "build" | "install", readonly BuildStage[]> = {
  all: ["configure", "build"],
  configure: ["configure"],
  build: ["configure", "build"],
  install: ["configure", "build", "install"],
};

/** `all`, `configure`, `build`, `install`: load → plan once → the build service (fetch, then the stages up to the one asked for). */
export async function buildCommand(ctx: CommandContext, command: keyof typeof STAGES_FOR): Promise<number> {
  // The tools' versions (in every stage's fingerprint) are asked for at once, while the
  // configuration is read and the sources checked; the build's environment is the caller's.
  void toolVersions(definedOnly(ctx.env));
  const config = await loadConfig(ctx);
  // install --sbom lists each component's installed files from its artifact: without the cache there is none.
  if (ctx.args.sbom && artifactCacheFor(config, ctx.args.noCache, () => undefined) === undefined) {
    throw new UserError(
      `install --sbom needs the artifact cache, which is ${ctx.args.noCache ? "turned off by --no-cache" : "turned off (XQBUILD_ARTIFACT_CACHE=0 or artifactCache.enabled: false)"}: the SBOM lists each component's installed files from the artifact its install made.`,
      "Install with the cache on, or install without --sbom and describe the sources only with xqbuild sbom.",
      ctx.args.noCache ? "usage" : "config",
    );
  }
  // The one plan of the run: made before the fetch (no trace probe), refined once after it.
  const plan = makePlan(config, gatherFacts(config, { probe: false }), {
    ...(ctx.args.destdir !== undefined ? { destdir: ctx.args.destdir } : {}),
    stagingRoot: stagingRootOf(config),
  });
  await runBuild({
    config,
    plan,
    command,
    stages: STAGES_FOR[command],
    reporter: ctx.reporter,
    explicitJobs: ctx.args.jobs !== undefined,
    noCache: ctx.args.noCache,
    ...(ctx.args.destdir !== undefined ? { destdir: ctx.args.destdir } : {}),
    fetch: fetchOptionsOf(ctx, false),
    treeLock: treeLockOf(ctx),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (ctx.args.sbom) {
    // Loaded here only: the SBOM writers (and the CycloneDX library) are for this step alone.
    const { writeInstalledSbom } = await import("../../packaging/sbom.js");
    const destdir = ctx.args.destdir !== undefined ? path.resolve(ctx.args.destdir) : "/";
    const { files, warnings } = await writeInstalledSbom(config, plan, destdir, ctx.signal);
    for (const w of warnings) ctx.reporter.emit({ type: "message", level: "warn", text: w });
    for (const f of files) ctx.reporter.emit({ type: "message", level: "info", text: `wrote the SBOM ${f}` });
  }
  return 0;
}

/** `clean`: the components' own make clean, and their configure/build stamps. */
export async function cleanCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  // Clean's steps do not depend on the trace backend: no probe.
  const plan = makePlan(config, gatherFacts(config, { probe: false }));
  await cleanTree(config, plan, { ...treeLockOf(ctx), emit: (e) => ctx.reporter.emit(e) });
  return 0;
}

/** `distclean`: what the glue's distclean removes, and xqbuild's state; never a tree with local work unless --force. */
export async function distcleanCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const names = config.selected.length > 0 ? config.selected : COMPONENT_NAMES;
  await distcleanTree(config, names, { ...treeLockOf(ctx), emit: (e) => ctx.reporter.emit(e), force: ctx.args.force });
  return 0;
}
