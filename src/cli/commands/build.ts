import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { FailureError, UserError } from "../../util/errors.js";
import { checkRemovable, removeInside } from "../../util/fs.js";
import { definedOnly } from "../../util/proc.js";
import { runPipeline, toolVersions, type ArtifactOptions, type BuildStage } from "../../engine/pipeline.js";
import { formatStats, readStats, statsDelta, type CcacheStats } from "../../engine/ccache.js";
import type { ComponentPlan } from "../../plan/plan.js";
import type { PlannedStep } from "../../components/recipe.js";
import { artifactCacheFor } from "../../cache/from-config.js";
import type { ArtifactCache } from "../../cache/cache.js";
import { Stamps } from "../../engine/stamps.js";
import { executeFileOrRunStep } from "../../engine/steps.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { RECIPES } from "../../components/index.js";
import { localWork } from "../../source/checkout.js";
import { COMPONENT_NAMES } from "../../components/names.js";
import type { ResolvedConfig } from "../../config/types.js";
import { hostChecks, missingReport } from "../../host/doctor.js";
import { checkSystemComponents } from "../../host/system.js";
import { fetchOptionsOf, loadConfig, treeLockOf, type CommandContext } from "../context.js";
import { fetchSources } from "../../source/fetch.js";
import { stateDir, withTreeLock } from "../../util/tree.js";
import { jobServerFor } from "../../engine/jobserver.js";
import { ccacheFor } from "../../engine/ccache.js";

const STAGES_FOR: Record<"all" | "configure" | "build" | "install", readonly BuildStage[]> = {
  all: ["configure", "build"],
  configure: ["configure"],
  build: ["configure", "build"],
  install: ["configure", "build", "install"],
};

/** `all`, `configure`, `build`, `install`: fetch, then the stages up to the one asked for. */
export async function buildCommand(ctx: CommandContext, command: keyof typeof STAGES_FOR): Promise<number> {
  // The tools' versions (in every stage's fingerprint) are asked for at once, while the
  // configuration is read and the sources checked; the build's environment is the caller's.
  void toolVersions(definedOnly(ctx.env));
  const config = await loadConfig(ctx);
  const reporter = ctx.reporter;
  const jobserver = jobServerFor(config, ctx.args.jobs !== undefined);
  try {
    // Which components are built does not depend on the fetched sources: the run starts with them.
    const enabled = makePlan(config, gatherFacts(config)).components.filter((c) => c.enabled);
    reporter.emit({ type: "run-start", command, components: enabled.map((c) => c.name), jobs: jobserver.jobs || config.jobs, stages: STAGES_FOR[command] });
    for (const line of checkSystemComponents(config)) reporter.emit({ type: "message", level: "info", text: line });
    // Stop before spending minutes (fetching included) when the host lacks what the components need.
    if (config.xq.noDoctor !== true) {
      const report = missingReport(hostChecks(config, makePlan(config, gatherFacts(config))));
      if (report) throw new FailureError(report, "Install those packages (xqbuild doctor shows every check), or set XQBUILD_NO_DOCTOR=1 to try anyway.");
    }
    // Settings of the caches are checked before minutes go into fetching.
    const cache = artifactCacheFor(config, ctx.args.noCache, (component, text) => reporter.emit({ type: "message", level: "info", text: `${component}: ${text}` }));
    const ccache = ccacheFor(config);
    await fetchSources(config, fetchOptionsOf(ctx, false));
    // Facts (the trace backend probe) are read after the sources are there, as the glue does.
    const plan = makePlan(config, gatherFacts(config), ctx.args.destdir !== undefined ? { destdir: ctx.args.destdir } : {});
    const components = plan.components.filter((c) => c.enabled);
    const artifacts = cache ? artifactOptions(ctx, config, components, cache) : undefined;
    if (ccache) reporter.emit({ type: "message", level: "info", text: `compiling through ccache ${ccache.version} (${ccache.masqueradeDir})` });
    // ccache's counters before the first stage that does work (a rerun that does nothing reads none).
    let before: Promise<CcacheStats | undefined> | undefined;
    const beforeWork = (): Promise<void> => {
      before ??= ccache ? readStats(ccache, config.env).catch(() => undefined) : Promise.resolve(undefined);
      return before.then(() => undefined);
    };
    const { failures } = await withTreeLock(config, treeLockOf(ctx), (m) => reporter.emit({ type: "message", level: "info", text: m }), () =>
      runPipeline({
        config,
        components,
        stages: STAGES_FOR[command],
        reporter,
        stamps: new Stamps(path.join(stateDir(config), "stamps")),
        logDir: path.join(stateDir(config), "logs"),
        jobserver,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(artifacts ? { artifacts } : {}),
        ...(ccache ? { runEnv: ccache.env, beforeWork } : {}),
        ...(ctx.args.destdir !== undefined ? { destdir: path.resolve(ctx.args.destdir) } : {}),
      }),
    );
    const counted = ccache && before ? await before : undefined;
    if (ccache && counted) {
      const after = await readStats(ccache, config.env).catch(() => undefined);
      const delta = after ? statsDelta(counted, after) : undefined;
      if (delta && delta.hits + delta.misses + delta.uncacheable > 0) reporter.emit({ type: "message", level: "info", text: formatStats(delta) });
    }
    if (failures.length > 0) {
      const text = failures.map((f) => f.message).join("\n\n");
      throw failures.length === 1 && failures[0] instanceof UserError ? failures[0] : new FailureError(text);
    }
    return 0;
  } finally {
    jobserver.close();
  }
}

/**
 * The artifact cache's part in a run: per component, the install steps planned into a staging
 * directory of its own (the files it installs, and nothing else, become its artifact).
 */
function artifactOptions(ctx: CommandContext, config: ResolvedConfig, components: readonly ComponentPlan[], cache: ArtifactCache): ArtifactOptions {
  const facts = gatherFacts(config);
  const staging = new Map<string, { dir: string; install: PlannedStep[] }>();
  for (const c of components) {
    const dir = path.join(stateDir(config), "staging", c.name);
    const planned = makePlan(config, facts, { destdir: dir }).components.find((x) => x.name === c.name);
    if (planned) staging.set(c.name, { dir, install: planned.stages.filter((s) => s.stage === "install") });
  }
  return { cache, staging, destdir: ctx.args.destdir !== undefined ? path.resolve(ctx.args.destdir) : "/" };
}

/** `clean`: the components' own make clean, and their configure/build stamps. */
export async function cleanCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config));
  const stamps = new Stamps(path.join(stateDir(config), "stamps"));
  await withTreeLock(config, treeLockOf(ctx), (m) => ctx.reporter.emit({ type: "message", level: "info", text: m }), async () => {
  for (const c of plan.components.filter((x) => x.enabled)) {
    await stamps.clear(c.name);
    if (!existsSync(c.buildDir)) continue;
    for (const step of c.stages.filter((s) => s.stage === "clean")) {
      if (step.kind === "run" && !existsSync(step.cwd)) continue;
      await executeFileOrRunStep(step, { baseEnv: config.env, logDir: path.join(stateDir(config), "logs"), component: c.name, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    }
    ctx.reporter.emit({ type: "message", level: "info", component: c.name, text: "cleaned" });
  }
  });
  return 0;
}

/** `distclean`: what the glue's distclean removes, and xqbuild's state; never a tree with local work unless --force. */
export async function distcleanCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const names = config.selected.length > 0 ? config.selected : COMPONENT_NAMES;
  const env = config.env;
  await withTreeLock(config, treeLockOf(ctx), (m) => ctx.reporter.emit({ type: "message", level: "info", text: m }), async () => {
  for (const name of names) {
    const recipe = RECIPES[name];
    const remote = path.join(config.xenRoot, recipe.dirs.remote);
    if (existsSync(path.join(remote, ".git")) && !ctx.args.force) {
      const work = await localWork(remote, { env, cacheDir: config.cacheDir, offline: true }, recipe.buildWrites ?? []);
      if (work.changes.length > 0 || work.commits.length > 0) {
        throw new UserError(
          `${path.relative(config.xenRoot, remote)} holds local work (${work.changes.length} changed files, ${work.commits.length} local commits); distclean would delete it.`,
          "Save that work elsewhere, or run xqbuild distclean --force to delete it anyway.",
          "failure",
        );
      }
    }
  }
  // Every target is checked before the first goes: a link out of the tree (tools/firmware -> /srv)
  // refuses the whole distclean, not its second half.
  const state = stateDir(config);
  const targets = names.flatMap((name) => RECIPES[name].distclean.map((rel) => path.join(config.xenRoot, rel)));
  const stateTargets = config.selected.length === 0 ? (await readdir(state)).filter((e) => e !== "lock").map((e) => path.join(state, e)) : names.map((name) => path.join(state, "stamps", name));
  for (const t of targets) checkRemovable(t, config.xenRoot, "distclean's target");
  for (const t of stateTargets) checkRemovable(t, state, "xqbuild's state");
  for (const name of names) {
    for (const rel of RECIPES[name].distclean) await removeInside(path.join(config.xenRoot, rel), config.xenRoot, "distclean's target");
    ctx.reporter.emit({ type: "message", level: "info", component: name, text: `removed ${RECIPES[name].distclean.join(", ")}` });
  }
  // Everything of xqbuild's state but the lock held right now (it goes when released).
  for (const t of stateTargets) await removeInside(t, state, "xqbuild's state");
  });
  if (config.selected.length === 0) await removeInside(stateDir(config), config.xenRoot, "xqbuild's state directory");
  return 0;
}
