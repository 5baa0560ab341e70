import { createHash } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ComponentName } from "./names.js";
import type { Recipe } from "./recipe.js";
import { UserError } from "../util/errors.js";

/**
 * The license a component is distributed under, and where its tree says so. The SPDX identifier is
 * declared by the recipe (QEMU as a whole is GPL-2.0-only, as its LICENSE file says; SeaBIOS is
 * LGPL-3.0-only), and the tree's own license files are read to confirm it: a tree whose license file
 * is missing, or no longer reads as that license, stops an SBOM or legal-info instead of declaring a
 * license the tree does not carry.
 */
export interface LicenseDeclaration {
  /** An SPDX license identifier (validated against SPDX's list by the SBOM's tests). */
  readonly spdx: string;
  /** The file whose text is the license, relative to the source tree, and how its first lines read. */
  readonly file: string;
  readonly heading: RegExp;
  /** Other license texts the tree ships beside it (QEMU's LICENSE and COPYING.LIB, SeaBIOS's COPYING: the GPLv3 that LGPLv3 builds on), packed by legal-info when present. */
  readonly also?: readonly string[];
}

/** One license file as read from a fetched tree. */
export interface LicenseFile {
  /** Relative to the source tree. */
  readonly path: string;
  readonly sha256: string;
  readonly text: string;
}

/** What a fetched tree's license files say, checked against the recipe's declaration. */
export interface ComponentLicense {
  readonly component: ComponentName;
  readonly spdx: string;
  /** The license file first, then the others the tree has (missing `also` files are left out). */
  readonly files: readonly LicenseFile[];
}

/** How many bytes of a license file the heading must appear in (the GPL's title is in its first lines). */
const HEAD_BYTES = 1024;

function readTreeFile(sourceDir: string, rel: string): string | undefined {
  const file = path.join(sourceDir, rel);
  try {
    // A fetched tree's symbolic link is not followed out of it: a license file must be a file.
    if (!lstatSync(file).isFile()) return undefined;
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function licenseFile(rel: string, text: string): LicenseFile {
  return { path: rel, sha256: createHash("sha256").update(text).digest("hex"), text };
}

/**
 * Reads and checks the license files of a fetched tree. Throws a UserError naming the file when the
 * declared license file is missing or does not read as the declared license.
 */
export function readLicense(recipe: Pick<Recipe, "name" | "license">, sourceDir: string): ComponentLicense {
  const decl = recipe.license;
  const main = readTreeFile(sourceDir, decl.file);
  const where = path.join(sourceDir, decl.file);
  if (main === undefined) {
    throw new UserError(
      `${recipe.name} declares the license ${decl.spdx}, but its tree has no license file ${where}.`,
      `Fetch the component again (xqbuild fetch ${recipe.name}); a local tree (its *_LOC) must carry the upstream's ${decl.file}.`,
      "failure",
    );
  }
  if (!decl.heading.test(main.slice(0, HEAD_BYTES))) {
    throw new UserError(
      `${where} does not read as ${decl.spdx}, the license xqbuild declares for ${recipe.name}: its first lines do not match ${decl.heading}.`,
      `Check which license this tree is under; if upstream changed it, xqbuild's recipe for ${recipe.name} must change too (report it).`,
      "failure",
    );
  }
  const files = [licenseFile(decl.file, main)];
  for (const rel of decl.also ?? []) {
    const text = readTreeFile(sourceDir, rel);
    if (text !== undefined) files.push(licenseFile(rel, text));
  }
  return { component: recipe.name, spdx: decl.spdx, files };
}
