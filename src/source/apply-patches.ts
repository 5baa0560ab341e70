import { UserError } from "../util/errors.js";
import { collect } from "../util/proc.js";
import { gitAt, gitMessage, whenGitFails } from "./git.js";
import type { MirrorOptions } from "./mirror.js";
import { checkPatchPaths, patchQueueHash, type Patch } from "./patches.js";

/*
 * Applying a component's patch queue (patches.ts loads it) as commits on a checked-out tree, and the
 * record in the tree's git config of which queue on which commit it holds.
 */

/** The subject prefix of xqbuild's patch commits: not the user's local work (local-work.ts). */
export const PATCH_SUBJECT = "[xqbuild patch]";

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
  } catch (e) {
    return whenGitFails(undefined)(e); // not set: no queue applied
  }
}

