import type { Output } from "./output.js";
import { paint } from "./output.js";
import type { Reporter, XqEvent } from "./events.js";
import { elapsed, progressParts } from "./lines.js";

export interface PlainOptions {
  readonly verbose: boolean;
  readonly quiet: boolean;
  /**
   * How often a stage that is still running says so ("[qemu-xen build] still running (2m30s,
   * 812/1800, 45%)"), in seconds; 0 for never. 30 when not given: a CI log that shows nothing for
   * minutes looks hung, and some CI runners kill a job that prints nothing for 10 minutes.
   */
  readonly heartbeatSeconds?: number;
}

/** The heartbeat's interval when PlainOptions does not set one. */
export const HEARTBEAT_SECONDS = 30;

interface Running {
  readonly started: number;
  /** What a fetch is fetching, when not the component's own source ("submodule ui/keycodemapdb"). */
  readonly label?: string;
  progress?: Extract<XqEvent, { type: "progress" }>;
}

/** One line per happening, prefixed with component and stage: for CI logs and pipes. */
export function plainReporter(o: Output, opts: PlainOptions): Reporter {
  const tag = (c: string, s: string): string => paint(o, "36", `[${c} ${s}]`);
  let started = false;
  // The stages running now, by "component stage": what the heartbeat reports on.
  const running = new Map<string, Running>();
  const every = (opts.heartbeatSeconds ?? HEARTBEAT_SECONDS) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const beat = (): void => {
    const now = Date.now();
    for (const [key, r] of running) {
      if (now - r.started < every * 0.9) continue;
      const [component = "", stage = ""] = key.split("\0");
      const parts = [elapsed((now - r.started) / 1000), ...(r.label !== undefined ? [r.label] : []), ...(r.progress ? progressParts(r.progress) : [])];
      o.err(`${tag(component, stage)} still running (${parts.join(", ")})`);
    }
  };
  const stopBeat = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const begin = (key: string, r: Running): void => {
    running.set(key, r);
    // One timer for the run, started with its first stage or fetch; unref'd: it never keeps xqbuild alive.
    if (!timer && every > 0 && !opts.quiet) {
      timer = setInterval(beat, every);
      timer.unref();
    }
  };
  const track = (e: XqEvent): void => {
    if (e.type === "stage-start") begin(`${e.component}\0${e.stage}`, { started: Date.now() });
    // A fetch is the component's "fetch" stage for the heartbeat (its progress events say stage "fetch").
    else if (e.type === "fetch-start") begin(`${e.component}\0fetch`, { started: Date.now(), ...(e.what !== "source" ? { label: `${e.what} ${e.name}` } : {}) });
    else if (e.type === "fetch-done") running.delete(`${e.component}\0fetch`);
    else if (e.type === "stage-done" || e.type === "stage-fail" || e.type === "stage-stop" || e.type === "stage-skip") {
      running.delete(`${e.component}\0${e.stage}`);
    } else if (e.type === "progress") {
      const r = running.get(`${e.component}\0${e.stage}`);
      if (r) r.progress = e;
    } else if (e.type === "run-end") {
      running.clear();
      stopBeat();
    }
  };
  return {
    emit(e: XqEvent) {
      track(e);
      switch (e.type) {
        case "run-start":
          started = true;
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
          if (e.level === "warn" || !opts.quiet) o.err(`${e.component ?? "xqbuild"}: ${e.level === "warn" ? "warning: " : ""}${e.text}`);
          return;
        case "error":
          o.err(errorText(o, e));
          return;
        case "run-end":
          // Only a run that started stages ends with a line (a `config` or `plan` is a document).
          if (started && (!opts.quiet || !e.ok)) o.err(`xqbuild: ${e.ok ? "finished" : e.signal ? "interrupted" : "failed"} in ${e.seconds.toFixed(1)} s`);
          return;
        case "stage-stop":
          if (!opts.quiet) o.err(`${tag(e.component, e.stage)} stopped by ${e.signal} after ${e.seconds.toFixed(1)} s`);
          return;
        case "progress":
          // Not a line each (ninja says [N/M] hundreds of times a second): the heartbeat reports
          // the latest one of each running stage.
          return;
        case "cache":
          if (!opts.quiet) o.err(`${tag(e.component, "cache")} ${e.result} (${e.where}, ${e.key.slice(0, 12)})${e.detail ? `: ${e.detail}` : ""}`);
          return;
        case "fetch-done":
          if (!opts.quiet) for (const line of fetchLines(e)) o.err(`${e.component}: ${line}`);
          return;
        case "fetch-start":
          if (opts.verbose) o.err(`${e.component}: fetching ${e.what === "source" || e.what === "tarball" ? "" : `the ${e.what} `}${e.name}${e.url ? ` from ${e.url}` : ""}`);
          return;
        case "resolved":
          if (opts.verbose) o.err(`${e.component}: ${e.revision} is ${e.commit.slice(0, 12)}${e.from ? ` (${e.from})` : ""}`);
          return;
        case "lock-wait":
          if (!opts.quiet) o.err(`${e.component ?? "xqbuild"}: waiting for the lock on ${e.what}${e.holder ? `, held by ${e.holder}` : ""}${e.path ? ` (${e.path})` : ""}`);
          return;
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    close: async () => {
      running.clear();
      stopBeat();
    },
    backlog: () => o.backlog(),
  };
}

/**
 * What a fetch-done of a component's own source says, as the fetch has always said it: the tree's
 * state, then the patch queue applied. A submodule or wrap says nothing here (the wrap summary is a
 * message of its own).
 */
export function fetchLines(e: Extract<XqEvent, { type: "fetch-done" }>): string[] {
  if (e.what !== "source" && e.what !== "tarball") return [];
  if (e.action === "in-place") return [`using ${e.dir ?? e.name} in place${e.variable ? ` (${e.variable})` : ""}`];
  const what = e.revision ?? "";
  const short = (e.commit ?? "").slice(0, 12);
  const dir = e.dir ?? e.name;
  const lines = [
    e.action === "cloned"
      ? `fetched ${what} (${short}) into ${dir}`
      : e.action === "moved"
        ? `moved ${dir} to ${what} (${short})${e.backupRef ? `; the old state is kept in ${e.backupRef}` : ""}`
        : `${dir} is at ${what} (${short})`,
  ];
  if (e.patches !== undefined && e.patches > 0) lines.push(`applied ${e.patches} patch${e.patches === 1 ? "" : "es"} (${(e.head ?? "").slice(0, 12)})`);
  return lines;
}

/** An error event as one paragraph: "xqbuild: error: MESSAGE", then the hint. */
export function errorText(o: Output, e: Extract<XqEvent, { type: "error" }>): string {
  if (e.kind === "interrupted" || e.kind === "internal") return `xqbuild: ${e.message}`;
  return `${paint(o, "1;31", "xqbuild: error:")} ${e.message}${e.hint ? `\n${e.hint}` : ""}`;
}

/**
 * NDJSON: one event per line on stdout, for tools. A command whose answer is a JSON document
 * (plan, config, status, doctor, cache) prints only that document, or the error event in its place.
 */
export function jsonReporter(o: Output, opts: { readonly document?: boolean } = {}): Reporter {
  return {
    emit(e) {
      // As cargo does with --message-format=json: the error is an event on stdout and, for the
      // person reading the log, its paragraph on stderr too.
      if (e.type === "error") o.err(errorText(o, e));
      if (opts.document && e.type !== "error") return;
      o.out(JSON.stringify({ time: new Date().toISOString(), ...e }));
    },
    close: async () => undefined,
    backlog: () => o.backlog(),
  };
}
