// The HTTP client under the remote artifact cache (remote.ts holds the protocol: what the URLs
// and documents are). node:http rather than fetch: bodies stream from and to files with
// backpressure (a blob can be 100 MB), a PUT carries a Content-Length (no chunked upload that some
// servers refuse), and redirects are never followed behind our back (same origin only, GET and
// HEAD only). Every request has an idle timeout, implemented with an AbortSignal that is re-armed
// whenever bytes move, so a slow but moving transfer is not cut. Reasons name the method, the URL
// and the status; never a header value (Authorization).
import http from "node:http";
import https from "node:https";
import { type Readable, Transform } from "node:stream";
import { processSignal, throwIfInterrupted } from "../util/signals.js";

/** Same-origin redirects followed for GET and HEAD. */
const MAX_REDIRECTS = 5;
/** A body this small (or empty) is drained to keep the connection; a larger unwanted one is cut off. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * A server's answer that is not the one wanted, as a value: code that reacts to "not there" looks at
 * .status (404), never at the message text.
 */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpStatusError";
  }
}

/** One line for an error: node's connection errors can have an empty message (an AggregateError of each address tried). */
export function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (e.message) return e.message;
    if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map(describe).join("; ");
    if (typeof code === "string") return code;
    return e.name;
  }
  return String(e);
}

/** An AbortSignal that fires when poke() has not been called for ms milliseconds. */
export class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly ms: number) {
    this.poke();
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get fired(): boolean {
    return this.controller.signal.aborted;
  }
  poke(): void {
    if (this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new Error(`no progress for ${this.ms} ms`)), this.ms);
    this.timer.unref();
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

export interface Exchange {
  res: http.IncomingMessage;
  /** The URL that answered (after same-origin redirects). */
  url: URL;
  /** Ends the exchange early (closes the connection): for a response whose body is not wanted. */
  abandon(): void;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** The request body, opened afresh for the request, and its length. */
  body?: { open: () => Readable; length: number };
}

/** A passthrough that re-arms the idle timer on every chunk. */
export function progress(idle: IdleTimer, onChunk?: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      idle.poke();
      try {
        onChunk?.(chunk);
      } catch (e) {
        cb(e as Error);
        return;
      }
      cb(null, chunk);
    },
  });
}

const sameOrigin = (a: URL, b: URL): boolean => a.protocol === b.protocol && a.host === b.host;

export interface HttpClientOptions {
  /** Redirects are followed only to this origin. */
  readonly base: URL;
  /** Per request: fail when no byte moves for this long. */
  readonly timeoutMs: number;
  /** Sent with every request (e.g. Authorization); never logged. */
  readonly headers?: Record<string, string>;
}

/** Requests to one origin with an idle timeout each; see send() and attempt(). */
export class HttpClient {
  private readonly base: URL;
  readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(opts: HttpClientOptions) {
    this.base = opts.base;
    this.timeoutMs = opts.timeoutMs;
    if (!(this.timeoutMs > 0)) throw new Error(`remote cache: timeoutMs must be positive, got ${this.timeoutMs}`);
    this.headers = { ...(opts.headers ?? {}) };
  }

  /**
   * Sends one request and resolves with the response head (the body unread), following
   * same-origin redirects for GET and HEAD; rejects on a network error, the idle timeout, or a
   * redirect elsewhere.
   */
  async send(method: string, url: URL, idle: IdleTimer, opts: SendOptions = {}): Promise<Exchange> {
    let current = url;
    for (let hops = 0; ; hops++) {
      const ex = await this.sendOnce(method, current, idle, opts);
      const { statusCode = 0, headers } = ex.res;
      if (statusCode < 300 || statusCode >= 400 || statusCode === 304 || headers.location === undefined) return ex;
      ex.abandon();
      const next = new URL(headers.location, current);
      if (!sameOrigin(next, this.base)) {
        throw new Error(`HTTP ${statusCode} redirect to another host (${next.protocol}//${next.host}) not followed`);
      }
      if (method !== "GET" && method !== "HEAD") throw new Error(`HTTP ${statusCode} redirect not followed for ${method}`);
      if (hops >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      current = next;
    }
  }

  private sendOnce(method: string, url: URL, idle: IdleTimer, opts: SendOptions): Promise<Exchange> {
    return new Promise<Exchange>((resolve, reject) => {
      const lib = url.protocol === "https:" ? https : http;
      const headers: Record<string, string> = { ...this.headers, ...(opts.headers ?? {}) };
      if (opts.body) headers["Content-Length"] = String(opts.body.length);
      let settled = false;
      let uploading = false;
      // Ctrl-C ends a request as the idle timer does (a slow server must not hold the run).
      const req = lib.request(url, { method, headers, signal: AbortSignal.any([idle.signal, processSignal]) });
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        reject(idle.fired ? (idle.signal.reason as Error) : e);
      };
      req.on("error", fail);
      req.on("response", (res) => {
        idle.poke();
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        // A small or empty body is drained, keeping the connection for the next request; anything
        // else, or an upload the server answered before it was complete (a 403 to a 100 MB PUT),
        // is cut off.
        const abandon = (): void => {
          const length = Number(res.headers["content-length"] ?? Number.NaN);
          const small = method === "HEAD" || res.statusCode === 204 || res.statusCode === 304 || length <= DRAIN_LIMIT;
          if (small && !uploading) {
            res.resume();
          } else {
            res.destroy();
            req.destroy();
          }
        };
        res.on("error", () => undefined); // reported through whoever reads the body
        resolve({ res, url, abandon });
      });
      if (opts.body) {
        // Errors of the upload itself (the server closing early after answering) show through the
        // response or req's error; a file that cannot be read fails the request.
        const src = opts.body.open();
        uploading = true;
        src.once("end", () => {
          uploading = false;
        });
        src.on("error", (e) => {
          fail(e);
          req.destroy();
        });
        src.on("data", () => idle.poke());
        src.pipe(req);
      } else {
        req.end();
      }
    });
  }

  /** Runs fn with an idle timer, turning any failure into a reason line. */
  async attempt<T>(what: string, fn: (idle: IdleTimer) => Promise<T>): Promise<{ value: T } | { why: string; status?: number }> {
    const idle = new IdleTimer(this.timeoutMs);
    try {
      return { value: await fn(idle) };
    } catch (e) {
      // An interrupted run stops here; it is not a remote cache miss.
      throwIfInterrupted();
      const why = idle.fired ? `timed out: ${describe(idle.signal.reason)}` : describe(e);
      return { why: `${what}: ${why}`, ...(e instanceof HttpStatusError ? { status: e.status } : {}) };
    } finally {
      idle.stop();
    }
  }
}

/** "HTTP 404 Not Found" */
export function statusLine(res: http.IncomingMessage): string {
  return `HTTP ${res.statusCode ?? "?"}${res.statusMessage ? ` ${res.statusMessage}` : ""}`;
}

/** An HttpStatusError for the response's status ("HTTP 404 Not Found"), to throw inside attempt(). */
export function statusError(res: http.IncomingMessage): HttpStatusError {
  return new HttpStatusError(res.statusCode ?? 0, statusLine(res));
}
