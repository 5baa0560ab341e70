import path from "node:path";
import { assertInside, isWithin, staysInside } from "../util/fs.js";
import type { ComponentPlan } from "./plan.js";

/**
 * The directories of the Xen tree that a component's fetch, build and clean write (its checkout,
 * the directory of its link, its build directory) must stay inside the tree. A Xen tree is someone
 * else's input too: a `tools/qemu-xen-build` or `tools/qemu-xen-dir-remote` that is a symbolic link
 * out of it would have configure, make or git write (and make clean delete) wherever it points.
 * Refused before anything runs, the link named. A local source (`*_LOC` a directory) is the user's
 * own: a build directory that is, or resolves into, that directory is allowed.
 */
export function assertDirsInsideTree(xenRoot: string, components: readonly ComponentPlan[]): void {
  const root = path.resolve(xenRoot);
  for (const c of components.filter((x) => x.enabled)) {
    const src = c.source;
    if (src.kind === "git-checkout" || src.kind === "tarball") {
      assertInside(src.remoteDir, root, `${c.name}'s source directory`);
      // The link itself is xqbuild's to replace; the directory it is made in must be the tree's.
      assertInside(path.dirname(src.linkDir), root, `the directory of ${c.name}'s link`);
    }
    if (src.kind === "local-source" && src.mkdir !== undefined && isWithin(path.resolve(src.mkdir), root)) {
      assertInside(path.dirname(src.mkdir), root, `the directory of ${c.name}'s ${path.basename(src.mkdir)}`);
    }
    const build = path.resolve(c.buildDir);
    if (!isWithin(build, root)) continue;
    if (src.kind === "local-source" && staysInside(build, src.dir)) continue;
    assertInside(build, root, `${c.name}'s build directory`);
  }
}
