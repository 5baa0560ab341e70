import path from "node:path";
import { cosmiconfig } from "cosmiconfig";
import { UserError } from "../util/errors.js";
import { COMPONENT_NAMES, type ComponentName } from "../components/names.js";
import { urlProblem } from "./validate.js";
import { CONFIG_LOADERS, ConfigFileError } from "./config-file.js";
import { parseSize } from "../cache/artifacts.js";
import { remoteUrlProblem } from "../cache/remote.js";

/** Per-component settings of the xqbuild config file. */
export interface ComponentSettings {
  /** Overrides CONFIG_QEMU_XEN / CONFIG_QEMU_TRAD / CONFIG_SEABIOS. */
  readonly enabled?: boolean;
  /** Appended to QEMU's configure (or xen-setup) after the glue's own arguments. */
  readonly extraConfigureArgs?: readonly string[];
  /** A directory of patches (with an optional quilt `series`), or a list of patch files. */
  readonly patches?: string | readonly string[];
  /** How the queue is applied: "patch" (GNU patch, as quilt) or "git" (git apply); default by the queue's kind. */
  readonly patchTool?: "git" | "patch";
  /** Meson wraps (subprojects/<name>.wrap) to fetch or skip whatever the recipe would choose. */
  readonly wraps?: { readonly fetch?: readonly string[]; readonly skip?: readonly string[] };
}

/** Switches for optional QEMU features; undefined means "as the glue does" (QEMU's own default). */
export interface Features {
  readonly "9pfs"?: boolean;
  readonly libusb?: boolean;
  readonly spice?: boolean;
  readonly debug?: boolean;
}

export const FEATURE_NAMES = ["9pfs", "libusb", "spice", "debug"] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/**
 * The structured settings of xqbuild's own config file (xqbuild.config.*, .xqbuildrc*,
 * package.json#xqbuild), searched for only in the Xen tree's root.
 */
export interface Settings {
  readonly jobs?: number;
  readonly cacheDir?: string;
  readonly offline?: boolean;
  /** URL prefix → replacement, applied to every clone and fetch. */
  readonly mirrors?: Readonly<Record<string, string>>;
  /** make variables, with the precedence of the environment (see README). */
  readonly variables?: Readonly<Record<string, string>>;
  readonly features?: Features;
  readonly components?: Readonly<Partial<Record<ComponentName, ComponentSettings>>>;
  /** The build artifact cache (on unless enabled: false or --no-cache). */
  readonly artifactCache?: ArtifactCacheSettings;
  /** Compile through ccache: "auto" (the default: when installed), true, false, or its path. */
  readonly ccache?: boolean | "auto" | string;
  /** CCACHE_DIR for the builds (default: ccache's own). */
  readonly ccacheDir?: string;
  /** CCACHE_MAXSIZE, e.g. "5G". */
  readonly ccacheMaxSize?: string;
}

export interface ArtifactCacheSettings {
  readonly enabled?: boolean;
  /** Size limit of <cacheDir>/artifacts, e.g. "10G"; least recently used entries go first. */
  readonly maxSize?: string;
  /** A shared cache: http(s) base URL of cas/ and ac/ (nginx WebDAV, bazel-remote). */
  readonly remote?: string;
  /** Download only: never upload (for untrusted jobs). */
  readonly remoteReadOnly?: boolean;
}

export interface LoadedSettings {
  readonly settings: Settings;
  /** The file the settings came from, if any. */
  readonly file?: string;
}

export const MODULE_NAME = "xqbuild";
export const SEARCH_PLACES = [
  "package.json",
  ".xqbuildrc",
  ".xqbuildrc.json",
  ".xqbuildrc.yaml",
  ".xqbuildrc.yml",
  ".xqbuildrc.js",
  ".xqbuildrc.mjs",
  ".xqbuildrc.cjs",
  "xqbuild.config.js",
  "xqbuild.config.mjs",
  "xqbuild.config.cjs",
  "xqbuild.config.ts",
  "xqbuild.config.json",
];

/**
 * Loads the xqbuild config file from exactly one directory: the Xen tree's root (or, in standalone
 * mode, the working directory). The search never goes up or down, so a file inside a fetched source
 * tree is never loaded.
 */
export async function loadSettings(dir: string, explicitFile?: string): Promise<LoadedSettings> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: "none",
    cache: false,
    loaders: CONFIG_LOADERS,
  });
  let result;
  try {
    result = explicitFile ? await explorer.load(path.resolve(explicitFile)) : await explorer.search(dir);
  } catch (e) {
    const err = e as Error & { filepath?: string; code?: string };
    if (err.code === "ENOENT") throw new UserError(`--config-file ${explicitFile}: no such file.`);
    // FILE:LINE:COLUMN: what is wrong there, as a compiler names a syntax error.
    if (e instanceof ConfigFileError) throw new UserError(`cannot load the xqbuild config file ${e.message}`, "Fix the file there, or move it away.");
    throw new UserError(
      `cannot load the xqbuild config file${err.filepath ? " " + err.filepath : ""}: ${err.message.split("\n")[0]}`,
      "Fix the file or move it away.",
    );
  }
  if (!result || result.isEmpty) return result?.filepath ? { settings: {}, file: result.filepath } : { settings: {} };
  const settings = validateSettings(result.config, result.filepath);
  return { settings, file: result.filepath };
}

function fail(file: string, key: string, what: string): never {
  throw new UserError(`${file}: "${key}" ${what}.`, "See the configuration section of xqbuild's README for the expected shape.");
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** components.<name>.wraps: { fetch?: [wrap names], skip?: [wrap names] }, no name in both. */
function validateWraps(rel: string, key: string, v: unknown): NonNullable<ComponentSettings["wraps"]> {
  if (!isObj(v)) fail(rel, key, 'must be an object such as { "fetch": ["dtc"], "skip": ["slirp"] }');
  const out: { fetch?: string[]; skip?: string[] } = {};
  for (const [k, list] of Object.entries(v)) {
    if (k !== "fetch" && k !== "skip") fail(rel, `${key}.${k}`, "is not a wraps setting (known: fetch, skip)");
    if (!Array.isArray(list) || !list.every((n) => typeof n === "string")) fail(rel, `${key}.${k}`, "must be an array of wrap names (the file names in subprojects/ without .wrap)");
    for (const n of list as string[]) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(n) || n.endsWith(".wrap")) fail(rel, `${key}.${k}`, `names ${JSON.stringify(n)}, which is not a wrap name (such as "dtc", the file subprojects/dtc.wrap without .wrap)`);
    }
    out[k] = list as string[];
  }
  const both = (out.fetch ?? []).filter((n) => (out.skip ?? []).includes(n));
  if (both.length > 0) fail(rel, key, `names ${both.join(", ")} in both fetch and skip`);
  return out;
}

/** Checks the shape of the config file's contents; every mistake names the file and key. */
export function validateSettings(raw: unknown, file: string): Settings {
  const rel = path.basename(file);
  if (!isObj(raw)) fail(rel, "(top level)", "must be an object");
  const known = ["jobs", "cacheDir", "offline", "mirrors", "variables", "features", "components", "artifactCache", "ccache", "ccacheDir", "ccacheMaxSize"];
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) fail(rel, k, `is not a setting xqbuild knows (known: ${known.join(", ")})`);
  }
  const out: Record<string, unknown> = {};
  if (raw.jobs !== undefined) {
    if (!Number.isInteger(raw.jobs) || (raw.jobs as number) < 1) fail(rel, "jobs", "must be a whole number of at least 1");
    out.jobs = raw.jobs;
  }
  if (raw.cacheDir !== undefined) {
    if (typeof raw.cacheDir !== "string" || raw.cacheDir === "") fail(rel, "cacheDir", "must be a path");
    out.cacheDir = path.resolve(path.dirname(file), raw.cacheDir);
  }
  if (raw.offline !== undefined) {
    if (typeof raw.offline !== "boolean") fail(rel, "offline", "must be true or false");
    out.offline = raw.offline;
  }
  for (const key of ["mirrors", "variables"] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (!isObj(v)) fail(rel, key, "must be an object of strings");
    for (const [k, s] of Object.entries(v)) {
      if (typeof s !== "string") fail(rel, `${key}.${k}`, "must be a string");
      if (key === "variables" && s.length > 65_536) fail(rel, `${key}.${k}`, `is ${s.length} characters long (at most 65536)`);
      if (key === "mirrors") {
        const p = urlProblem(k) ?? urlProblem(s);
        if (p) fail(rel, `${key}.${k}`, `names a URL that ${p}`);
      }
      if (key === "variables" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(rel, `${key}.${k}`, "is not a make variable name");
    }
    out[key] = v;
  }
  if (raw.artifactCache !== undefined) {
    const a = raw.artifactCache;
    if (!isObj(a)) fail(rel, "artifactCache", "must be an object");
    for (const k of Object.keys(a)) {
      if (!["enabled", "maxSize", "remote", "remoteReadOnly"].includes(k)) fail(rel, `artifactCache.${k}`, "is not an artifact cache setting (known: enabled, maxSize, remote, remoteReadOnly)");
    }
    if (a.enabled !== undefined && typeof a.enabled !== "boolean") fail(rel, "artifactCache.enabled", "must be true or false");
    if (a.remoteReadOnly !== undefined && typeof a.remoteReadOnly !== "boolean") fail(rel, "artifactCache.remoteReadOnly", "must be true or false");
    if (a.maxSize !== undefined && (typeof a.maxSize !== "string" || parseSize(a.maxSize) === undefined)) fail(rel, "artifactCache.maxSize", 'must be a size such as "10G" or "500M"');
    if (a.remote !== undefined) {
      const p = typeof a.remote === "string" ? remoteUrlProblem(a.remote) : "is not a string";
      if (p) fail(rel, "artifactCache.remote", `is not a usable cache URL: ${p}`);
    }
    out.artifactCache = a;
  }
  if (raw.ccache !== undefined) {
    if (typeof raw.ccache !== "boolean" && (typeof raw.ccache !== "string" || raw.ccache === "")) fail(rel, "ccache", 'must be true, false, "auto" or the path of ccache');
    out.ccache = raw.ccache;
  }
  for (const key of ["ccacheDir", "ccacheMaxSize"] as const) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== "string" || raw[key] === "") fail(rel, key, key === "ccacheDir" ? "must be a path" : 'must be a size such as "5G"');
    out[key] = key === "ccacheDir" ? path.resolve(path.dirname(file), raw[key]) : raw[key];
  }
  if (raw.features !== undefined) {
    if (!isObj(raw.features)) fail(rel, "features", "must be an object");
    for (const [k, v] of Object.entries(raw.features)) {
      if (!(FEATURE_NAMES as readonly string[]).includes(k)) fail(rel, `features.${k}`, `is not a feature (known: ${FEATURE_NAMES.join(", ")})`);
      if (typeof v !== "boolean") fail(rel, `features.${k}`, "must be true or false");
    }
    out.features = raw.features;
  }
  if (raw.components !== undefined) {
    if (!isObj(raw.components)) fail(rel, "components", "must be an object keyed by component name");
    const comps: Record<string, ComponentSettings> = {};
    for (const [name, c] of Object.entries(raw.components)) {
      if (!(COMPONENT_NAMES as readonly string[]).includes(name)) {
        fail(rel, `components.${name}`, `is not a component (known: ${COMPONENT_NAMES.join(", ")})`);
      }
      if (!isObj(c)) fail(rel, `components.${name}`, "must be an object");
      for (const k of Object.keys(c)) {
        if (!["enabled", "extraConfigureArgs", "patches", "patchTool", "wraps"].includes(k)) fail(rel, `components.${name}.${k}`, "is not a component setting (known: enabled, extraConfigureArgs, patches, patchTool, wraps)");
      }
      if (c.enabled !== undefined && typeof c.enabled !== "boolean") fail(rel, `components.${name}.enabled`, "must be true or false");
      if (c.extraConfigureArgs !== undefined && (!Array.isArray(c.extraConfigureArgs) || !c.extraConfigureArgs.every((a) => typeof a === "string"))) {
        fail(rel, `components.${name}.extraConfigureArgs`, "must be an array of strings (one argument each)");
      }
      let patches: string | string[] | undefined;
      if (c.patches !== undefined) {
        if (typeof c.patches === "string") patches = path.resolve(path.dirname(file), c.patches);
        else if (Array.isArray(c.patches) && c.patches.every((p) => typeof p === "string")) {
          patches = (c.patches as string[]).map((p) => path.resolve(path.dirname(file), p));
        } else fail(rel, `components.${name}.patches`, "must be a directory or an array of patch files");
      }
      if (c.patchTool !== undefined && c.patchTool !== "git" && c.patchTool !== "patch") {
        fail(rel, `components.${name}.patchTool`, 'must be "patch" (GNU patch, as quilt applies a series) or "git" (git apply)');
      }
      const wraps = c.wraps === undefined ? undefined : validateWraps(rel, `components.${name}.wraps`, c.wraps);
      comps[name] = {
        ...(c.enabled !== undefined ? { enabled: c.enabled as boolean } : {}),
        ...(c.extraConfigureArgs !== undefined ? { extraConfigureArgs: c.extraConfigureArgs as string[] } : {}),
        ...(patches !== undefined ? { patches } : {}),
        ...(c.patchTool !== undefined ? { patchTool: c.patchTool as "git" | "patch" } : {}),
        ...(wraps !== undefined ? { wraps } : {}),
      };
    }
    out.components = comps;
  }
  return out as Settings;
}
