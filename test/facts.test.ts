// The bytes of the glue's --extra-cflags come from the tree's own tools/Makefile: the recipe of
// subdir-all-qemu-xen-dir as make hands it to the shell (test/glue-harness.test.ts checks the real
// glue's configure argument, test/golden/glue-parity.test.ts xqbuild's against it byte for byte).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { qemuXenCflagsPrefixOf, recipeOf } from "../src/components/qemu-xen/facts.js";
import { shellWords } from "../src/config/shell-words.js";
import { releaseProfile } from "../src/config/release.js";
import { realXenTree } from "./support/xen-tree.js";

/** What the shell makes of --extra-cflags="PREFIX$(EXTRA_CFLAGS_QEMU_XEN)" with the variable empty. */
const asShell = (prefix: string): string => shellWords(`"${prefix}"`, "test")[0] ?? "";

describe("recipeOf", () => {
  it("drops one recipe TAB of each line, continuation lines included, and keeps backslash-newlines", () => {
    const mk = "x: y\n\ta \\\n\t\tb \\\n  c\n\td\nnext:\n\tno\n";
    expect(recipeOf(mk, "x")).toBe("a \\\n\tb \\\n  c\nd");
    expect(recipeOf(mk, "missing")).toBeUndefined();
  });
});

describe("qemuXenCflagsPrefixOf", () => {
  it("reads the tab-indented continuation lines of the glue's --extra-cflags", () => {
    const mk = [
      "subdir-all-qemu-xen-dir: qemu-xen-dir-find",
      "\tcd qemu-xen-build; \\",
      '\t$$source/configure --enable-xen \\',
      '\t\t--extra-cflags="-DA=1 \\',
      "\t\t-DB=1 \\",
      '\t\t$(EXTRA_CFLAGS_QEMU_XEN)" \\',
      "\t\t--disable-kvm",
      "",
    ].join("\n");
    const prefix = qemuXenCflagsPrefixOf(mk);
    expect(prefix).toBe("-DA=1 \\\n\t-DB=1 \\\n\t");
    expect(asShell(prefix ?? "")).toBe("-DA=1 \t-DB=1 \t");
    // A recipe indented otherwise gives other bytes: they follow the tree, not a fixed string.
    expect(asShell(qemuXenCflagsPrefixOf(mk.replace(/\n\t\t-DB/, "\n\t    -DB")) ?? "")).toBe("-DA=1     -DB=1 \t");
  });

  it("gives up (the release profile's bytes are used) when the text needs make or the shell to expand it", () => {
    const mk = 'subdir-all-qemu-xen-dir:\n\tconfigure --extra-cflags="$(COMPAT) $(EXTRA_CFLAGS_QEMU_XEN)"\n';
    expect(qemuXenCflagsPrefixOf(mk)).toBeUndefined();
    expect(qemuXenCflagsPrefixOf("subdir-all-qemu-xen-dir:\n\tconfigure --extra-cflags=-g\n")).toBeUndefined();
  });

  it("gives the real Xen 4.17 glue's bytes, which the release profile also holds", () => {
    const prefix = qemuXenCflagsPrefixOf(readFileSync(path.join(realXenTree(), "tools", "Makefile"), "utf8"));
    expect(prefix).toBeDefined();
    const bytes = asShell(prefix ?? "");
    expect(bytes).toBe("-DXC_WANT_COMPAT_EVTCHN_API=1 \t-DXC_WANT_COMPAT_GNTTAB_API=1 \t-DXC_WANT_COMPAT_MAP_FOREIGN_API=1 \t-DXC_WANT_COMPAT_DEVICEMODEL_API=1 \t");
    expect(releaseProfile(4, 17).qemuXenCompatCflags).toBe(bytes);
  });
});
