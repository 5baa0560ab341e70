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
   * What configure receives inside --extra-cflags="..." before $(EXTRA_CFLAGS_QEMU_XEN), byte for
   * byte, when there is no tools/Makefile to read it from (standalone mode, or a recipe xqbuild cannot
   * read): the glue continues the quoted value over tab-indented lines, make removes one recipe TAB of
   * each continuation line and the shell removes the backslash-newline inside the quotes, so the words
   * are separated by " \t". The same in every release from 4.17 to 4.22.
   */
  readonly qemuXenCompatCflags: string;
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
    qemuXenCompatCflags: QEMU_XEN_COMPAT_CFLAGS,
  };
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
