// The one signal path. SIGINT, SIGTERM and SIGHUP, however they arrive (Ctrl-C, a CI runner's
// kill of xqbuild's pid alone, a closed terminal), abort one process-wide AbortSignal with an
// InterruptedError. Everything that waits on a child process listens to it (the child's process
// group is ended); every phase that runs inside this process (tar, hashing, copying) asks
// throwIfInterrupted() between its steps and removes what it wrote. A second signal does not wait:
// every child process group still running is killed and the process exits at once. Whatever way
// the process ends, the exit hooks (the jobserver's directory, the locks held) run.
import { InterruptedError, type InterruptSignal } from "./errors.js";

const controller = new AbortController();

/** Aborted with an InterruptedError when the process gets SIGINT, SIGTERM or SIGHUP (see installSignalHandlers). */
export const processSignal: AbortSignal = controller.signal;

/** The process groups of the children xqbuild started and that have not ended (run.ts). */
const groups = new Set<number>();

/** Called on process exit, whatever ends it (a second signal's process.exit included); each must be synchronous. */
const exitHooks = new Set<() => void>();

export function trackGroup(pgid: number): () => void {
  groups.add(pgid);
  return () => groups.delete(pgid);
}

/** Registers cleanup that must happen even when the process exits at once; returns its removal. */
export function onExit(hook: () => void): () => void {
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

function runExitHooks(): void {
  for (const g of groups) {
    try {
      process.kill(-g, "SIGKILL");
    } catch {
      // gone
    }
  }
  groups.clear();
  for (const h of [...exitHooks]) {
    try {
      h();
    } catch {
      // an exit hook must not keep the others from running
    }
  }
  exitHooks.clear();
}

/** The InterruptedError of an aborted signal (the given one or the process's), else undefined. */
export function interruption(signal?: AbortSignal): InterruptedError | undefined {
  for (const s of [signal, processSignal]) {
    if (s?.aborted) return s.reason instanceof InterruptedError ? s.reason : new InterruptedError("SIGINT");
  }
  return undefined;
}

/** Whether the run has been interrupted (the given signal or the process's). */
export function interrupted(signal?: AbortSignal): boolean {
  return interruption(signal) !== undefined;
}

/**
 * The check every in-process phase makes between its steps: throws the run's InterruptedError once
 * SIGINT, SIGTERM or SIGHUP has arrived (or the given signal is aborted). The caller removes what it
 * was writing (its finally) and the error goes up to the CLI, which exits 130, 143 or 129.
 */
export function throwIfInterrupted(signal?: AbortSignal): void {
  const e = interruption(signal);
  if (e) throw e;
}

/**
 * A node-tar `filter` that lets entries through until the run is interrupted, and then none: the
 * archive in the making ends at once (the caller then calls throwIfInterrupted and removes it).
 */
export function untilInterrupted(signal?: AbortSignal): () => boolean {
  return () => !interrupted(signal);
}

export const EXIT_CODE: Readonly<Record<InterruptSignal, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

let installed = false;

/**
 * The entry point's handlers: the first signal aborts processSignal (the run stops, cleans up and
 * exits 128 + the signal's number); a second one kills every child process group and exits at once.
 * After SIGHUP the terminal is gone: writes to it fail (EIO), and must not end the process first.
 */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runExitHooks);
  const on = (sig: InterruptSignal): void => {
    if (sig === "SIGHUP") {
      for (const s of [process.stdout, process.stderr]) s.on("error", () => undefined);
    }
    if (controller.signal.aborted) {
      // runExitHooks runs from the "exit" event.
      process.exit(EXIT_CODE[sig]);
    }
    controller.abort(new InterruptedError(sig));
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => on(sig));
}
