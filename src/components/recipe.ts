import type { ComponentName } from "./names.js";
import type { LicenseDeclaration } from "./license.js";
import type { ResolvedConfig, SystemComponent } from "../config/types.js";
import type { HostRequirement } from "../host/requirements.js";
import type { Wrap, WrapChoice } from "../source/wraps.js";

/** The stages every component goes through, in order. */
export const STAGE_NAMES = ["fetch", "patch", "configure", "build", "install", "clean"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Environment changes for a command: a string sets the variable, null unsets it. */
export type EnvChanges = Readonly<Record<string, string | null>>;

/**
 * One unit of work, a plain value. The executor switches on `kind` (never on a component's name),
 * so a recipe is data that any of these can describe.
 */
export type Step =
  | {
      readonly kind: "run";
      readonly cwd: string;
      readonly argv: readonly string[];
      readonly env: EnvChanges;
      /**
       * "static": below this command runs a tool that takes -jN once instead of sharing the
       * jobserver (QEMU's make hands -jN from MAKEFLAGS to ninja), so slots are reserved for it.
       */
      readonly parallelism?: "static";
      /**
       * "installed": a meson build (QEMU 5.2 and later) builds only what its install needs: the
       * goal `all` is replaced by the build outputs meson-info/intro-installed.json lists (QEMU's
       * `all` also builds about 200 test programs nobody installs). Without that file, as planned.
       */
      readonly goals?: "installed";
      /**
       * "meson": run the command QEMU's `make install` ends in (build.ninja's meson-internal__install,
       * `meson install --no-rebuild`) directly, with DESTDIR from the argv's DESTDIR=; `make install`
       * would first build `all`, tests included. Without build.ninja, as planned.
       */
      readonly install?: "meson";
    }
  | {
      /** scripts/git-checkout.sh: clone URL at REVISION into `remoteDir`, then symlink `linkDir` to it. */
      readonly kind: "git-checkout";
      readonly url: string;
      readonly revision: string;
      readonly remoteDir: string;
      readonly linkDir: string;
    }
  | {
      /** A release tarball (path or URL) pinned by sha256, unpacked into `remoteDir` and linked. */
      readonly kind: "tarball";
      readonly url: string;
      readonly sha256: string;
      readonly remoteDir: string;
      readonly linkDir: string;
    }
  | {
      /** A local source directory used in place (a *_LOC that is a directory): nothing is fetched. */
      readonly kind: "local-source";
      readonly dir: string;
      /** The directory the glue creates (`mkdir -p NAME-dir`) next to it, if any. */
      readonly mkdir?: string;
    }
  | { readonly kind: "copy"; readonly from: string; readonly to: string; readonly mode?: number }
  | { readonly kind: "write"; readonly path: string; readonly content: string };

/** A step with the stage it belongs to and a name that says what it is within that stage. */
export type PlannedStep = Step & { readonly stage: StageName; readonly step: string };

/** A step that runs a command. */
export type RunStep = Extract<Step, { kind: "run" }>;

/**
 * A run step's command line as it runs, resolved against what configure left in the build directory;
 * `name` is the tool's when another than the recipe's runs in its place.
 */
export interface ResolvedRun {
  readonly argv: readonly string[];
  readonly env: EnvChanges;
  /** The command takes -jN itself: the executor adds the job slots it holds, as make would. */
  readonly jobsFlag?: boolean;
  readonly name?: string;
}

/** Progress a tool reports in a line of its output (ninja's "[N/M] ..."). */
export interface LineProgress {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
}

/**
 * Facts about the host and the fetched sources that the plan depends on; gathered by the caller
 * (plan/facts.ts) before the plan is made, so that making it does no I/O.
 */
export interface PlanFacts {
  /** `test -d $(*_LOC)` for each component's LOC variable (see Recipe.locBase). */
  readonly locIsDir: Readonly<Partial<Record<ComponentName, boolean>>>;
  /**
   * What each recipe's `facts` read, by component. Opaque to everything but that recipe, which gives
   * it its type (qemu-xen: the trace probe and tools/Makefile's spelling of its configure line).
   */
  readonly components?: Readonly<Partial<Record<ComponentName, ComponentFacts>>>;
  /** With `reproducible: true` in the config file (plan/reproducible.ts): what the setting reads. */
  readonly reproducible?: ReproducibleFacts;
}

/** What `reproducible: true` needs from the file system, read with the other facts. */
export interface ReproducibleFacts {
  /** SOURCE_DATE_EPOCH per component: its source's commit date, or the environment's (fromEnvironment); absent while not fetched. */
  readonly sourceDates: Readonly<Partial<Record<ComponentName, string>>>;
  /** The real path (links resolved) of the tree's root and of each source directory, by its path as planned. */
  readonly realPaths: Readonly<Record<string, string>>;
  readonly fromEnvironment?: true;
}

/** One component's facts: a plain value whose type is the recipe's own. */
export type ComponentFacts = object;

/** What a recipe's `facts` is given. */
export interface FactsInput {
  readonly config: ResolvedConfig;
  /** The source directory the commands will read (present or not yet). */
  readonly sourceDir: string;
  /** The source is a local directory used in place (a *_LOC that is one), not a checkout xqbuild made. */
  readonly local: boolean;
  /**
   * Whether the fetched source may be asked (QEMU's tracetool): false for the plan a run makes
   * before it fetches, true once the sources are there (plan/facts.ts sourceFacts).
   */
  readonly probe: boolean;
}

/** What a recipe's host requirements are given. */
export interface RequirementsInput {
  readonly config: ResolvedConfig;
  /** Its source directory: what the host needs may follow the source fetched (nothing before it is). */
  readonly sourceDir: string;
  /** The first word of $(PYTHON), the Python every component's build runs. */
  readonly python: string;
}

/**
 * An installed copy used in place of building a component (--with-system-qemu, --with-system-seabios):
 * where the configuration names one, and how to tell that it is usable.
 */
export interface SystemOverride {
  of(config: ResolvedConfig): SystemComponent | undefined;
  /** The path used; a UserError (kind failure or config) saying why it is not usable. */
  check(sys: SystemComponent, env: Readonly<Record<string, string>>): string;
}

/** What a recipe is given: resolved values and facts, no I/O. */
export interface RecipeContext {
  readonly config: ResolvedConfig;
  readonly facts: PlanFacts;
  /** A make variable's value, "" when undefined. */
  v(name: string): string;
  /** A value the glue passes unquoted as one shell word (a URL, revision or path): blanks dropped. */
  word(name: string): string;
  /** An absolute path inside the Xen tree (or standalone root). */
  root(rel: string): string;
  /** The DESTDIR of an install, or "" for none. */
  readonly destdir: string;
}

/** What a recipe's wrap selection is given. */
export interface WrapSelectionInput {
  readonly wraps: readonly Wrap[];
  /** The fetched source tree (its meson_options.txt holds the options' defaults). */
  readonly sourceDir: string;
  /** The configure command as planned, program first (empty when the recipe has no configure step). */
  readonly configure: readonly string[];
  /** The environment configure runs with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** Why a component is or is not built. */
export interface Enablement {
  readonly enabled: boolean;
  readonly reason: string;
}

/**
 * A component described as data: where its source comes from, where it lives and is built, and the
 * commands of each stage as pure functions of the resolved configuration.
 */
export interface Recipe {
  readonly name: ComponentName;
  /** The Tools.mk variable that turns it on (y). */
  readonly enableVar: string;
  /**
   * The glue's variable of extra configure arguments (CONFIG_QEMUU_EXTRA_ARGS), which the config
   * file's components.<name>.extraConfigureArgs follow on the configure line: `xqbuild config`
   * shows that variable with both, so the value it prints is the one configure gets.
   */
  readonly extraArgsVar?: string;
  /** What it is, for an SBOM: a program (the device models) or firmware (SeaBIOS). Default application. */
  readonly kind?: "application" | "firmware";
  /** The license it is distributed under, and the tree's file that says so (components/license.ts). */
  readonly license: LicenseDeclaration;
  /** The make variables naming its source. */
  readonly sourceVars: { readonly url: string; readonly revision: string; readonly loc: string; readonly sha256: string };
  /** Paths relative to the Xen tree's root: the glue's symlink, clone and build directories. */
  readonly dirs: { readonly link: string; readonly remote: string; readonly build?: string };
  /** Paths relative to the root that distclean removes. */
  readonly distclean: readonly string[];
  /** Git submodules QEMU's configure would fetch itself; xqbuild fetches them up front. */
  readonly submodules?: readonly string[];
  /**
   * Which of the tree's meson subprojects/*.wrap its configure would download (newer QEMU), so that
   * fetch prepares those up front and nothing else; a wrap it leaves out is not fetched. Called at
   * fetch time with the planned configure command, and may probe the host as configure would (the
   * one part of a recipe that does I/O).
   */
  readonly wraps?: (input: WrapSelectionInput) => Promise<ReadonlyMap<string, WrapChoice>>;
  /**
   * Tracked files of the source that the component's own build may write again (relative to the
   * source directory). They are not edits: they neither rebuild nor change the artifact key.
   */
  readonly buildWrites?: readonly string[];
  /**
   * The build embeds `git describe` of the source (QEMU's scripts/qemu-version.sh puts it in
   * `qemu-system-i386 -version`): the checkout needs the history and tags the glue's plain clone
   * has, or the binaries differ from the glue's. Its mirror is then fetched whole, never shallow.
   */
  readonly fullHistory?: boolean;
  /**
   * What each stage leaves in the build directory (paths relative to it), so that a stamp holds only
   * while they exist: after `rm -rf` of the build directory, or with the firmware deleted, a stamp
   * that still matches its inputs would skip configure and leave make to fail on a directory with
   * no Makefile. A stage whose outputs are missing runs again, and so do the stages after it.
   */
  readonly outputs?: { readonly configure?: readonly string[]; readonly build?: readonly string[] };
  /** The first release whose glue no longer has it. */
  readonly removedIn?: { readonly major: number; readonly minor: number };
  /**
   * The directory (relative to the root) from which the glue tests `test -d $(LOC)`: the one its
   * makefile runs in. Default "tools".
   */
  readonly locBase?: string;
  /** An installed copy the configuration may name instead of building this one. */
  readonly system?: SystemOverride;
  /**
   * The component's own facts for the plan, read from the file system or the host (the one other
   * part of a recipe that does I/O, with `wraps` and `requirements`): called by gatherFacts, read back
   * by the recipe from ctx.facts.components.
   */
  facts?(input: FactsInput): ComponentFacts;
  /** What the host must have to build it (the doctor's checks and the build's pre-flight). */
  requirements?(input: RequirementsInput): readonly HostRequirement[];
  /** Source location: a local directory used in place, or a git checkout. */
  source(ctx: RecipeContext): Step;
  /** The source directory the commands read. */
  sourceDir(ctx: RecipeContext): string;
  /** The directory the build runs in. */
  buildDir(ctx: RecipeContext): string;
  /** Steps after checkout that the glue's fetch target runs (SeaBIOS's .config). */
  postCheckout?(ctx: RecipeContext): PlannedStep[];
  configure?(ctx: RecipeContext): PlannedStep[];
  build(ctx: RecipeContext): PlannedStep[];
  install(ctx: RecipeContext): PlannedStep[];
  clean(ctx: RecipeContext): PlannedStep[];

  // The engine's questions (issue 15, point 3): what the engine would otherwise have to know about a
  // component's tools and files. Each is optional; without it a step runs as planned.
  /**
   * A run step as it runs once its build directory is configured (QEMU: ninja on the installed
   * targets in place of `make all`, `meson install --no-rebuild` in place of `make install`);
   * undefined: as planned. Both `plan` and the executor ask this, so what plan shows is what runs.
   */
  resolveRun?(step: RunStep, env: Readonly<Record<string, string>>): Promise<ResolvedRun | undefined>;
  /** Files a build step stands for beyond `outputs` (QEMU: what meson-info says it installs), absolute. */
  builtOutputs?(step: RunStep): readonly string[] | undefined;
  /** The text of a built-in file that a copy step names as its `from` (SeaBIOS's standalone .config); undefined: a real file. */
  builtinContent?(from: string): string | undefined;
  /** What else the installed files depend on, for the artifact key (QEMU: the Xen libraries it links). */
  artifactInputs?(input: { readonly xenRoot: string; readonly env: Readonly<Record<string, string>> }): Promise<unknown>;
  /** Progress in a line of the build's output (ninja's "[N/M] ..."); undefined for any other line. */
  progressOf?(line: string): LineProgress | undefined;
  /**
   * The versions of tools its configured build directory records it was set up with, by name (QEMU:
   * the meson of its own tree, from meson-info), for the SBOM; empty or absent when there are none.
   */
  buildToolVersions?(buildDir: string): Readonly<Record<string, string>>;
  /** Tools its build runs besides the compiler, make and Python, by name: `--version` argv (QEMU: ninja). Their versions are in every fingerprint. */
  readonly versionedTools?: Readonly<Record<string, readonly string[]>>;
}
