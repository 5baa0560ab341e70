import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { qemuMesonOf } from "../src/components/qemu-xen/requirements.js";
import { versionAccepted } from "../src/host/doctor.js";
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

  it("lists each missing thing on a line of its own, after the table", async () => {
    const r = await run(["doctor"], root, { PATH: pathWithout(NO_TOOLS), HOME: process.env.HOME });
    const report = r.stdout.slice(r.stdout.indexOf("\nmissing on this host"));
    const lines = report.trim().split("\n");
    const missing = r.stdout.split("\n").filter((l) => l.startsWith("MISSING")).length;
    expect(lines[0]).toBe(`missing on this host (${missing}):`);
    // One line per missing check, then the two install lines, nothing joined with "; ".
    expect(lines).toHaveLength(missing + 3);
    expect(lines.slice(1, -2).every((l) => /^ {2}\S.* \(for .+\)$/.test(l))).toBe(true);
    expect(lines).toContain("  ninja (for qemu-xen)");
    expect(lines).toContain("  iasl (for seabios)");
    expect(report).not.toContain("; ");
    expect(lines.at(-2)).toMatch(/^Debian\/Ubuntu: apt-get install /);
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
    // The pre-flight error names each missing thing on its own line, then the hint.
    expect(r.stderr).toMatch(/^xqbuild: error: missing on this host \(\d+\):\n {2}C compiler \(for every component\)\n {2}/m);
    expect(r.stderr).toMatch(/^ {2}iasl \(for seabios\)$/m);
    expect(r.stderr).toMatch(/^Debian\/Ubuntu: apt-get install acpica-tools bison flex gcc ninja-build$/m);
  });
});

// ---------------------------------------------------------------------------------------------------
// What QEMU's meson needs follows the QEMU fetched: small source trees stand in for each kind.

const HIDE = path.resolve("fixtures/python-hide");
const QEMU10_DEPS = '[meson]\n# The install key should match the version in python/wheels/\nmeson = { accepted = ">=1.5.0", installed = "1.5.0", canary = "meson" }\npycotap = { accepted = ">=1.1.0", installed = "1.3.1" }\n';

/** A QEMU source tree of one kind: QEMU 8.1+ (pythondeps.toml), 5.2-8.0 with or without meson/. */
function qemuTree(kind: "venv" | "submodule" | "host", opts: { wheel?: boolean } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-qemu-src-"));
  writeFileSync(path.join(dir, "meson.build"), "project('qemu', ['c'])\n");
  writeFileSync(path.join(dir, "configure"), "#!/bin/sh\n");
  if (kind === "venv") {
    writeFileSync(path.join(dir, "pythondeps.toml"), QEMU10_DEPS);
    mkdirSync(path.join(dir, "python", "wheels"), { recursive: true });
    if (opts.wheel) writeFileSync(path.join(dir, "python", "wheels", "meson-1.5.0-py3-none-any.whl"), "");
  }
  if (kind === "submodule") {
    mkdirSync(path.join(dir, "meson"));
    writeFileSync(path.join(dir, "meson", "meson.py"), "");
  }
  return dir;
}

/** A directory for PYTHONPATH in which the Python finds a meson distribution of that version. */
function mesonDist(version: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-site-"));
  mkdirSync(path.join(dir, `meson-${version}.dist-info`));
  writeFileSync(path.join(dir, `meson-${version}.dist-info`, "METADATA"), `Metadata-Version: 2.1\nName: meson\nVersion: ${version}\n`);
  return dir;
}

interface JsonCheck {
  what: string;
  ok: boolean;
  why: string;
  found?: string;
  detail?: string;
  debian: string[];
}

describe("xqbuild doctor: QEMU's meson follows the fetched source", () => {
  const root = copyXenTree(mkdtempSync(path.join(tmpdir(), "xqbuild-doctor-meson-")), { hardlink: true });

  async function doctor(source: string, env: Record<string, string | undefined>, json = true) {
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_LOC = ${source}\n`);
    const r = await run(["doctor", ...(json ? ["--json"] : []), "qemu-xen"], root, { PATH: process.env.PATH, HOME: process.env.HOME, ...env });
    if (!json) return { r, checks: [] as JsonCheck[] };
    return { r, checks: (JSON.parse(r.stdout) as { checks: JsonCheck[] }).checks };
  }
  const mesonChecks = (checks: JsonCheck[]) => checks.filter((c) => /meson/.test(c.what));

  it("QEMU 8.1 and later (pythondeps.toml): no host meson; a meson older than QEMU accepts and no wheel is named exactly", async () => {
    const { checks } = await doctor(qemuTree("venv"), { PYTHONPATH: mesonDist("1.0.1") });
    expect(checks.find((c) => c.what === "meson")).toBeUndefined();
    const m = mesonChecks(checks);
    expect(m.map((c) => c.what)).toEqual(["meson >=1.5.0 for QEMU's venv"]);
    expect(m[0]?.ok).toBe(false);
    expect(m[0]?.detail).toMatch(/^python\/wheels has no meson wheel .* and python3's site-packages has meson 1\.0\.1, which QEMU does not accept \(>=1\.5\.0\)/);
    expect(m[0]?.debian).toEqual(["meson"]);
    // The venv's other needs are there on this host's Python.
    for (const w of ["python3 module venv", "python3 module ensurepip (or pip and setuptools)", "python3 module tomllib (or tomli)"]) expect(checks.find((c) => c.what === w)?.ok, w).toBe(true);
  });

  it("QEMU 8.1 and later: the wheel in python/wheels is enough", async () => {
    const src = qemuTree("venv", { wheel: true });
    const { checks } = await doctor(src, { PYTHONPATH: mesonDist("1.0.1") });
    const m = mesonChecks(checks);
    expect(m.map((c) => [c.what, c.ok, c.found])).toEqual([["meson >=1.5.0 for QEMU's venv", true, path.join(src, "python", "wheels", "meson-1.5.0-py3-none-any.whl")]]);
  });

  it("QEMU 8.1 and later: an accepted meson in the Python's site-packages is enough", async () => {
    const { checks } = await doctor(qemuTree("venv"), { PYTHONPATH: mesonDist("1.5.2") });
    expect(mesonChecks(checks).map((c) => [c.ok, c.found])).toEqual([[true, "meson 1.5.2 in python3's site-packages"]]);
  });

  it("QEMU 8.1 and later: a Python without ensurepip, pip and setuptools is named, with python3-venv", async () => {
    const { r } = await doctor(qemuTree("venv", { wheel: true }), { PYTHONPATH: HIDE, XQ_HIDE_PY_MODULES: "ensurepip,pip,setuptools" }, false);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^MISSING {2}python3 module ensurepip \(or pip and setuptools\) .*needed for qemu-xen \(its configure makes a Python venv with python3 and installs meson into it\): Python [\d.]+ \(.*\) has no ensurepip, nor pip and setuptools$/m);
    expect(r.stdout).toMatch(/^ok +python3 module venv/m);
    expect(r.stdout).toMatch(/^Debian\/Ubuntu: apt-get install .*\bpython3-venv\b/m);
    expect(r.stdout).not.toMatch(/^MISSING {2}meson/m);
  });

  it("QEMU 5.2 to 8.0 with its meson/ submodule: no meson needed from the host", async () => {
    const { checks } = await doctor(qemuTree("submodule"), { PATH: pathWithout(["meson"]) });
    expect(mesonChecks(checks)).toEqual([]);
  });

  it("QEMU 5.2 to 8.0 without meson/: the host's meson program, with its package", async () => {
    const { r } = await doctor(qemuTree("host"), { PATH: pathWithout(["meson"]) }, false);
    expect(r.stdout).toMatch(/^MISSING {2}meson +needed for qemu-xen \(this QEMU brings neither meson\/ nor pythondeps\.toml: its configure runs the host's meson\)$/m);
    expect(r.stdout).toMatch(/^Debian\/Ubuntu: apt-get install .*\bmeson\b/m);
    expect(r.stdout).not.toMatch(/venv/);
  });
});

describe("qemuMesonOf and versionAccepted", () => {
  it("reads a venv QEMU's pythondeps.toml (QEMU 10's [meson] group) and its python/wheels", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-q10-"));
    mkdirSync(path.join(dir, "python", "wheels"), { recursive: true });
    writeFileSync(path.join(dir, "meson.build"), "project('qemu')\n");
    writeFileSync(path.join(dir, "pythondeps.toml"), '[meson]\nmeson = { accepted = ">=1.5.0", installed = "1.5.0", canary = "meson" }\npycotap = { accepted = ">=1.1.0", installed = "1.3.1" }\n\n[docs]\nsphinx = { accepted = ">=3.4.3", installed = "5.3.0", canary = "sphinx-build" }\n');
    expect(qemuMesonOf(dir)).toEqual({ kind: "venv", wheels: path.join(dir, "python", "wheels"), accepted: ">=1.5.0" });
  });
  it("compares versions as pythondeps.toml's constraints mean them", () => {
    expect(versionAccepted("1.0.1", ">=1.5.0")).toBe(false);
    expect(versionAccepted("1.5.0", ">=1.5.0")).toBe(true);
    expect(versionAccepted("1.10.0", ">=1.5.0")).toBe(true);
    expect(versionAccepted("2.0", ">=1.1,<2")).toBe(false);
    expect(versionAccepted("1.3.1", "")).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------
// Signed tags (the verify setting) need gpgv, and gpg to read the keys: asked for only under verify.

describe("xqbuild doctor: gpgv and gpg under the verify setting", () => {
  const root = copyXenTree(mkdtempSync(path.join(tmpdir(), "xqbuild-doctor-verify-")), { hardlink: true });
  writeFileSync(path.join(root, ".config"), "QEMU_UPSTREAM_URL = file:///nonexistent/qemu-xen.git\n");
  writeFileSync(path.join(root, "signer.asc"), "");
  const noGpg = pathWithout(["gpgv", "gpg"]);
  const settings = (s: object | undefined): void => {
    const file = path.join(root, "xqbuild.config.json");
    if (s) writeFileSync(file, JSON.stringify(s));
    else rmSync(file, { force: true });
  };
  const checksOf = async (env: Record<string, string | undefined>) => {
    const r = await run(["doctor", "--json"], root, { HOME: process.env.HOME, ...env });
    return (JSON.parse(r.stdout) as { checks: JsonCheck[] }).checks.filter((c) => c.what === "gpgv" || c.what === "gpg");
  };

  it("names gpgv and gpg as missing, with their Debian packages, when a component has verify set", async () => {
    settings({ verify: { keys: ["signer.asc"] } });
    const r = await run(["doctor"], root, { PATH: noGpg, HOME: process.env.HOME });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^MISSING {2}gpgv +needed for signed tags \(verify\)$/m);
    expect(r.stdout).toMatch(/^MISSING {2}gpg +needed for signed tags \(verify\)$/m);
    expect(r.stdout).toContain("\n  gpgv (for signed tags (verify))\n");
    expect(r.stdout).toMatch(/^Debian\/Ubuntu: apt-get install .*\bgpg gpgv\b/m);
    expect(r.stdout).toMatch(/^Fedora: dnf install .*\bgnupg2\b/m);
    // On the machine's own PATH both are there.
    expect((await checksOf({ PATH: process.env.PATH })).map((c) => [c.what, c.ok])).toEqual([["gpgv", true], ["gpg", true]]);
  });

  it("names a component's own verify, and asks for nothing when no component is verified", async () => {
    settings({ components: { seabios: { verify: { keys: ["signer.asc"] } } } });
    expect((await checksOf({ PATH: noGpg })).map((c) => [c.what, c.ok, c.why])).toEqual([["gpgv", false, "signed tags (components.seabios.verify)"], ["gpg", false, "signed tags (components.seabios.verify)"]]);
    settings({ verify: { keys: ["signer.asc"] }, components: { "qemu-xen": { verify: false }, seabios: { verify: false } } });
    expect(await checksOf({ PATH: noGpg })).toEqual([]);
    settings(undefined);
    expect(await checksOf({ PATH: noGpg })).toEqual([]);
  });

  it("asks for nothing for a local directory used in place, which verify does not check", async () => {
    const source = mkdtempSync(path.join(tmpdir(), "xqbuild-doctor-local-"));
    writeFileSync(path.join(source, "configure"), "#!/bin/sh\n");
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_LOC = ${source}\n`);
    settings({ components: { "qemu-xen": { verify: { keys: ["signer.asc"] } } } });
    try {
      expect(await checksOf({ PATH: noGpg })).toEqual([]);
    } finally {
      writeFileSync(path.join(root, ".config"), "QEMU_UPSTREAM_URL = file:///nonexistent/qemu-xen.git\n");
      settings(undefined);
    }
  });
});
