import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { RECIPES } from "../components/index.js";
import type { ComponentName } from "../components/names.js";
import type { ResolvedConfig } from "../config/types.js";
import type { Plan } from "../plan/plan.js";
import { assertDirsInsideTree } from "../plan/tree-dirs.js";
import type { XqEvent } from "../report/events.js";
import { localWork } from "../source/local-work.js";
import { UserError } from "../util/errors.js";
import { checkRemovable, removeInside } from "../util/fs.js";
import { stateDir, withTreeLock, type TreeLockOptions } from "../util/tree.js";
import { lockWaitEvent } from "../source/events.js";
import { Stamps } from "./stamps.js";
import { executeFileOrRunStep } from "./steps.js";

/** What `clean` and `distclean` are given besides the configuration. */
export interface CleanOptions extends TreeLockOptions {
  readonly emit: (e: XqEvent) => void;
}

const say = (opts: CleanOptions, text: string, component?: string): void => opts.emit({ type: "message", level: "info", text, ...(component !== undefined ? { component } : {}) });

/** `clean`: each enabled component's own make clean (where its build directory exists), and its stamps. */
export async function cleanTree(config: ResolvedConfig, plan: Plan, opts: CleanOptions): Promise<void> {
  const stamps = new Stamps(path.join(stateDir(config), "stamps"));
  await withTreeLock(config, opts, lockWaitEvent(opts.emit), async () => {
    // make clean in a build directory that is a link out of the tree would delete over there.
    assertDirsInsideTree(config.xenRoot, plan.components);
    for (const c of plan.components.filter((x) => x.enabled)) {
      await stamps.clear(c.name);
      if (!existsSync(c.buildDir)) continue;
      for (const step of c.stages.filter((s) => s.stage === "clean")) {
        if (step.kind === "run" && !existsSync(step.cwd)) continue;
        await executeFileOrRunStep(step, { baseEnv: config.env, logDir: path.join(stateDir(config), "logs"), component: c.name, ...(opts.signal ? { signal: opts.signal } : {}) });
      }
      say(opts, "cleaned", c.name);
    }
  });
}

/**
 * `distclean`: what the glue's distclean removes, and xqbuild's state; never a tree with local
 * work unless `force`. Every target is checked before the first goes.
 */
export async function distcleanTree(config: ResolvedConfig, names: readonly ComponentName[], opts: CleanOptions & { readonly force: boolean }): Promise<void> {
  const env = config.env;
  await withTreeLock(config, opts, lockWaitEvent(opts.emit), async () => {
    for (const name of names) {
      const recipe = RECIPES[name];
      const remote = path.join(config.xenRoot, recipe.dirs.remote);
      if (existsSync(path.join(remote, ".git")) && !opts.force) {
        const work = await localWork(remote, { env, cacheDir: config.cacheDir, offline: true }, recipe.buildWrites ?? []);
        if (work.changes.length > 0 || work.commits.length > 0) {
          throw new UserError(
            `${path.relative(config.xenRoot, remote)} holds local work (${work.changes.length} changed files, ${work.commits.length} local commits); distclean would delete it.`,
            "Save that work elsewhere, or run xqbuild distclean --force to delete it anyway.",
            "failure",
          );
        }
      }
    }
    // Every target is checked before the first goes: a link out of the tree (tools/firmware -> /srv)
    // refuses the whole distclean, not its second half.
    const state = stateDir(config);
    const targets = names.flatMap((name) => RECIPES[name].distclean.map((rel) => path.join(config.xenRoot, rel)));
    const stateTargets = config.selected.length === 0 ? (await readdir(state)).filter((e) => e !== "lock").map((e) => path.join(state, e)) : names.map((name) => path.join(state, "stamps", name));
    for (const t of targets) checkRemovable(t, config.xenRoot, "distclean's target");
    for (const t of stateTargets) checkRemovable(t, state, "xqbuild's state");
    for (const name of names) {
      for (const rel of RECIPES[name].distclean) await removeInside(path.join(config.xenRoot, rel), config.xenRoot, "distclean's target");
      say(opts, `removed ${RECIPES[name].distclean.join(", ")}`, name);
    }
    // Everything of xqbuild's state but the lock held right now (it goes when released).
    for (const t of stateTargets) await removeInside(t, state, "xqbuild's state");
  });
  if (config.selected.length === 0) await removeInside(stateDir(config), config.xenRoot, "xqbuild's state directory");
}
