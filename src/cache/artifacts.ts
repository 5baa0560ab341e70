// The build artifact cache: the files a component installs, packed as a tar file under the cache
// directory and keyed by the component's full fingerprint (see artifactKey in engine/pipeline.ts),
// so a fresh tree with the same sources, arguments and tools restores them instead of building.
//
//   <cacheDir>/artifacts/<key>.tar    the installed files, relative to DESTDIR
//   <cacheDir>/artifacts/<key>.json   { format, key, component, sha256, size, files, created }; its
//                                     mtime is the entry's last use (least recently used goes first)
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, lstatSync, readFileSync, readdirSync, statSync } from "node:fs";
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { InterruptedError, UserError } from "../util/errors.js";
import { assertInside, fsUserError, loadTar, sha256File } from "../util/fs.js";
import { processSignal, throwIfInterrupted, untilInterrupted } from "../util/signals.js";

export const ARTIFACT_FORMAT = 1;

export interface ArtifactEntry {
  readonly format: number;
  readonly key: string;
  readonly component: string;
  readonly sha256: string;
  readonly size: number;
  readonly files: number;
  readonly created: string;
}

export interface ListedArtifact extends ArtifactEntry {
  /** When the entry was last stored or restored. */
  readonly lastUsed: Date;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The names xqbuild itself writes under <cacheDir>/artifacts, and nothing else is ever counted,
 * evicted or cleaned there: an entry's two files, and the leftovers of an interrupted write (a
 * pack's .tmp, a download and its .part, an unpack directory, an entry's .json temp file).
 */
const ENTRY_FILE = /^[0-9a-f]{64}\.(tar|json)$/;
const LEFTOVER = /^(?:\.[0-9a-f]{64}\.\d+\.[0-9a-f]{8}\.(?:tmp|download|download\.part|unpack)|[0-9a-f]{64}\.json\.\d+\.tmp)$/;

/**
 * How much an artifact may unpack to: xqbuild packs plain tar files, whose stream is exactly as
 * long as the file, so anything that unpacks to much more is compressed, and a decompression bomb.
 */
const UNPACK_RATIO = 2;
const UNPACK_SLACK = 1024 * 1024;
/** The entry types an artifact holds (no devices, FIFOs or other oddities). */
const ENTRY_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** Why an archive entry's path or link leaves the artifact, or undefined when it stays inside. */
function escapes(p: string): string | undefined {
  if (p.includes("\0")) return "has a NUL byte";
  if (path.posix.isAbsolute(p)) return "is absolute";
  if (p.split("/").includes("..")) return "has a .. component";
  return undefined;
}

/** A link target, resolved from the directory holding the link, leaves the artifact. */
function linkLeaves(entryPath: string, target: string): boolean {
  if (path.posix.isAbsolute(target)) return true;
  const n = path.posix.normalize(path.posix.join(path.posix.dirname(entryPath), target));
  return n === ".." || n.startsWith("../");
}

/** Printable: control characters (a terminal escape sequence in a hostile name) shown escaped. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** "10G", "500M", "64k", "1048576" → bytes; undefined when it is not a size. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? "").toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function isEntry(v: unknown, key: string): v is ArtifactEntry {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    e.format === ARTIFACT_FORMAT &&
    e.key === key &&
    typeof e.component === "string" &&
    typeof e.sha256 === "string" &&
    HEX64.test(e.sha256) &&
    typeof e.size === "number" &&
    typeof e.files === "number" &&
    typeof e.created === "string"
  );
}

/** The local artifact store under <cacheDir>/artifacts. */
export class ArtifactStore {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(cacheDir: string, maxBytes: number) {
    this.dir = path.join(cacheDir, "artifacts");
    this.maxBytes = maxBytes;
  }

  /**
   * Whether the store's directory is there; a UserError when <cacheDir>/artifacts is something
   * else (a file), which no command can use.
   */
  private present(): boolean {
    let st;
    try {
      st = statSync(this.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return false;
      throw fsUserError(e, this.dir, "the artifact cache");
    }
    if (!st.isDirectory()) throw fsUserError(Object.assign(new Error("not a directory"), { code: "ENOTDIR" }), this.dir, "the artifact cache");
    return true;
  }

  /** Makes the store's directory, with a UserError for a file in its way. */
  private async makeDir(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw fsUserError(e, this.dir, "the artifact cache");
    }
  }

  /** A UserError when one of an entry's file names is taken by a directory (or anything not a file). */
  private checkSlots(key: string): void {
    for (const p of [this.tarPath(key), this.metaPath(key)]) {
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (!st.isFile()) {
        throw new UserError(`${p} is ${st.isDirectory() ? "a directory" : "not a regular file"}, in the place of an artifact cache entry; xqbuild does not remove what it did not write.`, `Move ${p} out of the way (or delete it); the next build stores its artifact there.`);
      }
    }
  }

  tarPath(key: string): string {
    return path.join(this.dir, `${key}.tar`);
  }

  private metaPath(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  private checkKey(key: string): void {
    if (!HEX64.test(key)) throw new Error(`internal: artifact key ${JSON.stringify(key)} is not 64 hex characters`);
  }

  /** The entry for key when both its files are there and agree on the size; else undefined. */
  lookup(key: string): ArtifactEntry | undefined {
    this.checkKey(key);
    try {
      const entry: unknown = JSON.parse(readFileSync(this.metaPath(key), "utf8"));
      if (!isEntry(entry, key)) return undefined;
      if (statSync(this.tarPath(key)).size !== entry.size) return undefined;
      return entry;
    } catch {
      return undefined;
    }
  }

  /** Marks an entry as just used. */
  async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(this.metaPath(key), now, now).catch(() => undefined);
  }

  /** Packs every file under srcDir as the artifact for key (written aside, then renamed into place). */
  async pack(key: string, component: string, srcDir: string): Promise<ArtifactEntry> {
    this.checkKey(key);
    await this.makeDir();
    this.checkSlots(key);
    const tmp = path.join(this.dir, `.${key}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    let files = 0;
    try {
      const tar = await loadTar();
      // A stream, so that a signal ends the write at once, in the middle of a large file too (the
      // filter only keeps further entries out); the finally below removes the half-made file.
      const pack = tar.c({ cwd: srcDir, portable: true, filter: untilInterrupted(), onWriteEntry: () => void files++ }, ["."]);
      try {
        await pipeline(pack, createWriteStream(tmp), { signal: processSignal });
      } catch (e) {
        throwIfInterrupted();
        throw e;
      }
      throwIfInterrupted();
      const size = statSync(tmp).size;
      const entry: ArtifactEntry = { format: ARTIFACT_FORMAT, key, component, sha256: await sha256File(tmp), size, files, created: new Date().toISOString() };
      throwIfInterrupted();
      await rename(tmp, this.tarPath(key));
      await this.writeMeta(entry);
      return entry;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Takes a downloaded blob (already verified against entry) into the store. */
  async adopt(entry: ArtifactEntry, blob: string): Promise<void> {
    this.checkKey(entry.key);
    await this.makeDir();
    this.checkSlots(entry.key);
    await rename(blob, this.tarPath(entry.key));
    await this.writeMeta(entry);
  }

  private async writeMeta(entry: ArtifactEntry): Promise<void> {
    const tmp = `${this.metaPath(entry.key)}.${process.pid}.tmp`; // LEFTOVER's second form
    await writeFile(tmp, `${JSON.stringify(entry, null, 2)}\n`);
    await rename(tmp, this.metaPath(entry.key));
  }

  /** A file name for a download on the way into the store. */
  downloadPath(key: string): string {
    return path.join(this.dir, `.${key}.${process.pid}.${randomBytes(4).toString("hex")}.download`);
  }

  /**
   * Unpacks the artifact into destDir after checking its sha256 against the entry; an artifact that
   * does not match is removed from the store and reported (the caller builds instead).
   */
  async restore(entry: ArtifactEntry, destDir: string): Promise<{ ok: true } | { ok: false; why: string }> {
    const file = this.tarPath(entry.key);
    let actual: string;
    try {
      actual = await sha256File(file);
    } catch (e) {
      return { ok: false, why: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
    }
    if (actual !== entry.sha256) {
      await this.remove(entry.key);
      return { ok: false, why: `${file} has sha256 ${actual}, not ${entry.sha256} as its entry says (removed)` };
    }
    throwIfInterrupted();
    // Nothing reaches destDir before the whole archive is known to stay inside it.
    const problem = await this.checkArchive(file);
    if (problem !== undefined) {
      await this.remove(entry.key);
      return { ok: false, why: `${file} ${printable(problem)} (removed)` };
    }
    // Beside the tar (where there is room for it), else in the temporary directory (a cache this
    // user may read but not write).
    let stage = path.join(this.dir, `.${entry.key}.${process.pid}.${randomBytes(4).toString("hex")}.unpack`);
    try {
      await mkdir(stage);
    } catch {
      stage = await mkdtemp(path.join(tmpdir(), "xqbuild-unpack-"));
    }
    try {
      try {
        const tar = await loadTar();
        await tar.x({ file, cwd: stage, preserveOwner: false, unlink: true, strict: true, filter: untilInterrupted() });
      } catch (e) {
        await this.remove(entry.key);
        return { ok: false, why: `${file} does not unpack: ${printable((e as Error).message)} (removed)` };
      }
      // An interrupted unpack stops adding entries: nothing of it may reach DESTDIR.
      throwIfInterrupted();
      const resolved = path.resolve(destDir);
      try {
        await mkdir(resolved, { recursive: true });
        await copyInto(stage, resolved);
      } catch (e) {
        if (e instanceof UserError || e instanceof InterruptedError) throw e;
        throw new UserError(`cannot unpack the cached ${printable(entry.component)} (${file}) into ${destDir}: ${(e as Error).message}.`, "Check that the destination is writable; xqbuild cache clear empties the cache, --no-cache builds without it.", "failure");
      }
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
    throwIfInterrupted();
    await this.touch(entry.key);
    return { ok: true };
  }

  /**
   * Reads every header of the archive without unpacking it: undefined when each entry is a file,
   * directory or link whose path and link target stay inside, and the whole unpacks to no more than
   * UNPACK_RATIO times the file (plus a little); else why not. Stops reading at the first problem,
   * so a decompression bomb is not decompressed.
   */
  private async checkArchive(file: string): Promise<string | undefined> {
    const tar = await loadTar();
    const limit = statSync(file).size * UNPACK_RATIO + UNPACK_SLACK;
    return new Promise<string | undefined>((resolve) => {
      let unpacked = 0;
      let done = false;
      const src = createReadStream(file);
      const finish = (why: string | undefined): void => {
        if (done) return;
        done = true;
        src.destroy();
        resolve(why);
      };
      const parser = new tar.Parser({
        strict: true,
        onReadEntry: (e) => {
          const name = e.path.replace(/^(\.\/)+/, "");
          unpacked += 512 + Math.ceil((e.size ?? 0) / 512) * 512;
          const bad =
            unpacked > limit
              ? `unpacks to more than ${limit} bytes (${UNPACK_RATIO} times its size): not an artifact xqbuild packed`
              : !ENTRY_TYPES.has(e.type)
                ? `holds ${JSON.stringify(name)} of type ${e.type}`
                : escapes(name) !== undefined
                  ? `holds an entry whose path ${JSON.stringify(name)} ${escapes(name) ?? ""}`
                  : (e.type === "SymbolicLink" || e.type === "Link") && (e.linkpath === undefined || linkLeaves(e.type === "Link" ? "x" : name, e.linkpath))
                    ? `holds a link ${JSON.stringify(name)} -> ${JSON.stringify(e.linkpath ?? "")} that leaves it`
                    : undefined;
          if (bad !== undefined) finish(bad);
          e.resume();
        },
      });
      parser.on("error", (e: Error) => finish(`is not a readable tar file: ${e.message}`));
      parser.on("warn", (_code: string, message: string) => finish(`is not a clean tar file: ${message}`));
      parser.on("end", () => finish(undefined));
      src.on("error", (e) => finish(`cannot be read: ${e.message}`));
      src.pipe(parser);
    });
  }

  /** Removes an entry's two files; a directory by one of their names is not xqbuild's and stays. */
  async remove(key: string): Promise<void> {
    for (const p of [this.tarPath(key), this.metaPath(key)]) {
      const st = await lstat(p).catch(() => undefined);
      if (st && !st.isDirectory()) await rm(p, { force: true });
    }
  }

  /** Every entry, most recently used first. */
  list(): ListedArtifact[] {
    if (!this.present()) return [];
    const out: ListedArtifact[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (!m) continue;
      const entry = this.lookup(m[1] as string);
      if (!entry) continue;
      out.push({ ...entry, lastUsed: statSync(this.metaPath(entry.key)).mtime });
    }
    return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
  }

  /**
   * Removes least recently used entries until the store holds at most maxBytes (and leftovers of
   * interrupted writes older than an hour); returns what went.
   */
  async prune(maxBytes: number = this.maxBytes, keep?: string): Promise<ListedArtifact[]> {
    const entries = this.list();
    let total = entries.reduce((n, e) => n + e.size, 0);
    const removed: ListedArtifact[] = [];
    for (const e of [...entries].reverse()) {
      if (total <= maxBytes) break;
      if (e.key === keep) continue;
      await this.remove(e.key);
      total -= e.size;
      removed.push(e);
    }
    if (this.present()) {
      const old = (st: { mtimeMs: number }): boolean => Date.now() - st.mtimeMs > 3_600_000;
      for (const name of await readdir(this.dir)) {
        // Only names of xqbuild's own scheme: anything else in the directory is someone else's.
        const entryFile = ENTRY_FILE.test(name);
        if (!entryFile && !LEFTOVER.test(name)) continue;
        const full = path.join(this.dir, name);
        const st = await lstat(full).catch(() => undefined);
        if (!st || !old(st)) continue;
        if (entryFile) {
          // A tar without its entry (or the reverse) is half of an interrupted write; a directory
          // of that name is not xqbuild's.
          if (st.isFile() && !this.lookup(name.slice(0, 64))) await rm(full, { force: true });
        } else if (st.isDirectory() && name.endsWith(".unpack")) await rm(full, { recursive: true, force: true });
        else if (st.isFile()) await rm(full, { force: true });
      }
    }
    return removed;
  }
}

/**
 * Copies the unpacked tree src into dest (which must exist), never through a link that leaves dest:
 * every directory on the way is checked first (a DESTDIR whose usr is a link to /usr is refused
 * before the first file is written), then each file is written aside and renamed into place, so an
 * existing link at a file's name is replaced, not written through. Modes lose setuid, setgid and
 * sticky bits; timestamps are kept.
 */
export async function copyInto(src: string, dest: string): Promise<void> {
  const items: Array<{ rel: string; kind: "dir" | "file" | "link" }> = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(src, rel))).sort()) {
      const r = path.join(rel, name);
      const st = await lstat(path.join(src, r));
      if (st.isDirectory()) {
        items.push({ rel: r, kind: "dir" });
        await walk(r);
      } else items.push({ rel: r, kind: st.isSymbolicLink() ? "link" : "file" });
    }
  };
  await walk("");
  // A directory must resolve inside dest; a file or link only its directory (a link already at its
  // name is replaced by the rename below, never followed).
  for (const it of items) {
    const to = path.join(dest, it.rel);
    if (it.kind === "dir") assertInside(to, dest, "the directory");
    else {
      assertInside(path.dirname(to), dest, "the directory");
      // A directory of DESTDIR's where the artifact has a file is not deleted to make room (with
      // DESTDIR=/ an entry could name /usr/lib): refused, as the install's own copy and make
      // install's cp refuse it, before anything is written.
      if (lstatSync(to, { throwIfNoEntry: false })?.isDirectory()) {
        throw new UserError(`${to} is a directory, where the install puts a ${it.kind === "link" ? "symbolic link" : "file"}; xqbuild does not delete a directory of ${dest} to make room.`, `Move ${to} out of the way (or delete it yourself), then install again. Nothing was installed.`, "failure");
      }
    }
  }
  const created = new Set<string>();
  for (const it of items) {
    throwIfInterrupted();
    const from = path.join(src, it.rel);
    const to = path.join(dest, it.rel);
    const st = await lstat(from);
    const there = await lstat(to).catch(() => undefined);
    if (it.kind === "dir") {
      // A link to a directory inside dest (checked above) is used as that directory.
      const dirThere = there !== undefined && (there.isDirectory() || (there.isSymbolicLink() && (statSync(to, { throwIfNoEntry: false })?.isDirectory() ?? false)));
      if (dirThere) continue;
      if (there) await rm(to, { force: true });
      // Only what this made gets the artifact's mode and time: DESTDIR=/ keeps its /usr as it is.
      // recursive: another component restoring into the same DESTDIR may make it first.
      if ((await mkdir(to, { recursive: true })) !== undefined) {
        await chmod(to, st.mode & 0o777);
        created.add(it.rel);
      }
      continue;
    }
    const tmp = `${to}.xqbuild-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      if (it.kind === "link") await symlink(await readlink(from), tmp);
      else {
        await copyFile(from, tmp);
        await chmod(tmp, st.mode & 0o777);
        await utimes(tmp, st.atime, st.mtime);
      }
      await rename(tmp, to);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
  // Directory times last: writing into them changed theirs.
  for (const it of items.filter((i) => created.has(i.rel)).reverse()) {
    const st = await lstat(path.join(src, it.rel));
    await utimes(path.join(dest, it.rel), st.atime, st.mtime).catch(() => undefined);
  }
}
