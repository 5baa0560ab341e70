import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../../util/errors.js";
import { checkRemovable, removeInside } from "../../util/fs.js";
import { definedOnly } from "../../util/proc.js";
import { toolVersions, type BuildStage } from "../../engine/pipeline.js";
import { runBuild, stagingRootOf } from "../../engine/build.js";
import { Stamps } from "../../engine/stamps.js";
import { executeFileOrRunStep } from "../../engine/steps.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { RECIPES } from "../../components/index.js";
import { localWork } from "../../source/checkout.js";
import { COMPONENT_NAMES } from "../../components/names.js";
import { fetchOptionsOf, loadConfig, treeLockOf, type CommandContext } from "../context.js";
import { stateDir, withTreeLock } from "../../util/tree.js";

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
  return 0;
}

/** `clean`: the components' own make clean, and their configure/build stamps. */
export async function cleanCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  // Clean's steps do not depend on the trace backend: no probe.
  const plan = makePlan(config, gatherFacts(config, { probe: false }));
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
