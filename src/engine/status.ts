import { existsSync } from "node:fs";
import path from "node:path";
import { ARTIFACT_STAMP, artifactKey, cacheable, missingOutput, stageInputs, type BuildStage } from "./pipeline.js";
import { Stamps } from "./stamps.js";
import type { ComponentPlan, Plan } from "../plan/plan.js";
import { localWork } from "../source/local-work.js";
import { gitAt } from "../source/git.js";
import { readLockFile } from "../source/lockfile.js";
import { verifyPolicyOf } from "../source/verify.js";
import type { ResolvedConfig } from "../config/types.js";
import { stateDir } from "../util/tree.js";

export interface ComponentStatus {
  readonly name: string;
  readonly enabled: boolean;
  readonly reason: string;
  readonly sourceDir: string;
  readonly present: boolean;
  readonly url?: string;
  readonly wanted?: string;
  readonly head?: string;
  /** The upstream commit under xqbuild's patch commits. */
  readonly base?: string;
  readonly patches: readonly string[];
  readonly dirty: readonly string[];
  readonly localCommits: readonly string[];
  /** The lock file's pin; under verify also the signed tag object and its signer's key fingerprint. */
  readonly locked?: { readonly revision: string; readonly commit: string; readonly matches: boolean; readonly tagObject?: string; readonly signer?: string };
  /** Under verify (the setting names keys for this git source): the setting's key, e.g. components.seabios.verify. */
  readonly verify?: string;
  readonly stages: Readonly<Record<string, StageStatus>>;
  /**
   * The artifact cache stood in for configure and build (nothing of it was built in this tree):
   * its key, whether install restored it, and whether that is still the artifact of these inputs.
   */
  readonly artifact?: { readonly key: string; readonly restored: boolean; readonly current: boolean };
}

/** "in the artifact cache": never built in this tree, because the cache holds its artifact for these very inputs. */
type StageStatus = "up to date" | "out of date" | "not run" | "in the artifact cache";

const STAGES: readonly BuildStage[] = ["configure", "build"];

async function componentStatus(config: ResolvedConfig, c: ComponentPlan): Promise<ComponentStatus> {
  const lock = readLockFile(config.xenRoot).components[c.name];
  const src = c.source;
  const wanted = src.kind === "git-checkout" ? { url: src.url, wanted: src.revision } : {};
  const policy = src.kind === "git-checkout" ? verifyPolicyOf(config.settings, c.name, config.settingsFile) : undefined;
  const present = existsSync(c.sourceDir);
  const base: ComponentStatus = { name: c.name, enabled: c.enabled, reason: c.reason, sourceDir: c.sourceDir, present, ...wanted, ...(policy ? { verify: policy.key } : {}), patches: [], dirty: [], localCommits: [], stages: {} };
  if (!present) return base;
  const env = config.env;
  let head: string | undefined;
  let upstream: string | undefined;
  let patches: string[] = [];
  let dirty: string[] = [];
  let localCommits: string[] = [];
  if (existsSync(path.join(c.sourceDir, ".git"))) {
    const git = gitAt(c.sourceDir, { env });
    head = (await git.raw(["rev-parse", "HEAD"])).trim();
    const subjects = (await git.raw(["log", "--format=%H %s", "-200", "HEAD"])).trim().split("\n");
    const firstUpstream = subjects.findIndex((l) => !l.includes(" [xqbuild patch] "));
    patches = subjects.slice(0, firstUpstream < 0 ? 0 : firstUpstream).map((l) => l.replace(/^\S+ \[xqbuild patch\] /, "")).reverse();
    upstream = firstUpstream >= 0 ? subjects[firstUpstream]?.split(" ")[0] : head;
    const work = await localWork(c.sourceDir, { env, cacheDir: config.cacheDir, offline: true }, c.buildWrites);
    dirty = work.changes;
    localCommits = work.commits;
  }
  const stamps = new Stamps(path.join(stateDir(config), "stamps"));
  const stages: Record<string, StageStatus> = {};
  const artifact = await artifactStatus(config, c, stamps);
  for (const s of await stageInputs(c, STAGES, env)) {
    if (s.steps.length === 0) continue;
    const stamp = stamps.read(c.name, s.stage);
    // A stamp whose outputs are gone (a removed build directory) does not hold: the build reruns it.
    stages[s.stage] = !stamp ? (artifact?.current ? "in the artifact cache" : "not run") : stamp.fingerprint === s.fingerprint && missingOutput(c, s.stage, s.steps) === undefined ? "up to date" : "out of date";
  }
  return {
    ...base,
    ...(head ? { head } : {}),
    ...(upstream ? { base: upstream } : {}),
    patches,
    dirty,
    localCommits,
    ...(lock ? { locked: { revision: lock.revision, commit: lock.commit, matches: lock.commit === upstream, ...(lock.tagObject !== undefined ? { tagObject: lock.tagObject } : {}), ...(lock.signer !== undefined ? { signer: lock.signer } : {}) } } : {}),
    stages,
    ...(artifact ? { artifact } : {}),
  };
}

/** What the artifact stamp of the last run says (see ARTIFACT_STAMP), and whether its key is still these inputs'. */
async function artifactStatus(config: ResolvedConfig, c: ComponentPlan, stamps: Stamps): Promise<ComponentStatus["artifact"]> {
  const stamp = stamps.read(c.name, ARTIFACT_STAMP);
  if (!stamp || !c.staging || !cacheable(c)) return undefined;
  const key = await artifactKey(c, c.staging.install, c.staging.dir, config.xenRoot, config.env, undefined, { record: false });
  const restored = (stamp.inputs as { restored?: unknown } | undefined)?.restored === true;
  return { key: stamp.fingerprint, restored, current: key === stamp.fingerprint };
}

/** `status`'s answer: each planned component's source, lock pin, local work and stages. */
export function treeStatus(config: ResolvedConfig, plan: Plan): Promise<ComponentStatus[]> {
  return Promise.all(plan.components.map((c) => componentStatus(config, c)));
}
