import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, createReadStream, fstatSync, lstatSync, mkdirSync, openSync, readSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import { chmod, copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import path from "node:path";
import type * as Tar from "tar";
import { UserError } from "./errors.js";
import { processSignal, throwIfInterrupted } from "./signals.js";

/**
 * Writes a file so that readers see the old or the new content, never a part: temp file + rename.
 * With root, the file must stay inside it (see mkdirInside); the rename replaces a link, never
 * writes through it.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array, root?: string, what = "the file"): Promise<void> {
  if (root !== undefined) await mkdirInside(path.dirname(file), root, what);
  else await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw root !== undefined ? fsUserError(e, file, what) : e;
  }
}

/**
 * Puts content (or a copy of the file from) at target by writing a temporary file beside it and
 * renaming it into place: a symbolic link already at target (a fetched tree that tracks `.config`
 * as a link to ~/.bashrc) is replaced, never written through. mode, when given, is set before the
 * rename.
 */
export async function replaceFile(target: string, source: { content: string | Uint8Array } | { from: string }, mode?: number): Promise<void> {
  const tmp = `${target}.xqbuild-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    if ("content" in source) await writeFile(tmp, source.content, { flag: "wx" });
    else await copyFile(source.from, tmp, constants.COPYFILE_EXCL);
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** replaceFile for a small synchronous write, refused (a UserError) when target's directory leaves root. */
export function replaceFileSync(target: string, content: string, root: string): void {
  assertInside(path.dirname(target), root, "the directory");
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.xqbuild-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(tmp, content, { flag: "wx" });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * How large a file the user names as an input (a verify key or keyring, a patch) may be: far above
 * any real one (Debian's whole keyring is some 30 MiB), far below what fills memory or a disk.
 */
export const MAX_INPUT_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Why a named input file cannot be read as one: an errno code (ENOENT, EACCES), or what it is
 * instead of a regular file, or its size above the limit. Callers put `reason` into their own
 * UserError, which names the setting that named the file.
 */
export class InputFileError extends Error {
  override readonly name = "InputFileError";
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
  }
}

/** What an InputFileError (or any other error of a read) says went wrong, for a message. */
export function inputFileReason(e: unknown): string {
  return e instanceof InputFileError ? e.reason : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
}

function notRegular(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO()) return "it is a named pipe (FIFO), not a regular file";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "it is a device, not a regular file";
  if (st.isDirectory()) return "it is a directory, not a regular file";
  if (st.isSocket()) return "it is a socket, not a regular file";
  return "it is not a regular file";
}

/**
 * The bytes of a file the user named as an input, refused (InputFileError) unless it is a regular
 * file of at most maxBytes. A FIFO would block the open (and so the whole process, signals
 * included) until someone writes it, /dev/zero never ends, and a huge file fills memory: the open
 * does not block (O_NONBLOCK, which a regular file ignores), what it opened is looked at (fstat, so
 * a link is judged by its target and nothing changes in between), and no more than maxBytes + 1 is
 * ever read, should the file grow meanwhile.
 */
export function readInputFileSync(file: string, maxBytes = MAX_INPUT_FILE_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new InputFileError(file, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    const odd = notRegular(st);
    if (odd !== undefined) throw new InputFileError(file, odd);
    const tooBig = (): InputFileError => new InputFileError(file, `it is larger than ${maxBytes / (1024 * 1024)} MiB, more than xqbuild reads of such a file`);
    if (st.size > maxBytes) throw tooBig();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(Math.max(st.size - total, 0) + 65536, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new InputFileError(file, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooBig();
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** sha256 of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  // A signal ends the read at once (a cached artifact can be hundreds of MB).
  try {
    await pipeline(createReadStream(file), h, { signal: processSignal });
  } catch (e) {
    throwIfInterrupted();
    throw e;
  }
  return h.digest("hex");
}

/** node-tar, loaded when an archive is first read or written (most runs handle none). */
export function loadTar(): Promise<typeof Tar> {
  return import("tar");
}

// ---------------------------------------------------------------------------------------------
// Containment: every path xqbuild deletes or writes under a tree, its .xqbuild/, a build directory,
// DESTDIR or the cache must stay inside the directory it belongs to. A symbolic link on the way (a
// `.xqbuild` that points at the tree's parent, a tools/firmware that points elsewhere, a DESTDIR
// with usr -> /usr) is never followed out: the rule is the realpath of the deepest existing part of
// the path, so links that stay inside are fine and links that leave are refused, with the link named.

/**
 * Whether a relative path that a file names (a wrap key, a submodule name, a series entry) leaves
 * the directory it is relative to as written: absolute, or with a ".." component ("/" or "\\").
 * Where it leads through links is assertInside's / staysInside's question.
 */
export function climbsOut(rel: string): boolean {
  return path.isAbsolute(rel) || rel.split(/[/\\]/).includes("..");
}

/** Whether p is root itself or below it (both absolute and already resolved). */
export function isWithin(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path p names: the realpath of its deepest existing ancestor (p itself included) joined
 * with the parts that do not exist yet. A dangling symbolic link resolves to where it points.
 */
export function resolveExisting(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (let hops = 0; ; hops++) {
    try {
      return path.join(realpathSync(cur), ...rest);
    } catch {
      // A dangling link: follow it by hand (a write through it would create its target).
      let target: string | undefined;
      try {
        if (hops < 40 && lstatSync(cur).isSymbolicLink()) target = path.resolve(path.dirname(cur), readlinkSync(cur));
      } catch {
        // not there at all
      }
      if (target !== undefined) {
        cur = target;
        continue;
      }
      const parent = path.dirname(cur);
      if (parent === cur) return path.join(cur, ...rest);
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

/** The first symbolic link on the way from root down to p, for the message. */
function firstLink(p: string, root: string): string | undefined {
  const rel = path.relative(root, p);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  let cur = root;
  for (const part of rel.split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    try {
      if (lstatSync(cur).isSymbolicLink()) return cur;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function outsideError(target: string, real: string, root: string, what: string): UserError {
  const link = firstLink(path.resolve(target), path.resolve(root));
  const via = link !== undefined ? `: ${link} is a symbolic link to ${readlinkQuiet(link)}` : "";
  return new UserError(
    `${what} ${target} resolves to ${real}, outside ${root}${via}. xqbuild deletes and writes only inside ${root}, never through a link that leaves it.`,
    link !== undefined ? `Remove the link (rm ${link}) or replace it with a real directory, then run again.` : `Make ${target} a real directory inside ${root}, then run again.`,
  );
}

function readlinkQuiet(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return "?";
  }
}

/**
 * Throws a UserError unless writing target stays inside root: the realpath of target (or of its
 * deepest existing ancestor, or where a dangling link points) must be root or below it.
 */
export function assertInside(target: string, root: string, what = "the path"): void {
  const realRoot = resolveExisting(root);
  const real = resolveExisting(target);
  if (!isWithin(real, realRoot)) throw outsideError(target, real, root, what);
}

/** assertInside as a question: whether writing target stays inside root. */
export function staysInside(target: string, root: string): boolean {
  return isWithin(resolveExisting(target), resolveExisting(root));
}

/**
 * mkdir -p of dir, refused when it would land outside root, and with a UserError naming the part of
 * the path that is a file where a directory must be (`.xqbuild` a file, `<cache>/artifacts` a file).
 */
export async function mkdirInside(dir: string, root: string, what = "the directory"): Promise<void> {
  assertInside(dir, root, what);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw fsUserError(e, dir, what);
  }
}

/** A UserError for an odd thing on the way to p (a file where a directory must be, no permission). */
export function fsUserError(e: unknown, p: string, what: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  // The errno code stays readable on the UserError (a one-line warning prints it first).
  return Object.assign(fsUserErrorOf(code, e, p, what), code !== undefined ? { code } : {});
}

function fsUserErrorOf(code: string | undefined, e: unknown, p: string, what: string): Error {
  if (code === "EEXIST" || code === "ENOTDIR") {
    const blocker = firstNonDirectory(p);
    return new UserError(
      blocker === undefined || blocker === path.resolve(p) ? `${p} is a file, not a directory; xqbuild keeps ${what} there.` : `${blocker} is a file, not a directory, so xqbuild cannot make ${what} ${p}.`,
      `Move ${blocker ?? p} out of the way (or delete it), then run again.`,
    );
  }
  if (code === "EISDIR") {
    return new UserError(`${p} is a directory where xqbuild keeps a file (${what}).`, `Move ${p} out of the way (or delete it), then run again.`);
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new UserError(`cannot create ${what} ${p} (${code}).`, "Make it writable for this user, or point xqbuild elsewhere (XQBUILD_CACHE_DIR for the cache).", "failure");
  }
  return e as Error;
}

/** The first part of p (from the top) that exists and is not a directory. */
export function firstNonDirectory(p: string): string | undefined {
  let cur = path.parse(path.resolve(p)).root;
  for (const part of path.resolve(p).split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    try {
      if (!statSync(cur).isDirectory()) return cur;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Removes target, never following a symbolic link out of root: a link is unlinked itself, a file is
 * unlinked, a directory is removed (recursively, links inside it unlinked, not followed) only when
 * its realpath is inside root and is not root itself; anything on the way leaving root is refused.
 * A target that is not there is fine.
 */
export async function removeInside(target: string, root: string, what = "the path"): Promise<void> {
  const kind = checkRemovable(target, root, what);
  if (kind === "absent") return;
  await rm(path.resolve(target), kind === "directory" ? { recursive: true, force: true } : { force: true });
}

/**
 * What removeInside would remove ("absent", "file" for a file or a link, "directory"), or the
 * UserError it would throw: for checking every target of a command before the first is removed.
 */
export function checkRemovable(target: string, root: string, what = "the path"): "absent" | "file" | "directory" {
  const t = path.resolve(target);
  let st: Stats;
  try {
    st = lstatSync(t);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "absent";
    throw e;
  }
  const realRoot = resolveExisting(root);
  // The directory holding it: a link on the way would make the unlink land elsewhere.
  const parent = resolveExisting(path.dirname(t));
  if (!isWithin(parent, realRoot)) throw outsideError(target, path.join(parent, path.basename(t)), root, what);
  if (!st.isDirectory()) return "file";
  const real = realpathSync(t);
  if (!isWithin(real, realRoot) || (real === realRoot && t !== path.resolve(root))) throw outsideError(target, real, root, what);
  return "directory";
}
