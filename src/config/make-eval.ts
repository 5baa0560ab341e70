import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { stableJson } from "../engine/fingerprint.js";
import { staysInside, writeFileAtomic } from "../util/fs.js";
import { redactText } from "../util/redact.js";
import { onExit, throwIfInterrupted } from "../util/signals.js";
import { onPath } from "../util/which.js";
import { collect, type Collected } from "../util/proc.js";

/** make's own answer for one variable: `$(origin)`, `$(flavor)`, the expanded value, and where it was last set. */
export interface MakeVar {
  readonly name: string;
  readonly value: string;
  /** `$(origin VAR)`: file, environment, command line, override, default, automatic, environment override or undefined. */
  readonly origin: string;
  readonly flavor: string;
  /** For variables set in a makefile, the absolute file and line of the last assignment, from make's database. */
  readonly file?: string;
  readonly line?: number;
}

/** Where a variable was last assigned in a makefile, for every variable in make's database. */
export interface MakeDefinition {
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

export interface MakeEvalOptions {
  /** The GNU make to run. */
  readonly make: string;
  /** Directory make runs in (`-C`). */
  readonly cwd: string;
  /** Makefiles read in order (`-f`), relative to cwd or absolute; the printer is read after them. */
  readonly makefiles: readonly string[];
  /** Variables whose values are wanted. */
  readonly variables: readonly string[];
  /** `VAR=value` definitions given to make as command-line variables. */
  readonly commandLine: Readonly<Record<string, string>>;
  /** The environment make runs with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Makefile text read after the makefiles, before the values are printed (for a file that make reads
   * last, as a fragment included at the end of the makefile would: `-include` with make's own rules).
   */
  readonly epilogue?: string;
  /** How to name the makefile set in error messages ("the Xen tree's configuration"). */
  readonly what: string;
  /** Directory that file names in error messages are made relative to. */
  readonly relativeTo: string;
  /**
   * Where to keep the answer for the next run: it is reused while make, the command line, the
   * environment, the programs Xen's makefiles run ($(shell gcc ...), python3, ...), every makefile
   * read and the directories holding them (a new .config there changes its directory) are unchanged.
   */
  readonly cacheDir?: string;
}

export interface MakeEvalResult {
  readonly vars: ReadonlyMap<string, MakeVar>;
  /** Every variable make's database says was set in a makefile, with its file and line. */
  readonly definitions: readonly MakeDefinition[];
}

const MARK = "__XQBUILD_VAR__";
/**
 * The goal the printer makefile answers. Xen's tools/Rules.mk defines a rule for a missing
 * config/Tools.mk that stops with "You have to run ./configure" unless every goal matches its
 * no-configure-targets, one of which is the pattern `%-dir-force-update`; a goal of that shape lets a
 * tree be read (with built-in stand-ins) before it has been configured. Nothing else in the glue
 * looks at this name.
 */
export const PRINT_GOAL = "xqbuild-print-dir-force-update";

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function printerMakefile(variables: readonly string[], epilogue: string): string {
  for (const v of variables) {
    if (!NAME_RE.test(v)) throw new Error(`internal: bad make variable name ${JSON.stringify(v)}`);
  }
  // Values are escaped so that one line carries one variable: backslash first, then newline.
  return [
    epilogue,
    "define XQBUILD_NL",
    "",
    "",
    "endef",
    `$(foreach v,${variables.join(" ")},$(info ${MARK}\t$(v)\t$(origin $(v))\t$(flavor $(v))\t$(subst $(XQBUILD_NL),\\n,$(subst \\,\\\\,$($(v))))))`,
    ".PHONY: " + PRINT_GOAL,
    `${PRINT_GOAL}: ; @:`,
    "",
  ].join("\n");
}

function unescape(s: string): string {
  return s.replace(/\\(n|\\)/g, (_m, c: string) => (c === "n" ? "\n" : "\\"));
}

/** Reads `make -p`'s database for the file (made absolute against make's cwd) and line of each variable's last assignment. */
export function parseDatabase(text: string, cwd: string): MakeDefinition[] {
  const out: MakeDefinition[] = [];
  const lines = text.split("\n");
  const fromRe = /^# (?:makefile|'override' directive) \(from '(.*)', line (\d+)\)$/;
  const nameRe = /^(?:override |export |define )*([^\s:=#]+)\s*(?:(?::{1,3}|\?|\+|!)?=|$)/;
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = fromRe.exec(lines[i] ?? "");
    if (!m) continue;
    const n = nameRe.exec(lines[i + 1] ?? "");
    if (!n?.[1]) continue;
    out.push({ name: n[1], file: path.resolve(cwd, m[1] ?? ""), line: Number(m[2]) });
  }
  return out;
}

/** Removes the jobserver part of an inherited MAKEFLAGS: the evaluation runs no jobs, and its fds are not ours to pass. */
export function makeflagsForEvaluation(makeflags: string | undefined): string | undefined {
  if (makeflags === undefined) return undefined;
  return makeflags
    .split(" ")
    .filter((w) => !/^--jobserver-(auth|fds)=/.test(w) && !/^-j\d*$/.test(w))
    .join(" ");
}

/**
 * Asks GNU make itself for the values of variables, exactly as make computes them when it reads the
 * given makefiles with the given environment and command line: make is the reference implementation
 * of Xen's Config.mk, .config and config/Tools.mk, so nothing here re-implements its language.
 */
export async function evaluateMake(opts: MakeEvalOptions): Promise<MakeEvalResult> {
  // A cache directory reached through a link out of the tree is not used (nor written through).
  if (!opts.cacheDir || !staysInside(opts.cacheDir, opts.relativeTo)) return evaluateUncached(opts);
  const key = cacheKey(opts);
  // One entry per makefile set read from one directory, replaced when anything changes.
  const file = path.join(opts.cacheDir, `${createHash("sha256").update(stableJson({ cwd: path.resolve(opts.cwd), makefiles: opts.makefiles })).digest("hex").slice(0, 24)}.json`);
  const hit = readCached(file, key);
  if (hit) return hit;
  // Made before make runs: a directory created afterwards would change the tree's root the cache stats.
  await mkdir(opts.cacheDir, { recursive: true }).catch(() => undefined);
  const result = await evaluateUncached(opts);
  await writeCached(file, key, opts, result).catch(() => undefined);
  return result;
}

/** Programs Xen's makefiles run while they are read (compiler checks, uname, python, ...). */
const PROGRAMS = ["make", "gcc", "cc", "ld", "as", "python3", "python", "sh", "bash", "uname", "awk", "sed", "grep", "pkg-config", "git", "perl"];

/**
 * What a makefile, or a directory holding one, is now. Times alone cannot say it: the kernel stamps
 * them from a clock that ticks every few milliseconds, so a `.config` created, or edited to the same
 * size, in the tick in which the answer was cached left every time as it was, and the stale answer
 * was used (git calls these entries "racily clean"). So a directory is its list of names (make's
 * `-include` of a file that does not exist leaves no trace in MAKEFILE_LIST: the names notice it
 * appear), and a makefile its size, mtime and contents (a few kilobytes each).
 */
function statId(file: string): string {
  try {
    const st = statSync(file, { bigint: true });
    if (st.isDirectory()) return `${st.dev}:${st.ino}:dir:${digest(readdirSync(file).sort().join("\0"))}`;
    return `${programId(file)}:${digest(readFileSync(file))}`;
  } catch {
    return "missing";
  }
}

/** A program make runs: its identity without reading it (a compiler is megabytes). */
function programId(file: string): string {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
  } catch {
    return "missing";
  }
}

function digest(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 16);
}

/**
 * What a shell sets for its own bookkeeping, different from one command to the next ($_ is the
 * program run: xqbuild, npx, /usr/bin/time...); Xen's makefiles read none of them.
 */
const SHELL_BOOKKEEPING = new Set(["_", "OLDPWD", "SHLVL"]);

function cacheKey(opts: MakeEvalOptions): string {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined && !SHELL_BOOKKEEPING.has(k)) env[k] = v;
  const programs: Record<string, string> = {};
  for (const p of [opts.make, ...PROGRAMS]) {
    const found = p.includes("/") ? path.resolve(opts.cwd, p) : onPath(p, env);
    programs[p] = found ? `${found} ${programId(found)}` : "missing";
  }
  return createHash("sha256")
    .update(stableJson({ format: 1, cwd: path.resolve(opts.cwd), makefiles: opts.makefiles, variables: opts.variables, epilogue: opts.epilogue ?? "", commandLine: opts.commandLine, env, programs }))
    .digest("hex");
}

interface CachedEvaluation {
  readonly key: string;
  /** Every makefile read and every directory holding one, with what they were. */
  readonly stats: Record<string, string>;
  readonly vars: MakeVar[];
  readonly definitions: MakeDefinition[];
}

function readCached(file: string, key: string): MakeEvalResult | undefined {
  try {
    const c = JSON.parse(readFileSync(file, "utf8")) as CachedEvaluation;
    if (c.key !== key) return undefined;
    for (const [f, id] of Object.entries(c.stats)) if (statId(f) !== id) return undefined;
    return { vars: new Map(c.vars.map((v) => [v.name, v])), definitions: c.definitions };
  } catch {
    return undefined;
  }
}

async function writeCached(file: string, key: string, opts: MakeEvalOptions, result: MakeEvalResult): Promise<void> {
  const list = result.vars.get("MAKEFILE_LIST")?.value ?? "";
  const files = list.split(/\s+/).filter((f) => f !== "" && !f.endsWith("/print.mk")).map((f) => path.resolve(opts.cwd, f));
  // Without the list make read, nothing says when the answer goes stale: keep nothing.
  if (files.length === 0) return;
  // xqbuild writes no credentials to disk (src/redact.ts): an answer holding a URL with a password
  // or a token is not kept (make is asked again next time), and an older entry goes.
  if ([...result.vars.values()].some((v) => redactText(v.value) !== v.value)) {
    await rm(file, { force: true });
    return;
  }
  const stats: Record<string, string> = {};
  for (const f of files) {
    stats[f] = statId(f);
    stats[path.dirname(f)] = statId(path.dirname(f));
  }
  stats[path.resolve(opts.cwd)] = statId(path.resolve(opts.cwd));
  const entry: CachedEvaluation = { key, stats, vars: [...result.vars.values()], definitions: [...result.definitions] };
  await writeFileAtomic(file, JSON.stringify(entry), opts.relativeTo, "the make evaluation cache");
}

async function evaluateUncached(opts: MakeEvalOptions): Promise<MakeEvalResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "xqbuild-make-"));
  // A second signal exits at once, past the finally below: the directory goes with the process.
  const dropHook = onExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const printer = path.join(dir, "print.mk");
    await writeFile(printer, printerMakefile(opts.variables, opts.epilogue ?? ""));
    const args = ["--no-print-directory", "-p"];
    for (const f of opts.makefiles) args.push("-f", f);
    args.push("-f", printer);
    for (const [k, v] of Object.entries(opts.commandLine)) args.push(`${k}=${v}`);
    args.push(PRINT_GOAL);
    const env: Record<string, string | undefined> = { ...opts.env };
    const mf = makeflagsForEvaluation(env.MAKEFLAGS);
    if (mf === undefined) delete env.MAKEFLAGS;
    else env.MAKEFLAGS = mf;
    delete env.MFLAGS;
    delete env.MAKELEVEL;
    let res: Collected;
    try {
      res = await collect(opts.make, args, { cwd: opts.cwd, env });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "E2BIG") {
        throw new UserError(`the values given to make to read ${opts.what} are too long for the system (E2BIG): ${Object.entries(opts.commandLine).filter(([, v]) => v.length > 10_000).map(([k, v]) => `${k} (${v.length} characters)`).join(", ") || "the environment"}.`, "Shorten those values.");
      }
      if (err.code === "ENOENT") {
        throw new UserError(
          `GNU make ("${opts.make}") was not found; xqbuild asks make to read ${opts.what}.`,
          "Install GNU make (Debian/Ubuntu: apt-get install make; Fedora: dnf install make) or set XQBUILD_MAKE to its path (the only variable xqbuild reads for it).",
        );
      }
      throw e;
    }
    // An interrupted make (its group ended by the signal path) is the interruption, not a make error.
    throwIfInterrupted();
    if (res.code !== 0) throw makeFailure(res.stderr, opts);
    const definitions = parseDatabase(res.stdout, opts.cwd);
    const where = new Map<string, MakeDefinition>();
    for (const d of definitions) where.set(d.name, d);
    const vars = new Map<string, MakeVar>();
    for (const line of res.stdout.split("\n")) {
      if (!line.startsWith(MARK + "\t")) continue;
      const parts = line.split("\t");
      const name = parts[1] ?? "";
      const origin = parts[2] ?? "undefined";
      const flavor = parts[3] ?? "undefined";
      const value = unescape(parts.slice(4).join("\t"));
      const def = where.get(name);
      const v: MakeVar =
        def && (origin === "file" || origin === "override")
          ? { name, value, origin, flavor, file: def.file, line: def.line }
          : { name, value, origin, flavor };
      vars.set(name, v);
    }
    return { vars, definitions };
  } finally {
    dropHook();
    await rm(dir, { recursive: true, force: true });
  }
}

function makeFailure(stderr: string, opts: MakeEvalOptions): UserError {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  const m = lines.map((l) => /^(.*?):(\d+): \*\*\* (.*?)\.?\s*(?:Stop\.)?$/.exec(l)).find((x) => x);
  if (m) {
    const file = path.relative(opts.relativeTo, path.resolve(opts.cwd, m[1] ?? ""));
    return new UserError(
      `${file}:${m[2]}: make cannot read ${opts.what}: ${m[3]}.`,
      `Fix line ${m[2]} of ${file} (it is read by GNU make, as Xen's own build reads it).`,
    );
  }
  const tail = lines.slice(-5).join("\n");
  return new UserError(`make failed to read ${opts.what}:\n${tail}`, "Check the makefiles named above.");
}
