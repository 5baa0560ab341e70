import path from "node:path";
import { shellWords } from "../../config/shell-words.js";
import type { PlannedStep, Recipe, RecipeContext } from "../recipe.js";
import { gatherQemuXenFacts, qemuXenFactsOf } from "./facts.js";
import { qemuXenRequirements } from "./requirements.js";
import { systemQemu } from "./system.js";
import { qemuXenWraps } from "./wraps.js";
import { installedTargets, resolveQemuRun } from "./build-dir.js";
import { qemuBuildToolVersions } from "./build-tools.js";
import { xenLibsInputs } from "../xen-libs.js";
import { filePrefixMaps } from "../reproducible.js";

function sourceDir(ctx: RecipeContext): string {
  return ctx.facts.locIsDir["qemu-xen"] ? ctx.word("QEMU_UPSTREAM_LOC") : ctx.root("tools/qemu-xen-dir");
}

/** ninja's status line, "[N/M] description" (its default NINJA_STATUS). */
const NINJA_STATUS = /^\[(\d+)\/(\d+)\] /;

/** QEMU's configure arguments, in the order of tools/Makefile's subdir-all-qemu-xen-dir. */
export function qemuXenConfigureArgs(ctx: RecipeContext): string[] {
  const v = ctx.v;
  const args: string[] = ["--enable-xen", "--target-list=i386-softmmu"];
  if (v("debug") === "y") args.push("--enable-debug");
  const facts = qemuXenFactsOf(ctx.facts);
  const backend = facts.traceProbe ? (facts.traceBackend ?? "log") : "log";
  if (backend !== "none") args.push(`${facts.traceFlag}=${backend}`);
  // The rest of the glue's recipe, as make expands it and the shell then splits it. The text before
  // EXTRA_CFLAGS_QEMU_XEN is the tree's own (backslash-newlines and tabs included: the shell drops the
  // backslash-newlines inside the quotes and keeps the tabs), so configure gets the glue's bytes.
  const cflagsPrefix = facts.cflagsPrefix ?? ctx.config.release.qemuXenCompatCflags;
  const text = [
    `--prefix=${v("prefix")}`,
    `--libdir=${v("LIBEXEC_LIB")}`,
    `--includedir=${v("LIBEXEC_INC")}`,
    `--extra-cflags="${cflagsPrefix}${v("EXTRA_CFLAGS_QEMU_XEN")}"`,
    `--extra-ldflags="${v("QEMU_UPSTREAM_RPATH")}"`,
    `--bindir=${v("LIBEXEC_BIN")}`,
    `--datadir=${v("SHAREDIR")}/qemu-xen`,
    `--localstatedir=${v("localstatedir")}`,
    `--docdir=${v("LIBEXEC")}/share/doc`,
    `--mandir=${v("LIBEXEC")}/share/man`,
    `--libexecdir=${v("LIBEXEC")}/libexec`,
    `--firmwarepath=${v("LIBEXEC")}/share/qemu-firmware`,
    "--disable-kvm",
    "--disable-docs",
    "--disable-guest-agent",
    `--python=${v("PYTHON")}`,
    v("CONFIG_QEMUU_EXTRA_ARGS"),
    `--cpu=${v("IOEMU_CPU_ARCH")}`,
    v("IOEMU_CONFIGURE_CROSS"),
  ].join(" ");
  // The glue's shell runs in qemu-xen-build and expands an unquoted glob there (`/etc/host*`).
  args.push(...shellWords(text, "qemu-xen's configure arguments (from prefix, EXTRA_CFLAGS_QEMU_XEN, CONFIG_QEMUU_EXTRA_ARGS, ...)", { globCwd: ctx.root("tools/qemu-xen-build") }));
  const ninep = v("CONFIG_9PFS");
  if (ninep === "y") args.push("--enable-virtfs");
  else if (ninep === "n") args.push("--disable-virtfs");
  // xqbuild's own switches come after everything the glue passes.
  const { features } = ctx.config;
  if (features.libusb !== undefined) args.push(features.libusb ? "--enable-libusb" : "--disable-libusb");
  if (features.spice !== undefined) args.push(features.spice ? "--enable-spice" : "--disable-spice");
  // reproducible: true: configure appends a second --extra-cflags to the glue's (for C, C++ and
  // Objective-C alike), so the tree's and the build directory's paths leave no trace in the binaries.
  const maps = filePrefixMaps(ctx, { source: sourceDir(ctx), build: ctx.root("tools/qemu-xen-build"), link: "tools/qemu-xen-dir" });
  if (maps.length > 0) args.push(`--extra-cflags=${maps.join(" ")}`);
  args.push(...(ctx.config.settings.components?.["qemu-xen"]?.extraConfigureArgs ?? []));
  return args;
}

/**
 * The glue's recipe reads the shell's $PKG_CONFIG_PATH, which is make's value whenever make exports
 * it: set on make's command line (or xqbuild's config), or present in the environment to begin with
 * (then as the makefiles may have changed it).
 */
function pkgConfigPath(ctx: RecipeContext): string {
  const own = ctx.root("tools/pkg-config");
  const mv = ctx.config.vars.get("PKG_CONFIG_PATH");
  const exported = mv !== undefined && (mv.origin.kind === "command line" || mv.origin.kind === "xqbuild config" || ctx.config.env.PKG_CONFIG_PATH !== undefined);
  const inherited = exported ? mv.value : ctx.config.env.PKG_CONFIG_PATH;
  return inherited ? `${own}:${inherited}` : own;
}

export const qemuXen: Recipe = {
  name: "qemu-xen",
  // QEMU as a whole is GPL-2.0-only (its LICENSE file); COPYING is that license's text.
  license: { spdx: "GPL-2.0-only", file: "COPYING", heading: /GNU GENERAL PUBLIC LICENSE\s+Version 2,/, also: ["LICENSE", "COPYING.LIB"] },
  enableVar: "CONFIG_QEMU_XEN",
  extraArgsVar: "CONFIG_QEMUU_EXTRA_ARGS",
  sourceVars: { url: "QEMU_UPSTREAM_URL", revision: "QEMU_UPSTREAM_REVISION", loc: "QEMU_UPSTREAM_LOC", sha256: "QEMU_UPSTREAM_SHA256" },
  dirs: { link: "tools/qemu-xen-dir", remote: "tools/qemu-xen-dir-remote", build: "tools/qemu-xen-build" },
  distclean: ["tools/qemu-xen-dir", "tools/qemu-xen-dir-remote", "tools/qemu-xen-build"],
  // What QEMU's configure (scripts/git-submodule.sh) would otherwise fetch over the network.
  submodules: ["meson", "ui/keycodemapdb", "tests/fp/berkeley-softfloat-3", "tests/fp/berkeley-testfloat-3", "dtc"],
  // QEMU's Makefile makes this tracked file again from meson_options.txt whenever that is newer (a
  // patch to it, or the order a checkout wrote them in), and the text it writes depends on the host.
  buildWrites: ["scripts/meson-buildoptions.sh"],
  // qemu-version.sh: `git describe --match 'v*' --dirty` becomes QEMU's pkgversion.
  fullHistory: true,
  // configure writes config.status and config-host.mak and runs meson (build.ninja); the build
  // makes qemu-system-i386 (and whatever meson-info/intro-installed.json lists, checked as well).
  outputs: { configure: ["config.status", "config-host.mak", "build.ninja"], build: ["build.ninja", "qemu-system-i386"] },
  // Newer QEMU keeps these in meson wraps (subprojects/*.wrap), which its meson setup downloads:
  // which ones, for this configure command, is QEMU's knowledge (qemu-xen-wraps.ts).
  wraps: qemuXenWraps,
  system: systemQemu,
  // The glue's trace probe and tools/Makefile's spelling of the configure line (facts.ts).
  facts: gatherQemuXenFacts,
  requirements: qemuXenRequirements,
  source(ctx) {
    if (ctx.facts.locIsDir["qemu-xen"]) return { kind: "local-source", dir: ctx.word("QEMU_UPSTREAM_LOC"), mkdir: ctx.root("tools/qemu-xen-dir") };
    return {
      kind: "git-checkout",
      url: ctx.word("QEMU_UPSTREAM_LOC"),
      revision: ctx.word("QEMU_UPSTREAM_REVISION"),
      remoteDir: ctx.root("tools/qemu-xen-dir-remote"),
      linkDir: ctx.root("tools/qemu-xen-dir"),
    };
  },
  sourceDir,
  buildDir: (ctx) => ctx.root("tools/qemu-xen-build"),
  configure(ctx): PlannedStep[] {
    return [
      {
        stage: "configure",
        step: "configure",
        kind: "run",
        cwd: ctx.root("tools/qemu-xen-build"),
        argv: [`${sourceDir(ctx)}/configure`, ...qemuXenConfigureArgs(ctx)],
        env: { MAKELEVEL: null, PKG_CONFIG_PATH: pkgConfigPath(ctx) },
      },
    ];
  },
  build(ctx) {
    // QEMU's Makefile runs ninja with the -jN it finds in MAKEFLAGS; ninja (before 1.13) does not
    // share make's jobserver, so xqbuild reserves the slots that -jN stands for.
    // Of `all`, only what install needs: QEMU's `all` also builds about 200 test programs.
    return [{ stage: "build", step: "make", kind: "run", cwd: ctx.root("tools/qemu-xen-build"), argv: ["make", "all"], env: { MAKELEVEL: null }, parallelism: "static", goals: "installed" }];
  },
  install(ctx) {
    const argv = ["make", "install", ...(ctx.destdir ? [`DESTDIR=${ctx.destdir}`] : [])];
    // `make install` ends in meson install --no-rebuild after building `all`: run that directly.
    return [{ stage: "install", step: "make-install", kind: "run", cwd: ctx.root("tools/qemu-xen-build"), argv, env: {}, install: "meson" }];
  },
  clean(ctx) {
    return [{ stage: "clean", step: "make-clean", kind: "run", cwd: ctx.root("tools"), argv: ["make", "-C", "qemu-xen-build", "clean"], env: {} }];
  },
  // The engine's questions: QEMU's configured build directory (build-dir.ts) says what runs.
  resolveRun: (step, env) => (step.goals !== undefined || step.install !== undefined ? resolveQemuRun(step, env) : Promise.resolve(undefined)),
  buildToolVersions: qemuBuildToolVersions,
  builtOutputs: (step) => (step.goals === "installed" ? installedTargets(step.cwd)?.map((f) => path.join(step.cwd, f)) : undefined),
  artifactInputs: xenLibsInputs,
  // meson builds QEMU 5.2 and later with ninja: a new ninja rebuilds.
  versionedTools: { ninja: ["ninja", "--version"] },
  progressOf(line) {
    const m = NINJA_STATUS.exec(line);
    return m ? { phase: "ninja", done: Number(m[1]), total: Number(m[2]) } : undefined;
  },
};
