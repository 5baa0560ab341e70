import { UserError } from "../errors.js";

/**
 * Splits text into words the way /bin/sh splits an unquoted `$(VAR)` in a recipe line, where the
 * glue passes CONFIG_QEMUU_EXTRA_ARGS to configure: blanks separate words, and single quotes,
 * double quotes and backslashes group and escape. Expansions ($, backquotes) are not performed: a
 * value that needs them is refused rather than run through a shell.
 */
export function shellWords(text: string, what: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  const refuse = (why: string): never => {
    throw new UserError(`${what}: ${why}: ${JSON.stringify(text)}`, "Write the arguments without shell expansions, or pass them through the xqbuild config file's extraConfigureArgs (an array, one argument each).");
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) refuse("unterminated single quote");
      cur += text.slice(i + 1, end);
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
          if (text[i + 1] !== "\n") cur += text[i + 1];
          i += 2;
          continue;
        }
        if (d === "$" || d === "`") refuse("shell expansion inside double quotes");
        cur += d;
        i++;
      }
    } else if (c === "\\") {
      if (i + 1 < text.length) {
        if (text[i + 1] !== "\n") cur += text[i + 1];
        i += 2;
      } else {
        i++;
      }
    } else if ("$`;&|<>()".includes(c)) {
      refuse(`shell metacharacter ${JSON.stringify(c)}`);
    } else {
      cur += c;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
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
