import path from "node:path";
import { cosmiconfig } from "cosmiconfig";
import * as v from "valibot";
import { UserError } from "../util/errors.js";
import { COMPONENT_NAMES } from "../components/names.js";
import { urlProblem } from "./validate.js";
import { CONFIG_LOADERS, ConfigFileError } from "./config-file.js";
import { parseSize } from "../cache/artifacts.js";
import { remoteUrlProblem } from "../cache/remote.js";

/**
 * The xqbuild config file (xqbuild.config.*, .xqbuildrc*, package.json#xqbuild) as one valibot
 * schema: the Settings type, the lists of known keys the messages name, and the checks are this
 * definition. Each message is the part after `"KEY" ` in `FILE: "KEY" MESSAGE.`; the key path is the
 * issue's (array positions left out: a message names the setting, as `components.seabios.patches`).
 * Paths in the file are made absolute against the file's directory (hence a schema per file).
 */
export const FEATURE_NAMES = ["9pfs", "libusb", "spice", "debug"] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const known = (entries: object): string => Object.keys(entries).join(", ");
const TRUE_OR_FALSE = "must be true or false";
const bool = v.boolean(TRUE_OR_FALSE);
/** Keys that a plain object cannot hold as data (valibot's record() would drop them without a word). */
const RESERVED_KEYS = new Set(["__proto__", "prototype", "constructor"]);

/** An object (not an array, not null) whose keys are exactly some of entries', with a message for each mistake. */
function strict<const E extends v.ObjectEntries>(entries: E, notObject: string, unknownKey: string) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isObj, notObject),
    v.strictObject(entries, (issue) => (issue.expected === "never" ? unknownKey : notObject)),
  );
}

/** An object of strings; refuses the keys a record would drop. */
function stringRecord<K extends v.GenericSchema<string, string>, V extends v.GenericSchema<string, string>>(key: K, value: V) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isObj, "must be an object of strings"),
    v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const input = dataset.value;
      for (const k of Object.keys(input)) {
        if (RESERVED_KEYS.has(k)) addIssue({ message: "is a name xqbuild cannot keep as a key (a JavaScript object drops it)", path: [{ type: "object", origin: "key", input, key: k, value: input[k] }] });
      }
    }),
    v.record(key, value),
  );
}

const absolute = (dir: string) => v.transform((p: string) => path.resolve(dir, p));
const WRAP_NAMES = "must be an array of wrap names (the file names in subprojects/ without .wrap)";
const wrapName = v.pipe(
  v.string(WRAP_NAMES),
  v.check(
    (n) => /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(n) && !n.endsWith(".wrap"),
    (issue) => `names ${JSON.stringify(issue.input)}, which is not a wrap name (such as "dtc", the file subprojects/dtc.wrap without .wrap)`,
  ),
);
const wrapsEntries = { fetch: v.exactOptional(v.array(wrapName, WRAP_NAMES)), skip: v.exactOptional(v.array(wrapName, WRAP_NAMES)) };
/** components.<name>.wraps: { fetch?: [wrap names], skip?: [wrap names] }, no name in both. */
const wrapsSchema = v.pipe(
  strict(wrapsEntries, 'must be an object such as { "fetch": ["dtc"], "skip": ["slirp"] }', `is not a wraps setting (known: ${known(wrapsEntries)})`),
  v.check(
    (w) => !(w.fetch ?? []).some((n) => (w.skip ?? []).includes(n)),
    (issue) => `names ${(issue.input.fetch ?? []).filter((n) => (issue.input.skip ?? []).includes(n)).join(", ")} in both fetch and skip`,
  ),
);

/** An armored OpenPGP public key written inline in the config file (anything else in `keys` is a file path). */
export function isArmoredKey(s: string): boolean {
  return s.trimStart().startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----");
}

/**
 * verify: the keys whose signed tags are the only revisions a fetch takes (src/source/verify.ts).
 * `keys` are armored public keys, inline or files (read against the config file's directory);
 * `keyring` is a keyring file; exactly one of them. `allow` names the revisions taken unsigned.
 */
function verifySchema(dir: string) {
  const KEYS = "must be an array of armored public keys or key files (paths relative to the config file)";
  const ALLOW = "must be an array of the branches, tags or commits taken unsigned";
  const key = v.pipe(v.string(KEYS), v.nonEmpty(KEYS), v.transform((k: string) => (isArmoredKey(k) ? k : path.resolve(dir, k))));
  const entries = {
    keys: v.exactOptional(v.pipe(v.array(key, KEYS), v.minLength(1, "must name at least one key"))),
    keyring: v.exactOptional(v.pipe(v.string("must be the path of a keyring file"), v.nonEmpty("must be the path of a keyring file"), absolute(dir))),
    allow: v.exactOptional(v.array(v.pipe(v.string(ALLOW), v.nonEmpty(ALLOW)), ALLOW)),
  };
  return v.pipe(
    strict(entries, 'must be an object such as { "keys": ["xen-signing-key.asc"] } or { "keyring": "trusted.gpg" }', `is not a verify setting (known: ${known(entries)})`),
    v.check((x) => (x.keys === undefined) !== (x.keyring === undefined), 'needs exactly one of "keys" (armored public keys or key files) and "keyring" (a keyring file)'),
  );
}

function componentSchema(dir: string) {
  const PATCHES = "must be a directory or an array of patch files";
  const ARGS = "must be an array of strings (one argument each)";
  const entries = {
    /** Overrides CONFIG_QEMU_XEN / CONFIG_QEMU_TRAD / CONFIG_SEABIOS. */
    enabled: v.exactOptional(bool),
    /** Appended to QEMU's configure (or xen-setup) after the glue's own arguments. */
    extraConfigureArgs: v.exactOptional(v.array(v.string(ARGS), ARGS)),
    /** A directory of patches (with an optional quilt `series`), or a list of patch files. */
    patches: v.exactOptional(v.union([v.pipe(v.string(), absolute(dir)), v.array(v.pipe(v.string(PATCHES), absolute(dir)), PATCHES)], PATCHES)),
    /** How the queue is applied: "patch" (GNU patch, as quilt) or "git" (git apply); default by the queue's kind. */
    patchTool: v.exactOptional(v.picklist(["git", "patch"], 'must be "patch" (GNU patch, as quilt applies a series) or "git" (git apply)')),
    /** Meson wraps (subprojects/<name>.wrap) to fetch or skip whatever the recipe would choose. */
    wraps: v.exactOptional(wrapsSchema),
    /** The global verify replaced for this component, or false: this component's source is taken unverified. */
    verify: v.exactOptional(v.lazy((input: unknown) => (input === false ? v.literal(false) : verifySchema(dir)))),
  };
  return strict(entries, "must be an object", `is not a component setting (known: ${known(entries)})`);
}

const featureEntries = Object.fromEntries(FEATURE_NAMES.map((f) => [f, v.exactOptional(bool)])) as Record<FeatureName, v.ExactOptionalSchema<typeof bool, undefined>>;

function artifactCacheSchema() {
  const entries = {
    enabled: v.exactOptional(bool),
    /** Size limit of <cacheDir>/artifacts, e.g. "10G"; least recently used entries go first. */
    maxSize: v.exactOptional(v.pipe(v.string('must be a size such as "10G" or "500M"'), v.check((x) => parseSize(x) !== undefined, 'must be a size such as "10G" or "500M"'))),
    /** A shared cache: http(s) base URL of cas/ and ac/ (nginx WebDAV, bazel-remote). */
    remote: v.exactOptional(
      v.pipe(
        v.string("is not a usable cache URL: is not a string"),
        v.check((u) => remoteUrlProblem(u) === undefined, (issue) => `is not a usable cache URL: ${remoteUrlProblem(issue.input) ?? ""}`),
      ),
    ),
    /** Download only: never upload (for untrusted jobs). */
    remoteReadOnly: v.exactOptional(bool),
  };
  return strict(entries, "must be an object", `is not an artifact cache setting (known: ${known(entries)})`);
}

/** The schema of one config file's contents; `dir` is its directory, against which its paths are read. */
export function settingsSchema(dir: string) {
  const path_ = (what: string) => v.pipe(v.string(what), v.nonEmpty(what), absolute(dir));
  const entries = {
    jobs: v.exactOptional(v.pipe(v.number("must be a whole number of at least 1"), v.integer("must be a whole number of at least 1"), v.minValue(1, "must be a whole number of at least 1"))),
    cacheDir: v.exactOptional(path_("must be a path")),
    offline: v.exactOptional(bool),
    /** URL prefix → replacement, applied to every clone and fetch. */
    mirrors: v.exactOptional(
      stringRecord(
        v.pipe(v.string(), v.check((k) => urlProblem(k) === undefined, (issue) => `names a URL that ${urlProblem(issue.input) ?? ""}`)),
        v.pipe(v.string("must be a string"), v.check((u) => urlProblem(u) === undefined, (issue) => `names a URL that ${urlProblem(issue.input) ?? ""}`)),
      ),
    ),
    /** make variables, with the precedence of the environment (see README). */
    variables: v.exactOptional(
      stringRecord(
        v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not a make variable name")),
        v.pipe(v.string("must be a string"), v.maxLength(65_536, (issue) => `is ${issue.input.length} characters long (at most 65536)`)),
      ),
    ),
    features: v.exactOptional(strict(featureEntries, "must be an object", `is not a feature (known: ${FEATURE_NAMES.join(", ")})`)),
    components: v.exactOptional(
      v.pipe(
        v.custom<Record<string, unknown>>(isObj, "must be an object keyed by component name"),
        v.record(v.picklist(COMPONENT_NAMES, `is not a component (known: ${COMPONENT_NAMES.join(", ")})`), componentSchema(dir)),
      ),
    ),
    /** The build artifact cache (on unless enabled: false or --no-cache). */
    artifactCache: v.exactOptional(artifactCacheSchema()),
    /** Compile through ccache: "auto" (the default: when installed), true, false, or its path. */
    ccache: v.exactOptional(v.union([v.boolean(), v.pipe(v.string(), v.nonEmpty('must be true, false, "auto" or the path of ccache'))], 'must be true, false, "auto" or the path of ccache')),
    /** CCACHE_DIR for the builds (default: ccache's own). */
    ccacheDir: v.exactOptional(path_("must be a path")),
    /** CCACHE_MAXSIZE, e.g. "5G". */
    ccacheMaxSize: v.exactOptional(v.pipe(v.string('must be a size such as "5G"'), v.nonEmpty('must be a size such as "5G"'))),
    /** Only tags signed by these keys are fetched (each component may replace it: components.<name>.verify). */
    verify: v.exactOptional(verifySchema(dir)),
    /**
     * Byte-identical binaries from the same inputs in any tree (off by default: a departure from the
     * glue's argv): QEMU's --extra-cflags gains -ffile-prefix-map for the tree and build paths, every
     * configure, build and install runs with SOURCE_DATE_EPOCH (the source commit's date), and a SeaBIOS
     * tarball takes its version from .version (plan/reproducible.ts, components/reproducible.ts).
     */
    reproducible: v.exactOptional(bool),
  };
  return strict(entries, "must be an object", `is not a setting xqbuild knows (known: ${known(entries)})`);
}

/** The structured settings of xqbuild's own config file, searched for only in the Xen tree's root. */
export type Settings = Readonly<v.InferOutput<ReturnType<typeof settingsSchema>>>;
/** Per-component settings of the xqbuild config file. */
export type ComponentSettings = Readonly<v.InferOutput<ReturnType<typeof componentSchema>>>;
/** Switches for optional QEMU features; undefined means "as the glue does" (QEMU's own default). */
export type Features = Readonly<Partial<Record<FeatureName, boolean>>>;
/** The verify setting: keys (armored text or absolute file paths) or a keyring (absolute path), and the revisions allowed unsigned. */
export type VerifySettings = Readonly<v.InferOutput<ReturnType<typeof verifySchema>>>;
export type ArtifactCacheSettings = Readonly<v.InferOutput<ReturnType<typeof artifactCacheSchema>>>;

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

/** The key path of an issue as the messages name it: object keys joined by dots, array positions left out. */
function keyPath(issue: v.BaseIssue<unknown>): string {
  const keys = (issue.path ?? []).filter((p) => p.type === "object").map((p) => String(p.key));
  return keys.length > 0 ? keys.join(".") : "(top level)";
}

/** Checks the shape of the config file's contents; every mistake names the file and key. */
export function validateSettings(raw: unknown, file: string): Settings {
  const r = v.safeParse(settingsSchema(path.dirname(file)), raw, { abortEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  throw new UserError(`${path.basename(file)}: "${keyPath(issue)}" ${issue.message}.`, "See the configuration section of xqbuild's README for the expected shape.");
}
