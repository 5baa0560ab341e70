import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * The meson a configured QEMU build directory was set up with, as meson records it in
 * meson-info/meson-info.json (meson_version.full). QEMU runs the meson of its own tree (its
 * python/wheels or the meson submodule), not one on PATH, so this is the only place that knows it;
 * an SBOM names it beside the compiler, make, Python and ninja. Empty before configure has run.
 */
export function qemuBuildToolVersions(buildDir: string): Record<string, string> {
  try {
    const info = JSON.parse(readFileSync(path.join(buildDir, "meson-info", "meson-info.json"), "utf8")) as { meson_version?: { full?: unknown } };
    const full = info.meson_version?.full;
    return typeof full === "string" && full !== "" ? { meson: full } : {};
  } catch {
    return {};
  }
}
