import { existsSync } from "node:fs";
import { copyFile, link, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { gitAt, whenGitFails } from "./git.js";
import type { MirrorOptions } from "./mirror.js";

/**
 * A clone of the cache's mirror holding `commit`: a local clone (objects hard-linked, never an
 * alternates link) brings every branch and tag; a commit the mirror keeps only under xqbuild's own
 * refs (a pinned commit, a submodule's) is then fetched from the mirror, still without the network.
 */
export async function cloneFromMirror(mirrorDir: string, dest: string, commit: string, opts: MirrorOptions): Promise<void> {
  // git clones a shallow repository through a pack it writes anew (40 MB for QEMU, seconds of CPU);
  // its objects can be linked instead, as git's own local clone does for a full repository.
  const linked = existsSync(path.join(mirrorDir, "shallow")) && (await linkClone(mirrorDir, dest, opts).then(() => true, async () => {
    await rm(dest, { recursive: true, force: true });
    return false;
  }));
  if (!linked) await gitAt(path.dirname(dest), opts).raw(["clone", "--quiet", "--no-checkout", "--end-of-options", mirrorDir, dest]);
  const git = gitAt(dest, opts);
  const present = await git.raw(["cat-file", "-e", `${commit}^{commit}`]).then(() => true, whenGitFails(false));
  if (!present) await git.raw(["fetch", "--quiet", "--no-tags", "--update-shallow", "--end-of-options", mirrorDir, `+${commit}:refs/xqbuild/upstream/${commit}`]);
}

/** Hard-links (or, across file systems, copies) every file under src into dst, directories made as needed. */
async function linkTree(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true });
  for (const e of await readdir(src, { withFileTypes: true })) {
    const from = path.join(src, e.name);
    const to = path.join(dst, e.name);
    if (e.isDirectory()) await linkTree(from, to);
    else if (e.isFile()) {
      await link(from, to).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST") return;
        await copyFile(from, to);
      });
    }
  }
}

/**
 * A clone of a shallow mirror made the way `git clone --local` makes one of a full repository: a new
 * repository whose objects are links to the mirror's (packs are never modified in place, so the two
 * stay independent: no alternates), the mirror's shallow list, and its branches and tags as origin's.
 */
export async function linkClone(mirrorDir: string, dest: string, opts: MirrorOptions): Promise<void> {
  await gitAt(path.dirname(dest), opts).raw(["init", "--quiet", "--", dest]);
  const objects = path.join(dest, ".git", "objects");
  for (const e of await readdir(path.join(mirrorDir, "objects"), { withFileTypes: true })) {
    if (e.isDirectory() && (e.name === "pack" || /^[0-9a-f]{2}$/.test(e.name))) await linkTree(path.join(mirrorDir, "objects", e.name), path.join(objects, e.name));
  }
  await copyFile(path.join(mirrorDir, "shallow"), path.join(dest, ".git", "shallow"));
  const git = gitAt(dest, opts);
  await git.raw(["remote", "add", "origin", "--", mirrorDir]);
  // Every object is already here: this only writes the refs.
  await git.raw(["fetch", "--quiet", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]);
}

