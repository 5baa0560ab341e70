import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { climbsOut, inputFileReason, readInputFileSync, resolveExisting, staysInside } from "../util/fs.js";

/**
 * How a queue's patches are applied: `git apply` (exact, for git format-patch queues), or GNU patch
 * the way quilt and dpkg-source apply a quilt series (no fuzz; `Binary files differ` entries, which
 * carry no data, are left alone instead of failing the patch).
 */
export type PatchTool = "git" | "patch";
export const PATCH_TOOLS: readonly PatchTool[] = ["git", "patch"];

/** One patch of a queue: its name (for messages and commit subjects), text, strip level and tool. */
export interface Patch {
  readonly name: string;
  readonly file: string;
  readonly content: Buffer;
  readonly strip: number;
  readonly tool: PatchTool;
}

/** A quilt series line: `name [-pN]`, `#` comments. */
function parseSeries(text: string, file: string): Array<{ name: string; strip: number; line: number }> {
  const out: Array<{ name: string; strip: number; line: number }> = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    const [name, ...opts] = line.split(/\s+/);
    let strip = 1;
    for (const o of opts) {
      const m = /^-p(\d+)$/.exec(o);
      if (m) strip = Number(m[1]);
      else throw new UserError(`${file}:${i + 1}: unsupported option ${JSON.stringify(o)} for ${name}.`, "xqbuild applies series entries of the form NAME [-pN].");
    }
    out.push({ name: name as string, strip, line: i + 1 });
  });
  return out;
}

/** A quilt series file's text, refused like a patch that cannot be read (a FIFO, a device, a huge file). */
function readSeries(series: string, what: string): string {
  try {
    return readInputFileSync(series).toString("utf8");
  } catch (e) {
    throw new UserError(`${what}: the series file ${series} cannot be read: ${inputFileReason(e)}.`, "Check the patches setting of the xqbuild config file.");
  }
}

/**
 * A component's patch queue: a directory with an optional quilt `series` file (else every *.patch
 * and *.diff in name order), or an explicit list of files. A quilt series is applied with GNU patch,
 * as quilt does, anything else with `git apply`, unless `tool` says otherwise.
 */
export function loadPatchQueue(spec: string | readonly string[] | undefined, what: string, tool?: PatchTool): Patch[] {
  if (spec === undefined) return [];
  const isSeries = typeof spec === "string" && existsSync(path.join(spec, "series"));
  const using: PatchTool = tool ?? (isSeries ? "patch" : "git");
  const read = (file: string, name: string, strip: number): Patch => {
    try {
      return { name, file, content: readInputFileSync(file), strip, tool: using };
    } catch (e) {
      throw new UserError(`${what}: the patch ${file} cannot be read: ${inputFileReason(e)}.`, "Check the patches setting of the xqbuild config file.");
    }
  };
  if (typeof spec !== "string") return spec.map((f) => read(f, path.basename(f), 1));
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new UserError(`${what}: the patch directory ${spec} does not exist.`, "Check the patches setting of the xqbuild config file.");
  }
  const series = path.join(spec, "series");
  if (existsSync(series)) return parseSeries(readSeries(series, what), series).map((e) => read(queueFile(spec, e.name, `${series}:${e.line}`), e.name, e.strip));
  return readdirSync(spec)
    .filter((f) => /\.(patch|diff)$/.test(f))
    .sort()
    .map((f) => read(queueFile(spec, f, spec), f, 1));
}

/**
 * The file of a queue directory's entry, refused (a UserError naming `where`, the series line) when
 * it is not inside the directory: a name with ".." or an absolute one, or a file that is a symbolic
 * link out of it. A queue directory is often someone else's (a Debian package's debian/patches, a
 * colleague's tree): its bytes are applied and legal-info packs them as the patch, so an entry
 * leading to ~/.ssh/id_rsa would publish that file. A link that stays in the directory is fine.
 */
function queueFile(dir: string, name: string, where: string): string {
  const file = path.join(dir, name);
  const hint = "Nothing was applied. A queue's entries are files in its directory: copy the patch into it (or name the file itself in a list of patches in the xqbuild config file).";
  if (climbsOut(name)) {
    throw new UserError(`${where}: the patch ${JSON.stringify(name)} is not a file inside the queue's directory ${dir}.`, hint);
  }
  if (!staysInside(file, dir)) {
    throw new UserError(`${where}: the patch ${name} is a symbolic link out of the queue's directory ${dir} (${file} resolves to ${resolveExisting(file)}); xqbuild reads no patch through it.`, hint);
  }
  return file;
}

/** The queue's identity: names, strip levels and contents, in order. */
export function patchQueueHash(patches: readonly Patch[]): string {
  const h = createHash("sha256");
  for (const p of patches) h.update(`${p.name}\0${p.strip}\0${p.tool}\0${p.content.length}\0`).update(p.content);
  return h.digest("hex");
}

/** A path as a diff header writes it: git's C-style quoting undone, a trailing tab-and-date dropped. */
function headerPath(raw: string): string {
  const s = raw.replace(/\r$/, "");
  if (s.startsWith('"')) {
    const end = s.lastIndexOf('"');
    const body = s.slice(1, end > 0 ? end : undefined);
    return body.replace(/\\([\\"abfnrtv]|[0-7]{3})/g, (_m, c: string) => (/^[0-7]{3}$/.test(c) ? String.fromCharCode(parseInt(c, 8)) : c === "\\" || c === '"' ? c : " "));
  }
  return s.split("\t")[0]?.trimEnd() ?? "";
}

/** The paths a patch names, as written in its headers (---/+++/***, diff --git, rename/copy, Index:). */
export function patchPaths(text: string): { paths: string[]; symlinks: string[] } {
  const paths: string[] = [];
  const symlinks: string[] = [];
  let current: string | undefined;
  for (const line of text.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^diff --git (?:"((?:[^"\\]|\\.)*)"|(\S+)) (?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/.exec(line))) {
      const a = m[1] !== undefined ? headerPath(`"${m[1]}"`) : (m[2] as string);
      const b = m[3] !== undefined ? headerPath(`"${m[3]}"`) : (m[4] as string);
      paths.push(a, b);
      current = b;
    } else if ((m = /^(?:---|\+\+\+|\*\*\*) (.+)$/.exec(line)) && !/^(?:---|\*\*\*) \d+(,\d+)? (?:----|\*\*\*\*)\s*$/.test(line)) {
      const p = headerPath(m[1] as string);
      if (p !== "/dev/null") paths.push(p);
    } else if ((m = /^(?:rename|copy) (?:from|to) (.+)$/.exec(line)) || (m = /^Index: (.+)$/.exec(line))) {
      paths.push(headerPath(m[1] as string));
    } else if (/^new file mode 120000/.test(line) && current !== undefined) {
      symlinks.push(current);
    }
  }
  return { paths, symlinks };
}

/** Why a path a patch names may not be written, or undefined: .git anywhere in it, absolute, or `..`. */
function pathProblem(p: string, strip: number): string | undefined {
  const parts = p.split(/[/\\]+/);
  // Any component: whatever the strip level, .git/ is git's, never the patch's (nor .GIT on a
  // case-insensitive file system, nor its 8.3 name git~1).
  if (parts.some((c) => /^\.git[. ]*$/i.test(c) || /^git~\d+$/i.test(c))) return "is inside .git/";
  const stripped = parts.slice(strip);
  if (p.startsWith("/") && strip === 0) return "is an absolute path";
  if (stripped.includes("..")) return 'climbs out of the tree with ".."';
  return undefined;
}

/**
 * Refuses a patch that names a path it may not touch, before anything is applied, whichever tool
 * applies it: a path with a .git component (a patch writing .git/config could name a filter that
 * xqbuild's own `git add` would then run), `..`, an absolute path, or a path under a symbolic link
 * the same patch creates, or one that is already a link in the tree (`dir`) on the way to it.
 */
export function checkPatchPaths(p: Patch, dir: string): void {
  const { paths, symlinks } = patchPaths(p.content.toString("latin1"));
  const strip = (q: string): string => q.split(/\/+/).slice(p.strip).join("/");
  const refuse = (q: string, why: string): never => {
    throw new UserError(`the patch ${p.name} (${p.file}) names ${JSON.stringify(q)}, which ${why}; xqbuild applies no such patch.`, "Nothing was applied. Fix the patch (a patch may change only the tree's own files), or drop it from the queue.", "failure");
  };
  const links = new Set(symlinks.map((s) => strip(s)));
  for (const q of paths) {
    const bad = pathProblem(q, p.strip);
    if (bad) refuse(q, bad);
    const rel = strip(q);
    const parts = rel.split("/").filter((c) => c !== "" && c !== ".");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (links.has(parent)) refuse(q, `is under ${parent}, a symbolic link the same patch creates`);
      if (lstatSync(path.join(dir, parent), { throwIfNoEntry: false })?.isSymbolicLink()) refuse(q, `is under ${parent}, a symbolic link in the tree`);
    }
  }
}
