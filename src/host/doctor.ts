import type { Plan } from "../plan/plan.js";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ComponentName } from "../components/names.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Features } from "../config/settings.js";
import { onPath } from "../util/which.js";

/** One thing the host must have, with the packages that provide it. */
export interface Check {
  readonly what: string;
  readonly why: string;
  readonly ok: boolean;
  readonly found?: string;
  /** For a check that failed: exactly what is missing, when "not found" does not say it. */
  readonly detail?: string;
  readonly debian: readonly string[];
  readonly fedora: readonly string[];
}

type Probe =
  | { kind: "program"; names: readonly string[] }
  | { kind: "pkg-config"; module: string }
  | { kind: "header"; file: string }
  /** Any of the modules importable by the Python QEMU's configure runs (--python=$(PYTHON)). */
  | { kind: "python-module"; python: string; modules: readonly string[] }
  /** The meson QEMU's venv installs: a wheel in python/wheels, or an accepted meson the Python already has. */
  | { kind: "python-meson"; python: string; wheels: string; accepted: string };

/**
 * Where the fetched QEMU's configure gets meson from, which decides what the host must have:
 * - "venv": QEMU 8.1 and later (pythondeps.toml) create a venv with the configured Python and install
 *   meson into it from python/wheels, or take an accepted meson the Python already has (configure
 *   runs mkvenv without --online for meson); the host's meson program is never used.
 * - "submodule": QEMU 5.2 to 8.0 with its meson/ submodule checked out.
 * - "host": a meson-built QEMU with neither: configure runs the host's meson.
 * - "unknown": not fetched yet, or not built with meson: nothing to ask for.
 */
export type QemuMeson = { kind: "venv"; wheels: string; accepted: string } | { kind: "submodule" } | { kind: "host" } | { kind: "unknown" };

/** Reads how a QEMU source tree gets its meson (see QemuMeson). */
export function qemuMesonOf(sourceDir: string): QemuMeson {
  const deps = path.join(sourceDir, "pythondeps.toml");
  if (existsSync(deps)) {
    let text = "";
    try {
      text = readFileSync(deps, "utf8");
    } catch {
      // unreadable: accept any meson
    }
    const accepted = /^meson\s*=\s*\{[^}\n]*\baccepted\s*=\s*"([^"]*)"/m.exec(text)?.[1] ?? "";
    return { kind: "venv", wheels: path.join(sourceDir, "python", "wheels"), accepted };
  }
  if (existsSync(path.join(sourceDir, "meson", "meson.py"))) return { kind: "submodule" };
  if (existsSync(path.join(sourceDir, "meson.build"))) return { kind: "host" };
  return { kind: "unknown" };
}

interface Requirement {
  readonly what: string;
  readonly probe: Probe;
  readonly debian: readonly string[];
  readonly fedora: readonly string[];
}

const prog = (what: string, names: readonly string[], debian: readonly string[], fedora: readonly string[]): Requirement => ({ what, probe: { kind: "program", names }, debian, fedora });
const pc = (module: string, debian: readonly string[], fedora: readonly string[]): Requirement => ({ what: `${module} (pkg-config)`, probe: { kind: "pkg-config", module }, debian, fedora });
const hdr = (file: string, debian: readonly string[], fedora: readonly string[]): Requirement => ({ what: `<${file}>`, probe: { kind: "header", file }, debian, fedora });

/** The Xen libraries QEMU's --enable-xen links with, as pkg-config modules. */
export const XEN_LIBS = ["xencontrol", "xenstore", "xenforeignmemory", "xengnttab", "xenevtchn", "xendevicemodel", "xentoolcore"];

/** What each component and feature needs, as data. */
export function requirements(config: ResolvedConfig, components: readonly ComponentName[], features: Features, qemuMeson: QemuMeson): Array<Requirement & { why: string }> {
  const out: Array<Requirement & { why: string }> = [];
  const add = (why: string, ...rs: Requirement[]): void => {
    for (const r of rs) if (!out.some((o) => o.what === r.what)) out.push({ ...r, why });
  };
  const cc = (config.vars.get("CC")?.value || "gcc").split(/\s+/)[0] ?? "gcc";
  const python = (config.vars.get("PYTHON")?.value || "python3").split(/\s+/)[0] ?? "python3";
  add("every component", prog("C compiler", [cc], ["gcc"], ["gcc"]), prog("GNU make", ["make"], ["make"], ["make"]), prog("git", [config.vars.get("GIT")?.value || "git"], ["git"], ["git"]), prog("Python", [python], ["python3"], ["python3"]));
  if (components.includes("qemu-xen")) {
    add("qemu-xen", prog("ninja", ["ninja", "ninja-build"], ["ninja-build"], ["ninja-build"]), prog("pkg-config", ["pkg-config", "pkgconf"], ["pkg-config"], ["pkgconf-pkg-config"]));
    if (qemuMeson.kind === "host") add("qemu-xen (this QEMU brings neither meson/ nor pythondeps.toml: its configure runs the host's meson)", prog("meson", ["meson"], ["meson"], ["meson"]));
    if (qemuMeson.kind === "venv") {
      const why = `qemu-xen (its configure makes a Python venv with ${python} and installs meson into it)`;
      add(
        why,
        { what: `${python} module venv`, probe: { kind: "python-module", python, modules: ["venv"] }, debian: ["python3-venv"], fedora: ["python3-libs"] },
        // mkvenv needs pip in the venv: the system's pip and setuptools (seen through system site packages), else ensurepip.
        { what: `${python} module ensurepip (or pip and setuptools)`, probe: { kind: "python-module", python, modules: ["ensurepip", "pip+setuptools"] }, debian: ["python3-venv"], fedora: ["python3-pip"] },
        { what: `${python} module tomllib (or tomli)`, probe: { kind: "python-module", python, modules: ["tomllib", "tomli"] }, debian: ["python3-tomli"], fedora: ["python3-tomli"] },
        {
          what: `meson ${qemuMeson.accepted || ""} for QEMU's venv`.replace(/\s+/g, " "),
          probe: { kind: "python-meson", python, wheels: qemuMeson.wheels, accepted: qemuMeson.accepted },
          debian: ["meson"],
          fedora: ["meson"],
        },
      );
    }
    add("qemu-xen", prog("flex", ["flex"], ["flex"], ["flex"]), prog("bison", ["bison"], ["bison"], ["bison"]));
    add("qemu-xen", pc("glib-2.0", ["libglib2.0-dev"], ["glib2-devel"]), pc("pixman-1", ["libpixman-1-dev"], ["pixman-devel"]), hdr("libfdt.h", ["libfdt-dev"], ["libfdt-devel"]));
    for (const lib of XEN_LIBS) add("qemu-xen --enable-xen (from the Xen tree's tools/pkg-config once tools are built, or installed)", pc(lib, ["libxen-dev"], ["xen-devel"]));
    if (features.libusb) add("the libusb feature (PVUSB)", pc("libusb-1.0", ["libusb-1.0-0-dev"], ["libusbx-devel"]));
    if (features.spice) add("the spice feature", pc("spice-server", ["libspice-server-dev"], ["spice-server-devel"]), pc("spice-protocol", ["libspice-protocol-dev"], ["spice-protocol"]));
    if (config.vars.get("CONFIG_9PFS")?.value.trim() === "y") add("9pfs (CONFIG_9PFS=y: --enable-virtfs)", pc("libcap-ng", ["libcap-ng-dev"], ["libcap-ng-devel"]), hdr("attr/xattr.h", ["libattr1-dev"], ["libattr-devel"]));
  }
  if (components.includes("seabios")) add("seabios", prog("iasl", ["iasl"], ["acpica-tools"], ["acpica-tools"]));
  if (components.includes("qemu-xen-traditional")) add("qemu-xen-traditional", hdr("zlib.h", ["zlib1g-dev"], ["zlib-devel"]), hdr("ncurses.h", ["libncurses-dev"], ["ncurses-devel"]));
  return out;
}

/** Runs every check; nothing is installed or changed. */
export function runChecks(config: ResolvedConfig, reqs: ReadonlyArray<Requirement & { why: string }>): Check[] {
  const env: Record<string, string> = { ...config.env };
  if (config.mode === "tree") {
    const own = path.join(config.xenRoot, "tools", "pkg-config");
    env.PKG_CONFIG_PATH = env.PKG_CONFIG_PATH ? `${own}:${env.PKG_CONFIG_PATH}` : own;
  }
  const pkgConfig = onPath("pkg-config", env) ?? onPath("pkgconf", env);
  const includeDirs = ["/usr/include", "/usr/local/include", `/usr/include/${process.arch === "x64" ? "x86_64" : process.arch}-linux-gnu`];
  // One pkg-config for every module when all are there (the usual case: a rerun pays for one), else one each.
  const modules = [...new Set(reqs.flatMap((r) => (r.probe.kind === "pkg-config" ? [r.probe.module] : [])))];
  const versions = new Map<string, string>();
  if (pkgConfig && modules.length > 0) {
    const all = spawnSync(pkgConfig, ["--modversion", ...modules], { env, encoding: "utf8" });
    const lines = all.stdout?.trim().split("\n") ?? [];
    if (all.status === 0 && lines.length === modules.length) modules.forEach((m, i) => versions.set(m, (lines[i] ?? "").trim()));
  }
  const pythons = new Map<string, PythonFacts | undefined>();
  const pythonFacts = (python: string): PythonFacts | undefined => {
    if (!pythons.has(python)) pythons.set(python, probePython(python, env));
    return pythons.get(python);
  };
  return reqs.map((r): Check => {
    const base = { what: r.what, why: r.why, debian: r.debian, fedora: r.fedora };
    switch (r.probe.kind) {
      case "program": {
        for (const n of r.probe.names) {
          const found = onPath(n, env);
          if (found) return { ...base, ok: true, found };
        }
        return { ...base, ok: false };
      }
      case "pkg-config": {
        if (!pkgConfig) return { ...base, ok: false };
        const known = versions.get(r.probe.module);
        if (known !== undefined) return { ...base, ok: true, found: known };
        const res = spawnSync(pkgConfig, ["--modversion", r.probe.module], { env, encoding: "utf8" });
        return res.status === 0 ? { ...base, ok: true, found: res.stdout.trim() } : { ...base, ok: false };
      }
      case "header": {
        const file = r.probe.file;
        const dir = includeDirs.find((d) => existsSync(path.join(d, file)));
        return dir ? { ...base, ok: true, found: path.join(dir, file) } : { ...base, ok: false };
      }
      case "python-module": {
        const facts = pythonFacts(r.probe.python);
        if (!facts) return { ...base, ok: false, detail: `${r.probe.python} did not run` };
        const have = r.probe.modules.find((m) => m.split("+").every((part) => facts.modules[part]));
        return have ? { ...base, ok: true, found: `${have.replace("+", " and ")} (Python ${facts.version})` } : { ...base, ok: false, detail: `Python ${facts.version} (${facts.executable}) has no ${r.probe.modules.map((m) => m.replace("+", " and ")).join(", nor ")}` };
      }
      case "python-meson": {
        const { wheels, accepted, python } = r.probe;
        let wheel: string | undefined;
        try {
          wheel = readdirSync(wheels).find((f) => /^meson-.*\.whl$/.test(f));
        } catch {
          // no python/wheels
        }
        if (wheel) return { ...base, ok: true, found: path.join(wheels, wheel) };
        const facts = pythonFacts(python);
        const have = facts?.meson;
        if (have !== undefined && have !== null && versionAccepted(have, accepted)) return { ...base, ok: true, found: `meson ${have} in ${python}'s site-packages` };
        const where = path.relative(path.dirname(path.dirname(wheels)), wheels);
        const system = have ? `${python}'s site-packages has meson ${have}, which QEMU does not accept (${accepted})` : `${python} has no meson package`;
        return {
          ...base,
          ok: false,
          detail: `${where} has no meson wheel (Debian's +ds QEMU source ships none) and ${system}; configure installs meson offline, from one or the other. Install a meson ${accepted} for ${python} (Debian: the meson package, from backports or a newer release when the release's own is older), or put QEMU's meson wheel in ${where}`,
        };
      }
      default: {
        const never: never = r.probe;
        return never;
      }
    }
  });
}

/** What the configured Python has of what QEMU's mkvenv.py needs. */
interface PythonFacts {
  readonly version: string;
  readonly executable: string;
  readonly modules: Readonly<Record<string, boolean>>;
  /** The version of the meson distribution it can import, or null. */
  readonly meson: string | null;
}

const PYTHON_PROBE = [
  "import json, sys",
  "from importlib.util import find_spec",
  "def has(n):",
  "    try:",
  "        return find_spec(n) is not None",
  "    except Exception:",
  "        return False",
  "try:",
  "    from importlib.metadata import version",
  "    meson = version('meson')",
  "except Exception:",
  "    meson = None",
  "print(json.dumps({'version': sys.version.split()[0], 'executable': sys.executable, 'meson': meson, 'modules': {n: has(n) for n in ['venv', 'ensurepip', 'pip', 'setuptools', 'tomllib', 'tomli']}}))",
].join("\n");

function probePython(python: string, env: Readonly<Record<string, string>>): PythonFacts | undefined {
  const r = spawnSync(python, ["-c", PYTHON_PROBE], { env, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "") as PythonFacts;
  } catch {
    return undefined;
  }
}

/** Whether a version satisfies a pythondeps.toml constraint such as ">=1.5.0" or ">=1.1,<2" (empty: any). */
export function versionAccepted(version: string, constraint: string): boolean {
  const num = (v: string): number[] => v.split(/[.+-]/).map((x) => Number.parseInt(x, 10)).map((n) => (Number.isNaN(n) ? 0 : n));
  const cmp = (a: number[], b: number[]): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = (a[i] ?? 0) - (b[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  };
  for (const part of constraint.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^(>=|<=|==|!=|>|<|~=)?\s*(.+)$/.exec(part);
    if (!m) return false;
    const c = cmp(num(version), num(m[2] ?? ""));
    const ok = { ">=": c >= 0, "<=": c <= 0, "==": c === 0, "!=": c !== 0, ">": c > 0, "<": c < 0, "~=": c >= 0 }[m[1] ?? "=="];
    if (!ok) return false;
  }
  return true;
}

/** The one-paragraph answer to "what do I install": every missing thing and the packages for it. */
export function missingReport(checks: readonly Check[]): string | undefined {
  const missing = checks.filter((c) => !c.ok);
  if (missing.length === 0) return undefined;
  const uniq = (xs: readonly string[]): string[] => [...new Set(xs)].sort();
  return [
    `missing on this host: ${missing.map((m) => `${m.what} (for ${m.why}${m.detail ? `: ${m.detail}` : ""})`).join("; ")}.`,
    `Debian/Ubuntu: apt-get install ${uniq(missing.flatMap((m) => m.debian)).join(" ")}`,
    `Fedora: dnf install ${uniq(missing.flatMap((m) => m.fedora)).join(" ")}`,
  ].join("\n");
}

/** The host checks for a plan's enabled components. */
export function hostChecks(config: ResolvedConfig, plan: Plan): Check[] {
  const enabled = plan.components.filter((c) => c.enabled);
  const qemu = enabled.find((c) => c.name === "qemu-xen");
  // What the host needs for meson follows the QEMU fetched (nothing is asked before it is there).
  const meson = qemu ? qemuMesonOf(qemu.sourceDir) : ({ kind: "unknown" } as const);
  return runChecks(config, requirements(config, enabled.map((c) => c.name as ComponentName), config.features, meson));
}
