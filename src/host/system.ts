import type { ResolvedConfig } from "../config/types.js";
import { COMPONENT_NAMES } from "../components/names.js";
import { RECIPES } from "../components/index.js";

/** Checks every installed component the configuration names (a recipe's `system`); returns what is used. */
export function checkSystemComponents(config: ResolvedConfig): string[] {
  const used: string[] = [];
  for (const name of COMPONENT_NAMES) {
    const system = RECIPES[name].system;
    const sys = system?.of(config);
    if (system && sys) used.push(`${name}: using ${system.check(sys, config.env)} (${sys.from})`);
  }
  return used;
}
