// The artifact cache as the build sees it: the local store first, then (when configured) a shared
// remote cache over HTTP GET/PUT. A miss, a download that does not verify, or an upload that fails
// never fails the build: it is said in one line and the build goes on.
import { rm } from "node:fs/promises";
import { formatSize, type ArtifactEntry, type ArtifactStore } from "./artifacts.js";
import type { RemoteCache } from "./remote.js";
import { throwIfInterrupted } from "../signals.js";

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
    const { entry, why } = await this.remote.getEntry(key);
    if (!entry) {
      if (why && !/\b404\b/.test(why)) this.say(component, `remote cache: ${why}`);
      return undefined;
    }
    const blob = this.store.downloadPath(key);
    const started = Date.now();
    const got = await this.remote.getBlob(entry, blob);
    if (!got.ok) {
      await rm(blob, { force: true });
      this.say(component, `remote cache: ignoring ${key.slice(0, 12)}: ${got.why ?? "download failed"}`);
      return undefined;
    }
    const adopted: ArtifactEntry = { format: 1, key, component: entry.component, sha256: entry.sha256, size: entry.size, files: 0, created: entry.created };
    await this.store.adopt(adopted, blob);
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
      if (!r.ok) this.say(component, `remote cache: not uploaded: ${r.why ?? "unknown error"}`);
      else if (!r.skipped) this.say(component, `remote cache: uploaded ${formatSize(r.bytes ?? 0)}`);
    }
    return entry;
  }
}
