import { UserError } from "../../util/errors.js";
import { formatOrigin, type ResolvedConfig, type ResolvedVar } from "../../config/types.js";
import { KNOWN_NAMES, KNOWN_VARIABLES, REQUIRED_CONFIG_VARIABLES, closestName } from "../../config/variables.js";
import { loadConfig, type CommandContext } from "../context.js";

export interface ConfigEntry {
  readonly value: string;
  readonly origin: string;
  readonly via?: string;
}

export function configEntries(config: ResolvedConfig, names: readonly string[]): Record<string, ConfigEntry> {
  const out: Record<string, ConfigEntry> = {};
  for (const name of names) {
    const v: ResolvedVar = config.vars.get(name) ?? { value: "", origin: { kind: "undefined" } };
    out[name] = { value: v.value, origin: formatOrigin(v.origin, config.xenRoot), ...(v.via ? { via: v.via } : {}) };
  }
  return out;
}

/** `xqbuild config [VAR...] [--json] [--all]`: every variable, its value and where it came from. */
export async function configCommand(ctx: CommandContext): Promise<number> {
  for (const w of ctx.args.words) {
    if (!KNOWN_NAMES.has(w)) {
      const guess = closestName(w, KNOWN_NAMES);
      throw new UserError(`${JSON.stringify(w)} is not a variable xqbuild reads.`, guess ? `Did you mean ${guess}?` : "Run xqbuild config --all for the list.");
    }
  }
  const config = await loadConfig(ctx);
  const names =
    ctx.args.words.length > 0
      ? ctx.args.words
      : ctx.args.all
        ? KNOWN_VARIABLES.map((v) => v.name)
        : [...new Set([...REQUIRED_CONFIG_VARIABLES, ...KNOWN_VARIABLES.filter((v) => v.primary).map((v) => v.name)])];
  const entries = configEntries(config, names);
  if (ctx.args.json) {
    ctx.output.out(JSON.stringify(entries, null, 2));
    return 0;
  }
  const width = Math.max(...names.map((n) => n.length));
  ctx.output.out(
    `# ${config.mode === "tree" ? `Xen tree ${config.xenRoot}` : `standalone (outputs in ${config.xenRoot})`}, Xen ${config.xenVersion.full} (glue of ${config.release.id})` +
      (config.settingsFile ? `, xqbuild config ${config.settingsFile}` : ""),
  );
  for (const [name, e] of Object.entries(entries)) {
    ctx.output.out(`${name.padEnd(width)} = ${e.value}${e.value === "" ? "" : " "} [${e.origin}${e.via ? `; ${e.via}` : ""}]`);
  }
  return 0;
}
