import { existsSync, mkdtempSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { memoryOutput } from "../src/report/output.js";
import { copyXenTree } from "./support/xen-tree.js";

async function run(argv: string[], root: string, env: Record<string, string | undefined>) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", root], { cwd: root, env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

/** A PATH with every program of the machine's PATH but the named ones. */
function pathWithout(hidden: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-path-"));
  for (const d of (process.env.PATH ?? "").split(":")) {
    if (!d || !existsSync(d)) continue;
    for (const p of readdirSync(d)) {
      if (hidden.includes(p) || existsSync(path.join(dir, p))) continue;
      symlinkSync(path.join(d, p), path.join(dir, p));
    }
  }
  return dir;
}

const NO_TOOLS = ["gcc", "cc", "ninja", "ninja-build", "flex", "bison", "iasl"];

describe("xqbuild doctor", () => {
  const root = copyXenTree(mkdtempSync(path.join(tmpdir(), "xqbuild-doctor-")), { hardlink: true });
  writeFileSync(path.join(root, ".config"), "QEMU_UPSTREAM_URL = file:///nonexistent/qemu-xen.git\n");

  it("lists what is missing with the Debian and Fedora packages, and exits 1", async () => {
    const r = await run(["doctor"], root, { PATH: pathWithout(NO_TOOLS), HOME: process.env.HOME });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^MISSING {2}C compiler/m);
    expect(r.stdout).toMatch(/^MISSING {2}ninja .* needed for qemu-xen/m);
    expect(r.stdout).toMatch(/^ok {5} {2}git/m);
    expect(r.stdout).toMatch(/^Debian\/Ubuntu: apt-get install acpica-tools bison flex gcc ninja-build$/m);
    expect(r.stdout).toMatch(/^Fedora: dnf install .*\bninja-build\b/m);
  });

  it("asks for the libraries of the features that are switched on", async () => {
    const pc = mkdtempSync(path.join(tmpdir(), "xqbuild-pc-"));
    mkdirSync(pc, { recursive: true });
    const r = await run(["doctor", "--with", "spice", "--with", "libusb", "CONFIG_9PFS=y", "--json"], root, { PATH: process.env.PATH, HOME: process.env.HOME, PKG_CONFIG_LIBDIR: pc });
    const j = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ what: string; ok: boolean; why: string; debian: string[] }> };
    expect(j.ok).toBe(false);
    const names = j.checks.map((c) => c.what);
    for (const w of ["spice-server (pkg-config)", "libusb-1.0 (pkg-config)", "libcap-ng (pkg-config)", "<attr/xattr.h>", "glib-2.0 (pkg-config)", "xencontrol (pkg-config)"]) expect(names).toContain(w);
    // With an empty pkg-config search path no module can be found.
    expect(j.checks.filter((c) => c.what.endsWith("(pkg-config)")).every((c) => !c.ok)).toBe(true);
    expect(j.checks.find((c) => c.what === "spice-server (pkg-config)")?.debian).toEqual(["libspice-server-dev"]);
  });

  it("stops xqbuild all before any work when something is missing", async () => {
    const r = await run(["all"], root, { PATH: pathWithout(NO_TOOLS), HOME: process.env.HOME, XQBUILD_CACHE_DIR: mkdtempSync(path.join(tmpdir(), "xqbuild-dc-")) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing on this host: C compiler/);
  });
});
