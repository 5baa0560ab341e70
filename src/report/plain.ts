import type { Output } from "./output.js";
import { paint } from "./output.js";
import type { Reporter, XqEvent } from "./events.js";

export interface PlainOptions {
  readonly verbose: boolean;
  readonly quiet: boolean;
}

/** One line per happening, prefixed with component and stage: for CI logs and pipes. */
export function plainReporter(o: Output, opts: PlainOptions): Reporter {
  const tag = (c: string, s: string): string => paint(o, "36", `[${c} ${s}]`);
  return {
    emit(e: XqEvent) {
      switch (e.type) {
        case "run-start":
          if (!opts.quiet) o.err(`xqbuild ${e.command}: ${e.components.length ? e.components.join(", ") : "nothing enabled"} (jobs: ${e.jobs})`);
          return;
        case "stage-start":
          if (!opts.quiet) {
            const what = [e.step && e.step !== e.stage ? e.step : undefined, e.jobs !== undefined ? `-j${e.jobs}` : undefined].filter((w) => w !== undefined).join(" ");
            o.err(`${tag(e.component, e.stage)} started${what ? ` (${what})` : ""}`);
          }
          return;
        case "stage-skip":
          if (!opts.quiet) o.err(`${tag(e.component, e.stage)} ${e.reason}`);
          return;
        case "stage-done":
          if (!opts.quiet) o.err(`${tag(e.component, e.stage)} done in ${e.seconds.toFixed(1)} s`);
          return;
        case "stage-fail":
          o.err(`${tag(e.component, e.stage)} ${paint(o, "1;31", "FAILED")}: ${e.message}`);
          return;
        case "output":
          if (opts.verbose) o.err(`${tag(e.component, e.stage)} ${e.line}`);
          return;
        case "message":
          if (e.level === "warn" || !opts.quiet) o.err(`${e.component ? `[${e.component}] ` : "xqbuild: "}${e.level === "warn" ? "warning: " : ""}${e.text}`);
          return;
        case "run-end":
          if (!opts.quiet || !e.ok) o.err(`xqbuild: ${e.ok ? "finished" : "failed"} in ${e.seconds.toFixed(1)} s`);
          return;
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    close: async () => undefined,
    backlog: () => o.backlog(),
  };
}

/** NDJSON: one event per line on stdout, for tools. */
export function jsonReporter(o: Output): Reporter {
  return {
    emit(e) {
      o.out(JSON.stringify({ time: new Date().toISOString(), ...e }));
    },
    close: async () => undefined,
    backlog: () => o.backlog(),
  };
}
