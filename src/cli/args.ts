import { COMPONENT_NAMES, isComponentName, type ComponentName } from "../components/names.js";
import { UsageError } from "../util/errors.js";
import { MAX_JOBS } from "../engine/jobserver.js";
import { FEATURE_NAMES, type FeatureName } from "../config/settings.js";

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
  "cache",
] as const;
export type Command = (typeof COMMANDS)[number];

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
}

export const USAGE = "usage: xqbuild [command] [component...] [VAR=value...] [options]";

interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly value?: string;
  /** The value may be left out (--opt or --opt=VALUE, never --opt VALUE). */
  readonly optionalValue?: boolean;
  readonly help: string;
  /** Commands it applies to; undefined: all. */
  readonly commands?: readonly Command[];
}

export const OPTIONS: readonly OptionSpec[] = [
  { long: "xen-root", short: "C", value: "DIR", help: "the Xen tree (default: search upward from the current directory)" },
  { long: "jobs", short: "j", value: "N", help: "job budget shared by every make and ninja (default: number of CPUs; at most 4096)" },
  { long: "json", help: "machine-readable output (JSON; NDJSON events for builds)" },
  { long: "verbose", short: "v", help: "stream every command's output" },
  { long: "quiet", short: "q", help: "print only errors and warnings" },
  { long: "offline", help: "never use the network (also XQBUILD_OFFLINE=1)" },
  { long: "destdir", value: "DIR", help: "staging directory for install (DESTDIR)", commands: ["install", "all"] },
  { long: "standalone", help: "no Xen tree: built-in defaults, outputs under ./build" },
  { long: "xen-version", value: "X.Y", help: "release whose glue to follow in standalone mode (default: 4.22)" },
  { long: "config-file", value: "FILE", help: "use this xqbuild config file instead of searching the Xen tree's root" },
  { long: "with-system-qemu", value: "PATH", optionalValue: true, help: "use an installed QEMU with Xen support (default: qemu-system-i386 from PATH); build none" },
  { long: "with-system-seabios", value: "PATH", help: "use an installed SeaBIOS image (absolute path); build none" },
  { long: "with", value: "FEATURE", help: `enable a feature: ${FEATURE_NAMES.join(", ")}` },
  { long: "without", value: "FEATURE", help: "disable a feature" },
  { long: "all", help: "show every variable, not only the main ones", commands: ["config"] },
  { long: "force", help: "allow an operation that would discard local work (update keeps a backup ref)", commands: ["update", "distclean"] },
  { long: "locked", help: "fail if a revision would resolve to another commit than xqbuild.lock records", commands: ["fetch", "update", "all"] },
  { long: "update-lock", help: "resolve the revisions again and rewrite xqbuild.lock", commands: ["fetch", "all"] },
  { long: "no-cache", help: "build without the artifact cache (neither restore nor store)", commands: ["all", "configure", "build", "install"] },
  { long: "lock-timeout", value: "SECONDS", help: "give up waiting for another xqbuild's lock after this long" },
  { long: "help", short: "h", help: "show help" },
  { long: "version", short: "V", help: "show xqbuild's version" },
];

export const COMMAND_HELP: Record<Command, string> = {
  all: "fetch, patch, configure and build every enabled component (the default command)",
  fetch: "clone or update the sources into the glue's directories",
  update: "move the sources to the wanted revision (the glue's *-dir-force-update)",
  configure: "run the components' configure steps",
  build: "build the components",
  install: "install into DESTDIR as the glue does",
  clean: "run the components' make clean",
  distclean: "remove the fetched trees, build directories and xqbuild's state",
  plan: "show, without running anything, what each stage would run",
  config: "show every variable with its value and where it came from",
  status: "show the state of each component's source and stages",
  doctor: "check the host for what the enabled components need",
  dist: "write reproducible source tarballs of the fetched trees",
  cache: "show the build artifact cache; cache prune [SIZE] evicts the least recently used, cache clear empties it",
};

function parseJobs(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`-j/--jobs ${JSON.stringify(v)}: expected a whole number of at least 1.`);
  // The job pool's bound (see MAX_JOBS); a number past 2^53 is not even read exactly.
  if (Number(v) > MAX_JOBS) throw new UsageError(`-j/--jobs ${v}: more than xqbuild's limit of ${MAX_JOBS} job slots.`, `Use a number from 1 to ${MAX_JOBS}.`);
  return Number(v);
}

function parseFeature(v: string, opt: string): FeatureName {
  if (!(FEATURE_NAMES as readonly string[]).includes(v)) {
    throw new UsageError(`--${opt} ${JSON.stringify(v)}: unknown feature (known: ${FEATURE_NAMES.join(", ")}).`);
  }
  return v as FeatureName;
}

export function parseArgs(argv: readonly string[]): Args {
  let command: Command | undefined;
  const components: ComponentName[] = [];
  const assignments: Record<string, string> = {};
  const words: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const features: Partial<Record<FeatureName, boolean>> = {};
  let restArePositional = false;

  const byShort = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short as string, o]));
  const byLong = new Map(OPTIONS.map((o) => [o.long, o]));

  const take = (spec: OptionSpec, value: string): void => {
    if (spec.long === "with" || spec.long === "without") {
      features[parseFeature(value, spec.long)] = spec.long === "with";
      return;
    }
    if (value === "" && !spec.optionalValue) throw new UsageError(`--${spec.long} needs a value (${spec.value}).`);
    values.set(spec.long, value);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!restArePositional && a === "--") {
      restArePositional = true;
      continue;
    }
    if (!restArePositional && a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option ${a}.`, "Run xqbuild --help for the options.");
      if (spec.value && spec.optionalValue && eq < 0) {
        values.set(spec.long, "");
      } else if (spec.value) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value (${spec.value}).`);
        take(spec, v);
      } else {
        if (eq >= 0) throw new UsageError(`--${name} takes no value.`);
        flags.add(spec.long);
      }
      continue;
    }
    if (!restArePositional && a.startsWith("-") && a.length > 1) {
      // Short options, possibly bundled (-vq) or with an attached value (-j4, -C../xen).
      for (let k = 1; k < a.length; k++) {
        const c = a[k] as string;
        const spec = byShort.get(c);
        if (!spec) throw new UsageError(`unknown option -${c}${a.length > 2 ? ` in ${a}` : ""}.`, "Run xqbuild --help for the options.");
        if (spec.value) {
          const attached = a.slice(k + 1);
          const v = attached !== "" ? attached : argv[++i];
          if (v === undefined) throw new UsageError(`-${c} needs a value (${spec.value}).`);
          take(spec, v);
          break;
        }
        flags.add(spec.long);
      }
      continue;
    }
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(a);
    if (assign) {
      assignments[assign[1] as string] = assign[2] as string;
      continue;
    }
    if (command === undefined && components.length === 0 && words.length === 0 && (COMMANDS as readonly string[]).includes(a)) {
      command = a as Command;
      continue;
    }
    if (isComponentName(a)) {
      if (!components.includes(a)) components.push(a);
      continue;
    }
    if (command === "config" || command === "cache") {
      words.push(a);
      continue;
    }
    throw new UsageError(
      `unknown ${command === undefined && components.length === 0 ? "command or component" : "component"} ${JSON.stringify(a)}.`,
      `Commands: ${COMMANDS.join(", ")}. Components: ${COMPONENT_NAMES.join(", ")}.`,
    );
  }
  const cmd: Command = command ?? "all";
  if (flags.has("verbose") && flags.has("quiet")) throw new UsageError("-v/--verbose and -q/--quiet cannot be used together.");
  for (const [long] of [...values, ...[...flags].map((f) => [f, ""] as const)]) {
    const spec = byLong.get(long);
    if (spec?.commands && !spec.commands.includes(cmd)) {
      throw new UsageError(`--${long} does not apply to "xqbuild ${cmd}" (only to: ${spec.commands.join(", ")}).`);
    }
  }
  if (components.length > 0 && cmd === "config") throw new UsageError("xqbuild config takes variable names, not components.");
  if (cmd === "cache") {
    const [sub, size, ...extra] = words;
    if (sub !== undefined && !["list", "prune", "clear"].includes(sub)) throw new UsageError(`xqbuild cache ${JSON.stringify(sub)}: expected list, prune [SIZE] or clear.`);
    if ((size !== undefined && sub !== "prune") || extra.length > 0) throw new UsageError(`xqbuild cache: unexpected ${JSON.stringify(size ?? extra[0])}.`, "Only cache prune takes a size (e.g. 2G).");
  }
  const jobs = values.has("jobs") ? parseJobs(values.get("jobs") as string) : undefined;
  if (flags.has("locked") && flags.has("update-lock")) throw new UsageError("--locked and --update-lock cannot be used together.");
  let lockTimeoutMs: number | undefined;
  if (values.has("lock-timeout")) {
    const t = values.get("lock-timeout") as string;
    if (!/^\d+(\.\d+)?$/.test(t)) throw new UsageError(`--lock-timeout ${JSON.stringify(t)}: expected a number of seconds.`);
    lockTimeoutMs = Number(t) * 1000;
  }
  const opt = (k: string): string | undefined => values.get(k);
  const out: Args = {
    command: cmd,
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
    ...(opt("xen-root") !== undefined ? { xenRoot: opt("xen-root") as string } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    ...(opt("with-system-qemu") !== undefined ? { systemQemu: opt("with-system-qemu") as string } : {}),
    ...(opt("with-system-seabios") !== undefined ? { systemSeabios: opt("with-system-seabios") as string } : {}),
    ...(opt("destdir") !== undefined ? { destdir: opt("destdir") as string } : {}),
    ...(opt("xen-version") !== undefined ? { xenVersion: opt("xen-version") as string } : {}),
    ...(opt("config-file") !== undefined ? { configFile: opt("config-file") as string } : {}),
  };
  return out;
}

export function helpText(command?: Command): string {
  const opts = OPTIONS.filter((o) => !command || !o.commands || o.commands.includes(command));
  const optLines = opts.map((o) => {
    const left = `${o.short ? `-${o.short}, ` : "    "}--${o.long}${o.value ? ` ${o.value}` : ""}`;
    return `  ${left.padEnd(28)} ${o.help}`;
  });
  if (command) {
    const extra =
      command === "config"
        ? "xqbuild config [VAR...] [--json] [--all]"
        : command === "plan"
          ? "xqbuild plan [component...] [VAR=value...] [--json]"
          : `xqbuild ${command} [component...] [VAR=value...] [options]`;
    return [`usage: ${extra}`, "", `${COMMAND_HELP[command]}.`, "", "Options:", ...optLines, ""].join("\n");
  }
  return [
    USAGE,
    "",
    "Fetch, configure, build and install Xen's device models (qemu-xen, qemu-xen-traditional) and SeaBIOS,",
    "reading the same configuration as Xen's make glue (Config.mk, .config, config/Tools.mk).",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.padEnd(12)} ${COMMAND_HELP[c]}`),
    "",
    `Components: ${COMPONENT_NAMES.join(", ")} (default: those enabled by CONFIG_QEMU_XEN, CONFIG_QEMU_TRAD, CONFIG_SEABIOS)`,
    "",
    "VAR=value arguments act like make command-line variables.",
    "",
    "Options:",
    ...optLines,
    "",
    "Exit codes: 0 success, 1 failure, 2 usage or configuration error, 130/143 interrupted.",
    "",
  ].join("\n");
}
