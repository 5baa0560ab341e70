import type { ComponentName } from "../components.js";
import type { ResolvedConfig } from "../config/types.js";
import { missingReport, qemuMesonOf, requirements, runChecks, type Check } from "../doctor.js";
import { gatherFacts } from "../facts.js";
import { makePlan, type Plan } from "../plan.js";
import { checkSystemComponents } from "../system.js";
import { loadConfig, type CommandContext } from "./context.js";

/** The host checks for a plan's enabled components. */
export function hostChecks(config: ResolvedConfig, plan: Plan): Check[] {
  const enabled = plan.components.filter((c) => c.enabled);
  const qemu = enabled.find((c) => c.name === "qemu-xen");
  // What the host needs for meson follows the QEMU fetched (nothing is asked before it is there).
  const meson = qemu ? qemuMesonOf(qemu.sourceDir) : ({ kind: "unknown" } as const);
  return runChecks(config, requirements(config, enabled.map((c) => c.name as ComponentName), config.features, meson));
}

/** `xqbuild doctor`: what the enabled components and features need, found or not, with packages. */
export async function doctorCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config));
  for (const line of checkSystemComponents(config)) ctx.output.err(line);
  const checks = hostChecks(config, plan);
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify({ ok: checks.every((c) => c.ok), checks }, null, 2));
  } else {
    const w = Math.max(...checks.map((c) => c.what.length));
    for (const c of checks) ctx.output.out(`${c.ok ? "ok     " : "MISSING"}  ${c.what.padEnd(w)}  ${c.ok ? (c.found ?? "") : `needed for ${c.why}${c.detail ? `: ${c.detail}` : ""}`}`);
    const report = missingReport(checks);
    ctx.output.out(report ? `\n${report}` : "\nEverything the enabled components need is here.");
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}
