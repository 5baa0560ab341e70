import { RECIPES } from "../components/index.js";
import { COMPONENT_NAMES } from "../components/names.js";
import { shellQuote } from "../report/output.js";
import { formatOrigin, type ResolvedConfig, type ResolvedVar } from "./types.js";
import { KNOWN_VARIABLES, REQUIRED_CONFIG_VARIABLES } from "./variables.js";
import { explainVariable, type WhyStep } from "./why.js";

// What `xqbuild config` shows: each variable with its value and origin, the config file's own
// settings, and for --why the chain of assignments. The command renders them (report/config-text.ts).

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
export function settingsAdditions(config: ResolvedConfig): Map<string, { key: string; args: readonly string[] }> {
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

/** The variables `xqbuild config` lists without names: the required ones and the primary ones, or --all of them. */
export function defaultConfigNames(all: boolean): string[] {
  return all ? KNOWN_VARIABLES.map((v) => v.name) : [...new Set([...REQUIRED_CONFIG_VARIABLES, ...KNOWN_VARIABLES.filter((v) => v.primary).map((v) => v.name)])];
}

/** `config --why VAR`'s answer: make's chain of assignments, then the config file's addition, and the final entry. */
export interface WhyAnswer {
  readonly steps: readonly WhyStep[];
  readonly incomplete?: string;
  readonly entry: ConfigEntry;
}

export async function whyAnswer(config: ResolvedConfig, name: string, opts: Parameters<typeof explainVariable>[2]): Promise<WhyAnswer> {
  const chain = await explainVariable(config, name, opts);
  const steps: WhyStep[] = [...chain.steps];
  const entry = configEntries(config, [name])[name] as ConfigEntry;
  const add = settingsAdditions(config).get(name);
  if (add !== undefined) {
    steps.push({ origin: `xqbuild config ${config.settingsFile ?? ""}`.trimEnd(), kind: "xqbuild config", key: add.key, text: add.args.map(shellQuote).join(" "), value: entry.value });
  }
  return { steps, ...(chain.incomplete !== undefined ? { incomplete: chain.incomplete } : {}), entry };
}
