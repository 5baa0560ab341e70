import { createHash } from "node:crypto";
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { chmod, copyFile, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink, utimes } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { climbsOut, replaceFile, sha256File, staysInside } from "../util/fs.js";
import { collect } from "../util/proc.js";
import { urlProblem } from "../config/validate.js";
import { cloneFromMirror } from "./link-clone.js";
import { gitAt, gitEnvironment } from "./git.js";
import { sayInfo } from "./events.js";
import { ensureRevision, networkUrl, type MirrorOptions } from "./mirror.js";
import { fetchedUrlHint, fetchedUrlProblem } from "./url-policy.js";
import { checkPatchPaths } from "./patches.js";
import { extractTarball, obtainTarball, tarballLimits } from "./tarball.js";
import { withoutCredentials } from "../util/redact.js";

/** One meson wrap file: the section type, its keys, and what meson derives from it. */
export interface Wrap {
  /** The file's name without .wrap (meson's subproject name). */
  readonly name: string;
  readonly type: "wrap-git" | "wrap-file" | string;
  readonly keys: Readonly<Record<string, string>>;
  /** The [provide] section: dependency name → variable ("" for dependency_names / program_names). */
  readonly provide: Readonly<Record<string, string>>;
  /** The directory under subprojects/ (the `directory` key, else the name). */
  readonly directory: string;
  /** sha256 of the file's text as meson reads it, what it keeps in .meson-subproject-wrap-hash.txt. */
  readonly hash: string;
}

/**
 * Parses a meson .wrap file as meson's configparser does: the first section is the wrap
 * ([wrap-git], [wrap-file], ...), keys are lowercased, `=` or `:` separates a key from its value,
 * lines beginning with # or ; are comments, an indented line continues the value before it.
 */
export function parseWrap(text: string, name: string): Wrap | undefined {
  // Python's text mode reads \r\n and \r as \n; meson's hash is of that text.
  const norm = text.replace(/\r\n?/g, "\n");
  const sections: { name: string; keys: Record<string, string> }[] = [];
  let last: string | undefined;
  for (const raw of norm.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const cur = sections[sections.length - 1];
    if (/^\s/.test(raw) && cur && last !== undefined) {
      cur.keys[last] = `${cur.keys[last] ?? ""}\n${line}`;
      continue;
    }
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      sections.push({ name: sec[1] as string, keys: {} });
      last = undefined;
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (kv && cur) {
      last = (kv[1] as string).toLowerCase();
      cur.keys[last] = kv[2] as string;
    }
  }
  const first = sections[0];
  if (!first) return undefined;
  const keys = first.keys;
  const provide = sections.find((s) => s.name === "provide")?.keys ?? {};
  return { name, type: first.name, keys, provide, directory: keys.directory ?? name, hash: createHash("sha256").update(norm, "utf8").digest("hex") };
}

/**
 * The tree's subprojects/*.wrap, parsed. A wrap file that is a symbolic link out of the tree (a
 * fetched tree tracking subprojects/foo.wrap -> ~/.netrc) is refused, naming the link, rather than
 * read: its keys go into messages, the SBOM and the fetch. A link that stays in the tree is read.
 */
export function readWraps(sourceDir: string): Wrap[] {
  const dir = path.join(sourceDir, "subprojects");
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((f) => f.endsWith(".wrap") && statSync(path.join(dir, f), { throwIfNoEntry: false })?.isFile() === true);
  for (const f of names) {
    const file = path.join(dir, f);
    if (lstatSync(file).isSymbolicLink() && !staysInside(file, sourceDir)) {
      throw new UserError(`${file} is a symbolic link to ${readlinkTarget(file)}, outside the tree ${sourceDir}; xqbuild reads no wrap file through it.`, "Nothing was written to subprojects/. The tree's wrap files are its own input: that revision of the tree is not usable as it is; report it to its maintainers, or replace the link with the wrap file itself.", "failure");
    }
  }
  return names
    .sort()
    .map((f) => parseWrap(readFileSync(path.join(dir, f), "utf8"), f.replace(/\.wrap$/, "")))
    .filter((w): w is Wrap => w !== undefined);
}

/** Whether a wrap is fetched, and why (a few words, shown to the user). */
export interface WrapChoice {
  readonly fetch: boolean;
  readonly why: string;
}

/**
 * Decides, for the tree's wraps, which ones its configure would download; absent ones are not
 * fetched. sourceDir is the tree being prepared (during a clone, the temporary directory).
 */
export type WrapSelector = (wraps: readonly Wrap[], sourceDir: string) => Promise<ReadonlyMap<string, WrapChoice>>;

/** What fetchWraps did with each wrap. */
export interface WrapReport {
  /** Prepared now: name and what (git revision or archive). */
  readonly fetched: readonly string[];
  /** Already prepared from this very wrap file (meson's hash file matches). */
  readonly present: readonly string[];
  /** A directory that was not prepared from this wrap (a release tarball's, the user's) left as it is. */
  readonly kept: readonly string[];
  readonly skipped: readonly { readonly name: string; readonly why: string }[];
}

/** The meson file a subproject's `method` needs at its top (meson's methods_map). */
const BUILD_FILES: Readonly<Record<string, string>> = { meson: "meson.build", cmake: "CMakeLists.txt", cargo: "Cargo.toml" };

const HASH_FILE = ".meson-subproject-wrap-hash.txt";
const STAGING = ".xqbuild-wraps-tmp";

/**
 * Prepares the subprojects meson would download at `meson setup` for the tree's subprojects/*.wrap
 * (newer QEMU keeps its dependencies there rather than in git submodules), exactly as
 * `meson subprojects download` leaves them, so configure needs no network: only the wraps `select`
 * picks, wrap-git checked out from the mirror cache, wrap-file archives (through the mirrors, verified
 * by source_hash) kept in subprojects/packagecache and unpacked, then patch_directory copied over and
 * diff_files applied, and meson's hash file written. Every wrap is checked before anything is written;
 * each subproject is made aside and renamed into place only when complete.
 */
export async function fetchWraps(sourceDir: string, select: WrapSelector, opts: MirrorOptions): Promise<WrapReport | undefined> {
  const wraps = readWraps(sourceDir);
  if (wraps.length === 0) return undefined;
  const sub = path.join(sourceDir, "subprojects");
  writablePath(sourceDir, sub, sub, "(directory)");
  // What meson refuses when it loads the wraps (every one, used or not) ...
  for (const w of wraps) checkWrap(sub, w, false);
  const choices = await select(wraps, sourceDir);
  // ... and, for those to be prepared, everything else they name, before anything is written.
  for (const w of wraps) if (choices.get(w.name)?.fetch && !lstatSync(path.join(sub, w.directory), { throwIfNoEntry: false })) checkWrap(sub, w, true, opts.mirrors);
  const report = { fetched: [] as string[], present: [] as string[], kept: [] as string[], skipped: [] as { name: string; why: string }[] };
  const staging = path.join(sub, STAGING);
  writablePath(sub, staging, sub, "(staging directory)");
  try {
    for (const w of wraps) {
      const dest = path.join(sub, w.directory);
      if (lstatSync(dest, { throwIfNoEntry: false })) {
        const had = readFileSyncOrEmpty(path.join(dest, HASH_FILE)).trim();
        (had === w.hash ? report.present : report.kept).push(w.name);
        continue;
      }
      const choice = choices.get(w.name);
      if (!choice?.fetch) {
        report.skipped.push({ name: w.name, why: choice?.why ?? "not selected" });
        continue;
      }
      writablePath(sub, dest, wrapFile(sub, w), "directory");
      await rm(staging, { recursive: true, force: true });
      await mkdir(staging, { recursive: true });
      const work = path.join(staging, w.directory);
      const started = Date.now();
      const url = w.type === "wrap-git" ? w.keys.url : w.keys.source_url;
      const named = { component: opts.events?.component ?? "", what: "wrap" as const, name: w.name };
      opts.events?.emit({ type: "fetch-start", ...named, ...(url !== undefined ? { url: withoutCredentials(url) } : {}) });
      const what = w.type === "wrap-git" ? await prepareGit(sub, w, work, opts) : await prepareFile(sub, w, staging, work, opts);
      await applyPatchDirectory(sub, w, work);
      await applyDiffFiles(sub, w, work, opts);
      const method = w.keys.method ?? "meson";
      const buildFile = BUILD_FILES[method];
      if (!buildFile) throw refused(wrapFile(sub, w), "method", `is ${JSON.stringify(method)}; meson knows ${Object.keys(BUILD_FILES).join(", ")}`);
      if (!existsSync(path.join(work, buildFile))) {
        throw new UserError(`${wrapFile(sub, w)}: the subproject ${w.directory} has no ${buildFile} once prepared (meson would stop with "Subproject exists but has no ${buildFile} file").`, "Check the wrap's patch_directory and diff_files; nothing was written to subprojects/.", "failure");
      }
      // Replaced, not written through: the subproject's repository (or a patch_directory, which
      // copies links as links) may have put a link to a file outside at that name.
      await replaceFile(path.join(work, HASH_FILE), { content: `${w.hash}\n` });
      await rename(work, dest);
      report.fetched.push(`${w.name} (${what})`);
      opts.events?.emit({ type: "fetch-done", ...named, seconds: (Date.now() - started) / 1000, action: "fetched", revision: what, dir: path.relative(sourceDir, dest) });
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return report;
}

/**
 * Whether the subproject directory of a wrap was prepared from this very wrap file: a real directory
 * (not a link) holding meson's hash file, itself a real file, with the wrap's hash in it, as
 * fetchWraps and `meson subprojects download` leave it. A directory put there otherwise (by hand, or
 * from another revision of the wrap) is not the wrap's.
 */
export function preparedFromWrap(sourceDir: string, w: Wrap): boolean {
  const dest = path.join(sourceDir, "subprojects", w.directory);
  if (!lstatSync(dest, { throwIfNoEntry: false })?.isDirectory()) return false;
  if (!lstatSync(path.join(dest, HASH_FILE), { throwIfNoEntry: false })?.isFile()) return false;
  return readFileSyncOrEmpty(path.join(dest, HASH_FILE)).trim() === w.hash;
}

/** A file's text, "" when it cannot be read (no hash file: a directory meson did not make). */
function readFileSyncOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function wrapFile(sub: string, w: Wrap): string {
  return path.join(sub, `${w.name}.wrap`);
}

function refused(file: string, key: string, what: string): UserError {
  return new UserError(`${file}: "${key}" ${what}; xqbuild refuses it.`, "Nothing was written to subprojects/. The tree's wrap files are its own input: fix the wrap, or prepare that subproject yourself.", "config");
}

function within(base: string, p: string): boolean {
  const rel = path.relative(base, p);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/**
 * The one containment rule for every path xqbuild writes for a fetched tree: `target` must stay
 * inside `base` both as written and as resolved (the real path of its deepest existing ancestor),
 * no component on the way from `base` may be a symbolic link (a tracked link in the fetched tree is
 * never followed by a write), and no component may be .git (git's own directory, whose config a
 * fetched input must never reach). `file` and `key` name what asked for the path, for the message.
 */
export function writablePath(base: string, target: string, file: string, key: string): string {
  const rel = path.relative(base, target);
  if (rel.startsWith("..") || path.isAbsolute(rel)) throw refused(file, key, `names ${target}, outside ${base}`);
  const parts = rel === "" ? [] : rel.split(path.sep);
  if (parts.some((c) => /^\.git[. ]*$/i.test(c))) throw refused(file, key, `names ${target}, inside a .git directory`);
  let cur = base;
  for (const c of parts) {
    cur = path.join(cur, c);
    const st = lstatSync(cur, { throwIfNoEntry: false });
    if (!st) break;
    if (st.isSymbolicLink()) throw refused(file, key, `leads through ${cur}, a symbolic link (to ${readlinkTarget(cur)}), which xqbuild does not write through`);
  }
  const realBase = realTarget(base);
  const real = realTarget(target);
  if (!within(realBase, real)) throw refused(file, key, `names ${target}, which resolves to ${real}, outside ${realBase}`);
  return target;
}

function readlinkTarget(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return "?";
  }
}

/** The real path `p` would have: the real path of its deepest existing ancestor, with the rest joined on. */
function realTarget(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.join(cur, ...rest.reverse());
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/** Refuses a relative path of a wrap key that would leave `base` (lexically or through a link). */
function containedPath(file: string, key: string, base: string, rel: string): string {
  if (rel === "" || climbsOut(rel)) throw refused(file, key, `names ${JSON.stringify(rel)}, which is not a path inside ${path.basename(base)}/`);
  const target = path.join(base, rel);
  const realBase = realTarget(base);
  const real = realTarget(target);
  if (!within(realBase, real) || real === realBase) throw refused(file, key, `names ${JSON.stringify(rel)}, which resolves to ${real}, outside ${base}`);
  return target;
}

/** A URL a wrap names, under the one policy for fetched URLs: file:// and local paths only where the user's mirrors map it. */
function checkUrl(file: string, key: string, url: string, mirrors: Readonly<Record<string, string>> | undefined): void {
  const bad = fetchedUrlProblem({ written: url, resolved: url }, mirrors);
  if (bad) throw new UserError(`${file}: "${key}" names ${JSON.stringify(url)}, which ${bad}; xqbuild refuses it.`, `Nothing was written to subprojects/. ${fetchedUrlHint(url)}`, "config");
}

/**
 * The rules meson applies when it loads a wrap (directory a plain name, diff_files relative without
 * ..), and with `full` xqbuild's own for a wrap it prepares: every path it names stays inside
 * packagefiles/ or packagecache/ (through links too), and its URLs are network URLs.
 */
function checkWrap(sub: string, w: Wrap, full: boolean, mirrors?: Readonly<Record<string, string>>): void {
  const file = wrapFile(sub, w);
  const d = w.directory;
  if (d === "" || d === "." || d === ".." || d.includes("/") || d.includes("\\") || d === "packagecache" || d === "packagefiles" || d === STAGING) {
    throw refused(file, "directory", `is ${JSON.stringify(d)}; it must be a plain name of a directory in subprojects/ (meson: "Directory key must be a name and not a path")`);
  }
  for (const d2 of diffFiles(w)) {
    if (climbsOut(d2)) throw refused(file, "diff_files", `names ${JSON.stringify(d2)}, which is not a path inside packagefiles/ (meson: "diff_files paths cannot be absolute" nor contain "..")`);
  }
  if (!full) return;
  const files = path.join(sub, "packagefiles");
  const cache = path.join(sub, "packagecache");
  if (w.keys.patch_directory !== undefined) containedPath(file, "patch_directory", files, w.keys.patch_directory);
  for (const d2 of diffFiles(w)) containedPath(file, "diff_files", files, d2);
  for (const what of ["source", "patch"] as const) {
    const name = w.keys[`${what}_filename`];
    if (name === undefined) continue;
    containedPath(file, `${what}_filename`, w.keys[`${what}_url`] !== undefined ? cache : files, name);
  }
  for (const key of ["url", "source_url", "patch_url", "source_fallback_url", "patch_fallback_url"]) {
    const u = w.keys[key];
    if (u !== undefined && (key === "url" ? w.type === "wrap-git" : w.type === "wrap-file")) checkUrl(file, key, u, mirrors);
  }
  if (w.keys.patch_filename !== undefined && w.keys.patch_directory !== undefined) {
    throw refused(file, "patch_filename", 'is given with "patch_directory" (meson: a wrap must not have both)');
  }
}

function diffFiles(w: Wrap): string[] {
  const v = w.keys.diff_files;
  return v === undefined ? [] : v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** A wrap-git checked out at `work` at its pinned revision, from the mirror cache (through the mirrors). */
async function prepareGit(sub: string, w: Wrap, work: string, opts: MirrorOptions): Promise<string> {
  const file = wrapFile(sub, w);
  const url = w.keys.url;
  const rev = w.keys.revision;
  if (!url) throw new UserError(`${file} has no url.`, "Fix the wrap, or prepare the subproject yourself.", "config");
  if (!rev || rev.toLowerCase() === "head") {
    throw new UserError(`${file} follows the head of ${url} rather than a pinned revision; xqbuild fetches only pinned sources.`, `Pin the wrap's revision (a tag or commit), or provide subprojects/${w.directory} yourself.`, "failure");
  }
  if ((w.keys["clone-recursive"] ?? "").toLowerCase() === "true") {
    throw new UserError(`${file} asks for clone-recursive (the subproject's own submodules), which xqbuild does not fetch.`, `Provide subprojects/${w.directory} yourself, or skip the wrap (components.<name>.wraps.skip).`, "failure");
  }
  const pushUrl = w.keys["push-url"];
  if (pushUrl !== undefined && urlProblem(pushUrl)) throw refused(file, "push-url", `names the URL ${JSON.stringify(pushUrl)}, which ${urlProblem(pushUrl) ?? ""}`);
  const r = await ensureRevision(url, rev, opts, `${file} (revision)`);
  await cloneFromMirror(r.mirrorDir, work, r.commit, opts);
  const git = gitAt(work, opts);
  await git.raw(["checkout", "--quiet", "--detach", r.commit]);
  await git.raw(["remote", "set-url", "origin", withoutCredentials(url)]);
  if (pushUrl) await git.raw(["remote", "set-url", "--push", "origin", withoutCredentials(pushUrl)]);
  // A full commit id is shown as git shows one: its first 12 digits.
  return `git ${/^[0-9a-f]{40,64}$/.test(rev) ? rev.slice(0, 12) : rev}`;
}

/**
 * A wrap archive (source or patch) as meson finds it: with a URL, subprojects/packagecache/<filename>
 * (used when its hash matches, else downloaded through the mirrors into xqbuild's cache and copied
 * there); without, subprojects/packagefiles/<filename>, checked against its hash when the wrap has one.
 */
async function wrapArchive(sub: string, w: Wrap, what: "source" | "patch", opts: MirrorOptions): Promise<string> {
  const file = wrapFile(sub, w);
  const name = w.keys[`${what}_filename`] as string;
  const url = w.keys[`${what}_url`];
  const hash = w.keys[`${what}_hash`]?.toLowerCase();
  if (url === undefined) {
    const local = path.join(sub, "packagefiles", name);
    if (!existsSync(local)) throw new UserError(`${file}: ${what}_filename ${name} is not in subprojects/packagefiles.`, "Fix the wrap or the tree.", "failure");
    if (hash !== undefined && (await sha256File(local)) !== hash) throw new UserError(`${file}: subprojects/packagefiles/${name} does not have the ${what}_hash ${hash}.`, "Fix the wrap or the file.", "failure");
    return local;
  }
  if (!hash || !/^[0-9a-f]{64}$/.test(hash)) throw new UserError(`${file} has ${what}_url but no ${what}_hash (a sha256); xqbuild downloads only what is pinned.`, "Add the archive's sha256 to the wrap, or prepare the subproject yourself.", "config");
  const target = writablePath(sub, path.join(sub, "packagecache", name), file, `${what}_filename`);
  if (existsSync(target)) {
    const actual = await sha256File(target);
    if (actual === hash) return target;
    throw new UserError(`${file}: subprojects/packagecache/${name} is not the pinned archive (sha256 ${actual}, the wrap's ${what}_hash is ${hash}).`, "Remove that file; xqbuild will download the pinned one.", "failure");
  }
  const got = await obtainTarball(networkUrl(url, opts.mirrors), hash, opts.cacheDir, opts.offline, opts.retry, (m) => sayInfo(opts, m), opts.tarballMaxBytes);
  await mkdir(path.dirname(target), { recursive: true });
  // Through a temporary file of its own (a random name, created exclusively): a fixed name beside
  // the target is one the fetched tree can track as a link to a file outside, which a copy follows.
  await replaceFile(target, { from: got });
  return target;
}

/** Unpacks an archive as meson's shutil.unpack_archive does into `dest` (no component stripped). */
async function unpack(file: string, archive: string, dest: string, maxBytes: number | undefined): Promise<void> {
  if (/\.zip$/i.test(archive)) throw new UserError(`${file}: ${path.basename(archive)} is a zip archive, which xqbuild does not unpack.`, "Prepare that subproject yourself.", "failure");
  // XQBUILD_TARBALL_MAX_BYTES holds here as for a tarball source.
  await extractTarball(archive, dest, tarballLimits(maxBytes), false);
}

/**
 * A wrap-file's source unpacked at `work`, as meson unpacks it into subprojects/ (here the staging
 * directory, of which only `directory` is kept): the archive must have that top directory unless the
 * wrap says lead_directory_missing; then a patch_filename archive unpacked over it.
 */
async function prepareFile(sub: string, w: Wrap, staging: string, work: string, opts: MirrorOptions): Promise<string> {
  const file = wrapFile(sub, w);
  if (w.type !== "wrap-file") throw new UserError(`${file} is a [${w.type}], which xqbuild does not prepare (only wrap-git and wrap-file).`, `Provide subprojects/${w.directory} yourself, or skip the wrap (components.<name>.wraps.skip).`, "failure");
  if (w.keys.source_filename === undefined) throw new UserError(`${file} has no source_filename.`, "Fix the wrap.", "config");
  const source = await wrapArchive(sub, w, "source", opts);
  const unpacked = path.join(staging, ".source");
  await unpack(file, source, w.keys.lead_directory_missing !== undefined ? path.join(unpacked, w.directory) : unpacked, opts.tarballMaxBytes);
  const top = path.join(unpacked, w.directory);
  if (!statSync(top, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`${file}: ${path.basename(source)} has no top directory ${w.directory} (the wrap's directory).`, "Fix the wrap's directory (or lead_directory_missing); nothing was written to subprojects/.", "failure");
  }
  await rename(top, work);
  if (w.keys.patch_filename !== undefined) {
    const patch = await wrapArchive(sub, w, "patch", opts);
    const over = path.join(staging, ".patch");
    await unpack(file, patch, over, opts.tarballMaxBytes);
    if (existsSync(path.join(over, w.directory))) await copyTree(path.join(over, w.directory), work, work, wrapFile(sub, w));
  }
  return path.basename(source);
}

/** patch_directory: subprojects/packagefiles/<dir> copied over the subproject (meson's copy_tree). */
async function applyPatchDirectory(sub: string, w: Wrap, work: string): Promise<void> {
  const pd = w.keys.patch_directory;
  if (pd === undefined) return;
  const src = path.join(sub, "packagefiles", pd);
  if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`${wrapFile(sub, w)}: the patch_directory ${pd} is not a directory in subprojects/packagefiles.`, "Fix the wrap or the tree.", "failure");
  await copyTree(src, work, work, wrapFile(sub, w));
}

/**
 * meson's copy_tree: every file of src copied over dst (a file there replaced), modes and times kept,
 * symbolic links copied as links; directories are walked without following links, so a link to a
 * directory is not copied (os.walk lists it among the directories, which copy_tree copies nothing of).
 */
async function copyTree(src: string, dst: string, root: string = dst, file: string = src): Promise<void> {
  writablePath(root, dst, file, "patch_directory");
  await mkdir(dst, { recursive: true });
  for (const e of await readdir(src, { withFileTypes: true })) {
    const from = path.join(src, e.name);
    const to = path.join(dst, e.name);
    if (e.isDirectory()) {
      await copyTree(from, to, root, file);
      continue;
    }
    if (e.isSymbolicLink()) {
      if ((await stat(from).catch(() => undefined))?.isDirectory()) continue;
      await rm(to, { force: true, recursive: false }).catch(() => undefined);
      await symlink(await readlink(from), to);
      continue;
    }
    if (!e.isFile()) continue;
    const st = await lstat(to).catch(() => undefined);
    if (st?.isDirectory()) throw new UserError(`copying ${from} over the subproject: ${to} is a directory.`, "Fix the wrap's patch_directory.", "failure");
    if (st) await rm(to, { force: true });
    await copyFile(from, to);
    const s = await stat(from);
    await chmod(to, s.mode & 0o7777);
    await utimes(to, s.atime, s.mtime);
  }
}

/** diff_files applied in order as meson applies them: `patch -l -f -p1 -i`, or `git apply` without patch. */
async function applyDiffFiles(sub: string, w: Wrap, work: string, opts: MirrorOptions): Promise<void> {
  for (const d of diffFiles(w)) {
    const diff = path.join(sub, "packagefiles", d);
    if (!existsSync(diff)) throw new UserError(`${wrapFile(sub, w)}: the diff file ${d} is not in subprojects/packagefiles.`, "Fix the wrap or the tree; nothing was written to subprojects/.", "failure");
    checkDiffPaths(sub, w, d, diff, work);
    const env = { ...opts.env, LC_ALL: "C" };
    const signal = opts.signal ? { signal: opts.signal } : {};
    let r;
    try {
      r = await collect("patch", ["-l", "-f", "-p1", "-i", diff], { cwd: work, env, ...signal });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      r = await collect(opts.git ?? "git", ["--work-tree", ".", "apply", "--ignore-whitespace", "-p1", diff], { cwd: work, env: gitEnvironment(opts.env), ...signal });
    }
    if (r.code !== 0) {
      const out = (r.stdout + r.stderr).trim().split("\n").slice(0, 12).join("\n");
      throw new UserError(`${wrapFile(sub, w)}: the diff file ${d} does not apply to ${w.directory}:\n${out}`, "Fix the diff or the wrap's revision; nothing was written to subprojects/.", "failure");
    }
  }
}

/**
 * A diff file is a patch from the fetched tree: the one rule for patches (checkPatchPaths) applies
 * before GNU patch or git apply runs, so that it cannot write the subproject's .git/config (a wrap-git
 * checkout has one: a [core] fsmonitor there runs at the next git command in it) nor go through a
 * link the subproject tracks.
 */
function checkDiffPaths(sub: string, w: Wrap, d: string, diff: string, work: string): void {
  try {
    checkPatchPaths({ name: d, file: diff, content: readFileSync(diff), strip: 1, tool: "patch" }, work);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(`${wrapFile(sub, w)}: "diff_files": ${e.message}`, "Nothing was written to subprojects/. The tree's wrap files are its own input: fix the diff, or prepare that subproject yourself.", "failure");
  }
}

/** The user's say over a recipe's choice (the config file's components.<name>.wraps). */
export interface WrapOverrides {
  /** Wraps fetched whatever the recipe says (one it does not know, one it thinks unused). */
  readonly fetch?: readonly string[];
  /** Wraps never fetched (the user provides them, or knows configure will not need them). */
  readonly skip?: readonly string[];
}

/**
 * The recipe's selection with the user's overrides applied over it; a name the tree has no wrap for
 * is reported through `warn` (the setting may be meant for another revision of the tree).
 */
export function withOverrides(choose: WrapSelector, overrides: WrapOverrides | undefined, setting: string, warn: (m: string) => void): WrapSelector {
  if (!overrides || ((overrides.fetch ?? []).length === 0 && (overrides.skip ?? []).length === 0)) return choose;
  return async (wraps, sourceDir) => {
    const out = new Map(await choose(wraps, sourceDir));
    const names = new Set(wraps.map((w) => w.name));
    for (const [key, list, fetch] of [["fetch", overrides.fetch ?? [], true], ["skip", overrides.skip ?? [], false]] as const) {
      for (const n of list) {
        if (!names.has(n)) warn(`${setting}.${key} names ${n}, but the tree has no subprojects/${n}.wrap; ignored`);
        else out.set(n, { fetch, why: `${setting}.${key}` });
      }
    }
    return out;
  };
}

/** One line for the user: what was fetched, and what was not and why, with like reasons grouped. */
export function describeWraps(r: WrapReport): string | undefined {
  const parts: string[] = [];
  if (r.fetched.length > 0) parts.push(`fetched ${r.fetched.join(", ")}`);
  if (r.present.length > 0) parts.push(`already prepared: ${r.present.join(", ")}`);
  if (r.kept.length > 0) parts.push(`left as found (not prepared from its wrap): ${r.kept.join(", ")}`);
  const byWhy = new Map<string, string[]>();
  for (const s of r.skipped) byWhy.set(s.why, [...(byWhy.get(s.why) ?? []), s.name]);
  // A long group (QEMU's dozen Rust crates) is named by its first two.
  const skipped = [...byWhy].map(([why, names]) => `${names.length > 3 ? `${names.slice(0, 2).join(", ")} and ${names.length - 2} more` : names.join(", ")} (${why})`);
  if (skipped.length > 0) parts.push(`not fetched: ${skipped.join("; ")}`);
  return parts.length > 0 ? `meson wraps: ${parts.join("; ")}` : undefined;
}
