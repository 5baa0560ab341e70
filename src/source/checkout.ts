import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { mkdir, rename, rm, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { withoutCredentials } from "../util/redact.js";
import { applyPatches, patchState } from "./apply-patches.js";
import { gitAt, gitFailure, GitError, gitMessage, whenGitFails } from "./git.js";
import { cloneFromMirror } from "./link-clone.js";
import { localWork, onlyBuildWrites } from "./local-work.js";
import { ensureRevision, type MirrorOptions } from "./mirror.js";
import { patchQueueHash, type Patch } from "./patches.js";
import { attachSubmodules, checkoutSubmodules, prepareSubmodule, submodulesAt } from "./submodules.js";
import { fetchWraps, type WrapReport, type WrapSelector } from "./wraps.js";

export interface CheckoutRequest {
  readonly url: string;
  readonly revision: string;
  /** The commit to check out when already known (from the lock file); else the revision is resolved. */
  readonly commit?: string;
  /** Where the revision and the commit were written, for messages (".config:2", "xqbuild.lock"). */
  readonly revisionFrom?: string;
  readonly commitFrom?: string;
  readonly remoteDir: string;
  readonly linkDir: string;
  /** Submodule paths to fetch up front through the mirror cache (QEMU's meson, dtc, ...). */
  readonly submodules?: readonly string[];
  /** Move a tree with local work anyway, after saving it in a backup ref. */
  readonly force?: boolean;
  /** A patch queue applied as commits on top of the wanted commit. */
  readonly patches?: readonly Patch[];
  /** Prepare the meson subprojects/*.wrap sources this selects up front (on every run: cheap when done). */
  readonly wraps?: WrapSelector;
  /**
   * Tracked files the build itself rewrites (the recipe's buildWrites). A move over changes to these
   * alone goes ahead without --force, the changes kept in a backup ref as --force keeps them.
   */
  readonly buildWrites?: readonly string[];
  /** The tree needs the history and tags a plain clone has (the recipe's fullHistory): no shallow mirror. */
  readonly fullHistory?: boolean;
}

export interface CheckoutResult {
  readonly commit: string;
  /** What happened: a new clone, a move to another commit (or patch queue), or nothing. */
  readonly action: "cloned" | "moved" | "unchanged";
  readonly backupRef?: string;
  /** The commit checked out once the patches are applied (= commit without patches). */
  readonly head: string;
  /** What was done with the tree's meson wraps, when it has any and wraps were asked for. */
  readonly wraps?: WrapReport;
}

/** The tree's HEAD when it is the commit (with the patch queue applied, if any), else undefined. */
async function treeAt(dir: string, commit: string, patches: readonly Patch[], opts: MirrorOptions): Promise<string | undefined> {
  const head = await gitAt(dir, opts)
    .raw(["rev-parse", "--verify", "--quiet", "HEAD"])
    .then((h) => h.trim(), whenGitFails(""));
  if (head === "") return undefined;
  if (patches.length === 0) return head === commit ? head : undefined;
  const state = await patchState(dir, opts);
  return state?.key === `${commit}:${patchQueueHash(patches)}` && state.head === head ? head : undefined;
}

const TMP_SUFFIX = ".xqbuild-tmp";

/** `ln -sf $(basename DIR-remote) DIR`, as git-checkout.sh leaves it. */
export async function ensureLink(linkDir: string, remoteDir: string): Promise<void> {
  const target = path.basename(remoteDir);
  try {
    const st = lstatSync(linkDir);
    if (st.isSymbolicLink() && readlinkSync(linkDir) === target) return;
    if (!st.isSymbolicLink()) {
      throw new UserError(`${linkDir} exists and is not a symbolic link to ${target}.`, `Move it away (it may hold your work), or point the *_LOC variable at it to build it in place.`);
    }
    await unlink(linkDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  await symlink(target, linkDir);
}

/**
 * scripts/git-checkout.sh done so that nothing is lost: the clone goes through a temporary
 * directory renamed into place only when complete; an existing tree is moved to the wanted commit
 * (which the glue never does) unless it holds local work, which only `force` moves, after saving it.
 */
export async function checkoutTree(req: CheckoutRequest, opts: MirrorOptions): Promise<CheckoutResult> {
  // A tree already at the pinned commit (and patch queue) needs nothing from the mirror.
  if (req.commit && existsSync(path.join(req.remoteDir, ".git"))) {
    const at = await treeAt(req.remoteDir, req.commit, req.patches ?? [], opts);
    if (at) {
      const wraps = req.wraps ? await fetchWraps(req.remoteDir, req.wraps, opts) : undefined;
      await ensureLink(req.linkDir, req.remoteDir);
      return { commit: req.commit, action: "unchanged", head: at, ...(wraps ? { wraps } : {}) };
    }
  }
  const mirrorOpts = req.fullHistory ? { ...opts, shallow: false } : opts;
  const wanted = req.commit ? await ensureRevision(req.url, req.commit, mirrorOpts, req.commitFrom) : await ensureRevision(req.url, req.revision, mirrorOpts, req.revisionFrom);
  const commit = wanted.commit;
  const patches = req.patches ?? [];
  const patchKey = patches.length > 0 ? `${commit}:${patchQueueHash(patches)}` : undefined;
  const tmp = req.remoteDir + TMP_SUFFIX;
  await rm(tmp, { recursive: true, force: true });
  if (!existsSync(req.remoteDir)) {
    await mkdir(path.dirname(req.remoteDir), { recursive: true });
    try {
      await cloneFromMirror(wanted.mirrorDir, tmp, commit, opts);
      const git = gitAt(tmp, opts);
      // The tree records where it came from, never the password that got it (src/redact.ts).
      await git.raw(["remote", "set-url", "origin", withoutCredentials(req.url)]);
      await git.raw(["update-ref", `refs/xqbuild/upstream/${commit}`, commit]);
      // The submodules are prepared aside while the superproject is checked out.
      const subs = await submodulesAt(tmp, commit, req.url, req.submodules ?? [], opts);
      const aside = path.join(tmp, ".git", "xqbuild-submodules");
      const [, prepared] = await Promise.all([
        git.raw(["checkout", "--quiet", "-B", "dummy", commit]),
        Promise.all(subs.map((sm, i) => prepareSubmodule(sm, path.join(aside, String(i)), false, tmp, opts))),
      ]);
      await attachSubmodules(tmp, prepared, opts);
      await rm(aside, { recursive: true, force: true });
      const head = await applyPatches(tmp, commit, patches, opts);
      const wraps = req.wraps ? await fetchWraps(tmp, req.wraps, opts) : undefined;
      await rename(tmp, req.remoteDir);
      await ensureLink(req.linkDir, req.remoteDir);
      return { commit, action: "cloned", head, ...(wraps ? { wraps } : {}) };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (e instanceof UserError) throw e;
      throw gitFailure(`cloning ${req.url} into ${req.remoteDir}`, e);
    }
  }

  const git = gitAt(req.remoteDir, opts);
  let head: string;
  try {
    head = (await git.raw(["rev-parse", "--verify", "HEAD"])).trim();
  } catch (e) {
    // A tree git refuses (another user's) is said as such, never as one to move away.
    if (!(e instanceof GitError)) throw e;
    const msg = gitMessage(e);
    throw new UserError(`${req.remoteDir} exists but is not a usable git checkout: ${msg.split("\n")[0]}`, existsSync(path.join(req.remoteDir, ".git")) ? "Repair it with git, or move it away (it may hold your work); xqbuild will clone it again." : "Move it away; xqbuild will clone it again.");
  }
  const state = patchKey ? await patchState(req.remoteDir, opts) : undefined;
  if ((!patchKey && head === commit) || (patchKey && state?.key === patchKey && state.head === head)) {
    const wraps = req.wraps ? await fetchWraps(req.remoteDir, req.wraps, opts) : undefined;
    await ensureLink(req.linkDir, req.remoteDir);
    return { commit, action: "unchanged", head, ...(wraps ? { wraps } : {}) };
  }
  // Bring the wanted commit in from the mirror (a local fetch: nothing crosses the network).
  // --update-shallow: from a shallow mirror git otherwise brings the objects but silently (exit 1,
  // nothing printed with --quiet) refuses the ref, and the commit then looked like local work.
  await git.raw(["fetch", "--quiet", "--no-tags", "--update-shallow", "--end-of-options", wanted.mirrorDir, `+${commit}:refs/xqbuild/upstream/${commit}`]).catch(async (e: unknown) => {
    if (!(e instanceof GitError)) throw e;
    await git.raw(["fetch", "--quiet", "--end-of-options", wanted.mirrorDir, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]);
  });
  // The tags the move brings (a new point release's), as the glue's `git fetch origin` brings them.
  if (req.fullHistory) await git.raw(["fetch", "--quiet", "--no-tags", "--end-of-options", wanted.mirrorDir, "+refs/tags/*:refs/tags/*"]);
  const work = await localWork(req.remoteDir, opts);
  let backupRef: string | undefined;
  if (work.changes.length > 0 || work.commits.length > 0) {
    if (!req.force && !onlyBuildWrites(work, req.buildWrites ?? [])) {
      const lines = [
        ...work.changes.slice(0, 20).map((c) => `  changed: ${c.trim()}`),
        ...work.commits.slice(0, 20).map((c) => `  local commit: ${c}`),
      ];
      throw new UserError(
        `${req.remoteDir} is at ${head.slice(0, 12)} but ${req.revision || commit} is ${commit.slice(0, 12)}, and moving it would lose local work:\n${lines.join("\n")}`,
        "Commit or save that work elsewhere, or run `xqbuild update --force`, which keeps the old state in a backup ref (refs/xqbuild/backup/...) before moving. The tree was left untouched.",
        "failure",
      );
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    backupRef = `refs/xqbuild/backup/${stamp}`;
    await git.raw(["update-ref", backupRef, head]);
    if (work.changes.length > 0) {
      const stash = (await git.raw(["stash", "create", "xqbuild: uncommitted work before update --force"])).trim();
      if (stash) await git.raw(["update-ref", `${backupRef}-worktree`, stash]);
    }
    await git.raw(["reset", "--quiet", "--hard"]);
  }
  // The submodules' URLs are checked (read from the commit itself) before the tree moves at all.
  const subs = await submodulesAt(req.remoteDir, commit, req.url, req.submodules ?? [], opts);
  await git.raw(["checkout", "--quiet", "-B", "dummy", commit]);
  await git.raw(["config", "--unset-all", "xqbuild.patchedKey"]).catch(whenGitFails(undefined));
  await checkoutSubmodules(req.remoteDir, subs, opts);
  const newHead = await applyPatches(req.remoteDir, commit, patches, opts);
  const wraps = req.wraps ? await fetchWraps(req.remoteDir, req.wraps, opts) : undefined;
  await ensureLink(req.linkDir, req.remoteDir);
  return { commit, action: "moved", head: newHead, ...(backupRef ? { backupRef } : {}), ...(wraps ? { wraps } : {}) };
}


// Callers outside the source layer (status, build, dist) still import these from here.
export { buildRewrites, localWork } from "./local-work.js";
