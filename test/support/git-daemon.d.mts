import type { ChildProcess } from "node:child_process";

export interface GitDaemon {
  readonly port: number;
  readonly pid: number | undefined;
  /** The git daemon process (for a caller that stops it with its own helper). */
  readonly child: ChildProcess;
  /** git://127.0.0.1:PORT/NAME */
  url(name: string): string;
  /** What git daemon wrote to stderr (the last 64 KiB; from the log file when there is one). */
  readonly stderr: () => string;
  /**
   * Ends git daemon (SIGTERM, SIGKILL after 5 s) and waits for it; the port is free afterwards. Its
   * per-connection children end with their connections, so stop it when no client is running.
   */
  stop(): Promise<void>;
}

export interface GitDaemonOptions {
  /** A fixed port (one attempt); default: a free port, retried up to `attempts` times. */
  readonly port?: number;
  readonly attempts?: number;
  readonly readyTimeoutMs?: number;
  /** The daemon's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Append stdout and stderr to this file instead of keeping stderr in memory. */
  readonly logFile?: string;
  /** --verbose: log every connection (the e2e reads who connected). */
  readonly verbose?: boolean;
  /** --informative-errors: tell clients why a repository is not there. */
  readonly informativeErrors?: boolean;
  /** Called with the command line before each start (for a progress log). */
  readonly onStart?: (argv: readonly string[]) => void;
}

export declare function startGitDaemon(baseDir: string, opts?: GitDaemonOptions): Promise<GitDaemon>;
