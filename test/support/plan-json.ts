// The JSON of `xqbuild plan --json` (src/commands/plan.ts: planJson), as the golden tests read it.
import type { ComponentName } from "../../src/components.js";
import type { StageName, Step } from "../../src/recipe.js";

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
