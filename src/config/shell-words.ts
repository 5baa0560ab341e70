import { lstatSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { UserError } from "../util/errors.js";

/**
 * Splits text into words the way /bin/sh splits an unquoted `$(VAR)` in a recipe line, where the
 * glue passes CONFIG_QEMUU_EXTRA_ARGS to configure: blanks separate words, and single quotes,
 * double quotes and backslashes group and escape. Expansions ($, backquotes) are not performed: a
 * value that needs them is refused rather than run through a shell. Pathname expansion (globs) is
 * performed when the caller names the shell's directory (`globCwd`): the glue's shell expands
 * `--foo /etc/host*` into the matching files, and configure must get the same argv from xqbuild.
 */
export interface ShellWordOptions {
  /**
   * Expand unquoted `*`, `?` and `[...]` as sh's pathname expansion does in this directory (the
   * cwd of the glue's shell): matches sorted, a pattern that matches nothing kept as written. Without
   * it the text is split only (the callers that split as meson or a program does, not a shell).
   */
  readonly globCwd?: string;
}

export function shellWords(text: string, what: string, opts: ShellWordOptions = {}): string[] {
  const words: string[] = [];
  let cur = "";
  // The word as a glob pattern: quoted and escaped characters are escaped in it.
  let pat = "";
  let glob = false;
  let inWord = false;
  let i = 0;
  const quoted = (t: string): void => {
    cur += t;
    pat += t.replace(/[*?[\\\]]/g, "\\$&");
  };
  const push = (): void => {
    const matched = glob && opts.globCwd !== undefined ? expandPathname(pat, opts.globCwd) : [];
    if (matched.length > 0) words.push(...matched);
    else words.push(cur);
  };
  const refuse = (why: string): never => {
    throw new UserError(`${what}: ${why}: ${JSON.stringify(text)}`, "Write the arguments without shell expansions, or pass them through the xqbuild config file's extraConfigureArgs (an array, one argument each).");
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) push();
      cur = "";
      pat = "";
      glob = false;
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) refuse("unterminated single quote");
      quoted(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) refuse("unterminated double quote");
        const d = text[i] as string;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < text.length && '$`"\\\n'.includes(text[i + 1] as string)) {
          if (text[i + 1] !== "\n") quoted(text[i + 1] as string);
          i += 2;
          continue;
        }
        if (d === "$" || d === "`") refuse("shell expansion inside double quotes");
        quoted(d);
        i++;
      }
    } else if (c === "\\") {
      if (i + 1 < text.length) {
        if (text[i + 1] !== "\n") quoted(text[i + 1] as string);
        i += 2;
      } else {
        i++;
      }
    } else if ("$`;&|<>()".includes(c)) {
      refuse(`shell metacharacter ${JSON.stringify(c)}`);
    } else {
      cur += c;
      pat += c;
      if (c === "*" || c === "?" || c === "[") glob = true;
      i++;
    }
  }
  if (inWord) push();
  return words;
}

/**
 * sh's pathname expansion of one pattern (POSIX 2.13.3, as dash does it): each `/`-separated
 * component with a pattern character is matched against the directory's names (a leading `.` only
 * by a pattern that starts with one), the others are taken as they are; every result must exist.
 * Results are sorted bytewise, as in the C locale. `\` escapes the next character.
 */
export function expandPathname(pattern: string, cwd: string): string[] {
  const parts = pattern.split("/");
  const absolute = pattern.startsWith("/");
  let paths: string[] = [absolute ? "/" : ""];
  for (let k = absolute ? 1 : 0; k < parts.length; k++) {
    const part = parts[k] as string;
    const last = k === parts.length - 1;
    const join = (p: string, name: string): string => (p === "" ? name : p.endsWith("/") ? p + name : `${p}/${name}`);
    if (!hasPatternChar(part)) {
      const lit = unescapePattern(part);
      paths = paths.map((p) => join(p, lit));
      if (last) paths = paths.filter((p) => lexists(path.resolve(cwd, p)));
      continue;
    }
    const re = patternRegExp(part);
    const next: string[] = [];
    for (const p of paths) {
      let names: string[];
      try {
        names = readdirSync(path.resolve(cwd, p === "" ? "." : p));
      } catch {
        continue;
      }
      for (const n of names.sort(bytewise)) {
        if (n.startsWith(".") && !part.startsWith(".")) continue;
        if (re.test(n)) next.push(join(p, n));
      }
    }
    paths = last ? next : next.filter((p) => isDirectory(path.resolve(cwd, p)));
  }
  // `a//b` and a trailing `/` keep their slashes in sh; so they do here, as the pattern had them.
  return paths.sort(bytewise);
}

const bytewise = (a: string, b: string): number => (Buffer.compare(Buffer.from(a), Buffer.from(b)));

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasPatternChar(part: string): boolean {
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

function unescapePattern(part: string): string {
  return part.replace(/\\(.)/g, "$1");
}

/** One component of a pattern as a regular expression: `*`, `?`, `[...]` (with `!` or `^`), `\x`. */
function patternRegExp(part: string): RegExp {
  let re = "";
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c === "\\" && i + 1 < part.length) {
      re += escapeRe(part[++i] as string);
    } else if (c === "*") {
      re += "[^]*";
    } else if (c === "?") {
      re += "[^]";
    } else if (c === "[") {
      // A bracket expression; without its closing ] the [ is an ordinary character.
      let j = i + 1;
      let neg = false;
      if (part[j] === "!" || part[j] === "^") {
        neg = true;
        j++;
      }
      let body = "";
      let first = true;
      let closed = false;
      for (; j < part.length; j++) {
        const d = part[j] as string;
        if (d === "]" && !first) {
          closed = true;
          break;
        }
        first = false;
        if (d === "\\" && j + 1 < part.length) body += escapeRe(part[++j] as string);
        else if (d === "-" && body !== "" && part[j + 1] !== "]") body += "-";
        else body += escapeRe(d);
      }
      if (!closed) {
        re += "\\[";
        continue;
      }
      re += `[${neg ? "^" : ""}${body}]`;
      i = j;
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(`^${re}$`, "s");
}

function escapeRe(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * The value of a make variable as it ends up inside a double-quoted shell word in a recipe
 * (`--extra-cflags="... $(EXTRA_CFLAGS_QEMU_XEN)"`): quotes and backslashes keep their shell
 * meaning; expansions are refused.
 */
export function insideDoubleQuotes(text: string, what: string): string {
  const words = shellWords(`"${text}"`, what);
  return words[0] ?? "";
}
