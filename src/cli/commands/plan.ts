import { resolveRun } from "../../engine/steps.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan, type Plan } from "../../plan/plan.js";
import type { PlannedStep } from "../../components/recipe.js";
import { shellQuote } from "../../report/output.js";
import { loadConfig, type CommandContext } from "../context.js";

function describeStep(s: PlannedStep): string {
  switch (s.kind) {
    case "run": {
      const env = Object.entries(s.env).map(([k, v]) => (v === null ? `-u ${k}` : `${k}=${shellQuote(v)}`));
      return `(cd ${shellQuote(s.cwd)} && ${env.length ? `env ${env.join(" ")} ` : ""}${s.argv.map(shellQuote).join(" ")})`;
    }
    case "git-checkout":
      return `clone ${s.url} at ${s.revision || "(default branch)"} into ${s.remoteDir}, link ${s.linkDir}`;
    case "tarball":
      return `unpack ${s.url} (sha256 ${s.sha256 || "MISSING"}) into ${s.remoteDir}, link ${s.linkDir}`;
    case "local-source":
      return `use ${s.dir} in place${s.mkdir ? ` (mkdir -p ${s.mkdir})` : ""}`;
    case "copy":
      return `copy ${s.from} to ${s.to}${s.mode !== undefined ? ` (mode ${s.mode.toString(8)})` : ""}`;
    case "write":
      return `write ${JSON.stringify(s.content)} to ${s.path}`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

export { describeStep };

/** The JSON shape of `xqbuild plan --json`. */
export function planJson(plan: Plan): unknown {
  return {
    xenRoot: plan.xenRoot,
    xenVersion: plan.xenVersion,
    release: plan.release,
    mode: plan.mode,
    components: plan.components.map((c) => ({
      name: c.name,
      enabled: c.enabled,
      reason: c.reason,
      sourceDir: c.sourceDir,
      buildDir: c.buildDir,
      stages: c.stages.map(({ stage, ...rest }) => ({ name: stage, ...rest })),
    })),
  };
}

/** `xqbuild plan [component...] [--json]`: what each stage would run, without running it. */
export async function planCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config), ctx.args.destdir !== undefined ? { destdir: ctx.args.destdir } : {});
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify(planJson(plan), null, 2));
    return 0;
  }
  ctx.output.out(`# Xen ${plan.xenVersion} (glue of ${plan.release}) at ${plan.xenRoot}`);
  for (const c of plan.components) {
    ctx.output.out(`\n${c.name}: ${c.enabled ? "enabled" : "disabled"} (${c.reason})`);
    if (!c.enabled) continue;
    for (const s of c.stages) {
      ctx.output.out(`  ${`[${s.stage}]`.padEnd(12)} ${describeStep(s)}`);
      // With a configured build directory, what runs in its place (QEMU's ninja line, meson install).
      if (s.kind === "run" && (s.goals !== undefined || s.install !== undefined)) {
        const r = await resolveRun(s, config.env);
        const argv = r.jobsFlag ? [r.argv[0] ?? "", "-jN", ...r.argv.slice(1)] : r.argv;
        if (argv.join("\0") !== s.argv.join("\0")) ctx.output.out(`  ${"".padEnd(12)} runs: ${describeStep({ ...s, argv, env: r.env })}${r.jobsFlag ? " (N: the job slots it holds)" : ""}`);
      }
    }
  }
  return 0;
}
