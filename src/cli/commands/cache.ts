import { UsageError } from "../../util/errors.js";
import { maxBytes, remoteOf } from "../../cache/from-config.js";
import { ArtifactStore, formatSize, parseSize, printable } from "../../cache/artifacts.js";
import { loadConfig, type CommandContext } from "../context.js";

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
