import path from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import type { Plan } from "../plan/plan.js";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { gatherBill, type Bill, type BillOptions } from "./bill.js";
import { cyclonedxText } from "./cyclonedx.js";
import { spdxText } from "./spdx.js";

import { SBOM_FORMATS, type SbomFormat } from "./formats.js";

export { SBOM_FORMATS, isSbomFormat, type SbomFormat } from "./formats.js";
export { gatherBill, type Bill } from "./bill.js";

/** The file names install --sbom writes, one per format. */
export const SBOM_FILES: Readonly<Record<SbomFormat, string>> = { cyclonedx: "sbom.cdx.json", spdx: "sbom.spdx.json" };

/** One bill in one format: both formats are written from the same gathered bill, so they agree. */
export function renderSbom(bill: Bill, format: SbomFormat): string {
  return format === "cyclonedx" ? cyclonedxText(bill) : spdxText(bill);
}

/**
 * The SBOM of the plan's enabled components as text, for `xqbuild sbom` and for legal-info. A
 * component not fetched (or used from a local directory) is refused with a UserError naming it; one
 * not installed with these inputs is described by its sources, without installed files.
 */
export async function sbomText(config: ResolvedConfig, plan: Plan, format: SbomFormat, opts: BillOptions = {}): Promise<string> {
  return renderSbom(await gatherBill(config, plan, opts), format);
}

/**
 * Where install --sbom puts the documents: Xen's private tree ($(LIBEXEC), as the glue installs the
 * device model into) under share/doc/xqbuild, inside DESTDIR, beside QEMU's own share/doc. A packager
 * ships that tree with the device model already, so the SBOM travels with the files it describes;
 * they are written after the install, and describe every file but themselves.
 */
export function installedSbomDir(config: ResolvedConfig, destdir: string): string {
  const libexec = (config.vars.get("LIBEXEC")?.value ?? "").trim();
  if (!path.isAbsolute(libexec)) throw new UserError(`LIBEXEC is ${JSON.stringify(libexec)}, not an absolute path, so install --sbom has no place for the SBOM.`, "Set LIBEXEC (Xen's configure does: usually $(prefix)/lib/xen), or write the SBOM yourself: xqbuild sbom -o FILE.");
  return path.join(destdir, libexec, "share", "doc", "xqbuild");
}

/**
 * install --sbom's last step: both documents, from one bill of the install just made (installed
 * files hashed under DESTDIR), written each aside and renamed into place. Returns the files and the
 * bill's warnings.
 */
export async function writeInstalledSbom(config: ResolvedConfig, plan: Plan, destdir: string, signal?: AbortSignal): Promise<{ files: string[]; warnings: readonly string[] }> {
  const dir = installedSbomDir(config, destdir);
  const bill = await gatherBill(config, plan, { installRoot: destdir, ...(signal ? { signal } : {}) });
  const files: string[] = [];
  for (const format of SBOM_FORMATS) {
    const file = path.join(dir, SBOM_FILES[format]);
    await writeFileAtomic(file, renderSbom(bill, format), destdir, "the SBOM");
    files.push(file);
  }
  return { files, warnings: bill.warnings };
}
