// The plan is made once and refined once (issue 15, point 2): refinePlan adds the facts that need the
// fetched source without remaking what does not change, and the staging install is part of the plan.
import { describe, expect, it } from "vitest";
import { config } from "./support/resolved-config.js";
import { makePlan, refinePlan } from "../src/plan/plan.js";
import type { PlanFacts } from "../src/components/recipe.js";
import { qemuXenFactsOf, type QemuXenFacts } from "../src/components/qemu-xen/facts.js";


// Before the fetch: no trace backend known yet.
const QEMU: QemuXenFacts = { traceFlag: "--enable-trace-backends", traceProbe: true };
const BEFORE: PlanFacts = { locIsDir: {}, components: { "qemu-xen": QEMU } };
/** The facts once the fetched QEMU answered the trace probe with this backend. */
const probed = (traceBackend: QemuXenFacts["traceBackend"]): Partial<PlanFacts> => ({ components: { "qemu-xen": { ...QEMU, ...(traceBackend ? { traceBackend } : {}) } } });

function configureArgv(plan: ReturnType<typeof makePlan>): readonly string[] {
  const s = plan.components.find((c) => c.name === "qemu-xen")?.stages.find((x) => x.stage === "configure");
  return s?.kind === "run" ? s.argv : [];
}

describe("refinePlan", () => {
  it("is the same plan when the fetched source adds nothing new", () => {
    const plan = makePlan(config(), { ...BEFORE, ...probed("log") });
    expect(refinePlan(config(), plan, probed("log"))).toBe(plan);
    expect(refinePlan(config(), plan, {})).toBe(plan);
  });

  it("takes the trace backend the fetched QEMU accepts, keeping the options the plan was made with", () => {
    const plan = makePlan(config(), BEFORE, { destdir: "/d", stagingRoot: "/xen/.xqbuild/staging" });
    expect(configureArgv(plan)).toContain("--enable-trace-backends=log");
    const refined = refinePlan(config(), plan, probed("none"));
    expect(refined).not.toBe(plan);
    expect(qemuXenFactsOf(refined.facts).traceBackend).toBe("none");
    expect(configureArgv(refined).some((a) => a.startsWith("--enable-trace-backend"))).toBe(false);
    expect(refined.options).toEqual(plan.options);
    const install = refined.components.find((c) => c.name === "seabios")?.stages.find((s) => s.stage === "install");
    expect(install?.kind === "copy" ? install.to : "").toBe("/d/usr/local/lib/xen/boot/seabios.bin");
  });

  it("plans each component's install into its staging directory when asked to", () => {
    const plan = makePlan(config(), BEFORE, { stagingRoot: "/xen/.xqbuild/staging" });
    const seabios = plan.components.find((c) => c.name === "seabios");
    expect(seabios?.staging?.dir).toBe("/xen/.xqbuild/staging/seabios");
    const staged = seabios?.staging?.install[0];
    expect(staged?.kind === "copy" ? staged.to : "").toBe("/xen/.xqbuild/staging/seabios/usr/local/lib/xen/boot/seabios.bin");
    const qemu = plan.components.find((c) => c.name === "qemu-xen")?.staging?.install[0];
    expect(qemu?.kind === "run" ? qemu.argv : []).toEqual(["make", "install", "DESTDIR=/xen/.xqbuild/staging/qemu-xen"]);
    expect(makePlan(config(), BEFORE).components.every((c) => c.staging === undefined)).toBe(true);
  });
});
