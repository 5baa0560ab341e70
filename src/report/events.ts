import type { ErrorKind } from "../util/errors.js";

/**
 * Everything that happens during a run, as data. Only reporters turn events into text: the live
 * terminal view, the plain lines for CI and pipes, and NDJSON (--json) are three renderings of the
 * same stream. Every event names the component it belongs to, when it belongs to one.
 */
export type XqEvent =
  /** A command that does work starts: which components, how many job slots. */
  | {
      readonly type: "run-start";
      readonly command: string;
      readonly components: readonly string[];
      readonly jobs: number;
      /** The stages the command runs, in order: a component whose last one has not ended did not finish. */
      readonly stages?: readonly string[];
    }
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
  /** A stage stopped by a signal: neither done nor failed (no green check, no red cross). */
  | { readonly type: "stage-stop"; readonly component: string; readonly stage: string; readonly signal: string; readonly seconds: number }
  /** A line a tool printed (configure, make, ninja, git). */
  | { readonly type: "output"; readonly component: string; readonly stage: string; readonly line: string }
  /**
   * How far a long step has come, where the tool says: ninja's [N/M], git's "Receiving objects: 45%
   * (…), 12.3 MiB | 2.1 MiB/s". `done`/`total` count what the tool counts (edges, objects); `percent`
   * when only that is known; `bytes` and `rate` (bytes per second) for transfers.
   */
  | {
      readonly type: "progress";
      readonly component: string;
      readonly stage: string;
      /** What is counted: "ninja", "Receiving objects", "Resolving deltas", "download", ... */
      readonly phase: string;
      readonly done?: number;
      readonly total?: number;
      readonly percent?: number;
      readonly bytes?: number;
      readonly rate?: number;
    }
  /** A source (the component's own tree, a git submodule, a meson wrap, a tarball) starts to arrive. */
  | {
      readonly type: "fetch-start";
      readonly component: string;
      readonly what: "source" | "submodule" | "wrap" | "tarball" | "mirror";
      readonly name: string;
      /** The URL, without credentials. */
      readonly url?: string;
    }
  | {
      readonly type: "fetch-done";
      readonly component: string;
      readonly what: "source" | "submodule" | "wrap" | "tarball" | "mirror";
      readonly name: string;
      readonly seconds: number;
      /** cloned, moved, unchanged, in-place (a local directory used as it is), from-cache, ... */
      readonly action?: string;
      /** The revision asked for (branch, tag, commit; a tarball's URL). */
      readonly revision?: string;
      /** The commit checked out (before patches), and the head after the patch queue. */
      readonly commit?: string;
      readonly head?: string;
      /** The directory, relative to the tree's root. */
      readonly dir?: string;
      /** A move over local work keeps the old state in this ref. */
      readonly backupRef?: string;
      /** How many patches of the queue were applied. */
      readonly patches?: number;
      /** The variable that names a directory used in place (action in-place): its *_LOC. */
      readonly variable?: string;
    }
  /** A revision (branch, tag, commit) resolved to a commit; `from` says where the revision was set. */
  | { readonly type: "resolved"; readonly component: string; readonly revision: string; readonly commit: string; readonly from?: string; /** Under verify: the signed tag object and its signer's key fingerprint. */ readonly tagObject?: string; readonly signer?: string }
  /** Waiting for a lock another xqbuild holds (a tree, a cache mirror). */
  | {
      readonly type: "lock-wait";
      readonly what: string;
      readonly holder?: string;
      readonly component?: string;
      /** The lock directory. */
      readonly path?: string;
    }
  /** The artifact cache answered: a hit (local or remote), a miss, or an artifact stored. */
  | {
      readonly type: "cache";
      readonly component: string;
      readonly result: "hit" | "miss" | "stored" | "restored" | "skipped";
      readonly where: "local" | "remote";
      readonly key: string;
      readonly detail?: string;
    }
  | { readonly type: "message"; readonly level: "info" | "warn"; readonly text: string; readonly component?: string }
  /** An error that ends the run (or a component's part of it): message and hint as printed, and its kind. */
  | {
      readonly type: "error";
      readonly kind: ErrorKind;
      readonly message: string;
      readonly hint?: string;
      readonly exitCode: number;
      readonly component?: string;
    }
  /** The run's end: emitted once by cli/main.ts after the command returned or threw. */
  | { readonly type: "run-end"; readonly ok: boolean; readonly seconds: number; readonly exitCode: number; readonly signal?: string };

export type XqEventType = XqEvent["type"];

export interface Reporter {
  emit(e: XqEvent): void;
  /** Waits for any rendering to finish. */
  close(): Promise<void>;
  /** A promise while what the reporter writes is backed up (a slow terminal or pipe). */
  backlog?(): Promise<void> | undefined;
}
