import { shellWords } from "../../config/shell-words.js";
import { because, hdr } from "../../host/requirements.js";
import type { EnvChanges, PlannedStep, Recipe, RecipeContext } from "../recipe.js";
import { xenLibsInputs } from "../xen-libs.js";

const LINK = "tools/qemu-xen-traditional-dir";

/** tools/Makefile's qemu-traditional-recurse: buildmakevars2shellvars plus two exports. */
function env(ctx: RecipeContext): EnvChanges {
  const qemuRoot = ctx.v("QEMU_ROOT");
  return {
    PREFIX: ctx.v("prefix"),
    XEN_SCRIPT_DIR: ctx.v("XEN_SCRIPT_DIR"),
    XEN_ROOT: ctx.config.xenRoot,
    CONFIG_BLKTAP1: "n",
    BUILDING_QEMU_TRAD: "y",
    ...(qemuRoot !== "." && qemuRoot !== "" ? { QEMU_ROOT: qemuRoot } : {}),
  };
}

export function xenSetupArgs(ctx: RecipeContext): string[] {
  const text = [
    `--extra-cflags="-D__XEN_TOOLS__ ${ctx.v("EXTRA_CFLAGS_QEMU_TRADITIONAL")}"`,
    ctx.v("IOEMU_EXTRA_LDFLAGS"),
    `--cpu=${ctx.v("IOEMU_CPU_ARCH")}`,
    ctx.v("IOEMU_CONFIGURE_CROSS"),
  ].join(" ");
  return [
    ...shellWords(text, "qemu-xen-traditional's xen-setup arguments (EXTRA_CFLAGS_QEMU_TRADITIONAL, IOEMU_*)", { globCwd: ctx.root(LINK) }),
    ...(ctx.config.settings.components?.["qemu-xen-traditional"]?.extraConfigureArgs ?? []),
  ];
}

export const qemuXenTraditional: Recipe = {
  name: "qemu-xen-traditional",
  // An old QEMU: GPL-2.0-only as a whole, COPYING the license's text.
  license: { spdx: "GPL-2.0-only", file: "COPYING", heading: /GNU GENERAL PUBLIC LICENSE\s+Version 2,/, also: ["LICENSE", "COPYING.LIB"] },
  enableVar: "CONFIG_QEMU_TRAD",
  sourceVars: {
    url: "QEMU_TRADITIONAL_URL",
    revision: "QEMU_TRADITIONAL_REVISION",
    loc: "QEMU_TRADITIONAL_LOC",
    sha256: "QEMU_TRADITIONAL_SHA256",
  },
  dirs: { link: LINK, remote: `${LINK}-remote` },
  distclean: [LINK, `${LINK}-remote`],
  removedIn: { major: 4, minor: 21 },
  requirements: () => because("qemu-xen-traditional", hdr("zlib.h", ["zlib1g-dev"], ["zlib-devel"]), hdr("ncurses.h", ["libncurses-dev"], ["ncurses-devel"])),
  // xen-setup runs its configure (config-host.mak); the build makes the device model.
  outputs: { configure: ["config-host.mak"], build: ["i386-dm/qemu-dm"] },
  source(ctx) {
    if (ctx.facts.locIsDir["qemu-xen-traditional"]) {
      return { kind: "local-source", dir: ctx.word("QEMU_TRADITIONAL_LOC"), mkdir: ctx.root(LINK) };
    }
    return {
      kind: "git-checkout",
      url: ctx.word("QEMU_TRADITIONAL_LOC"),
      revision: ctx.word("QEMU_TRADITIONAL_REVISION"),
      remoteDir: ctx.root(`${LINK}-remote`),
      linkDir: ctx.root(LINK),
    };
  },
  sourceDir: (ctx) => (ctx.facts.locIsDir["qemu-xen-traditional"] ? ctx.word("QEMU_TRADITIONAL_LOC") : ctx.root(LINK)),
  buildDir: (ctx) => ctx.root(LINK),
  configure(ctx): PlannedStep[] {
    const qemuRoot = ctx.v("QEMU_ROOT") || ".";
    return [{ stage: "configure", step: "xen-setup", kind: "run", cwd: ctx.root(LINK), argv: [`${qemuRoot}/xen-setup`, ...xenSetupArgs(ctx)], env: env(ctx) }];
  },
  build(ctx) {
    return [{ stage: "build", step: "make", kind: "run", cwd: ctx.root(LINK), argv: ["make", "all"], env: env(ctx) }];
  },
  install(ctx) {
    const argv = ["make", "install", ...(ctx.destdir ? [`DESTDIR=${ctx.destdir}`] : [])];
    return [{ stage: "install", step: "make-install", kind: "run", cwd: ctx.root(LINK), argv, env: env(ctx) }];
  },
  clean(ctx) {
    return [{ stage: "clean", step: "make-clean", kind: "run", cwd: ctx.root("tools"), argv: ["make", "-C", "qemu-xen-traditional-dir", "clean"], env: {} }];
  },
  artifactInputs: xenLibsInputs,
};
