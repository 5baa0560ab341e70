import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { ComponentName } from "../components/names.js";
import { formatOrigin, type ResolvedConfig } from "../config/types.js";
import { UserError } from "../util/errors.js";
import { ensureCacheDir } from "../cache/cache.js";
import { executeFileOrRunStep } from "../engine/steps.js";
import type { ComponentPlan } from "../plan/plan.js";
import { assertDirsInsideTree } from "../plan/tree-dirs.js";
import { RECIPES } from "../components/index.js";
import { stateDir, withTreeLock, type TreeLockOptions } from "../util/tree.js";
import { checkoutTree, type CheckoutResult } from "./checkout.js";
import { checkoutTarball } from "./tarball-tree.js";
import { LOCK_FILE, lockEntry, pinnedUrlMatches, readLockFile, writeLockFile, type LockEntry, type LockFile } from "./lockfile.js";
import type { XqEvent } from "../report/events.js";
import { withoutCredentials } from "../util/redact.js";
import { lockWaitEvent } from "./events.js";
import type { MirrorOptions } from "./mirror.js";
import { loadPatchQueue } from "./patches.js";
import { describeWraps, withOverrides, type WrapSelector } from "./wraps.js";
import { verifyPolicyOf, verifyRevision, type VerifiedTag } from "./verify.js";

/** How long a git transfer may go without any data before it is given up (XQBUILD_STALL_TIMEOUT seconds). */
export function stallTimeout(config: ResolvedConfig): number {
  return (config.xq.stallTimeoutSeconds ?? 120) * 1000;
}

function isLocalPath(url: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) && !/^[^/:]+:/.test(url);
}

export interface FetchOptions extends TreeLockOptions {
  /** `update`: re-resolve branches and move trees (with --force, even over local work). */
  readonly update: boolean;
  /** --force: with update, move trees even over local work. */
  readonly force?: boolean;
  /** --locked: the lock file must already pin every source; it is never written. */
  readonly locked?: boolean;
  /** --update-lock: resolve revisions again instead of using the lock file's pins. */
  readonly updateLock?: boolean;
  /**
   * Where everything the fetch does goes, as events (a reporter's emit): each source, submodule and
   * wrap arriving, the resolved commits, git's progress, lock waits, warnings.
   */
  readonly emit: (e: XqEvent) => void;
}

/** What the fetch of one component says, bound to it. */
type Say = (text: string, level?: "info" | "warn") => void;

/**
 * Fetches the source of each component given (the enabled ones of the caller's plan: the plan is
 * made once, by the command) into the glue's layout, and records the lock entries.
 */
export async function fetchSources(config: ResolvedConfig, components: readonly ComponentPlan[], opts: FetchOptions): Promise<void> {
  const enabled = components.filter((c) => c.enabled);
  const emit = opts.emit;
  const mirrorOpts: MirrorOptions = {
    env: config.env,
    git: config.vars.get("GIT")?.value || "git",
    cacheDir: config.cacheDir,
    offline: config.offline,
    mirrors: config.settings.mirrors ?? {},
    ...(opts.signal ? { signal: opts.signal } : {}),
    stallMs: stallTimeout(config),
    ...(opts.lockTimeoutMs !== undefined ? { lockTimeoutMs: opts.lockTimeoutMs } : {}),
    ...(config.xq.tarballMaxBytes !== undefined ? { tarballMaxBytes: config.xq.tarballMaxBytes } : {}),
  };
  await withTreeLock(config, opts, lockWaitEvent(emit), async () => {
    assertDirsInsideTree(config.xenRoot, enabled);
    if (enabled.some((c) => c.source.kind !== "local-source")) await ensureCacheDir(config.cacheDir);
    const lock = readLockFile(config.xenRoot);
    const next: Record<string, LockEntry> = { ...lock.components };
    // Side by side; each runs to its end (a failure never leaves another half done), then the first
    // failure is reported.
    const results = await Promise.allSettled(enabled.map((c) => fetchComponent(config, c, lock, { ...mirrorOpts, events: { component: c.name, emit } }, opts)));
    results.forEach((r, i) => {
      const c = enabled[i];
      if (c && r.status === "fulfilled" && r.value) next[c.name] = r.value;
    });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      // What did complete is still recorded, so the next run need not resolve it again.
      if (JSON.stringify(next) !== JSON.stringify(lock.components) && !opts.locked) await writeLockFile(config.xenRoot, { version: 1, components: next as LockFile["components"] });
      throw failed.reason;
    }
    const changed = JSON.stringify(next) !== JSON.stringify(lock.components);
    if (changed && !opts.locked) {
      await writeLockFile(config.xenRoot, { version: 1, components: next as LockFile["components"] });
      emit({ type: "message", level: "info", text: `wrote ${LOCK_FILE}` });
    }
  });
}

async function fetchComponent(
  config: ResolvedConfig,
  c: ComponentPlan,
  lock: LockFile,
  mirrorOpts: MirrorOptions,
  opts: FetchOptions,
): Promise<LockEntry | undefined> {
  const recipe = RECIPES[c.name];
  const src = c.source;
  const emit = opts.emit;
  const say: Say = (text, level = "info") => emit({ type: "message", level, text, component: c.name });
  const started = Date.now();
  const seconds = (): number => (Date.now() - started) / 1000;
  if (src.kind === "local-source") {
    if (src.mkdir) await mkdir(src.mkdir, { recursive: true });
    if (config.settings.components?.[c.name]?.patches !== undefined) {
      say(`the patch queue is not applied to ${src.dir}, a local directory used in place (xqbuild never writes to it)`, "warn");
    }
    const local = verifyPolicyOf(config.settings, c.name, config.settingsFile);
    if (local) say(`${local.key} does not check ${src.dir}: a local directory used in place is your own, not a fetched tag`, "warn");
    emit({ type: "fetch-done", component: c.name, what: "source", name: c.name, seconds: seconds(), action: "in-place", dir: src.dir, variable: recipe.sourceVars.loc });
    return undefined;
  }
  const own = config.settings.components?.[c.name];
  const patches = loadPatchQueue(own?.patches, `the patch queue of ${c.name}`, own?.patchTool);
  const policy = verifyPolicyOf(config.settings, c.name, config.settingsFile);
  if (policy && src.kind !== "git-checkout") {
    throw new UserError(
      `${c.name}: ${policy.key} requires a signed tag, but the source of ${c.name} is ${src.kind === "tarball" ? `the tarball ${withoutCredentials(src.url)}` : "not a git repository"}, which has no tag to verify.`,
      `Fetch it from git at a signed release tag, or set components.${c.name}.verify to false to take it unverified${src.kind === "tarball" ? " (the tarball is still checked against its sha256)" : ""}.`,
    );
  }
  if (src.kind === "tarball") {
    if (opts.locked && lock.components[c.name]?.revision !== `sha256:${src.sha256}`) {
      throw new UserError(`--locked: ${LOCK_FILE} does not pin ${c.name} to the tarball sha256 ${src.sha256}.`, "Run xqbuild fetch --update-lock to record it.");
    }
    emit({ type: "fetch-start", component: c.name, what: "tarball", name: c.name, url: withoutCredentials(src.url) });
    const result = await checkoutTarball({ url: src.url, sha256: src.sha256, remoteDir: src.remoteDir, linkDir: src.linkDir, patches, force: opts.update && opts.force === true }, mirrorOpts);
    emit(fetchDone(c.name, "tarball", config, src.remoteDir, withoutCredentials(src.url), result, patches.length, seconds()));
    await postCheckout(config, c, result);
    return lockEntry(src.url, `sha256:${src.sha256}`, result.commit);
  }
  if (src.kind !== "git-checkout") throw new Error(`internal: unexpected source ${src.kind}`);
  const locVar = recipe.sourceVars.loc;
  const urlVar = config.vars.get(locVar)?.value === src.url ? locVar : recipe.sourceVars.url;
  if (src.url === "") {
    throw new UserError(`${c.name}: ${recipe.sourceVars.url} is empty, so there is nowhere to fetch it from.`, `Set ${recipe.sourceVars.url} in .config, or leave ${c.name} out.`);
  }
  if (isLocalPath(src.url) && !existsSync(path.resolve(config.xenRoot, "tools", src.url))) {
    const v = config.vars.get(urlVar);
    throw new UserError(
      `${urlVar} (${v ? formatOrigin(v.origin, config.xenRoot) : "?"}) = ${JSON.stringify(src.url)} is neither a URL nor an existing directory.`,
      `Create that directory, or set ${urlVar} to a git URL.`,
    );
  }
  const pinned = lock.components[c.name as ComponentName];
  const pinMatches = pinned !== undefined && pinnedUrlMatches(pinned, src.url) && pinned.revision === src.revision;
  const usePin = pinMatches && !opts.updateLock && !opts.update;
  if (opts.locked && !pinMatches) {
    throw new UserError(
      `--locked: ${LOCK_FILE} ${pinned ? `pins ${c.name} to ${pinned.url} at ${pinned.revision}` : `has no entry for ${c.name}`}, but the configuration asks for ${src.url} at ${src.revision}.`,
      "Run xqbuild fetch --update-lock to record the new resolution, or restore the configuration.",
    );
  }
  // --locked never writes the lock, so an entry without the verified tag's record (written before
  // verify was turned on) would stay unverifiable against a moved tag: refused, before any work.
  if (opts.locked && policy && pinned && !policy.settings.allow?.includes(src.revision) && (pinned.tagObject === undefined || pinned.signer === undefined)) {
    throw new UserError(
      `--locked: ${LOCK_FILE} pins ${c.name} to ${src.revision} (commit ${pinned.commit.slice(0, 12)}) without ${pinned.tagObject === undefined ? "the tag object and signer" : "the signer"} that ${policy.key} requires it to record: it was written before ${policy.key} was turned on.`,
      `Run xqbuild fetch --update-lock once (it checks the tag's signature and records the tag object and the signing key's fingerprint), commit ${LOCK_FILE}, then use --locked again.`,
    );
  }
  emit({ type: "fetch-start", component: c.name, what: "source", name: c.name, url: withoutCredentials(src.url) });
  const commitFrom = `${LOCK_FILE}, the pin of ${c.name}; xqbuild fetch --update-lock resolves ${recipe.sourceVars.revision} again`;
  const revisionFrom = whereSet(config, recipe.sourceVars.revision);
  // Before anything of the tree is touched: the tag, its signature, and the lock's record of it.
  let verified: VerifiedTag | undefined;
  if (policy) {
    verified = await verifyRevision(
      {
        component: c.name,
        url: src.url,
        revision: src.revision,
        revisionFrom,
        policy,
        ...(pinMatches && pinned ? { pinned } : {}),
        acceptMoved: opts.updateLock === true,
        refresh: opts.update || opts.updateLock === true,
        ...(recipe.fullHistory ? { fullHistory: true } : {}),
      },
      mirrorOpts,
    );
    if (verified) say(`${verified.tag} is a tag signed by ${verified.signer}${verified.uid ? ` (${verified.uid})` : ""}, a key ${policy.key} allows (tag object ${verified.tagObject.slice(0, 12)})`);
    else say(`${src.revision} is taken unsigned: ${policy.key}.allow lists it`, "warn");
  }
  // What was verified is what is checked out: the tag's commit, not a second resolution of its name.
  const checkoutCommit = verified ? { commit: verified.commit, commitFrom: `the signed tag ${verified.tag}` } : usePin ? { commit: pinned.commit, commitFrom } : {};
  const result = await checkoutTree(
    {
      url: src.url,
      revision: src.revision,
      ...checkoutCommit,
      revisionFrom,
      remoteDir: src.remoteDir,
      linkDir: src.linkDir,
      submodules: recipe.submodules ?? [],
      force: opts.update && opts.force === true,
      patches,
      ...(recipe.wraps ? { wraps: wrapSelector(c, config, mirrorOpts.signal, say) } : {}),
      buildWrites: recipe.buildWrites ?? [],
      ...(recipe.fullHistory ? { fullHistory: true } : {}),
    },
    mirrorOpts,
  );
  if (opts.locked && pinned && result.commit !== pinned.commit) {
    throw new UserError(`--locked: ${c.name} ${src.revision} now resolves to ${result.commit.slice(0, 12)}, but ${LOCK_FILE} records ${pinned.commit.slice(0, 12)}.`, "Run xqbuild fetch --update-lock to accept it.");
  }
  emit({ type: "resolved", component: c.name, revision: src.revision, commit: result.commit, from: usePin ? `${LOCK_FILE} (${revisionFrom})` : revisionFrom, ...(verified ? { tagObject: verified.tagObject, signer: verified.signer } : {}) });
  emit(fetchDone(c.name, "source", config, src.remoteDir, src.revision, result, patches.length, seconds()));
  const wrapLine = result.wraps ? describeWraps(result.wraps) : undefined;
  if (wrapLine) say(wrapLine);
  await postCheckout(config, c, result);
  return lockEntry(src.url, src.revision, result.commit, verified ? { tagObject: verified.tagObject, signer: verified.signer } : undefined);
}

/** "QEMU_UPSTREAM_REVISION at .config:2", for messages about a value: where it was written. */
function whereSet(config: ResolvedConfig, name: string): string {
  const v = config.vars.get(name);
  if (!v) return name;
  const at = v.origin.kind === "file" ? `at ${formatOrigin(v.origin, config.xenRoot)}` : `from the ${formatOrigin(v.origin, config.xenRoot)}`;
  return `${name} ${at}${v.via ? `, ${v.via}` : ""}`;
}

/**
 * The recipe's choice of meson wraps, given the configure command the plan runs (with the environment
 * it runs in), and the user's components.<name>.wraps over it.
 */
function wrapSelector(c: ComponentPlan, config: ResolvedConfig, signal: AbortSignal | undefined, say: Say): WrapSelector {
  const choose = RECIPES[c.name].wraps;
  const step = c.stages.find((s) => s.stage === "configure" && s.kind === "run");
  const configure = step?.kind === "run" ? step.argv : [];
  const env: Record<string, string | undefined> = { ...config.env };
  if (step?.kind === "run") for (const [k, v] of Object.entries(step.env)) env[k] = v ?? undefined;
  const base: WrapSelector = async (wraps, sourceDir) => (choose ? choose({ wraps, sourceDir, configure, env, ...(signal ? { signal } : {}) }) : new Map());
  return withOverrides(base, config.settings.components?.[c.name]?.wraps, `components.${c.name}.wraps`, (m) => say(m, "warn"));
}

/**
 * The one event that says what became of a component's source: its plain rendering is the line
 * "fetched REV (COMMIT) into DIR", "moved DIR to REV (COMMIT)", or "DIR is at REV (COMMIT)", then
 * "applied N patches (HEAD)" when the queue was applied (src/report/plain.ts).
 */
function fetchDone(
  name: string,
  what: "source" | "tarball",
  config: ResolvedConfig,
  remoteDir: string,
  revision: string,
  result: CheckoutResult,
  patches: number,
  seconds: number,
): XqEvent {
  return {
    type: "fetch-done",
    component: name,
    what,
    name,
    seconds,
    action: result.action,
    revision,
    commit: result.commit,
    head: result.head,
    dir: path.relative(config.xenRoot, remoteDir),
    ...(result.backupRef ? { backupRef: result.backupRef } : {}),
    ...(patches > 0 && result.action !== "unchanged" ? { patches } : {}),
  };
}

/** The glue's steps after a checkout (SeaBIOS's .config, olddefconfig, .version), when the tree changed. */
async function postCheckout(config: ResolvedConfig, c: ComponentPlan, result: CheckoutResult): Promise<void> {
  const post = c.stages.filter((s) => s.stage === "fetch" && s.kind !== "git-checkout" && s.kind !== "tarball" && s.kind !== "local-source");
  const versionStep = post.find((s) => s.kind === "write");
  // .version is written last: a tree whose .version does not say what was asked for did not finish
  // these steps (an interrupted run), whatever the checkout says.
  const versionDone = versionStep?.kind !== "write" || (existsSync(versionStep.path) && readFileSync(versionStep.path, "utf8") === versionStep.content);
  const needPost = result.action !== "unchanged" || !versionDone;
  if (!needPost) return;
  for (const step of post) {
    await executeFileOrRunStep(step, { baseEnv: config.env, logDir: path.join(stateDir(config), "logs"), component: c.name });
  }
}

