import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { climbsOut } from "../util/fs.js";
import { withoutCredentials } from "../util/redact.js";
import { gitAt, gitFailure, whenGitFails } from "./git.js";
import { linkClone } from "./link-clone.js";
import { ensureRevision, type MirrorOptions } from "./mirror.js";
import { fetchedUrlHint, fetchedUrlProblem } from "./url-policy.js";

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

export interface WantedSubmodule {
  readonly name: string;
  readonly path: string;
  readonly subUrl: string;
  readonly sha: string;
}

export interface PreparedSubmodule extends WantedSubmodule {
  readonly mirrorDir: string;
  /** Checked out from its mirror already (objects linked), in place or in `side`. */
  readonly linked: boolean;
  /** Where it was prepared, when not in place (moved there once the superproject is checked out). */
  readonly side?: string;
}

/** The submodules of `paths` that commit records: name, path, URL (resolved, checked) and commit. */
export async function submodulesAt(dir: string, commit: string, url: string, paths: readonly string[], opts: MirrorOptions): Promise<WantedSubmodule[]> {
  if (paths.length === 0) return [];
  const git = gitAt(dir, opts);
  let listing: string;
  try {
    listing = await git.raw(["config", "--blob", `${commit}:.gitmodules`, "--get-regexp", "^submodule\\..*\\.(path|url)$"]);
  } catch (e) {
    return whenGitFails([])(e); // no .gitmodules in that commit
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
    // git keeps a submodule's repository at .git/modules/<name>: a name that is not a plain
    // relative path (git's check_submodule_name) would put it elsewhere. git refuses it too, deep
    // in the checkout, with "could not lookup name"; here it is refused up front, the key named.
    if (name === "" || climbsOut(name)) {
      throw new UserError(`${url} at ${commit.slice(0, 12)}: its .gitmodules names a submodule ${JSON.stringify(name)} (for ${sm.path}), which is not a plain relative name: git keeps it at .git/modules/<name>, so the name may not be absolute nor contain "..".`, "Nothing was checked out. That revision's .gitmodules is its maintainers' to fix; report it to them.", "failure");
    }
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
export async function prepareSubmodule(sm: WantedSubmodule, work: string, inPlace: boolean, superDir: string, opts: MirrorOptions): Promise<PreparedSubmodule> {
  const started = Date.now();
  const named = { component: opts.events?.component ?? "", what: "submodule" as const, name: sm.path };
  opts.events?.emit({ type: "fetch-start", ...named, url: withoutCredentials(sm.subUrl) });
  const r = await ensureRevision(sm.subUrl, sm.sha, opts, `the superproject's gitlink for the submodule ${sm.path}`);
  opts.events?.emit({ type: "fetch-done", ...named, seconds: (Date.now() - started) / 1000, commit: sm.sha });
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
export async function attachSubmodules(dir: string, prepared: readonly PreparedSubmodule[], opts: MirrorOptions): Promise<void> {
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
export async function checkoutSubmodules(dir: string, wanted: readonly WantedSubmodule[], opts: MirrorOptions): Promise<void> {
  const prepared = await Promise.all(wanted.map((sm) => prepareSubmodule(sm, path.join(dir, sm.path), true, dir, opts)));
  await attachSubmodules(dir, prepared, opts);
}
