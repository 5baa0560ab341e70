import { shellWords } from "../../config/shell-words.js";
import { because, prog } from "../../host/requirements.js";
import type { PlannedStep, Recipe, RecipeContext } from "../recipe.js";
import { builtinFile } from "./builtin-config.js";
import { systemSeabios } from "./system.js";
import { isTarballLocation } from "../../source/tarball.js";

const FW = "tools/firmware";

/** `CC=$(SEABIOSCC) LD=$(SEABIOSLD)` as the glue's recipe line expands and splits it. */
function ccld(ctx: RecipeContext): string {
  return `CC=${ctx.v("SEABIOSCC")} LD=${ctx.v("SEABIOSLD")}`;
}

/**
 * reproducible: true with a release tarball as the source: scripts/buildversion.py takes the version
 * from `git describe --dirty` when the tree has a .git, and the repository xqbuild makes of a tarball
 * tracks the tarball's .version, which fetch then rewrites as the glue does: "dirty", so the build
 * would stamp its date and host name into bios.bin ("a874ead-dirty-20261201_184330-host-Xen").
 * With git kept out of it, buildversion reads .version as it does in the unpacked release tarball
 * ("rel-1.16.3-Xen": a clean build, nothing of the day in it). A git checkout is left as the glue
 * builds it: its `git describe` is clean already.
 */
function versionEnv(ctx: RecipeContext): Record<string, string> {
  if (ctx.config.settings.reproducible !== true || !isTarballLocation(ctx.word("SEABIOS_UPSTREAM_LOC"))) return {};
  return { GIT_DIR: "/dev/null" };
}

export const seabios: Recipe = {
  name: "seabios",
  kind: "firmware",
  // SeaBIOS is LGPL-3.0-only (COPYING.LESSER); COPYING is the GPLv3 that the LGPLv3 adds to.
  license: { spdx: "LGPL-3.0-only", file: "COPYING.LESSER", heading: /GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3,/, also: ["COPYING"] },
  enableVar: "CONFIG_SEABIOS",
  sourceVars: { url: "SEABIOS_UPSTREAM_URL", revision: "SEABIOS_UPSTREAM_REVISION", loc: "SEABIOS_UPSTREAM_LOC", sha256: "SEABIOS_UPSTREAM_SHA256" },
  dirs: { link: `${FW}/seabios-dir`, remote: `${FW}/seabios-dir-remote` },
  distclean: [`${FW}/seabios-dir`, `${FW}/seabios-dir-remote`],
  // tools/firmware/Makefile tests `test -d $(SEABIOS_UPSTREAM_LOC)` from there.
  locBase: FW,
  system: systemSeabios,
  requirements: () => because("seabios", prog("iasl", ["iasl"], ["acpica-tools"], ["acpica-tools"])),
  // What install copies. (Its .config is fetch's: the tree's .version says whether that ran.)
  outputs: { build: ["out/bios.bin"] },
  // fetch writes .version as the glue does; a repository made from a release tarball tracks it, and
  // that rewrite is xqbuild's own, not an edit (status, dist, distclean, update).
  buildWrites: [".version"],
  source(ctx) {
    if (ctx.facts.locIsDir.seabios) return { kind: "local-source", dir: ctx.word("SEABIOS_UPSTREAM_LOC") };
    return {
      kind: "git-checkout",
      url: ctx.word("SEABIOS_UPSTREAM_URL"),
      revision: ctx.word("SEABIOS_UPSTREAM_REVISION"),
      remoteDir: ctx.root(`${FW}/seabios-dir-remote`),
      linkDir: ctx.root(`${FW}/seabios-dir`),
    };
  },
  sourceDir: (ctx) => (ctx.facts.locIsDir.seabios ? ctx.word("SEABIOS_UPSTREAM_LOC") : ctx.root(`${FW}/seabios-dir`)),
  buildDir: (ctx) => seabios.sourceDir(ctx),
  postCheckout(ctx): PlannedStep[] {
    // tools/firmware/Makefile's seabios-dir target, after git-checkout.sh.
    const dir = seabios.sourceDir(ctx);
    const cfg = ctx.config.mode === "tree" ? ctx.root(`${FW}/seabios-config`) : "builtin:seabios-config";
    return [
      { stage: "fetch", step: "seabios-config", kind: "copy", from: cfg, to: `${dir}/.config` },
      {
        stage: "fetch",
        step: "olddefconfig",
        kind: "run",
        cwd: ctx.root(FW),
        argv: ["make", "-C", dir, "olddefconfig", ...shellWords(ccld(ctx), "SEABIOSCC/SEABIOSLD", { globCwd: ctx.root(FW) })],
        env: {},
      },
      { stage: "fetch", step: "version", kind: "write", path: `${dir}/.version`, content: `${ctx.v("SEABIOS_UPSTREAM_REVISION")}\n` },
    ];
  },
  build(ctx) {
    const words = shellWords(
      `${ccld(ctx)} PYTHON=${ctx.v("PYTHON")} EXTRAVERSION=${ctx.v("SEABIOS_EXTRAVERSION")} all`,
      "SeaBIOS's make arguments (SEABIOSCC, SEABIOSLD, PYTHON, SEABIOS_EXTRAVERSION)",
      { globCwd: ctx.root(FW) },
    );
    return [{ stage: "build", step: "make", kind: "run", cwd: ctx.root(FW), argv: ["make", "-C", seabios.sourceDir(ctx), ...words], env: versionEnv(ctx) }];
  },
  install(ctx) {
    const to = `${ctx.destdir}${ctx.v("XENFIRMWAREDIR")}/seabios.bin`.replace(/\/\/+/g, "/");
    return [{ stage: "install", step: "install-bios", kind: "copy", from: `${seabios.sourceDir(ctx)}/out/bios.bin`, to, mode: 0o644 }];
  },
  clean(ctx) {
    return [
      {
        stage: "clean",
        step: "make-clean",
        kind: "run",
        cwd: ctx.root(FW),
        argv: ["make", "-C", seabios.sourceDir(ctx), ...shellWords(ccld(ctx), "SEABIOSCC/SEABIOSLD", { globCwd: ctx.root(FW) }), "clean"],
        env: {},
      },
    ];
  },
  // The engine's questions: the standalone .config is built in (builtin-config.ts).
  builtinContent: builtinFile,
};
