import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { FailureError, UserError } from "../util/errors.js";
import { diskFull, gitAt, gitMessage, GitError, GitOwnershipError, isTransient, permissionDenied, refusedShallow, remoteGitAt, unreachableServer, type GitOptions } from "./git.js";
import { withLock } from "../util/lock.js";
import { lockWaitEvent, progressEvent, sayInfo, type SourceEvents } from "./events.js";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "../util/retry.js";
import { withoutCredentials } from "../util/redact.js";

export interface MirrorOptions extends GitOptions {
  readonly cacheDir: string;
  readonly offline: boolean;
  /** URL prefix → replacement used for the network; the real URL is still recorded as origin. */
  readonly mirrors?: Readonly<Record<string, string>>;
  readonly retry?: RetryPolicy;
  readonly lockTimeoutMs?: number;
  /** Fetch only the wanted commit's history tip (--depth=1) where the server allows it. */
  readonly shallow?: boolean;
  /** Where what happens goes, as events of this component's fetch stage (none: said nowhere). */
  readonly events?: SourceEvents;
  /**
   * Ask the server for a tag even when the mirror has it (unless offline): a verified source being
   * re-resolved (update, --update-lock) must see a tag that moved upstream, which the mirror, taking
   * tags as fixed, would otherwise never fetch again.
   */
  readonly refreshTags?: boolean;
  /** XQBUILD_TARBALL_MAX_BYTES: the most an archive (a wrap-file's too) may download or unpack to; unset, tarball.ts's default. */
  readonly tarballMaxBytes?: number;
}

export type RevisionKind = "branch" | "tag" | "commit";

export interface ResolvedRevision {
  readonly mirrorDir: string;
  readonly commit: string;
  readonly kind: RevisionKind;
}

/** The URL actually contacted for a repository, after the configured mirror prefixes. */
export function networkUrl(url: string, mirrors: Readonly<Record<string, string>> = {}): string {
  let best = "";
  for (const prefix of Object.keys(mirrors)) if (url.startsWith(prefix) && prefix.length > best.length) best = prefix;
  return best ? (mirrors[best] ?? "") + url.slice(best.length) : url;
}

/** Where the bare mirror of a URL lives in the cache: readable name plus a hash of the URL. */
export function mirrorPath(cacheDir: string, url: string): string {
  const name = (url.replace(/\/+$/, "").split(/[/:]/).pop() ?? "repo").replace(/\.git$/, "").replace(/[^A-Za-z0-9._-]/g, "_") || "repo";
  const hash = createHash("sha256").update(url).digest("hex").slice(0, 16);
  return path.join(cacheDir, "git", `${name}-${hash}.git`);
}

const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;

async function has(dir: string, opts: GitOptions, rev: string): Promise<string | undefined> {
  try {
    const out = await gitAt(dir, opts).raw(["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`]);
    const sha = out.trim();
    return FULL_SHA.test(sha) ? sha : undefined;
  } catch (e) {
    // Not there (exit 1); a mirror git refuses to use (another user's) is said as such.
    if (e instanceof GitError) return undefined;
    throw e;
  }
}

async function createMirror(dir: string, url: string, opts: GitOptions): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await gitAt(path.dirname(dir), opts).raw(["init", "--quiet", "--bare", "--", tmp]);
  await gitAt(tmp, opts).raw(["config", "xqbuild.url", withoutCredentials(url)]);
  await rename(tmp, dir);
}

/**
 * Makes sure the cache's bare mirror of `url` has `revision` and says which commit it is. Tags and
 * commits already in the mirror need no network; a branch is asked of the server (ls-remote) unless
 * offline. Only the wanted ref is fetched, shallow where the server allows it.
 */
export async function ensureRevision(url: string, revision: string, opts: MirrorOptions, from?: string): Promise<ResolvedRevision> {
  const dir = mirrorPath(opts.cacheDir, url);
  const fetchUrl = networkUrl(url, opts.mirrors);
  const policy = opts.retry ?? DEFAULT_RETRY;
  const retry = { transient: isTransient, onRetry: (m: string) => sayInfo(opts, m) };
  const onWait = opts.events ? lockWaitEvent(opts.events.emit, opts.events.component) : undefined;
  return withLock(`${dir}.lock`, `the mirror of ${url}`, { ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}), ...(onWait ? { onWait } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }, async () => {
    let created = false;
    if (!existsSync(dir)) {
      if (opts.offline) throw offlineMissing(url, revision, "nothing of this repository is in the cache");
      await createMirror(dir, url, opts);
      created = true;
    }
    const git = gitAt(dir, opts);
    // What talks to the remote goes through remoteGitAt, which kills a stalled transfer and reports git's progress.
    const onProgress = progressEvent(opts);
    const net = remoteGitAt(dir, { ...opts, ...(onProgress ? { onProgress } : {}) });
    const shallowOk = opts.shallow !== false;
    const fetch = async (refspecs: string[], depth: boolean): Promise<void> => {
      const run = (d: boolean): Promise<unknown> =>
        withRetry(`fetching ${revision} from ${fetchUrl}`, policy, () => net.raw(["fetch", "--quiet", "--no-tags", ...(d ? ["--depth=1"] : []), "--end-of-options", fetchUrl, ...refspecs]), retry);
      try {
        await run(depth && shallowOk);
      } catch (e) {
        if (depth && shallowOk && refusedShallow(e)) {
          sayInfo(opts, `${fetchUrl} refused a shallow fetch; fetching the full history of ${revision}`);
          await run(false);
          return;
        }
        throw e;
      }
    };
    const unshallow = async (): Promise<void> => {
      if (existsSync(path.join(dir, "shallow"))) {
        await withRetry(`fetching the history of ${fetchUrl}`, policy, () => net.raw(["fetch", "--quiet", "--unshallow", "--no-tags", "--end-of-options", fetchUrl, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]), retry);
      } else {
        await withRetry(`fetching ${fetchUrl}`, policy, () => net.raw(["fetch", "--quiet", "--no-tags", "--end-of-options", fetchUrl, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]), retry);
      }
      await packRefs();
    };
    // git fetch writes one loose file per ref: a server with 300 000 tags made 1.3 GB of them (a
    // 4 KiB block each). Packed, they are one file of some 20 MB.
    const packRefs = (): Promise<unknown> => git.raw(["pack-refs", "--all", "--prune"]);
    // A source whose build describes itself (opts.shallow false) gets the whole repository once, as
    // a plain clone has it: every branch and tag with its history; a shallow mirror left by an
    // earlier run is deepened the same way.
    if (!shallowOk && !opts.offline && (created || existsSync(path.join(dir, "shallow")))) {
      try {
        await unshallow();
      } catch (e) {
        throw unreachable(url, fetchUrl, e);
      }
    }

    // A commit fetched by id gets a ref of its own, so that no gc or maintenance in the cache drops it.
    const keep = async (sha: string): Promise<ResolvedRevision> => {
      await git.raw(["update-ref", `refs/xqbuild/commits/${sha}`, sha]);
      return { mirrorDir: dir, commit: sha, kind: "commit" };
    };
    if (FULL_SHA.test(revision)) {
      const sha = await has(dir, opts, revision);
      if (sha) return keep(sha);
      if (opts.offline) throw offlineMissing(url, revision, "the commit is not in the cache");
      try {
        await fetch([revision], true);
      } catch (e) {
        if (isTransient(e)) throw unreachable(url, fetchUrl, e);
        // The server would not give that commit by id: fetch its branches and tags instead.
        try {
          await unshallow();
        } catch (e2) {
          throw unreachable(url, fetchUrl, e2);
        }
      }
      const got = await has(dir, opts, revision);
      if (!got) throw notFound(url, revision, from);
      return keep(got);
    }

    const localTag = await has(dir, opts, `refs/tags/${revision}`);
    if (localTag && (opts.refreshTags !== true || opts.offline)) return { mirrorDir: dir, commit: localTag, kind: "tag" };
    if (opts.offline) {
      const head = await has(dir, opts, `refs/heads/${revision}`);
      if (head) return { mirrorDir: dir, commit: head, kind: "branch" };
      if (SHORT_SHA.test(revision)) {
        const c = await has(dir, opts, revision);
        if (c) return { mirrorDir: dir, commit: c, kind: "commit" };
      }
      throw offlineMissing(url, revision, "the revision is not in the cache");
    }

    let remote: string;
    try {
      remote = await withRetry(`asking ${fetchUrl} for ${revision}`, policy, () => net.raw(["ls-remote", "--end-of-options", fetchUrl, `refs/heads/${revision}`, `refs/tags/${revision}`]), retry);
    } catch (e) {
      throw unreachable(url, fetchUrl, e);
    }
    const refs = new Map<string, string>();
    for (const line of remote.split("\n")) {
      const [sha, ref] = line.split("\t");
      if (sha && ref) refs.set(ref, sha);
    }
    const tagSha = refs.get(`refs/tags/${revision}`);
    const headSha = refs.get(`refs/heads/${revision}`);
    try {
      if (tagSha) {
        await fetch([`+refs/tags/${revision}:refs/tags/${revision}`], true);
        const c = await has(dir, opts, `refs/tags/${revision}`);
        if (c) return { mirrorDir: dir, commit: c, kind: "tag" };
      } else if (headSha) {
        const present = await has(dir, opts, headSha);
        if (!present) await fetch([`+refs/heads/${revision}:refs/heads/${revision}`], true);
        else await git.raw(["update-ref", `refs/heads/${revision}`, headSha]);
        const c = await has(dir, opts, `refs/heads/${revision}`);
        if (c) return { mirrorDir: dir, commit: c, kind: "branch" };
      } else if (SHORT_SHA.test(revision)) {
        const c0 = await has(dir, opts, revision);
        if (c0) return { mirrorDir: dir, commit: c0, kind: "commit" };
        await unshallow();
        const c = await has(dir, opts, revision);
        if (c) return { mirrorDir: dir, commit: c, kind: "commit" };
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw unreachable(url, fetchUrl, e);
    }
    throw notFound(url, revision, from);
  });
}

function offlineMissing(url: string, revision: string, why: string): UserError {
  return new UserError(`offline: cannot get ${revision} of ${url}: ${why}.`, "Run the same command once with the network (without --offline / XQBUILD_OFFLINE=1) to fill the cache.", "failure");
}

/** `from` says where the revision was written (".config:2", "xqbuild.lock", a wrap file), when the caller knows. */
function notFound(url: string, revision: string, from?: string): UserError {
  return new UserError(
    `${url} has no branch, tag or commit named ${JSON.stringify(revision)}${from ? ` (the revision comes from ${from})` : ""}.`,
    from ? `Correct it there; the tree was left as it was.` : "Check the *_REVISION variable (xqbuild config shows where it was set); the tree was left as it was.",
    "failure",
  );
}

function unreachable(url: string, fetchUrl: string, e: unknown): UserError {
  const msg = gitMessage(e);
  const where = fetchUrl === url ? url : `${url} (through the mirror ${fetchUrl})`;
  if (diskFull(e)) return new FailureError(`cannot fetch from ${where}: the disk holding the cache is full:\n${msg}`, "Free some space, or point XQBUILD_CACHE_DIR elsewhere.");
  if (e instanceof GitOwnershipError) return e;
  if (permissionDenied(e)) return new FailureError(`cannot fetch from ${where}: the cache cannot be used by this user:\n${msg}`, "Use a cache of your own (XQBUILD_CACHE_DIR), or fix the cache directory's owner.");
  return new FailureError(
    `cannot fetch from ${where}:\n${msg}`,
    unreachableServer(e)
      ? "The server could not be reached; check the network or proxy, use a mirror (the mirrors setting), or work from the cache with --offline."
      : "Check the URL (xqbuild config shows where it was set).",
  );
}
