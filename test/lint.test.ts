// The layering rules of eslint-rules/ (issue 15, point 1) through ESLint's Node API, with the
// project's own eslint.config.js: a planted text in a lower layer must be reported, the same text
// where it belongs must pass.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import { xqbuild } from "../eslint-rules/index.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const eslint = new ESLint({ cwd: ROOT });

/** The xqbuild/* rules that fire on `text` as if it were the file at `rel` (relative to the project). */
async function layering(text: string, rel: string): Promise<Array<{ rule: string; line: number; message: string }>> {
  const [result] = await eslint.lintText(text, { filePath: path.join(ROOT, rel) });
  if (!result) throw new Error("ESLint returned no result");
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`ESLint could not parse the planted text: ${fatal.map((m) => m.message).join("; ")}`);
  return result.messages.filter((m) => m.ruleId?.startsWith("xqbuild/")).map((m) => ({ rule: m.ruleId ?? "", line: m.line, message: m.message }));
}

const NAMES_SEABIOS = 'export const firmware = ["tools/firmware", "seabios"];\n';
const IMPORTS_CLI = 'import { main } from "../cli/main.js";\nexport const entry = main;\n';

describe("xqbuild/no-component-names", () => {
  it("reports a component name in a string under src/engine/, and passes it under src/components/", async () => {
    const found = await layering(NAMES_SEABIOS, "src/engine/planted.ts");
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: "xqbuild/no-component-names", line: 1 });
    expect(found[0]?.message).toMatch(/"seabios" outside src\/components\/.*recipe contract/);
    expect(await layering(NAMES_SEABIOS, "src/components/x/planted.ts")).toEqual([]);
  });

  it("reports template text, identifiers and a path into a component folder, not other words", async () => {
    const text = [
      "export const dir = (root: string): string => `${root}/tools/qemu-xen-dir`;", // template text
      "export const qemuXenFlags = 1;", // identifier: qemu + xen
      'export const progress = "NINJA_STATUS";', // as a word (an underscore separates), any case
      'export { XEN_LIBS } from "../components/qemu-xen/requirements.js";', // reaching into a component
      'export const fine = ["xenstore", "QEMU_UPSTREAM_LOC", "mesonic", "ninjas", "qemu"];', // none of these is one
      "export const qemu = { xen: 1 };", // neither identifier alone spells qemu-xen
    ].join("\n");
    const found = await layering(text, "src/plan/planted.ts");
    expect(found.every((f) => f.rule === "xqbuild/no-component-names")).toBe(true);
    expect(found.map((f) => f.line)).toEqual([1, 2, 3, 4]);
    expect(found[1]?.message).toMatch(/^The identifier qemuXenFlags names .*"qemu-xen"/);
    expect(await layering(text, "src/components/x/planted.ts")).toEqual([]);
  });
});

describe("xqbuild/no-cli-import", () => {
  it("reports an import of src/cli/ from below it, and passes it inside src/cli/", async () => {
    const found = await layering(IMPORTS_CLI, "src/engine/planted.ts");
    expect(found.map((f) => f.rule)).toEqual(["xqbuild/no-cli-import"]);
    expect(found[0]?.message).toMatch(/^src\/engine\/planted\.ts imports \.\.\/cli\/main\.js, which is in src\/cli\//);
    // A component is a lower layer too: only the command line imports the command line.
    expect((await layering(IMPORTS_CLI.replace("../cli/", "../../cli/"), "src/components/x/planted.ts")).map((f) => f.rule)).toEqual(["xqbuild/no-cli-import"]);
    expect(await layering(IMPORTS_CLI.replace("../cli/", "./"), "src/cli/planted.ts")).toEqual([]);
    // A type import is still the layer's dependency; an export-from as well.
    expect((await layering('import type { CommandContext } from "../cli/context.js";\nexport type C = CommandContext;\n', "src/report/planted.ts")).map((f) => f.rule)).toEqual(["xqbuild/no-cli-import"]);
    expect((await layering('export { main } from "../../cli/main.js";\n', "src/host/x/planted.ts")).map((f) => f.rule)).toEqual(["xqbuild/no-cli-import"]);
    // A name that only looks like the folder is not it.
    expect(await layering('export { x } from "./cli/thing.js";\n', "src/engine/planted.ts")).toEqual([]);
  });
});

describe("xqbuild/no-cycle", () => {
  /** A project of small files on disk, linted with only the cycle rule. */
  function project(files: Record<string, string>): ESLint {
    const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-lint-"));
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    }
    return new ESLint({
      cwd: dir,
      overrideConfigFile: true,
      overrideConfig: [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser }, plugins: { xqbuild }, rules: { "xqbuild/no-cycle": "error" } }],
    });
  }

  it("reports a circle through several files, with its chain, and not one made only of type imports", async () => {
    const lint = project({
      "src/a.ts": 'import { b } from "./b.js";\nexport const a = (): number => b + 1;\n',
      "src/b.ts": 'import {\n  c,\n} from "./sub/c.js";\nexport const b = c;\n',
      "src/sub/c.ts": 'import { a } from "../a.js";\nexport const c = 1;\nexport const again = a;\n',
      "src/t1.ts": 'import type { T2 } from "./t2.js";\nexport type T1 = T2 | 1;\nexport const one = 1;\n',
      "src/t2.ts": 'import { one } from "./t1.js";\nexport type T2 = typeof one;\n',
      "src/t3.ts": 'import { type T2 } from "./t2.js";\nexport type T3 = T2;\n',
    });
    const results = await lint.lintFiles(["src"]);
    const by = Object.fromEntries(results.map((r) => [path.basename(r.filePath), r.messages.map((m) => m.message)]));
    expect(by["a.ts"]).toEqual([expect.stringMatching(/^Import circle: src\/a\.ts → src\/b\.ts → src\/sub\/c\.ts → src\/a\.ts\./)]);
    expect(by["b.ts"]).toHaveLength(1);
    expect(by["c.ts"]).toHaveLength(1);
    // t1 → t2 is `import type` (erased): t2 → t1 alone is no circle; t3's inline type import neither.
    expect(by["t1.ts"]).toEqual([]);
    expect(by["t2.ts"]).toEqual([]);
    expect(by["t3.ts"]).toEqual([]);
  });
});

describe("the project's own sources", () => {
  it("pass the layering rules (what still breaks one is in eslint.config.js's allowlists)", async () => {
    const results = await eslint.lintFiles(["src"]);
    const broken = results.flatMap((r) => r.messages.filter((m) => m.ruleId?.startsWith("xqbuild/") || m.fatal).map((m) => `${path.relative(ROOT, r.filePath)}:${m.line}: ${m.message}`));
    expect(broken).toEqual([]);
  }, 120_000);
});
