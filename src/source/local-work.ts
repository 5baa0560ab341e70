import { existsSync } from "node:fs";
import path from "node:path";
import { PATCH_SUBJECT } from "./apply-patches.js";
import { gitAt, whenGitFails } from "./git.js";
import { mirrorPath, type MirrorOptions } from "./mirror.js";

/*
 * What a move of a tree would lose (the user's edits and commits), told apart from what upstream
 * and the build itself put there.
 */

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
  const origin = (await gitAt(dir, opts).raw(["config", "--get", "remote.origin.url"]).catch(whenGitFails(""))).trim();
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
