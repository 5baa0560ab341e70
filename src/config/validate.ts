import { COMPONENT_NAMES } from "../components/names.js";
import { RECIPES } from "../components/index.js";
import { UserError } from "../util/errors.js";
import { formatOrigin, type ResolvedVar } from "./types.js";

const MAX_VALUE = 4096;
const ALLOWED_SCHEMES = new Set(["git", "http", "https", "ssh", "git+ssh", "ssh+git", "file"]);

/** Why a git URL or local path is refused, or undefined when it is acceptable. */
export function urlProblem(url: string): string | undefined {
  if (url.length > MAX_VALUE) return `is ${url.length} characters long (at most ${MAX_VALUE})`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(url)) return "contains a control character (a CR from a DOS line ending, a NUL, a newline or a tab)";
  if (url.startsWith("-")) return "begins with '-', which git would read as an option";
  if (/\s/.test(url)) return "contains white space";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (scheme) {
    const s = (scheme[1] ?? "").toLowerCase();
    if (!ALLOWED_SCHEMES.has(s)) return `uses the transport "${s}://", which xqbuild does not allow (allowed: git://, http(s)://, ssh://, file:// and local paths)`;
    const rest = url.slice(scheme[0].length);
    const host = rest.split("/")[0] ?? "";
    const hostOnly = host.replace(/^[^@]*@/, "");
    if (hostOnly.startsWith("-") || host.startsWith("-")) return "names a host beginning with '-', which ssh would read as an option";
    return undefined;
  }
  if (/^[A-Za-z0-9+.-]+::/.test(url)) return `uses git's remote-helper syntax "${url.split("::")[0]}::", which xqbuild does not allow`;
  const scp = /^([^/:]+):(.*)$/.exec(url);
  if (scp) {
    const host = (scp[1] ?? "").replace(/^[^@]*@/, "");
    if (host.startsWith("-")) return "names a host beginning with '-', which ssh would read as an option";
  }
  return undefined;
}

/** Why a revision is refused, or undefined when it is acceptable (empty means the default branch). */
export function revisionProblem(rev: string): string | undefined {
  if (rev === "") return undefined;
  if (rev.length > 256) return `is ${rev.length} characters long`;
  if (rev.startsWith("-")) return "begins with '-', which git would read as an option";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(rev)) return "contains a control character (a CR from a DOS line ending, a NUL, a newline or a tab)";
  if (!/^[A-Za-z0-9][A-Za-z0-9._/+@-]*$/.test(rev) || rev.includes("..") || rev.includes("@{") || rev.endsWith(".lock") || rev.endsWith("/")) {
    return "is not a branch, tag or commit name (allowed: letters, digits and . _ / + @ -)";
  }
  return undefined;
}

/** The make variables that name each component's source: git URLs or paths, and revisions. */
function sourceVarNames(): { urls: string[]; revisions: string[] } {
  const recipes = COMPONENT_NAMES.map((n) => RECIPES[n]);
  return {
    urls: [...recipes.map((r) => r.sourceVars.url), ...recipes.map((r) => r.sourceVars.loc)],
    revisions: recipes.map((r) => r.sourceVars.revision),
  };
}

function describe(name: string, v: ResolvedVar, xenRoot: string): string {
  const shown = v.value.length > 80 ? JSON.stringify(v.value.slice(0, 77)) + "..." : JSON.stringify(v.value);
  return `${name} (${formatOrigin(v.origin, xenRoot)}${v.via ? ", " + v.via : ""}) = ${shown}`;
}

/** Refuses hostile or malformed source locations before anything is run with them. */
export function validateSourceVars(vars: ReadonlyMap<string, ResolvedVar>, xenRoot: string): void {
  const names = sourceVarNames();
  for (const name of names.urls) {
    const v = vars.get(name);
    // The glue passes these unquoted to the shell, which drops blanks around them (a trailing comment).
    if (!v || v.value.trim() === "") continue;
    const p = urlProblem(v.value.trim());
    if (p) throw new UserError(`${describe(name, v, xenRoot)} ${p}.`, `Set ${name} to a git://, http(s)://, ssh:// or file:// URL or a local path.`);
  }
  for (const name of names.revisions) {
    const v = vars.get(name);
    if (!v) continue;
    const p = revisionProblem(v.value.trim());
    if (p) throw new UserError(`${describe(name, v, xenRoot)} ${p}.`, `Set ${name} to a branch, tag or commit.`);
  }
}
