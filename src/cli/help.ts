import { RECIPES, WHAT_IS_BUILT } from "../components/index.js";
import { COMPONENT_NAMES } from "../components/names.js";
import { COMMANDS, COMMAND_SPECS, OPTIONS, USAGE, optionsOf, usageLine, type Command, type OptionSpec } from "./args.js";

/** An option as help and the man page show it: "-j, --jobs N". */
export function optionLabel(o: OptionSpec): string {
  const value = o.value ? (o.optionalValue ? `[=${o.value}]` : ` ${o.value}`) : "";
  return `${o.short ? `-${o.short}, ` : "    "}--${o.long}${value}`;
}

function optionLines(opts: readonly OptionSpec[]): string[] {
  const width = Math.max(28, ...OPTIONS.map((o) => optionLabel(o).length));
  return opts.map((o) => `  ${optionLabel(o).padEnd(width)} ${o.help}`);
}

/** The paragraph of the overview that says what xqbuild is; the man page's DESCRIPTION too. */
export const DESCRIPTION = [
  `Fetch, configure, build and install ${WHAT_IS_BUILT},`,
  "reading the same configuration as Xen's make glue (Config.mk, .config, config/Tools.mk).",
];

export const COMPONENTS_LINE = `Components: ${COMPONENT_NAMES.join(", ")} (default: those enabled by ${COMPONENT_NAMES.map((n) => RECIPES[n].enableVar).join(", ")})`;
export const EXIT_CODES_LINE = "Exit codes: 0 success, 1 failure, 2 usage or configuration error, 130/143 interrupted.";

/**
 * `xqbuild help` (the overview: every command, and the options most commands take) or
 * `xqbuild help CMD` / `xqbuild CMD --help` (that command's usage line and only its options).
 */
export function helpText(command?: Command): string {
  if (command) {
    return [usageLine(command), "", `${COMMAND_SPECS[command].summary}.`, "", "Options:", ...optionLines(optionsOf(command)), ""].join("\n");
  }
  return [
    USAGE,
    "",
    ...DESCRIPTION,
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.padEnd(12)} ${COMMAND_SPECS[c].summary}`),
    "",
    COMPONENTS_LINE,
    "",
    "VAR=value arguments act like make command-line variables.",
    "",
    "Options (xqbuild help COMMAND shows the ones a command takes):",
    ...optionLines(OPTIONS),
    "",
    EXIT_CODES_LINE,
    "",
  ].join("\n");
}
