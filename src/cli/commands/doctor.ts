import { hostChecks, missingReport } from "../../host/doctor.js";
import { gatherFacts } from "../../plan/facts.js";
import { makePlan } from "../../plan/plan.js";
import { checkSystemComponents } from "../../host/system.js";
import { loadConfig, type CommandContext } from "../context.js";

/** `xqbuild doctor`: what the enabled components and features need, found or not, with packages. */
export async function doctorCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const plan = makePlan(config, gatherFacts(config));
  for (const line of checkSystemComponents(config)) ctx.reporter.emit({ type: "message", level: "info", text: line });
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
