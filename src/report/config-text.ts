import type { ResolvedConfig } from "../config/types.js";
import { SETTINGS_KEY, type ConfigEntry, type WhyAnswer } from "../config/entries.js";
import type { WhyStep } from "../config/why.js";
import { shellQuote } from "./output.js";

// `xqbuild config`'s documents: the listing (plain or JSON) and the --why chain.

/** One variable as `xqbuild config` lists it: NAME = value [origin; via]. */
function entryLine(name: string, e: ConfigEntry, width: number): string {
  return `${name.padEnd(width)} = ${e.value}${e.value === "" ? "" : " "} [${e.origin}${e.via ? `; ${e.via}` : ""}]`;
}

/** One step of a --why chain as the plain listing shows it: where, and what was written there. */
function stepHead(s: WhyStep): string {
  if (s.key !== undefined) return `${s.origin}: ${s.key}${s.text !== undefined ? ` = ${s.text}` : ""}`;
  if (s.kind === "built-in default") return `built-in default (xqbuild's stand-in for an unconfigured tree's config/Tools.mk, line ${s.line ?? "?"}): ${s.text ?? ""}`;
  return s.text !== undefined && s.text !== "" ? `${s.origin}: ${s.text}` : s.origin;
}

const shown = (v: unknown): string => (Array.isArray(v) ? v.map((x) => shellQuote(String(x))).join(" ") : typeof v === "string" ? v : JSON.stringify(v));


function treeWords(config: ResolvedConfig): string {
  return config.mode === "tree" ? `Xen tree ${config.xenRoot}` : `standalone (outputs in ${config.xenRoot})`;
}

/** The listing: a heading, NAME = value [origin] per variable, then the config file's settings. */
export function configText(config: ResolvedConfig, entries: Readonly<Record<string, ConfigEntry>>, settings: ReadonlyArray<[string, unknown]>): string[] {
  const lines = [`# ${treeWords(config)}, Xen ${config.xenVersion.full} (glue of ${config.release.id})` + (config.settingsFile ? `, xqbuild config ${config.settingsFile}` : "")];
  const width = Math.max(...Object.keys(entries).map((n) => n.length));
  for (const [name, e] of Object.entries(entries)) lines.push(entryLine(name, e, width));
  if (settings.length > 0) {
    lines.push("", `# xqbuild config file ${config.settingsFile ?? ""}`);
    const w = Math.max(...settings.map(([k]) => k.length));
    for (const [k, v] of settings) lines.push(`${k.padEnd(w)} = ${shown(v)}`);
  }
  return lines;
}

export function configJson(config: ResolvedConfig, entries: Readonly<Record<string, ConfigEntry>>, settings: ReadonlyArray<[string, unknown]>): string {
  const doc: Record<string, unknown> = { ...entries };
  if (settings.length > 0) doc[SETTINGS_KEY] = { file: config.settingsFile, settings: Object.fromEntries(settings) };
  return JSON.stringify(doc, null, 2);
}

/** --why: the numbered chain, each step's value after it, and last the line `config VAR` prints. */
export function whyText(config: ResolvedConfig, name: string, why: WhyAnswer): string[] {
  const lines = [`# ${name}: the assignments that decided its value, first to last (${config.mode === "tree" ? `Xen tree ${config.xenRoot}` : `standalone, outputs in ${config.xenRoot}`})`];
  if (why.incomplete !== undefined) lines.push(`# (earlier ones not shown: ${why.incomplete})`);
  if (why.steps.length === 0) lines.push("# no makefile, environment variable or command-line variable sets it");
  why.steps.forEach((s, i) => lines.push(`${i + 1}. ${stepHead(s)}`, `   = ${s.value}`));
  lines.push(entryLine(name, why.entry, name.length));
  return lines;
}

export function whyJson(why: WhyAnswer): string {
  return JSON.stringify([...(why.incomplete !== undefined ? [{ incomplete: why.incomplete }] : []), ...why.steps], null, 2);
}
