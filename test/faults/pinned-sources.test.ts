// Issue 14 point 18: scripts/real-sources.mjs takes only the pinned Debian source versions. A .dsc
// in the cache that is not the pinned one (another version's, or a damaged download) is refused
// with a message that names the pinned sha256 and what to do, before anything is downloaded or
// unpacked; nothing is taken from whichever suite apt would pick.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support.js";

const script = path.join(REPO_ROOT, "scripts", "real-sources.mjs");
const text = fs.readFileSync(script, "utf8");
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The PACKAGES table as written: name → { pkg, version, dsc, suite }. */
function packages(): Array<{ name: string; pkg: string; version: string; dsc: string; suite: string }> {
  const table = /const PACKAGES = \{([\s\S]*?)\n\};/.exec(text)?.[1] ?? "";
  return [...table.matchAll(/^\s*(\w+): \{ pkg: "([^"]+)", version: "([^"]+)", dsc: "([^"]*)", suite: "([^"]+)"/gm)].map((m) => ({
    name: m[1] ?? "", pkg: m[2] ?? "", version: m[3] ?? "", dsc: m[4] ?? "", suite: m[5] ?? "",
  }));
}

describe("the e2e's Debian sources are pinned (issue 14, point 18)", () => {
  it("pins every package to an exact version, a suite and the sha256 of its .dsc, and asks apt for exactly that", () => {
    const p = packages();
    expect(p.map((x) => x.name)).toEqual(expect.arrayContaining(["xen", "seabios", "qemu", "meson", "qemu10", "seabios1163"]));
    for (const x of p) {
      expect(x.dsc, x.name).toMatch(/^[0-9a-f]{64}$/);
      expect(x.version, x.name).toMatch(/^(\d+:)?[0-9][0-9A-Za-z.+~-]*-[0-9A-Za-z.+~]+$/);
      expect(["bookworm", "trixie", "sid"], x.name).toContain(x.suite);
    }
    // apt-get source is given pkg=version, never a bare name.
    expect(text).toMatch(/specs\.map\(\(s\) => `\$\{s\.pkg\}=\$\{s\.version\}`\)/);
  });

  it("refuses a cached .dsc that is not the pinned one, naming the pinned sha256, and downloads nothing", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "xq-pinned-"));
    dirs.push(cache);
    const xen = packages().find((x) => x.name === "xen");
    expect(xen).toBeDefined();
    const debian = path.join(cache, "debian");
    fs.mkdirSync(debian);
    const dsc = path.join(debian, `xen_${(xen?.version ?? "").replace(/^\d+:/, "")}.dsc`);
    fs.writeFileSync(dsc, "Format: 3.0 (quilt)\nSource: xen\nVersion: 4.99.0-1\n");
    const r = spawnSync(process.execPath, [script, "--print"], {
      encoding: "utf8",
      env: { ...process.env, XQBUILD_E2E_CACHE: cache, http_proxy: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9" },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(dsc);
    expect(r.stderr).toContain(`is not the pinned ${xen?.dsc ?? "?"}`);
    expect(r.stderr).toMatch(/remove it and run again/);
    expect(r.stdout).toBe("");
    // Nothing was unpacked or configured from it.
    expect(fs.existsSync(path.join(cache, "src"))).toBe(false);
    expect(fs.existsSync(path.join(cache, "xen-configured"))).toBe(false);
    expect(fs.readdirSync(debian)).toEqual([path.basename(dsc)]);
  });
});
