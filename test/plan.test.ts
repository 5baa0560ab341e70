import { describe, expect, it } from "vitest";
import { releaseProfile } from "../src/config/release.js";
import type { ResolvedConfig } from "../src/config/types.js";
import { config } from "./support/resolved-config.js";
import { makePlan } from "../src/plan/plan.js";
import type { PlanFacts, PlannedStep } from "../src/components/recipe.js";
import type { QemuXenFacts } from "../src/components/qemu-xen/facts.js";

const QEMU_FACTS: QemuXenFacts = { traceFlag: "--enable-trace-backends", traceProbe: true, traceBackend: "log" };
const FACTS: PlanFacts = { locIsDir: {}, components: { "qemu-xen": QEMU_FACTS } };
/** FACTS with qemu-xen's own facts changed. */
const withQemu = (f: Partial<QemuXenFacts>): PlanFacts => ({ ...FACTS, components: { "qemu-xen": { ...QEMU_FACTS, ...f } } });

function step(cfg: ResolvedConfig, component: string, name: string, facts: PlanFacts = FACTS, destdir?: string): PlannedStep & { kind: "run" } {
  const plan = makePlan(cfg, facts, destdir ? { destdir } : {});
  const c = plan.components.find((x) => x.name === component);
  const s = c?.stages.find((x) => x.step === name);
  if (!s || s.kind !== "run") throw new Error(`no run step ${name} in ${component}`);
  return s;
}

const GLUE_DEFAULT_ARGS = [
  "--enable-xen",
  "--target-list=i386-softmmu",
  "--enable-trace-backends=log",
  "--prefix=/usr/local",
  "--libdir=/usr/local/lib/xen/lib",
  "--includedir=/usr/local/lib/xen/include",
  // The glue's bytes: its recipe continues the quoted value over tab-indented lines (see facts.test.ts).
  "--extra-cflags=-DXC_WANT_COMPAT_EVTCHN_API=1 \t-DXC_WANT_COMPAT_GNTTAB_API=1 \t-DXC_WANT_COMPAT_MAP_FOREIGN_API=1 \t-DXC_WANT_COMPAT_DEVICEMODEL_API=1 \t",
  "--extra-ldflags=-Wl,-rpath,/usr/local/lib/xen/lib",
  "--bindir=/usr/local/lib/xen/bin",
  "--datadir=/usr/local/share/qemu-xen",
  "--localstatedir=/var",
  "--docdir=/usr/local/lib/xen/share/doc",
  "--mandir=/usr/local/lib/xen/share/man",
  "--libexecdir=/usr/local/lib/xen/libexec",
  "--firmwarepath=/usr/local/lib/xen/share/qemu-firmware",
  "--disable-kvm",
  "--disable-docs",
  "--disable-guest-agent",
  "--python=python3",
  "--cpu=x86_64",
];

describe("qemu-xen configure", () => {
  it("passes the glue's arguments in the glue's order", () => {
    const s = step(config(), "qemu-xen", "configure");
    expect(s.argv).toEqual(["/xen/tools/qemu-xen-dir/configure", ...GLUE_DEFAULT_ARGS]);
    expect(s.cwd).toBe("/xen/tools/qemu-xen-build");
    expect(s.env).toEqual({ MAKELEVEL: null, PKG_CONFIG_PATH: "/xen/tools/pkg-config" });
  });

  it("prefixes an inherited PKG_CONFIG_PATH with the tree's own", () => {
    const s = step(config({}, { env: { PKG_CONFIG_PATH: "/opt/pc" } }), "qemu-xen", "configure");
    expect(s.env.PKG_CONFIG_PATH).toBe("/xen/tools/pkg-config:/opt/pc");
  });

  it("adds --enable-debug after the target list for debug=y", () => {
    const argv = step(config({ debug: "y" }), "qemu-xen", "configure").argv;
    expect(argv.slice(1, 5)).toEqual(["--enable-xen", "--target-list=i386-softmmu", "--enable-debug", "--enable-trace-backends=log"]);
  });

  it.each([
    ["y", "--enable-virtfs"],
    ["n", "--disable-virtfs"],
  ])("ends with the CONFIG_9PFS=%s switch", (v, flag) => {
    const argv = step(config({ CONFIG_9PFS: v }), "qemu-xen", "configure").argv;
    expect(argv.at(-1)).toBe(flag);
    expect(argv.at(-2)).toBe("--cpu=x86_64");
  });

  it("follows the tracetool probe and the tree's spelling of the flag", () => {
    const stderr = step(config(), "qemu-xen", "configure", withQemu({ traceBackend: "stderr" })).argv;
    expect(stderr).toContain("--enable-trace-backends=stderr");
    const none = step(config(), "qemu-xen", "configure", withQemu({ traceBackend: "none" })).argv;
    expect(none.filter((a) => a.startsWith("--enable-trace"))).toEqual([]);
    const singular = step(config(), "qemu-xen", "configure", withQemu({ traceFlag: "--enable-trace-backend", traceProbe: false })).argv;
    expect(singular).toContain("--enable-trace-backend=log");
  });

  it("splits CONFIG_QEMUU_EXTRA_ARGS as the shell does, before --cpu", () => {
    const argv = step(config({ CONFIG_QEMUU_EXTRA_ARGS: `--enable-spice --extra-x="a b"` }), "qemu-xen", "configure").argv;
    expect(argv.slice(-3)).toEqual(["--enable-spice", "--extra-x=a b", "--cpu=x86_64"]);
  });

  it("puts EXTRA_CFLAGS_QEMU_XEN inside --extra-cflags and the rpath from QEMU_UPSTREAM_RPATH", () => {
    const argv = step(config({ EXTRA_CFLAGS_QEMU_XEN: "-O1 -g", QEMU_UPSTREAM_RPATH: "-Wl,-rpath,/a:/b" }), "qemu-xen", "configure").argv;
    expect(argv.find((a) => a.startsWith("--extra-cflags="))).toMatch(/_DEVICEMODEL_API=1 \t-O1 -g$/);
    expect(argv).toContain("--extra-ldflags=-Wl,-rpath,/a:/b");
  });

  it("takes the text before EXTRA_CFLAGS_QEMU_XEN from the tree's recipe when facts have it", () => {
    const argv = step(config({ EXTRA_CFLAGS_QEMU_XEN: "-O1" }), "qemu-xen", "configure", withQemu({ cflagsPrefix: "-DA=1 \\\n\t  -DB=1 " })).argv;
    expect(argv.find((a) => a.startsWith("--extra-cflags="))).toBe("--extra-cflags=-DA=1 \t  -DB=1 -O1");
  });

  it("adds the cross flags after --cpu", () => {
    const argv = step(config({ IOEMU_CONFIGURE_CROSS: "--cross-prefix=aarch64-linux-gnu- --interp-prefix=/usr/aarch64-linux-gnu/sys-root" }), "qemu-xen", "configure").argv;
    expect(argv.slice(-3)).toEqual(["--cpu=x86_64", "--cross-prefix=aarch64-linux-gnu-", "--interp-prefix=/usr/aarch64-linux-gnu/sys-root"]);
  });

  it("puts xqbuild's own switches and extra args after the glue's", () => {
    const cfg = config(
      { CONFIG_9PFS: "y" },
      { features: { libusb: true, spice: false }, settings: { components: { "qemu-xen": { extraConfigureArgs: ["--enable-vnc", "--x=a b"] } } } },
    );
    const argv = step(cfg, "qemu-xen", "configure").argv;
    expect(argv.slice(-6)).toEqual(["--cpu=x86_64", "--enable-virtfs", "--enable-libusb", "--disable-spice", "--enable-vnc", "--x=a b"]);
  });

  it("builds a local QEMU_UPSTREAM_LOC in place", () => {
    const cfg = config({ QEMU_UPSTREAM_LOC: "/src/qemu" });
    const plan = makePlan(cfg, { ...FACTS, locIsDir: { "qemu-xen": true } });
    const c = plan.components.find((x) => x.name === "qemu-xen");
    expect(c?.source).toEqual({ kind: "local-source", dir: "/src/qemu", mkdir: "/xen/tools/qemu-xen-dir" });
    expect(step(cfg, "qemu-xen", "configure", { ...FACTS, locIsDir: { "qemu-xen": true } }).argv[0]).toBe("/src/qemu/configure");
  });

  it("runs make all with MAKELEVEL unset, and make install with DESTDIR", () => {
    const b = step(config(), "qemu-xen", "make");
    expect(b.argv).toEqual(["make", "all"]);
    expect(b.env).toEqual({ MAKELEVEL: null });
    expect(step(config(), "qemu-xen", "make-install", FACTS, "/stage").argv).toEqual(["make", "install", "DESTDIR=/stage"]);
  });
});

describe("seabios", () => {
  it("runs olddefconfig and all with the glue's make variables", () => {
    const cfg = config();
    expect(step(cfg, "seabios", "olddefconfig").argv).toEqual(["make", "-C", "/xen/tools/firmware/seabios-dir", "olddefconfig", "CC=gcc", "LD=ld"]);
    expect(step(cfg, "seabios", "make").argv).toEqual([
      "make",
      "-C",
      "/xen/tools/firmware/seabios-dir",
      "CC=gcc",
      "LD=ld",
      "PYTHON=python3",
      "EXTRAVERSION=-Xen",
      "all",
    ]);
  });

  it("writes the revision into .version and copies seabios-config", () => {
    const plan = makePlan(config({ SEABIOS_UPSTREAM_REVISION: "rel-1.16.2" }), FACTS);
    const stages = plan.components.find((c) => c.name === "seabios")?.stages ?? [];
    expect(stages.find((s) => s.step === "version")).toMatchObject({ kind: "write", path: "/xen/tools/firmware/seabios-dir/.version", content: "rel-1.16.2\n" });
    expect(stages.find((s) => s.step === "seabios-config")).toMatchObject({ kind: "copy", from: "/xen/tools/firmware/seabios-config" });
  });

  it("installs bios.bin as XENFIRMWAREDIR/seabios.bin under DESTDIR", () => {
    const plan = makePlan(config(), FACTS, { destdir: "/stage" });
    const inst = plan.components.find((c) => c.name === "seabios")?.stages.find((s) => s.stage === "install");
    expect(inst).toMatchObject({ kind: "copy", from: "/xen/tools/firmware/seabios-dir/out/bios.bin", to: "/stage/usr/local/lib/xen/boot/seabios.bin", mode: 0o644 });
  });
});

describe("qemu-xen-traditional", () => {
  it("runs xen-setup with the glue's arguments and exports", () => {
    const cfg = config({ CONFIG_QEMU_TRAD: "y", EXTRA_CFLAGS_QEMU_TRADITIONAL: "-O1", IOEMU_EXTRA_LDFLAGS: `--extra-ldflags="-Wl,-rpath,/usr/local/lib"` });
    const s = step(cfg, "qemu-xen-traditional", "xen-setup");
    expect(s.argv).toEqual(["./xen-setup", "--extra-cflags=-D__XEN_TOOLS__ -O1", "--extra-ldflags=-Wl,-rpath,/usr/local/lib", "--cpu=x86_64"]);
    expect(s.cwd).toBe("/xen/tools/qemu-xen-traditional-dir");
    expect(s.env).toEqual({ PREFIX: "/usr/local", XEN_SCRIPT_DIR: "/etc/xen/scripts", XEN_ROOT: "/xen", CONFIG_BLKTAP1: "n", BUILDING_QEMU_TRAD: "y" });
  });

  it("is enabled by CONFIG_QEMU_TRAD and refused when named on a 4.21 tree", () => {
    expect(makePlan(config(), FACTS).components.find((c) => c.name === "qemu-xen-traditional")?.enabled).toBe(false);
    expect(makePlan(config({ CONFIG_QEMU_TRAD: "y" }), FACTS).components.find((c) => c.name === "qemu-xen-traditional")?.enabled).toBe(true);
    const v421 = { xenVersion: { major: 4, minor: 21, extra: ".0", full: "4.21.0" }, release: releaseProfile(4, 21) };
    const off = makePlan(config({ CONFIG_QEMU_TRAD: "y" }, v421), FACTS).components.find((c) => c.name === "qemu-xen-traditional");
    expect(off?.enabled).toBe(false);
    expect(off?.reason).toMatch(/Xen 4.21 removed qemu-xen-traditional/);
    expect(() => makePlan(config({}, { ...v421, selected: ["qemu-xen-traditional"] }), FACTS)).toThrow(/cannot be built with this release's glue/);
  });
});

describe("component selection", () => {
  it("follows CONFIG_* unless components are named, and the config file's enabled", () => {
    const names = (cfg: ResolvedConfig): string[] => makePlan(cfg, FACTS).components.filter((c) => c.enabled).map((c) => c.name);
    expect(names(config())).toEqual(["qemu-xen", "seabios"]);
    expect(names(config({ CONFIG_SEABIOS: "n" }))).toEqual(["qemu-xen"]);
    expect(names(config({}, { selected: ["seabios"] }))).toEqual(["seabios"]);
    expect(names(config({}, { settings: { components: { seabios: { enabled: false } } } }))).toEqual(["qemu-xen"]);
  });
});
