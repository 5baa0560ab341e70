// The build artifact cache: the files a component installs, packed as a tar file under the cache
// directory and keyed by the component's full fingerprint (see artifactKey in engine/pipeline.ts),
// so a fresh tree with the same sources, arguments and tools restores them instead of building.
//
//   <cacheDir>/artifacts/<key>.tar    the installed files, relative to DESTDIR
//   <cacheDir>/artifacts/<key>.json   { format, key, component, sha256, size, files, created }; its
//                                     mtime is the entry's last use (least recently used goes first)
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdir, rename, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";
import { loadTar, sha256File } from "../fsutil.js";
import { throwIfInterrupted, untilInterrupted } from "../signals.js";

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
    await mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `.${key}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    let files = 0;
    try {
      const tar = await loadTar();
      // Once interrupted, the filter lets no more entries in and the check below removes the half-made file.
      await tar.c({ file: tmp, cwd: srcDir, portable: true, filter: untilInterrupted(), onWriteEntry: () => void files++ }, ["."]);
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
    await mkdir(this.dir, { recursive: true });
    await rename(blob, this.tarPath(entry.key));
    await this.writeMeta(entry);
  }

  private async writeMeta(entry: ArtifactEntry): Promise<void> {
    const tmp = `${this.metaPath(entry.key)}.${process.pid}.tmp`;
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
    try {
      await mkdir(destDir, { recursive: true });
      const tar = await loadTar();
      await tar.x({ file, cwd: destDir, preserveOwner: false, unlink: true, strict: true, filter: untilInterrupted() });
    } catch (e) {
      throw new UserError(`cannot unpack the cached ${entry.component} (${file}) into ${destDir}: ${(e as Error).message}.`, "Check that the destination is writable; xqbuild cache clear empties the cache, --no-cache builds without it.", 1);
    }
    throwIfInterrupted();
    await this.touch(entry.key);
    return { ok: true };
  }

  async remove(key: string): Promise<void> {
    await rm(this.tarPath(key), { force: true });
    await rm(this.metaPath(key), { force: true });
  }

  /** Every entry, most recently used first. */
  list(): ListedArtifact[] {
    if (!existsSync(this.dir)) return [];
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
    if (existsSync(this.dir)) {
      for (const name of readdirSync(this.dir)) {
        const known = /^[0-9a-f]{64}\.(tar|json)$/.test(name);
        const full = path.join(this.dir, name);
        if (known) {
          // A tar without its entry (or the reverse) is half of an interrupted write.
          const key = name.slice(0, 64);
          if (!this.lookup(key) && Date.now() - statSync(full).mtimeMs > 3_600_000) await rm(full, { force: true });
        } else if (Date.now() - statSync(full).mtimeMs > 3_600_000) await rm(full, { force: true, recursive: true });
      }
    }
    return removed;
  }
}
