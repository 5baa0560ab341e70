import { COMPONENT_NAMES } from "../components/names.js";
import { CACHE_ACTIONS, COMMANDS, COMMAND_SPECS, OPTIONS, SHELLS, appliesTo, optionsOf, type Command, type OptionSpec } from "./args.js";

export type Shell = (typeof SHELLS)[number];

/** Commands whose bare words are not components (config takes variable names, the others their own words). */
const NO_COMPONENTS = COMMANDS.filter((c) => COMMAND_SPECS[c].words !== undefined);
/** Commands whose first word is a directory and the rest components (legal-info DIR [component...]). */
const DIR_FIRST = COMMANDS.filter((c) => COMMAND_SPECS[c].words === "dir");

/** The words an option's value completes to, in bash: a fixed list, directories or files. */
function bashValueCase(): string[] {
  const lines: string[] = [];
  const names = (o: OptionSpec): string => [...(o.short ? [`-${o.short}`] : []), `--${o.long}`].join("|");
  for (const o of OPTIONS.filter((x) => x.value !== undefined && !x.optionalValue)) {
    const action = o.choices ? `COMPREPLY=( $(compgen -W "${o.choices.join(" ")}" -- "$cur") )` : o.completes === "dir" ? `COMPREPLY=( $(compgen -d -- "$cur") )` : o.completes === "file" ? `COMPREPLY=( $(compgen -f -- "$cur") )` : "COMPREPLY=()";
    lines.push(`    ${names(o)}) ${action}; return 0;;`);
  }
  // An optional value is only ever attached (--with-system-qemu=PATH): complete it after the '='.
  for (const o of OPTIONS.filter((x) => x.optionalValue)) {
    lines.push(`    --${o.long}) if (( eq )); then COMPREPLY=( $(compgen -f -- "$cur") ); return 0; fi;;`);
  }
  return lines;
}

/**
 * The bash completion function (also zsh's, through bashcompinit): commands, each command's own
 * options, component names, and the values of options and words that are fixed lists.
 */
function bashFunction(): string {
  const perCommand = COMMANDS.map((c) => `    ${c}) opts="${optionsOf(c).map((o) => `--${o.long}`).join(" ")}";;`);
  return [
    "_xqbuild() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" opts="" eq=0 i w',
    '  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"',
    "  # bash splits --opt=value into --opt, =, value.",
    '  if [[ "$cur" == "=" ]]; then cur=""; eq=1',
    '  elif [[ "$prev" == "=" ]] && (( COMP_CWORD > 1 )); then prev="${COMP_WORDS[COMP_CWORD-2]}"; eq=1',
    "  fi",
    "  for (( i=1; i<COMP_CWORD; i++ )); do",
    '    w="${COMP_WORDS[i]}"',
    `    case " ${COMMANDS.join(" ")} " in *" $w "*) cmd="$w"; break;; esac`,
    "  done",
    '  case "$prev" in',
    ...bashValueCase(),
    "  esac",
    '  if [[ "$cur" == -* ]]; then',
    '    case "${cmd:-all}" in',
    ...perCommand,
    "    esac",
    '    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )',
    "    return 0",
    "  fi",
    '  case "$cmd" in',
    `    "") COMPREPLY=( $(compgen -W "${[...COMMANDS, ...COMPONENT_NAMES].join(" ")}" -- "$cur") );;`,
    `    help) COMPREPLY=( $(compgen -W "${COMMANDS.join(" ")}" -- "$cur") );;`,
    `    completion) COMPREPLY=( $(compgen -W "${SHELLS.join(" ")}" -- "$cur") );;`,
    `    cache) COMPREPLY=( $(compgen -W "${CACHE_ACTIONS.join(" ")}" -- "$cur") );;`,
    // The directory first, then components: count the bare words typed after the command.
    ...(DIR_FIRST.length > 0
      ? [
          `    ${DIR_FIRST.join("|")}) local j n=0; for (( j=i+1; j<COMP_CWORD; j++ )); do [[ "\${COMP_WORDS[j]}" == -* ]] || n=$((n+1)); done`,
          `      if (( n == 0 )); then COMPREPLY=( $(compgen -d -- "$cur") ); else COMPREPLY=( $(compgen -W "${COMPONENT_NAMES.join(" ")}" -- "$cur") ); fi;;`,
        ]
      : []),
    `    ${NO_COMPONENTS.filter((c) => !["help", "completion", "cache", ...DIR_FIRST].includes(c)).join("|")}) COMPREPLY=();;`,
    `    *) COMPREPLY=( $(compgen -W "${COMPONENT_NAMES.join(" ")}" -- "$cur") );;`,
    "  esac",
    "  return 0",
    "}",
  ].join("\n");
}

/** A word in fish's single quotes. */
function fishQuote(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function fishScript(): string {
  const all = COMMANDS.join(" ");
  const lines = [
    "# fish completion for xqbuild (xqbuild completion fish > ~/.config/fish/completions/xqbuild.fish)",
    "complete -c xqbuild -f",
    ...COMMANDS.map((c) => `complete -c xqbuild -n ${fishQuote(`not __fish_seen_subcommand_from ${all}`)} -a ${c} -d ${fishQuote(COMMAND_SPECS[c].summary)}`),
    `complete -c xqbuild -n ${fishQuote(`not __fish_seen_subcommand_from ${NO_COMPONENTS.join(" ")}`)} -a ${fishQuote(COMPONENT_NAMES.join(" "))} -d component`,
    `complete -c xqbuild -n ${fishQuote("__fish_seen_subcommand_from help")} -a ${fishQuote(all)}`,
    `complete -c xqbuild -n ${fishQuote("__fish_seen_subcommand_from completion")} -a ${fishQuote(SHELLS.join(" "))}`,
    `complete -c xqbuild -n ${fishQuote("__fish_seen_subcommand_from cache")} -a ${fishQuote(CACHE_ACTIONS.join(" "))}`,
    // legal-info DIR [component...]: directories, and the components after it.
    ...DIR_FIRST.map((c) => `complete -c xqbuild -n ${fishQuote(`__fish_seen_subcommand_from ${c}`)} -a ${fishQuote(`(__fish_complete_directories) ${COMPONENT_NAMES.join(" ")}`)}`),
  ];
  for (const o of OPTIONS) {
    // The default command is all: an option of all is offered until a command it does not apply to is typed.
    const others = COMMANDS.filter((c: Command) => !appliesTo(o, c));
    const when = appliesTo(o, "all") ? (others.length > 0 ? `not __fish_seen_subcommand_from ${others.join(" ")}` : "") : `__fish_seen_subcommand_from ${(o.commands ?? []).join(" ")}`;
    const value =
      o.value === undefined || o.optionalValue ? "" : o.choices ? ` -x -a ${fishQuote(o.choices.join(" "))}` : o.completes === "dir" ? ` -x -a ${fishQuote("(__fish_complete_directories)")}` : o.completes === "file" ? " -r -F" : " -x";
    lines.push(`complete -c xqbuild${when ? ` -n ${fishQuote(when)}` : ""}${o.short ? ` -s ${o.short}` : ""} -l ${o.long}${value} -d ${fishQuote(o.help)}`);
  }
  return lines.join("\n");
}

/** `xqbuild completion bash|zsh|fish`: a script for the shell to source, made from the tables of args.ts. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return ["# bash completion for xqbuild: source <(xqbuild completion bash)", bashFunction(), "complete -F _xqbuild xqbuild", ""].join("\n");
    case "zsh":
      // zsh runs the bash function through bashcompinit (compinit first, when .zshrc has not loaded it).
      return [
        "# zsh completion for xqbuild: source <(xqbuild completion zsh)",
        "if ! whence compdef >/dev/null; then autoload -U +X compinit && compinit; fi",
        "autoload -U +X bashcompinit && bashcompinit",
        bashFunction(),
        "complete -F _xqbuild xqbuild",
        "",
      ].join("\n");
    case "fish":
      return `${fishScript()}\n`;
    default: {
      const never: never = shell;
      return never;
    }
  }
}
