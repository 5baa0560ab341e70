// Run Xen's own make glue (the behaviour xqbuild replaces) in a copy of the real Xen tree, against
// the fake upstream repositories of test/support/git.ts, and collect what the fake tools recorded.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gitEnv } from "./git.js";
import { readRecords } from "./records.js";
import type { FixtureRecord } from "./records.js";

export type { FixtureRecord } from "./records.js";

export type GlueComponent = "qemu-xen" | "seabios" | "qemu-xen-traditional";
export type GlueAction = "all" | "install" | "clean";

export interface GlueOptions {
  /** which builds to run, in this order; default ["qemu-xen", "seabios"] */
  components?: readonly GlueComponent[];
  /** default "all"; "install" is not supported for seabios (its glue installs from tools/firmware's install) */
  action?: GlueAction;
  /** extra environment variables for make; undefined removes a variable */
  env?: Readonly<Record<string, string | undefined>>;
  /** extra make command-line arguments (e.g. "VAR=value"), appended to every make run */
  makeArgs?: readonly string[];
  /**
   * Start from the whole environment of this process instead of a minimal one (PATH, HOME, USER,
   * LOGNAME, SHELL, TMPDIR, TERM, PYENV_*, and LC_ALL=C.UTF-8). Either way git is isolated
   * (gitEnv()) and MAKEFLAGS, MAKELEVEL, MFLAGS and XQ_* variables are dropped.
   */
  inheritEnv?: boolean;
  /** where the fake tools append their records; default a fresh temporary file, removed afterwards */
  recordFile?: string;
  /** per make run; default 120 s. The whole process group is killed when it runs out. */
  timeoutMs?: number;
  /** the make program; default "make" */
  make?: string;
}

export interface GlueStep {
  component: GlueComponent;
  /** make's arguments */
  args: string[];
  /** exit code; -1 when killed (signal or timeout) */
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface GlueResult {
  /** the parsed JSON lines of every fake tool that ran (configure, tracetool, make, xen-setup) */
  records: FixtureRecord[];
  /** stdout of all make runs, concatenated */
  stdout: string;
  /** stderr of all make runs, concatenated */
  stderr: string;
  /** 0 when every make run succeeded; else the code of the first that failed (runs stop there) */
  code: number;
  steps: GlueStep[];
  /** the environment make ran with (without XQ_RECORD) */
  env: NodeJS.ProcessEnv;
}

/**
 * The make invocations (arguments only, run in the Xen tree's root) that Xen's glue uses for one
 * component and action:
 *   qemu-xen:             make -C tools subdir-<action>-qemu-xen-dir
 *   qemu-xen-traditional: make -C tools subdir-<action>-qemu-xen-traditional-dir
 *   seabios (all):        make -C tools/firmware seabios-dir; make -C tools/firmware subdir-all-seabios-dir
 *   seabios (clean):      make -C tools/firmware subdir-clean-seabios-dir
 */
export function glueMakeArgs(component: GlueComponent, action: GlueAction): string[][] {
  switch (component) {
    case "qemu-xen":
      return [["-C", "tools", `subdir-${action}-qemu-xen-dir`]];
    case "qemu-xen-traditional":
      return [["-C", "tools", `subdir-${action}-qemu-xen-traditional-dir`]];
    case "seabios":
      if (action === "all") {
        return [
          ["-C", "tools/firmware", "seabios-dir"],
          ["-C", "tools/firmware", "subdir-all-seabios-dir"]
        ];
      }
      if (action === "clean") return [["-C", "tools/firmware", "subdir-clean-seabios-dir"]];
      throw new Error("runGlue: seabios has no install of its own in Xen's glue (tools/firmware's install builds hvmloader too)");
  }
}

const MINIMAL_ENV = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TERM"];
const DROPPED_ENV = ["MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "GNUMAKEFLAGS"];

/** The environment runGlue gives make (before XQ_RECORD is added). */
export function glueEnv(opts: Pick<GlueOptions, "env" | "inheritEnv"> = {}): NodeJS.ProcessEnv {
  let base: NodeJS.ProcessEnv = {};
  if (opts.inheritEnv) {
    base = { ...process.env };
  } else {
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && (MINIMAL_ENV.includes(key) || key.startsWith("PYENV_"))) base[key] = value;
    }
    base.LC_ALL = "C.UTF-8";
  }
  const env = gitEnv(base);
  for (const key of Object.keys(env)) {
    if (DROPPED_ENV.includes(key) || key.startsWith("XQ_")) delete env[key];
  }
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function runMake(
  make: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number
): Promise<Omit<GlueStep, "component">> {
  return new Promise((resolve, reject) => {
    const child = spawn(make, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      // make and everything it started (its own process group)
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        args,
        code: code ?? -1,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8") + (timedOut ? `\n[runGlue: killed after ${timeoutMs} ms]\n` : "")
      });
    });
  });
}

/**
 * Run Xen's real glue in xenRoot (a configured Xen tree: use copyXenTree(); its .config is the
 * caller's to write, e.g. with file:// URLs of makeUpstreamRepos()) and return what the fake upstream
 * tools recorded. Xen's glue clones with scripts/git-checkout.sh, so the *_URL variables must be
 * file:// URLs: a plain directory path would be taken as a local *_LOC and built in place.
 */
export async function runGlue(xenRoot: string, opts: GlueOptions = {}): Promise<GlueResult> {
  const components = opts.components ?? ["qemu-xen", "seabios"];
  const action = opts.action ?? "all";
  const env = glueEnv(opts);
  const ownDir = opts.recordFile === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "xq-glue-")) : undefined;
  const recordFile = opts.recordFile ?? path.join(ownDir ?? "", "records.jsonl");
  const runEnv = { ...env, XQ_RECORD: recordFile };
  const steps: GlueStep[] = [];
  let code = 0;
  try {
    outer: for (const component of components) {
      for (const args of glueMakeArgs(component, action)) {
        const step = await runMake(
          opts.make ?? "make",
          [...args, ...(opts.makeArgs ?? [])],
          xenRoot,
          runEnv,
          opts.timeoutMs ?? 120_000
        );
        steps.push({ component, ...step });
        if (step.code !== 0) {
          code = step.code;
          break outer;
        }
      }
    }
    return {
      records: readRecords(recordFile),
      stdout: steps.map((s) => s.stdout).join(""),
      stderr: steps.map((s) => s.stderr).join(""),
      code,
      steps,
      env
    };
  } finally {
    if (ownDir !== undefined) fs.rmSync(ownDir, { recursive: true, force: true });
  }
}
