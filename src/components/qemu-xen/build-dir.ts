// What QEMU's configured build directory tells: the files meson installs, the ninja its Makefile
// would hand the goals to, and the command `make install` ends in. The qemu-xen recipe answers the
// engine's questions (resolveRun, builtOutputs) with these, so the engine never reads QEMU's files.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { EnvChanges, ResolvedRun, RunStep } from "../recipe.js";

function withChanges(base: Readonly<Record<string, string>>, changes: EnvChanges): Record<string, string> {
  const env = { ...base };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * The build outputs a meson build directory installs, relative to it (meson-info/intro-installed.json:
 * installed path by built or source path); undefined when that is not known.
 */
export function installedTargets(buildDir: string): string[] | undefined {
  const file = path.join(buildDir, "meson-info", "intro-installed.json");
  if (!existsSync(file)) return undefined;
  let map: unknown;
  try {
    map = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof map !== "object" || map === null) return undefined;
  const roots = new Set([path.resolve(buildDir), realpathSync(buildDir)]);
  const out: string[] = [];
  for (const from of Object.keys(map)) {
    for (const root of roots) {
      if (from.startsWith(`${root}/`)) {
        out.push(from.slice(root.length + 1));
        break;
      }
    }
  }
  return out.length > 0 ? [...new Set(out)].sort() : undefined;
}

/** The command of build.ninja's meson-internal__install (what `make install` runs after `all`), split into words. */
export function mesonInstallCommand(buildDir: string): string[] | undefined {
  const file = path.join(buildDir, "build.ninja");
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, "utf8").split("\n");
  const at = lines.findIndex((l) => l.startsWith("build meson-internal__install:"));
  if (at < 0) return undefined;
  for (let i = at + 1; i < lines.length && /^\s/.test(lines[i] ?? ""); i++) {
    const m = /^\s+COMMAND = (.*)$/.exec(lines[i] ?? "");
    if (!m) continue;
    const cmd = (m[1] ?? "").trim();
    // Only a plain command: anything ninja or a shell would interpret is left to make install.
    if (/[$'"\\;&|<>`]/.test(cmd)) return undefined;
    const words = cmd.split(/\s+/);
    return words.includes("install") && words.includes("--no-rebuild") ? words : undefined;
  }
  return undefined;
}

/** Variables of a configure-written config-host.mak (NAME=value lines). */
function configHostMak(buildDir: string): Map<string, string> | undefined {
  try {
    const vars = new Map<string, string>();
    for (const line of readFileSync(path.join(buildDir, "config-host.mak"), "utf8").split("\n")) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m) vars.set(m[1] as string, m[2] as string);
    }
    return vars;
  } catch {
    return undefined;
  }
}

function mtimeMs(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * What the build directory's Makefile remakes config-host.mak from, as absolute paths: the
 * prerequisites of its `config-host.mak:` rules (QEMU 7.2: configure, scripts/meson-buildoptions.sh,
 * VERSION; QEMU 10 adds pythondeps.toml), backslash continuations joined and $(SRC_PATH) replaced by
 * config-host.mak's. Each release's own list, instead of one release's copied here. Undefined when the
 * rule cannot be read plainly (no such rule, another variable, a pattern, an order-only or inline
 * recipe part): then make decides.
 */
export function configHostPrerequisites(buildDir: string, srcPath: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(buildDir, "Makefile"), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.replace(/\\\n/g, " ").split("\n");
  const out: string[] = [];
  for (const line of lines) {
    const m = /^config-host\.mak\s*:(?!:)(.*)$/.exec(line);
    if (!m) continue;
    const prereqs = (m[1] ?? "").replace(/\$\(SRC_PATH\)|\$\{SRC_PATH\}/g, srcPath).trim();
    if (/[$;|%*?[#=]/.test(prereqs)) return undefined;
    for (const w of prereqs.split(/\s+/)) if (w !== "") out.push(path.resolve(buildDir, w));
  }
  return out.length > 0 ? out : undefined;
}

/**
 * The ninja that QEMU's Makefile would hand `make TARGETS` to, when that is all the Makefile would
 * do: a meson build (config-host.mak names NINJA and MESON, build.ninja exists) whose
 * config-host.mak is newer than what the Makefile remakes it from (its `config-host.mak:` rule, see
 * configHostPrerequisites). The Makefile would otherwise also check the submodules
 * (xqbuild's fetch checked them out), regenerate the tracked scripts/meson-buildoptions.sh when
 * meson_options.txt is newer, and write Makefile.ninja and Makefile.mtest with `ninja -t` and
 * `meson introspect` (several seconds of Python before the first compile).
 */
export function directNinja(buildDir: string): string | undefined {
  const vars = configHostMak(buildDir);
  const ninja = vars?.get("NINJA")?.trim();
  const src = vars?.get("SRC_PATH")?.trim();
  if (!vars || !ninja || !src || !vars.get("MESON")?.trim() || !existsSync(path.join(buildDir, "build.ninja"))) return undefined;
  if (/[\s$'"\\]/.test(ninja)) return undefined;
  const made = mtimeMs(path.join(buildDir, "config-host.mak")) ?? 0;
  const prereqs = configHostPrerequisites(buildDir, src);
  if (!prereqs) return undefined;
  for (const f of prereqs) {
    const t = mtimeMs(f);
    if (t === undefined || t > made) return undefined;
  }
  return ninja;
}

/** config-host.mak's NINJA, when it is one word that needs no shell. */
function configuredNinja(buildDir: string): string | undefined {
  const ninja = configHostMak(buildDir)?.get("NINJA")?.trim();
  return ninja && !/[\s$'"\\]/.test(ninja) ? ninja : undefined;
}

/**
 * What ninja can build in a build directory: the outputs `ninja -t targets all` lists (each line
 * "path: rule", ninja 1.11's form). Undefined when ninja cannot say. One process, run when the build
 * runs (never on the rerun that finds its stamp up to date).
 */
export function ninjaTargets(ninja: string, buildDir: string, env: Readonly<Record<string, string>>): Promise<Set<string> | undefined> {
  return new Promise((resolve) => {
    execFile(ninja, ["-C", buildDir, "-t", "targets", "all"], { env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout) => {
      if (err) return resolve(undefined);
      const out = new Set<string>();
      for (const line of stdout.split("\n")) {
        const at = line.lastIndexOf(": ");
        if (at > 0) out.add(line.slice(0, at));
      }
      resolve(out.size > 0 ? out : undefined);
    });
  });
}

/**
 * A run step's command line as it runs: goals and install resolved against the configured build
 * directory. The goals are the installed files that are ninja targets: meson also installs files
 * configure wrote (configure_file() outputs such as pc-bios/descriptors/*.json), which ninja has no
 * rule for and refuses as unknown targets; meson install copies those as they are. Without a ninja
 * to ask, the planned goals.
 */
export async function resolveQemuRun(step: RunStep, env: Readonly<Record<string, string>> = {}): Promise<ResolvedRun> {
  let argv: readonly string[] = step.argv;
  let changes: EnvChanges = step.env;
  if (step.goals === "installed") {
    const installed = installedTargets(step.cwd);
    const asked = installed ? configuredNinja(step.cwd) : undefined;
    const known = installed && asked ? await ninjaTargets(asked, step.cwd, withChanges(env, changes)) : undefined;
    const targets = known ? installed?.filter((t) => known.has(t)) : undefined;
    if (targets && targets.length > 0) {
      const ninja = argv[0] === "make" && argv.length === 2 && argv[1] === "all" ? directNinja(step.cwd) : undefined;
      // As the Makefile's run-ninja does: $(NINJA) $(NINJAFLAGS) TARGETS, NINJA exported; the -jN
      // it takes from MAKEFLAGS is added when the job slots are known.
      if (ninja) return { argv: [ninja, "-d", "keepdepfile", ...targets], env: { ...changes, NINJA: ninja }, jobsFlag: true, name: "ninja" };
      argv = argv.flatMap((a) => (a === "all" ? targets : [a]));
    }
  }
  if (step.install === "meson") {
    const cmd = mesonInstallCommand(step.cwd);
    if (cmd) {
      const destdir = argv.find((a) => a.startsWith("DESTDIR="));
      if (destdir !== undefined) changes = { ...changes, DESTDIR: destdir.slice("DESTDIR=".length) };
      return { argv: cmd, env: changes, name: "meson install" };
    }
  }
  return { argv, env: changes };
}
