// A syntax error in the xqbuild config file is named FILE:LINE:COLUMN, whatever its format.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonSyntaxError, lineColumn } from "../../src/config/config-file.js";
import { loadSettings } from "../../src/config/settings.js";
import { UserError } from "../../src/util/errors.js";
import { cliPath } from "../support/cli-path.js";

/**
 * The error loading the file gives: through loadSettings for the data formats, through the real
 * CLI for the JavaScript ones (node's own import(), not the test runner's module loader).
 */
async function errorOf(name: string, text: string): Promise<{ message: string; file: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-cfgsyntax-"));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  if (/\.[cm]?[jt]s$/.test(name)) {
    const r = spawnSync(process.execPath, [cliPath(), "config", "--standalone"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status, r.stderr).toBe(2);
    return { message: r.stderr, file };
  }
  try {
    await loadSettings(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return { message: (e as UserError).message, file };
  }
  throw new Error(`${name} loaded without an error`);
}

describe("config file syntax errors name the line and column", () => {
  it.each([
    ["xqbuild.config.json", '{\n  "jobs": 4,\n  "offline" true\n}\n', "3:13", "expected ':' after the key, found \"t\""],
    ["xqbuild.config.json", '{\n  "jobs": 4,\n}\n', "3:1", "a comma before '}' (JSON has no trailing commas)"],
    [".xqbuildrc.json", '{ "cacheDir": "/tmp/x\n" }', "1:22", "a control character (such as a line break) inside a string"],
    [".xqbuildrc.yaml", "jobs: 4\noffline: [true\nx: 1\n", "3:1", "missed comma between flow collection entries"],
    [".xqbuildrc", '{\n  "jobs": 4,\n  "offline" true\n}\n', "3:13", "missed comma between flow collection entries"],
    ["xqbuild.config.mjs", "export default {\n  jobs: 4,\n  offline: true,,\n};\n", "3:17", "Unexpected token ','"],
    ["xqbuild.config.js", "export default {\n  jobs: 4,\n  offline: = true,\n};\n", "3:12", "Unexpected token '='"],
    ["xqbuild.config.cjs", "module.exports = {\n  jobs: 4\n  offline: true,\n};\n", "3:3", "Unexpected identifier 'offline'"],
    ["xqbuild.config.ts", "export default {\n  jobs: 4,\n  offline: = true,\n};\n", "3:12", "Expression expected."],
    ["xqbuild.config.mjs", 'const x = 1;\nexport default {\n  jobs: JSON.parse("{"),\n};\n', "3:14", "SyntaxError: "],
  ])("%s: %s", async (name, text, at, reason) => {
    const { message, file } = await errorOf(name, text);
    expect(message).toContain(`cannot load the xqbuild config file ${file}:${at}: ${reason}`);
  });

  it("the JSON reader agrees with JSON.parse on what is JSON", () => {
    for (const good of ['{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', " [ ] ", '"x"', "0"]) {
      expect(() => JSON.parse(good) as unknown).not.toThrow();
      expect(jsonSyntaxError(good), good).toBeUndefined();
    }
    for (const bad of ["{", '{"a" 1}', "[1,]", "01", "tru", '"\\x"', "{} {}", "", "-", '{"a":1,}']) {
      expect(() => JSON.parse(bad) as unknown, bad).toThrow();
      expect(jsonSyntaxError(bad), bad).toBeDefined();
    }
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});
