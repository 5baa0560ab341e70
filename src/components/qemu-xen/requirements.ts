import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { because, hdr, pc, prog, type HostRequirement } from "../../host/requirements.js";
import type { RequirementsInput } from "../recipe.js";

/**
 * Where the fetched QEMU's configure gets meson from, which decides what the host must have:
 * - "venv": QEMU 8.1 and later (pythondeps.toml) create a venv with the configured Python and install
 *   meson into it from python/wheels, or take an accepted meson the Python already has (configure
 *   runs mkvenv without --online for meson); the host's meson program is never used.
 * - "submodule": QEMU 5.2 to 8.0 with its meson/ submodule checked out.
 * - "host": a meson-built QEMU with neither: configure runs the host's meson.
 * - "unknown": not fetched yet, or not built with meson: nothing to ask for.
 */
export type QemuMeson = { kind: "venv"; wheels: string; accepted: string } | { kind: "submodule" } | { kind: "host" } | { kind: "unknown" };

/** Reads how a QEMU source tree gets its meson (see QemuMeson). */
export function qemuMesonOf(sourceDir: string): QemuMeson {
  const deps = path.join(sourceDir, "pythondeps.toml");
  if (existsSync(deps)) {
    let text = "";
    try {
      text = readFileSync(deps, "utf8");
    } catch {
      // unreadable: accept any meson
    }
    const accepted = /^meson\s*=\s*\{[^}\n]*\baccepted\s*=\s*"([^"]*)"/m.exec(text)?.[1] ?? "";
    return { kind: "venv", wheels: path.join(sourceDir, "python", "wheels"), accepted };
  }
  if (existsSync(path.join(sourceDir, "meson", "meson.py"))) return { kind: "submodule" };
  if (existsSync(path.join(sourceDir, "meson.build"))) return { kind: "host" };
  return { kind: "unknown" };
}

/** The Xen libraries QEMU's --enable-xen links with, as pkg-config modules. */
export const XEN_LIBS = ["xencontrol", "xenstore", "xenforeignmemory", "xengnttab", "xenevtchn", "xendevicemodel", "xentoolcore"];

/** What building QEMU needs: its build tools, meson as this source gets it, libraries, features. */
export function qemuXenRequirements({ config, sourceDir, python }: RequirementsInput): HostRequirement[] {
  // What the host needs for meson follows the QEMU fetched (nothing is asked before it is there).
  const meson = qemuMesonOf(sourceDir);
  const out: HostRequirement[] = because("qemu-xen", prog("ninja", ["ninja", "ninja-build"], ["ninja-build"], ["ninja-build"]), prog("pkg-config", ["pkg-config", "pkgconf"], ["pkg-config"], ["pkgconf-pkg-config"]));
  if (meson.kind === "host") out.push(...because("qemu-xen (this QEMU brings neither meson/ nor pythondeps.toml: its configure runs the host's meson)", prog("meson", ["meson"], ["meson"], ["meson"])));
  if (meson.kind === "venv") {
    out.push(
      ...because(
        `qemu-xen (its configure makes a Python venv with ${python} and installs meson into it)`,
        { what: `${python} module venv`, probe: { kind: "python-module", python, modules: ["venv"] }, debian: ["python3-venv"], fedora: ["python3-libs"] },
        // mkvenv needs pip in the venv: the system's pip and setuptools (seen through system site packages), else ensurepip.
        { what: `${python} module ensurepip (or pip and setuptools)`, probe: { kind: "python-module", python, modules: ["ensurepip", "pip+setuptools"] }, debian: ["python3-venv"], fedora: ["python3-pip"] },
        { what: `${python} module tomllib (or tomli)`, probe: { kind: "python-module", python, modules: ["tomllib", "tomli"] }, debian: ["python3-tomli"], fedora: ["python3-tomli"] },
        {
          what: `meson ${meson.accepted || ""} for QEMU's venv`.replace(/\s+/g, " "),
          probe: { kind: "python-wheel", python, dist: "meson", owner: "QEMU", wheels: meson.wheels, accepted: meson.accepted, note: "Debian's +ds QEMU source ships none" },
          debian: ["meson"],
          fedora: ["meson"],
        },
      ),
    );
  }
  out.push(...because("qemu-xen", prog("flex", ["flex"], ["flex"], ["flex"]), prog("bison", ["bison"], ["bison"], ["bison"])));
  out.push(...because("qemu-xen", pc("glib-2.0", ["libglib2.0-dev"], ["glib2-devel"]), pc("pixman-1", ["libpixman-1-dev"], ["pixman-devel"]), hdr("libfdt.h", ["libfdt-dev"], ["libfdt-devel"])));
  out.push(...because("qemu-xen --enable-xen (from the Xen tree's tools/pkg-config once tools are built, or installed)", ...XEN_LIBS.map((lib) => pc(lib, ["libxen-dev"], ["xen-devel"]))));
  const features = config.features;
  if (features.libusb) out.push(...because("the libusb feature (PVUSB)", pc("libusb-1.0", ["libusb-1.0-0-dev"], ["libusbx-devel"])));
  if (features.spice) out.push(...because("the spice feature", pc("spice-server", ["libspice-server-dev"], ["spice-server-devel"]), pc("spice-protocol", ["libspice-protocol-dev"], ["spice-protocol"])));
  if (config.vars.get("CONFIG_9PFS")?.value.trim() === "y") out.push(...because("9pfs (CONFIG_9PFS=y: --enable-virtfs)", pc("libcap-ng", ["libcap-ng-dev"], ["libcap-ng-devel"]), hdr("attr/xattr.h", ["libattr1-dev"], ["libattr-devel"])));
  return out;
}
