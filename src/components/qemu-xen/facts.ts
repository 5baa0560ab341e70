import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { releaseTraceFlag } from "../../config/release.js";
import type { ResolvedConfig } from "../../config/types.js";
import type { FactsInput, PlanFacts } from "../recipe.js";
import { replaceFileSync } from "../../util/fs.js";

/** The trace backend QEMU's tracetool accepts. */
export type TraceBackend = "log" | "stderr" | "none";

/** What qemu-xen's plan depends on beyond the configuration (its record in PlanFacts.components). */
export interface QemuXenFacts {
  /** The trace backend QEMU's tracetool accepts, once the source is present; undefined before. */
  readonly traceBackend?: TraceBackend;
  /** How this tree's tools/Makefile spells the trace flag and whether it probes tracetool. */
  readonly traceFlag: string;
  readonly traceProbe: boolean;
  /**
   * The text tools/Makefile's recipe puts inside --extra-cflags="..." before $(EXTRA_CFLAGS_QEMU_XEN),
   * as make hands it to the shell (see qemuXenCflagsPrefixOf); undefined: the release profile's bytes.
   */
  readonly cflagsPrefix?: string;
}

/** What the glue does when nothing was read: the plural flag, probed (the releases' tools/Makefile). */
const DEFAULT_FACTS: QemuXenFacts = { traceFlag: "--enable-trace-backends", traceProbe: true };

/**
 * qemu-xen's own record of the plan's facts. PlanFacts keeps each component's record opaque to the
 * generic code (it only carries it from gatherFacts to the recipe), so this is the one place that
 * gives it its type; a plan made without facts for it plans as the glue's defaults.
 */
export function qemuXenFactsOf(facts: PlanFacts): QemuXenFacts {
  return (facts.components?.["qemu-xen"] as QemuXenFacts | undefined) ?? DEFAULT_FACTS;
}

/**
 * How the tree's tools/Makefile spells QEMU's trace flag, whether it probes tracetool first, and the
 * text its recipe puts before EXTRA_CFLAGS_QEMU_XEN in --extra-cflags.
 */
export function traceFlagOf(config: ResolvedConfig): QemuXenFacts {
  if (config.mode === "standalone") return { traceFlag: releaseTraceFlag(config.xenVersion), traceProbe: true };
  let text = "";
  try {
    text = readFileSync(path.join(config.xenRoot, "tools", "Makefile"), "utf8");
  } catch {
    return DEFAULT_FACTS;
  }
  const traceFlag = /--enable-trace-backends=/.test(text) ? "--enable-trace-backends" : /--enable-trace-backend=/.test(text) ? "--enable-trace-backend" : "--enable-trace-backends";
  const cflagsPrefix = qemuXenCflagsPrefixOf(text);
  return { traceFlag, traceProbe: /tracetool\.py --check-backend/.test(text), ...(cflagsPrefix === undefined ? {} : { cflagsPrefix }) };
}

/**
 * The recipe of `target` in a makefile's text as make hands it to the shell: each recipe line without
 * its leading TAB, and a backslash-newline kept with one recipe TAB removed from the start of the
 * continuation line (GNU make keeps backslash-newlines inside recipes; the shell sees them).
 */
export function recipeOf(text: string, target: string): string | undefined {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${target}:`));
  if (start < 0) return undefined;
  const out: string[] = [];
  let continued = false;
  for (const line of lines.slice(start + 1)) {
    if (!continued && !line.startsWith("\t")) break;
    out.push(line.startsWith("\t") ? line.slice(1) : line);
    continued = /(^|[^\\])(\\\\)*\\$/.test(line);
  }
  return out.join("\n");
}

/**
 * What tools/Makefile's subdir-all-qemu-xen-dir puts inside --extra-cflags="..." before
 * $(EXTRA_CFLAGS_QEMU_XEN), as make passes it to the shell (backslash-newlines and the whitespace of
 * the continuation lines included; the shell then removes the backslash-newlines inside the double
 * quotes). Undefined when the recipe is not of that shape or that text would need make to expand it.
 */
export function qemuXenCflagsPrefixOf(makefile: string): string | undefined {
  const recipe = recipeOf(makefile, "subdir-all-qemu-xen-dir");
  if (recipe === undefined) return undefined;
  const start = recipe.indexOf('--extra-cflags="');
  if (start < 0) return undefined;
  const rest = recipe.slice(start + '--extra-cflags="'.length);
  const end = rest.indexOf("$(EXTRA_CFLAGS_QEMU_XEN)");
  if (end < 0) return undefined;
  const prefix = rest.slice(0, end);
  // Nothing for make to expand, no quote ending the word before the variable, nothing the shell expands.
  if (/[$"`]/.test(prefix)) return undefined;
  return prefix;
}

function headOf(dir: string): string | undefined {
  try {
    let git = path.join(dir, ".git");
    if (statSync(git).isFile()) git = path.resolve(dir, readFileSync(git, "utf8").replace(/^gitdir:\s*/, "").trim());
    const head = readFileSync(path.join(git, "HEAD"), "utf8").trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = head.replace(/^ref:\s*/, "");
    const loose = path.join(git, ref);
    if (existsSync(loose)) return readFileSync(loose, "utf8").trim();
    const packed = readFileSync(path.join(git, "packed-refs"), "utf8");
    return new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m").exec(packed)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Asks the fetched QEMU's tracetool which backend it has, as the glue does before configure. The
 * answer is kept per commit of the tree (a rerun need not start Python twice to learn it again).
 */
export function probeTraceBackend(
  sourceDir: string,
  env: Readonly<Record<string, string>>,
  cacheFile?: string,
  /** What the kept answer may not leave (default: the tree holding cacheFile's .xqbuild/). */
  root: string = path.dirname(path.dirname(cacheFile ?? sourceDir)),
): TraceBackend | undefined {
  const tool = path.join(sourceDir, "scripts", "tracetool.py");
  if (!existsSync(tool)) return undefined;
  const head = headOf(sourceDir);
  if (cacheFile && head) {
    try {
      const c = JSON.parse(readFileSync(cacheFile, "utf8")) as { head?: string; dir?: string; backend?: TraceBackend };
      if (c.head === head && c.dir === sourceDir && c.backend) return c.backend;
    } catch {
      // no answer kept yet
    }
  }
  const backend = runTraceProbe(tool, sourceDir, env);
  if (cacheFile && head) {
    try {
      // Within the tree only, and beside a link at its name rather than through it.
      replaceFileSync(cacheFile, JSON.stringify({ head, dir: sourceDir, backend }), root);
    } catch {
      // a read-only tree (or a .xqbuild that leaves it): probe again next time
    }
  }
  return backend;
}

function runTraceProbe(tool: string, sourceDir: string, env: Readonly<Record<string, string>>): TraceBackend {
  for (const backend of ["log", "stderr"] as const) {
    const r = spawnSync(tool, ["--check-backend", "--backend", backend], { cwd: sourceDir, env, stdio: "ignore", timeout: 60_000 });
    if (r.status === 0) return backend;
  }
  return "none";
}

/** qemu-xen's facts: the glue's trace flag and probe (run once the source is there), the cflags prefix. */
export function gatherQemuXenFacts({ config, sourceDir, local, probe }: FactsInput): QemuXenFacts {
  const read = traceFlagOf(config);
  if (!probe) return read;
  // The probe's answer is kept only for trees xqbuild fetched; a local directory may change under it.
  const cache = local ? undefined : path.join(config.xenRoot, ".xqbuild", "trace-backend.json");
  const traceBackend = read.traceProbe ? probeTraceBackend(sourceDir, config.env, cache, config.xenRoot) : undefined;
  return { ...read, ...(traceBackend !== undefined ? { traceBackend } : {}) };
}
