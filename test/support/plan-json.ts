// The JSON of `xqbuild plan --json` (src/commands/plan.ts: planJson), as the golden tests read it.
import type { ComponentName } from "../../src/components/names.js";
import type { StageName, Step } from "../../src/components/recipe.js";

export type JsonStep = Step & { readonly name: StageName; readonly step: string };
export type JsonStepOf<K extends Step["kind"]> = Extract<JsonStep, { kind: K }>;

export interface JsonComponent {
  readonly name: ComponentName;
  readonly enabled: boolean;
  readonly reason: string;
  readonly sourceDir: string;
  readonly buildDir: string;
  readonly stages: readonly JsonStep[];
}

export interface PlanJson {
  readonly xenRoot: string;
  readonly xenVersion: string;
  readonly release: string;
  readonly mode: string;
  readonly components: readonly JsonComponent[];
}

/** The plan's entry for a component; throws when it has none. */
export function planComponent(plan: PlanJson, name: ComponentName): JsonComponent {
  const comp = plan.components.find((x) => x.name === name);
  if (comp === undefined) throw new Error(`the plan has no ${name}`);
  return comp;
}

export function stepsOf<K extends Step["kind"]>(comp: JsonComponent, stage: StageName, kind: K): JsonStepOf<K>[] {
  return comp.stages.filter((s): s is JsonStepOf<K> => s.name === stage && s.kind === kind);
}

/** The one step of a stage and kind (and name); throws when there is not exactly one. */
export function oneStep<K extends Step["kind"]>(comp: JsonComponent, stage: StageName, kind: K, step?: string): JsonStepOf<K> {
  const found = stepsOf(comp, stage, kind).filter((s) => step === undefined || s.step === step);
  if (found.length !== 1) throw new Error(`${comp.name}: expected one ${stage}/${kind}${step ? `/${step}` : ""} step, found ${found.length}`);
  return found[0] as JsonStepOf<K>;
}
