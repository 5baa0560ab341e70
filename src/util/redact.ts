/**
 * Credentials in URLs are never echoed. A URL such as https://user:password@host/x.git?token=…
 * may be configured in .config, the `mirrors` setting or XQBUILD_REMOTE_CACHE; git redacts such
 * URLs in its own lines, and xqbuild must not undo that by printing or writing them itself. Two
 * functions hold the one policy: `redactText` for anything shown (applied at the output choke point,
 * src/report/output.ts, so a path that forgot is still covered) and `withoutCredentials` for what is
 * written to disk and compared with it (xqbuild.lock, a mirror's or a checkout's recorded URL).
 */

/**
 * scheme://userinfo@ — the userinfo is everything up to the last @ before the path, query or
 * fragment. Schemes are at most 32 characters, so that a megabyte of build output with a `://` in
 * it costs a linear scan, not a quadratic one.
 */
const USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/g;
/** scheme://authority/path?query — the query up to a blank, a fragment or a closing quote or bracket. */
const QUERY = /\b([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s?#"'<>]*)\?[^\s#"'<>)\]]*/g;

/**
 * An ssh user name (ssh://git@host/x) names an account, not a secret, and the URL does not work
 * without it; every other userinfo (an http token given as the user name too) is a credential.
 */
function isCredential(scheme: string, userinfo: string): boolean {
  return !(/^(?:ssh|git\+ssh|ssh\+git):\/\/$/i.test(scheme) && !userinfo.includes(":"));
}

/** Every URL in `text` with its userinfo shown as `***@` and its query string as `?***`. */
export function redactText(text: string): string {
  if (!text.includes("://")) return text;
  return text
    .replace(USERINFO, (all: string, scheme: string) => (isCredential(scheme, all.slice(scheme.length, -1)) ? `${scheme}***@` : all))
    .replace(QUERY, "$1?***");
}

/**
 * A URL as it may be stored: no userinfo at all and no query string (a token there is a
 * credential too). Stored and configured URLs are compared in this form, so a lock file written
 * without the password still matches the configuration that has it. Local paths are unchanged.
 */
export function withoutCredentials(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(?:\?[^#]*)?(#.*)?$/.exec(url);
  if (!m) return url;
  const [, scheme = "", authority = "", rest = "", fragment = ""] = m;
  const at = authority.lastIndexOf("@");
  const keep = at < 0 || !isCredential(scheme, authority.slice(0, at));
  return `${scheme}${keep ? authority : authority.slice(at + 1)}${rest}${fragment}`;
}

/** Whether a URL carries something withoutCredentials would drop. */
export function hasCredentials(url: string): boolean {
  return withoutCredentials(url) !== url;
}
