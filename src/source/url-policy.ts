import path from "node:path";
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

/**
 * A file:// URL's path as git reads it: the host part (file://localhost/...) dropped and every %XX
 * escape decoded (git's url_decode), %2e%2e and %2F included, so file:///mirror/%2e%2e/x is
 * /mirror/../x to git, whatever a URL parser that refuses an encoded slash makes of it.
 */
function fileUrlPath(url: string): string {
  const rest = url.replace(/^file:\/\//i, "");
  return percentDecoded(rest.startsWith("/") ? rest : rest.slice(Math.max(0, rest.indexOf("/"))));
}

/** s with every %XX replaced by the byte it names (read as UTF-8); a stray % is kept. */
function percentDecoded(s: string): string {
  const src = Buffer.from(s, "utf8");
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const hex = src.toString("latin1", i + 1, i + 3);
    if (src[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(src[i] as number);
  }
  return Buffer.from(out).toString("utf8");
}

/** The local path a local URL names, as git reads it (file:// decoded), resolved; undefined for a network URL. */
function localPath(url: string): string | undefined {
  if (!isLocalUrl(url)) return undefined;
  if (/^file:\/\//i.test(url)) return path.resolve(fileUrlPath(url));
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
    // git decodes %XX in a file:// URL (fileUrlPath), so an escaped ".." climbs as well as a plain one.
    if (isLocalUrl(net) && percentDecoded(u.resolved.slice(prefix.length)).split(/[/\\]/).includes("..")) return `has ".." (plain or %-escaped, which git decodes) after the mirrors prefix ${JSON.stringify(prefix)}, which would climb out of the local mirror ${JSON.stringify(mirrors[prefix] ?? "")}`;
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
