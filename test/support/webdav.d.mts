export interface WebDavServer {
  /** http://127.0.0.1:PORT (no trailing slash) */
  readonly url: string;
  readonly port: number;
  /** The document root: what a PUT of /a/b writes to root/a/b. */
  readonly root: string;
  /** nginx's error log so far (for a failing test's message). */
  errorLog(): string;
  /** Ends nginx (SIGTERM, a fast shutdown) and waits for it; removes its config and temp directory. */
  stop(): Promise<void>;
}

export declare function startWebDav(root: string, opts?: { readOnly?: boolean; attempts?: number; readyTimeoutMs?: number }): Promise<WebDavServer>;
