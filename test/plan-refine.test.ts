// The plan is made once and refined once (issue 15, point 2): refinePlan adds the facts that need the
// fetched source without remaking what does not change, and the staging install is part of the plan.
import { describe, expect, it } from "vitest";
import { releaseProfile } from "../src/config/release.js";
import type { ResolvedConfig, ResolvedVar } from "../src/config/types.js";
import type { Settings } from "../src/config/settings.js";
import { makePlan, refinePlan } from "../src/plan/plan.js";
import type { PlanFacts } from "../src/components/recipe.js";
import { qemuXenFactsOf, type QemuXenFacts } from "../src/components/qemu-xen/facts.js";

const BASE: Record<string, string> = {
  QEMU_UPSTREAM_URL: "git://xenbits.xen.org/qemu-xen.git",
  QEMU_UPSTREAM_LOC: "git://xenbits.xen.org/qemu-xen.git",
  QEMU_UPSTREAM_REVISION: "qemu-xen-4.17.3",
  QEMU_TRADITIONAL_LOC: "git://xenbits.xen.org/qemu-xen-traditional.git",
  QEMU_TRADITIONAL_REVISION: "xen-4.17.3",
  SEABIOS_UPSTREAM_URL: "git://xenbits.xen.org/seabios.git",
  SEABIOS_UPSTREAM_REVISION: "rel-1.16.0",
  CONFIG_QEMU_XEN: "y",
  CONFIG_QEMU_TRAD: "n",
  CONFIG_SEABIOS: "y",
  CONFIG_9PFS: "",
  CONFIG_QEMUU_EXTRA_ARGS: "",
  debug: "n",
  PYTHON: "python3",
  prefix: "/usr/local",
  libdir: "/usr/local/lib",
  localstatedir: "/var",
  LIBEXEC: "/usr/local/lib/xen",
  LIBEXEC_BIN: "/usr/local/lib/xen/bin",
  LIBEXEC_LIB: "/usr/local/lib/xen/lib",
  LIBEXEC_INC: "/usr/local/lib/xen/include",
  SHAREDIR: "/usr/local/share",
  XENFIRMWAREDIR: "/usr/local/lib/xen/boot",
  XEN_SCRIPT_DIR: "/etc/xen/scripts",
  IOEMU_CPU_ARCH: "x86_64",
  QEMU_UPSTREAM_RPATH: "-Wl,-rpath,/usr/local/lib/xen/lib",
  IOEMU_EXTRA_LDFLAGS: "",
  IOEMU_CONFIGURE_CROSS: "",
  QEMU_ROOT: ".",
  SEABIOSCC: "gcc",
  SEABIOSLD: "ld",
  SEABIOS_EXTRAVERSION: '"-Xen"',
};

function config(over: Record<string, string> = {}, extra: Partial<ResolvedConfig> = {}): ResolvedConfig {
  const vars = new Map<string, ResolvedVar>();
  for (const [k, v] of Object.entries({ ...BASE, ...over })) vars.set(k, { value: v, origin: { kind: "built-in default" } });
  const settings: Settings = extra.settings ?? {};
  return {
    mode: "tree",
    xenRoot: "/xen",
    xenVersion: { major: 4, minor: 17, extra: ".5", full: "4.17.5" },
    release: releaseProfile(4, 17),
    unconfigured: false,
    vars,
    settings,
    features: {},
    system: {},
    selected: [],
    jobs: 2,
    offline: false,
    cacheDir: "/cache",
    xq: {},
    warnings: [],
    env: {},
    ...extra,
  };
}

// Before the fetch: no trace backend known yet.
const QEMU: QemuXenFacts = { traceFlag: "--enable-trace-backends", traceProbe: true };
const BEFORE: PlanFacts = { locIsDir: {}, components: { "qemu-xen": QEMU } };
/** The facts once the fetched QEMU answered the trace probe with this backend. */
const probed = (traceBackend: QemuXenFacts["traceBackend"]): Partial<PlanFacts> => ({ components: { "qemu-xen": { ...QEMU, ...(traceBackend ? { traceBackend } : {}) } } });

function configureArgv(plan: ReturnType<typeof makePlan>): readonly string[] {
  const s = plan.components.find((c) => c.name === "qemu-xen")?.stages.find((x) => x.stage === "configure");
  return s?.kind === "run" ? s.argv : [];
}

describe("refinePlan", () => {
  it("is the same plan when the fetched source adds nothing new", () => {
    const plan = makePlan(config(), { ...BEFORE, ...probed("log") });
    expect(refinePlan(config(), plan, probed("log"))).toBe(plan);
    expect(refinePlan(config(), plan, {})).toBe(plan);
  });

  it("takes the trace backend the fetched QEMU accepts, keeping the options the plan was made with", () => {
    const plan = makePlan(config(), BEFORE, { destdir: "/d", stagingRoot: "/xen/.xqbuild/staging" });
    expect(configureArgv(plan)).toContain("--enable-trace-backends=log");
    const refined = refinePlan(config(), plan, probed("none"));
    expect(refined).not.toBe(plan);
    expect(qemuXenFactsOf(refined.facts).traceBackend).toBe("none");
    expect(configureArgv(refined).some((a) => a.startsWith("--enable-trace-backend"))).toBe(false);
    expect(refined.options).toEqual(plan.options);
    const install = refined.components.find((c) => c.name === "seabios")?.stages.find((s) => s.stage === "install");
    expect(install?.kind === "copy" ? install.to : "").toBe("/d/usr/local/lib/xen/boot/seabios.bin");
  });

  it("plans each component's install into its staging directory when asked to", () => {
    const plan = makePlan(config(), BEFORE, { stagingRoot: "/xen/.xqbuild/staging" });
    const seabios = plan.components.find((c) => c.name === "seabios");
    expect(seabios?.staging?.dir).toBe("/xen/.xqbuild/staging/seabios");
    const staged = seabios?.staging?.install[0];
    expect(staged?.kind === "copy" ? staged.to : "").toBe("/xen/.xqbuild/staging/seabios/usr/local/lib/xen/boot/seabios.bin");
    const qemu = plan.components.find((c) => c.name === "qemu-xen")?.staging?.install[0];
    expect(qemu?.kind === "run" ? qemu.argv : []).toEqual(["make", "install", "DESTDIR=/xen/.xqbuild/staging/qemu-xen"]);
    expect(makePlan(config(), BEFORE).components.every((c) => c.staging === undefined)).toBe(true);
  });
});
