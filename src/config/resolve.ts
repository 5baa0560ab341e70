import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { UsageError, UserError } from "../util/errors.js";
import { definedOnly } from "../util/proc.js";
import type { ComponentName } from "../components/names.js";
import { toolsMkStandIn, standaloneMakefile } from "./builtin-mk.js";
import { readXqbuildEnv, type XqbuildEnv } from "./env.js";
import { evaluateMake, type MakeDefinition, type MakeVar } from "./make-eval.js";
import { releaseProfile, type ReleaseProfile, type XenVersion } from "./release.js";
import { loadSettings, type FeatureName, type Settings } from "./settings.js";
import type { Mode, Origin, ResolvedConfig, ResolvedVar } from "./types.js";
import { formatOrigin } from "./types.js";
import { validateSourceVars } from "./validate.js";
import { KNOWN_NAMES, KNOWN_VARIABLES, closestName } from "./variables.js";
import { checkXenRoot, findXenRoot, parseXenVersionOption, readXenVersion } from "./xen-tree.js";

export interface ResolveOptions {
  readonly cwd: string;
  /** -C/--xen-root as given. */
  readonly xenRoot?: string;
  readonly standalone?: boolean;
  /** --xen-version, standalone mode only. */
  readonly xenVersion?: string;
  /** `VAR=value` arguments, in the order given. */
  readonly commandLine: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly configFile?: string;
  readonly selected?: readonly ComponentName[];
  readonly jobs?: number;
  readonly offline?: boolean;
  readonly systemQemu?: string;
  readonly systemSeabios?: string;
  /** --with/--without FEATURE. */
  readonly features?: Readonly<Partial<Record<FeatureName, boolean>>>;
}

/** Features that are glue variables: switching them sets the variable as the glue's users do. */
const FEATURE_VARS: Partial<Record<FeatureName, (on: boolean) => [string, string]>> = {
  "9pfs": (on) => ["CONFIG_9PFS", on ? "y" : "n"],
  debug: (on) => ["debug", on ? "y" : "n"],
};

const DEFAULT_STANDALONE_VERSION = "4.22";

/** Refuses a .config that make would misread silently: NUL bytes, a byte-order mark, DOS line endings. */
export function checkDotConfig(file: string, shown: string): void {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return;
  }
  const lineOf = (idx: number): number => buf.subarray(0, idx).toString("latin1").split("\n").length;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    throw new UserError(`${shown}:1 starts with a UTF-8 byte-order mark, which make reads as part of the first variable's name.`, `Save ${shown} without a BOM.`);
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) throw new UserError(`${shown}:${lineOf(nul)} contains a NUL byte; make cannot read such a file reliably.`, `Remove the NUL byte from ${shown}.`);
  const cr = buf.indexOf(0x0d);
  if (cr >= 0) {
    throw new UserError(
      `${shown}:${lineOf(cr)} ends in a carriage return (a DOS line ending); make would keep it as part of the value.`,
      `Convert ${shown} to Unix line endings (for example: sed -i 's/\\r$//' ${shown}).`,
    );
  }
}

interface Evaluation {
  readonly vars: ReadonlyMap<string, MakeVar>;
  readonly definitions: readonly MakeDefinition[];
}

/**
 * `.Config.mk` at the top of the tree, where the Xen wiki puts QEMU_UPSTREAM_URL/_REVISION overrides.
 * Xen's Config.mk does not read it; xqbuild reads it where make/xqbuild.mk does, at the end of
 * tools/Makefile and tools/firmware/Makefile: after Config.mk, .config, config/Tools.mk and the rest
 * of the tree's makefiles, with make's own rules (`=`, `:=` and `+=` act on the values those set; `?=`
 * only on a variable none of them set). That is the one place Xen's own make can read it too without
 * a change to Config.mk, so `make` and xqbuild agree. A file the tree's makefiles already read (a
 * `-include $(XEN_ROOT)/.Config.mk` in .config, or make/xqbuild.mk) is not read a second time.
 */
export const DOT_CONFIG_MK = ".Config.mk";
/** Set to y by the epilogue when the tree's own makefiles had read .Config.mk. */
const CONFIG_MK_READ_VAR = "XQBUILD_TREE_READ_CONFIG_MK";
/** Read after the tree's Makefile (see DOT_CONFIG_MK); exported for `config --why`, which asks make the same question. */
export const CONFIG_MK_EPILOGUE = [
  `${CONFIG_MK_READ_VAR} := $(if $(filter $(abspath $(XEN_ROOT)/${DOT_CONFIG_MK}),$(abspath $(MAKEFILE_LIST))),y)`,
  `ifneq ($(${CONFIG_MK_READ_VAR}),y)`,
  `-include $(XEN_ROOT)/${DOT_CONFIG_MK}`,
  "endif",
  "",
].join("\n");

export function escapeMakePath(p: string): string {
  return p.replace(/\$/g, "$$$$");
}

/**
 * Reads everything the run depends on, once: the tree (or the standalone defaults), the xqbuild
 * config file, the environment's XQBUILD_* variables, and make's view of the glue's variables.
 * Each step below takes the values the previous ones made and returns one; nothing later reads a
 * file or the environment again.
 */
export async function resolveConfig(opts: ResolveOptions): Promise<ResolvedConfig> {
  // xqbuild's own variables first: a value it cannot read stops the run before anything is evaluated.
  const xq = readXqbuildEnv(opts.env);
  const { mode, root, version } = locateTree(opts);
  const release = releaseProfile(version.major, version.minor);
  const base = mode === "tree" ? root : opts.cwd;
  const loaded = await loadSettings(base, opts.configFile);
  const settings: Settings = loaded.settings;
  const settingsFile = loaded.file ? path.relative(base, loaded.file) || loaded.file : undefined;
  const layered = layerVariables(settings, opts);
  const userFiles = checkUserFiles(mode, root);
  const ev = await evaluateConfiguration({ opts, xq, mode, root, version, release, commandLine: layered.commandLine });
  const vars = knownVariables(ev, layered.settingsVarNames, settingsFile);
  addDerivations(vars, root);
  const warnings = configWarnings(ev, layered, userFiles, settingsFile, vars, mode, root);
  validateSourceVars(vars, root);

  const cacheDir =
    settings.cacheDir ??
    (xq.cacheDir !== undefined ? path.resolve(opts.cwd, xq.cacheDir) : undefined) ??
    (opts.env.XDG_CACHE_HOME ? path.join(opts.env.XDG_CACHE_HOME, "xqbuild") : path.join(opts.env.HOME ?? tmpdir(), ".cache", "xqbuild"));
  return {
    mode,
    xenRoot: root,
    system: systemComponents(opts, mode, root, vars),
    xenVersion: version,
    release,
    unconfigured: ev.unconfigured,
    vars,
    settings,
    features: { ...settings.features, ...opts.features },
    ...(settingsFile !== undefined ? { settingsFile } : {}),
    selected: opts.selected ?? [],
    jobs: opts.jobs ?? settings.jobs ?? availableParallelism(),
    offline: opts.offline === true || (xq.offline ?? settings.offline === true),
    cacheDir,
    warnings,
    env: definedOnly(opts.env),
    xq,
  };
}

/** Where the run works: the Xen tree around the working directory (or -C), or standalone ./build. */
function locateTree(opts: ResolveOptions): { mode: Mode; root: string; version: XenVersion } {
  if (opts.standalone) {
    if (opts.xenRoot !== undefined) throw new UsageError("--standalone and -C/--xen-root cannot be used together.", "Use one or the other.");
    return { mode: "standalone", root: path.resolve(opts.cwd, "build"), version: parseXenVersionOption(opts.xenVersion ?? DEFAULT_STANDALONE_VERSION) };
  }
  if (opts.xenVersion !== undefined) {
    throw new UsageError("--xen-version is for standalone mode; in a Xen tree the release is read from xen/Makefile.", "Add --standalone, or drop --xen-version.");
  }
  const found = opts.xenRoot !== undefined ? checkXenRoot(path.resolve(opts.cwd, opts.xenRoot), opts.xenRoot) : findXenRoot(opts.cwd);
  if (!found) {
    throw new UserError(
      `${opts.cwd} is not inside a Xen source tree (no directory above it has Config.mk, xen/Makefile and tools/Makefile).`,
      "Run xqbuild inside a Xen checkout, point at one with -C DIR, or build without a tree with --standalone [--xen-version X.Y] (outputs go to ./build).",
    );
  }
  return { mode: "tree", root: found, version: readXenVersion(found) };
}

/** The make command-line variables of the run, and which of them the xqbuild config file set. */
export interface LayeredVariables {
  readonly commandLine: Readonly<Record<string, string>>;
  readonly fromSettings: ReadonlyMap<string, string>;
  /** The variables whose command-line value is the config file's (the real command line did not set them). */
  readonly settingsVarNames: ReadonlySet<string>;
}

/**
 * The xqbuild config file's variables and features act as command-line variables below the real
 * command line: at the environment's level the := assignments of config/Tools.mk would hide them.
 */
export function layerVariables(settings: Settings, opts: Pick<ResolveOptions, "commandLine" | "features">): LayeredVariables {
  const fromSettings = new Map<string, string>();
  for (const [k, v] of Object.entries(settings.variables ?? {})) fromSettings.set(k, v);
  for (const [f, on] of Object.entries(settings.features ?? {})) {
    const mk = FEATURE_VARS[f as FeatureName];
    if (mk && on !== undefined) {
      const [k, v] = mk(on);
      fromSettings.set(k, v);
    }
  }
  const cliVars = new Map<string, string>(Object.entries(opts.commandLine));
  for (const [f, on] of Object.entries(opts.features ?? {})) {
    const mk = FEATURE_VARS[f as FeatureName];
    if (mk && on !== undefined) {
      const [k, v] = mk(on);
      if (!cliVars.has(k)) cliVars.set(k, v);
    }
  }
  const commandLine: Record<string, string> = {};
  for (const [k, v] of fromSettings) if (!cliVars.has(k)) commandLine[k] = v;
  for (const [k, v] of cliVars) commandLine[k] = v;
  return { commandLine, fromSettings, settingsVarNames: new Set([...fromSettings.keys()].filter((k) => !cliVars.has(k))) };
}

/** The user's own make files (absolute path → name shown); in a tree, refused if make would misread them. */
function checkUserFiles(mode: Mode, root: string): ReadonlyMap<string, string> {
  const dotConfig = path.join(root, ".config");
  const configMk = path.join(root, DOT_CONFIG_MK);
  if (mode === "tree") {
    checkDotConfig(dotConfig, ".config");
    checkDotConfig(configMk, DOT_CONFIG_MK);
  }
  return new Map([
    [dotConfig, ".config"],
    [configMk, DOT_CONFIG_MK],
  ]);
}

/** make's answer for tools/ and tools/firmware/ (one evaluation in standalone mode). */
interface ConfigurationEvaluation {
  readonly tools: Evaluation;
  readonly firmware: Evaluation;
  /** xqbuild's own stand-in files: a value from one is a built-in default. */
  readonly builtinFiles: ReadonlySet<string>;
  /** True when config/Tools.mk was missing and the stand-in took its place. */
  readonly unconfigured: boolean;
}

/**
 * Asks make for the glue's variables as tools/Makefile and tools/firmware/Makefile see them (in a
 * tree), or as xqbuild's built-in defaults give them (standalone); a configured tree's answer is
 * kept for the next run, so a rerun starts no make at all.
 */
async function evaluateConfiguration(a: {
  opts: ResolveOptions;
  xq: XqbuildEnv;
  mode: Mode;
  root: string;
  version: XenVersion;
  release: ReleaseProfile;
  commandLine: Readonly<Record<string, string>>;
}): Promise<ConfigurationEvaluation> {
  const { opts, mode, root, commandLine } = a;
  const make = a.xq.make ?? "make";
  const toolsVars = [...KNOWN_VARIABLES.filter((v) => v.context === "tools").map((v) => v.name), "MAKEFILE_LIST", CONFIG_MK_READ_VAR];
  const fwVars = [...KNOWN_VARIABLES.filter((v) => v.context === "firmware").map((v) => v.name), "MAKEFILE_LIST", CONFIG_MK_READ_VAR];
  const tmp = await mkdtemp(path.join(tmpdir(), "xqbuild-config-"));
  const builtinFiles = new Set<string>();
  try {
    const standIn = path.join(tmp, "Tools.mk");
    builtinFiles.add(standIn);
    await writeFile(standIn, toolsMkStandIn());
    const env = { ...opts.env };
    if (mode === "tree") {
      const unconfigured = !existsSync(path.join(root, "config", "Tools.mk"));
      const pre = unconfigured ? [standIn] : [];
      const cache = unconfigured || a.xq.noMakeCache === true ? {} : { cacheDir: path.join(root, ".xqbuild", "make-eval") };
      const common = { make, commandLine, env, epilogue: CONFIG_MK_EPILOGUE, what: "the Xen tree's configuration", relativeTo: root, ...cache };
      const [tools, firmware] = await Promise.all([
        evaluateMake({ ...common, cwd: path.join(root, "tools"), makefiles: [...pre, "Makefile"], variables: toolsVars }),
        evaluateMake({ ...common, cwd: path.join(root, "tools", "firmware"), makefiles: [...pre, "Makefile"], variables: fwVars }),
      ]);
      return { tools, firmware, builtinFiles, unconfigured };
    }
    const mk = path.join(tmp, "standalone.mk");
    builtinFiles.add(mk);
    await writeFile(mk, `XEN_ROOT := ${escapeMakePath(root)}\n` + standaloneMakefile(a.release, a.version));
    const tools = await evaluateMake({
      make,
      commandLine,
      env,
      cwd: opts.cwd,
      makefiles: [standIn, mk],
      variables: [...toolsVars, ...fwVars],
      what: "xqbuild's built-in defaults",
      relativeTo: opts.cwd,
    });
    return { tools, firmware: tools, builtinFiles, unconfigured: false };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Every variable xqbuild knows, with its value and where make says it came from. */
function knownVariables(ev: ConfigurationEvaluation, settingsVarNames: ReadonlySet<string>, settingsFile: string | undefined): Map<string, ResolvedVar> {
  const originOf = (mv: MakeVar): Origin => {
    switch (mv.origin) {
      case "file":
      case "override":
        if (mv.file !== undefined && ev.builtinFiles.has(mv.file)) return { kind: "built-in default" };
        if (mv.file === undefined) return { kind: "undefined" };
        return { kind: "file", file: path.resolve(mv.file), line: mv.line ?? 0 };
      case "environment":
      case "environment override":
        return { kind: "environment" };
      case "command line":
        return settingsVarNames.has(mv.name) ? { kind: "xqbuild config", file: settingsFile ?? "" } : { kind: "command line" };
      case "default":
        return { kind: "make default" };
      default:
        return { kind: "undefined" };
    }
  };
  const vars = new Map<string, ResolvedVar>();
  for (const kv of KNOWN_VARIABLES) {
    const mv = (kv.context === "tools" ? ev.tools : ev.firmware).vars.get(kv.name);
    if (!mv) continue;
    vars.set(kv.name, { value: mv.value, origin: originOf(mv) });
  }
  return vars;
}

/** What the person should hear about their configuration: likely typos, stray blanks, .Config.mk, an unconfigured tree. */
function configWarnings(
  ev: ConfigurationEvaluation,
  layered: LayeredVariables,
  userFiles: ReadonlyMap<string, string>,
  settingsFile: string | undefined,
  vars: ReadonlyMap<string, ResolvedVar>,
  mode: Mode,
  root: string,
): string[] {
  const { tools, firmware } = ev;
  const makefileList = (e: Evaluation): string[] => (e.vars.get("MAKEFILE_LIST")?.value ?? "").split(/\s+/);
  const mentioned = wordsOfMakefiles([...makefileList(tools), ...makefileList(firmware)], [tools, firmware], userFiles, ev.builtinFiles);
  const warnings = typoWarnings(tools.definitions, firmware.definitions, layered.fromSettings, userFiles, settingsFile, layered.commandLine, layered.settingsVarNames, mentioned);
  for (const [name, v] of vars) {
    const shown = v.origin.kind === "file" ? userFiles.get(v.origin.file) : undefined;
    if (v.origin.kind === "file" && shown !== undefined && v.value !== v.value.trim()) {
      warnings.push(
        `${name} (${shown}:${v.origin.line}) is ${JSON.stringify(v.value)}, with blanks around it (a comment after the value?). make keeps them, and the glue's tests such as ifeq ($(debug),y) then fail; put comments on their own line.`,
      );
    }
  }
  if (mode === "tree") warnings.push(...configMkWarnings(path.join(root, DOT_CONFIG_MK), [tools, firmware], vars));
  if (ev.unconfigured) {
    warnings.push("config/Tools.mk is missing (the Xen tree has not been configured): ./configure's defaults stand in for it. Run ./configure in the Xen tree to use its real settings.");
  }
  return warnings;
}

/**
 * Xen's ./configure --with-system-qemu[=PATH] / --with-system-seabios=PATH turn CONFIG_QEMU_XEN /
 * CONFIG_SEABIOS off and write the path into tools/config.h; xqbuild's options of the same names
 * say the same without a configured tree.
 */
function systemComponents(opts: ResolveOptions, mode: Mode, root: string, vars: ReadonlyMap<string, ResolvedVar>): ResolvedConfig["system"] {
  const out: { qemu?: { path: string; from: string }; seabios?: { path: string; from: string } } = {};
  if (opts.systemQemu !== undefined) out.qemu = { path: opts.systemQemu || "qemu-system-i386", from: "--with-system-qemu" };
  if (opts.systemSeabios !== undefined) out.seabios = { path: opts.systemSeabios, from: "--with-system-seabios" };
  if (mode === "tree") {
    let h = "";
    try {
      h = readFileSync(path.join(root, "tools", "config.h"), "utf8");
    } catch {
      // not configured
    }
    const def = (name: string): string | undefined => new RegExp(`^#define ${name} "(.*)"$`, "m").exec(h)?.[1];
    const qemuPath = def("QEMU_XEN_PATH");
    if (!out.qemu && qemuPath && vars.get("CONFIG_QEMU_XEN")?.value.trim() !== "y") out.qemu = { path: qemuPath, from: "tools/config.h (./configure --with-system-qemu)" };
    const biosPath = def("SEABIOS_PATH");
    const own = `${vars.get("XENFIRMWAREDIR")?.value ?? ""}/seabios.bin`;
    if (!out.seabios && biosPath && biosPath !== own && vars.get("CONFIG_SEABIOS")?.value.trim() !== "y") {
      out.seabios = { path: biosPath, from: "tools/config.h (./configure --with-system-seabios)" };
    }
  }
  return out;
}

/** Notes on values reached through a legacy alias or a default computed from another variable. */
function addDerivations(vars: Map<string, ResolvedVar>, root: string): void {
  const aliases: Array<[string, string]> = [
    ["SEABIOS_UPSTREAM_REVISION", "SEABIOS_UPSTREAM_TAG"],
    ["QEMU_TRADITIONAL_URL", "QEMU_REMOTE"],
    ["QEMU_TRADITIONAL_LOC", "CONFIG_QEMU"],
    ["QEMU_TRADITIONAL_REVISION", "QEMU_TAG"],
  ];
  const fromDefault = (v: ResolvedVar): boolean => v.origin.kind === "file" || v.origin.kind === "built-in default";
  for (const [target, legacy] of aliases) {
    const t = vars.get(target);
    const l = vars.get(legacy);
    if (t && l && l.value !== "" && t.value === l.value && fromDefault(t) && !(l.origin.kind === "file" && t.origin.kind === "file" && l.origin.file === t.origin.file && l.origin.line === t.origin.line)) {
      vars.set(target, { ...t, via: `from legacy ${legacy} (${formatOrigin(l.origin, root)})` });
    }
  }
  for (const [loc, url, intree] of [
    ["QEMU_UPSTREAM_LOC", "QEMU_UPSTREAM_URL", "QEMU_UPSTREAM_INTREE"],
    ["QEMU_TRADITIONAL_LOC", "QEMU_TRADITIONAL_URL", "QEMU_TRADITIONAL_INTREE"],
  ] as const) {
    const l = vars.get(loc);
    if (!l || !fromDefault(l) || l.via) continue;
    const u = vars.get(url);
    const i = vars.get(intree);
    if (i && i.value !== "" && l.value === i.value) vars.set(loc, { ...l, via: `the in-tree directory ${intree} exists` });
    else if (u && l.value === u.value) vars.set(loc, { ...l, via: `from ${url} (${formatOrigin(u.origin, root)})` });
  }
}

/**
 * What a user of .Config.mk must know: Xen's own make does not read it (unless make/xqbuild.mk or
 * .config includes it), and a `?=` there is too late for what Config.mk and .config already set.
 */
function configMkWarnings(file: string, evals: readonly Evaluation[], vars: ReadonlyMap<string, ResolvedVar>): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  const set = [...new Set(evals.flatMap((ev) => ev.definitions.filter((d) => path.resolve(d.file) === file && d.name !== "MAKEFILE_LIST").map((d) => d.name)))];
  const treeReads = evals.every((ev) => ev.vars.get(CONFIG_MK_READ_VAR)?.value === "y");
  if (!treeReads) {
    out.push(
      `${DOT_CONFIG_MK} is read by xqbuild${set.length > 0 ? ` (it sets ${set.join(", ")})` : ""}, but Xen's own make does not read it: \`make\` in the tree without xqbuild would not see those settings. ` +
        `To make both agree, include xqbuild's make/xqbuild.mk at the end of tools/Makefile and tools/firmware/Makefile (it reads ${DOT_CONFIG_MK} at the same point), ` +
        `or add \`-include $(XEN_ROOT)/${DOT_CONFIG_MK}\` to .config (both then read it there, before Config.mk's defaults), or move the settings to .config.`,
    );
  }
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(?:(?:override|export)\s+)*([A-Za-z_][A-Za-z0-9_]*)\s*\?=/.exec(lines[i] ?? "");
    const name = m?.[1];
    const v = name !== undefined ? vars.get(name) : undefined;
    if (name === undefined || v === undefined || v.origin.kind !== "file" || v.origin.file === file) continue;
    out.push(
      `${name} ?= at ${DOT_CONFIG_MK}:${i + 1} has no effect: ${formatOrigin(v.origin, path.dirname(file))} set it first, and ${DOT_CONFIG_MK} is read after Config.mk, .config and config/Tools.mk. Write ${name} = ... to override it.`,
    );
  }
  return out;
}

/**
 * Every name the makefiles make read mention (other than .config and .Config.mk): a variable set in .config that one
 * of them mentions is read by something, even if make's database shows only the .config line (an
 * unused `?=` default, as for OVMF_UPSTREAM_URL).
 */
function wordsOfMakefiles(list: readonly string[], evals: readonly Evaluation[], userFiles: ReadonlyMap<string, string>, builtin: ReadonlySet<string>): Set<string> {
  const words = new Set<string>();
  const files = new Set<string>();
  for (const ev of evals) for (const d of ev.definitions) files.add(d.file);
  for (const f of list) if (f) files.add(f);
  for (const f of files) {
    const abs = path.resolve(f);
    if (userFiles.has(abs) || builtin.has(abs)) continue;
    let text = "";
    try {
      text = readFileSync(abs, "utf8");
    } catch {
      continue;
    }
    for (const m of text.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) words.add(m[0]);
  }
  return words;
}

function typoWarnings(
  toolsDefs: readonly MakeDefinition[],
  fwDefs: readonly MakeDefinition[],
  fromSettings: ReadonlyMap<string, string>,
  userFiles: ReadonlyMap<string, string>,
  settingsFile: string | undefined,
  commandLine: Readonly<Record<string, string>>,
  settingsVarNames: ReadonlySet<string>,
  mentioned: ReadonlySet<string>,
): string[] {
  const known = new Set<string>(KNOWN_NAMES);
  for (const w of mentioned) known.add(w);
  const userSet: Array<{ name: string; where: string }> = [];
  for (const d of [...toolsDefs, ...fwDefs]) {
    const shown = d.name === "MAKEFILE_LIST" ? undefined : userFiles.get(path.resolve(d.file));
    if (shown !== undefined) userSet.push({ name: d.name, where: `${shown}:${d.line}` });
    else known.add(d.name);
  }
  for (const name of fromSettings.keys()) if (settingsVarNames.has(name)) userSet.push({ name, where: `xqbuild config ${settingsFile ?? ""}` });
  for (const name of Object.keys(commandLine)) if (!settingsVarNames.has(name)) userSet.push({ name, where: "the command line" });
  const out: string[] = [];
  const seen = new Set<string>();
  for (const { name, where } of userSet) {
    if (known.has(name) || seen.has(name)) continue;
    seen.add(name);
    const guess = closestName(name, known);
    if (guess) out.push(`${name} (set in ${where}) is not a variable Xen's build or xqbuild reads; did you mean ${guess}? make ignores unknown variables silently.`);
  }
  return out;
}
