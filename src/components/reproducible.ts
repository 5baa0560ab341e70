import path from "node:path";
import type { RecipeContext } from "./recipe.js";

/**
 * What a compiler must be told so that the tree's place leaves no trace in what it writes (the
 * `reproducible: true` setting, plan/reproducible.ts): -ffile-prefix-map (GCC 8, Clang 10) rewrites
 * the paths in __FILE__ and the debug information (DW_AT_comp_dir is the build directory as getcwd()
 * gives it, and generated headers carry #line directives naming source files by absolute path).
 *
 * Each directory from the tree's root down to the build directory is mapped to its path relative to
 * the build directory ("../..", "..", "."): that is what ccache's base_dir (the tree, engine/ccache.ts)
 * makes of the absolute -I paths it rewrites, so a build with ccache and one without give the same
 * bytes, and any tree gives them. The root is mapped by the path it is planned under and by its real
 * path when a link leads there; a source directory outside the tree (a *_LOC directory) is mapped to
 * where the glue's link to it would be (`linkDir`, relative to the root), so it leaves no path either.
 *
 * GCC applies the last map that matches, so the general ones come first. No path here has a blank
 * (which QEMU's configure would split its --extra-cflags at): Xen's makefiles cannot work in such a
 * tree, xqbuild refuses such a *_LOC, and QEMU's configure refuses such a build directory itself.
 * Empty when the setting is off.
 */
export function filePrefixMaps(ctx: RecipeContext, dirs: { readonly source: string; readonly build: string; readonly link: string }): string[] {
  if (ctx.config.settings.reproducible !== true) return [];
  const real = ctx.facts.reproducible?.realPaths ?? {};
  const root = path.resolve(ctx.config.xenRoot);
  const roots = [root, real[root] ?? root];
  const build = path.resolve(dirs.build);
  const maps: Array<[string, string]> = [];
  const add = (from: string, to: string): void => {
    if (!maps.some(([f]) => f === from)) maps.push([from, to]);
  };
  const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
  const rel = (from: string, to: string): string => path.relative(from, to) || ".";
  // The build directory's ancestors within the tree, the root first (each of the root's spellings).
  const steps = inside(build, root) ? path.relative(root, build).split("/").filter((s) => s !== "") : [];
  for (const r of roots) {
    for (let i = 0; i <= steps.length; i++) {
      const dir = path.join(r, ...steps.slice(0, i));
      add(dir, rel(path.join(root, ...steps), path.join(root, ...steps.slice(0, i))));
    }
  }
  const linked = rel(path.join(root, ...steps), path.resolve(root, dirs.link));
  const src = path.resolve(dirs.source);
  for (const p of [src, real[src] ?? src]) {
    if (!roots.some((r) => inside(p, r))) add(p, linked);
  }
  return maps.map(([from, to]) => `-ffile-prefix-map=${from}=${to}`);
}
