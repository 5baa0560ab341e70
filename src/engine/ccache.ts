import type { ResolvedConfig } from "../config/types.js";
import { stateDir } from "../util/tree.js";
// ccache for the component builds, by PATH masquerading.
//
// xqbuild's configure and make command lines are compared argument for argument with Xen's make glue,
// so ccache must not appear in them (no CC="ccache gcc"). Instead a masquerade directory, whose cc,
// gcc, c++ ... are symlinks to ccache, goes first on PATH: QEMU's configure picks `cc` from PATH and
// meson/ninja call it; SeaBIOS's make runs `gcc` (CC=gcc) from PATH. ccache, called by the name of a
// compiler, finds the real compiler further along PATH, skipping every file that resolves to a binary
// named "ccache".
//
// The distro's masquerade directory (/usr/lib/ccache, /usr/lib64/ccache) is used when its cc or gcc
// resolves to the chosen ccache binary; otherwise xqbuild makes its own under the state directory.

import { execFile, spawnSync } from "node:child_process";
import { accessSync, constants, lstatSync, mkdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { definedOnly } from "../util/proc.js";

/** false: off; true: `ccache` from PATH, required; "auto": `ccache` from PATH when there; any other string: the path of the ccache binary (a bare name is looked up on PATH). */
export type CcacheSetting = boolean | "auto" | string;

/** What the user configured. */
export interface CcacheConfig {
  setting: CcacheSetting;
  /** CCACHE_DIR; relative paths are resolved against the current directory. */
  dir?: string;
  /** CCACHE_MAXSIZE, e.g. "5G", "500M", "10Gi" (ccache's own syntax; checked here so a typo fails once, not in every compile). */
  maxSize?: string;
}

/** A usable ccache: run a build with `{ ...env, ...ccache.env }` and its compilers go through ccache. */
export interface Ccache {
  /** Absolute path of the ccache binary. */
  binary: string;
  /** The directory of compiler-named symlinks to `binary` that `env.PATH` starts with. */
  masqueradeDir: string;
  /** From `ccache --version`, e.g. "4.7.5". */
  version: string;
  /**
   * The variables to set for a build: PATH (the masquerade directory, then the given PATH), CCACHE_DIR and
   * CCACHE_MAXSIZE when configured, CCACHE_BASEDIR (the tree root: paths below it are hashed relative to
   * the working directory, so copies of the Xen tree in different places share hits) and CCACHE_NOHASHDIR=1
   * (the working directory, which -g puts in the debug info, is not hashed either).
   */
  env: Record<string, string>;
}

/** Options of resolveCcache. */
export interface ResolveOptions {
  /** The Xen tree's root, for CCACHE_BASEDIR. */
  treeRoot: string;
  /** xqbuild's state directory: its own masquerade directory is made in `<stateDir>/ccache-bin` when needed. */
  stateDir: string;
  /** The distro masquerade directories to try, in order (default DISTRO_MASQUERADE_DIRS; [] forces xqbuild's own). */
  distroDirs?: readonly string[];
  /** How the setting is named in messages (default "ccache"), e.g. "--ccache" or "XQBUILD_CCACHE". */
  settingName?: string;
}

/** Where Debian/Ubuntu (/usr/lib/ccache) and Fedora/openSUSE (/usr/lib64/ccache) keep their masquerade symlinks. */
export const DISTRO_MASQUERADE_DIRS: readonly string[] = ["/usr/lib/ccache", "/usr/lib64/ccache"];

/** The compiler names xqbuild's own masquerade directory links, when they are on PATH. */
export const MASQUERADE_NAMES: readonly string[] = ["cc", "gcc", "c++", "g++", "clang", "clang++"];

const INSTALL_HINT = "install ccache (Debian/Ubuntu: apt-get install ccache; Fedora: dnf install ccache)";

/**
 * The ccache to build with: undefined when the setting is false, or "auto" and no usable ccache is on PATH.
 * Throws a UserError (one paragraph naming the binary and what to do) when the setting is true or a path
 * and that binary is missing, not executable or not ccache, or when maxSize is malformed.
 */
export function resolveCcache(cfg: CcacheConfig, env: Readonly<Record<string, string | undefined>>, opts: ResolveOptions): Ccache | undefined {
  const setting = cfg.setting;
  if (setting === false) return undefined;
  const name = opts.settingName ?? "ccache";
  const auto = setting === "auto";
  const fail = (message: string): never => {
    throw new UserError(message);
  };
  if (cfg.maxSize !== undefined && !validMaxSize(cfg.maxSize)) {
    fail(`${name}: the cache size ${JSON.stringify(cfg.maxSize)} is not one ccache accepts: give a number with an optional unit, such as 5G, 500M or 10Gi.`);
  }

  let binary: string;
  if (setting === true || auto || setting === "") {
    if (setting === "") fail(`${name}: the path of the ccache binary is empty: give its path, or true, "auto" or false.`);
    const found = searchPath("ccache", env.PATH);
    if (found === undefined) {
      if (auto) return undefined;
      return fail(`${name}: ccache is enabled but there is no executable ccache on PATH (${env.PATH ?? ""}): ${INSTALL_HINT}, give the path of a ccache binary, or turn ccache off.`);
    }
    binary = found;
  } else {
    const given = setting;
    const found = given.includes("/") ? path.resolve(given) : searchPath(given, env.PATH);
    if (found === undefined) {
      return fail(`${name}: ${given} is not on PATH (${env.PATH ?? ""}): ${INSTALL_HINT}, give the absolute path of the ccache binary, or turn ccache off.`);
    }
    binary = found;
    const problem = notExecutable(binary);
    if (problem !== undefined) {
      return fail(`${name}: the ccache binary ${binary} ${problem}: ${INSTALL_HINT} and give the path of its binary (usually /usr/bin/ccache), or turn ccache off.`);
    }
  }

  // From here the binary exists and is executable; "auto" gives up quietly on anything else.
  const giveUp = (message: string): undefined => {
    if (auto) return undefined;
    return fail(message);
  };
  const version = ccacheVersion(binary, env);
  if (typeof version !== "string") {
    return giveUp(`${name}: ${binary} is not a working ccache: \`${binary} --version\` ${version.why}. Give the path of a ccache binary (usually /usr/bin/ccache), or turn ccache off.`);
  }
  const real = realpathSync(binary);

  let masqueradeDir = (opts.distroDirs ?? DISTRO_MASQUERADE_DIRS).find((dir) => distroDirUsable(dir, real));
  if (masqueradeDir === undefined) {
    // ccache, called as cc, skips the PATH entries whose real file is named "ccache" to find the real
    // compiler; a binary by another name would find itself and call itself again.
    if (path.basename(real) !== "ccache") {
      return giveUp(`${name}: ${binary} resolves to ${real}, whose name is not "ccache": ccache called through a compiler-named symlink only recognises itself by that name. Give the path of a binary (or a symlink to one) named ccache, or turn ccache off.`);
    }
    masqueradeDir = path.resolve(opts.stateDir, "ccache-bin");
    makeOwnMasqueradeDir(masqueradeDir, binary, env.PATH);
  }

  const out: Record<string, string> = {
    PATH: prependPath(masqueradeDir, env.PATH),
    CCACHE_BASEDIR: path.resolve(opts.treeRoot),
    CCACHE_NOHASHDIR: "1",
  };
  if (cfg.dir !== undefined) out.CCACHE_DIR = path.resolve(cfg.dir);
  if (cfg.maxSize !== undefined) out.CCACHE_MAXSIZE = cfg.maxSize.trim();
  return { binary, masqueradeDir, version, env: out };
}

/** Counters for one cache directory (or, from statsDelta, one build). */
export interface CcacheStats {
  /** Direct plus preprocessed cache hits. */
  hits: number;
  /** Cacheable compilations that were not in the cache. */
  misses: number;
  /** Calls ccache does not cache: links, preprocessing only, failed compiles, unsupported options ... */
  uncacheable: number;
}

/** The --print-stats counters that ccache's own summary counts as uncacheable (4.x's FLAG_UNCACHEABLE; the ids are the same since 3.7, and fields a version lacks count as 0). */
export const UNCACHEABLE_FIELDS: readonly string[] = [
  "autoconf_test", "bad_compiler_arguments", "called_for_link", "called_for_preprocessing", "compile_failed",
  "compiler_produced_empty_output", "compiler_produced_no_output", "compiler_produced_stdout",
  "could_not_use_modules", "could_not_use_precompiled_header", "disabled", "multiple_source_files",
  "no_input_file", "output_to_stdout", "preprocessor_error", "recache", "unsupported_code_directive",
  "unsupported_compiler_option", "unsupported_environment_variable", "unsupported_source_encoding",
  "unsupported_source_language",
];

/**
 * The cache's counters now, from `ccache --print-stats` (tab-separated "id<TAB>value" lines; ccache >= 3.7),
 * run with `{ ...env, ...c.env }` so it reads the CCACHE_DIR the builds use. Pass the env given to
 * resolveCcache when it is not process.env. Never zeroes anything: builds may share the cache directory.
 */
export function readStats(c: Ccache, env: Readonly<Record<string, string | undefined>> = process.env): Promise<CcacheStats> {
  return new Promise((resolve, reject) => {
    execFile(c.binary, ["--print-stats"], { env: { ...definedOnly(env), ...c.env }, encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim() || err.message;
        reject(new Error(`\`${c.binary} --print-stats\` failed (ccache ${c.version}; --print-stats needs ccache 3.7 or newer): ${why}`));
        return;
      }
      try {
        resolve(parsePrintStats(stdout));
      } catch (e) {
        reject(new Error(`\`${c.binary} --print-stats\`: ${(e as Error).message}`));
      }
    });
  });
}

/** The counters in `ccache --print-stats` output; throws when the hit and miss counters are not there. */
export function parsePrintStats(text: string): CcacheStats {
  const fields = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z0-9_]+)\t(\d+)\s*$/.exec(line);
    if (m) fields.set(m[1] as string, Number(m[2]));
  }
  if (!fields.has("cache_miss") || !fields.has("direct_cache_hit")) {
    throw new Error(`no cache_miss and direct_cache_hit counters in its output: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const get = (id: string): number => fields.get(id) ?? 0;
  return {
    hits: get("direct_cache_hit") + get("preprocessed_cache_hit"),
    misses: get("cache_miss"),
    uncacheable: UNCACHEABLE_FIELDS.reduce((sum, id) => sum + get(id), 0),
  };
}

/** What one build added: after - before, per counter. A counter that went down was zeroed meanwhile (ccache -z): then `after` is the best estimate. */
export function statsDelta(before: CcacheStats, after: CcacheStats): CcacheStats {
  const d = (a: number, b: number): number => (a >= b ? a - b : a);
  return { hits: d(after.hits, before.hits), misses: d(after.misses, before.misses), uncacheable: d(after.uncacheable, before.uncacheable) };
}

/** One line: "ccache: 1234 hits, 56 misses (95% hit rate), 3 uncacheable". The rate is rounded down, so 100% means no misses. */
export function formatStats(s: CcacheStats): string {
  const n = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;
  const cacheable = s.hits + s.misses;
  const rate = cacheable > 0 ? ` (${Math.floor((100 * s.hits) / cacheable)}% hit rate)` : "";
  return `ccache: ${n(s.hits, "hit", "hits")}, ${n(s.misses, "miss", "misses")}${rate}, ${s.uncacheable} uncacheable`;
}

// ---- helpers ----

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Where `name` is on PATH, as an absolute path; undefined when nowhere. */
function searchPath(name: string, pathVar: string | undefined, skip?: (candidate: string) => boolean): string | undefined {
  for (const dir of (pathVar ?? "").split(":")) {
    if (!dir) continue;
    const candidate = path.resolve(dir, name);
    if (isExecutableFile(candidate) && !(skip?.(candidate) ?? false)) return candidate;
  }
  return undefined;
}

/** Why `p` cannot be run, or undefined when it can. */
function notExecutable(p: string): string | undefined {
  let st;
  try {
    st = statSync(p);
  } catch {
    return "does not exist";
  }
  if (st.isDirectory()) return "is a directory";
  if (!st.isFile()) return "is not a regular file";
  try {
    accessSync(p, constants.X_OK);
  } catch {
    return `is not executable (mode ${(st.mode & 0o777).toString(8)})`;
  }
  return undefined;
}

function ccacheVersion(binary: string, env: Readonly<Record<string, string | undefined>>): string | { why: string } {
  const r = spawnSync(binary, ["--version"], { env: definedOnly(env), encoding: "utf8", timeout: 30_000 });
  if (r.error) return { why: `could not run (${r.error.message})` };
  if (r.status !== 0) return { why: `exited with ${r.status ?? r.signal}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n")[0]}` : ""}` };
  // ccache names itself by the name it was run as: "ccache version 4.7.5" (a renamed copy says its name).
  const m = /^(\S+) version (\d\S*)/.exec(r.stdout);
  if (!m || (m[1] !== "ccache" && m[1] !== path.basename(binary))) return { why: `did not print "ccache version ..." (it printed ${JSON.stringify((r.stdout.split("\n")[0] ?? "").slice(0, 80))})` };
  return m[2] as string;
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** A distro masquerade directory is usable when its cc or gcc is a symlink resolving to this very ccache. */
function distroDirUsable(dir: string, realBinary: string): boolean {
  return ["cc", "gcc"].some((n) => {
    const link = path.join(dir, n);
    try {
      if (!lstatSync(link).isSymbolicLink()) return false;
    } catch {
      return false;
    }
    return realpathOrUndefined(link) === realBinary;
  });
}

/**
 * Makes (or brings up to date) `dir` with a symlink to `binary` for each of MASQUERADE_NAMES found on PATH
 * as a real compiler (not itself a ccache symlink); a name not installed gets no link, so configure
 * scripts probing for, say, clang still do not find one. Each link is replaced by rename, so concurrent
 * runs never see a missing or half-made link.
 */
function makeOwnMasqueradeDir(dir: string, binary: string, pathVar: string | undefined): void {
  mkdirSync(dir, { recursive: true });
  const isCcache = (candidate: string): boolean => {
    const real = realpathOrUndefined(candidate);
    return real === undefined || path.basename(real) === "ccache";
  };
  for (const name of MASQUERADE_NAMES) {
    const link = path.join(dir, name);
    const wanted = searchPath(name, pathVar, isCcache) !== undefined;
    let current: string | undefined;
    try {
      current = readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (!wanted) {
      if (current !== undefined) rmSync(link, { force: true });
      continue;
    }
    if (current === binary) continue;
    const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
    rmSync(tmp, { force: true });
    symlinkSync(binary, tmp);
    renameSync(tmp, link);
  }
}

/** `dir` first, then PATH without any other copy of `dir` (so applying it twice changes nothing). */
function prependPath(dir: string, pathVar: string | undefined): string {
  if (pathVar === undefined || pathVar === "") return dir;
  return [dir, ...pathVar.split(":").filter((p) => p === "" || path.resolve(p) !== dir)].join(":");
}

/** ccache's size syntax: a number, then optionally k/K, M, G or T (powers of 1000) or Ki, Mi, Gi, Ti (of 1024), and an optional B. */
function validMaxSize(s: string): boolean {
  return /^\s*(\d+(\.\d*)?|\.\d+)\s*([kKMGT]i?B?)?\s*$/.test(s);
}

/** ccache for the builds: XQBUILD_CCACHE, else the ccache setting, else "auto" (when installed). */
export function ccacheFor(config: ResolvedConfig): Ccache | undefined {
  const fromEnv = config.xq.ccache;
  const setting: CcacheSetting = fromEnv ?? config.settings.ccache ?? "auto";
  const dir = config.settings.ccacheDir;
  const maxSize = config.settings.ccacheMaxSize;
  return resolveCcache({ setting, ...(dir ? { dir } : {}), ...(maxSize ? { maxSize } : {}) }, config.env, {
    treeRoot: config.xenRoot,
    stateDir: stateDir(config),
    settingName: fromEnv !== undefined ? "XQBUILD_CCACHE" : "ccache",
  });
}
