import { createWritable, DefaultRenderer, Listr, LISTR_DEFAULT_RENDERER_STYLE, ListrDefaultRendererLogLevels, ListrLogger, PRESET_TIMER, ProcessOutput, type ListrTaskWrapper } from "listr2";
import type { Reporter, XqEvent } from "./events.js";
import type { Output } from "./output.js";
import { redactText } from "../util/redact.js";
import { errorText, plainReporter } from "./plain.js";
import { bar, elapsed, isDiagnostic, isMeaningful, percentOf, progressParts } from "./lines.js";

type Progress = Extract<XqEvent, { type: "progress" }>;
type Task = ListrTaskWrapper<unknown, never, never>;

/** How a component's line ends: a check, a cross with the line that says why, or stopped (⊘). */
type End = { readonly how: "ok" } | { readonly how: "fail"; readonly title: string; readonly detail: string } | { readonly how: "stop"; readonly title: string };

interface Handle {
  readonly name: string;
  task?: Task;
  resolve: () => void;
  reject: (e: Error) => void;
  /** What the line says when no stage is running: "waiting", "configure done (1.2 s)", ... */
  status: string;
  /** The stage that has started and not yet ended, if any, with when and its -jN. */
  running?: { readonly stage: string; readonly started: number; readonly jobs?: number; progress?: Progress } | undefined;
  /** A fetch under way (the component's source, a submodule, a wrap), with its latest progress. */
  fetching?: { readonly name: string; progress?: Progress } | undefined;
  /** Waiting for a lock another xqbuild holds; `any` when the wait was not the component's own. */
  lock?: { readonly what: string; readonly any: boolean } | undefined;
  /** The last meaningful output line of the running stage, and its last diagnostic. */
  line?: string | undefined;
  diagnostic?: string | undefined;
  /** The last stage that finished (done or up to date): a run that stops after it did not finish. */
  finished?: string;
  /**
   * How the component ended, once it has: listr2 starts a task's function asynchronously, so a run
   * that ends first (everything up to date, 0.5 s) would otherwise resolve nothing and leave the
   * view spinning forever.
   */
  ended?: End;
}

/** What the view's renderer is given beside listr2's own options: a way to make itself known. */
interface ViewOptions {
  readonly attach?: (view: ViewRenderer) => void;
}

/**
 * The default listr2 renderer, drawing wherever xqbuild's Output says (a terminal: it is only
 * chosen when Output.interactive). listr2 itself would fall back to another renderer when
 * process.stdout is not a TTY; the decision is the Output's, as for every other reporter.
 *
 * It can also print lines ABOVE the view while it draws, as cargo, docker buildx and bitbake do: a
 * warning given at the start of a long build is seen then, not once the build is over. listr2's
 * default renderer has no such call (its task output goes below a task, and what is written to the
 * hijacked stream is held until the view ends), so the frame is taken off the screen with the
 * renderer's own log-update (clear), the lines are written where it was, and the frame is drawn
 * again below them (log-update then erases only what it drew since). listr2 keeps that log-update
 * private: where a listr2 release no longer has it, `above` answers false and the caller keeps the
 * lines for below the ended view, as before.
 */
class ViewRenderer extends DefaultRenderer {
  static override nonTTY = true;
  /** Whether a frame has been drawn: before the first one there is nothing of the view to erase. */
  private drawn = false;
  /** Once listr2 has ended the view (its last frame is printed for good), nothing is drawn again. */
  private over = false;

  constructor(...args: ConstructorParameters<typeof DefaultRenderer>) {
    super(...args);
    (args[1] as ViewOptions | undefined)?.attach?.(this);
  }

  /**
   * Runs write (which prints whole lines through the Output) above the view: the frame erased
   * first, drawn again after. Before the first frame and after the view has ended nothing of the
   * view is on the screen, so write just runs. False, with write not run, when it cannot be done.
   */
  above(write: () => void): boolean {
    if (!this.drawn || this.over) {
      write();
      return true;
    }
    const updater = (this as unknown as { updater?: { clear?: unknown } }).updater;
    if (typeof updater?.clear !== "function") return false;
    (updater as { clear(): void }).clear();
    write();
    this.update();
    return true;
  }

  override update(): void {
    this.drawn = true;
    super.update();
  }

  override end(): void {
    this.over = true;
    super.end();
  }
}

/** Ends the component's task now, or as soon as listr2 starts it. */
function end(h: Handle, how: End): void {
  if (h.ended !== undefined) return;
  h.ended = how;
  if (h.task) settle(h, h.task);
}

function settle(h: Handle, task: Task): void {
  const how = h.ended;
  if (how === undefined) return;
  if (how.how === "ok") {
    task.title = titleOf(h);
    h.resolve();
  } else if (how.how === "stop") {
    // listr2's skip state, drawn with the ⊘ mark: neither a check nor a cross.
    task.skip(how.title);
    h.resolve();
  } else {
    task.title = how.title;
    h.reject(new Error(how.detail));
  }
}

/**
 * The line of a component: its stage (or fetch, or lock wait), elapsed time and progress. On a
 * terminal too narrow for all of it the bar goes first, so the numbers stay; listr2 cuts what is
 * still too long at the width.
 */
function titleOf(h: Handle, width = 80, now = Date.now()): string {
  if (h.running) {
    const r = h.running;
    const head = `${h.name}: ${r.stage}…${r.jobs !== undefined ? ` (-j${r.jobs})` : ""} ${elapsed((now - r.started) / 1000)}`;
    const numbers = r.progress ? progressParts(r.progress) : [];
    const pct = r.progress ? percentOf(r.progress) : undefined;
    const full = [head, ...(pct !== undefined ? [bar(pct)] : []), ...numbers].join(" ");
    // Room for the mark, the indentation and the margin listr2 keeps.
    return redactText([...full].length <= width - 4 ? full : [head, ...numbers].join(" "));
  }
  if (h.fetching) {
    return redactText([`${h.name}: fetching ${h.fetching.name}…`, ...(h.fetching.progress ? progressParts(h.fetching.progress) : [])].join(" "));
  }
  if (h.lock) return redactText(`${h.name}: waiting for ${h.lock.what}`);
  return redactText(`${h.name}: ${h.status}`);
}

/**
 * A listr2 task tree for a person at a terminal: one line per component with its stage, the time
 * it has run, its progress (ninja's [N/M], git's percentage) and below it the last meaningful line
 * of output. Whatever happens, run-end and close() end the view: a failed stage gets a cross with
 * the diagnostic that says why, a stopped one (Ctrl-C, SIGTERM, another component's failure) the ⊘
 * mark, and only a component that finished gets a check. Messages and the fetch service's lines
 * are printed as they come, above the view (which is drawn again below them); the errors and the
 * run's end line come below the ended view. Only this file imports listr2; signals are xqbuild's
 * own, not the renderer's.
 */
export function ttyReporter(o: Output): Reporter {
  const handles = new Map<string, Handle>();
  let listr: Listr<unknown> | undefined;
  let run: Promise<unknown> | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let stages: readonly string[] | undefined;
  let runEnd: Extract<XqEvent, { type: "run-end" }> | undefined;
  const errors: Array<Extract<XqEvent, { type: "error" }>> = [];
  let view: ViewRenderer | undefined;
  // Messages (warnings and info), fetch lines, lock waits, cache answers: as the plain reporter
  // words them, printed at once, above the view while it draws. Resolved commits are not (the
  // plain reporter gives them only under -v, and the fetch line already names the commit). Only
  // what the view cannot print above itself is kept for below it (see ViewRenderer.above).
  const notes: string[] = [];
  const say = (t: string): void => {
    if (!view) o.err(t);
    else if (notes.length > 0 || !view.above(() => o.err(t))) notes.push(t);
  };
  const noteOutput: Output = { ...o, interactive: false, out: say, err: say, backlog: () => undefined };
  const plain = plainReporter(noteOutput, { verbose: false, quiet: false, heartbeatSeconds: 0 });
  const note = (e: XqEvent): void => plain.emit(e);
  const width = (): number => o.columns ?? 80;
  const refresh = (h: Handle): void => {
    if (h.task && h.ended === undefined) h.task.title = titleOf(h, width());
  };

  const start = (components: readonly string[]): void => {
    const write = (chunk: string): void => (o.raw ? o.raw(chunk) : o.err(chunk));
    // log-update wraps and erases by the stream's width, and keeps a frame within its height (a
    // line scrolled off the top cannot be erased): both read at every frame (a resized terminal).
    const stream = Object.defineProperties(createWritable(write), {
      columns: { get: () => o.columns ?? 80 },
      rows: { get: () => o.rows ?? 1000 },
      isTTY: { value: true },
    }) as unknown as NodeJS.WriteStream;
    const tasks = components.map((name) => {
      const h: Handle = { name, resolve: () => undefined, reject: () => undefined, status: "waiting" };
      handles.set(name, h);
      return {
        title: titleOf(h, width()),
        rendererOptions: { outputBar: 1, persistentOutput: false, timer: PRESET_TIMER },
        task: (_ctx: unknown, task: Task) =>
          new Promise<void>((resolve, reject) => {
            h.task = task;
            h.resolve = resolve;
            h.reject = reject;
            task.title = titleOf(h, width());
            settle(h, task);
          }),
      };
    });
    listr = new Listr(tasks as never, {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      renderer: ViewRenderer as never,
      rendererOptions: {
        attach: (v: ViewRenderer) => (view = v),
        collapseErrors: false,
        // Every line cut to the terminal's width: a wrapped line would break the redraw.
        formatOutput: "truncate",
        icon: { ...LISTR_DEFAULT_RENDERER_STYLE.icon, [ListrDefaultRendererLogLevels.SKIPPED_WITH_COLLAPSE]: "⊘" },
        logger: new ListrLogger({ useIcons: true, toStderr: [], processOutput: new ProcessOutput(stream, stream) }),
      },
    } as never);
    run = listr.run().catch(() => undefined);
    // The running lines' elapsed time, every second; unref'd: it never keeps xqbuild alive.
    ticker = setInterval(() => {
      for (const h of handles.values()) if (h.running) refresh(h);
    }, 1000);
    ticker.unref();
  };

  /** Ends every component still open, each with the mark its state earns. */
  const endAll = (ok: boolean, signal: string | undefined): void => {
    const why = signal ? ` (${signal})` : "";
    const last = stages?.at(-1);
    for (const h of handles.values()) {
      if (h.running) end(h, { how: "stop", title: redactText(`${h.name}: ${h.running.stage} ${signal ? "stopped" : "not finished"}${why}`) });
      else if (ok) {
        // A component none of whose stages had anything to run (seabios under `configure`).
        if (h.finished === undefined && !h.fetching) h.status = "nothing to do";
        end(h, { how: "ok" });
      }
      else if (h.fetching) end(h, { how: "stop", title: redactText(`${h.name}: fetch of ${h.fetching.name} stopped${why}`) });
      else if (h.finished === undefined) end(h, { how: "stop", title: `${h.name}: not run${why}` });
      else if (last !== undefined && h.finished !== last) end(h, { how: "stop", title: `${h.name}: stopped after ${h.finished}${why}` });
      else end(h, { how: "ok" });
    }
  };

  return {
    emit(e: XqEvent) {
      const h = "component" in e && e.component !== undefined ? handles.get(e.component) : undefined;
      // A lock is no longer waited for once what it guards goes on: the component's own next step,
      // or, for a wait that was not one component's (the tree lock), any component's.
      if (e.type !== "lock-wait" && e.type !== "message" && h) {
        for (const w of handles.values()) {
          if (w.lock && (w === h || w.lock.any)) {
            w.lock = undefined;
            refresh(w);
          }
        }
      }
      switch (e.type) {
        case "run-start":
          if (run) return;
          stages = e.stages;
          start(e.components);
          return;
        case "stage-start":
          if (!h) return;
          h.running = { stage: e.stage, started: Date.now(), ...(e.jobs !== undefined ? { jobs: e.jobs } : {}) };
          h.fetching = undefined;
          h.line = undefined;
          h.diagnostic = undefined;
          if (h.task) h.task.output = "";
          refresh(h);
          return;
        case "stage-skip":
        case "stage-done":
          if (!h) return;
          h.running = undefined;
          h.finished = e.stage;
          h.status = e.type === "stage-skip" ? `${e.stage} ${e.reason}` : `${e.stage} done (${e.seconds.toFixed(1)} s)`;
          refresh(h);
          return;
        case "stage-fail":
          if (!h) return;
          h.running = undefined;
          end(h, { how: "fail", title: redactText(`${h.name}: ${e.stage} failed`), detail: redactText(h.diagnostic ?? h.line ?? e.message) });
          return;
        case "stage-stop":
          if (!h) return;
          h.running = undefined;
          end(h, { how: "stop", title: redactText(`${h.name}: ${e.stage} stopped (${e.signal})`) });
          return;
        case "output":
          if (!h || !isMeaningful(e.line)) return;
          // listr2 writes past Output's redaction: what it is given is redacted here.
          h.line = redactText(e.line.trim()).slice(0, 500);
          if (isDiagnostic(e.line)) h.diagnostic = h.line;
          if (h.task && h.ended === undefined) h.task.output = h.line;
          return;
        case "progress":
          if (!h) return;
          if (h.running?.stage === e.stage) h.running.progress = e;
          else if (h.fetching || e.stage === "fetch") (h.fetching ??= { name: "its source" }).progress = e;
          else return;
          refresh(h);
          return;
        case "fetch-start":
          if (h && !h.running) {
            h.fetching = { name: e.what === "source" ? "its source" : `${e.what} ${e.name}` };
            refresh(h);
          }
          note(e);
          return;
        case "fetch-done":
          if (h) {
            h.fetching = undefined;
            h.status = "fetched";
            refresh(h);
          }
          note(e);
          return;
        case "lock-wait":
          for (const w of h ? [h] : handles.values()) {
            w.lock = { what: `${e.what}${e.holder ? ` (held by ${e.holder})` : ""}`, any: !h };
            refresh(w);
          }
          note(e);
          return;
        case "resolved":
        case "cache":
        case "message":
          note(e);
          return;
        case "error":
          // Printed once the view has ended (see close), below it.
          errors.push(e);
          return;
        case "run-end":
          runEnd = e;
          // A run that did not end well (interrupted, or another component failed) leaves the
          // stage that was running unfinished: shown as stopped, never with a check mark.
          endAll(e.ok, e.signal);
          return;
        default: {
          const never: never = e;
          return never;
        }
      }
    },
    async close() {
      if (ticker) clearInterval(ticker);
      endAll(runEnd?.ok ?? false, runEnd?.signal);
      if (run) {
        // Every task has been settled, so listr2 ends its renderer. Should it not (a listr2 that
        // swallows an error on its exitOnError:false path skips renderer.end()), the view is
        // ended here: a spinner must never outlive the run and hold the terminal.
        const settled = await Promise.race([run.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
        if (!settled) (listr as unknown as { renderer?: { end(): void } } | undefined)?.renderer?.end();
      }
      for (const t of notes.splice(0)) o.err(t);
      for (const e of errors) o.err(errorText(o, e));
      if (run && runEnd) o.err(`xqbuild: ${runEnd.ok ? "finished" : runEnd.signal ? "interrupted" : "failed"} in ${runEnd.seconds.toFixed(1)} s`);
    },
    backlog: () => o.backlog(),
  };
}
