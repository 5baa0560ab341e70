import { WHAT_IS_BUILT_SHORT } from "../components/index.js";
import { xqbuildVersion } from "../util/version.js";
import { CONFIG_COMMANDS, COMMANDS, COMMAND_SPECS, OPTIONS, SHELLS, usageLine, type OptionSpec } from "./args.js";
import { COMPONENTS_LINE, DESCRIPTION, EXIT_CODES_LINE } from "./help.js";

/** Text as roff reads it literally: backslashes, hyphens, and a leading '.' or '\''. */
function roff(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/^[.']/, "\\&$&");
}

function optionHead(o: OptionSpec): string {
  const value = o.value ? (o.optionalValue ? `[=\\fI${roff(o.value)}\\fR]` : ` \\fI${roff(o.value)}\\fR`) : "";
  return `${o.short ? `\\fB\\-${o.short}\\fR, ` : ""}\\fB\\-\\-${roff(o.long)}\\fR${value}`;
}

function optionScope(o: OptionSpec): string {
  if (o.commands === undefined || o.commands === CONFIG_COMMANDS || o.commands.length === COMMANDS.length) return "";
  return ` (${o.commands.join(", ")})`;
}

/**
 * `xqbuild man`: the manual page xqbuild.1 in roff (man(7) macros), made from the same tables as
 * help and the completions, so it cannot fall behind them. `npm run man` writes it to man/xqbuild.1.
 */
export function manPage(): string {
  const lines = [
    `.TH XQBUILD 1 "" "xqbuild ${roff(xqbuildVersion())}" "User Commands"`,
    // No hyphenation: command and option names must read as typed.
    ".nh",
    // Left-adjusted, not justified: a long synopsis line (sbom's) was stretched to "xqbuild  sbom".
    ".ad l",
    ".SH NAME",
    `xqbuild \\- fetch, configure, build and install ${WHAT_IS_BUILT_SHORT}`,
    ".SH SYNOPSIS",
    ".B xqbuild",
    "[\\fIcommand\\fR] [\\fIcomponent\\fR...] [\\fIVAR\\fR=\\fIvalue\\fR...] [\\fIoptions\\fR]",
    ".SH DESCRIPTION",
    ...DESCRIPTION.map(roff),
    ".PP",
    "VAR=value arguments act like make command\\-line variables.",
    ".SH COMMANDS",
  ];
  for (const c of COMMANDS) {
    lines.push(".TP", `\\fB${roff(usageLine(c).slice("usage: ".length))}\\fR`, `${roff(COMMAND_SPECS[c].summary)}.`);
  }
  lines.push(".SH OPTIONS", "An option applies to every command that reads the configuration unless the commands it applies to are named.");
  for (const o of OPTIONS) lines.push(".TP", optionHead(o), `${roff(o.help)}${roff(optionScope(o))}.`);
  lines.push(
    ".SH COMPONENTS",
    roff(COMPONENTS_LINE.replace(/^Components: /, "")),
    ".SH SHELL COMPLETION",
    `\\fBxqbuild completion\\fR ${SHELLS.map((s) => `\\fI${s}\\fR`).join("|")} prints a script for that shell, for example:`,
    ".PP",
    ".RS",
    ".nf",
    "source <(xqbuild completion bash)",
    "xqbuild completion fish > ~/.config/fish/completions/xqbuild.fish",
    ".fi",
    ".RE",
    ".SH EXIT STATUS",
    roff(EXIT_CODES_LINE.replace(/^Exit codes: /, "")),
    "",
  );
  return lines.join("\n");
}
