import path from "node:path";
import type { RecipeContext } from "./recipe.js";

/**
 * What a compiler must be told so that the tree's place leaves no trace in what it writes (the
 * `reproducible: true` setting, plan/reproducible.ts): -ffile-prefix-map (GCC 8, Clang 10) maps the
 * tree's root to "." in __FILE__ and the debug information (DW_AT_comp_dir is the build directory as
 * getcwd() gives it), as Debian's dpkg-buildflags does with the package's directory. The root is
 * mapped by the path it is planned under and by its real path when a link leads there; a source
 * directory outside the tree (a *_LOC directory) is mapped to the in-tree name the glue would give
 * it (`linkDir`, relative to the root), so it too leaves no path behind.
 *
 * GCC applies the last map that matches, so the general ones come first. No path here has a blank
 * (which QEMU's configure would split its --extra-cflags at): Xen's makefiles cannot work in such a
 * tree, xqbuild refuses such a *_LOC, and QEMU's configure refuses such a build directory itself.
 * Empty when the setting is off.
 */
export function filePrefixMaps(ctx: RecipeContext, sourceDir: string, linkDir: string): string[] {
  if (ctx.config.settings.reproducible !== true) return [];
  const real = ctx.facts.reproducible?.realPaths ?? {};
  const root = path.resolve(ctx.config.xenRoot);
  const maps: Array<[string, string]> = [];
  const add = (from: string, to: string): void => {
    if (!maps.some(([f]) => f === from)) maps.push([from, to]);
  };
  const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
  for (const p of [root, real[root] ?? root]) add(p, ".");
  const src = path.resolve(sourceDir);
  const linked = `./${path.relative(root, path.resolve(root, linkDir))}`;
  for (const p of [src, real[src] ?? src]) {
    if (!inside(p, root) && !inside(p, real[root] ?? root)) add(p, linked);
  }
  return maps.map(([from, to]) => `-ffile-prefix-map=${from}=${to}`);
}
