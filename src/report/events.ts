/** Everything that happens during a run, as data. Only reporters turn events into text. */
export type XqEvent =
  | { readonly type: "run-start"; readonly command: string; readonly components: readonly string[]; readonly jobs: number }
  | {
      readonly type: "stage-start";
      readonly component: string;
      readonly stage: string;
      readonly step?: string;
      /** The -jN of a tool that takes a fixed one (QEMU's ninja), known once its job slots are held. */
      readonly jobs?: number;
    }
  | { readonly type: "stage-skip"; readonly component: string; readonly stage: string; readonly reason: string }
  | { readonly type: "stage-done"; readonly component: string; readonly stage: string; readonly seconds: number }
  | { readonly type: "stage-fail"; readonly component: string; readonly stage: string; readonly message: string }
  | { readonly type: "output"; readonly component: string; readonly stage: string; readonly line: string }
  | { readonly type: "message"; readonly level: "info" | "warn"; readonly text: string; readonly component?: string }
  | { readonly type: "run-end"; readonly ok: boolean; readonly seconds: number };

export interface Reporter {
  emit(e: XqEvent): void;
  /** Waits for any rendering to finish. */
  close(): Promise<void>;
  /** A promise while what the reporter writes is backed up (a slow terminal or pipe). */
  backlog?(): Promise<void> | undefined;
}
