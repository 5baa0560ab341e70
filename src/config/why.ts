import { existsSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { onExit, throwIfInterrupted } from "../util/signals.js";
import { toolsMkStandIn, standaloneMakefile } from "./builtin-mk.js";
import { evaluateMake, type MakeVar } from "./make-eval.js";
import { CONFIG_MK_EPILOGUE, escapeMakePath, layerVariables } from "./resolve.js";
import type { FeatureName } from "./settings.js";
import type { ResolvedConfig } from "./types.js";
import { KNOWN_VARIABLES } from "./variables.js";

/** One assignment in the chain that decided a variable's value, with the value make gives after it. */
export interface WhyStep {
  /** Where the assignment is, as `xqbuild config` names origins: FILE:LINE, environment, command line, ... */
  readonly origin: string;
  readonly kind: "file" | "built-in default" | "environment" | "command line" | "xqbuild config" | "make default";
  /** For a makefile line: the file (absolute) and line make's database names. */
  readonly file?: string;
  readonly line?: number;
  /** The line as written (its first line, for one continued with a backslash). */
  readonly text?: string;
  /** For the xqbuild config file: the setting (variables.VAR, features, components.NAME.extraConfigureArgs). */
  readonly key?: string;
  /** The variable's value with the chain stopped after this step, as make expands it at the end of reading. */
  readonly value: string;
}

export interface WhyChain {
  readonly name: string;
  /** First to last: the last step's value is the variable's value. */
  readonly steps: readonly WhyStep[];
  /** Set when make could not be asked about the steps before the first one shown: why. */
  readonly incomplete?: string;
}

export interface WhyInputs {
  /** The `VAR=value` words of the command line, as given. */
  readonly commandLine: Readonly<Record<string, string>>;
  /** --with/--without. */
  readonly features?: Readonly<Partial<Record<FeatureName, boolean>>>;
}

/** More steps than any real chain has: a guard against a makefile that keeps answering differently. */
const MAX_STEPS = 64;

/**
 * The chain of assignments that decided a variable's value, as `bitbake -e` shows a variable's
 * history, derived from GNU make alone. make keeps only the last assignment (its -p database names
 * its file and line, `$(origin)` its kind), so the chain is read from the top down: make is asked
 * with everything; the assignment it names is then taken away (a command-line variable dropped, a
 * makefile line blanked in a private copy of the file) and make asked again, which names the one that
 * decided the value before it; and so on (the environment's value taken away too, for the `?=`
 * default it hid) until make's own default or nothing is left. No make syntax is parsed here (only
 * where an assignment make named ends: blankLines): make says which line assigned, what it did and
 * what results, including `?=` that took effect only once a later `=` was gone, `+=` onto an earlier value,
 * `override` over the command line, and the layers' order (config/Tools.mk, .config, Config.mk,
 * .Config.mk, the environment beneath them, the command line and the config file's variables above).
 *
 * In a tree the copies live in a shadow of it: a directory of symbolic links to the tree's entries,
 * where only the directories leading to make's working directory and to the blanked files are real,
 * so XEN_ROOT (which the tree's Makefiles derive from $(CURDIR)) reaches the copies and nothing else
 * changes; the shadow's path is put back to the tree's in the values and file names make gives.
 */
export async function explainVariable(config: ResolvedConfig, name: string, inputs: WhyInputs): Promise<WhyChain> {
  const known = KNOWN_VARIABLES.find((v) => v.name === name);
  if (known === undefined) throw new Error(`internal: explainVariable of an unknown variable ${name}`);
  const layered = layerVariables(config.settings, inputs);
  const realCli = layerVariables({}, inputs).commandLine;
  const tmp = realpathSync(await mkdtemp(path.join(tmpdir(), "xqbuild-why-")));
  // A second signal exits at once, past the finally below: the shadow tree goes with the process.
  const dropHook = onExit(() => rmSync(tmp, { recursive: true, force: true }));
  try {
    const asker = await makeAsker(config, known.context, tmp);
    const commandLine: Record<string, string> = { ...layered.commandLine };
    /** Whether the command line's value of the variable is the config file's (the real command line gave none, or it was taken away). */
    let fromSettings = layered.settingsVarNames.has(name);
    const env: Record<string, string> = { ...config.env };
    const blanked = new Map<string, Set<number>>();
    const steps: WhyStep[] = [];
    let incomplete: string | undefined;
    for (let round = 0; round < MAX_STEPS; round++) {
      // Each round is a make run: a signal ends the chain here rather than after the last one.
      throwIfInterrupted();
      let mv: MakeVar | undefined;
      try {
        mv = await asker.ask(name, commandLine, env, blanked);
      } catch (e) {
        if (!(e instanceof UserError) || steps.length === 0) throw e;
        incomplete = `make could not read the makefiles without ${steps[steps.length - 1]?.origin ?? "that step"}: ${e.message}`;
        break;
      }
      if (mv === undefined || mv.origin === "undefined" || mv.origin === "automatic") break;
      if (mv.origin === "command line") {
        if (fromSettings) {
          const key = config.settings.variables?.[name] !== undefined ? `variables.${name}` : settingsFeatureKey(config, name);
          steps.push({ origin: `xqbuild config ${config.settingsFile ?? ""}`.trimEnd(), kind: "xqbuild config", key, value: mv.value });
          delete commandLine[name];
        } else {
          steps.push({ origin: "command line", kind: "command line", text: `${name}=${realCli[name] ?? mv.value}`, value: mv.value });
          // Beneath the real command line's value: the config file's, which it replaced.
          const settingsValue = layerVariables(config.settings, { commandLine: {} }).commandLine[name];
          if (settingsValue !== undefined) {
            commandLine[name] = settingsValue;
            fromSettings = true;
          } else delete commandLine[name];
        }
        continue;
      }
      if (mv.origin === "environment" || mv.origin === "environment override") {
        steps.push({ origin: "environment", kind: "environment", text: `${name}=${config.env[name] ?? mv.value}`, value: mv.value });
        // Beneath the environment: a ?= default it hid (Config.mk's), if any.
        delete env[name];
        continue;
      }
      if (mv.origin === "default") {
        steps.push({ origin: "make default", kind: "make default", value: mv.value });
        break;
      }
      // A makefile's assignment (origin file or override).
      if (mv.file === undefined || mv.line === undefined) {
        incomplete = `make names no file and line for the assignment of ${name} (origin ${mv.origin})`;
        break;
      }
      const where = asker.original(mv.file);
      if (where === undefined) {
        incomplete = `${name} was last set in ${mv.file}:${mv.line}, outside the files xqbuild can take a line from`;
        break;
      }
      const lines = blanked.get(where.file) ?? new Set<number>();
      if (lines.has(mv.line)) {
        incomplete = `make still names ${where.shown}:${mv.line} with that line blanked (the file is read by another path)`;
        break;
      }
      steps.push({
        origin: where.builtin ? "built-in default" : `${where.shown}:${mv.line}`,
        kind: where.builtin ? "built-in default" : "file",
        ...(where.builtin ? {} : { file: where.file }),
        line: mv.line,
        text: (asker.text(where.file).split("\n")[mv.line - 1] ?? "").trim(),
        value: mv.value,
      });
      lines.add(mv.line);
      blanked.set(where.file, lines);
    }
    steps.reverse();
    return { name, steps, ...(incomplete !== undefined ? { incomplete } : {}) };
  } finally {
    dropHook();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The config file's feature that sets the variable (features.9pfs for CONFIG_9PFS), as layerVariables maps them. */
function settingsFeatureKey(config: ResolvedConfig, name: string): string {
  for (const [f, on] of Object.entries(config.settings.features ?? {})) {
    if (on !== undefined && layerVariables({ features: { [f]: on } }, { commandLine: {} }).commandLine[name] !== undefined) return `features.${f}`;
  }
  return "features";
}

interface Asker {
  /** make's answer for the variable with these command-line variables and these lines blanked. */
  ask(name: string, commandLine: Readonly<Record<string, string>>, env: Readonly<Record<string, string>>, blanked: ReadonlyMap<string, ReadonlySet<number>>): Promise<MakeVar | undefined>;
  /** The file make read (in the shadow or the built-in copies) as the original it stands for. */
  original(file: string): { file: string; shown: string; builtin: boolean } | undefined;
  /** The original text of a file (a tree file, or a built-in one). */
  text(file: string): string;
}

/**
 * How make is asked about the variable's context (tools/ or tools/firmware/, or the standalone
 * defaults), exactly as resolve.ts asks: the same makefiles, epilogue, environment and make.
 */
async function makeAsker(config: ResolvedConfig, context: "tools" | "firmware", tmp: string): Promise<Asker> {
  const make = config.xq.make ?? "make";
  const builtinDir = path.join(tmp, "builtin");
  await mkdir(builtinDir);
  const builtin = new Map<string, string>();
  builtin.set(path.join(builtinDir, "Tools.mk"), toolsMkStandIn());
  const realRoot = config.mode === "tree" ? realpathSync(config.xenRoot) : config.xenRoot;
  if (config.mode === "standalone") {
    builtin.set(path.join(builtinDir, "standalone.mk"), `XEN_ROOT := ${escapeMakePath(config.xenRoot)}\n` + standaloneMakefile(config.release, config.xenVersion));
  }
  const texts = new Map<string, string>(builtin);
  const text = (file: string): string => {
    let t = texts.get(file);
    if (t === undefined) {
      t = readFileSync(file, "utf8");
      texts.set(file, t);
    }
    return t;
  };
  const writeBuiltins = async (blanked: ReadonlyMap<string, ReadonlySet<number>>): Promise<void> => {
    for (const [f, t] of builtin) await writeFile(f, blankLines(t, blanked.get(f)));
  };
  let round = 0;
  let shadow = "";

  if (config.mode === "standalone") {
    return {
      async ask(name, commandLine, env, blanked) {
        await writeBuiltins(blanked);
        const r = await evaluateMake({
          make,
          commandLine,
          env,
          cwd: path.dirname(config.xenRoot),
          makefiles: [...builtin.keys()],
          variables: [name],
          what: "xqbuild's built-in defaults",
          relativeTo: path.dirname(config.xenRoot),
        });
        return r.vars.get(name);
      },
      original: (file) => (builtin.has(file) ? { file, shown: path.basename(file), builtin: true } : undefined),
      text,
    };
  }

  const cwdRel = context === "tools" ? "tools" : path.join("tools", "firmware");
  const unconfigured = !existsSync(path.join(realRoot, "config", "Tools.mk"));
  const fromShadow = (p: string): string => (p === shadow || p.startsWith(shadow + "/") ? realRoot + p.slice(shadow.length) : p);
  return {
    async ask(name, commandLine, env, blanked) {
      await writeBuiltins(blanked);
      shadow = path.join(tmp, `tree-${round++}`);
      const treeFiles = new Map<string, string>();
      for (const [f, lines] of blanked) if (!builtin.has(f)) treeFiles.set(f, blankLines(text(f), lines));
      await shadowTree(realRoot, shadow, [path.join(realRoot, cwdRel)], treeFiles);
      const r = await evaluateMake({
        make,
        commandLine,
        env,
        epilogue: CONFIG_MK_EPILOGUE,
        cwd: path.join(shadow, cwdRel),
        makefiles: [...(unconfigured ? [path.join(builtinDir, "Tools.mk")] : []), "Makefile"],
        variables: [name],
        what: "the Xen tree's configuration",
        relativeTo: shadow,
      });
      await rm(shadow, { recursive: true, force: true });
      const mv = r.vars.get(name);
      if (mv === undefined) return undefined;
      const value = mv.value.split(shadow).join(realRoot);
      return { ...mv, value, ...(mv.file !== undefined ? { file: fromShadow(path.resolve(mv.file)) } : {}) };
    },
    original(file) {
      if (builtin.has(file)) return { file, shown: path.basename(file), builtin: true };
      if (file.startsWith(realRoot + "/") && existsSync(file)) return { file, shown: path.relative(realRoot, file), builtin: false };
      return undefined;
    },
    text,
  };
}

/**
 * The text with the given lines (1-based) made empty, keeping every other line where it was so
 * that make's line numbers still name the original's. An assignment continued with a backslash
 * loses its continuation lines too, and a `define` its body through `endef`: what make read as
 * one assignment goes as one.
 */
export function blankLines(text: string, lines: ReadonlySet<number> | undefined): string {
  if (lines === undefined || lines.size === 0) return text;
  const out = text.split("\n");
  for (const n of lines) {
    let i = n - 1;
    if (i < 0 || i >= out.length) continue;
    if (/^\s*(?:(?:override|export|private)\s+)*define\b/.test(out[i] ?? "")) {
      let depth = 0;
      for (; i < out.length; i++) {
        const l = out[i] ?? "";
        if (/^\s*(?:(?:override|export|private)\s+)*define\b/.test(l)) depth++;
        else if (/^\s*endef\b/.test(l)) depth--;
        out[i] = "";
        if (depth === 0) break;
      }
      continue;
    }
    for (;;) {
      const l = out[i] ?? "";
      out[i] = "";
      if (!/\\$/.test(l) || i + 1 >= out.length) break;
      i++;
    }
  }
  return out.join("\n");
}

/**
 * A directory standing for `root`: a symbolic link for each entry, except that the directories on
 * the way to `realDirs` and to the files of `files` are real directories (so make's $(CURDIR) and
 * the paths built from it stay inside), and those files are written with the given text.
 */
async function shadowTree(root: string, dest: string, realDirs: readonly string[], files: ReadonlyMap<string, string>): Promise<void> {
  const needed = new Set<string>();
  const add = (p: string): void => {
    for (let d = p; d.startsWith(root) && !needed.has(d); d = path.dirname(d)) {
      needed.add(d);
      if (d === root) break;
    }
  };
  for (const d of realDirs) add(d);
  for (const f of files.keys()) add(path.dirname(f));
  const build = async (src: string, out: string): Promise<void> => {
    await mkdir(out);
    for (const entry of readdirSync(src)) {
      const from = path.join(src, entry);
      const to = path.join(out, entry);
      const t = files.get(from);
      if (t !== undefined) await writeFile(to, t);
      else if (needed.has(from)) await build(from, to);
      else await symlink(from, to);
    }
  };
  await build(root, dest);
}
