// The JSON lines written by the fake upstream trees of fixtures/upstream/ (one per run of a fake tool,
// appended to the file named by $XQ_RECORD), and a reader for them.
import fs from "node:fs";

/** Environment variables as the recording process saw them: null when unset. */
export type RecordedEnv = Record<string, string | null>;

/** qemu-xen's ./configure (run from the out-of-tree build directory). */
export interface ConfigureRecord {
  tool: "configure";
  /** physical working directory (symlinks resolved) */
  cwd: string;
  /** every argument after $0 */
  argv: string[];
  /** $0 as given, e.g. <xenRoot>/tools/../tools/qemu-xen-dir/configure */
  argv0: string;
  /** PKG_CONFIG_PATH, MAKELEVEL, MAKEFLAGS */
  env: RecordedEnv;
  /** the source directory: dirname of $0, made absolute and normalised (".." removed) but symlinks kept */
  source: string;
  /** content of the checked-out tree's VERSION file: tells which revision was checked out */
  version: string;
}

/** qemu-xen's scripts/tracetool.py. */
export interface TracetoolRecord {
  tool: "tracetool";
  argv: string[];
  cwd: string;
  /** $0 as given */
  argv0: string;
}

/** qemu-xen-traditional's xen-setup. */
export interface XenSetupRecord {
  tool: "xen-setup";
  cwd: string;
  argv: string[];
  /** $0 as given ("./xen-setup" when the source came from a URL) */
  argv0: string;
  /** PREFIX, XEN_SCRIPT_DIR, XEN_ROOT, CONFIG_BLKTAP1, BUILDING_QEMU_TRAD, QEMU_ROOT, MAKELEVEL, MAKEFLAGS */
  env: RecordedEnv;
}

/** A make goal of one of the fake trees. */
export interface MakeRecord {
  tool: "make";
  dir: "qemu-xen-build" | "seabios" | "qemu-xen-traditional";
  cwd: string;
  /** the rule whose recipe recorded ($@): all, install, clean, olddefconfig */
  target: string;
  /** $(MAKECMDGOALS) */
  goals: string;
  /**
   * Every variable whose $(origin) is "command line", name -> value. This includes variables a parent
   * make passed down through MAKEFLAGS, not only the ones on this make's own command line.
   */
  vars: Record<string, string | null>;
  /**
   * Environment of the recipe: MAKELEVEL (as make exports it to recipes: one more than the level of
   * the make that runs the recipe), MAKEFLAGS, DESTDIR; the qemu-xen-traditional tree also records
   * PREFIX, XEN_SCRIPT_DIR, XEN_ROOT, CONFIG_BLKTAP1, BUILDING_QEMU_TRAD and QEMU_ROOT.
   */
  env: RecordedEnv;
  /** $(MAKELEVEL) inside that make: "0" for a make started with MAKELEVEL unset */
  makelevel: string;
}

/** qemu-xen's fake-ninja.py as a meson build directory's NINJA (XQ_FAKE_MESON); also for -t targets. */
export interface NinjaRecord {
  tool: "ninja";
  cwd: string;
  /** every argument: -jN, -d keepdepfile, the targets; or -C DIR -t targets all */
  argv: string[];
}

/** qemu-xen's fake-meson.py (XQ_FAKE_MESON): install --no-rebuild. */
export interface MesonRecord {
  tool: "meson";
  cwd: string;
  argv: string[];
  env: RecordedEnv;
}

/** What every record has when the tool ran with SOURCE_DATE_EPOCH (or GIT_DIR) set, and only then. */
export interface DatedRecord {
  sourceDateEpoch?: string;
  /** $GIT_DIR, only when set. */
  gitDir?: string;
}

export type FixtureRecord = (ConfigureRecord | TracetoolRecord | XenSetupRecord | MakeRecord | NinjaRecord | MesonRecord) & DatedRecord;

/** Parse a record file; a missing file means no records. */
export function readRecords(file: string): FixtureRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as FixtureRecord;
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON: ${line}`, { cause: err });
      }
    });
}

export function configureRecords(records: readonly FixtureRecord[]): ConfigureRecord[] {
  return records.filter((r): r is ConfigureRecord => r.tool === "configure");
}

export function tracetoolRecords(records: readonly FixtureRecord[]): TracetoolRecord[] {
  return records.filter((r): r is TracetoolRecord => r.tool === "tracetool");
}

export function xenSetupRecords(records: readonly FixtureRecord[]): XenSetupRecord[] {
  return records.filter((r): r is XenSetupRecord => r.tool === "xen-setup");
}

/** make records, optionally only those of one tree and/or one target. */
export function makeRecords(
  records: readonly FixtureRecord[],
  filter: { dir?: MakeRecord["dir"]; target?: string } = {}
): MakeRecord[] {
  return records.filter(
    (r): r is MakeRecord =>
      r.tool === "make" &&
      (filter.dir === undefined || r.dir === filter.dir) &&
      (filter.target === undefined || r.target === filter.target)
  );
}
