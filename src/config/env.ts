import { UserError } from "../util/errors.js";
import { parseSize } from "../cache/artifacts.js";

type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(["1", "true", "yes", "on", "y"]);
const FALSE = new Set(["0", "false", "no", "off", "n"]);

/**
 * One reading of a boolean XQBUILD_* variable, so that `XQBUILD_OFFLINE=true` and
 * `XQBUILD_REMOTE_CACHE_READONLY=false` mean what they say instead of what one reader's test
 * (`=== "1"`, `!== "0"`) happened to make of them. Unset or empty: undefined (the setting below
 * it decides). Anything that is not 1/0, true/false, yes/no, on/off, y/n (any case) is refused:
 * a value xqbuild cannot read is a mistake, never silently one or the other.
 */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === "") return undefined;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new UserError(
    `the environment variable ${name}=${JSON.stringify(raw)} is not a yes/no value.`,
    `Set ${name} to 1, true, yes or on (or 0, false, no, off), or unset it.`,
  );
}

export interface NumberRule {
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
  /** What the number counts, for the message ("seconds", "bytes"). */
  readonly unit: string;
}

/**
 * One reading of a numeric XQBUILD_* variable: a decimal number within the rule's range, else a
 * UserError naming the variable and value (`XQBUILD_STALL_TIMEOUT=-5` used to fall back to the
 * default without a word). Unset or empty: undefined.
 */
export function envNumber(env: Env, name: string, rule: NumberRule): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const text = raw.trim();
  const n = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < rule.min || n > rule.max || (rule.integer === true && !Number.isInteger(n))) {
    throw new UserError(
      `the environment variable ${name}=${JSON.stringify(raw)} is not ${rule.integer === true ? "a whole number" : "a number"} of ${rule.unit} from ${rule.min} to ${rule.max}.`,
      `Give ${name} a value in that range, or unset it for the default.`,
    );
  }
  return n;
}

/**
 * SOURCE_DATE_EPOCH (reproducible-builds.org's variable, not xqbuild's own) as whole seconds since
 * 1970, read here for every reader (reproducible: true's builds, the SBOM's date) so that one value
 * means one thing to both: unset or empty is no date (as for every variable this module reads),
 * anything but up to 12 digits is refused naming it; `use` says what it is read for.
 */
export function envSourceDateEpoch(env: Env, use: string): string | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw.trim() === "") return undefined;
  const v = raw.trim();
  if (!/^\d{1,12}$/.test(v)) {
    throw new UserError(
      `SOURCE_DATE_EPOCH in the environment is ${JSON.stringify(raw)}, which is not a time: ${use}, and it must be whole seconds since 1970-01-01 UTC.`,
      "Set it to such a number (git show -s --format=%ct HEAD gives a commit's), or unset it.",
    );
  }
  return v;
}

/** The numeric XQBUILD_* variables and their ranges: the one place a reader takes them from. */
export const NUMBER_RULES = {
  XQBUILD_STALL_TIMEOUT: { min: 1, max: 86_400, unit: "seconds" },
  XQBUILD_REMOTE_CACHE_TIMEOUT: { min: 1, max: 3600, unit: "seconds" },
  XQBUILD_TARBALL_MAX_BYTES: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true, unit: "bytes" },
  /**
   * How often the plain reporter says a long stage is still running (0: never). Whole seconds: a
   * fraction (0.001) would be a line every millisecond, flooding a CI log while the build runs.
   */
  XQBUILD_HEARTBEAT_SECONDS: { min: 0, max: 86_400, integer: true, unit: "seconds" },
} as const satisfies Record<string, NumberRule>;

export type NumberVariable = keyof typeof NUMBER_RULES;

/** A numeric XQBUILD_* variable by its rule in NUMBER_RULES. */
export function envSetting(env: Env, name: NumberVariable): number | undefined {
  return envNumber(env, name, NUMBER_RULES[name]);
}

/**
 * xqbuild's own environment variables, read once when the configuration is resolved: a bad value
 * stops the run before anything starts (exit 2), and nothing below the config layer parses them
 * again. Each is undefined when unset, so the xqbuild config file's setting or the default applies.
 */
export interface XqbuildEnv {
  readonly offline?: boolean;
  readonly noMakeCache?: boolean;
  readonly noDoctor?: boolean;
  readonly artifactCache?: boolean;
  readonly remoteCacheReadOnly?: boolean;
  /** XQBUILD_CCACHE: a yes/no word, else a ccache path or "auto" as given. */
  readonly ccache?: boolean | string;
  readonly stallTimeoutSeconds?: number;
  readonly remoteCacheTimeoutSeconds?: number;
  readonly tarballMaxBytes?: number;
  readonly heartbeatSeconds?: number;
  /** XQBUILD_CACHE_DIR as given (relative to the working directory; resolve.ts makes it absolute). */
  readonly cacheDir?: string;
  /** XQBUILD_CACHE_MAX_SIZE in bytes. */
  readonly cacheMaxBytes?: number;
  /** XQBUILD_REMOTE_CACHE as given; "" (set but empty) turns the remote cache off whatever the config file says. */
  readonly remoteCache?: string;
  /** XQBUILD_REMOTE_CACHE_HEADER split into its name and value (the value is a secret: never print it). */
  readonly remoteCacheHeader?: { readonly name: string; readonly value: string };
  /** XQBUILD_MAKE: the make that reads the Xen tree's configuration. */
  readonly make?: string;
}

/** The XQBUILD_* variables that are words or paths rather than yes/no or numbers. */
function readTextVariables(env: Env, out: { -readonly [K in keyof XqbuildEnv]: XqbuildEnv[K] }): void {
  if (env.XQBUILD_CACHE_DIR) out.cacheDir = env.XQBUILD_CACHE_DIR;
  if (env.XQBUILD_MAKE) out.make = env.XQBUILD_MAKE;
  const size = env.XQBUILD_CACHE_MAX_SIZE;
  if (size !== undefined) {
    const n = parseSize(size);
    if (n === undefined) throw new UserError(`XQBUILD_CACHE_MAX_SIZE=${JSON.stringify(size)} is not a size.`, 'Give a size such as "10G", "500M" or a number of bytes.');
    out.cacheMaxBytes = n;
  }
  // The URL as given: cache/from-config.ts checks it when a command uses the remote cache, as it
  // checks artifactCache.remote, so a command that never does is not stopped by it.
  if (env.XQBUILD_REMOTE_CACHE !== undefined) out.remoteCache = env.XQBUILD_REMOTE_CACHE;
  const header = env.XQBUILD_REMOTE_CACHE_HEADER;
  if (header) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(header);
    if (!m) throw new UserError("XQBUILD_REMOTE_CACHE_HEADER must look like NAME: VALUE (for example Authorization: Bearer ...).");
    out.remoteCacheHeader = { name: m[1] as string, value: m[2] as string };
  }
}

export function readXqbuildEnv(env: Env): XqbuildEnv {
  const out: { -readonly [K in keyof XqbuildEnv]: XqbuildEnv[K] } = {};
  const bool = (key: "offline" | "noMakeCache" | "noDoctor" | "artifactCache" | "remoteCacheReadOnly", name: string): void => {
    const v = envBoolean(env, name);
    if (v !== undefined) out[key] = v;
  };
  bool("offline", "XQBUILD_OFFLINE");
  bool("noMakeCache", "XQBUILD_NO_MAKE_CACHE");
  bool("noDoctor", "XQBUILD_NO_DOCTOR");
  bool("artifactCache", "XQBUILD_ARTIFACT_CACHE");
  bool("remoteCacheReadOnly", "XQBUILD_REMOTE_CACHE_READONLY");
  const cc = env.XQBUILD_CCACHE?.trim();
  if (cc !== undefined && cc !== "") {
    const lower = cc.toLowerCase();
    out.ccache = TRUE.has(lower) ? true : FALSE.has(lower) ? false : cc;
  }
  const num = (key: "stallTimeoutSeconds" | "remoteCacheTimeoutSeconds" | "tarballMaxBytes" | "heartbeatSeconds", name: NumberVariable): void => {
    const v = envSetting(env, name);
    if (v !== undefined) out[key] = v;
  };
  num("stallTimeoutSeconds", "XQBUILD_STALL_TIMEOUT");
  num("remoteCacheTimeoutSeconds", "XQBUILD_REMOTE_CACHE_TIMEOUT");
  num("tarballMaxBytes", "XQBUILD_TARBALL_MAX_BYTES");
  num("heartbeatSeconds", "XQBUILD_HEARTBEAT_SECONDS");
  readTextVariables(env, out);
  return out;
}

/**
 * The one XQBUILD_* value needed before the configuration is read: XQBUILD_HEARTBEAT_SECONDS, for
 * the reporter cli/main.ts makes first. A bad value gives the default here; readXqbuildEnv, when
 * the configuration is resolved, then stops the run with its message.
 */
export function reporterEnv(env: Env): { heartbeatSeconds?: number } {
  try {
    const n = envSetting(env, "XQBUILD_HEARTBEAT_SECONDS");
    return n === undefined ? {} : { heartbeatSeconds: n };
  } catch {
    return {};
  }
}
