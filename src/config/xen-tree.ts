import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { UserError } from "../util/errors.js";
import { LATEST_POINT, NEWEST_RELEASE, OLDEST_RELEASE, type XenVersion } from "./release.js";

/** The files that make a directory a Xen source tree for xqbuild's purposes. */
const MARKERS = ["Config.mk", path.join("xen", "Makefile"), path.join("tools", "Makefile")];

export function isXenTree(dir: string): boolean {
  return MARKERS.every((m) => existsSync(path.join(dir, m)));
}

/** Where the glue puts fetched trees; a "Xen tree" found inside one is fetched code, not the user's tree. */
const FETCHED_DIRS = ["tools/qemu-xen-dir", "tools/qemu-xen-build", "tools/qemu-xen-traditional-dir", "tools/firmware/seabios-dir", "tools/firmware/ovmf-dir", "stubdom"];

/**
 * Walks up from `start` to the Xen tree it is in. A directory that looks like a Xen tree but lies in
 * the fetched-source directories of a Xen tree above it (someone running xqbuild inside
 * tools/qemu-xen-dir) is passed over: its makefiles and config files are fetched code, never read.
 */
export function findXenRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  let found: string | undefined;
  for (;;) {
    if (isXenTree(dir)) {
      if (found === undefined) found = dir;
      else {
        const rel = path.relative(dir, found);
        if (FETCHED_DIRS.some((d) => rel === d || rel.startsWith(d))) found = dir;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return found;
    dir = up;
  }
}

/** Checks a directory given with -C/--xen-root. */
export function checkXenRoot(dir: string, given: string): string {
  const abs = path.resolve(dir);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UserError(`--xen-root ${given}: no such directory.`, "Give the top directory of a Xen source tree.");
  }
  if (!st.isDirectory()) throw new UserError(`--xen-root ${given}: not a directory.`, "Give the top directory of a Xen source tree.");
  const missing = MARKERS.filter((m) => !existsSync(path.join(abs, m)));
  if (missing.length > 0) {
    throw new UserError(
      `--xen-root ${given} is not a Xen source tree: ${missing.join(", ")} missing.`,
      "Give the top directory of a Xen checkout (the one with Config.mk, xen/ and tools/), or use --standalone to build without one.",
    );
  }
  return abs;
}

/** Reads XEN_VERSION, XEN_SUBVERSION and XEN_EXTRAVERSION from xen/Makefile. */
export function readXenVersion(root: string): XenVersion {
  const file = path.join(root, "xen", "Makefile");
  const text = readFileSync(file, "utf8");
  const get = (name: string): string | undefined => {
    const m = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*[:?]?=\\s*(.*?)\\s*$`, "m").exec(text);
    return m?.[1];
  };
  const major = Number(get("XEN_VERSION"));
  const minor = Number(get("XEN_SUBVERSION"));
  if (!Number.isInteger(major) || !Number.isInteger(minor)) {
    throw new UserError(
      `${file}: cannot read XEN_VERSION and XEN_SUBVERSION.`,
      "Is this a Xen source tree? Point -C/--xen-root at the top of one.",
    );
  }
  const extra = (get("XEN_EXTRAVERSION") ?? "").replace(/\$\(XEN_VENDORVERSION\)/g, "");
  return { major, minor, extra, full: `${major}.${minor}${extra}` };
}

/**
 * Parses --xen-version: "4.19", "4.19.2" or "master". A bare X.Y is the newest point release of that
 * line xqbuild knows (its Config.mk names the QEMU tag that line's users get today), X.Y.0 otherwise.
 */
export function parseXenVersionOption(s: string): XenVersion {
  if (s === "master") {
    const minor = NEWEST_RELEASE.minor + 1;
    return { major: NEWEST_RELEASE.major, minor, extra: "-unstable", full: `${NEWEST_RELEASE.major}.${minor}-unstable` };
  }
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new UserError(`--xen-version ${s}: expected MAJOR.MINOR, MAJOR.MINOR.PATCH or master.`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < OLDEST_RELEASE.major || (major === OLDEST_RELEASE.major && minor < OLDEST_RELEASE.minor)) {
    throw new UserError(
      `--xen-version ${s}: xqbuild knows the glue of Xen ${OLDEST_RELEASE.major}.${OLDEST_RELEASE.minor} and later.`,
    );
  }
  const extra = `.${m[3] ?? LATEST_POINT[`${major}.${minor}`] ?? 0}`;
  return { major, minor, extra, full: `${major}.${minor}${extra}` };
}
