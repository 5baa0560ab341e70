import { existsSync, readFileSync, readdirSync } from "node:fs";
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";
import { cloneFromMirror } from "./checkout.js";
import { gitAt } from "./git.js";
import { ensureRevision, type MirrorOptions } from "./mirror.js";
import { obtainTarball } from "./tarball.js";

/** One meson wrap file: the section type and its keys. */
export interface Wrap {
  readonly name: string;
  readonly type: "wrap-git" | "wrap-file" | string;
  readonly keys: Readonly<Record<string, string>>;
}

/** Parses a meson .wrap file (INI: one [wrap-*] section of key = value lines). */
export function parseWrap(text: string, name: string): Wrap | undefined {
  let type: string | undefined;
  const keys: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      if (type) break;
      type = sec[1];
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && type) keys[kv[1] as string] = kv[2] as string;
  }
  return type ? { name, type, keys } : undefined;
}

export function readWraps(sourceDir: string): Wrap[] {
  const dir = path.join(sourceDir, "subprojects");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".wrap"))
    .sort()
    .map((f) => parseWrap(readFileSync(path.join(dir, f), "utf8"), f.replace(/\.wrap$/, "")))
    .filter((w): w is Wrap => w !== undefined);
}

/**
 * Fetches what meson would download at configure time for the tree's subprojects/*.wrap (newer QEMU
 * keeps dependencies there rather than in git submodules): wrap-git sources are checked out from the
 * mirror cache, wrap-file archives (and their patch archives) are put in subprojects/packagecache,
 * verified by their source_hash. Configure then needs no network.
 */
export async function fetchWraps(sourceDir: string, opts: MirrorOptions): Promise<string[]> {
  const done: string[] = [];
  for (const w of readWraps(sourceDir)) {
    const sub = path.join(sourceDir, "subprojects");
    if (w.type === "wrap-git") {
      const url = w.keys.url;
      const rev = w.keys.revision;
      if (!url) continue;
      const dest = path.join(sub, w.keys.directory ?? w.name);
      if (existsSync(dest)) continue;
      if (!rev || rev.toLowerCase() === "head") {
        throw new UserError(`subprojects/${w.name}.wrap follows the head of ${url} rather than a pinned revision; xqbuild fetches only pinned sources.`, "Pin the wrap's revision (a tag or commit), or provide subprojects/" + (w.keys.directory ?? w.name) + " yourself.", 1);
      }
      const r = await ensureRevision(url, rev, opts);
      const tmp = `${dest}.xqbuild-tmp`;
      await rm(tmp, { recursive: true, force: true });
      await cloneFromMirror(r.mirrorDir, tmp, r.commit, opts);
      await gitAt(tmp, opts).raw(["checkout", "--quiet", r.commit]);
      await gitAt(tmp, opts).raw(["remote", "set-url", "origin", url]);
      await rename(tmp, dest);
      done.push(`${w.name} (git ${rev})`);
    } else if (w.type === "wrap-file") {
      for (const [urlKey, fileKey, hashKey] of [
        ["source_url", "source_filename", "source_hash"],
        ["patch_url", "patch_filename", "patch_hash"],
      ] as const) {
        const url = w.keys[urlKey];
        const file = w.keys[fileKey];
        const hash = w.keys[hashKey];
        if (!url || !file) continue;
        if (!hash) throw new UserError(`subprojects/${w.name}.wrap has ${urlKey} but no ${hashKey}; xqbuild downloads only what is pinned.`);
        const target = path.join(sub, "packagecache", file);
        if (existsSync(target)) continue;
        const got = await obtainTarballFile(url, hash, opts);
        await mkdir(path.dirname(target), { recursive: true });
        await copyFile(got, `${target}.tmp`);
        await rename(`${target}.tmp`, target);
        done.push(`${w.name} (${file})`);
      }
    }
  }
  return done;
}

function obtainTarballFile(url: string, sha256: string, opts: MirrorOptions): Promise<string> {
  return obtainTarball(url, sha256, opts.cacheDir, opts.offline, opts.retry, opts.log);
}
