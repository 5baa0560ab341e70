import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { RECIPES } from "../components/index.js";
import { COMPONENT_NAMES } from "../components/names.js";
import type { StageName } from "../components/recipe.js";
import { resolveRun } from "../engine/steps.js";
import { gatherFacts } from "../plan/facts.js";
import { makePlan } from "../plan/plan.js";
import { stateDir } from "../util/tree.js";
import { describeStep, planJson } from "../report/plan-text.js";
import { loadConfig, type CommandContext } from "./context.js";
import type { DRY_RUN_COMMANDS } from "./args.js";

export type DryRunCommand = (typeof DRY_RUN_COMMANDS)[number];

/** The plan's stages each command runs (every one that builds fetches first, as buildCommand does). */
const STAGES_OF: Readonly<Record<Exclude<DryRunCommand, "distclean">, readonly StageName[]>> = {
  fetch: ["fetch", "patch"],
  update: ["fetch", "patch"],
  all: ["fetch", "patch", "configure", "build"],
  configure: ["fetch", "patch", "configure"],
  build: ["fetch", "patch", "configure", "build"],
  install: ["fetch", "patch", "configure", "build", "install"],
  clean: ["clean"],
};

/**
 * `-n/--dry-run`: what the command would run, from the same plan `xqbuild plan` shows and the
 * executor runs (its steps for the command's stages, in plan's rendering), or for distclean the
 * paths it would remove; nothing is fetched, run, locked or written. A rerun may skip stages whose
 * stamps are current: this shows what the command runs when nothing is, as plan does.
 */
export async function dryRunCommand(ctx: CommandContext, command: DryRunCommand): Promise<number> {
  const config = await loadConfig(ctx);
  if (command === "distclean") {
    const names = config.selected.length > 0 ? config.selected : COMPONENT_NAMES;
    const state = stateDir(config);
    const targets = names.flatMap((name) => RECIPES[name].distclean.map((rel) => path.join(config.xenRoot, rel)));
    // As distclean does: all of xqbuild's state with no component named, else the named ones' stamps.
    const stateTargets = config.selected.length === 0 ? (existsSync(state) ? [state] : []) : names.map((name) => path.join(state, "stamps", name));
    const remove = [...targets, ...stateTargets].filter((p) => existsSync(p));
    if (ctx.args.json) {
      ctx.output.out(JSON.stringify({ dryRun: command, xenRoot: config.xenRoot, remove }, null, 2));
      return 0;
    }
    ctx.output.out(`# dry run of xqbuild distclean at ${config.xenRoot}: nothing is removed`);
    if (remove.length === 0) ctx.output.out("nothing to remove");
    for (const p of remove) ctx.output.out(`remove ${p}${p === state ? ` (${readdirSync(state).length} entries of xqbuild's state)` : ""}`);
    return 0;
  }
  const stages = STAGES_OF[command];
  const plan = makePlan(config, gatherFacts(config), ctx.args.destdir !== undefined ? { destdir: ctx.args.destdir } : {});
  const filtered = { ...plan, components: plan.components.map((c) => ({ ...c, stages: c.stages.filter((s) => stages.includes(s.stage)) })) };
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify({ dryRun: command, ...(planJson(filtered) as object) }, null, 2));
    return 0;
  }
  ctx.output.out(`# dry run of xqbuild ${command}: nothing is run or changed (stages ${stages.join(", ")})`);
  ctx.output.out(`# Xen ${plan.xenVersion} (glue of ${plan.release}) at ${plan.xenRoot}`);
  for (const c of filtered.components) {
    ctx.output.out(`\n${c.name}: ${c.enabled ? "enabled" : "disabled"} (${c.reason})`);
    if (!c.enabled) continue;
    if (command === "clean") {
      ctx.output.out(`  ${"[clean]".padEnd(12)} forget the configure and build stamps`);
      // As clean does: nothing of the component's own clean runs before its build directory is there.
      if (!existsSync(c.buildDir)) {
        ctx.output.out(`  ${"".padEnd(12)} (no build directory ${c.buildDir}: nothing else to clean)`);
        continue;
      }
    }
    for (const s of c.stages) {
      if (command === "clean" && s.kind === "run" && !existsSync(s.cwd)) continue;
      ctx.output.out(`  ${`[${s.stage}]`.padEnd(12)} ${describeStep(s)}`);
      // What runs in its place once the build directory is configured (QEMU's ninja line, meson install), as plan shows it.
      if (s.kind === "run" && (s.goals !== undefined || s.install !== undefined)) {
        const r = await resolveRun(s, config.env);
        const argv = r.jobsFlag ? [r.argv[0] ?? "", "-jN", ...r.argv.slice(1)] : r.argv;
        if (argv.join("\0") !== s.argv.join("\0")) ctx.output.out(`  ${"".padEnd(12)} runs: ${describeStep({ ...s, argv, env: r.env })}${r.jobsFlag ? " (N: the job slots it holds)" : ""}`);
      }
    }
  }
  return 0;
}
