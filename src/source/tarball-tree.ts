import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { withoutCredentials } from "../util/redact.js";
import { UserError } from "../util/errors.js";
import { applyPatches, patchState, xqbuildIdentity } from "./apply-patches.js";
import { ensureLink, type CheckoutResult } from "./checkout.js";
import { localWork } from "./local-work.js";
import { gitAt, whenGitFails } from "./git.js";
import { sayInfo } from "./events.js";
import type { MirrorOptions } from "./mirror.js";
import { patchQueueHash, type Patch } from "./patches.js";
import { extractTarball, obtainTarball, tarballLimits } from "./tarball.js";

export interface TarballRequest {
  readonly url: string;
  readonly sha256: string;
  readonly remoteDir: string;
  readonly linkDir: string;
  readonly patches?: readonly Patch[];
  readonly force?: boolean;
}


/**
 * A tarball source unpacked into the glue's layout and made a git tree of one commit (fixed author
 * and date, so the same tarball is the same commit everywhere): patches, local-work checks and
 * fingerprints then work as for a clone.
 */
export async function checkoutTarball(req: TarballRequest, opts: MirrorOptions): Promise<CheckoutResult> {
  const patches = req.patches ?? [];
  if (existsSync(req.remoteDir)) {
    const git = gitAt(req.remoteDir, opts);
    const have = existsSync(path.join(req.remoteDir, ".git")) ? (await git.raw(["config", "--get", "xqbuild.tarballSha256"]).catch(whenGitFails(""))).trim() : "";
    const head = have ? (await git.raw(["rev-parse", "HEAD"])).trim() : "";
    const base = have ? (await git.raw(["rev-parse", "refs/xqbuild/tarball"]).catch(whenGitFails(head))).trim() : "";
    const state = patches.length ? await patchState(req.remoteDir, opts) : undefined;
    if (have === req.sha256 && ((patches.length === 0 && head === base) || state?.key === `${base}:${patchQueueHash(patches)}`)) {
      if (!patches.length || state?.head === head) {
        await ensureLink(req.linkDir, req.remoteDir);
        return { commit: base, action: "unchanged", head };
      }
    }
    if (have) {
      const work = await localWork(req.remoteDir, opts);
      if ((work.changes.length > 0 || work.commits.length > 0) && !req.force) {
        throw new UserError(
          `${req.remoteDir} holds local work (${work.changes.length} changed files, ${work.commits.length} local commits) and would be replaced by ${req.url}.`,
          "Save that work, or run xqbuild update --force (the old tree is kept beside it as ...-dir-remote.old-<time>). The tree was left untouched.",
          "failure",
        );
      }
    } else if (!req.force) {
      throw new UserError(`${req.remoteDir} exists but was not unpacked by xqbuild from a tarball.`, "Move it away, or run xqbuild update --force to replace it (it is kept beside it).", "failure");
    }
  }
  const file = await obtainTarball(req.url, req.sha256, opts.cacheDir, opts.offline, opts.retry, (m) => sayInfo(opts, m), opts.tarballMaxBytes);
  const tmp = `${req.remoteDir}.xqbuild-tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.dirname(tmp), { recursive: true });
  let head: string;
  let commit: string;
  try {
    await extractTarball(file, tmp, tarballLimits(opts.tarballMaxBytes));
    const git = gitAt(tmp, { ...opts, env: { ...opts.env, ...xqbuildIdentity("2000-01-01T00:00:00Z") } });
    await git.raw(["init", "--quiet"]);
    await git.raw(["add", "--all", "--force", "."]);
    await git.raw(["commit", "--quiet", "--no-verify", "-m", `xqbuild: unpacked ${path.basename(withoutCredentials(req.url))} (sha256 ${req.sha256})`]);
    commit = (await git.raw(["rev-parse", "HEAD"])).trim();
    await git.raw(["update-ref", "refs/xqbuild/tarball", commit]);
    await git.raw(["update-ref", `refs/xqbuild/upstream/${commit}`, commit]);
    await git.raw(["config", "xqbuild.tarballSha256", req.sha256]);
    await git.raw(["checkout", "--quiet", "-B", "dummy"]);
    head = await applyPatches(tmp, commit, patches, opts);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(req.remoteDir)) await rename(req.remoteDir, `${req.remoteDir}.old-${Date.now()}`);
  await rename(tmp, req.remoteDir);
  await ensureLink(req.linkDir, req.remoteDir);
  return { commit, action: "cloned", head };
}
