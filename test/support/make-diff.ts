// Helpers for differential tests of xqbuild's configuration against GNU make: private hard-linked
// copies of a real Xen 4.17 tree, and a reference evaluation that asks make directly (with a printer
// makefile written here, independent of xqbuild's own make-eval.ts) for each variable's value,
// origin and the file and line of its last assignment.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { realSourcesFor, type RealSources } from "./xen-tree.js";

/** The real Xen trees the differential tests compare on. Never modified: copyTree() them. */
export interface XenTrees {
  /** A Xen 4.17 tree on which ./configure has been run (has config/Tools.mk). */
  readonly configured: string;
  /** The same release unconfigured (no config/Tools.mk, no config/Paths.mk). */
  readonly unconfigured: string;
  /** Debian's upstream version of it, as scripts/real-sources.mjs obtained it. */
  readonly version: string;
}

/**
 * The real trees, from the one module that obtains them (scripts/real-sources.mjs --print: its
 * cache, $XQBUILD_E2E_CACHE or ~/.cache/xqbuild-e2e, and the Xen version it pins), never from a path
 * written here. When they cannot be had: outside CI, undefined (the differential tests are skipped,
 * and a line says why); in CI (CI=true) that is a failure: it throws, and the file fails instead of
 * testing nothing.
 */
export function xenTrees(opts: { env?: NodeJS.ProcessEnv; sources?: (env: NodeJS.ProcessEnv) => RealSources } = {}): XenTrees | undefined {
  const env = opts.env ?? process.env;
  let why: string;
  try {
    const s = (opts.sources ?? realSourcesFor)(env);
    const trees = { configured: s.xenTree, unconfigured: s.xenSource, version: s.xenVersion };
    const missing = [path.join(trees.configured, "config", "Tools.mk"), path.join(trees.unconfigured, "Config.mk")].filter((f) => !existsSync(f));
    if (missing.length === 0) return trees;
    why = `scripts/real-sources.mjs named Xen ${trees.version} trees without ${missing.join(" and ")}`;
  } catch (e) {
    why = (e as Error).message;
  }
  const text = `the real Xen trees for the GNU make differential tests are not available: ${why}`;
  if (env.CI === "true" || env.CI === "1") throw new Error(`${text}\n(CI is set: a missing tree is a failure, not a skip; run node scripts/real-sources.mjs)`);
  console.warn(`${text}; skipping the differential tests (in CI this fails)`);
  return undefined;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === "string") {
        reject(err);
        return;
      }
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A private copy of `src` at `dest` made of hard links (`cp -al`): cheap, and safe as long as files in
 * it are only ever replaced (see writeFresh), never written in place.
 */
export async function copyTree(src: string, dest: string): Promise<string> {
  const r = await run("cp", ["-al", src, dest]);
  if (r.code !== 0) throw new Error(`cp -al ${src} ${dest} failed: ${r.stderr}`);
  return dest;
}

/** Writes `file` as a new inode (unlinking it first), so a hard-linked original is never changed. */
export async function writeFresh(file: string, content: string | Buffer): Promise<void> {
  await unlink(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
  });
  await writeFile(file, content);
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** A minimal environment: nothing of the machine's own environment but PATH, plus the given HOME. */
export function baseEnv(home: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...extra };
}

/** make's answer for one variable. */
export interface RefVar {
  readonly value: string;
  /** `$(origin VAR)` */
  readonly origin: string;
  /** For origin file/override: the absolute, normalised file and line of the last assignment, from `make -p`. */
  readonly file?: string;
  readonly line?: number;
}

export type MakeContext = "tools" | "firmware";

const SENTINEL = "|<end-of-value>";

/**
 * Runs GNU make as the glue does (`make -C <tree>/tools -f Makefile ...` or under tools/firmware),
 * with a printer makefile read last, and the goal `ref-print-dir-force-update` (tools/Rules.mk stops
 * an unconfigured tree with "run ./configure" unless every goal matches `%-dir-force-update`).
 * Values are written with `$(file ...)` so that every byte (newlines, tabs, trailing blanks) survives.
 */
export async function makeReference(opts: {
  tree: string;
  context: MakeContext;
  variables: readonly string[];
  env: Readonly<Record<string, string>>;
  commandLine?: Readonly<Record<string, string>>;
  /** Makefiles read after the tree's Makefile, as a fragment included at its end is (make/xqbuild.mk). */
  extraMakefiles?: readonly string[];
}): Promise<Map<string, RefVar>> {
  const dir = await mkdtemp(path.join(tmpdir(), "xqbuild-ref-"));
  try {
    const refMk = path.join(dir, "ref.mk");
    const outDir = path.join(dir, "out");
    await run("mkdir", [outDir]);
    const names = opts.variables.join(" ");
    await writeFile(
      refMk,
      [
        `$(foreach v,${names},$(file >${outDir}/$(v).value,$($(v))${SENTINEL})$(file >${outDir}/$(v).origin,$(origin $(v))))`,
        ".PHONY: ref-print-dir-force-update",
        "ref-print-dir-force-update: ; @:",
        "",
      ].join("\n"),
    );
    const cwd = path.join(opts.tree, opts.context === "tools" ? "tools" : "tools/firmware");
    const args = ["-p", "-s", "--no-print-directory", "-C", cwd, "-f", "Makefile", ...(opts.extraMakefiles ?? []).flatMap((f) => ["-f", f]), "-f", refMk];
    for (const [k, v] of Object.entries(opts.commandLine ?? {})) args.push(`${k}=${v}`);
    args.push("ref-print-dir-force-update");
    const r = await run("make", args, { env: { ...opts.env } });
    if (r.code !== 0) throw new Error(`reference make failed (${r.code}):\n${r.stderr}`);
    const where = lastAssignments(r.stdout, cwd);
    const out = new Map<string, RefVar>();
    for (const v of opts.variables) {
      const rawValue = await readFile(path.join(outDir, `${v}.value`), "utf8");
      const origin = (await readFile(path.join(outDir, `${v}.origin`), "utf8")).replace(/\n$/, "");
      if (!rawValue.endsWith(SENTINEL + "\n")) throw new Error(`reference: value of ${v} lacks the end marker: ${JSON.stringify(rawValue)}`);
      const value = rawValue.slice(0, -(SENTINEL.length + 1));
      const w = origin === "file" || origin === "override" ? where.get(v) : undefined;
      out.set(v, w ? { value, origin, file: w.file, line: w.line } : { value, origin });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * From `make -p`'s variable database: the file and line each makefile variable was last assigned at.
 * Entries look like `# makefile (from 'FILE', line N)` or `# 'override' directive (from 'FILE', line N)`
 * followed by `NAME = value`, `NAME := value` or `define NAME`.
 */
export function lastAssignments(db: string, cwd: string): Map<string, { file: string; line: number }> {
  const out = new Map<string, { file: string; line: number }>();
  const lines = db.split("\n");
  const start = lines.indexOf("# Variables");
  if (start < 0) throw new Error("make -p printed no variable database");
  for (let i = start; i + 1 < lines.length; i++) {
    // Only the global variables: target- and pattern-specific ones are listed after this header.
    if (lines[i] === "# Pattern-specific Variable Values") break;
    const m = /^# (?:makefile|'override' directive) \(from '(.+)', line (\d+)\)$/.exec(lines[i] ?? "");
    if (!m) continue;
    const next = lines[i + 1] ?? "";
    const d = /^(?:override )?define (\S+)$/.exec(next);
    const a = /^(?:override )?(\S+?) (?::{1,3}|\?|\+|!)?= ?/.exec(next);
    const name = d?.[1] ?? a?.[1];
    if (name) out.set(name, { file: path.resolve(cwd, m[1] ?? ""), line: Number(m[2]) });
  }
  return out;
}
