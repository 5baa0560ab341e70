import path from "node:path";
import type { ResolvedConfig } from "../config/types.js";
import { FailureError, UserError } from "../util/errors.js";
import type { ComponentPlan, Plan } from "../plan/plan.js";
import { sourceFacts } from "../plan/facts.js";
import { refinePlan } from "../plan/plan.js";
import { requireSourceDates } from "../plan/reproducible.js";
import type { Reporter } from "../report/events.js";
import { hostChecks, missingReport } from "../host/doctor.js";
import { checkSystemComponents } from "../host/system.js";
import { fetchSources, type FetchOptions } from "../source/fetch.js";
import { artifactCacheFor } from "../cache/from-config.js";
import type { ArtifactCache } from "../cache/cache.js";
import { stateDir, withTreeLock, type TreeLockOptions } from "../util/tree.js";
import { lockWaitEvent } from "../source/events.js";
import { ccacheFor, formatStats, readStats, statsDelta, type CcacheStats } from "./ccache.js";
import { jobServerFor } from "./jobserver.js";
import { runPipeline, type ArtifactOptions, type BuildStage } from "./pipeline.js";
import { Stamps } from "./stamps.js";

/** What a build command hands the build service: its configuration, its plan and its arguments. */
export interface BuildRequest {
  readonly config: ResolvedConfig;
  /**
   * The plan, made once by the command before the fetch (with stagingRoot, see stagingRootOf); the
   * service refines it once the sources are there and runs that, nothing else.
   */
  readonly plan: Plan;
  /** The command's name, for run-start. */
  readonly command: string;
  readonly stages: readonly BuildStage[];
  readonly reporter: Reporter;
  /** -j was given: the run makes its own job pool rather than joining a parent make's. */
  readonly explicitJobs: boolean;
  /** --no-cache. */
  readonly noCache: boolean;
  /** --destdir: where install puts the files (else "/"). */
  readonly destdir?: string;
  readonly fetch: FetchOptions;
  readonly treeLock: TreeLockOptions;
  readonly signal?: AbortSignal;
}

/** Where a build stages each component's install for the artifact cache (one directory per component). */
export function stagingRootOf(config: ResolvedConfig): string {
  return path.join(stateDir(config), "staging");
}

/**
 * The build service behind `all`, `configure`, `build` and `install`: the doctor gate, the caches'
 * settings, the fetch, the plan refined once with the fetched sources' facts, the pipeline under the
 * tree's lock, and ccache's counters. Everything it does is an event on the request's reporter; a
 * failure is thrown (main renders it).
 */
export async function runBuild(req: BuildRequest): Promise<void> {
  const { config, reporter } = req;
  const jobserver = jobServerFor(config, req.explicitJobs);
  try {
    // Which components are built does not depend on the fetched sources: the run starts with them.
    const enabled = req.plan.components.filter((c) => c.enabled);
    reporter.emit({ type: "run-start", command: req.command, components: enabled.map((c) => c.name), jobs: jobserver.jobs || config.jobs, stages: req.stages });
    for (const line of checkSystemComponents(config)) reporter.emit({ type: "message", level: "info", text: line });
    // Stop before spending minutes (fetching included) when the host lacks what the components need.
    if (config.xq.noDoctor !== true) {
      const report = missingReport(hostChecks(config, req.plan));
      if (report) throw new FailureError(report, "Install those packages (xqbuild doctor shows every check), or set XQBUILD_NO_DOCTOR=1 to try anyway.");
    }
    // Settings of the caches are checked before minutes go into fetching.
    const cache = artifactCacheFor(config, req.noCache, (component, text) => reporter.emit({ type: "message", level: "info", text: `${component}: ${text}` }));
    const ccache = ccacheFor(config);
    await fetchSources(config, enabled, req.fetch);
    // Facts (the trace backend probe) are read once the sources are there, as the glue does.
    const plan = refinePlan(config, req.plan, sourceFacts(config, req.plan.facts));
    const components = plan.components.filter((c) => c.enabled);
    // reproducible: true: each source has its date for SOURCE_DATE_EPOCH, or the build does not start.
    if (req.stages.length > 0) requireSourceDates(config, components, plan.facts.reproducible);
    const artifacts = cache ? artifactOptions(plan, cache, req.destdir) : undefined;
    if (ccache) reporter.emit({ type: "message", level: "info", text: `compiling through ccache ${ccache.version} (${ccache.masqueradeDir})` });
    // ccache's counters before the first stage that does work (a rerun that does nothing reads none).
    let before: Promise<CcacheStats | undefined> | undefined;
    const beforeWork = (): Promise<void> => {
      before ??= ccache ? readStats(ccache, config.env).catch(() => undefined) : Promise.resolve(undefined);
      return before.then(() => undefined);
    };
    const { failures } = await withTreeLock(config, req.treeLock, lockWaitEvent((e) => reporter.emit(e)), () =>
      runPipeline({
        config,
        components,
        stages: req.stages,
        reporter,
        stamps: new Stamps(path.join(stateDir(config), "stamps")),
        logDir: path.join(stateDir(config), "logs"),
        jobserver,
        ...(req.signal ? { signal: req.signal } : {}),
        ...(artifacts ? { artifacts } : {}),
        ...(ccache ? { runEnv: ccache.env, beforeWork } : {}),
        ...(req.destdir !== undefined ? { destdir: path.resolve(req.destdir) } : {}),
      }),
    );
    const counted = ccache && before ? await before : undefined;
    if (ccache && counted) {
      const after = await readStats(ccache, config.env).catch(() => undefined);
      const delta = after ? statsDelta(counted, after) : undefined;
      if (delta && delta.hits + delta.misses + delta.uncacheable > 0) reporter.emit({ type: "message", level: "info", text: formatStats(delta) });
    }
    if (failures.length > 0) {
      const text = failures.map((f) => f.message).join("\n\n");
      throw failures.length === 1 && failures[0] instanceof UserError ? failures[0] : new FailureError(text);
    }
  } finally {
    jobserver.close();
  }
}

/**
 * The artifact cache's part in a run: per component, the install steps the plan holds for its
 * staging directory (the files it installs, and nothing else, become its artifact).
 */
function artifactOptions(plan: Plan, cache: ArtifactCache, destdir: string | undefined): ArtifactOptions {
  const staging = new Map<string, NonNullable<ComponentPlan["staging"]>>();
  for (const c of plan.components) if (c.enabled && c.staging) staging.set(c.name, c.staging);
  return { cache, staging, destdir: destdir !== undefined ? path.resolve(destdir) : "/" };
}
