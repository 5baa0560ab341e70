// The artifact cache as the build sees it: the local store first, then (when configured) a shared
// remote cache over HTTP GET/PUT. A miss, a download that does not verify, or an upload that fails
// never fails the build: it is said in one line and the build goes on.
import { constants } from "node:fs";
import { access, mkdir, rm } from "node:fs/promises";
import { UserError } from "../util/errors.js";
import { firstNonDirectory } from "../util/fs.js";
import { formatSize, printable, type ArtifactEntry, type ArtifactStore } from "./artifacts.js";
import type { RemoteCache } from "./remote.js";
import { throwIfInterrupted } from "../util/signals.js";

export interface ArtifactCacheOptions {
  readonly store: ArtifactStore;
  readonly remote?: RemoteCache;
  /** One line for the person or the log. */
  readonly say: (component: string, text: string) => void;
}

export class ArtifactCache {
  readonly store: ArtifactStore;
  readonly remote: RemoteCache | undefined;
  private readonly say: (component: string, text: string) => void;

  constructor(opts: ArtifactCacheOptions) {
    this.store = opts.store;
    this.remote = opts.remote;
    this.say = opts.say;
  }

  /** The entry for key: local, else downloaded from the remote cache and verified. */
  async find(key: string, component: string): Promise<ArtifactEntry | undefined> {
    const local = this.store.lookup(key);
    if (local) return local;
    if (!this.remote) return undefined;
    const { entry, why, status } = await this.remote.getEntry(key);
    if (!entry) {
      // Not there (404) is the ordinary miss, said by the cache event; anything else is worth a line.
      if (why && status !== 404) this.say(component, `remote cache: ${printable(why)}`);
      return undefined;
    }
    // No download larger than the whole local store may be: it would be evicted at once, and a
    // remote that names 50 GB fills the disk first.
    if (entry.size > this.store.maxBytes) {
      this.say(component, `remote cache: ignoring ${key.slice(0, 12)}: its ${formatSize(entry.size)} are more than the artifact cache's limit of ${formatSize(this.store.maxBytes)}`);
      return undefined;
    }
    const blob = this.store.downloadPath(key);
    const started = Date.now();
    const got = await this.remote.getBlob(entry, blob);
    if (!got.ok) {
      await rm(blob, { force: true });
      this.say(component, `remote cache: ignoring ${key.slice(0, 12)}: ${printable(got.why ?? "download failed")}`);
      return undefined;
    }
    const adopted: ArtifactEntry = { format: 1, key, component: entry.component, sha256: entry.sha256, size: entry.size, files: 0, created: entry.created };
    try {
      await this.store.adopt(adopted, blob);
    } catch (e) {
      // A store that cannot take it (a directory in the entry's place): a miss, said in one line.
      await rm(blob, { force: true });
      this.say(component, `remote cache: not kept: ${printable((e as Error).message)}`);
      return undefined;
    }
    this.say(component, `remote cache: downloaded ${formatSize(entry.size)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return adopted;
  }

  /** Whether key is there, locally or remotely, without downloading it. */
  async has(key: string): Promise<boolean> {
    if (this.store.lookup(key)) return true;
    if (!this.remote) return false;
    return (await this.remote.getEntry(key)).entry !== undefined;
  }

  /** Packs stagingDir as key's artifact, keeps the store within its size, and shares it remotely. */
  async put(key: string, component: string, stagingDir: string): Promise<ArtifactEntry> {
    const entry = await this.store.pack(key, component, stagingDir);
    throwIfInterrupted();
    const removed = await this.store.prune(this.store.maxBytes, key);
    if (removed.length > 0) this.say(component, `artifact cache: evicted ${removed.length} least recently used (${formatSize(removed.reduce((n, e) => n + e.size, 0))})`);
    throwIfInterrupted();
    if (this.remote && !this.remote.readOnly) {
      const r = await this.remote.put(key, { sha256: entry.sha256, size: entry.size, component, created: entry.created }, this.store.tarPath(key));
      if (!r.ok) this.say(component, `remote cache: not uploaded: ${printable(r.why ?? "unknown error")}`);
      else if (!r.skipped) this.say(component, `remote cache: uploaded ${formatSize(r.bytes ?? 0)}`);
    }
    return entry;
  }
}

/**
 * Makes the cache directory (mirrors, tarballs, artifacts) or says in one paragraph why it cannot
 * be: by default it is under $HOME/.cache, and a HOME that is not writable (a service account, a
 * read-only container) is the common case, so the hint names the variables that move it.
 */
export async function ensureCacheDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const blocker = code === "ENOTDIR" || code === "EEXIST" ? firstNonDirectory(dir) : undefined;
    throw new UserError(
      `the cache directory ${dir} cannot be used: ${blocker !== undefined ? `${blocker} is a file, not a directory` : `${code}`}.`,
      "Set XQBUILD_CACHE_DIR (or XDG_CACHE_HOME) to a writable directory, or make that one writable; without either, the cache is $HOME/.cache/xqbuild.",
    );
  }
}
