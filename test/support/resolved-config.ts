// A resolved configuration of a configured Xen 4.17 tree at /xen, as config/resolve.ts would give
// it, for the tests that make plans from values rather than from a tree (plan.test.ts, plan-refine).
import { releaseProfile } from "../../src/config/release.js";
import type { ResolvedConfig, ResolvedVar } from "../../src/config/types.js";
import type { Settings } from "../../src/config/settings.js";

export const BASE: Record<string, string> = {
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

export function config(over: Record<string, string> = {}, extra: Partial<ResolvedConfig> = {}): ResolvedConfig {
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
