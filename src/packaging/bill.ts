import { createHash } from "node:crypto";
import { createReadStream, existsSync, lstatSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { pipeline } from "node:stream/promises";
import { envSourceDateEpoch } from "../config/env.js";
import type { ResolvedConfig } from "../config/types.js";
import { RECIPES } from "../components/index.js";
import { readLicense } from "../components/license.js";
import type { ComponentPlan, Plan } from "../plan/plan.js";
import type { PlannedStep } from "../components/recipe.js";
import { makePlan, refinePlan } from "../plan/plan.js";
import { stagingRootOf } from "../engine/build.js";
import { sourceFacts } from "../plan/facts.js";
import { artifactCacheFor } from "../cache/from-config.js";
import { artifactKey, cacheable, toolVersions } from "../engine/pipeline.js";
import { explainPlan } from "../engine/explain.js";
import { treeVersion } from "../source/dist.js";
import { gitAt } from "../source/git.js";
import { readLockFile, pinnedUrlMatches } from "../source/lockfile.js";
import { PATCH_SUBJECT } from "../source/apply-patches.js";
import { readWraps } from "../source/wraps.js";
import { resolveSubmoduleUrl } from "../source/submodules.js";
import { UserError } from "../util/errors.js";
import { loadTar } from "../util/fs.js";
import { redactText, withoutCredentials } from "../util/redact.js";
import { throwIfInterrupted } from "../util/signals.js";
import { xqbuildVersion } from "../util/version.js";
import { createRequire } from "node:module";
import { SPDX } from "@cyclonedx/cyclonedx-library";

/*
 * The bill of what was built: one model gathered from the plan, the fetched trees, xqbuild.lock,
 * the patch queues and the artifact cache, from which both SBOM documents (cyclonedx.ts, spdx.ts) are
 * written, so that the two always say the same. Every list is sorted and nothing in it depends on
 * the time of the run, so the same inputs give the same bill (and the same bytes of each document).
 */

/** A file with the hashes the documents need (SPDX 2.3 wants a SHA-1 beside the SHA-256). */
export interface BillFile {
  /** Relative to the install root (or the source tree, for a license file); '/'-separated. */
  readonly path: string;
  readonly sha256: string;
  readonly sha1: string;
}

export interface BillSubmodule {
  readonly path: string;
  /** Resolved against the superproject's URL, without credentials; absent when .gitmodules names none. */
  readonly url?: string;
  readonly commit: string;
}

/** A meson subproject (subprojects/*.wrap): what meson would get, and whether it is in the tree. */
export interface BillSubproject {
  readonly name: string;
  readonly type: string;
  readonly url?: string;
  /** wrap-git: the revision the wrap names, and the commit checked out (when prepared and a git tree). */
  readonly revision?: string;
  readonly commit?: string;
  /** wrap-file: the archive's source_hash. */
  readonly sha256?: string;
  /** sha256 of the .wrap file as meson reads it. */
  readonly wrapHash: string;
  /** Prepared in subprojects/ (by xqbuild's fetch or meson). */
  readonly present: boolean;
}

export interface BillPatch {
  readonly name: string;
  readonly sha256: string;
  readonly sha1: string;
  readonly strip: number;
  readonly tool: string;
}

export interface BillSource {
  readonly kind: "git" | "tarball";
  /** Without credentials. */
  readonly url: string;
  /** What the configuration asked for (a tag, branch or commit); for a tarball its sha256 pin. */
  readonly revision?: string;
  /** The upstream commit the revision resolved to (before xqbuild's patch commits). */
  readonly commit: string;
  /** HEAD of the fetched tree: the commit with the patch queue applied (== commit without patches). */
  readonly treeCommit: string;
  /** Tags that point at the upstream commit, and under verify the signed tag's object and signer. */
  readonly tags: readonly string[];
  readonly tagObject?: string;
  readonly signer?: string;
  /** A tarball's sha256. */
  readonly sha256?: string;
  /** The upstream commit's committer date (ISO 8601, UTC). */
  readonly date: string;
}

export interface BillComponent {
  readonly name: string;
  /** What the recipe says it is (Recipe.kind): CycloneDX's component type, SPDX's primary purpose. */
  readonly kind: "application" | "firmware";
  readonly version?: string;
  readonly source: BillSource;
  readonly submodules: readonly BillSubmodule[];
  readonly subprojects: readonly BillSubproject[];
  readonly patches: readonly BillPatch[];
  /** Each configure command's argv as it runs (the plan's, resolved as the executor does). */
  readonly configure: readonly (readonly string[])[];
  readonly license: { readonly spdx: string; readonly files: readonly BillFile[] };
  /**
   * The files copied into the tree or build directory before the build (SeaBIOS's .config), by their
   * place there (relative to the source tree when inside it), with the sha256 of what was copied (the
   * input: a later step such as olddefconfig may rewrite the copy).
   */
  readonly configFiles: ReadonlyArray<{ readonly path: string; readonly sha256: string }>;
  /** Tools the configured build directory records (QEMU's meson), by name; {} when none. */
  readonly buildTools: Readonly<Record<string, string>>;
  /**
   * The installed files, or undefined with the reason in installedWhy. Where they were hashed (the
   * install root, or the artifact) is left out of the documents: the same install gives the same
   * hashes either way, and a path of the build machine would make two equal builds differ.
   */
  readonly installed?: readonly BillFile[];
  readonly installedFrom?: string;
  readonly installedWhy?: string;
}

export interface Bill {
  readonly tool: { readonly name: "xqbuild"; readonly version: string };
  readonly xenVersion: string;
  readonly release: string;
  /** ISO 8601 UTC, whole seconds: SOURCE_DATE_EPOCH, else the newest upstream commit's date. */
  readonly created: string;
  /** The toolchain every stage's fingerprint records: cc, make, python, and each recipe's (ninja). */
  readonly toolchain: Readonly<Record<string, string>>;
  readonly components: readonly BillComponent[];
  /** What the documents leave out and why (a component not built), for the command to show. */
  readonly warnings: readonly string[];
}

export interface BillOptions {
  /** Where the install put the files (DESTDIR): the installed files are hashed there. */
  readonly installRoot?: string;
  readonly signal?: AbortSignal;
}

/** spdx-expression-parse (CommonJS, no types of its own): parses an SPDX license expression against SPDX's lists. */
const parseSpdxExpression = createRequire(import.meta.url)("spdx-expression-parse") as (expression: string) => unknown;

/**
 * Refuses a license identifier SPDX does not list: it must parse as an SPDX license expression
 * (spdx-expression-parse, against spdx-license-ids) and be a single license id the CycloneDX
 * schema's own list knows, so that neither document can carry a made-up license.
 */
export function checkSpdxId(id: string, what: string): void {
  let ok = false;
  try {
    const parsed = parseSpdxExpression(id) as { license?: unknown };
    ok = parsed.license === id && SPDX.isSupportedSpdxId(id);
  } catch {
    ok = false;
  }
  if (!ok) {
    const near = SPDX.fixupSpdxId(id);
    throw new UserError(
      `${what} is ${JSON.stringify(id)}, which is not an SPDX license identifier${near !== undefined && near !== id ? ` (SPDX spells it ${near})` : ""}.`,
      "Use an identifier from https://spdx.org/licenses/ (GPL-2.0-only, LGPL-3.0-only, ...); an SBOM cannot declare a license SPDX does not know.",
      "failure",
    );
  }
}

/** A location as a URL: a local path (a *_URL or *_LOC naming a directory or file here) as file://. */
function asUrl(location: string): string {
  return path.isAbsolute(location) ? pathToFileURL(location).href : location;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function hashes(content: Buffer): { sha256: string; sha1: string } {
  return { sha256: createHash("sha256").update(content).digest("hex"), sha1: createHash("sha1").update(content).digest("hex") };
}

async function hashFile(file: string, signal?: AbortSignal): Promise<{ sha256: string; sha1: string }> {
  const a = createHash("sha256");
  const b = createHash("sha1");
  await pipeline(
    createReadStream(file),
    async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        a.update(chunk);
        b.update(chunk);
      }
      yield* [];
    },
    ...(signal ? [{ signal }] : []),
  );
  return { sha256: a.digest("hex"), sha1: b.digest("hex") };
}

/** SOURCE_DATE_EPOCH as a date (config/env.ts reads it, for the builds too), a UserError naming it when it is not a whole number of seconds. */
function sourceDateEpoch(env: Readonly<Record<string, string>>): Date | undefined {
  const v = envSourceDateEpoch(env, "the SBOM is dated by it (unset, by the newest upstream commit)");
  return v === undefined ? undefined : new Date(Number(v) * 1000);
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The upstream commit under xqbuild's patch commits: the first in HEAD's first-parent history that is not one. */
async function upstreamCommit(git: ReturnType<typeof gitAt>): Promise<string> {
  const log = await git.raw(["log", "--first-parent", "--format=%H%x00%s", "-n", "1000", "HEAD"]);
  for (const line of log.split("\n")) {
    const [sha, subject = ""] = line.split("\0");
    if (sha && !subject.startsWith(PATCH_SUBJECT)) return sha;
  }
  return (await git.raw(["rev-parse", "HEAD"])).trim();
}

/** Every checked-out submodule of the tree, recursively, with the URL .gitmodules gives it and the commit the tree records. */
async function submodulesOf(dir: string, superUrl: string, env: Readonly<Record<string, string>>, prefix = ""): Promise<BillSubmodule[]> {
  const git = gitAt(dir, { env });
  const tree = await git.raw(["ls-tree", "-r", "-z", "HEAD"]);
  const links = tree
    .split("\0")
    .map((l) => /^160000 commit ([0-9a-f]{40,64})\t(.*)$/s.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ commit: m[1] as string, path: m[2] as string }));
  if (links.length === 0) return [];
  const urls = new Map<string, string>();
  const listing = await git.raw(["config", "--blob", "HEAD:.gitmodules", "--get-regexp", "^submodule\\..*\\.(path|url)$"]).catch(() => "");
  const named = new Map<string, { path?: string; url?: string }>();
  for (const line of listing.split("\n")) {
    const m = /^submodule\.(.+)\.(path|url) (.*)$/.exec(line);
    if (!m) continue;
    const e = named.get(m[1] as string) ?? {};
    if (m[2] === "path") e.path = m[3] as string;
    else e.url = m[3] as string;
    named.set(m[1] as string, e);
  }
  for (const e of named.values()) if (e.path !== undefined && e.url !== undefined) urls.set(e.path, e.url);
  const out: BillSubmodule[] = [];
  for (const l of links) {
    // Only what is checked out was built from (QEMU's roms/* are recorded but never fetched).
    const sub = path.join(dir, l.path);
    if (!existsSync(path.join(sub, ".git"))) continue;
    const rel = urls.get(l.path);
    const url = rel !== undefined ? withoutCredentials(/^\.\.?\//.test(rel) ? resolveSubmoduleUrl(superUrl, rel) : rel) : undefined;
    out.push({ path: `${prefix}${l.path}`, ...(url !== undefined ? { url: asUrl(url) } : {}), commit: l.commit });
    // A submodule's own submodules: named by their full path.
    if (url !== undefined) out.push(...(await submodulesOf(sub, url, env, `${prefix}${l.path}/`)));
  }
  return out.sort((a, b) => byName(a.path, b.path));
}

async function subprojectsOf(sourceDir: string, env: Readonly<Record<string, string>>): Promise<BillSubproject[]> {
  const out: BillSubproject[] = [];
  for (const w of readWraps(sourceDir)) {
    const dir = path.join(sourceDir, "subprojects", w.directory);
    const present = lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() === true;
    const url = w.type === "wrap-git" ? w.keys.url : w.keys.source_url;
    let commit: string | undefined;
    if (w.type === "wrap-git" && present && existsSync(path.join(dir, ".git"))) {
      commit = (await gitAt(dir, { env }).raw(["rev-parse", "HEAD"]).catch(() => "")).trim() || undefined;
    }
    const sha256 = w.type === "wrap-file" ? w.keys.source_hash : undefined;
    out.push({
      name: w.name,
      type: w.type,
      ...(url !== undefined ? { url: withoutCredentials(url) } : {}),
      ...(w.keys.revision !== undefined ? { revision: w.keys.revision } : {}),
      ...(commit !== undefined ? { commit } : {}),
      ...(sha256 !== undefined ? { sha256: sha256.toLowerCase() } : {}),
      wrapHash: w.hash,
      present,
    });
  }
  return out.sort((a, b) => byName(a.name, b.name));
}

/**
 * The regular files of an artifact and their hashes, hashed as the archive streams by (an artifact of
 * QEMU is hundreds of megabytes: nothing is held in memory). Links and directories are not files a
 * packager ships a hash of.
 */
async function artifactFiles(tarFile: string): Promise<Map<string, { sha256: string; sha1: string }>> {
  const tar = await loadTar();
  const files = new Map<string, { sha256: string; sha1: string }>();
  await tar.t({
    file: tarFile,
    onReadEntry: (e) => {
      const name = e.path.replace(/^(\.\/)+/, "");
      if (e.type !== "File" && e.type !== "OldFile" && e.type !== "ContiguousFile") {
        e.resume();
        return;
      }
      const a = createHash("sha256");
      const b = createHash("sha1");
      e.on("data", (c: Buffer) => {
        a.update(c);
        b.update(c);
      });
      e.on("end", () => files.set(name, { sha256: a.digest("hex"), sha1: b.digest("hex") }));
    },
  });
  return files;
}

/**
 * The files a component installs, from its artifact (the staging install's files, which the
 * artifact cache keeps under the key of exactly these inputs): hashed under installRoot when given
 * (what the packager ships), else as the artifact holds them. No artifact (the cache is off, or the
 * tree was never installed with these inputs): undefined, and why.
 */
async function installedOf(config: ResolvedConfig, c: ComponentPlan, opts: BillOptions): Promise<{ files?: BillFile[]; from?: string; why?: string }> {
  const cache = artifactCacheFor(config, false, () => undefined);
  if (!cache) return { why: "the artifact cache is off (XQBUILD_ARTIFACT_CACHE=0 or artifactCache.enabled: false), which keeps the list of the files each component installs" };
  if (!cacheable(c) || !c.staging) return { why: `a ${c.source.kind} source is built in place and has no artifact listing its installed files` };
  const key = await artifactKey(c, c.staging.install, c.staging.dir, config.xenRoot, config.env, undefined, { record: false });
  const entry = cache.store.lookup(key);
  // (No machine's path in the reason: it goes into the documents, which must not depend on where they were made.)
  if (!entry) return { why: `not installed with these inputs (no artifact ${key.slice(0, 12)} in the artifact cache): run xqbuild install` };
  const files = await artifactFiles(cache.store.tarPath(key));
  const out: BillFile[] = [];
  for (const [rel, packed] of [...files].sort(([a], [b]) => byName(a, b))) {
    throwIfInterrupted(opts.signal);
    if (opts.installRoot === undefined) {
      out.push({ path: rel, ...packed });
      continue;
    }
    const file = path.join(opts.installRoot, rel);
    if (lstatSync(file, { throwIfNoEntry: false })?.isFile() !== true) {
      throw new UserError(
        `${c.name} installs ${rel}, but ${file} is not there (or not a file): ${opts.installRoot} does not hold ${c.name}'s install.`,
        `Run xqbuild install --destdir ${opts.installRoot} first, or leave out the install root to describe the files as the artifact holds them.`,
        "failure",
      );
    }
    out.push({ path: rel, ...(await hashFile(file, opts.signal)) });
  }
  return { files: out, from: opts.installRoot ?? `artifact ${key}` };
}

async function componentBill(
  config: ResolvedConfig,
  c: ComponentPlan,
  patches: readonly BillPatch[],
  configure: readonly (readonly string[])[],
  configFiles: BillComponent["configFiles"],
  opts: BillOptions,
): Promise<{ bill: BillComponent; warning?: string }> {
  if (c.source.kind !== "git-checkout" && c.source.kind !== "tarball") {
    throw new UserError(`${c.name}'s source is ${c.source.kind === "local-source" ? `the local directory ${c.source.dir}` : "not fetched by xqbuild"}: an SBOM names an upstream, a commit and a license file xqbuild fetched and checked.`, `Fetch ${c.name} from its upstream (unset its *_LOC), or leave it out of the SBOM: xqbuild sbom COMPONENT...`, "failure");
  }
  if (!existsSync(path.join(c.sourceDir, ".git"))) {
    throw new UserError(`${c.name} has not been fetched: ${c.sourceDir} is not there, so there is nothing to describe.`, `Run xqbuild fetch ${c.name} (or xqbuild install) first.`, "failure");
  }
  const env = config.env;
  const git = gitAt(c.sourceDir, { env, ...(opts.signal ? { signal: opts.signal } : {}) });
  const [treeCommit, commit, version] = await Promise.all([git.raw(["rev-parse", "HEAD"]).then((s) => s.trim()), upstreamCommit(git), treeVersion(git)]);
  const date = isoSeconds(new Date((await git.raw(["show", "-s", "--format=%cI", commit])).trim()));
  const tags = (await git.raw(["tag", "--points-at", commit]).catch(() => ""))
    .split("\n")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .sort(byName);
  const lock = readLockFile(config.xenRoot).components[c.name];
  const url = asUrl(withoutCredentials(c.source.url));
  const pinned = lock !== undefined && pinnedUrlMatches(lock, c.source.url) && lock.commit === commit ? lock : undefined;
  const source: BillSource = {
    kind: c.source.kind === "tarball" ? "tarball" : "git",
    url,
    ...(c.source.kind === "git-checkout" && c.source.revision !== "" ? { revision: c.source.revision } : {}),
    commit,
    treeCommit,
    tags,
    ...(pinned?.tagObject !== undefined ? { tagObject: pinned.tagObject } : {}),
    ...(pinned?.signer !== undefined ? { signer: pinned.signer } : {}),
    ...(c.source.kind === "tarball" ? { sha256: c.source.sha256.toLowerCase() } : {}),
    date,
  };
  const license = readLicense(RECIPES[c.name], c.sourceDir);
  checkSpdxId(license.spdx, `the license of ${c.name}`);
  const [submodules, subprojects, installed] = await Promise.all([submodulesOf(c.sourceDir, c.source.url, env), subprojectsOf(c.sourceDir, env), installedOf(config, c, opts)]);
  const bill: BillComponent = {
    name: c.name,
    kind: RECIPES[c.name].kind ?? "application",
    ...(version !== undefined ? { version } : {}),
    source,
    submodules,
    subprojects,
    patches,
    configure,
    configFiles,
    buildTools: Object.fromEntries(Object.entries(RECIPES[c.name].buildToolVersions?.(c.buildDir) ?? {}).sort(([a], [b]) => byName(a, b))),
    license: { spdx: license.spdx, files: license.files.map((f) => ({ path: f.path, ...hashes(Buffer.from(f.text)) })).sort((a, b) => byName(a.path, b.path)) },
    ...(installed.files ? { installed: installed.files } : {}),
    ...(installed.from !== undefined ? { installedFrom: installed.from } : {}),
    ...(installed.why !== undefined ? { installedWhy: installed.why } : {}),
  };
  return { bill, ...(installed.why !== undefined ? { warning: `${c.name}: the SBOM lists no installed files: ${installed.why}.` } : {}) };
}

/** What the fetch and configure stages copy in (a built-in text the recipe holds, or a file), hashed. */
function configFilesOf(c: ComponentPlan, steps: readonly PlannedStep[]): BillComponent["configFiles"] {
  const out: { path: string; sha256: string }[] = [];
  for (const s of steps) {
    if (s.kind !== "copy" || (s.stage !== "fetch" && s.stage !== "configure")) continue;
    const builtin = RECIPES[c.name].builtinContent?.(s.from);
    let content: Buffer;
    try {
      content = builtin !== undefined ? Buffer.from(builtin) : readFileSync(s.from);
    } catch {
      continue;
    }
    const rel = path.relative(c.sourceDir, s.to);
    out.push({ path: rel.startsWith("..") || path.isAbsolute(rel) ? s.to : rel, sha256: hashes(content).sha256 });
  }
  return out.sort((a, b) => byName(a.path, b.path));
}

/**
 * Gathers the bill of every enabled component of the plan. A component that has not been fetched,
 * or whose source is a local directory, stops it (UserError naming it); one that was not installed
 * with these inputs is still described by its sources, with a warning that its files are not listed.
 */
export async function gatherBill(config: ResolvedConfig, plan: Plan, opts: BillOptions = {}): Promise<Bill> {
  // A bad SOURCE_DATE_EPOCH is refused before any work.
  const epoch = sourceDateEpoch(config.env);
  // The plan as the build ran it: with the staging directories (the artifact key, and so the
  // installed files, is the staged install's) and the facts read from the fetched sources (engine/build.ts).
  const staged = plan.options.stagingRoot !== undefined ? plan : makePlan(config, plan.facts, { ...plan.options, stagingRoot: stagingRootOf(config) });
  const refined = refinePlan(config, staged, sourceFacts(config, staged.facts));
  const enabled = refined.components.filter((c) => c.enabled);
  if (enabled.length === 0) throw new UserError("No component is enabled, so there is nothing to describe.", "Name the components (xqbuild sbom COMPONENT...) or enable them in .config.");
  const explained = await explainPlan(config, { ...refined, components: enabled }, undefined, { keys: false });
  const toolchain = await toolVersions(config.env);
  const components: BillComponent[] = [];
  const warnings: string[] = [];
  for (const x of explained) {
    throwIfInterrupted(opts.signal);
    const patches: BillPatch[] = x.patches.map((p) => {
      const content = readFileSync(p.file);
      return { name: p.name, ...hashes(content), strip: p.strip, tool: p.tool };
    });
    // Credentials never reach a document, even one a configure argument carried.
    const configure = x.steps.filter((s) => s.stage === "configure" && s.kind === "run").map((s) => (s.kind === "run" ? (s.runs?.argv ?? s.argv) : []).map(redactText));
    const configFiles = configFilesOf(x.plan, x.steps);
    const { bill, warning } = await componentBill(config, x.plan, patches, configure, configFiles, opts);
    components.push(bill);
    if (warning !== undefined) warnings.push(warning);
  }
  const newest = components.map((c) => c.source.date).sort(byName).at(-1) as string;
  return {
    tool: { name: "xqbuild", version: xqbuildVersion() },
    xenVersion: refined.xenVersion,
    release: refined.release,
    created: epoch ? isoSeconds(epoch) : newest,
    toolchain: Object.fromEntries(Object.entries(toolchain).sort(([a], [b]) => byName(a, b))),
    components: components.sort((a, b) => byName(a.name, b.name)),
    warnings,
  };
}
