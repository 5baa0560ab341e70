import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { copyFile, link, mkdir, readdir, rename, rm, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { collect } from "../util/proc.js";
import { gitAt, gitFailure, gitMessage } from "./git.js";
import { ensureRevision, mirrorPath, type MirrorOptions } from "./mirror.js";
import { checkPatchPaths, patchQueueHash, type Patch } from "./patches.js";
import { fetchedUrlHint, fetchedUrlProblem } from "./url-policy.js";
import { fetchWraps, type WrapReport, type WrapSelector } from "./wraps.js";
import { withoutCredentials } from "../util/redact.js";

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

const PATCH_SUBJECT = "[xqbuild patch]";

/** Author and committer of the commits xqbuild makes itself, fixed so the same input gives the same commit. */
export function xqbuildIdentity(date: string): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: "xqbuild",
    GIT_AUTHOR_EMAIL: "xqbuild@localhost",
    GIT_COMMITTER_NAME: "xqbuild",
    GIT_COMMITTER_EMAIL: "xqbuild@localhost",
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
}

/**
 * Applies a patch queue as commits on top of HEAD, with a fixed author and the base commit's date so
 * the same queue on the same commit always gives the same commits. A patch that does not apply
 * leaves the tree back at `base`.
 */
export async function applyPatches(dir: string, base: string, patches: readonly Patch[], opts: MirrorOptions): Promise<string> {
  const git = gitAt(dir, opts);
  if (patches.length === 0) return base;
  const date = (await git.raw(["show", "-s", "--format=%cI", base])).trim();
  const env = { ...opts.env, ...xqbuildIdentity(date) };
  const committer = gitAt(dir, { ...opts, env });
  for (const p of patches) {
    try {
      checkPatchPaths(p, dir);
      if (p.tool === "patch") await gnuPatch(dir, p, opts);
      else await git.raw(["apply", "--index", `-p${p.strip}`, "--whitespace=nowarn", "--", p.file]);
    } catch (e) {
      await git.raw(["reset", "--quiet", "--hard", base]);
      if (e instanceof UserError && !(e instanceof PatchRejected)) throw e;
      const how = p.tool === "patch" ? "GNU patch, as quilt applies a series" : "git apply";
      throw new UserError(
        `the patch ${p.name} (${p.file}) does not apply to ${base.slice(0, 12)} (with ${how}):\n${e instanceof PatchRejected ? e.message : gitMessage(e)}`,
        "Refresh the patch for this revision, or drop it from the queue. The tree is back at the clean checkout.",
        "failure",
      );
    }
    await committer.raw(["commit", "--quiet", "--no-verify", "--allow-empty", "-m", `${PATCH_SUBJECT} ${p.name}`]);
  }
  const head = (await git.raw(["rev-parse", "HEAD"])).trim();
  await git.raw(["config", "xqbuild.patchedKey", `${base}:${patchQueueHash(patches)}`]);
  await git.raw(["config", "xqbuild.patchedHead", head]);
  return head;
}

/** GNU patch refused a patch; the message is its own account of the hunks that failed. */
class PatchRejected extends Error {}

/** Whether a patch file holds any change at all (a quilt series may list one with comments only). */
function hasChanges(text: string): boolean {
  return /^(--- |diff |Binary files |GIT binary patch)/m.test(text);
}

/**
 * Applies one patch with GNU patch as quilt and dpkg-source do (no fuzz, forward only, no backup or
 * reject files, files left empty removed), first as a dry run so that a patch that does not apply
 * changes nothing, then stages exactly the files patch names.
 */
async function gnuPatch(dir: string, p: Patch, opts: MirrorOptions): Promise<void> {
  if (!hasChanges(p.content.toString("latin1"))) return;
  const args = [`-p${p.strip}`, "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch", "--reject-file=-", "--remove-empty-files", "--quoting-style=literal", "--input", p.file];
  const run = async (extra: string[]): Promise<string> => {
    const r = await runTool("patch", [...extra, ...args], dir, opts);
    if (r.code !== 0) {
      const lines = r.output.split("\n").filter((l) => l.trim() !== "" && !/^(checking|patching) file /.test(l));
      throw new PatchRejected(lines.slice(0, 12).join("\n") || `patch exited with ${r.code}`);
    }
    return r.output;
  };
  await run(["--dry-run"]);
  const output = await run([]);
  const files = new Set<string>();
  for (const line of output.split("\n")) {
    const m = /^patching (?:file|symbolic link) (.+?)(?: \((?:renamed|copied) from (.+)\))?$/.exec(line);
    if (!m) continue;
    files.add(m[1] as string);
    if (m[2]) files.add(m[2]);
  }
  const git = gitAt(dir, opts);
  const list = [...files].map((f) => `:(literal)${f}`);
  for (let i = 0; i < list.length; i += 200) await git.raw(["add", "-A", "--", ...list.slice(i, i + 200)]);
}

/** Runs a program other than git in dir, with the caller's environment and C messages. */
async function runTool(cmd: string, args: string[], cwd: string, opts: MirrorOptions): Promise<{ code: number; output: string }> {
  try {
    const r = await collect(cmd, args, { cwd, env: { ...opts.env, LC_ALL: "C" }, ...(opts.signal ? { signal: opts.signal } : {}) });
    return { code: r.code ?? 1, output: r.stdout + r.stderr };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    throw new UserError(`${cmd} is not installed, and the patch queue is a quilt series, which xqbuild applies with GNU patch as quilt does.`, `Install GNU patch (Debian: apt-get install patch), or set patchTool: "git" for the component in the xqbuild config file to apply the queue with git apply.`);
  }
}

export async function patchState(dir: string, opts: MirrorOptions): Promise<{ key: string; head: string } | undefined> {
  const git = gitAt(dir, opts);
  try {
    const key = (await git.raw(["config", "--get", "xqbuild.patchedKey"])).trim();
    const head = (await git.raw(["config", "--get", "xqbuild.patchedHead"])).trim();
    return key && head ? { key, head } : undefined;
  } catch {
    return undefined;
  }
}

/** The tree's HEAD when it is the commit (with the patch queue applied, if any), else undefined. */
async function treeAt(dir: string, commit: string, patches: readonly Patch[], opts: MirrorOptions): Promise<string | undefined> {
  const head = await gitAt(dir, opts)
    .raw(["rev-parse", "--verify", "--quiet", "HEAD"])
    .then((h) => h.trim(), () => "");
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
  const present = await git.raw(["cat-file", "-e", `${commit}^{commit}`]).then(
    () => true,
    () => false,
  );
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
async function linkClone(mirrorDir: string, dest: string, opts: MirrorOptions): Promise<void> {
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

/** At most this many commits of a tree are weighed against its mirror's refs (a tree with no refs at all). */
const MAX_CANDIDATES = 2000;

/**
 * What a move away from HEAD would lose: modified tracked files (but those named in buildWrites,
 * returned apart as rewrites) and commits that no upstream ref reaches. Upstream is the tree's own refs (remotes, tags, the commits xqbuild checked out) and every
 * ref of the cache's mirror of its origin: after a move to another branch or tag and back, the
 * commits of that branch are upstream's, not the user's, though the tree has no ref of its own for
 * them (a shallow mirror's commits arrive without one).
 */
export async function localWork(dir: string, opts: MirrorOptions, buildWrites: readonly string[] = []): Promise<{ changes: string[]; commits: string[]; rewrites: string[] }> {
  const git = gitAt(dir, opts);
  const status = await git.raw(["status", "--porcelain", "--untracked-files=no", "--ignore-submodules=dirty"]);
  const all = status.split("\n").filter((l) => l.trim() !== "");
  // Files xqbuild (or the build) itself writes, the recipe's buildWrites, are not the user's edits.
  const rewrites = buildRewrites(all, buildWrites);
  const changes = all.filter((l) => !rewrites.includes(l.slice(3)));
  const log = await git.raw(["log", `--max-count=${MAX_CANDIDATES}`, "--format=%H %s", "HEAD", "--not", "--remotes", "--tags", "--glob=refs/xqbuild/upstream/*", "--"]);
  const lines = log.split("\n").filter((l) => l.trim() !== "" && !l.includes(PATCH_SUBJECT));
  const upstream = await reachedByMirror(dir, lines.map((l) => l.slice(0, 40)), opts);
  const commits = lines.filter((l) => !upstream.has(l.slice(0, 40))).map((l) => `${l.slice(0, 7)}${l.slice(40)}`);
  return { changes, commits, rewrites };
}

/** Which of `shas` some ref of the cache's mirror of the tree's origin reaches (none without a mirror). */
async function reachedByMirror(dir: string, shas: readonly string[], opts: MirrorOptions): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const origin = (await gitAt(dir, opts).raw(["config", "--get", "remote.origin.url"]).catch(() => "")).trim();
  if (origin === "") return new Set();
  const mirror = mirrorPath(opts.cacheDir, origin);
  if (!existsSync(path.join(mirror, "HEAD"))) return new Set();
  const m = gitAt(mirror, opts);
  try {
    const present = (await m.raw(["rev-list", "--no-walk", "--ignore-missing", ...shas, "--"])).split("\n").filter((l) => l !== "");
    if (present.length === 0) return new Set();
    const unreached = new Set((await m.raw(["rev-list", "--ignore-missing", ...present, "--not", "--all", "--"])).split("\n").filter((l) => l !== ""));
    return new Set(present.filter((sha) => !unreached.has(sha)));
  } catch {
    return new Set(); // a mirror git cannot read: every commit counts as local work, the safe side
  }
}

/**
 * The paths among `git status --porcelain` lines that are the build's own rewrites: tracked files
 * the recipe names in buildWrites, modified in the work tree (two status letters, a space, the path).
 */
export function buildRewrites(statusLines: readonly string[], buildWrites: readonly string[]): string[] {
  return statusLines.filter((l) => l.slice(0, 2) === " M" && buildWrites.includes(l.slice(3))).map((l) => l.slice(3));
}

/** Whether the local work is only the build's own rewrites of tracked files (nothing of the user's). */
export function onlyBuildWrites(work: { changes: readonly string[]; commits: readonly string[] }, buildWrites: readonly string[]): boolean {
  return work.commits.length === 0 && work.changes.length > 0 && buildRewrites(work.changes, buildWrites).length === work.changes.length;
}

/**
 * A relative submodule URL resolved against the superproject's URL as git does it: the text is kept
 * as written (no URL normalisation), a trailing slash dropped, and each `../` removes one component.
 */
export function resolveSubmoduleUrl(superUrl: string, sub: string): string {
  if (!sub.startsWith("./") && !sub.startsWith("../")) return sub;
  let base = superUrl.replace(/\/+$/, "");
  let rest = sub;
  for (;;) {
    if (rest.startsWith("./")) rest = rest.slice(2);
    else if (rest.startsWith("../")) {
      rest = rest.slice(3);
      const cut = Math.max(base.lastIndexOf("/"), base.includes("://") ? -1 : base.lastIndexOf(":"));
      const floor = base.includes("://") ? base.indexOf("://") + 3 : 0;
      base = cut >= floor ? base.slice(0, cut) : base;
    } else break;
  }
  const sep = !base.includes("://") && /^[^/]+:[^/]*$/.test(base) && base.endsWith(":") ? "" : "/";
  return `${base}${sep}${rest}`;
}

interface WantedSubmodule {
  readonly name: string;
  readonly path: string;
  readonly subUrl: string;
  readonly sha: string;
}

interface PreparedSubmodule extends WantedSubmodule {
  readonly mirrorDir: string;
  /** Checked out from its mirror already (objects linked), in place or in `side`. */
  readonly linked: boolean;
  /** Where it was prepared, when not in place (moved there once the superproject is checked out). */
  readonly side?: string;
}

/** The submodules of `paths` that commit records: name, path, URL (resolved, checked) and commit. */
async function submodulesAt(dir: string, commit: string, url: string, paths: readonly string[], opts: MirrorOptions): Promise<WantedSubmodule[]> {
  if (paths.length === 0) return [];
  const git = gitAt(dir, opts);
  let listing: string;
  try {
    listing = await git.raw(["config", "--blob", `${commit}:.gitmodules`, "--get-regexp", "^submodule\\..*\\.(path|url)$"]);
  } catch {
    return []; // no .gitmodules in that commit
  }
  const byName = new Map<string, { path?: string; url?: string }>();
  for (const line of listing.split("\n")) {
    const m = /^submodule\.(.+)\.(path|url) (.*)$/.exec(line);
    if (!m) continue;
    const e = byName.get(m[1] as string) ?? {};
    e[m[2] as "path" | "url"] = m[3] as string;
    byName.set(m[1] as string, e);
  }
  const chosen = [...byName].filter(([, sm]) => sm.path && sm.url && paths.includes(sm.path));
  if (chosen.length === 0) return [];
  const gitlinks = new Map<string, string>();
  const tree = await git.raw(["ls-tree", commit, "--", ...chosen.map(([, sm]) => sm.path as string)]);
  for (const line of tree.split("\n")) {
    const m = /^160000 commit ([0-9a-f]{40})\t(.*)$/.exec(line);
    if (m) gitlinks.set(m[2] as string, m[1] as string);
  }
  const wanted: WantedSubmodule[] = [];
  for (const [name, sm] of chosen) {
    const written = sm.url as string;
    const subUrl = resolveSubmoduleUrl(url, written);
    const bad = fetchedUrlProblem({ written, resolved: subUrl, base: url }, opts.mirrors);
    if (bad) {
      const shown = written === subUrl ? JSON.stringify(written) : `${JSON.stringify(written)} (${subUrl})`;
      throw new UserError(`${url} at ${commit.slice(0, 12)}: its .gitmodules, key submodule.${name}.url, names ${shown} for the submodule ${sm.path}, which ${bad}.`, fetchedUrlHint(subUrl), "failure");
    }
    const sha = gitlinks.get(sm.path as string);
    if (sha) wanted.push({ name, path: sm.path as string, subUrl, sha });
  }
  return wanted;
}

/**
 * A submodule's mirror, and when its mirror is shallow, its repository linked from the mirror and
 * checked out at `work` (git's own clone of a shallow mirror writes a new pack). A submodule already
 * there, or one whose mirror is whole, is left to `git submodule update`.
 */
async function prepareSubmodule(sm: WantedSubmodule, work: string, inPlace: boolean, superDir: string, opts: MirrorOptions): Promise<PreparedSubmodule> {
  const r = await ensureRevision(sm.subUrl, sm.sha, opts, `the superproject's gitlink for the submodule ${sm.path}`);
  const side = inPlace ? {} : { side: work };
  const fresh = !inPlace || (!existsSync(path.join(superDir, ".git", "modules", sm.name)) && !existsSync(path.join(work, ".git")) && (!existsSync(work) || (await readdir(work)).length === 0));
  if (!fresh || !existsSync(path.join(r.mirrorDir, "shallow"))) return { ...sm, mirrorDir: r.mirrorDir, linked: false };
  try {
    await rm(work, { recursive: true, force: true });
    await mkdir(path.dirname(work), { recursive: true });
    await linkClone(r.mirrorDir, work, opts);
    await gitAt(work, opts).raw(["checkout", "--quiet", "--detach", sm.sha]);
    return { ...sm, ...side, mirrorDir: r.mirrorDir, linked: true };
  } catch {
    await rm(work, { recursive: true, force: true });
    if (inPlace) await mkdir(work, { recursive: true });
    return { ...sm, mirrorDir: r.mirrorDir, linked: false };
  }
}

/**
 * The prepared submodules made the superproject's, as `git submodule update --init` makes them:
 * those checked out aside are moved into place, their repositories absorbed under .git/modules,
 * the rest cloned from their mirrors; every URL is then the real one, not the cache's.
 */
async function attachSubmodules(dir: string, prepared: readonly PreparedSubmodule[], opts: MirrorOptions): Promise<void> {
  if (prepared.length === 0) return;
  const git = gitAt(dir, opts);
  const names = prepared.map((sm) => `${sm.path} (${sm.subUrl})`).join(", ");
  try {
    for (const sm of prepared) {
      if (!sm.side) continue;
      const work = path.join(dir, sm.path);
      await rm(work, { recursive: true, force: true }); // the empty directory the checkout made for it
      await mkdir(path.dirname(work), { recursive: true });
      await rename(sm.side, work);
    }
    // A repository checked out in place becomes the submodule's, under .git/modules, as git makes it.
    const linked = prepared.filter((sm) => sm.linked).map((sm) => sm.path);
    if (linked.length > 0) await git.raw(["submodule", "absorbgitdirs", "--", ...linked]);
    for (const sm of prepared) await git.raw(["config", `submodule.${sm.name}.url`, sm.mirrorDir]);
    // The URLs are xqbuild's own mirrors in the cache, local paths: git's submodule commands take no
    // local transport by default (protocol.file.allow=user), so this one command, on these URLs
    // that xqbuild itself set, allows it. The fetched .gitmodules URLs were checked above.
    await git.raw(["-c", "protocol.file.allow=always", "submodule", "update", "--init", "--quiet", "--", ...prepared.map((sm) => sm.path)]);
  } catch (e) {
    throw gitFailure(`checking out the submodules ${names}`, e);
  }
  for (const sm of prepared) await git.raw(["config", `submodule.${sm.name}.url`, withoutCredentials(sm.subUrl)]);
  await Promise.all(prepared.map((sm) => gitAt(path.join(dir, sm.path), opts).raw(["remote", "set-url", "origin", withoutCredentials(sm.subUrl)])));
}

/** The submodules of a tree already checked out at their commit, prepared in place. */
async function checkoutSubmodules(dir: string, wanted: readonly WantedSubmodule[], opts: MirrorOptions): Promise<void> {
  const prepared = await Promise.all(wanted.map((sm) => prepareSubmodule(sm, path.join(dir, sm.path), true, dir, opts)));
  await attachSubmodules(dir, prepared, opts);
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
    const msg = gitMessage(e);
    if (/dubious ownership/.test(msg)) throw e;
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
  await git.raw(["fetch", "--quiet", "--no-tags", "--update-shallow", "--end-of-options", wanted.mirrorDir, `+${commit}:refs/xqbuild/upstream/${commit}`]).catch(async () => {
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
  await git.raw(["config", "--unset-all", "xqbuild.patchedKey"]).catch(() => undefined);
  await checkoutSubmodules(req.remoteDir, subs, opts);
  const newHead = await applyPatches(req.remoteDir, commit, patches, opts);
  const wraps = req.wraps ? await fetchWraps(req.remoteDir, req.wraps, opts) : undefined;
  await ensureLink(req.linkDir, req.remoteDir);
  return { commit, action: "moved", head: newHead, ...(backupRef ? { backupRef } : {}), ...(wraps ? { wraps } : {}) };
}

export { mirrorPath };
