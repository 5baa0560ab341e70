import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RECIPES } from "../../src/components/index.js";
import { readLicense } from "../../src/components/license.js";
import { UserError } from "../../src/util/errors.js";

const FIXTURES = path.resolve("fixtures/upstream");

function tree(name: string): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), "xqbuild-license-")), name);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe("a component's license, read from its tree and checked against the recipe", () => {
  it("each fixture tree carries the license its recipe declares, the license file first", () => {
    const seen = Object.values(RECIPES).map((r) => {
      const l = readLicense(r, path.join(FIXTURES, r.name));
      return [r.name, l.spdx, l.files.map((f) => f.path)];
    });
    expect(seen).toEqual([
      ["qemu-xen-traditional", "GPL-2.0-only", ["COPYING"]],
      ["qemu-xen", "GPL-2.0-only", ["COPYING", "LICENSE"]],
      ["seabios", "LGPL-3.0-only", ["COPYING.LESSER", "COPYING"]],
    ]);
    const q = readLicense(RECIPES["qemu-xen"], path.join(FIXTURES, "qemu-xen"));
    expect(q.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(q.files[0]?.text).toMatch(/^\s+GNU GENERAL PUBLIC LICENSE\n\s+Version 2, June 1991/);
  });

  it("a tree without its license file, or with another license in it, is refused naming the file", () => {
    const s = tree("seabios");
    rmSync(path.join(s, "COPYING.LESSER"));
    expect(() => readLicense(RECIPES.seabios, s)).toThrow(UserError);
    expect(() => readLicense(RECIPES.seabios, s)).toThrow(`seabios declares the license LGPL-3.0-only, but its tree has no license file ${path.join(s, "COPYING.LESSER")}.`);
    const q = tree("qemu-xen");
    writeFileSync(path.join(q, "COPYING"), "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n");
    expect(() => readLicense(RECIPES["qemu-xen"], q)).toThrow(new RegExp(`^${path.join(q, "COPYING").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} does not read as GPL-2.0-only`));
  });

  it("a license file that is a symbolic link (out of the tree) is not followed", () => {
    const q = tree("qemu-xen");
    const outside = path.join(path.dirname(q), "elsewhere");
    writeFileSync(outside, "                    GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991\n");
    rmSync(path.join(q, "COPYING"));
    symlinkSync(outside, path.join(q, "COPYING"));
    expect(() => readLicense(RECIPES["qemu-xen"], q)).toThrow(/has no license file/);
  });
});
