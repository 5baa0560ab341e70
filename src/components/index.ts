import type { ComponentName } from "./names.js";
import type { Recipe } from "./recipe.js";
import { qemuXen } from "./qemu-xen/recipe.js";
import { qemuXenTraditional } from "./qemu-xen-traditional/recipe.js";
import { seabios } from "./seabios/recipe.js";

/** Every recipe, in the order the glue builds them (tools/ before tools/firmware/). */
export const RECIPES: Readonly<Record<ComponentName, Recipe>> = {
  "qemu-xen-traditional": qemuXenTraditional,
  "qemu-xen": qemuXen,
  seabios,
};

/** What xqbuild builds, in words: for the help text and the man page. */
export const WHAT_IS_BUILT = "Xen's device models (qemu-xen, qemu-xen-traditional) and SeaBIOS";
/** The man page's NAME line says it shorter. */
export const WHAT_IS_BUILT_SHORT = "Xen's device models and SeaBIOS";
