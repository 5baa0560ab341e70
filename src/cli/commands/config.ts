import { UsageError, UserError } from "../../util/errors.js";
import { RECIPES } from "../../components/index.js";
import { COMPONENT_NAMES } from "../../components/names.js";
import { formatOrigin, type ResolvedConfig, type ResolvedVar } from "../../config/types.js";
import { KNOWN_NAMES, KNOWN_VARIABLES, REQUIRED_CONFIG_VARIABLES, closestName } from "../../config/variables.js";
import { explainVariable, type WhyStep } from "../../config/why.js";
import { shellQuote } from "../../report/output.js";
import { loadConfig, type CommandContext } from "../context.js";

export interface ConfigEntry {
  readonly value: string;
  readonly origin: string;
  readonly via?: string;
  /**
   * For a variable the xqbuild config file adds to (CONFIG_QEMUU_EXTRA_ARGS and the config file's
   * extraConfigureArgs): the glue's own value and origin; `value` and `origin` are then the
   * effective ones, the arguments configure gets.
   */
  readonly glue?: { readonly value: string; readonly origin: string };
}

/** The key the JSON document holds the config file's settings under: no make variable can be named so. */
export const SETTINGS_KEY = "(xqbuild config file)";

/** The config file's arguments that follow a glue variable on the configure line, by variable. */
function settingsAdditions(config: ResolvedConfig): Map<string, { key: string; args: readonly string[] }> {
  const out = new Map<string, { key: string; args: readonly string[] }>();
  for (const name of COMPONENT_NAMES) {
    const variable = RECIPES[name].extraArgsVar;
    const args = config.settings.components?.[name]?.extraConfigureArgs ?? [];
    if (variable !== undefined && args.length > 0) out.set(variable, { key: `components.${name}.extraConfigureArgs`, args });
  }
  return out;
}

export function configEntries(config: ResolvedConfig, names: readonly string[]): Record<string, ConfigEntry> {
  const out: Record<string, ConfigEntry> = {};
  const added = settingsAdditions(config);
  for (const name of names) {
    const v: ResolvedVar = config.vars.get(name) ?? { value: "", origin: { kind: "undefined" } };
    const entry: ConfigEntry = { value: v.value, origin: formatOrigin(v.origin, config.xenRoot), ...(v.via ? { via: v.via } : {}) };
    const add = added.get(name);
    if (add === undefined) {
      out[name] = entry;
      continue;
    }
    const from = `xqbuild config ${config.settingsFile ?? ""}: ${add.key}`;
    const own = v.value.trim();
    out[name] = {
      value: [own, ...add.args.map(shellQuote)].filter((w) => w !== "").join(" "),
      origin: own === "" ? from : `${entry.origin}, then ${from}`,
      ...(v.via ? { via: v.via } : {}),
      glue: { value: v.value, origin: entry.origin },
    };
  }
  return out;
}

/**
 * The config file's settings as dotted keys (components.qemu-xen.extraConfigureArgs) and their
 * values as the file gave them (paths as made absolute), in the file's order.
 */
export function settingsEntries(value: unknown, prefix = ""): Array<[string, unknown]> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [[prefix, value]];
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(value)) out.push(...settingsEntries(v, prefix === "" ? k : `${prefix}.${k}`));
  return out;
}

/** One variable as `xqbuild config` lists it: NAME = value [origin; via]. */
function entryLine(name: string, e: ConfigEntry, width: number): string {
  return `${name.padEnd(width)} = ${e.value}${e.value === "" ? "" : " "} [${e.origin}${e.via ? `; ${e.via}` : ""}]`;
}

function checkKnown(w: string): void {
  if (!KNOWN_NAMES.has(w)) {
    const guess = closestName(w, KNOWN_NAMES);
    throw new UserError(`${JSON.stringify(w)} is not a variable xqbuild reads.`, guess ? `Did you mean ${guess}?` : "Run xqbuild config --all for the list.");
  }
}

/** One step of a --why chain as the plain listing shows it: where, and what was written there. */
function stepHead(s: WhyStep): string {
  if (s.key !== undefined) return `${s.origin}: ${s.key}${s.text !== undefined ? ` = ${s.text}` : ""}`;
  if (s.kind === "built-in default") return `built-in default (xqbuild's stand-in for an unconfigured tree's config/Tools.mk, line ${s.line ?? "?"}): ${s.text ?? ""}`;
  return s.text !== undefined && s.text !== "" ? `${s.origin}: ${s.text}` : s.origin;
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
  const chain = await explainVariable(config, name, { commandLine: ctx.args.assignments, features: ctx.args.features });
  const steps: WhyStep[] = [...chain.steps];
  const entry = configEntries(config, [name])[name] as ConfigEntry;
  const add = settingsAdditions(config).get(name);
  if (add !== undefined) {
    steps.push({ origin: `xqbuild config ${config.settingsFile ?? ""}`.trimEnd(), kind: "xqbuild config", key: add.key, text: add.args.map(shellQuote).join(" "), value: entry.value });
  }
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify([...(chain.incomplete !== undefined ? [{ incomplete: chain.incomplete }] : []), ...steps], null, 2));
    return 0;
  }
  ctx.output.out(`# ${name}: the assignments that decided its value, first to last (${config.mode === "tree" ? `Xen tree ${config.xenRoot}` : `standalone, outputs in ${config.xenRoot}`})`);
  if (chain.incomplete !== undefined) ctx.output.out(`# (earlier ones not shown: ${chain.incomplete})`);
  if (steps.length === 0) ctx.output.out("# no makefile, environment variable or command-line variable sets it");
  steps.forEach((s, i) => {
    ctx.output.out(`${i + 1}. ${stepHead(s)}`);
    ctx.output.out(`   = ${s.value}`);
  });
  ctx.output.out(entryLine(name, entry, name.length));
  return 0;
}

const shown = (v: unknown): string => (Array.isArray(v) ? v.map((x) => shellQuote(String(x))).join(" ") : typeof v === "string" ? v : JSON.stringify(v));

/** `xqbuild config [VAR...] [--json] [--all]`: every variable, its value and where it came from. */
export async function configCommand(ctx: CommandContext): Promise<number> {
  if (ctx.args.why !== undefined) return whyCommand(ctx, ctx.args.why);
  for (const w of ctx.args.words) checkKnown(w);
  const config = await loadConfig(ctx);
  const names =
    ctx.args.words.length > 0
      ? ctx.args.words
      : ctx.args.all
        ? KNOWN_VARIABLES.map((v) => v.name)
        : [...new Set([...REQUIRED_CONFIG_VARIABLES, ...KNOWN_VARIABLES.filter((v) => v.primary).map((v) => v.name)])];
  const entries = configEntries(config, names);
  // The config file's own settings, with the variables when all are shown (not for `config VAR`).
  const settings = ctx.args.words.length === 0 && config.settingsFile !== undefined ? settingsEntries(config.settings) : [];
  if (ctx.args.json) {
    const doc: Record<string, unknown> = { ...entries };
    if (settings.length > 0) doc[SETTINGS_KEY] = { file: config.settingsFile, settings: Object.fromEntries(settings) };
    ctx.output.out(JSON.stringify(doc, null, 2));
    return 0;
  }
  const width = Math.max(...names.map((n) => n.length));
  ctx.output.out(
    `# ${config.mode === "tree" ? `Xen tree ${config.xenRoot}` : `standalone (outputs in ${config.xenRoot})`}, Xen ${config.xenVersion.full} (glue of ${config.release.id})` +
      (config.settingsFile ? `, xqbuild config ${config.settingsFile}` : ""),
  );
  for (const [name, e] of Object.entries(entries)) {
    ctx.output.out(entryLine(name, e, width));
  }
  if (settings.length > 0) {
    ctx.output.out("");
    ctx.output.out(`# xqbuild config file ${config.settingsFile ?? ""}`);
    const w = Math.max(...settings.map(([k]) => k.length));
    for (const [k, v] of settings) ctx.output.out(`${k.padEnd(w)} = ${shown(v)}`);
  }
  return 0;
}
