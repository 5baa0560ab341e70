import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import type { ComponentName } from "./components.js";
import type { ResolvedConfig } from "./config/types.js";
import type { Features } from "./config/settings.js";
import { onPath } from "./which.js";

/** One thing the host must have, with the packages that provide it. */
export interface Check {
  readonly what: string;
  readonly why: string;
  readonly ok: boolean;
  readonly found?: string;
  readonly debian: readonly string[];
  readonly fedora: readonly string[];
}

type Probe = { kind: "program"; names: readonly string[] } | { kind: "pkg-config"; module: string } | { kind: "header"; file: string };

interface Requirement {
  readonly what: string;
  readonly probe: Probe;
  readonly debian: readonly string[];
  readonly fedora: readonly string[];
}

const prog = (what: string, names: readonly string[], debian: readonly string[], fedora: readonly string[]): Requirement => ({ what, probe: { kind: "program", names }, debian, fedora });
const pc = (module: string, debian: readonly string[], fedora: readonly string[]): Requirement => ({ what: `${module} (pkg-config)`, probe: { kind: "pkg-config", module }, debian, fedora });
const hdr = (file: string, debian: readonly string[], fedora: readonly string[]): Requirement => ({ what: `<${file}>`, probe: { kind: "header", file }, debian, fedora });

/** The Xen libraries QEMU's --enable-xen links with, as pkg-config modules. */
export const XEN_LIBS = ["xencontrol", "xenstore", "xenforeignmemory", "xengnttab", "xenevtchn", "xendevicemodel", "xentoolcore"];

/** What each component and feature needs, as data. */
export function requirements(config: ResolvedConfig, components: readonly ComponentName[], features: Features, qemuEmbedsMeson: boolean): Array<Requirement & { why: string }> {
  const out: Array<Requirement & { why: string }> = [];
  const add = (why: string, ...rs: Requirement[]): void => {
    for (const r of rs) if (!out.some((o) => o.what === r.what)) out.push({ ...r, why });
  };
  const cc = (config.vars.get("CC")?.value || "gcc").split(/\s+/)[0] ?? "gcc";
  const python = (config.vars.get("PYTHON")?.value || "python3").split(/\s+/)[0] ?? "python3";
  add("every component", prog("C compiler", [cc], ["gcc"], ["gcc"]), prog("GNU make", ["make"], ["make"], ["make"]), prog("git", [config.vars.get("GIT")?.value || "git"], ["git"], ["git"]), prog("Python", [python], ["python3"], ["python3"]));
  if (components.includes("qemu-xen")) {
    add("qemu-xen", prog("ninja", ["ninja", "ninja-build"], ["ninja-build"], ["ninja-build"]), prog("pkg-config", ["pkg-config", "pkgconf"], ["pkg-config"], ["pkgconf-pkg-config"]));
    if (!qemuEmbedsMeson) add("qemu-xen (this QEMU does not bring its own meson)", prog("meson", ["meson"], ["meson"], ["meson"]));
    add("qemu-xen", prog("flex", ["flex"], ["flex"], ["flex"]), prog("bison", ["bison"], ["bison"], ["bison"]));
    add("qemu-xen", pc("glib-2.0", ["libglib2.0-dev"], ["glib2-devel"]), pc("pixman-1", ["libpixman-1-dev"], ["pixman-devel"]), hdr("libfdt.h", ["libfdt-dev"], ["libfdt-devel"]));
    for (const lib of XEN_LIBS) add("qemu-xen --enable-xen (from the Xen tree's tools/pkg-config once tools are built, or installed)", pc(lib, ["libxen-dev"], ["xen-devel"]));
    if (features.libusb) add("the libusb feature (PVUSB)", pc("libusb-1.0", ["libusb-1.0-0-dev"], ["libusbx-devel"]));
    if (features.spice) add("the spice feature", pc("spice-server", ["libspice-server-dev"], ["spice-server-devel"]), pc("spice-protocol", ["libspice-protocol-dev"], ["spice-protocol"]));
    if (config.vars.get("CONFIG_9PFS")?.value.trim() === "y") add("9pfs (CONFIG_9PFS=y: --enable-virtfs)", pc("libcap-ng", ["libcap-ng-dev"], ["libcap-ng-devel"]), hdr("attr/xattr.h", ["libattr1-dev"], ["libattr-devel"]));
  }
  if (components.includes("seabios")) add("seabios", prog("iasl", ["iasl"], ["acpica-tools"], ["acpica-tools"]));
  if (components.includes("qemu-xen-traditional")) add("qemu-xen-traditional", hdr("zlib.h", ["zlib1g-dev"], ["zlib-devel"]), hdr("ncurses.h", ["libncurses-dev"], ["ncurses-devel"]));
  return out;
}

/** Runs every check; nothing is installed or changed. */
export function runChecks(config: ResolvedConfig, reqs: ReadonlyArray<Requirement & { why: string }>): Check[] {
  const env: Record<string, string> = { ...config.env };
  if (config.mode === "tree") {
    const own = path.join(config.xenRoot, "tools", "pkg-config");
    env.PKG_CONFIG_PATH = env.PKG_CONFIG_PATH ? `${own}:${env.PKG_CONFIG_PATH}` : own;
  }
  const pkgConfig = onPath("pkg-config", env) ?? onPath("pkgconf", env);
  const includeDirs = ["/usr/include", "/usr/local/include", `/usr/include/${process.arch === "x64" ? "x86_64" : process.arch}-linux-gnu`];
  // One pkg-config for every module when all are there (the usual case: a rerun pays for one), else one each.
  const modules = [...new Set(reqs.flatMap((r) => (r.probe.kind === "pkg-config" ? [r.probe.module] : [])))];
  const versions = new Map<string, string>();
  if (pkgConfig && modules.length > 0) {
    const all = spawnSync(pkgConfig, ["--modversion", ...modules], { env, encoding: "utf8" });
    const lines = all.stdout?.trim().split("\n") ?? [];
    if (all.status === 0 && lines.length === modules.length) modules.forEach((m, i) => versions.set(m, (lines[i] ?? "").trim()));
  }
  return reqs.map((r): Check => {
    const base = { what: r.what, why: r.why, debian: r.debian, fedora: r.fedora };
    switch (r.probe.kind) {
      case "program": {
        for (const n of r.probe.names) {
          const found = onPath(n, env);
          if (found) return { ...base, ok: true, found };
        }
        return { ...base, ok: false };
      }
      case "pkg-config": {
        if (!pkgConfig) return { ...base, ok: false };
        const known = versions.get(r.probe.module);
        if (known !== undefined) return { ...base, ok: true, found: known };
        const res = spawnSync(pkgConfig, ["--modversion", r.probe.module], { env, encoding: "utf8" });
        return res.status === 0 ? { ...base, ok: true, found: res.stdout.trim() } : { ...base, ok: false };
      }
      case "header": {
        const file = r.probe.file;
        const dir = includeDirs.find((d) => existsSync(path.join(d, file)));
        return dir ? { ...base, ok: true, found: path.join(dir, file) } : { ...base, ok: false };
      }
      default: {
        const never: never = r.probe;
        return never;
      }
    }
  });
}

/** The one-paragraph answer to "what do I install": every missing thing and the packages for it. */
export function missingReport(checks: readonly Check[]): string | undefined {
  const missing = checks.filter((c) => !c.ok);
  if (missing.length === 0) return undefined;
  const uniq = (xs: readonly string[]): string[] => [...new Set(xs)].sort();
  return [
    `missing on this host: ${missing.map((m) => `${m.what} (for ${m.why})`).join("; ")}.`,
    `Debian/Ubuntu: apt-get install ${uniq(missing.flatMap((m) => m.debian)).join(" ")}`,
    `Fedora: dnf install ${uniq(missing.flatMap((m) => m.fedora)).join(" ")}`,
  ].join("\n");
}
