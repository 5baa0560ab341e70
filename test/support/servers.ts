// Loopback git servers standing in for xenbits: the real `git daemon` (git://, the protocol of Xen
// 4.17's default URLs) and the real `git http-backend` behind a small node HTTP server (smart HTTP,
// the GIT_HTTP=y and https-era path), with fault injection; and the real nginx with WebDAV PUT, a
// shared remote artifact cache. All listen on 127.0.0.1 only.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import zlib from "node:zlib";
import { gitEnv } from "./git.js";
import { startGitDaemon as startDaemon, type GitDaemon, type GitDaemonOptions } from "./git-daemon.mjs";
import { HOST, exited, killChild, track } from "./loopback.mjs";

export { canConnect, freePort } from "./loopback.mjs";

export type { GitDaemon } from "./git-daemon.mjs";

/**
 * Serves every repository under baseDir over git:// on 127.0.0.1 with the real git daemon (the one
 * starter, git-daemon.mjs), on a free port, with the tests' git environment unless opts.env says.
 */
export function startGitDaemon(baseDir: string, opts: GitDaemonOptions = {}): Promise<GitDaemon> {
  return startDaemon(baseDir, { env: gitEnv(), ...opts });
}

export interface HttpGitFaults {
  /** Answer the first N requests (counted from the server's start) with HTTP 500. */
  failFirst?: number;
  /** Answer every request with HTTP 404. */
  notFound?: boolean;
}

export interface HttpRequestLog {
  readonly method: string;
  /** path and query, as requested */
  readonly url: string;
  readonly status: number;
  /** the request body was gzip-compressed (Content-Encoding: gzip) */
  readonly gzip: boolean;
  /** the Git-Protocol header, e.g. "version=2" */
  readonly gitProtocol?: string;
}

export interface HttpGitServer {
  readonly port: number;
  /** http://127.0.0.1:PORT/NAME */
  url(name: string): string;
  /** Requests received so far. */
  readonly requests: number;
  /** Every request with the status it was answered with (in order of arrival). */
  readonly log: readonly HttpRequestLog[];
  /** The fault injection in force; change its fields to change the server's behaviour from now on. */
  readonly faults: HttpGitFaults;
  /** What git http-backend wrote to stderr (the last 64 KiB). */
  readonly stderr: () => string;
  /** Closes the server and its connections and ends any running http-backend. */
  stop(): Promise<void>;
}

interface CgiHead {
  status: number;
  headers: [string, string][];
}

/** Parses the CGI header block (without its blank line). */
function parseCgiHead(text: string): CgiHead {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers };
}

/**
 * Serves every repository under baseDir over smart HTTP on 127.0.0.1 (a free port), by running the
 * real `git http-backend` as a CGI program for each request.
 */
export async function startHttpGit(baseDir: string, opts: HttpGitFaults = {}): Promise<HttpGitServer> {
  const base = path.resolve(baseDir);
  const faults: HttpGitFaults = { ...opts };
  const log: HttpRequestLog[] = [];
  const children = new Set<ChildProcess>();
  let stderr = "";
  let count = 0;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    count++;
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    const gzip = /^(x-)?gzip$/i.test(String(req.headers["content-encoding"] ?? ""));
    const gitProtocol = typeof req.headers["git-protocol"] === "string" ? req.headers["git-protocol"] : undefined;
    const entry = (status: number): HttpRequestLog => ({ method, url: rawUrl, status, gzip, ...(gitProtocol !== undefined ? { gitProtocol } : {}) });
    const plain = (status: number, text: string): void => {
      log.push(entry(status));
      req.resume();
      res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (faults.notFound) return plain(404, "Not Found (fault injected)\n");
    if (count <= (faults.failFirst ?? 0)) return plain(500, "Internal Server Error (fault injected)\n");

    const q = rawUrl.indexOf("?");
    let pathInfo: string;
    try {
      pathInfo = decodeURIComponent(q < 0 ? rawUrl : rawUrl.slice(0, q));
    } catch {
      return plain(400, "bad path\n");
    }
    const env: NodeJS.ProcessEnv = {
      ...gitEnv(),
      GIT_PROJECT_ROOT: base,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: pathInfo,
      QUERY_STRING: q < 0 ? "" : rawUrl.slice(q + 1),
      REQUEST_METHOD: method,
      REMOTE_ADDR: req.socket.remoteAddress ?? HOST,
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      GATEWAY_INTERFACE: "CGI/1.1",
    };
    if (req.headers["content-type"]) env.CONTENT_TYPE = req.headers["content-type"];
    // A gzip body is inflated here, so its length is unknown: http-backend then reads to EOF.
    if (req.headers["content-length"] && !gzip) env.CONTENT_LENGTH = req.headers["content-length"];
    if (gitProtocol !== undefined) env.GIT_PROTOCOL = gitProtocol;

    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    track(child);
    children.add(child);
    child.on("exit", () => children.delete(child));
    child.on("error", (e) => {
      children.delete(child);
      stderr = (stderr + `spawn: ${e.message}\n`).slice(-65536);
      if (!res.headersSent) plain(502, `cannot run git http-backend: ${e.message}\n`);
      else res.destroy();
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr = (stderr + d).slice(-65536);
    });
    // The client going away ends the backend.
    res.on("close", () => {
      if (!res.writableFinished && !exited(child)) child.kill("SIGTERM");
    });

    // Request body → stdin (inflated when gzip).
    child.stdin.on("error", () => undefined); // the backend may exit without reading everything
    if (gzip) {
      const gunzip = zlib.createGunzip();
      gunzip.on("error", () => {
        child.kill("SIGTERM");
        if (!res.headersSent) plain(400, "bad gzip body\n");
      });
      req.pipe(gunzip).pipe(child.stdin);
    } else {
      req.pipe(child.stdin);
    }

    // stdout: CGI headers, a blank line, then the body, streamed.
    let head = Buffer.alloc(0);
    let inBody = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (inBody) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString("latin1");
      const crlf = text.indexOf("\r\n\r\n");
      const lf = text.indexOf("\n\n");
      let end = -1;
      let sep = 0;
      if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, sep] = [crlf, 4];
      else if (lf >= 0) [end, sep] = [lf, 2];
      if (end < 0) return;
      const { status, headers } = parseCgiHead(text.slice(0, end));
      log.push(entry(status));
      res.statusCode = status;
      for (const [k, v] of headers) res.setHeader(k, v);
      inBody = true;
      const rest = head.subarray(end + sep);
      if (rest.length > 0) res.write(rest);
    });
    child.stdout.on("end", () => {
      if (!inBody) {
        if (!res.headersSent) plain(502, `git http-backend gave no CGI headers\n${head.toString("utf8")}`);
        return;
      }
      res.end();
    });
  };

  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  if (typeof addr !== "object" || addr === null) throw new Error("startHttpGit: no address");
  const port = addr.port;
  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await Promise.all([...children].map((c) => killChild(c)));
    await closed;
  };
  return {
    port,
    url: (name) => `http://${HOST}:${port}/${name}`,
    get requests() {
      return count;
    },
    log,
    faults,
    stderr: () => stderr,
    stop: () => (stopped ??= stop()),
  };
}

export { startWebDav, type WebDavServer } from "./webdav.mjs";
