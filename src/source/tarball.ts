import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { FailureError, UserError } from "../util/errors.js";
import { loadTar, sha256File } from "../util/fs.js";
import { processSignal, throwIfInterrupted } from "../util/signals.js";
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from "../util/retry.js";

/** Archive names xqbuild takes as tarball sources. */
export const TARBALL_RE = /\.(tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tbz2?|tar\.zst|tzst|tar)$/i;

export function isTarballLocation(loc: string): boolean {
  return TARBALL_RE.test(loc.split("?")[0] ?? "");
}

export interface TarballLimits {
  /** Largest total size of the unpacked files. */
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: TarballLimits = { maxBytes: 8 * 1024 ** 3, maxEntries: 2_000_000, maxDepth: 64 };

/** The limits with XQBUILD_TARBALL_MAX_BYTES (MirrorOptions.tarballMaxBytes) in place of the default size, when set. */
export function tarballLimits(maxBytes: number | undefined): TarballLimits {
  return maxBytes !== undefined ? { ...DEFAULT_LIMITS, maxBytes } : DEFAULT_LIMITS;
}

function mismatch(where: string, expected: string, actual: string): UserError {
  return new UserError(`sha256 mismatch for ${where}: expected ${expected}, got ${actual}.`, "The file is not the one pinned; the download was removed. Check the *_SHA256 value or the source.", "failure");
}

/** A download the server answered with an error status; 5xx is worth another attempt. */
export class HttpStatusError extends Error {
  override readonly name = "HttpStatusError";
  constructor(
    readonly status: number,
    statusText: string,
  ) {
    super(`HTTP ${status} ${statusText} returned error: ${status}`);
  }
}

/** A download refused for its size: said once, not retried. */
class TooLargeError extends Error {
  constructor(what: string, maxBytes: number) {
    super(`${what}, more than the ${maxBytes} bytes a tarball may be (XQBUILD_TARBALL_MAX_BYTES)`);
  }
}

/**
 * Makes the tarball available as a verified local file: a local path is hashed in place; a URL is
 * downloaded into the cache (atomically, retrying a server's 5xx), kept under its sha256.
 */
export async function obtainTarball(loc: string, sha256: string, cacheDir: string, offline: boolean, policy: RetryPolicy = DEFAULT_RETRY, onRetry?: (m: string) => void, maxBytes = DEFAULT_LIMITS.maxBytes): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new UserError(`a tarball source (${loc}) needs its sha256 (64 hex digits) in the matching *_SHA256 variable; got ${JSON.stringify(sha256)}.`);
  if (!/^https?:\/\//i.test(loc)) {
    const file = loc.replace(/^file:\/\//, "");
    if (!existsSync(file)) throw new UserError(`the tarball ${file} does not exist.`, "Check the *_LOC variable.");
    // Hashing /dev/zero or a FIFO would never end.
    if (!statSync(file).isFile()) throw new UserError(`the tarball ${file} is not a regular file.`, "Name the archive file itself in the *_LOC variable.");
    const actual = await sha256File(file);
    if (actual !== sha256) throw new UserError(`sha256 mismatch for ${file}: expected ${sha256}, got ${actual}.`, "Check the *_SHA256 value or the file.", "failure");
    return file;
  }
  const dir = path.join(cacheDir, "tarballs");
  const cached = path.join(dir, `${sha256}${path.extname(new URL(loc).pathname)}`);
  if (existsSync(cached) && (await sha256File(cached)) === sha256) return cached;
  if (offline) throw new UserError(`offline: the tarball ${loc} is not in the cache.`, "Run once with the network to fill the cache.", "failure");
  await mkdir(dir, { recursive: true });
  const tmp = `${cached}.tmp-${process.pid}`;
  try {
    await withRetry(
      `downloading ${loc}`,
      policy,
      async () => {
        const res = await fetch(loc, { signal: AbortSignal.any([AbortSignal.timeout(600_000), processSignal]) });
        if (!res.ok || !res.body) throw new HttpStatusError(res.status, res.statusText);
        // Bounded like what it unpacks to: a server (a fetched wrap's source_url names any) that
        // claims or sends more than that would fill the cache's disk before the sha256 says no.
        const claimed = Number(res.headers.get("content-length") ?? "");
        if (Number.isFinite(claimed) && claimed > maxBytes) {
          await res.body.cancel();
          throw new TooLargeError(`the server says it is ${claimed} bytes`, maxBytes);
        }
        let received = 0;
        const bounded = new Transform({
          transform(chunk: Buffer, _enc, done) {
            received += chunk.length;
            done(received > maxBytes ? new TooLargeError(`the server sent more than that`, maxBytes) : null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(res.body as WebReadableStream), bounded, createWriteStream(tmp));
      },
      { transient: (e) => e instanceof HttpStatusError && e.status >= 500, ...(onRetry ? { onRetry } : {}) },
    );
  } catch (e) {
    await rm(tmp, { force: true });
    throwIfInterrupted();
    throw new FailureError(`cannot download ${loc}: ${e instanceof Error ? e.message : String(e)}`, "Check the URL and the network.");
  }
  const actual = await sha256File(tmp);
  if (actual !== sha256 || processSignal.aborted) {
    await rm(tmp, { force: true });
    throwIfInterrupted();
    throw mismatch(loc, sha256, actual);
  }
  await rename(tmp, cached);
  return cached;
}

/** The program that decompresses an archive, from its first bytes; undefined: tar reads it itself. */
function decompressor(file: string): string[] | undefined {
  const fd = openSync(file, "r");
  const b = Buffer.alloc(6);
  readSync(fd, b, 0, 6, 0);
  closeSync(fd);
  if (b[0] === 0xfd && b.subarray(1, 6).toString("latin1") === "7zXZ\0") return ["xz", "-dc"];
  if (b.subarray(0, 3).toString("latin1") === "BZh") return ["bzip2", "-dc"];
  if (b.readUInt32LE(0) === 0xfd2fb528) return ["zstd", "-dc"];
  return undefined;
}

/** The archive as a tar stream (gzip is handled by tar itself; xz, bzip2 and zstd by their programs). */
function tarStream(file: string): { stream: Readable; done: Promise<void> } {
  const cmd = decompressor(file);
  if (!cmd) return { stream: createReadStream(file), done: Promise.resolve() };
  const child = spawn(cmd[0] as string, [...cmd.slice(1), file], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (e) => reject(new UserError(`cannot run ${cmd[0]} to unpack ${file}: ${e.message}.`, `Install ${cmd[0]}.`, "failure")));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new UserError(`${file} is damaged: ${cmd[0]} says ${err.trim() || `exit ${code}`}.`, "Download it again.", "failure"))));
  });
  return { stream: child.stdout, done };
}

/** Why an entry may not be unpacked, or undefined. */
export function entryProblem(entryPath: string, type: string, linkpath: string | undefined, limits: TarballLimits): string | undefined {
  if (entryPath.startsWith("/") || /^[A-Za-z]:/.test(entryPath)) return "has an absolute path";
  const parts = entryPath.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return "goes up out of the target with ..";
  // A .git inside the archive would be a repository (with its config, hooks, filters) of the
  // archive's making in the tree xqbuild runs git in.
  if (parts.some((p) => p.toLowerCase() === ".git")) return "is inside a .git directory";
  if (parts.length > limits.maxDepth) return `is nested ${parts.length} directories deep`;
  if (["CharacterDevice", "BlockDevice", "FIFO", "ContiguousFile"].includes(type)) return `is a ${type}`;
  if (type === "SymbolicLink" || type === "Link") {
    const target = linkpath ?? "";
    if (target.startsWith("/")) return `is a ${type === "Link" ? "hard" : "symbolic"} link to the absolute path ${target}`;
    const base = type === "Link" ? target : path.posix.join(path.posix.dirname(parts.join("/")), target);
    const norm = path.posix.normalize(base);
    if (norm === ".." || norm.startsWith("../")) return `is a link pointing outside the target (${target})`;
  }
  return undefined;
}

/**
 * Unpacks a tarball into `dest` (which must not exist) after checking every entry first: nothing
 * absolute, nothing with `..`, no link pointing outside, no device, within size and depth limits.
 * A refused or damaged archive leaves nothing behind. A single top directory is stripped unless
 * `stripTop` is false (a meson wrap's archive is unpacked as it is, its top directory named by the wrap).
 */
export async function extractTarball(file: string, dest: string, limits: TarballLimits = DEFAULT_LIMITS, stripTop = true): Promise<void> {
  const tops = new Set<string>();
  let total = 0;
  let count = 0;
  let refused: string | undefined;
  const tar = await loadTar();
  const scan = tarStream(file);
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (e) => {
      count++;
      total += e.size ?? 0;
      const p = entryProblem(e.path, e.type, e.linkpath, limits);
      if (p && !refused) refused = `the entry ${JSON.stringify(e.path)} ${p}`;
      if (!refused && total > limits.maxBytes) refused = `it unpacks to more than ${limits.maxBytes} bytes (a decompression bomb?)`;
      if (!refused && count > limits.maxEntries) refused = `it has more than ${limits.maxEntries} entries`;
      const top = e.path.replace(/^\.\//, "").split("/")[0];
      if (top) tops.add(top + (e.path.replace(/^\.\//, "").includes("/") || e.type === "Directory" ? "/" : ""));
      e.resume();
    },
  });
  try {
    // SIGINT, SIGTERM or SIGHUP stop the scan and the unpacking (src/signals.ts).
    await Promise.all([pipeline(scan.stream, parser, { signal: processSignal }), scan.done]);
  } catch (e) {
    throwIfInterrupted();
    if (e instanceof UserError) throw e;
    throw new UserError(`${file} is not a readable tar archive: ${(e as Error).message}.`, "Download it again, or check the *_SHA256 pin.", "failure");
  }
  if (refused) {
    const bomb = refused.includes("decompression bomb");
    throw new UserError(`refusing to unpack ${file}: ${refused}.`, bomb ? "Nothing was unpacked. If the archive is genuine, raise XQBUILD_TARBALL_MAX_BYTES." : "Nothing was unpacked. Use an archive without such entries.", "failure");
  }
  if (count === 0) throw new UserError(`${file} is an empty or truncated archive.`, "Download it again.", "failure");
  const strip = stripTop && tops.size === 1 && [...tops][0]?.endsWith("/") ? 1 : 0;
  await mkdir(dest, { recursive: true });
  try {
    const ex = tarStream(file);
    await Promise.all([pipeline(ex.stream, tar.x({ cwd: dest, strict: true, strip, preservePaths: false, preserveOwner: false }), { signal: processSignal }), ex.done]);
  } catch (e) {
    await rm(dest, { recursive: true, force: true });
    throwIfInterrupted();
    if (e instanceof UserError) throw e;
    throw new UserError(`unpacking ${file} failed: ${(e as Error).message}.`, "Nothing was left behind; check the archive and the free disk space.", "failure");
  }
  if ((await readdir(dest)).length === 0) {
    await rm(dest, { recursive: true, force: true });
    throw new UserError(`${file} holds no files.`, "Check the archive.", "failure");
  }
  await stat(dest);
}
