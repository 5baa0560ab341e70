import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import type { ComponentName } from "../components/names.js";
import { RECIPES } from "../components/index.js";
import type { ResolvedConfig } from "../config/types.js";
import { verifyPolicyOf } from "../source/verify.js";
import { onPath } from "../util/which.js";
import { because, prog, type HostRequirement } from "./requirements.js";

/**
 * Kept here for engine/pipeline.ts, which puts the Xen libraries' versions in QEMU's fingerprint;
 * the list is qemu-xen's (components/qemu-xen/requirements.ts). It goes when that knowledge moves
 * out of the engine.
 */

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

/** The requirements every component shares: the compiler, make, git and Python the glue runs. */
function common(config: ResolvedConfig): { python: string; reqs: HostRequirement[] } {
  const cc = (config.vars.get("CC")?.value || "gcc").split(/\s+/)[0] ?? "gcc";
  const python = (config.vars.get("PYTHON")?.value || "python3").split(/\s+/)[0] ?? "python3";
  const reqs = because("every component", prog("C compiler", [cc], ["gcc"], ["gcc"]), prog("GNU make", ["make"], ["make"], ["make"]), prog("git", [config.vars.get("GIT")?.value || "git"], ["git"], ["git"]), prog("Python", [python], ["python3"], ["python3"]));
  return { python, reqs };
}

/** A component as the doctor sees it: its name, its source directory and how its source is got. */
export interface DoctorComponent {
  readonly name: ComponentName;
  readonly sourceDir: string;
  /** The plan's source step ("git-checkout", "tarball", "local-source"); absent: taken as fetched from git. */
  readonly source?: { readonly kind: string };
}

/**
 * gpgv checks the signed tags; gpg reads the configured keys or keyring (to import them, and to name
 * their fingerprints in every message), so both are needed whenever a component fetched from git
 * has a verify setting. A local directory used in place is not verified (fetch warns), and a
 * tarball under verify is refused before either would run, so neither asks for them.
 */
function verifyRequirements(config: ResolvedConfig, components: readonly DoctorComponent[]): HostRequirement[] {
  const policy = components.map((c) => (c.source === undefined || c.source.kind === "git-checkout" ? verifyPolicyOf(config.settings, c.name) : undefined)).find((p) => p !== undefined);
  if (!policy) return [];
  return because(`signed tags (${policy.key})`, prog("gpgv", ["gpgv"], ["gpgv"], ["gnupg2"]), prog("gpg", ["gpg"], ["gpg"], ["gnupg2"]));
}

/**
 * What the host needs for these components: the shared tools, then each recipe's `requirements`
 * (given its source directory, as what QEMU needs follows the QEMU fetched), then gpgv and gpg when
 * signed tags are checked. A thing asked for twice is listed once, with the first reason.
 */
export function requirements(config: ResolvedConfig, components: readonly DoctorComponent[]): HostRequirement[] {
  const { python, reqs } = common(config);
  const out: HostRequirement[] = [];
  const all = [...reqs, ...components.flatMap((c) => RECIPES[c.name].requirements?.({ config, sourceDir: c.sourceDir, python }) ?? []), ...verifyRequirements(config, components)];
  for (const r of all) if (!out.some((o) => o.what === r.what)) out.push(r);
  return out;
}

/** Runs every check; nothing is installed or changed. */
export function runChecks(config: ResolvedConfig, reqs: readonly HostRequirement[]): Check[] {
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
  // One Python run answers every module and distribution asked about.
  const ask = {
    modules: [...new Set(reqs.flatMap((r) => (r.probe.kind === "python-module" ? r.probe.modules.flatMap((m) => m.split("+")) : [])))],
    dists: [...new Set(reqs.flatMap((r) => (r.probe.kind === "python-wheel" ? [r.probe.dist] : [])))],
  };
  const pythonFacts = (python: string): PythonFacts | undefined => {
    if (!pythons.has(python)) pythons.set(python, probePython(python, ask, env));
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
      case "python-wheel": {
        const { wheels, accepted, python, dist, owner } = r.probe;
        let wheel: string | undefined;
        try {
          wheel = readdirSync(wheels).find((f) => f.startsWith(`${dist}-`) && f.endsWith(".whl"));
        } catch {
          // no wheels directory
        }
        if (wheel) return { ...base, ok: true, found: path.join(wheels, wheel) };
        const have = pythonFacts(python)?.dists[dist];
        if (have !== undefined && have !== null && versionAccepted(have, accepted)) return { ...base, ok: true, found: `${dist} ${have} in ${python}'s site-packages` };
        const where = path.relative(path.dirname(path.dirname(wheels)), wheels);
        const system = have ? `${python}'s site-packages has ${dist} ${have}, which ${owner} does not accept (${accepted})` : `${python} has no ${dist} package`;
        return {
          ...base,
          ok: false,
          detail: `${where} has no ${dist} wheel${r.probe.note ? ` (${r.probe.note})` : ""} and ${system}; ${owner} installs ${dist} offline, from one or the other. Install a ${dist} ${accepted} for ${python} (Debian: the ${dist} package, from backports or a newer release when the release's own is older), or put ${owner}'s ${dist} wheel in ${where}`,
        };
      }
      default: {
        const never: never = r.probe;
        return never;
      }
    }
  });
}

/** What a Python has of the modules and distributions the requirements ask about. */
interface PythonFacts {
  readonly version: string;
  readonly executable: string;
  readonly modules: Readonly<Record<string, boolean>>;
  /** The version of each distribution it can import, or null. */
  readonly dists: Readonly<Record<string, string | null>>;
}

/** Run as `python -c PYTHON_PROBE '{"modules": [...], "dists": [...]}'`: one JSON line back. */
const PYTHON_PROBE = [
  "import json, sys",
  "from importlib.util import find_spec",
  "ask = json.loads(sys.argv[1])",
  "def has(n):",
  "    try:",
  "        return find_spec(n) is not None",
  "    except Exception:",
  "        return False",
  "def dist(n):",
  "    try:",
  "        from importlib.metadata import version",
  "        return version(n)",
  "    except Exception:",
  "        return None",
  "print(json.dumps({'version': sys.version.split()[0], 'executable': sys.executable, 'dists': {n: dist(n) for n in ask['dists']}, 'modules': {n: has(n) for n in ask['modules']}}))",
].join("\n");

function probePython(python: string, ask: { modules: readonly string[]; dists: readonly string[] }, env: Readonly<Record<string, string>>): PythonFacts | undefined {
  const r = spawnSync(python, ["-c", PYTHON_PROBE, JSON.stringify(ask)], { env, encoding: "utf8", timeout: 60_000 });
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

/**
 * The answer to "what do I install": every missing thing on a line of its own (with what needs it and,
 * where "not found" does not say it, exactly what is missing), then the packages for each system.
 */
export function missingReport(checks: readonly Check[]): string | undefined {
  const missing = checks.filter((c) => !c.ok);
  if (missing.length === 0) return undefined;
  const uniq = (xs: readonly string[]): string[] => [...new Set(xs)].sort();
  return [
    `missing on this host (${missing.length}):`,
    ...missing.map((m) => `  ${m.what} (for ${m.why}${m.detail ? `: ${m.detail}` : ""})`),
    `Debian/Ubuntu: apt-get install ${uniq(missing.flatMap((m) => m.debian)).join(" ")}`,
    `Fedora: dnf install ${uniq(missing.flatMap((m) => m.fedora)).join(" ")}`,
  ].join("\n");
}

/** The host checks for a plan's enabled components. */
export function hostChecks(config: ResolvedConfig, plan: { readonly components: ReadonlyArray<DoctorComponent & { readonly enabled: boolean }> }): Check[] {
  return runChecks(config, requirements(config, plan.components.filter((c) => c.enabled)));
}
