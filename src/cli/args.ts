import { COMPONENT_NAMES, isComponentName, type ComponentName } from "../components/names.js";
import { parseArgs as nodeParseArgs } from "node:util";
import { UsageError } from "../util/errors.js";
import { didYouMean } from "./suggest.js";
import { MAX_JOBS } from "../engine/jobserver.js";
import { FEATURE_NAMES, type FeatureName } from "../config/settings.js";
import { KNOWN_VARIABLES } from "../config/variables.js";
import { SBOM_FORMATS, isSbomFormat, type SbomFormat } from "../packaging/formats.js";

export const COMMANDS = [
  "all",
  "fetch",
  "update",
  "configure",
  "build",
  "install",
  "clean",
  "distclean",
  "plan",
  "config",
  "status",
  "doctor",
  "dist",
  "legal-info",
  "sbom",
  "cache",
  "help",
  "completion",
  "man",
] as const;
export type Command = (typeof COMMANDS)[number];

/** The shells `xqbuild completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** The words `xqbuild cache` takes first. */
export const CACHE_ACTIONS = ["list", "prune", "clear"] as const;

/** One command: what it does, and what follows its name (the usage line, help, completions, man page). */
export interface CommandSpec {
  readonly summary: string;
  readonly synopsis: string;
  /** What its bare words are, besides VAR=value: components (the default), or one of these lists. */
  readonly words?: "variables" | "cache" | "command" | "shell" | "none" | "dir";
}

const WORK = "[component...] [VAR=value...] [options]";

/** The one table of commands; parsing, help, completions and the man page all read it. */
export const COMMAND_SPECS: Readonly<Record<Command, CommandSpec>> = {
  all: { summary: "fetch, patch, configure and build every enabled component (the default command)", synopsis: WORK },
  fetch: { summary: "clone or update the sources into the glue's directories", synopsis: WORK },
  update: { summary: "move the sources to the wanted revision (the glue's *-dir-force-update)", synopsis: WORK },
  configure: { summary: "run the components' configure steps", synopsis: WORK },
  build: { summary: "build the components", synopsis: WORK },
  install: { summary: "install into DESTDIR as the glue does", synopsis: WORK },
  clean: { summary: "run the components' make clean", synopsis: WORK },
  distclean: { summary: "remove the fetched trees, build directories and xqbuild's state", synopsis: WORK },
  plan: { summary: "show, without running anything, what each stage would run", synopsis: "[component...] [VAR=value...] [--json]" },
  config: { summary: "show every variable with its value and where it came from", synopsis: "[VAR...] [--json] [--all] | --why VAR [--json]", words: "variables" },
  status: { summary: "show the state of each component's source and stages", synopsis: WORK },
  doctor: { summary: "check the host for what the enabled components need", synopsis: WORK },
  dist: { summary: "write reproducible source tarballs of the fetched trees", synopsis: WORK },
  "legal-info": {
    summary: "write into DIR what distributing the binaries needs: source tarballs, patch queues, license texts, a manifest",
    synopsis: `DIR ${WORK}`,
    words: "dir",
  },
  sbom: { summary: "write an SBOM (CycloneDX 1.6 or SPDX 2.3 JSON) of the fetched and built components", synopsis: "[component...] [VAR=value...] [--format cyclonedx|spdx] [-o FILE]" },
  cache: {
    summary: "show the build artifact cache; cache prune [SIZE] evicts the least recently used, cache clear empties it",
    synopsis: "[list | prune [SIZE] | clear] [options]",
    words: "cache",
  },
  help: { summary: "show the overview, or one command's usage and options (also: xqbuild COMMAND --help)", synopsis: "[command]", words: "command" },
  completion: { summary: "print a shell completion script for bash, zsh or fish", synopsis: "bash|zsh|fish", words: "shell" },
  man: { summary: "print xqbuild's manual page (roff, xqbuild.1)", synopsis: "", words: "none" },
};

export const COMMAND_HELP: Readonly<Record<Command, string>> = Object.fromEntries(COMMANDS.map((c) => [c, COMMAND_SPECS[c].summary])) as Record<Command, string>;

/** The commands that read the configuration; an option without its own command list applies to these. */
export const CONFIG_COMMANDS: readonly Command[] = COMMANDS.filter((c) => !["help", "completion", "man"].includes(c));

/** Commands that do work, where -n/--dry-run prints what would run instead. */
export const DRY_RUN_COMMANDS = ["all", "fetch", "update", "configure", "build", "install", "clean", "distclean"] as const satisfies readonly Command[];

export interface Args {
  readonly command: Command;
  readonly components: ComponentName[];
  /** `VAR=value` words, as make command-line variables. */
  readonly assignments: Record<string, string>;
  /** Other words (variable names for `config`). */
  readonly words: string[];
  readonly xenRoot?: string;
  readonly jobs?: number;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly offline: boolean;
  readonly destdir?: string;
  readonly help: boolean;
  readonly version: boolean;
  readonly standalone: boolean;
  readonly xenVersion?: string;
  readonly configFile?: string;
  readonly all: boolean;
  /** config --why VAR: the variable whose chain of assignments is shown. */
  readonly why?: string;
  readonly force: boolean;
  readonly locked: boolean;
  readonly updateLock: boolean;
  readonly lockTimeoutMs?: number;
  /** --with-system-qemu: "" for qemu-system-i386 from PATH. */
  readonly systemQemu?: string;
  readonly systemSeabios?: string;
  readonly features: Partial<Record<FeatureName, boolean>>;
  /** --no-cache: neither restore from nor store into the build artifact cache. */
  readonly noCache: boolean;
  /** -n/--dry-run: print what the command would run and change nothing. */
  readonly dryRun: boolean;
  /** sbom --format: cyclonedx (the default) or spdx. */
  readonly sbomFormat?: SbomFormat;
  /** sbom -o/--output: the file to write instead of standard output. */
  readonly outputFile?: string;
  /** install --sbom: write both SBOM documents into DESTDIR after the install. */
  readonly sbom: boolean;
  /** The command was named on the command line (not the default `all`). */
  readonly commandGiven: boolean;
}

export const USAGE = "usage: xqbuild [command] [component...] [VAR=value...] [options]";

/** The usage line of one command. */
export function usageLine(command: Command): string {
  return `usage: xqbuild ${command}${COMMAND_SPECS[command].synopsis ? ` ${COMMAND_SPECS[command].synopsis}` : ""}`;
}

export interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  /** The value's placeholder; a flag has none. */
  readonly value?: string;
  /** The value may be left out (--opt or --opt=VALUE, never --opt VALUE). */
  readonly optionalValue?: boolean;
  readonly help: string;
  /** Commands it applies to; undefined: every command that reads the configuration (CONFIG_COMMANDS). */
  readonly commands?: readonly Command[];
  /** The values it takes, when they are a fixed list (completions offer them). */
  readonly choices?: readonly string[];
  /** What its value names, for completions. */
  readonly completes?: "dir" | "file";
}

/** The one table of options; parsing, help, completions and the man page all read it. */
export const OPTIONS: readonly OptionSpec[] = [
  { long: "xen-root", short: "C", value: "DIR", completes: "dir", help: "the Xen tree (default: search upward from the current directory)" },
  { long: "jobs", short: "j", value: "N", help: "job budget shared by every make and ninja (default: number of CPUs; at most 4096)" },
  { long: "json", help: "machine-readable output (JSON; NDJSON events for builds)" },
  { long: "verbose", short: "v", help: "stream every command's output" },
  { long: "quiet", short: "q", help: "print only errors and warnings" },
  { long: "offline", help: "never use the network (also XQBUILD_OFFLINE=1)" },
  { long: "dry-run", short: "n", help: "print what would run (the plan's steps; for distclean the paths it would remove) and change nothing", commands: DRY_RUN_COMMANDS },
  { long: "destdir", value: "DIR", completes: "dir", help: "staging directory for install (DESTDIR)", commands: ["install", "all"] },
  { long: "standalone", help: "no Xen tree: built-in defaults, outputs under ./build" },
  { long: "xen-version", value: "X.Y", help: "release whose glue to follow in standalone mode (default: 4.22)" },
  { long: "config-file", value: "FILE", completes: "file", help: "use this xqbuild config file instead of searching the Xen tree's root" },
  { long: "with-system-qemu", value: "PATH", optionalValue: true, completes: "file", help: "use an installed QEMU with Xen support (default: qemu-system-i386 from PATH); build none" },
  { long: "with-system-seabios", value: "PATH", completes: "file", help: "use an installed SeaBIOS image (absolute path); build none" },
  { long: "with", value: "FEATURE", choices: FEATURE_NAMES, help: `enable a feature: ${FEATURE_NAMES.join(", ")}` },
  { long: "without", value: "FEATURE", choices: FEATURE_NAMES, help: "disable a feature" },
  { long: "all", help: "show every variable, not only the main ones", commands: ["config"] },
  { long: "why", value: "VAR", choices: KNOWN_VARIABLES.map((v) => v.name), help: "show every assignment that decided VAR's value, in order, with file:line and the value after each (as make reads them)", commands: ["config"] },
  { long: "force", help: "allow an operation that would discard local work (update keeps a backup ref)", commands: ["update", "distclean"] },
  { long: "locked", help: "fail if a revision would resolve to another commit than xqbuild.lock records", commands: ["fetch", "update", "all"] },
  { long: "update-lock", help: "resolve the revisions again and rewrite xqbuild.lock", commands: ["fetch", "all"] },
  { long: "no-cache", help: "build without the artifact cache (neither restore nor store)", commands: ["all", "configure", "build", "install"] },
  { long: "format", value: "FORMAT", choices: SBOM_FORMATS, help: "the SBOM's format: cyclonedx (CycloneDX 1.6 JSON, the default) or spdx (SPDX 2.3 JSON)", commands: ["sbom"] },
  { long: "output", short: "o", value: "FILE", completes: "file", help: "write the SBOM to FILE instead of standard output", commands: ["sbom"] },
  { long: "sbom", help: "after installing, write the SBOM (CycloneDX and SPDX) into DESTDIR$(LIBEXEC)/share/doc/xqbuild/", commands: ["install"] },
  { long: "lock-timeout", value: "SECONDS", help: "give up waiting for another xqbuild's lock after this long" },
  { long: "help", short: "h", help: "show help (of the command given)", commands: COMMANDS },
  { long: "version", short: "V", help: "show xqbuild's version", commands: COMMANDS },
];

/** Whether an option applies to a command. */
export function appliesTo(spec: OptionSpec, command: Command): boolean {
  return (spec.commands ?? CONFIG_COMMANDS).includes(command);
}

/** The options of one command, in the table's order. */
export function optionsOf(command: Command): OptionSpec[] {
  return OPTIONS.filter((o) => appliesTo(o, command));
}

/**
 * A mistake on the command line. It names the command it was found with, when one was given, so
 * the error ends with that command's usage line and not only the general one.
 */
export class CommandLineError extends UsageError {
  constructor(
    message: string,
    hint?: string,
    readonly command?: Command,
  ) {
    super(message, hint);
  }
}

function parseJobs(v: string, command: Command | undefined): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new CommandLineError(`-j/--jobs ${JSON.stringify(v)}: expected a whole number of at least 1.`, undefined, command);
  // The job pool's bound (see MAX_JOBS); a number past 2^53 is not even read exactly.
  if (Number(v) > MAX_JOBS) throw new CommandLineError(`-j/--jobs ${v}: more than xqbuild's limit of ${MAX_JOBS} job slots.`, `Use a number from 1 to ${MAX_JOBS}.`, command);
  return Number(v);
}

function parseFeature(v: string, opt: string, command: Command | undefined): FeatureName {
  if (!(FEATURE_NAMES as readonly string[]).includes(v)) {
    const near = didYouMean(v, FEATURE_NAMES);
    throw new CommandLineError(`--${opt} ${JSON.stringify(v)}: unknown feature${near ? `; did you mean "${near}"?` : ""} (known: ${FEATURE_NAMES.join(", ")}).`, undefined, command);
  }
  return v as FeatureName;
}

const BY_LONG = new Map(OPTIONS.map((o) => [o.long, o]));
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short as string, o]));

/**
 * The command the words name, if any, read as parseArgs will (an option's value is not a command:
 * `-C build` is a directory), so that an error found on the way can end with that command's usage.
 */
function commandIn(argv: readonly string[]): Command | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") return undefined;
    if (a.startsWith("--")) {
      const spec = BY_LONG.get(a.slice(2));
      if (spec?.value && !spec.optionalValue) i++;
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      const k = [...a.slice(1)].findIndex((c) => BY_SHORT.get(c)?.value !== undefined);
      if (k === a.length - 2) i++;
      continue;
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) continue;
    return (COMMANDS as readonly string[]).includes(a) ? (a as Command) : undefined;
  }
  return undefined;
}

/**
 * The pre-pass before node:util's parseArgs: every option into its long form with an attached value
 * (`-j4`, `-j 4`, `-vq`, `-C DIR`, `--jobs 4` become `--jobs=4` ... `--xen-root=DIR`), so that a value
 * that begins with '-' (`-j -1`) is read as the value it was meant to be and refused for what it is;
 * `--with-system-qemu` alone becomes `--with-system-qemu=` (its value is optional, never the next
 * word). Unknown options, a flag given a value and a missing value are refused here, in the words
 * of the table.
 */
function normalize(argv: readonly string[], command: Command | undefined): string[] {
  const out: string[] = [];
  const unknown = (shown: string, name: string, candidates: readonly string[]): CommandLineError => {
    const near = didYouMean(name, candidates);
    return new CommandLineError(
      `unknown option ${shown}${near ? `; did you mean ${near}?` : "."}`,
      `Run xqbuild help${command ? ` ${command}` : ""} for the options.`,
      command,
    );
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = BY_LONG.get(name);
      if (!spec) throw unknown(a, `--${name}`, [...BY_LONG.keys()].map((l) => `--${l}`));
      if (!spec.value) {
        if (eq >= 0) throw new CommandLineError(`--${name} takes no value.`, undefined, command);
        out.push(a);
      } else if (eq >= 0) {
        out.push(a);
      } else if (spec.optionalValue) {
        out.push(`--${name}=`);
      } else {
        const v = argv[++i];
        if (v === undefined) throw new CommandLineError(`--${name} needs a value (${spec.value}).`, undefined, command);
        out.push(`--${name}=${v}`);
      }
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      // Short options, possibly bundled (-vq) or with an attached value (-j4, -C../xen).
      for (let k = 1; k < a.length; k++) {
        const c = a[k] as string;
        const spec = BY_SHORT.get(c);
        if (!spec) throw new CommandLineError(`unknown option -${c}${a.length > 2 ? ` in ${a}` : ""}.`, `Run xqbuild help${command ? ` ${command}` : ""} for the options.`, command);
        if (spec.value) {
          const attached = a.slice(k + 1);
          const v = attached !== "" ? attached : argv[++i];
          if (v === undefined) throw new CommandLineError(`-${c} needs a value (${spec.value}).`, undefined, command);
          out.push(`--${spec.long}=${v}`);
          break;
        }
        out.push(`--${spec.long}`);
      }
      continue;
    }
    out.push(a);
  }
  return out;
}

/** What node:util's parseArgs is told: every option of the table, by its long name. */
const NODE_OPTIONS = Object.fromEntries(OPTIONS.map((o) => [o.long, { type: o.value ? "string" : "boolean", multiple: true }] as const)) as Record<
  string,
  { type: "string" | "boolean"; multiple: true }
>;

export function parseArgs(argv: readonly string[]): Args {
  const named = commandIn(argv);
  // Strict: after the pre-pass nothing it could refuse is left, so a throw here is a bug, not input.
  const { tokens } = nodeParseArgs({ args: normalize(argv, named), options: NODE_OPTIONS, strict: true, allowPositionals: true, tokens: true });
  let command: Command | undefined;
  const components: ComponentName[] = [];
  const assignments: Record<string, string> = {};
  const words: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const features: Partial<Record<FeatureName, boolean>> = {};

  for (const t of tokens) {
    if (t.kind === "option-terminator") continue;
    if (t.kind === "option") {
      const spec = BY_LONG.get(t.name) as OptionSpec;
      if (!spec.value) {
        flags.add(spec.long);
        continue;
      }
      const value = t.value ?? "";
      if (spec.long === "with" || spec.long === "without") {
        features[parseFeature(value, spec.long, named)] = spec.long === "with";
        continue;
      }
      if (value === "" && !spec.optionalValue) throw new CommandLineError(`--${spec.long} needs a value (${spec.value}).`, undefined, named);
      values.set(spec.long, value);
      continue;
    }
    const a = t.value;
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(a);
    if (assign && command !== "help" && command !== "completion" && command !== "man") {
      assignments[assign[1] as string] = assign[2] as string;
      continue;
    }
    if (command === undefined && components.length === 0 && words.length === 0 && (COMMANDS as readonly string[]).includes(a)) {
      command = a as Command;
      continue;
    }
    const takes = command ? (COMMAND_SPECS[command].words ?? "components") : "components";
    // legal-info's first word is its directory, whatever it is named (a directory "seabios" too).
    if (takes === "dir" && words.length === 0) {
      words.push(a);
      continue;
    }
    if (takes === "command" || takes === "shell" || takes === "none") {
      words.push(a);
      continue;
    }
    if (isComponentName(a)) {
      if (!components.includes(a)) components.push(a);
      continue;
    }
    if (takes === "variables" || takes === "cache") {
      words.push(a);
      continue;
    }
    throw unknownWord(a, command === undefined && components.length === 0, command);
  }
  const cmd: Command = command ?? "all";
  if (flags.has("verbose") && flags.has("quiet")) throw new CommandLineError("-v/--verbose and -q/--quiet cannot be used together.", undefined, command);
  for (const long of [...values.keys(), ...flags]) {
    const spec = BY_LONG.get(long) as OptionSpec;
    if (!appliesTo(spec, cmd)) {
      throw new CommandLineError(`--${long} does not apply to "xqbuild ${cmd}" (only to: ${(spec.commands ?? CONFIG_COMMANDS).join(", ")}).`, `Run xqbuild help ${cmd} for its options.`, cmd);
    }
  }
  if (components.length > 0 && cmd === "config") throw new CommandLineError("xqbuild config takes variable names, not components.", undefined, cmd);
  if (cmd === "cache") {
    const [sub, size, ...extra] = words;
    if (sub !== undefined && !(CACHE_ACTIONS as readonly string[]).includes(sub)) {
      const near = didYouMean(sub, CACHE_ACTIONS);
      throw new CommandLineError(`xqbuild cache ${JSON.stringify(sub)}: expected list, prune [SIZE] or clear${near ? `; did you mean "${near}"?` : "."}`, undefined, cmd);
    }
    if ((size !== undefined && sub !== "prune") || extra.length > 0) throw new CommandLineError(`xqbuild cache: unexpected ${JSON.stringify(size ?? extra[0])}.`, "Only cache prune takes a size (e.g. 2G).", cmd);
  }
  if (cmd === "help") {
    const [topic, ...extra] = words;
    if (extra.length > 0) throw new CommandLineError(`xqbuild help: unexpected ${JSON.stringify(extra[0])}.`, "It takes one command name.", cmd);
    if (topic !== undefined && !(COMMANDS as readonly string[]).includes(topic)) throw unknownWord(topic, true, cmd, true);
  }
  if (cmd === "completion") {
    const [shell, ...extra] = words;
    if (shell === undefined || !(SHELLS as readonly string[]).includes(shell) || extra.length > 0) {
      const near = shell !== undefined ? didYouMean(shell, SHELLS) : undefined;
      throw new CommandLineError(
        shell === undefined ? "xqbuild completion needs a shell: bash, zsh or fish." : `xqbuild completion ${JSON.stringify(extra[0] ?? shell)}: expected one of bash, zsh, fish${near && extra.length === 0 ? `; did you mean "${near}"?` : "."}`,
        "For example: source <(xqbuild completion bash)",
        cmd,
      );
    }
  }
  if (cmd === "legal-info" && words.length === 0) throw new CommandLineError("xqbuild legal-info needs the directory to write into.", "For example: xqbuild legal-info out/legal-info [component...]", cmd);
  if (cmd === "man" && words.length > 0) throw new CommandLineError(`xqbuild man: unexpected ${JSON.stringify(words[0])}.`, "It takes no arguments.", cmd);
  const jobs = values.has("jobs") ? parseJobs(values.get("jobs") as string, command) : undefined;
  if (flags.has("locked") && flags.has("update-lock")) throw new CommandLineError("--locked and --update-lock cannot be used together.", undefined, command);
  let lockTimeoutMs: number | undefined;
  if (values.has("lock-timeout")) {
    const t = values.get("lock-timeout") as string;
    if (!/^\d+(\.\d+)?$/.test(t)) throw new CommandLineError(`--lock-timeout ${JSON.stringify(t)}: expected a number of seconds.`, undefined, command);
    lockTimeoutMs = Number(t) * 1000;
  }
  const format = values.get("format");
  if (format !== undefined && !isSbomFormat(format)) {
    const near = didYouMean(format, SBOM_FORMATS);
    throw new CommandLineError(`--format ${JSON.stringify(format)}: unknown SBOM format${near ? `; did you mean "${near}"?` : ""} (known: ${SBOM_FORMATS.join(", ")}).`, undefined, cmd);
  }
  const opt = (k: string): string | undefined => values.get(k);
  const out: Args = {
    command: cmd,
    commandGiven: command !== undefined,
    components,
    assignments,
    words,
    json: flags.has("json"),
    verbose: flags.has("verbose"),
    quiet: flags.has("quiet"),
    offline: flags.has("offline"),
    help: flags.has("help"),
    version: flags.has("version"),
    standalone: flags.has("standalone"),
    all: flags.has("all"),
    force: flags.has("force"),
    locked: flags.has("locked"),
    updateLock: flags.has("update-lock"),
    features,
    noCache: flags.has("no-cache"),
    dryRun: flags.has("dry-run"),
    sbom: flags.has("sbom"),
    ...(format !== undefined ? { sbomFormat: format } : {}),
    ...(opt("output") !== undefined ? { outputFile: opt("output") as string } : {}),
    ...(opt("xen-root") !== undefined ? { xenRoot: opt("xen-root") as string } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    ...(opt("with-system-qemu") !== undefined ? { systemQemu: opt("with-system-qemu") as string } : {}),
    ...(opt("with-system-seabios") !== undefined ? { systemSeabios: opt("with-system-seabios") as string } : {}),
    ...(opt("destdir") !== undefined ? { destdir: opt("destdir") as string } : {}),
    ...(opt("xen-version") !== undefined ? { xenVersion: opt("xen-version") as string } : {}),
    ...(opt("config-file") !== undefined ? { configFile: opt("config-file") as string } : {}),
    ...(opt("why") !== undefined ? { why: opt("why") as string } : {}),
  };
  return out;
}

/**
 * A word that is neither a command nor a component (nor a VAR=value). With a near command or
 * component: "unknown command "biuld"; did you mean "build"?".
 */
function unknownWord(word: string, commandPlace: boolean, command: Command | undefined, onlyCommands = false): CommandLineError {
  const candidates: readonly string[] = onlyCommands ? COMMANDS : commandPlace ? [...COMMANDS, ...COMPONENT_NAMES] : COMPONENT_NAMES;
  const near = didYouMean(word, candidates);
  const hint = onlyCommands ? `Commands: ${COMMANDS.join(", ")}.` : `Commands: ${COMMANDS.join(", ")}. Components: ${COMPONENT_NAMES.join(", ")}.`;
  if (near !== undefined) {
    const what = (COMMANDS as readonly string[]).includes(near) ? "command" : "component";
    return new CommandLineError(`unknown ${what} ${JSON.stringify(word)}; did you mean ${JSON.stringify(near)}?`, hint, command);
  }
  const what = onlyCommands ? "command" : commandPlace ? "command or component" : "component";
  return new CommandLineError(`unknown ${what} ${JSON.stringify(word)}.`, hint, command);
}
