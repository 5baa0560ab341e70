import { readFileSync } from "node:fs";
import path from "node:path";
import type { ComponentName } from "../components/names.js";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { withoutCredentials } from "../util/redact.js";

/** One component's pin: the source asked for and the commit it resolved to. */
export interface LockEntry {
  /** Stored without credentials (withoutCredentials): the lock file is shared, committed, printed. */
  readonly url: string;
  readonly revision: string;
  readonly commit: string;
  /**
   * Under verify: the id of the signed tag object the commit was taken from, and the fingerprint of
   * the (primary) key that signed it. A later fetch refuses the tag when it has become another object
   * (a moved tag). Absent in lock files written before verify, and for unverified sources.
   */
  readonly tagObject?: string;
  readonly signer?: string;
}

/** What verify adds to a lock entry. */
export interface LockVerification {
  readonly tagObject: string;
  readonly signer: string;
}

export interface LockFile {
  readonly version: 1;
  readonly components: Partial<Record<ComponentName, LockEntry>>;
}

export const LOCK_FILE = "xqbuild.lock";

export function lockFilePath(root: string): string {
  return path.join(root, LOCK_FILE);
}

export function readLockFile(root: string): LockFile {
  const file = lockFilePath(root);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { version: 1, components: {} };
    if (code === "EISDIR") throw new UserError(`${file} is a directory, not xqbuild's lock file.`, `Move it out of the way (or delete it if it holds nothing of yours); the next xqbuild fetch writes ${LOCK_FILE} again.`);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${LOCK_FILE} is not valid JSON: ${(e as Error).message}.`, `Fix it, or delete it and run xqbuild fetch --update-lock to write it again.`);
  }
  const obj = raw as { version?: unknown; components?: unknown };
  if (obj.version !== 1 || typeof obj.components !== "object" || obj.components === null) {
    throw new UserError(`${LOCK_FILE} is not an xqbuild lock file of version 1.`, "Delete it and run xqbuild fetch --update-lock.");
  }
  for (const [name, e] of Object.entries(obj.components as Record<string, unknown>)) {
    const ent = e as Partial<LockEntry>;
    if (typeof ent.url !== "string" || typeof ent.revision !== "string" || typeof ent.commit !== "string" || !/^[0-9a-f]{40}$/.test(ent.commit)) {
      throw new UserError(`${LOCK_FILE}: the entry for ${name} needs url, revision and a 40-hex commit.`, "Delete it and run xqbuild fetch --update-lock.");
    }
    if ((ent.tagObject !== undefined && !(typeof ent.tagObject === "string" && /^[0-9a-f]{40}$/.test(ent.tagObject))) || (ent.signer !== undefined && !(typeof ent.signer === "string" && /^[0-9A-F]{40}([0-9A-F]{24})?$/.test(ent.signer)))) {
      throw new UserError(`${LOCK_FILE}: the entry for ${name} has a tagObject that is not a 40-hex object id or a signer that is not a key fingerprint.`, "Delete the entry and run xqbuild fetch --update-lock: the tag's signature is checked again.");
    }
  }
  return obj as LockFile;
}

/**
 * Whether a pin was made for this configured URL. The pin holds the URL without its credentials
 * (and one written before that rule may still hold them), so both sides are compared that way: a
 * password in .config neither gets into the lock file nor makes its pin look stale.
 */
export function pinnedUrlMatches(entry: LockEntry, configuredUrl: string): boolean {
  return withoutCredentials(entry.url) === withoutCredentials(configuredUrl);
}

/** The lock entry for a component fetched from `url`: the URL as it may be stored. */
export function lockEntry(url: string, revision: string, commit: string, verified?: LockVerification): LockEntry {
  return { url: withoutCredentials(url), revision, commit, ...(verified ? { tagObject: verified.tagObject, signer: verified.signer } : {}) };
}

export async function writeLockFile(root: string, lock: LockFile): Promise<void> {
  const sorted: Record<string, LockEntry> = {};
  // Every write goes through here, so no entry (an old one read back included) keeps a password.
  for (const k of Object.keys(lock.components).sort()) {
    const e = lock.components[k as ComponentName] as LockEntry;
    sorted[k] = lockEntry(e.url, e.revision, e.commit, e.tagObject !== undefined && e.signer !== undefined ? { tagObject: e.tagObject, signer: e.signer } : undefined);
  }
  await writeFileAtomic(lockFilePath(root), JSON.stringify({ version: 1, components: sorted }, null, 2) + "\n", root, `the lock file ${LOCK_FILE}`);
}
