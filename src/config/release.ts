/**
 * What differs between Xen releases in the glue xqbuild replaces. In a Xen tree the defaults come from
 * the tree's own Config.mk (read by make); these profiles supply the behaviour that is not a variable
 * (how git-checkout.sh checks out, whether qemu-xen-traditional exists) and the defaults of
 * standalone mode, where there is no tree to read.
 */
export interface ReleaseProfile {
  /** "4.17" ... "4.22", or "master" for a development tree newer than the newest release. */
  readonly id: string;
  readonly major: number;
  readonly minor: number;
  /** Default URLs use git:// and GIT_HTTP=y switches them to http (4.17); https only from 4.18. */
  readonly gitProtocolDefault: boolean;
  /** qemu-xen-traditional targets and variables exist (removed in 4.21). */
  readonly hasQemuTraditional: boolean;
  /** scripts/git-checkout.sh fetches the revision and checks out FETCH_HEAD (from 4.21). */
  readonly checkoutFetchesRevision: boolean;
  /** The subtree-force-update-all targets exist (removed in 4.20). */
  readonly hasSubtreeForceUpdateAll: boolean;
  /** SeaBIOS tag Config.mk names. */
  readonly seabiosRevision: string;
  /**
   * tools/Rules.mk's `debug ?=`: "n" in every release, "y" on master (a development tree builds
   * qemu-xen with --enable-debug unless told otherwise).
   */
  readonly debugDefault: "y" | "n";
  /**
   * What configure receives inside --extra-cflags="..." before $(EXTRA_CFLAGS_QEMU_XEN), byte for
   * byte, when there is no tools/Makefile to read it from (standalone mode, or a recipe xqbuild cannot
   * read): the glue continues the quoted value over tab-indented lines, make removes one recipe TAB of
   * each continuation line and the shell removes the backslash-newline inside the quotes, so the words
   * are separated by " \t". The same in every release from 4.17 to 4.22.
   */
  readonly qemuXenCompatCflags: string;
}

/**
 * What Config.mk names as QEMU_UPSTREAM_REVISION and QEMU_TRADITIONAL_REVISION, per point release:
 * a point release often keeps the previous one's QEMU tag (Xen 4.20.4 still names qemu-xen-4.20.1), so
 * `qemu-xen-<version>` would name a tag that does not exist. Each row holds from its point release
 * (the patch number) until the next row. Read from the RELEASE-X.Y.Z tags of xen-project/xen.
 */
const POINT_REVISIONS: Readonly<Record<string, readonly (readonly [patch: number, qemu: string, traditional: string])[]>> = {
  "4.17": [
    [0, "qemu-xen-4.17.0", "xen-4.17.0"],
    [1, "qemu-xen-4.17.1", "xen-4.17.1"],
    [2, "qemu-xen-4.17.2", "xen-4.17.1"],
    [3, "qemu-xen-4.17.3", "xen-4.17.3"],
  ],
  "4.18": [
    [0, "qemu-xen-4.18.0", "xen-4.18.0"],
    [1, "qemu-xen-4.18.1", "xen-4.18.1"],
    [4, "qemu-xen-4.18.4", "xen-4.18.1"],
  ],
  "4.19": [
    [0, "qemu-xen-4.19.0", "xen-4.19.0"],
    [1, "qemu-xen-4.19.1", "xen-4.19.0"],
  ],
  "4.20": [
    [0, "qemu-xen-4.20.0", "xen-4.20.0"],
    [1, "qemu-xen-4.20.1", "xen-4.20.0"],
  ],
  "4.21": [[0, "qemu-xen-4.21.0", ""]],
  "4.22": [[0, "qemu-xen-4.22.0", ""]],
};

/** The newest point release of each line whose glue xqbuild has read (what `--xen-version X.Y` means). */
export const LATEST_POINT: Readonly<Record<string, number>> = {
  "4.17": 7,
  "4.18": 6,
  "4.19": 6,
  "4.20": 4,
  "4.21": 2,
  "4.22": 0,
};

/**
 * The QEMU revisions a release's Config.mk names: for a point release the row that holds for it, for a
 * release candidate or an unknown newer point release the line's latest, and `master` on master.
 */
export function defaultRevisions(profile: ReleaseProfile, version: XenVersion): { qemu: string; traditional: string } {
  const rows = POINT_REVISIONS[profile.id];
  if (rows === undefined) return { qemu: "master", traditional: "master" };
  const patch = /^\.(\d+)$/.exec(version.extra)?.[1];
  const wanted = patch === undefined ? Number.POSITIVE_INFINITY : Number(patch);
  let row = rows[0];
  for (const r of rows) if (r[0] <= wanted) row = r;
  return { qemu: row?.[1] ?? "master", traditional: row?.[2] ?? "master" };
}

const QEMU_XEN_COMPAT_CFLAGS = ["-DXC_WANT_COMPAT_EVTCHN_API=1", "-DXC_WANT_COMPAT_GNTTAB_API=1", "-DXC_WANT_COMPAT_MAP_FOREIGN_API=1", "-DXC_WANT_COMPAT_DEVICEMODEL_API=1"]
  .map((d) => `${d} \t`)
  .join("");

const SEABIOS: Record<string, string> = {
  "4.17": "rel-1.16.0",
  "4.18": "rel-1.16.2",
  "4.19": "rel-1.16.3",
  "4.20": "rel-1.16.3",
  "4.21": "rel-1.16.3",
  "4.22": "rel-1.17.0",
  master: "rel-1.17.0",
};

export const OLDEST_RELEASE = { major: 4, minor: 17 } as const;
export const NEWEST_RELEASE = { major: 4, minor: 22 } as const;
export const KNOWN_RELEASES = ["4.17", "4.18", "4.19", "4.20", "4.21", "4.22", "master"] as const;

function atLeast(major: number, minor: number, m: number, n: number): boolean {
  return major > m || (major === m && minor >= n);
}

/** The profile of a release given as major.minor; newer than the newest release means master. */
export function releaseProfile(major: number, minor: number): ReleaseProfile {
  const newer = !atLeast(NEWEST_RELEASE.major, NEWEST_RELEASE.minor, major, minor);
  const id = newer ? "master" : `${major}.${minor}`;
  return {
    id,
    major,
    minor,
    gitProtocolDefault: !atLeast(major, minor, 4, 18),
    hasQemuTraditional: !atLeast(major, minor, 4, 21),
    checkoutFetchesRevision: atLeast(major, minor, 4, 21),
    hasSubtreeForceUpdateAll: !atLeast(major, minor, 4, 20),
    seabiosRevision: SEABIOS[id] ?? SEABIOS.master ?? "",
    debugDefault: id === "master" ? "y" : "n",
    qemuXenCompatCflags: QEMU_XEN_COMPAT_CFLAGS,
  };
}

/**
 * How tools/Makefile spells QEMU's trace flag, for standalone mode (in a tree it is read from the tree):
 * `--enable-trace-backend=` in 4.17.0, `--enable-trace-backends=` from 4.17.1 on.
 */
export function releaseTraceFlag(version: XenVersion): string {
  return version.major === 4 && version.minor === 17 && version.extra === ".0" ? "--enable-trace-backend" : "--enable-trace-backends";
}

/** A Xen release as read from xen/Makefile or given with --xen-version. */
export interface XenVersion {
  readonly major: number;
  readonly minor: number;
  /** XEN_EXTRAVERSION as the tree sets it (".5", "-unstable", "-rc"), without a vendor suffix. */
  readonly extra: string;
  /** major.minor plus extra: "4.17.5", "4.22-unstable". */
  readonly full: string;
}
