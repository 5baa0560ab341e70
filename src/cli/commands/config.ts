import { UsageError, UserError } from "../../util/errors.js";
import { configEntries, defaultConfigNames, settingsEntries, whyAnswer } from "../../config/entries.js";
import { KNOWN_NAMES, closestName } from "../../config/variables.js";
import { configJson, configText, whyJson, whyText } from "../../report/config-text.js";
import { loadConfig, type CommandContext } from "../context.js";

function checkKnown(w: string): void {
  if (!KNOWN_NAMES.has(w)) {
    const guess = closestName(w, KNOWN_NAMES);
    throw new UserError(`${JSON.stringify(w)} is not a variable xqbuild reads.`, guess ? `Did you mean ${guess}?` : "Run xqbuild config --all for the list.");
  }
}

/**
 * `xqbuild config --why VAR`: every assignment that decided VAR's value, first to last, as make
 * reads them (config/why.ts), and for a variable the config file adds configure arguments to, that
 * addition last. The final line is what `xqbuild config VAR` prints.
 */
async function whyCommand(ctx: CommandContext, name: string): Promise<number> {
  if (ctx.args.words.length > 0 || ctx.args.all) {
    throw new UsageError(`xqbuild config --why ${name} takes no other variable${ctx.args.all ? " and no --all" : ` (${ctx.args.words.join(" ")} given)`}.`, "Ask about one variable at a time: xqbuild config --why VAR.");
  }
  checkKnown(name);
  const config = await loadConfig(ctx);
  const why = await whyAnswer(config, name, { commandLine: ctx.args.assignments, features: ctx.args.features });
  if (ctx.args.json) ctx.output.out(whyJson(why));
  else for (const line of whyText(config, name, why)) ctx.output.out(line);
  return 0;
}

/** `xqbuild config [VAR...] [--json] [--all]`: every variable, its value and where it came from. */
export async function configCommand(ctx: CommandContext): Promise<number> {
  if (ctx.args.why !== undefined) return whyCommand(ctx, ctx.args.why);
  for (const w of ctx.args.words) checkKnown(w);
  const config = await loadConfig(ctx);
  const names = ctx.args.words.length > 0 ? ctx.args.words : defaultConfigNames(ctx.args.all);
  const entries = configEntries(config, names);
  // The config file's own settings, with the variables when all are shown (not for `config VAR`).
  const settings = ctx.args.words.length === 0 && config.settingsFile !== undefined ? settingsEntries(config.settings) : [];
  if (ctx.args.json) ctx.output.out(configJson(config, entries, settings));
  else for (const line of configText(config, entries, settings)) ctx.output.out(line);
  return 0;
}
