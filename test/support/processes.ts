// How the tests run xqbuild as a child process and check what a signal leaves behind: the one
// runner (startNodeCli: a process group of its own, output kept, waitFor a line, a timeout that kills
// the group), the one signal check (interrupt) and the process-group helpers, shared by the fault
// suite (test/faults/support.ts, with its private build) and the unit signal test (with dist/).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { expect as globalExpect, type ExpectStatic } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Processes started by startNodeCli and not yet ended. */
const running = new Set<ChildProcess>();

/** Ends, by process group, every xqbuild startNodeCli started that still runs (a case that failed before waiting for it). */
export function endRunning(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) killGroup(child.pid, "SIGKILL");
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Killed by the harness after timeoutMs. */
  readonly timedOut: boolean;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env: Record<string, string | undefined>;
  /** Kill xqbuild's whole process group after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** A command line prefix (e.g. /usr/bin/time -v, setpriv ...). */
  readonly wrap?: readonly string[];
}

export interface Running {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr (or stdout) matches, rejects after timeoutMs or when xqbuild ends first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  readonly done: Promise<RunResult>;
}

/**
 * Starts `node CLI ARGV` in a process group of its own (so the harness can end everything it
 * started after a timeout, by that group's id), its output kept.
 */
export function startNodeCli(cli: string, argv: readonly string[], opts: RunOptions): Running {
  const cmd = [...(opts.wrap ?? []), process.execPath, cli, ...argv];
  const started = Date.now();
  const child = spawn(cmd[0] as string, cmd.slice(1), { cwd: opts.cwd ?? REPO_ROOT, env: opts.env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child);
  child.on("close", () => running.delete(child));
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.on("data", (d: Buffer) => {
    if (out.length < 4_000_000) out += d.toString();
    poke();
  });
  child.stderr?.on("data", (d: Buffer) => {
    if (err.length < 4_000_000) err += d.toString();
    poke();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, "SIGKILL");
  }, opts.timeoutMs ?? 60_000);
  let ended = false;
  const done = new Promise<RunResult>((resolve) => {
    child.on("close", (code, signal) => {
      ended = true;
      clearTimeout(timer);
      poke();
      const result = { code, signal, stdout: out, stderr: err, ms: Date.now() - started, timedOut };
      // XQ_FAULTS_LOG=FILE: every run's command line, exit and stderr, to read the messages.
      if (process.env.XQ_FAULTS_LOG) fs.appendFileSync(process.env.XQ_FAULTS_LOG, `\n=== ${argv.join(" ")}\n--- exit ${code ?? signal} in ${result.ms} ms${timedOut ? " (timed out)" : ""}\n${err}`);
      resolve(result);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (re.test(err) || re.test(out)) {
            cleanup();
            resolve();
          } else if (ended) {
            cleanup();
            reject(new Error(`xqbuild ended before printing ${re}:\n${err}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          reject(new Error(`xqbuild did not print ${re} within ${timeoutMs} ms:\n${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(t);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    done,
  };
}

export function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // gone
  }
}

/** Processes (pid and command line) whose command line mentions the marker. */
export function survivors(marker: string): Array<{ pid: number; args: string }> {
  const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout;
  return ps
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), args: m[2] as string }))
    .filter((p) => p.args.includes(marker) && !p.args.startsWith("ps ") && p.pid !== process.pid);
}

/** Waits until no process mentions the marker; returns those still there after timeoutMs. */
export async function waitGone(marker: string, timeoutMs: number): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = survivors(marker);
    if (left.length === 0 || Date.now() > until) return left.map((p) => `${p.pid} ${p.args}`);
    await sleep(100);
  }
}

/** The process groups of the processes whose command line mentions the marker. */
export function groupsOf(marker: string): Set<number> {
  const ps = spawnSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" }).stdout;
  const out = new Set<number>();
  for (const l of ps.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l);
    if (m && (m[3] as string).includes(marker) && !(m[3] as string).startsWith("ps ") && Number(m[1]) !== process.pid) out.add(Number(m[2]));
  }
  // Never this test process's own group (servers it started share it).
  out.delete(process.pid);
  out.delete(ownGroup());
  return out;
}

let ownPgid: number | undefined;
function ownGroup(): number {
  ownPgid ??= Number(spawnSync("ps", ["-o", "pgid=", "-p", String(process.pid)], { encoding: "utf8" }).stdout.trim());
  return ownPgid;
}

/** Processes still alive in any of the given process groups. */
export function aliveInGroups(groups: ReadonlySet<number>): string[] {
  const ps = spawnSync("ps", ["-eo", "pid=,pgid=,stat=,args="], { encoding: "utf8" }).stdout;
  return ps
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && groups.has(Number(m[2])) && !(m[3] as string).startsWith("Z"))
    .map((m) => `${m[1]} ${m[4]}`);
}

/** Waits until no process of the groups is alive; returns those still there after timeoutMs. */
export async function waitGroupsGone(groups: ReadonlySet<number>, timeoutMs: number): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = aliveInGroups(groups);
    if (left.length === 0 || Date.now() > end) return left;
    await sleep(100);
  }
}

/** Ends, by process group id, the groups left behind by a test (orphans of a killed xqbuild). */
export function killGroups(groups: ReadonlySet<number>): void {
  for (const g of groups) killGroup(g, "SIGKILL");
}

/** Ends, by pid, the processes left behind by a test (orphans of a killed xqbuild). */
export function killSurvivors(marker: string): void {
  for (const p of survivors(marker)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}


/** The exit code of a process ended by a signal it handles as xqbuild does: 128 + its number. */
export const SIGNAL_EXIT = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Sends sig to xqbuild's pid alone and checks what every signal case checks: every process of its
 * group and of the given groups gone within 5 s of the signal (then killed, should any be left), an
 * exit within 5 s with 128 + the signal's number, no internal error or stack, and "interrupted by
 * SIG" said. `expect` is the test's own in concurrent tests; `code` the exit a table names. Returns the run's result.
 */
export async function interrupt(run: Running, sig: keyof typeof SIGNAL_EXIT, opts: { groups?: ReadonlySet<number>; expect?: ExpectStatic; code?: number } = {}): Promise<RunResult> {
  const expect = opts.expect ?? globalExpect;
  const groups = new Set([run.pid, ...(opts.groups ?? [])]);
  const sent = Date.now();
  run.child.kill(sig);
  const r = await run.done;
  const ms = Date.now() - sent;
  const left = await waitGroupsGone(groups, Math.max(0, 5000 - ms));
  killGroups(groups);
  expect(left, "processes left 5 s after the signal").toEqual([]);
  expect(ms, `exit within 5 s of ${sig}`).toBeLessThan(5000);
  expect(r.code, r.stderr).toBe(opts.code ?? SIGNAL_EXIT[sig]);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.stderr).toMatch(new RegExp(`interrupted by ${sig}`));
  return r;
}
