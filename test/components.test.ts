// What generic code now asks the recipes for (issue 15, point 1): the source variables validated, the
// *_LOC test and each recipe's own facts, the installed-component override. Each case pins the
// behaviour the generic code had when it named the components itself.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { releaseProfile } from "../src/config/release.js";
import type { ResolvedConfig, ResolvedVar } from "../src/config/types.js";
import { validateSourceVars } from "../src/config/validate.js";
import { gatherFacts } from "../src/plan/facts.js";
import { makePlan } from "../src/plan/plan.js";
import { checkSystemComponents } from "../src/host/system.js";
import { qemuXenFactsOf } from "../src/components/qemu-xen/facts.js";

function vars(values: Record<string, string>): Map<string, ResolvedVar> {
  return new Map(Object.entries(values).map(([k, value]) => [k, { value, origin: { kind: "built-in default" } }]));
}

/** The smallest resolved configuration these calls read. */
function config(xenRoot: string, values: Record<string, string>, extra: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return {
    mode: "tree",
    xenRoot,
    xenVersion: { major: 4, minor: 17, extra: ".5", full: "4.17.5" },
    release: releaseProfile(4, 17),
    unconfigured: false,
    vars: vars({ CONFIG_QEMU_XEN: "y", CONFIG_SEABIOS: "y", ...values }),
    settings: {},
    features: {},
    system: {},
    selected: [],
    jobs: 1,
    offline: false,
    cacheDir: path.join(xenRoot, "cache"),
    xq: {},
    warnings: [],
    env: {},
    ...extra,
  };
}

describe("validateSourceVars: each recipe's source variables", () => {
  const URLS = ["QEMU_UPSTREAM_URL", "QEMU_TRADITIONAL_URL", "SEABIOS_UPSTREAM_URL", "QEMU_UPSTREAM_LOC", "QEMU_TRADITIONAL_LOC", "SEABIOS_UPSTREAM_LOC"];
  const REVISIONS = ["QEMU_UPSTREAM_REVISION", "QEMU_TRADITIONAL_REVISION", "SEABIOS_UPSTREAM_REVISION"];

  it("refuses a hostile URL or path in every URL and LOC variable, naming it", () => {
    for (const name of URLS) expect(() => validateSourceVars(vars({ [name]: "--upload-pack=touch /tmp/x" }), "/xen"), name).toThrow(new RegExp(`^${name} \\(.*begins with '-'`));
  });

  it("refuses a malformed revision in every REVISION variable, naming it", () => {
    for (const name of REVISIONS) expect(() => validateSourceVars(vars({ [name]: "a..b" }), "/xen"), name).toThrow(new RegExp(`^${name} .*is not a branch, tag or commit name`));
  });

  it("checks URLs before revisions, in the components' order, and nothing else", () => {
    expect(() => validateSourceVars(vars({ SEABIOS_UPSTREAM_REVISION: "-x", SEABIOS_UPSTREAM_LOC: "-y", QEMU_TRADITIONAL_URL: "-z" }), "/xen")).toThrow(/^QEMU_TRADITIONAL_URL /);
    expect(() => validateSourceVars(vars({ OTHER_URL: "-x", OVMF_UPSTREAM_REVISION: "a..b" }), "/xen")).not.toThrow();
  });
});

describe("gatherFacts asks each recipe", () => {
  function tree(): string {
    const root = mkdtempSync(path.join(tmpdir(), "xqbuild-facts-"));
    mkdirSync(path.join(root, "tools", "firmware", "sb-local"), { recursive: true });
    mkdirSync(path.join(root, "tools", "qemu-local"), { recursive: true });
    // The singular flag and no tracetool probe: what an older tools/Makefile says.
    writeFileSync(path.join(root, "tools", "Makefile"), 'subdir-all-qemu-xen-dir:\n\tconfigure --enable-trace-backend=log --extra-cflags="-DX=1 $(EXTRA_CFLAGS_QEMU_XEN)"\n');
    return root;
  }

  it("tests each *_LOC from the directory its glue runs in (SeaBIOS's from tools/firmware)", () => {
    const root = tree();
    const facts = gatherFacts(config(root, { SEABIOS_UPSTREAM_LOC: "sb-local", QEMU_UPSTREAM_LOC: "qemu-local", QEMU_TRADITIONAL_LOC: "sb-local" }));
    expect(facts.locIsDir).toEqual({ "qemu-xen": true, "qemu-xen-traditional": false, seabios: true });
    // tools/sb-local is no directory, tools/firmware/qemu-local neither.
    expect(gatherFacts(config(root, { SEABIOS_UPSTREAM_LOC: "qemu-local", QEMU_UPSTREAM_LOC: "git://h/q.git" })).locIsDir).toEqual({ "qemu-xen": false, "qemu-xen-traditional": false, seabios: false });
  });

  it("carries qemu-xen's own facts to its recipe, which plans with them", () => {
    const root = tree();
    const cfg = config(root, {});
    const facts = gatherFacts(cfg);
    expect(Object.keys(facts.components ?? {})).toEqual(["qemu-xen"]);
    expect(qemuXenFactsOf(facts)).toEqual({ traceFlag: "--enable-trace-backend", traceProbe: false, cflagsPrefix: "-DX=1 " });
    const configure = makePlan(cfg, facts).components.find((c) => c.name === "qemu-xen")?.stages.find((s) => s.step === "configure");
    expect(configure?.kind === "run" ? configure.argv : []).toEqual(expect.arrayContaining(["--enable-trace-backend=log", "--extra-cflags=-DX=1 "]));
    // Without facts of its own, the recipe plans as the glue's defaults.
    expect(qemuXenFactsOf({ locIsDir: {} })).toEqual({ traceFlag: "--enable-trace-backends", traceProbe: true });
  });
});

describe("an installed component in place of building it (Recipe.system)", () => {
  it("turns the component off with the reason, refuses it named, and is checked with its own rule", () => {
    const root = mkdtempSync(path.join(tmpdir(), "xqbuild-system-"));
    const bios = path.join(root, "bios.bin");
    writeFileSync(bios, Buffer.alloc(128 * 1024));
    const sys = { seabios: { path: bios, from: "--with-system-seabios" } };
    const cfg = config(root, {}, { system: sys });
    const plan = makePlan(cfg, { locIsDir: {} });
    expect(plan.components.find((c) => c.name === "seabios")).toMatchObject({ enabled: false, reason: `the installed ${bios} is used (--with-system-seabios)` });
    expect(plan.components.find((c) => c.name === "qemu-xen")?.enabled).toBe(true);
    expect(() => makePlan(config(root, {}, { system: sys, selected: ["seabios"] }), { locIsDir: {} })).toThrow(/^seabios is not built: --with-system-seabios names the installed /);
    expect(checkSystemComponents(cfg)).toEqual([`seabios: using ${bios} (--with-system-seabios)`]);
    expect(() => checkSystemComponents(config(root, {}, { system: { seabios: { path: "bios.bin", from: "--with-system-seabios" } } }))).toThrow(/is not an absolute path/);
    expect(() => checkSystemComponents(config(root, {}, { system: { qemu: { path: path.join(root, "no-qemu"), from: "--with-system-qemu" } } }))).toThrow(/^--with-system-qemu: .*no-qemu does not exist/);
  });
});
