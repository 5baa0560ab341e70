import type { XqEvent } from "../report/events.js";
import type { LockWait } from "../util/lock.js";
import type { GitProgress } from "./git.js";

/*
 * How the source layer says what happens: as events (src/report/events.ts) into a sink the caller
 * gives (a reporter's emit), bound to the component being fetched. Nothing here prints.
 */

/** The sink of the source layer's events, bound to the component being fetched. */
export interface SourceEvents {
  readonly component: string;
  readonly emit: (e: XqEvent) => void;
}

/** An info or warn message of the component being fetched. */
export function sayInfo(opts: { readonly events?: SourceEvents }, text: string, level: "info" | "warn" = "info"): void {
  opts.events?.emit({ type: "message", level, text, component: opts.events.component });
}

/** A lock wait (the tree's, a mirror's) as the event, or the takeover of a dead holder's lock as a message. */
export function lockWaitEvent(emit: (e: XqEvent) => void, component?: string): (text: string, wait?: LockWait) => void {
  return (text, wait) => {
    const of = component !== undefined ? { component } : {};
    if (wait && !wait.tookOver) emit({ type: "lock-wait", what: wait.what, holder: wait.holder, path: wait.path, ...of });
    else emit({ type: "message", level: "info", text, ...of });
  };
}

/** git's progress as the event of the component's fetch stage. */
export function progressEvent(opts: { readonly events?: SourceEvents }): ((p: GitProgress) => void) | undefined {
  const ev = opts.events;
  if (!ev) return undefined;
  return (p) => ev.emit({ type: "progress", component: ev.component, stage: "fetch", ...p });
}
