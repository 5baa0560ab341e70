import { UsageError, UserError } from "../errors.js";
import { ArtifactStore, formatSize, parseSize, printable } from "../cache/artifacts.js";
import { ArtifactCache } from "../cache/cache.js";
import { remoteCache, remoteUrlProblem, type RemoteCache } from "../cache/remote.js";
import type { ResolvedConfig } from "../config/types.js";
import { loadConfig, type CommandContext } from "./context.js";

export const DEFAULT_MAX_SIZE = "10G";

/** The artifact cache's size limit: XQBUILD_CACHE_MAX_SIZE, else artifactCache.maxSize, else 10G. */
function maxBytes(config: ResolvedConfig): number {
  const fromEnv = config.env.XQBUILD_CACHE_MAX_SIZE;
  const text = fromEnv ?? config.settings.artifactCache?.maxSize ?? DEFAULT_MAX_SIZE;
  const n = parseSize(text);
  if (n === undefined) throw new UserError(`XQBUILD_CACHE_MAX_SIZE=${JSON.stringify(text)} is not a size.`, 'Give a size such as "10G", "500M" or a number of bytes.');
  return n;
}

/** The shared remote cache, when XQBUILD_REMOTE_CACHE or artifactCache.remote names one. */
function remoteOf(config: ResolvedConfig): RemoteCache | undefined {
  const env = config.env;
  const url = env.XQBUILD_REMOTE_CACHE ?? config.settings.artifactCache?.remote;
  if (url === undefined || url === "") return undefined;
  const problem = remoteUrlProblem(url);
  if (problem) throw new UserError(`the remote cache URL ${JSON.stringify(url)} (${env.XQBUILD_REMOTE_CACHE !== undefined ? "XQBUILD_REMOTE_CACHE" : "artifactCache.remote"}) ${problem}.`, "Give the http(s) base URL of a WebDAV or bazel-remote HTTP cache, without credentials (put those in XQBUILD_REMOTE_CACHE_HEADER).");
  const readOnly = config.xq.remoteCacheReadOnly ?? config.settings.artifactCache?.remoteReadOnly ?? false;
  const header = env.XQBUILD_REMOTE_CACHE_HEADER;
  const headers: Record<string, string> = {};
  if (header) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(header);
    if (!m) throw new UserError("XQBUILD_REMOTE_CACHE_HEADER must look like NAME: VALUE (for example Authorization: Bearer ...).");
    headers[m[1] as string] = m[2] as string;
  }
  return remoteCache({ url, readOnly, headers, timeoutMs: (config.xq.remoteCacheTimeoutSeconds ?? 30) * 1000 });
}

/** The artifact cache for a build, or undefined when --no-cache, XQBUILD_ARTIFACT_CACHE=0 or artifactCache.enabled is false. */
export function artifactCacheFor(ctx: CommandContext, config: ResolvedConfig, say: (component: string, text: string) => void): ArtifactCache | undefined {
  if (ctx.args.noCache) return undefined;
  if (!(config.xq.artifactCache ?? config.settings.artifactCache?.enabled ?? true)) return undefined;
  const remote = remoteOf(config);
  return new ArtifactCache({ store: new ArtifactStore(config.cacheDir, maxBytes(config)), ...(remote ? { remote } : {}), say });
}

function age(d: Date): string {
  const s = Math.max(0, (Date.now() - d.getTime()) / 1000);
  if (s < 120) return `${Math.round(s)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** `xqbuild cache [list]`, `cache prune [SIZE]`, `cache clear`. */
export async function cacheCommand(ctx: CommandContext): Promise<number> {
  const config = await loadConfig(ctx);
  const limit = maxBytes(config);
  const store = new ArtifactStore(config.cacheDir, limit);
  const [sub = "list", size] = ctx.args.words;
  const o = ctx.output;
  if (sub === "prune" || sub === "clear") {
    let to = sub === "clear" ? 0 : limit;
    if (size !== undefined) {
      const n = parseSize(size);
      if (n === undefined) throw new UsageError(`xqbuild cache prune ${JSON.stringify(size)}: not a size.`, 'Give a size such as "2G" or "500M".');
      to = n;
    }
    const removed = await store.prune(to);
    const freed = removed.reduce((n, e) => n + e.size, 0);
    if (ctx.args.json) o.out(JSON.stringify({ removed: removed.map((e) => ({ key: e.key, component: e.component, size: e.size })), freed }));
    else if (!ctx.args.quiet) o.err(`xqbuild cache: removed ${removed.length} ${removed.length === 1 ? "entry" : "entries"} (${formatSize(freed)}); ${formatSize(store.list().reduce((n, e) => n + e.size, 0))} left in ${store.dir}`);
    return 0;
  }
  const entries = store.list();
  const total = entries.reduce((n, e) => n + e.size, 0);
  const remote = remoteOf(config);
  if (ctx.args.json) {
    o.out(JSON.stringify({ dir: store.dir, limit, total, remote: remote ? { url: remote.url, readOnly: remote.readOnly } : null, entries: entries.map((e) => ({ ...e, lastUsed: e.lastUsed.toISOString() })) }, null, 2));
    return 0;
  }
  o.out(`artifact cache: ${store.dir}`);
  o.out(`  ${entries.length} ${entries.length === 1 ? "entry" : "entries"}, ${formatSize(total)} of ${formatSize(limit)}`);
  if (remote) o.out(`  remote: ${remote.url}${remote.readOnly ? " (read-only)" : ""}`);
  for (const e of entries) o.out(`  ${e.key.slice(0, 12)}  ${printable(e.component).padEnd(22)} ${formatSize(e.size).padStart(9)}  used ${age(e.lastUsed)}`);
  return 0;
}
