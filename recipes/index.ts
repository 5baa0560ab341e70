import type { ComponentName } from "../src/components.js";
import type { Recipe } from "../src/recipe.js";
import { qemuXen } from "./qemu-xen.js";
import { qemuXenTraditional } from "./qemu-xen-traditional.js";
import { seabios } from "./seabios.js";

/** Every recipe, in the order the glue builds them (tools/ before tools/firmware/). */
export const RECIPES: Readonly<Record<ComponentName, Recipe>> = {
  "qemu-xen-traditional": qemuXenTraditional,
  "qemu-xen": qemuXen,
  seabios,
};
