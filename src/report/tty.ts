import { Listr, PRESET_TIMER, type ListrTaskWrapper } from "listr2";
import type { Reporter, XqEvent } from "./events.js";
import type { Output } from "./output.js";
import { redactText } from "../util/redact.js";
import { errorText } from "./plain.js";

interface Handle {
  task?: ListrTaskWrapper<unknown, never, never>;
  resolve: () => void;
  reject: (e: Error) => void;
  stage: string;
  /** The title to show, kept until listr2 has started the task. */
  title: string;
  /**
   * How the component ended, once it has: listr2 starts a task's function asynchronously, so a run
   * that ends first (everything up to date, 0.5 s) would otherwise resolve nothing and leave the view
   * spinning forever.
   */
  ended?: Error | "ok";
  /** The stage that has started and not yet ended, if any. */
  running?: string | undefined;
}

/** Ends the component's task now, or as soon as listr2 starts it. */
function end(h: Handle, how: Error | "ok"): void {
  if (h.ended !== undefined) return;
  h.ended = how;
  if (how === "ok") h.resolve();
  else h.reject(how);
}

/**
 * A listr2 task tree for a person at a terminal: one line per component with its stage, the time it
 * has taken and the last line of output below it. Only this file imports listr2; signals are
 * xqbuild's own, not the renderer's.
 */
export function ttyReporter(o: Output): Reporter {
  const handles = new Map<string, Handle>();
  let run: Promise<unknown> | undefined;
  const errors: Array<Extract<XqEvent, { type: "error" }>> = [];
  return {
    emit(e: XqEvent) {
      switch (e.type) {
        case "run-start": {
          const tasks = e.components.map((name) => {
            const h: Handle = { resolve: () => undefined, reject: () => undefined, stage: "waiting", title: `${name}: waiting` };
            handles.set(name, h);
            return {
              title: `${name}: waiting`,
              rendererOptions: { outputBar: 1, timer: PRESET_TIMER },
              task: (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) =>
                new Promise<void>((resolve, reject) => {
                  h.task = task;
                  task.title = h.title;
                  h.resolve = resolve;
                  h.reject = reject;
                  if (h.ended === "ok") resolve();
                  else if (h.ended !== undefined) reject(h.ended);
                }),
            };
          });
          const listr = new Listr(tasks as never, {
            concurrent: true,
            exitOnError: false,
            registerSignalListeners: false,
            rendererOptions: { collapseErrors: false },
          });
          run = listr.run().catch(() => undefined);
          return;
        }
        case "stage-start":
        case "stage-skip":
        case "stage-done": {
          const h = handles.get(e.component);
          if (!h) return;
          const state = e.type === "stage-start" ? `${e.stage}…${e.jobs !== undefined ? ` (-j${e.jobs})` : ""}` : e.type === "stage-skip" ? `${e.stage} up to date` : `${e.stage} done (${e.seconds.toFixed(1)} s)`;
          // listr2 writes to the terminal itself, past Output's redaction: what it is given is redacted here.
          h.title = redactText(`${e.component}: ${state}`);
          h.running = e.type === "stage-start" ? e.stage : undefined;
          if (h.task) h.task.title = h.title;
          return;
        }
        case "output": {
          const h = handles.get(e.component);
          if (h?.task && e.line.trim() !== "") h.task.output = redactText(e.line).slice(0, 200);
          return;
        }
        case "stage-fail": {
          const h = handles.get(e.component);
          if (h) {
            h.stage = "failed";
            end(h, new Error(`${e.stage} failed`));
          }
          return;
        }
        case "message":
          o.err(`${e.level === "warn" ? "warning: " : ""}${e.text}`);
          return;
        case "error":
          // Printed once the view has ended (see close), below it.
          errors.push(e);
          return;
        case "stage-stop":
        case "progress":
        case "fetch-start":
        case "fetch-done":
        case "resolved":
        case "lock-wait":
        case "cache":
          // TRANSITIONAL (issue 15): rendered by the reporters' slice.
          return;
        case "run-end":
          // A run that did not end well (interrupted, or another component failed) leaves the
          // stage that was running unfinished: shown as such, never with a check mark.
          for (const h of handles.values()) end(h, !e.ok && h.running !== undefined ? new Error(`${h.running} not finished`) : "ok");
          return;
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    async close() {
      for (const h of handles.values()) end(h, h.running !== undefined ? new Error(`${h.running} not finished`) : "ok");
      await run;
      for (const e of errors) o.err(errorText(o, e));
    },
  };
}
