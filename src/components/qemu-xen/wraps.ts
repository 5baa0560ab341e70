import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { shellWords } from "../../config/shell-words.js";
import { collect, definedOnly } from "../../util/proc.js";
import type { WrapSelectionInput } from "../recipe.js";
import { onPath } from "../../util/which.js";
import type { Wrap, WrapChoice } from "../../source/wraps.js";

/**
 * Which of QEMU's meson wraps (subprojects/*.wrap, QEMU 9 and later) `meson setup` downloads for a
 * configure command line. Meson downloads a wrap only when a subproject() call or a dependency
 * fallback is reached; this follows QEMU 10's meson.build for the wraps it has:
 *
 * - keycodemapdb: ui/meson.build, subproject(required: true) when a system emulator is built;
 * - berkeley-softfloat-3, berkeley-testfloat-3: tests/fp/meson.build, reached when CONFIG_TCG is
 *   among the accelerators (the tcg option allowed);
 * - libvfio-user: meson.build, only when the vfio_user_server option is allowed;
 * - dtc: meson.build, when fdt resolves to 'internal': -Dfdt=internal, or fdt auto/enabled (auto
 *   only with a system emulator) and the host's libfdt cannot be linked (probed as meson does);
 * - slirp, libblkio: dependency() fallbacks to the wrap's [provide], which meson takes only for a
 *   required dependency (the feature enabled) that pkg-config does not find;
 * - the Rust crates (*-rs wraps): only when Rust is on.
 *
 * Any other wrap (a later QEMU's) is not fetched: the user can force it in the config file
 * (components.qemu-xen.wraps.fetch).
 */
export async function qemuXenWraps(input: WrapSelectionInput): Promise<ReadonlyMap<string, WrapChoice>> {
  const o = configureOptions(input.configure.slice(1), mesonDefaults(input.sourceDir));
  const env = input.env;
  const out = new Map<string, WrapChoice>();
  const cache = new Map<string, Promise<boolean>>();
  const once = (key: string, f: () => Promise<boolean>): Promise<boolean> => {
    let p = cache.get(key);
    if (!p) cache.set(key, (p = f()));
    return p;
  };
  for (const w of input.wraps) out.set(w.name, await choose(w, o, env, once, input.signal));
  return out;
}

type Once = (key: string, f: () => Promise<boolean>) => Promise<boolean>;

/** dependency() names QEMU's meson.build asks for with required: get_option(<option>), that a wrap may provide. */
const DEPENDENCY_OPTIONS: Readonly<Record<string, string>> = { slirp: "slirp", blkio: "blkio" };

async function choose(w: Wrap, o: Options, env: Readonly<Record<string, string | undefined>>, once: Once, signal: AbortSignal | undefined): Promise<WrapChoice> {
  const no = (why: string): WrapChoice => ({ fetch: false, why });
  const yes = (why: string): WrapChoice => ({ fetch: true, why });
  switch (w.name) {
    case "keycodemapdb":
      return o.haveSystem ? yes("ui/ needs it for system emulators") : no("no system emulator in the target list");
    case "berkeley-softfloat-3":
    case "berkeley-testfloat-3":
      return o.feature("tcg") !== "disabled" ? yes("tests/fp needs it with TCG") : no("TCG is disabled");
    case "libvfio-user":
      return o.haveSystem && o.feature("vfio_user_server") !== "disabled" ? yes("vfio-user-server is enabled") : no("vfio-user-server is disabled");
    case "dtc":
      return dtc(o, env, once, signal);
  }
  for (const dep of Object.keys(w.provide)) {
    const option = DEPENDENCY_OPTIONS[dep];
    if (!option) continue;
    if (o.feature(option) !== "enabled") return no(`${option} is not enabled (no fallback)`);
    return (await once(`pkg-config ${dep}`, () => pkgConfigHas(dep, o, env, signal))) ? no(`the system ${dep} is found by pkg-config`) : yes(`--enable-${option} and no system ${dep}`);
  }
  if (w.name.endsWith("-rs") && w.type === "wrap-file") {
    const rust = o.feature("rust");
    if (rust === "disabled") return no("Rust is disabled");
    if (rust === "enabled") return yes("Rust is enabled");
    if (!o.haveSystem) return no("Rust is auto and no system emulator is built");
    return (await once("rust", () => rustAvailable(o, env, signal))) ? yes("Rust is auto and rustc and bindgen are found") : no("Rust is auto and rustc or bindgen is missing");
  }
  return no("not known to the qemu-xen recipe; components.qemu-xen.wraps.fetch forces it");
}

/** meson.build's fdt logic: whether subproject('dtc') is reached. */
async function dtc(o: Options, env: Readonly<Record<string, string | undefined>>, once: Once, signal: AbortSignal | undefined): Promise<WrapChoice> {
  let fdt = o.meson.get("fdt") ?? o.defaults.get("fdt") ?? "auto";
  const nodownload = o.meson.get("wrap_mode") === "nodownload";
  if (fdt === "enabled" && nodownload) fdt = "system";
  if (fdt === "internal") return { fetch: true, why: "fdt is internal" };
  if (!(fdt === "enabled" || fdt === "system" || (fdt === "auto" && o.haveSystem))) return { fetch: false, why: fdt === "disabled" ? "fdt is disabled" : "fdt is auto and no system emulator is built" };
  if (fdt === "system") return { fetch: false, why: "fdt is system" };
  if (await once("libfdt", () => linksLibfdt(o, env, signal))) return { fetch: false, why: "the host's libfdt links" };
  return nodownload ? { fetch: false, why: "the host has no usable libfdt and downloads are disabled" } : { fetch: true, why: "the host has no usable libfdt" };
}

interface Options {
  /** Meson options as the command line leaves them (last one wins), names with underscores. */
  readonly meson: ReadonlyMap<string, string>;
  /** Defaults from the tree's meson_options.txt. */
  readonly defaults: ReadonlyMap<string, string>;
  readonly haveSystem: boolean;
  readonly cc: string | undefined;
  readonly crossPrefix: string;
  readonly extraCflags: string;
  readonly extraLdflags: string;
  readonly rustc: string | undefined;
  /** A feature option's state: auto turned into disabled by --without-default-features. */
  feature(name: string): string;
}

/** The option defaults of meson_options.txt: option('name', type: ..., value: ...). */
export function mesonDefaults(sourceDir: string): Map<string, string> {
  const file = path.join(sourceDir, "meson_options.txt");
  const out = new Map<string, string>();
  if (!existsSync(file)) return out;
  const text = readFileSync(file, "utf8").replace(/#.*$/gm, "");
  for (const m of text.matchAll(/option\(\s*'([^']+)'([^)]*)\)/g)) {
    const body = m[2] ?? "";
    const type = /type\s*:\s*'([^']+)'/.exec(body)?.[1];
    const value = /value\s*:\s*(?:'([^']*)'|(true|false))/.exec(body);
    const v = value ? (value[1] ?? value[2]) : type === "feature" ? "auto" : undefined;
    if (v !== undefined) out.set(m[1] as string, v);
  }
  return out;
}

/**
 * Reads QEMU's configure arguments as configure does: --enable-X / --disable-X / --enable-X=V and
 * -DX=V go to meson in order (the last wins); the options configure handles itself (tcg, rust,
 * download, --without-default-features) are added after them, as configure adds them.
 */
export function configureOptions(args: readonly string[], defaults: ReadonlyMap<string, string>): Options {
  const meson = new Map<string, string>();
  let targetList: string[] | undefined;
  let disableSystem = false;
  let cc: string | undefined;
  let crossPrefix = "";
  let extraCflags = "";
  let extraLdflags = "";
  let rustc: string | undefined;
  let tcg = "auto";
  let rust: string | undefined;
  let download = "enabled";
  let defaultFeatures = true;
  const norm = (n: string): string => n.replace(/-/g, "_");
  for (const a of args) {
    const eq = a.indexOf("=");
    const key = eq < 0 ? a : a.slice(0, eq);
    const val = eq < 0 ? "" : a.slice(eq + 1);
    if (key === "--target-list") targetList = val.split(",").filter((t) => t !== "");
    else if (a === "--disable-system") disableSystem = true;
    else if (a === "--enable-system") disableSystem = false;
    else if (key === "--cc") cc = val;
    else if (key === "--cross-prefix") crossPrefix = val;
    else if (key === "--extra-cflags") extraCflags += ` ${val}`;
    else if (key === "--extra-ldflags") extraLdflags += ` ${val}`;
    else if (key === "--rustc") rustc = val;
    else if (a === "--enable-tcg") tcg = "enabled";
    else if (a === "--disable-tcg") tcg = "disabled";
    else if (a === "--enable-rust") rust = "enabled";
    else if (a === "--disable-rust") rust = "disabled";
    else if (a === "--enable-download") download = "enabled";
    else if (a === "--disable-download") download = "disabled";
    else if (a === "--without-default-features") defaultFeatures = false;
    else if (a.startsWith("-D") && eq > 2) meson.set(norm(key.slice(2)), val);
    else if (a.startsWith("--enable-")) meson.set(norm(key.slice(9)), eq < 0 ? "enabled" : val);
    else if (a.startsWith("--disable-") && eq < 0) meson.set(norm(a.slice(10)), "disabled");
  }
  if (tcg === "auto") tcg = targetList !== undefined && targetList.length === 0 ? "disabled" : "enabled";
  if (download === "disabled") meson.set("wrap_mode", "nodownload");
  if (!defaultFeatures) meson.set("auto_features", "disabled");
  if (rust !== undefined && rust !== "disabled") meson.set("rust", rust);
  if (tcg !== "enabled") meson.set("tcg", tcg);
  const haveSystem = targetList !== undefined ? targetList.some((t) => t.endsWith("-softmmu")) : !disableSystem;
  return {
    meson,
    defaults,
    haveSystem,
    cc,
    crossPrefix,
    extraCflags,
    extraLdflags,
    rustc,
    feature(name: string): string {
      const v = meson.get(name) ?? defaults.get(name) ?? "auto";
      return v === "auto" && meson.get("auto_features") === "disabled" ? "disabled" : v;
    },
  };
}

/** The C compiler configure hands meson: --cc, else $CC, else <cross-prefix>gcc, else cc. */
function compiler(o: Options, env: Readonly<Record<string, string | undefined>>): string[] {
  const cc = o.cc ?? env.CC ?? (o.crossPrefix !== "" ? `${o.crossPrefix}gcc` : "cc");
  const words = shellWords(cc, "the C compiler (--cc or $CC)");
  return words.length > 0 ? words : ["cc"];
}

/**
 * meson's cc.find_library('fdt') and cc.links() of meson.build's test program (fdt_find_max_phandle,
 * libfdt 1.5.1 or later), with the compiler and flags configure gives meson. A compiler that cannot
 * be run counts as no libfdt: meson would then use the wrap.
 */
async function linksLibfdt(o: Options, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal | undefined): Promise<boolean> {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-fdt-probe-"));
  try {
    const src = path.join(dir, "fdt.c");
    writeFileSync(src, "#include <libfdt.h>\n#include <libfdt_env.h>\nint main(void) { fdt_find_max_phandle(NULL, NULL); return 0; }\n");
    const words = (s: string | undefined, what: string): string[] => (s ? shellWords(s, what) : []);
    const cc = compiler(o, env);
    const argv = [
      ...cc.slice(1),
      ...words(env.CFLAGS, "$CFLAGS"),
      ...words(o.extraCflags, "--extra-cflags"),
      src,
      "-o",
      path.join(dir, "fdt"),
      ...words(env.LDFLAGS, "$LDFLAGS"),
      ...words(o.extraLdflags, "--extra-ldflags"),
      "-lfdt",
    ];
    const r = await collect(cc[0] as string, argv, { cwd: dir, env: definedOnly(env), ...(signal ? { signal } : {}) });
    return r.code === 0;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** meson's dependency(name, method: 'pkg-config'): configure's pkg-config ($PKG_CONFIG, else <cross-prefix>pkg-config). */
async function pkgConfigHas(dep: string, o: Options, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    const pc = shellWords(env.PKG_CONFIG ?? `${o.crossPrefix}pkg-config`, "$PKG_CONFIG");
    const r = await collect(pc[0] as string, [...pc.slice(1), "--exists", "--", dep], { cwd: tmpdir(), env: definedOnly(env), ...(signal ? { signal } : {}) });
    return r.code === 0;
  } catch {
    return false;
  }
}

/** Rust set to auto: configure runs `rustc -vV` ($RUSTC, --rustc), and meson then needs bindgen. */
async function rustAvailable(o: Options, env: Readonly<Record<string, string | undefined>>, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    const rustc = o.rustc ?? env.RUSTC ?? "rustc";
    const r = await collect(rustc, ["-vV"], { cwd: tmpdir(), env: definedOnly(env), ...(signal ? { signal } : {}) });
    return r.code === 0 && onPath("bindgen", definedOnly(env)) !== undefined;
  } catch {
    return false;
  }
}
