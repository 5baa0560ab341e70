import path from "node:path";
import { fileURLToPath } from "node:url";
import { urlProblem } from "../config/validate.js";
import { networkUrl } from "./mirror.js";

/**
 * The one policy for URLs that a fetched file names (a `.gitmodules` submodule URL, a meson wrap's
 * url/source_url/patch_url), as opposed to URLs the user wrote (the *_URL and *_LOC variables, the
 * mirrors setting). It is git's own since 2.38.1 (protocol.file.allow=user): a local transport
 * (file://, a plain or relative path) reaches this machine's repositories and files, which a
 * repository fetched from anywhere has no business naming, so only the user may name one.
 *
 * - A URL the user's mirrors setting maps elsewhere is fetched from where the user said: allowed.
 * - A relative submodule URL (./x, ../x) resolves against the superproject's URL, which the user
 *   wrote, and so inherits its transport; when that is local, the resolved path must stay in the
 *   directory that holds the superproject (its siblings, as ../meson.git names them): a climb out
 *   of it (../../../home/me/private.git) is a local path the user did not name.
 * - Any other local URL is refused.
 */
export interface FetchedUrl {
  /** The URL as the fetched file writes it. */
  readonly written: string;
  /** Where it leads (a relative submodule URL resolved against the superproject's). */
  readonly resolved: string;
  /** The URL the user wrote that a relative `written` resolves against (the superproject's). */
  readonly base?: string;
}

/** Whether a git URL uses a local transport: file://, an absolute, relative or plain path. */
export function isLocalUrl(url: string): boolean {
  if (/^file:/i.test(url)) return true;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return false;
  // git's scp-like syntax, host:path, is ssh when a colon comes before the first slash.
  return !/^[^/]*:/.test(url) && !/^\[[^\]]+\]:/.test(url);
}

/** The local path a local URL names (file:// decoded), resolved; undefined for a network URL. */
function localPath(url: string): string | undefined {
  if (!isLocalUrl(url)) return undefined;
  if (/^file:\/\//i.test(url)) {
    try {
      return path.resolve(fileURLToPath(url.replace(/^file:/i, "file:")));
    } catch {
      return path.resolve(url.replace(/^file:\/\//i, ""));
    }
  }
  return path.resolve(url.replace(/^file:/i, ""));
}

/** Why a URL named by a fetched file is refused, or undefined when it may be fetched. */
export function fetchedUrlProblem(u: FetchedUrl, mirrors: Readonly<Record<string, string>> = {}): string | undefined {
  const bad = urlProblem(u.resolved);
  if (bad) return bad;
  // A URL the user's mirrors map (to anywhere, itself included) is fetched from where the user said;
  // a local mirror is entered, never climbed out of.
  const prefix = Object.keys(mirrors).filter((p) => u.resolved.startsWith(p)).sort((a, b) => b.length - a.length)[0];
  if (prefix !== undefined) {
    const net = networkUrl(u.resolved, mirrors);
    if (isLocalUrl(net) && u.resolved.slice(prefix.length).split(/[/\\]/).includes("..")) return `has ".." after the mirrors prefix ${JSON.stringify(prefix)}, which would climb out of the local mirror ${JSON.stringify(mirrors[prefix] ?? "")}`;
    return undefined;
  }
  if (!isLocalUrl(u.resolved)) return undefined;
  const relative = u.written.startsWith("./") || u.written.startsWith("../");
  if (relative && u.base !== undefined) {
    const superPath = localPath(u.base);
    const target = localPath(u.resolved);
    if (superPath !== undefined && target !== undefined) {
      const rel = path.relative(path.dirname(superPath), target);
      if (rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)) return undefined;
      return `resolves against the superproject's URL to ${target}, outside ${path.dirname(superPath)} (the directory holding the superproject, which you named)`;
    }
  }
  return "is a local path or file:// URL: a fetched file may not name this machine's repositories or files (git refuses it too, protocol.file.allow=user); only your own configuration may";
}

/** The hint for a refused fetched URL: what the user can do about it. */
export function fetchedUrlHint(resolved: string): string {
  return `Nothing was fetched for it. If that repository is yours, map the URL in the mirrors setting of the xqbuild config file (mirrors: { ${JSON.stringify(resolved)}: "<its location>" }); otherwise that revision cannot be fetched safely: report it to the repository's maintainers.`;
}
