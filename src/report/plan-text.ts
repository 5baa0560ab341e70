import type { PlannedStep } from "../components/recipe.js";
import { pasteable, type CacheLookup, type ExplainedComponent, type ExplainedStep } from "../engine/explain.js";
import type { Plan } from "../plan/plan.js";

/** One planned step as a line: a command as a line to paste, the others in words. */
export function describeStep(s: PlannedStep): string {
  switch (s.kind) {
    case "run":
      return pasteable(s.cwd, s.argv, s.env);
    case "git-checkout":
      return `clone ${s.url} at ${s.revision || "(default branch)"} into ${s.remoteDir}, link ${s.linkDir}`;
    case "tarball":
      return `unpack ${s.url} (sha256 ${s.sha256 || "MISSING"}) into ${s.remoteDir}, link ${s.linkDir}`;
    case "local-source":
      return `use ${s.dir} in place${s.mkdir ? ` (mkdir -p ${s.mkdir})` : ""}`;
    case "copy":
      return `copy ${s.from} to ${s.to}${s.mode !== undefined ? ` (mode ${s.mode.toString(8)})` : ""}`;
    case "write":
      return `write ${JSON.stringify(s.content)} to ${s.path}`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

/** The JSON of one step: the planned step and, for a command, what runs (runs: the executor's argv). */
function stepJson({ stage, ...rest }: ExplainedStep): unknown {
  return { name: stage, ...rest };
}

/** The JSON shape of `xqbuild plan --json`. */
export function planJson(plan: Plan, explained?: readonly ExplainedComponent[]): unknown {
  return {
    xenRoot: plan.xenRoot,
    xenVersion: plan.xenVersion,
    release: plan.release,
    mode: plan.mode,
    // reproducible: true (only then, so the document without it stays as it was).
    ...(plan.facts.reproducible ? { reproducible: reproducibleJson(plan.facts.reproducible) } : {}),
    components: plan.components.map((c) => {
      const x = explained?.find((e) => e.plan.name === c.name);
      return {
        name: c.name,
        enabled: c.enabled,
        reason: c.reason,
        sourceDir: c.sourceDir,
        buildDir: c.buildDir,
        stages: (x?.steps ?? c.stages).map(stepJson),
        ...(x ? { patches: x.patches } : {}),
        ...(x?.cache ? { cache: cacheJson(x.cache) } : {}),
      };
    }),
  };
}

/** What `reproducible: true` adds to every configure, build and install command: SOURCE_DATE_EPOCH per component, and where it came from. */
function reproducibleJson(r: NonNullable<Plan["facts"]["reproducible"]>): unknown {
  return { sourceDateEpoch: r.sourceDates, from: r.fromEnvironment ? "environment" : "commit" };
}

/** The header line of `reproducible: true`: the date each component builds with (unknown until fetched). */
function reproducibleLine(plan: Plan): string | undefined {
  const r = plan.facts.reproducible;
  if (!r) return undefined;
  const enabled = plan.components.filter((c) => c.enabled).map((c) => c.name);
  const dates = enabled.map((n) => `${n} ${r.sourceDates[n] ?? "(the commit date, once fetched)"}`).join(", ");
  return `# reproducible: true: SOURCE_DATE_EPOCH ${r.fromEnvironment ? "from the environment" : "from each source's commit date"} (${dates || "nothing enabled"}); no path of the tree in the binaries`;
}

/**
 * The lookup in --json: where the artifact is looked for and the install that makes it. Not its key
 * nor whether it is there: those follow the fetched commit and the store, and the document is what
 * the configuration plans, the same before and after a fetch (the text shows the key; so does
 * .xqbuild/artifact-keys/ after a build).
 */
function cacheJson(k: CacheLookup): unknown {
  return { local: k.local, ...(k.remote ? { remote: k.remote } : {}), ...(k.staging ? { staging: k.staging } : {}), ...(k.stagingInstall ? { stagingInstall: k.stagingInstall.map(stepJson) } : {}) };
}

/** What runs in place of a planned command, when that is not the command itself (QEMU's ninja line, meson install). */
function runsLine(s: ExplainedStep): string | undefined {
  if (s.kind !== "run" || !s.runs) return undefined;
  const r = s.runs;
  if (r.argv.join("\0") === s.argv.join("\0") && JSON.stringify(r.env) === JSON.stringify(s.env) && !r.jobsFlag) return undefined;
  const argv = r.jobsFlag ? [r.argv[0] ?? "", "-jN", ...r.argv.slice(1)] : r.argv;
  return `runs: ${pasteable(r.cwd, argv, r.env)}${r.jobsFlag ? " (N: the job slots it holds)" : ""}`;
}

/** `xqbuild plan`'s text: each component's steps (what runs in their place, the patches, the cache lookup). */
export function planText(plan: Plan, explained: readonly ExplainedComponent[]): string[] {
  const out: string[] = [];
  out.push(`# Xen ${plan.xenVersion} (glue of ${plan.release}) at ${plan.xenRoot}`);
  const repro = reproducibleLine(plan);
  if (repro) out.push(repro);
  for (const x of explained) {
    const c = x.plan;
    out.push(`\n${c.name}: ${c.enabled ? "enabled" : "disabled"} (${c.reason})`);
    if (!c.enabled) continue;
    for (const s of x.steps) {
      out.push(`  ${`[${s.stage}]`.padEnd(12)} ${describeStep(s)}`);
      const runs = runsLine(s);
      if (runs) out.push(`  ${"".padEnd(12)} ${runs}`);
      if (s.stage === "fetch" && (s.kind === "git-checkout" || s.kind === "tarball")) {
        for (const p of x.patches) out.push(`  ${"[patch]".padEnd(12)} ${p.name} (sha256 ${p.sha256}, ${p.tool === "git" ? "git apply" : "patch"} -p${p.strip})`);
      }
    }
    const k = x.cache;
    if (k) {
      const where = `${k.local}${k.remote ? `, then ${k.remote}` : ""}`;
      out.push(`  ${"[cache]".padEnd(12)} ${k.key ? `artifact ${k.key} in ${where}: ${k.hit ? "there (install restores it)" : "not there locally"}` : `no lookup (${k.why ?? "not cacheable"})`}`);
    }
  }
  return out;
}
