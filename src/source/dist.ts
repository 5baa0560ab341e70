import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, lstatSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { UserError } from "../util/errors.js";
import { loadTar, writeFileAtomic } from "../util/fs.js";
import type { ComponentPlan } from "../plan/plan.js";
import { buildRewrites } from "./local-work.js";
import { gitAt } from "./git.js";
import { processSignal, throwIfInterrupted, untilInterrupted } from "../util/signals.js";
import type { ResolvedConfig } from "../config/types.js";
import { preparedFromWrap, readWraps } from "./wraps.js";

export interface DistResult {
  readonly component: string;
  /** The tree's version (its committed VERSION file, else its nearest tag), when it has one. */
  readonly version?: string;
  readonly file: string;
  readonly sha256: string;
  /** The meson wrap subprojects packed beside the committed files (subprojects/<directory>), when there are any. */
  readonly subprojects?: readonly string[];
}

/**
 * A reproducible source tarball of a fetched tree: the committed files (submodules and applied
 * patches included) and the meson wrap subprojects prepared in it (see wrapSubprojects), sorted, every entry dated by the commit, owner and group 0, modes normalised,
 * gzip without a timestamp; the same tree gives the same bytes on any machine. An interruption
 * (SIGINT, SIGTERM, SIGHUP) stops the tar and the hashing, and removes the half-written file.
 */
export async function writeDist(dir: string, name: string, outDir: string, env: Readonly<Record<string, string>>, buildWrites: readonly string[] = [], signal?: AbortSignal): Promise<DistResult> {
  const git = gitAt(dir, { env, ...(signal ? { signal } : {}) });
  const dirty = (await git.raw(["status", "--porcelain", "--untracked-files=no", "--ignore-submodules=none"])).trimEnd();
  const lines = dirty === "" ? [] : dirty.split("\n");
  // Files xqbuild and the build rewrite (SeaBIOS's .version, QEMU's scripts/meson-buildoptions.sh)
  // are not the user's work: they are packed as committed, and only other changes stop dist.
  const rewritten = buildRewrites(lines, buildWrites);
  const edits = lines.filter((l) => !rewritten.includes(l.slice(3)));
  if (edits.length > 0) {
    throw new UserError(`${dir} has uncommitted changes; a source tarball (dist, legal-info) packs the committed tree only:\n${edits.slice(0, 10).join("\n")}`, "Commit them (or add them to the patch queue), or revert them.", "failure");
  }
  const head = (await git.raw(["rev-parse", "HEAD"])).trim();
  const date = new Date((await git.raw(["show", "-s", "--format=%cI", "HEAD"])).trim());
  const tracked = (await git.raw(["ls-files", "-z", "--recurse-submodules"])).split("\0").filter((f) => f !== "");
  const subprojects = await wrapSubprojects(dir, signal);
  const files = [...new Set([...tracked, ...subprojects.flatMap((s) => s.files)])].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const version = await treeVersion(git);
  // By version as well as commit (qemu-xen-10.0.13-0123456789ab): the version says what it is, the
  // commit which exact tree; a tree with neither a VERSION file nor a tag keeps name-commit.
  const prefix = `${name}-${version !== undefined ? `${version}-` : ""}${head.slice(0, 12)}`;
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `${prefix}.tar.gz`);
  const tmp = `${file}.tmp-${process.pid}`;
  // The committed copies of the rewritten files (the index has them: only the work tree differs).
  const committed = rewritten.length > 0 ? await mkdtemp(path.join(tmpdir(), "xqbuild-dist-")) : undefined;
  try {
    if (committed) await git.raw(["checkout-index", `--prefix=${committed}/`, "--", ...rewritten]);
    const tar = await loadTar();
    const pack = tar.c(
      {
        cwd: dir,
        gzip: { level: 9 },
        portable: true,
        mtime: date,
        noDirRecurse: true,
        prefix,
        follow: false,
        // Once interrupted no entry more goes in, and the pipeline below stops the one going in.
        filter: untilInterrupted(signal),
        // Modes as git records them (644, or 755 for executables), whatever the checkout's umask was.
        onWriteEntry: (entry) => {
          if (committed && rewritten.includes(entry.path)) {
            entry.absolute = path.join(committed, entry.path);
            entry.stat = statSync(entry.absolute);
          }
          const st = entry.stat;
          if (st && st.isFile()) st.mode = (st.mode & ~0o7777) | (st.mode & 0o100 ? 0o755 : 0o644);
        },
      },
      files,
    );
    // A signal ends the write at once, even inside one large file (a 48 MiB blob takes seconds of gzip -9).
    const stop = AbortSignal.any([processSignal, ...(signal ? [signal] : [])]);
    await pipeline(pack, createWriteStream(tmp), { signal: stop });
    throwIfInterrupted(signal);
    const h = createHash("sha256");
    await pipeline(createReadStream(tmp), h, { signal: stop });
    throwIfInterrupted(signal);
    const sha256 = h.digest("hex");
    await rename(tmp, file);
    await writeFileAtomic(`${file}.sha256`, `${sha256}  ${path.basename(file)}\n`);
    const packed = subprojects.map((s) => s.dir);
    return { component: name, ...(version !== undefined ? { version } : {}), file, sha256, ...(packed.length > 0 ? { subprojects: packed } : {}) };
  } catch (e) {
    await rm(tmp, { force: true });
    // A pipeline stopped by the signal rejects with an AbortError: the run was interrupted.
    throwIfInterrupted(signal);
    throw e;
  } finally {
    if (committed) await rm(committed, { recursive: true, force: true });
  }
}

/**
 * The meson wrap subprojects of a tree that a dist must carry: a wrap's subproject is untracked (QEMU
 * 9 and later keep their dependencies as subprojects/*.wrap, downloaded at fetch or by meson), so
 * `git ls-files` misses it, yet the build used it. Only the directory of a wrap that was prepared
 * from that very wrap file is taken (preparedFromWrap: meson's hash file names the wrap's hash).
 * That hash file is packed too, so a meson setup of the unpacked tarball takes the subproject as
 * prepared and downloads nothing. A directory the user put there by hand, or one prepared from
 * another revision of the wrap, is not the wrap's and is left out. Nothing is followed out of the tree: subprojects/ and the subproject must be real
 * directories, links inside are packed as links, and .git (a wrap-git checkout's own) is left out.
 */
async function wrapSubprojects(dir: string, signal?: AbortSignal): Promise<Array<{ dir: string; files: string[] }>> {
  const sub = path.join(dir, "subprojects");
  if (!isRealDir(sub)) return [];
  const out: Array<{ dir: string; files: string[] }> = [];
  for (const w of readWraps(dir)) {
    const d = w.directory;
    if (d === "" || d === "." || d === ".." || /[/\\]/.test(d) || d === "packagecache" || d === "packagefiles") continue;
    if (!preparedFromWrap(dir, w)) continue;
    const files: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      throwIfInterrupted(signal);
      for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
        if (e.name === ".git") continue;
        const p = `${rel}/${e.name}`;
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() || e.isSymbolicLink()) files.push(p);
      }
    };
    await walk(`subprojects/${d}`);
    out.push({ dir: `subprojects/${d}`, files });
  }
  return out;
}

function isRealDir(p: string): boolean {
  const st = lstatSync(p, { throwIfNoEntry: false });
  return st !== undefined && st.isDirectory();
}

/** A version string safe in a file name: digits first, then letters, digits and . + ~ _ - only. */
const VERSION_RE = /^[0-9][A-Za-z0-9.+~_-]{0,63}$/;

/**
 * The version of a fetched tree, without knowing which component it is: the first line of its
 * committed VERSION file (QEMU's and qemu-xen-traditional's), else the version number at the end of
 * its nearest tag (SeaBIOS's rel-1.16.3 gives 1.16.3, qemu-xen-4.17.3 gives 4.17.3). The committed
 * file, not the work tree's, so a local edit cannot rename the tarball; undefined when neither helps.
 */
export async function treeVersion(git: ReturnType<typeof gitAt>): Promise<string | undefined> {
  const committed = await git.raw(["show", "HEAD:VERSION"]).catch(() => "");
  const first = committed.split("\n")[0]?.trim() ?? "";
  if (VERSION_RE.test(first)) return first;
  const tag = (await git.raw(["describe", "--tags", "--abbrev=0", "HEAD"]).catch(() => "")).trim();
  const m = /(?:^|[-_/v])([0-9][A-Za-z0-9.+~_-]*)$/.exec(tag);
  return m?.[1] !== undefined && VERSION_RE.test(m[1]) ? m[1] : undefined;
}

/**
 * `dist`'s work: a tarball of each enabled component's fetched tree into the Xen tree's
 * dist/xqbuild-sources/. A component that has not been fetched stops it, naming it.
 */
export async function writeDists(config: ResolvedConfig, components: readonly ComponentPlan[], signal?: AbortSignal): Promise<DistResult[]> {
  const outDir = path.join(config.xenRoot, "dist", "xqbuild-sources");
  const results: DistResult[] = [];
  for (const c of components.filter((x) => x.enabled)) {
    throwIfInterrupted(signal);
    if (!existsSync(path.join(c.sourceDir, ".git"))) {
      throw new UserError(`${c.name} has not been fetched (or is a local directory that is not a git tree): ${c.sourceDir}.`, "Run xqbuild fetch first.", "failure");
    }
    results.push(await writeDist(c.sourceDir, c.name, outDir, config.env, c.buildWrites, signal));
  }
  return results;
}
