import { UserError } from "../util/errors.js";
import { ArtifactStore, parseSize } from "./artifacts.js";
import { ArtifactCache } from "./cache.js";
import { remoteCache, remoteUrlProblem, type RemoteCache } from "./remote.js";
import type { ResolvedConfig } from "../config/types.js";

export const DEFAULT_MAX_SIZE = "10G";

/** The artifact cache's size limit: XQBUILD_CACHE_MAX_SIZE, else artifactCache.maxSize, else 10G. */
export function maxBytes(config: ResolvedConfig): number {
  if (config.xq.cacheMaxBytes !== undefined) return config.xq.cacheMaxBytes;
  const text = config.settings.artifactCache?.maxSize ?? DEFAULT_MAX_SIZE;
  const n = parseSize(text);
  if (n === undefined) throw new UserError(`artifactCache.maxSize ${JSON.stringify(text)} is not a size.`, 'Give a size such as "10G", "500M" or a number of bytes.');
  return n;
}

/** The shared remote cache, when XQBUILD_REMOTE_CACHE or artifactCache.remote names one. */
export function remoteOf(config: ResolvedConfig): RemoteCache | undefined {
  // XQBUILD_REMOTE_CACHE="" means none, whatever the config file says.
  const url = config.xq.remoteCache ?? config.settings.artifactCache?.remote;
  if (url === undefined || url === "") return undefined;
  const problem = remoteUrlProblem(url);
  if (problem) throw new UserError(`the remote cache URL ${JSON.stringify(url)} (${config.xq.remoteCache !== undefined ? "XQBUILD_REMOTE_CACHE" : "artifactCache.remote"}) ${problem}.`, "Give the http(s) base URL of a WebDAV or bazel-remote HTTP cache, without credentials (put those in XQBUILD_REMOTE_CACHE_HEADER).");
  const readOnly = config.xq.remoteCacheReadOnly ?? config.settings.artifactCache?.remoteReadOnly ?? false;
  const h = config.xq.remoteCacheHeader;
  const headers: Record<string, string> = h ? { [h.name]: h.value } : {};
  return remoteCache({ url, readOnly, headers, timeoutMs: (config.xq.remoteCacheTimeoutSeconds ?? 30) * 1000 });
}

/** The artifact cache for a build, or undefined when --no-cache, XQBUILD_ARTIFACT_CACHE=0 or artifactCache.enabled is false. */
export function artifactCacheFor(config: ResolvedConfig, noCache: boolean, say: (component: string, text: string) => void): ArtifactCache | undefined {
  if (noCache) return undefined;
  if (!(config.xq.artifactCache ?? config.settings.artifactCache?.enabled ?? true)) return undefined;
  const remote = remoteOf(config);
  return new ArtifactCache({ store: new ArtifactStore(config.cacheDir, maxBytes(config)), ...(remote ? { remote } : {}), say });
}

