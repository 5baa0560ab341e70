// The loaders of the xqbuild config file, so that a mistake in its syntax is named by file, line
// and column ("xqbuild.config.json:3:13: expected ':' after the key"), as an editor or a compiler
// would. cosmiconfig's own loaders lose that: its JSON loader's message (parse-json over V8's)
// carries no position on Node 20, and its JS loader, when import() fails with a SyntaxError, retries
// with require(), which on Node 20 throws an internal assertion in place of the real error.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { defaultLoaders, type Loader, type Loaders } from "cosmiconfig";
// Types only: TypeScript is loaded at run time, and only for a .ts config file with an error.
import type * as TS from "typescript";

/** A config file that cannot be read, with where in it (1-based line and column) when that is known. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}${column !== undefined ? `:${column}` : ""}` : ""}: ${reason}`);
    this.name = "ConfigFileError";
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: offset - nl };
}

const describeChar = (text: string, i: number): string => (i >= text.length ? "the end of the file" : JSON.stringify(text[i]));

/**
 * The first syntax error of a JSON text: its offset and what was wrong, or undefined when the text
 * is JSON. A small recursive-descent reader of RFC 8259, used only after JSON.parse has refused
 * the text, because JSON.parse's own message has no position on every Node release xqbuild supports.
 */
export function jsonSyntaxError(text: string): { offset: number; reason: string } | undefined {
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly reason: string,
    ) {}
  }
  const fail = (reason: string, at = i): never => {
    throw new Stop(at, reason);
  };
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describeChar(text, i)}: not a JSON value`);
  };
  const string = (): void => {
    const start = i;
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail("a string that is never closed", start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("a control character (such as a line break) inside a string");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("a \\u escape without four hex digits");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(`the escape \\${e ?? ""} is not one JSON has`);
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m || m[0] === "-") fail(`unexpected ${describeChar(text, i)}: not a JSON value`);
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === "}" ? "a comma before '}' (JSON has no trailing commas)" : `expected a key in double quotes, found ${describeChar(text, i)}`);
        string();
        ws();
        if (text[i] !== ":") fail(`expected ':' after the key, found ${describeChar(text, i)}`);
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail(`expected ',' or '}' after a value, found ${describeChar(text, i)}`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === "]") fail("a comma before ']' (JSON has no trailing commas)");
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail(`expected ',' or ']' after a value, found ${describeChar(text, i)}`);
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    fail(i >= text.length ? "the file ends where a value should be" : `unexpected ${describeChar(text, i)}: not a JSON value`);
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describeChar(text, i)} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, reason: e.reason };
    throw e;
  }
}

/** cosmiconfig's JSON loader, with the position of a syntax error. */
const loadJson: Loader = (filepath, content) => {
  try {
    return defaultLoaders[".json"](filepath, content);
  } catch (e) {
    const err = jsonSyntaxError(content);
    if (!err) throw e;
    const { line, column } = lineColumn(content, err.offset);
    throw new ConfigFileError(filepath, err.reason, line, column);
  }
};

/** cosmiconfig's YAML loader (also for an extensionless .xqbuildrc), with js-yaml's position as line:column. */
const loadYaml: Loader = (filepath, content) => {
  try {
    return defaultLoaders[".yaml"](filepath, content);
  } catch (e) {
    const err = e as Error & { reason?: string; mark?: { line: number; column: number } };
    if (err.mark === undefined || typeof err.reason !== "string") throw e;
    throw new ConfigFileError(filepath, err.reason, err.mark.line + 1, err.mark.column + 1);
  }
};

/**
 * Where node puts a syntax error of a script: `node --check` prints "FILE:LINE", the line, and a
 * caret under the column. The file goes in on standard input, as a module (.mjs, .js) or as
 * CommonJS (.cjs), so nothing of it runs.
 */
function syntaxPosition(filepath: string): { line: number; column: number; reason: string } | undefined {
  let source: string;
  try {
    source = readFileSync(filepath, "utf8");
  } catch {
    return undefined;
  }
  const inputType = path.extname(filepath) === ".cjs" ? "commonjs" : "module";
  const r = spawnSync(process.execPath, [`--input-type=${inputType}`, "--check"], { input: source, encoding: "utf8", timeout: 20_000, env: {} });
  const lines = (r.stderr ?? "").split("\n");
  const at = lines.findIndex((l) => /^\[stdin\]:\d+$/.test(l));
  const reason = lines.find((l) => /^SyntaxError: /.test(l))?.slice("SyntaxError: ".length);
  if (at < 0 || reason === undefined) return undefined;
  const line = Number(lines[at]?.slice("[stdin]:".length));
  const caret = lines[at + 2]?.indexOf("^") ?? -1;
  return { line, column: caret >= 0 ? caret + 1 : 1, reason };
}

/** The position in the config file itself of an error it threw while loading (its first stack frame there). */
function thrownPosition(e: Error, filepath: string): { line: number; column: number } | undefined {
  const href = pathToFileURL(filepath).href;
  for (const frame of (e.stack ?? "").split("\n")) {
    const i = frame.indexOf(href + ":");
    const alt = i < 0 ? frame.indexOf(filepath + ":") : -1;
    const start = i >= 0 ? i + href.length + 1 : alt >= 0 ? alt + filepath.length + 1 : -1;
    if (start < 0) continue;
    const m = /^(\d+):(\d+)/.exec(frame.slice(start));
    if (m) return { line: Number(m[1]), column: Number(m[2]) };
  }
  return undefined;
}

/** A JavaScript config file (.js, .mjs, .cjs) through import() alone; its errors keep their position. */
const loadJs: Loader = async (filepath) => {
  try {
    const mod = (await import(pathToFileURL(filepath).href)) as { default?: unknown };
    return mod.default;
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    const firstLine = e.message.split("\n")[0] ?? e.message;
    if (e.name === "SyntaxError") {
      const p = syntaxPosition(filepath);
      if (p) throw new ConfigFileError(filepath, p.reason, p.line, p.column);
    }
    const p = thrownPosition(e, filepath);
    throw new ConfigFileError(filepath, `${e.name}: ${firstLine}`, p?.line, p?.column);
  }
};

/**
 * The first syntax error of a TypeScript config file by TypeScript's own parser, which the .ts
 * loader needs anyway (cosmiconfig compiles the file with it): undefined without one, or without
 * TypeScript.
 */
async function tsSyntaxError(filepath: string, content: string): Promise<{ line: number; column: number; reason: string } | undefined> {
  let ts: typeof TS;
  try {
    const mod = (await import("typescript")) as typeof TS & { default?: typeof TS };
    ts = mod.default ?? mod;
  } catch {
    return undefined;
  }
  const out = ts.transpileModule(content, { fileName: filepath, reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext } });
  const d = out.diagnostics?.find((x) => x.category === ts.DiagnosticCategory.Error && x.file !== undefined && x.start !== undefined);
  if (d?.file === undefined || d.start === undefined) return undefined;
  const at = d.file.getLineAndCharacterOfPosition(d.start);
  return { line: at.line + 1, column: at.character + 1, reason: ts.flattenDiagnosticMessageText(d.messageText, " ") };
}

/** cosmiconfig's TypeScript loader (compile, then import), with the position of a syntax error in the .ts file. */
const loadTs: Loader = async (filepath, content) => {
  try {
    return await defaultLoaders[".ts"](filepath, content);
  } catch (e) {
    const p = await tsSyntaxError(filepath, content);
    if (p) throw new ConfigFileError(filepath, p.reason, p.line, p.column);
    throw e;
  }
};

/** The loaders xqbuild gives cosmiconfig. */
export const CONFIG_LOADERS: Loaders = {
  ...defaultLoaders,
  ".json": loadJson,
  ".yaml": loadYaml,
  ".yml": loadYaml,
  noExt: loadYaml,
  ".js": loadJs,
  ".mjs": loadJs,
  ".cjs": loadJs,
  ".ts": loadTs,
};
