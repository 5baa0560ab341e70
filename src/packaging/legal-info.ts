import { createHash } from "node:crypto";
import { gatherBill, renderSbom, SBOM_FILES, SBOM_FORMATS } from "./sbom.js";
import { existsSync, lstatSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { mkdir, readdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { RECIPES } from "../components/index.js";
import { readLicense, type ComponentLicense } from "../components/license.js";
import type { ResolvedConfig } from "../config/types.js";
import type { ComponentPlan, Plan } from "../plan/plan.js";
import type { XqEvent } from "../report/events.js";
import { patchState } from "../source/apply-patches.js";
import { writeDist, type DistResult } from "../source/dist.js";
import { lockWaitEvent } from "../source/events.js";
import { gitAt } from "../source/git.js";
import { readLockFile, pinnedUrlMatches } from "../source/lockfile.js";
import { loadPatchQueue, patchQueueHash, type Patch } from "../source/patches.js";
import { UserError } from "../util/errors.js";
import { fsUserError } from "../util/fs.js";
import { withoutCredentials } from "../util/redact.js";
import { onExit, throwIfInterrupted } from "../util/signals.js";
import { withTreeLock, type TreeLockOptions } from "../util/tree.js";
import { processAlive } from "../util/lock.js";

/*
 * `xqbuild legal-info DIR`, as Buildroot's `make legal-info`: everything a distributor of the built
 * binaries owes beside them, in one directory whose bytes depend only on the inputs (a second run on
 * the same trees gives the same files, byte for byte):
 *
 *   sources/<tarball>.tar.gz(.sha256)   dist's reproducible tarball of each enabled component
 *   patches/<component>/series, ...     the patch queue applied to it, as a quilt series
 *   licenses/<component>/<file>         its license texts, read from the tree (components/license.ts)
 *   manifest.csv, manifest.json         one row per component
 *   sbom.cdx.json, sbom.spdx.json       the SBOM (writeSboms below)
 *   .xqbuild-legal-info                 what marks the directory as this command's, and lists its files
 */

/** One row of the manifest: what a component is, under which license, and where its source is. */
export interface ManifestRow {
  readonly component: string;
  /** The tree's version (dist's: its committed VERSION file, else its nearest tag); "" when it has none. */
  readonly version: string;
  /** The SPDX identifier the recipe declares and the tree's license file confirms. */
  readonly license: string;
  /** The source tarball, relative to the legal-info directory. */
  readonly source: string;
  readonly sha256: string;
  /** Where it was fetched from, without credentials; "" for a local directory used in place. */
  readonly url: string;
  /** The upstream commit (before xqbuild's patch commits; the tarball's name has the patched one). */
  readonly commit: string;
  /** The patch queue, relative to the legal-info directory, with each patch's sha256. */
  readonly patches: readonly { readonly file: string; readonly sha256: string }[];
  /** The license texts, relative to the legal-info directory. */
  readonly licenseFiles: readonly { readonly file: string; readonly sha256: string }[];
}

export interface LegalInfoResult {
  readonly dir: string;
  readonly components: readonly ManifestRow[];
  /** Whether a previous legal-info output was there and was replaced. */
  readonly replaced: boolean;
}

export interface LegalInfoOptions extends TreeLockOptions {
  /** Where a lock wait goes (a reporter's emit). */
  readonly emit: (e: XqEvent) => void;
}

/** The file that marks a directory as legal-info's output, and lists every file it wrote there. */
export const LEGAL_INFO_MARKER = ".xqbuild-legal-info";

/** The CSV's columns, in order (manifest.json's rows have these and the file lists). */
const CSV_COLUMNS = ["component", "version", "license", "source", "sha256", "url", "commit"] as const;

/**
 * Writes the legal-info directory for the enabled components of the plan. Everything is made in a
 * temporary sibling of `target` and renamed into place at the end, so that a failure or an
 * interruption leaves no half directory (and a previous output, if any, as it was). `target` must be
 * absent, empty, or a previous output of this command holding only the files it wrote; anything else
 * is refused rather than deleted.
 */
export async function writeLegalInfo(config: ResolvedConfig, plan: Plan, target: string, opts: LegalInfoOptions): Promise<LegalInfoResult> {
  const dir = path.resolve(target);
  const signal = opts.signal;
  return withTreeLock(config, opts, lockWaitEvent(opts.emit), async () => {
    const previous = await onDisk(dir, () => checkTarget(dir));
    const enabled = plan.components.filter((c) => c.enabled);
    // The cheap refusals first, before any tarball is written: not fetched, no license file, a queue
    // that is not the one applied.
    const prepared = await Promise.all(enabled.map((c) => prepareComponent(config, c)));
    const tmp = `${dir}.xqbuild-tmp-${process.pid}`;
    const aside = `${dir}.xqbuild-old-${process.pid}`;
    // The parents a failed run made are removed with it (mkdir gives the first it made, if any).
    const madeParent = await onDisk(dir, () => mkdir(path.dirname(dir), { recursive: true }));
    await onDisk(dir, () => removeStaleTemporaries(dir));
    // A second signal exits at once, without the catch below: the exit hook still removes the
    // temporary directory, and the set-aside previous output once the new one is in its place.
    const dropHook = onExit(() => {
      rmSync(tmp, { recursive: true, force: true });
      if (existsSync(dir)) rmSync(aside, { recursive: true, force: true });
    });
    try {
      await mkdir(tmp);
      const rows: ManifestRow[] = [];
      for (const p of prepared) {
        throwIfInterrupted(signal);
        rows.push(await writeComponent(config, p, tmp, signal));
      }
      throwIfInterrupted(signal);
      await writeFile(path.join(tmp, "manifest.csv"), manifestCsv(rows));
      await writeFile(path.join(tmp, "manifest.json"), `${JSON.stringify(rows, null, 2)}\n`);
      await writeSboms(config, plan, tmp, opts.emit, signal);
      throwIfInterrupted(signal);
      const files = await listFiles(tmp);
      await writeFile(path.join(tmp, LEGAL_INFO_MARKER), `${JSON.stringify({ xqbuild: "legal-info", version: 1, files }, null, 2)}\n`);
      throwIfInterrupted(signal);
      // The swap: the previous output aside, the new one in its place, the old one removed. Not
      // interrupted half way (no check between the renames); a failed second rename puts it back.
      if (previous !== "absent") {
        await rename(dir, aside);
        try {
          await rename(tmp, dir);
        } catch (e) {
          await rename(aside, dir);
          throw e;
        }
        await rm(aside, { recursive: true, force: true });
      } else {
        await rename(tmp, dir);
      }
      return { dir, components: rows, replaced: previous === "legal-info" };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (madeParent !== undefined) await removeEmptyParents(path.dirname(dir), madeParent);
      throwIfInterrupted(signal);
      throw asUserError(e, dir);
    } finally {
      dropHook();
    }
  });
}

/**
 * The SBOM of the same components, in both formats, from one gathered bill (packaging/sbom.ts), so
 * the two documents and the manifest describe the same trees. A component fetched but not installed
 * with these inputs is described by its sources; the warning saying so goes to the reporter.
 */
async function writeSboms(config: ResolvedConfig, plan: Plan, dir: string, emit: (e: XqEvent) => void, signal?: AbortSignal): Promise<void> {
  const bill = await gatherBill(config, plan, signal ? { signal } : {});
  for (const w of bill.warnings) emit({ type: "message", level: "warn", text: w });
  for (const format of SBOM_FORMATS) await writeFile(path.join(dir, SBOM_FILES[format]), renderSbom(bill, format));
}

/**
 * An errno error met on the way to DIR or in it (a file where a directory must be, a directory
 * that may not be written, EPERM of an immutable one) as the UserError that names DIR (fsUserError),
 * instead of an internal error; anything else as it is.
 */
function asUserError(e: unknown, dir: string): unknown {
  if (e instanceof UserError || typeof (e as NodeJS.ErrnoException).code !== "string") return e;
  return fsUserError(e, dir, "the legal-info directory");
}

/** f's value, an errno error of its work on the way to DIR said as asUserError says it. */
async function onDisk<T>(dir: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asUserError(e, dir);
  }
}

/** Removes dir and its parents up to and including top, each only while it is empty. */
async function removeEmptyParents(dir: string, top: string): Promise<void> {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === top || path.dirname(d) === d) return;
  }
}

/**
 * The temporary siblings (DIR.xqbuild-tmp-<pid>) of legal-info runs on this directory that were
 * killed outright (SIGKILL, a power cut) and so could not remove theirs: named by this command, of
 * a process that no longer exists. A live run's is left alone.
 */
async function removeStaleTemporaries(dir: string): Promise<void> {
  const prefix = `${path.basename(dir)}.xqbuild-tmp-`;
  for (const name of readdirSync(path.dirname(dir))) {
    if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    const pid = Number(name.slice(prefix.length));
    if (pid !== process.pid && processAlive(pid)) continue;
    const p = path.join(path.dirname(dir), name);
    if (lstatSync(p).isDirectory()) await rm(p, { recursive: true, force: true });
  }
}

/**
 * What the target directory is: absent, empty, or a previous legal-info output (its marker lists
 * every file in it). Refuses anything else, naming what is in the way.
 */
function checkTarget(dir: string): "absent" | "empty" | "legal-info" {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return "absent";
  if (st.isSymbolicLink()) throw new UserError(`${dir} is a symbolic link; legal-info replaces its directory as a whole and does not write through a link.`, "Name the directory the link points to, or a new one.", "usage");
  if (!st.isDirectory()) throw new UserError(`${dir} exists and is not a directory.`, "Name a new or empty directory for legal-info.", "usage");
  const entries = walkSync(dir);
  if (entries.length === 0) return "empty";
  const marker = path.join(dir, LEGAL_INFO_MARKER);
  let listed: Set<string> | undefined;
  if (lstatSync(marker, { throwIfNoEntry: false })?.isFile()) {
    try {
      const m = JSON.parse(readFileSync(marker, "utf8")) as { xqbuild?: unknown; files?: unknown };
      if (m.xqbuild === "legal-info" && Array.isArray(m.files) && m.files.every((f) => typeof f === "string")) listed = new Set(m.files as string[]);
    } catch {
      listed = undefined;
    }
  }
  if (!listed) {
    throw new UserError(
      `${dir} exists, is not empty, and is not a previous output of xqbuild legal-info (it has no ${LEGAL_INFO_MARKER}); legal-info does not delete what it did not write.`,
      "Name a new or empty directory, or move that one out of the way yourself.",
      "usage",
    );
  }
  // Only what the previous run wrote may be replaced: a file added since (a packager's note, a
  // build log) would go with it.
  const foreign = entries.filter((e) => e.kind !== "dir" && e.rel !== LEGAL_INFO_MARKER && !(e.kind === "file" && listed.has(e.rel))).map((e) => e.rel);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(", ") + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : "");
    throw new UserError(
      `${dir} is a previous legal-info output, but holds what legal-info did not write there: ${shown}; replacing the directory would delete it.`,
      "Move those files out of the directory (or name another directory), then run legal-info again.",
      "usage",
    );
  }
  return "legal-info";
}

/** Every entry under dir, relative with "/", without following links. */
function walkSync(dir: string): Array<{ rel: string; kind: "file" | "dir" | "other" }> {
  const out: Array<{ rel: string; kind: "file" | "dir" | "other" }> = [];
  const walk = (rel: string): void => {
    const abs = rel === "" ? dir : path.join(dir, rel);
    for (const name of readdirSync(abs).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out.push({ rel: r, kind: "dir" });
        walk(r);
      } else out.push({ rel: r, kind: st.isFile() ? "file" : "other" });
    }
  };
  walk("");
  return out;
}

/** The files written under dir, relative, sorted bytewise (the marker's list). */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(rel === "" ? dir : path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk("");
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A component checked before anything is written: fetched, its license read, its patch queue the applied one. */
interface PreparedComponent {
  readonly plan: ComponentPlan;
  readonly license: ComponentLicense;
  readonly patches: readonly Patch[];
  readonly url: string;
  readonly commit: string;
}

async function prepareComponent(config: ResolvedConfig, c: ComponentPlan): Promise<PreparedComponent> {
  if (!existsSync(path.join(c.sourceDir, ".git"))) {
    throw new UserError(`${c.name} has not been fetched (or is a local directory that is not a git tree): ${c.sourceDir}; legal-info packs the fetched tree.`, `Run xqbuild fetch ${c.name} first.`, "failure");
  }
  const license = readLicense(RECIPES[c.name], c.sourceDir);
  const own = config.settings.components?.[c.name];
  // A directory used in place gets no queue (fetch says so), so legal-info lists none for it.
  const patches = c.source.kind === "local-source" ? [] : loadPatchQueue(own?.patches, `the patch queue of ${c.name}`, own?.patchTool);
  const git = gitAt(c.sourceDir, { env: config.env });
  const head = (await git.raw(["rev-parse", "HEAD"])).trim();
  const state = await patchState(c.sourceDir, { env: config.env, cacheDir: config.cacheDir, offline: true });
  const applied = state !== undefined && state.head === head ? state : undefined;
  // The tarball has the tree as it is; the patches/ directory must be the queue that made it.
  const wanted = patches.length > 0 ? patchQueueHash(patches) : undefined;
  const has = applied?.key.split(":")[1];
  if (wanted !== has) {
    throw new UserError(
      wanted === undefined
        ? `${c.sourceDir} has a patch queue applied, but the configuration of ${c.name} has none now; the tarball would carry patches legal-info cannot list.`
        : `${c.sourceDir} does not have the configured patch queue of ${c.name} applied (${applied ? "another queue is" : "no queue is"}); the tarball would not be that queue's.`,
      `Run xqbuild fetch ${c.name} to apply the configured queue, then legal-info again.`,
      "failure",
    );
  }
  const commit = applied?.key.split(":")[0] ?? head;
  return { plan: c, license, patches, url: upstreamUrl(config, c), commit };
}

/** Where the component came from, as recorded (the lock file's pin, else the configuration), without credentials. */
function upstreamUrl(config: ResolvedConfig, c: ComponentPlan): string {
  const src = c.source;
  if (src.kind !== "git-checkout" && src.kind !== "tarball") return "";
  const pinned = readLockFile(config.xenRoot).components[c.name];
  return withoutCredentials(pinned && pinnedUrlMatches(pinned, src.url) ? pinned.url : src.url);
}

/** A patch name as a path under patches/<component>/: relative, no "..", no .git. */
function patchPath(name: string, component: string): string {
  const parts = name.split("/");
  if (name === "" || path.isAbsolute(name) || parts.some((p) => p === "" || p === "." || p === ".." || /^\.git$/i.test(p)) || name.includes("\\")) {
    throw new UserError(`the patch queue of ${component} has a patch named ${JSON.stringify(name)}, which legal-info cannot write as a file under patches/${component}/.`, "Name the patch with a plain relative path in the series file.", "config");
  }
  return name;
}

async function writeComponent(config: ResolvedConfig, p: PreparedComponent, tmp: string, signal: AbortSignal | undefined): Promise<ManifestRow> {
  const c = p.plan;
  const dist: DistResult = await writeDist(c.sourceDir, c.name, path.join(tmp, "sources"), config.env, c.buildWrites, signal);
  const rel = (f: string): string => path.relative(tmp, f).split(path.sep).join("/");
  const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");
  const patches: { file: string; sha256: string }[] = [];
  if (p.patches.length > 0) {
    const pdir = path.join(tmp, "patches", c.name);
    const seen = new Set<string>();
    const tool = p.patches[0]?.tool === "patch" ? "GNU patch (as quilt applies a series)" : "git apply";
    const series = [`# The patch queue xqbuild applied to ${c.name}, in order, with ${tool}.`];
    for (const patch of p.patches) {
      const name = patchPath(patch.name, c.name);
      if (seen.has(name)) throw new UserError(`the patch queue of ${c.name} has two patches named ${name}; legal-info writes each under its name.`, "Rename one of them (the names of a list of patch files are their base names).", "config");
      seen.add(name);
      const file = path.join(pdir, name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, patch.content);
      series.push(patch.strip === 1 ? name : `${name} -p${patch.strip}`);
      patches.push({ file: rel(file), sha256: sha(patch.content) });
    }
    await writeFile(path.join(pdir, "series"), `${series.join("\n")}\n`);
  }
  const licenseFiles: { file: string; sha256: string }[] = [];
  for (const f of p.license.files) {
    const file = path.join(tmp, "licenses", c.name, f.path);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, f.text);
    licenseFiles.push({ file: rel(file), sha256: f.sha256 });
  }
  return {
    component: c.name,
    version: dist.version ?? "",
    license: p.license.spdx,
    source: rel(dist.file),
    sha256: dist.sha256,
    url: p.url,
    commit: p.commit,
    patches,
    licenseFiles,
  };
}

/** A CSV field as RFC 4180 quotes one: in double quotes when it holds a comma, quote or line break, quotes doubled. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** manifest.csv: a header and one row per component, CRLF line ends as RFC 4180 has them. */
export function manifestCsv(rows: readonly ManifestRow[]): string {
  const lines = [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((k) => csvField(r[k])).join(","))];
  return `${lines.join("\r\n")}\r\n`;
}
