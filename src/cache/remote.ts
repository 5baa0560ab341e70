// The client for a shared remote artifact cache over plain HTTP GET/HEAD/PUT. Content-addressed:
//   <base>/cas/<sha256-hex>  a blob (a tar file), named by the sha256 of its bytes;
//   <base>/ac/<key-hex>      a small JSON entry mapping a cache key to a blob:
//                            {"format":1,"sha256":"…","size":N,"component":"qemu-xen","created":"…"}
// which is what nginx's WebDAV module (dav_methods PUT, create_full_put_path on) stores as files,
// and what bazel-remote's HTTP cache serves when run with --disable_http_ac_validation.
//
// The cache is an optimisation: nothing here throws for a network or server failure. A lookup that
// fails is a miss with a reason; an upload that fails is {ok:false, why}. Only programmer misuse (a
// key that is not 64 lowercase hex characters, a malformed entry, a bad URL) throws.
//
// This file is the protocol (URLs, documents, verification); the HTTP client under it (timeouts,
// redirects, streaming) is http.ts.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { processSignal } from "../util/signals.js";
import { describe, HttpClient, progress, statusError, statusLine } from "./http.js";

/** How to reach a remote cache. */
export interface RemoteCacheOptions {
  /** The base URL, http or https (see remoteUrlProblem); blobs go under <url>/cas, entries under <url>/ac. */
  url: string;
  /** Look up and download only; put() does nothing. */
  readOnly?: boolean;
  /** Per request: fail when no byte moves for this long (connecting, waiting, transferring). Default 60 000 ms. */
  timeoutMs?: number;
  /** Sent with every request (e.g. Authorization); never logged, never sent to another host. */
  headers?: Record<string, string>;
}

/** What an ac entry says about a blob. */
export interface RemoteEntry {
  /** sha256 of the blob, 64 lowercase hex characters: its name under cas/. */
  sha256: string;
  /** The blob's size in bytes. */
  size: number;
  /** The component the blob holds (e.g. "qemu-xen"). */
  component: string;
  /** When the entry was made, an ISO 8601 date. */
  created: string;
}

/** A remote cache client; see remoteCache(). */
export interface RemoteCache {
  readonly url: string;
  readonly readOnly: boolean;
  /**
   * undefined when absent (404), malformed JSON, wrong fields, or any network/HTTP error: a cache
   * miss never fails the build. Returns also a reason string for a log line, and the HTTP status
   * when the server answered with one other than 200 (404: simply not there).
   */
  getEntry(key: string): Promise<{ entry?: RemoteEntry; why?: string; status?: number }>;
  /** Downloads the blob to destFile (via destFile + ".part" then rename), verifying size and sha256 while streaming; on mismatch/truncation/error removes the partial file and returns {ok:false, why}. */
  getBlob(entry: RemoteEntry, destFile: string): Promise<{ ok: boolean; why?: string; bytes?: number }>;
  /** PUT blob (skipped when a HEAD says it is there with the right size) then the ac entry. No-op with {skipped:"read-only"} when readOnly. Errors are returned, not thrown: {ok:false, why}. */
  put(key: string, entry: RemoteEntry, blobFile: string): Promise<{ ok: boolean; why?: string; skipped?: string; bytes?: number }>;
}

/** The format number of the ac entries this client reads and writes. */
export const REMOTE_ENTRY_FORMAT = 1;

const DEFAULT_TIMEOUT_MS = 60_000;
/** An ac entry is a few hundred bytes; anything much larger is not one. */
const MAX_ENTRY_BYTES = 64 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

/** Validates a cache URL (http or https only, no credentials in it, no query/fragment); returns a problem sentence or undefined. */
export function remoteUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `the remote cache URL ${JSON.stringify(url)} is not a valid URL.`;
  }
  const shown = JSON.stringify(`${u.protocol}//${u.host}${u.pathname}`);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `the remote cache URL must be http:// or https://, not ${u.protocol}//.`;
  }
  if (u.username !== "" || u.password !== "") {
    return `the remote cache URL ${shown} has credentials in it: pass them as a header (e.g. Authorization) instead.`;
  }
  if (u.hostname === "") return `the remote cache URL ${shown} has no host.`;
  if (u.search !== "" || url.includes("?")) return `the remote cache URL ${shown} has a query string: the cache needs a plain base URL.`;
  if (u.hash !== "" || url.includes("#")) return `the remote cache URL ${shown} has a fragment (#…): the cache needs a plain base URL.`;
  return undefined;
}

/** Throws unless s is 64 lowercase hex characters (a key or a sha256 about to go into a URL). */
function checkHex(what: string, s: unknown): asserts s is string {
  if (typeof s !== "string" || !HEX64.test(s)) {
    throw new Error(`remote cache: ${what} must be 64 lowercase hex characters, got ${JSON.stringify(s)}`);
  }
}

/** Throws unless e is a well-formed entry (programmer misuse). */
function checkEntry(e: RemoteEntry): void {
  checkHex("sha256", e.sha256);
  if (!Number.isSafeInteger(e.size) || e.size < 0) throw new Error(`remote cache: size must be a non-negative integer, got ${String(e.size)}`);
  if (typeof e.component !== "string" || e.component === "") throw new Error("remote cache: component must be a non-empty string");
  if (typeof e.created !== "string") throw new Error("remote cache: created must be a string");
}

/** The entry in a parsed ac document, or why it is not one. */
function parseEntry(doc: unknown): { entry: RemoteEntry } | { why: string } {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { why: "not a JSON object" };
  const o = doc as Record<string, unknown>;
  if (o.format !== REMOTE_ENTRY_FORMAT) return { why: `format ${JSON.stringify(o.format)}, not ${REMOTE_ENTRY_FORMAT}` };
  if (typeof o.sha256 !== "string" || !HEX64.test(o.sha256)) return { why: "sha256 is not 64 lowercase hex characters" };
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) return { why: "size is not a non-negative integer" };
  if (typeof o.component !== "string" || o.component === "") return { why: "component is not a non-empty string" };
  // It is printed and stored: a name, never a terminal escape sequence or a path.
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/.test(o.component)) return { why: "component is not a component name" };
  if (typeof o.created !== "string" || Number.isNaN(Date.parse(o.created))) return { why: "created is not a date" };
  return { entry: { sha256: o.sha256, size: o.size, component: o.component, created: o.created } };
}

/** The bytes received are not the blob the entry names. */
class BlobMismatch extends Error {}

class HttpRemoteCache implements RemoteCache {
  readonly url: string;
  readonly readOnly: boolean;
  private readonly http: HttpClient;

  constructor(opts: RemoteCacheOptions) {
    const problem = remoteUrlProblem(opts.url);
    if (problem !== undefined) throw new Error(problem);
    const u = new URL(opts.url);
    u.pathname = u.pathname.replace(/\/+$/, "");
    this.url = u.href.replace(/\/+$/, "");
    this.readOnly = opts.readOnly ?? false;
    this.http = new HttpClient({ base: u, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, ...(opts.headers ? { headers: opts.headers } : {}) });
  }

  private at(kind: "ac" | "cas", hex: string): URL {
    return new URL(`${this.url}/${kind}/${hex}`);
  }

  async getEntry(key: string): Promise<{ entry?: RemoteEntry; why?: string; status?: number }> {
    checkHex("key", key);
    const url = this.at("ac", key);
    const r = await this.http.attempt(`GET ${url.href}`, async (idle) => {
      const { res, abandon } = await this.http.send("GET", url, idle, { headers: { Accept: "application/json" } });
      if (res.statusCode !== 200) {
        abandon();
        throw statusError(res);
      }
      const declared = Number(res.headers["content-length"] ?? "0");
      if (declared > MAX_ENTRY_BYTES) {
        abandon();
        return { why: `GET ${url.href}: an entry of ${declared} bytes is too large to be one` };
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        idle.poke();
        total += chunk.length;
        if (total > MAX_ENTRY_BYTES) {
          abandon();
          return { why: `GET ${url.href}: an entry over ${MAX_ENTRY_BYTES} bytes is too large to be one` };
        }
        chunks.push(chunk);
      }
      if (!res.complete) throw new Error("the response ended early");
      let doc: unknown;
      try {
        doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return { why: `GET ${url.href}: the entry is not JSON` };
      }
      const parsed = parseEntry(doc);
      if ("why" in parsed) return { why: `GET ${url.href}: malformed entry (${parsed.why})` };
      return { entry: parsed.entry };
    });
    if (!("why" in r)) return r.value;
    return r.status === 404 ? { why: `${r.why} (no entry)`, status: 404 } : { why: r.why, ...(r.status !== undefined ? { status: r.status } : {}) };
  }

  async getBlob(entry: RemoteEntry, destFile: string): Promise<{ ok: boolean; why?: string; bytes?: number }> {
    checkEntry(entry);
    const url = this.at("cas", entry.sha256);
    const part = `${destFile}.part`;
    let bytes = 0;
    const r = await this.http.attempt(`GET ${url.href}`, async (idle) => {
      const { res, abandon } = await this.http.send("GET", url, idle);
      if (res.statusCode !== 200) {
        abandon();
        return statusLine(res);
      }
      const declared = res.headers["content-length"];
      if (declared !== undefined && Number(declared) !== entry.size) {
        abandon();
        return `size mismatch: the server has ${declared} bytes, the entry says ${entry.size}`;
      }
      await mkdir(path.dirname(destFile), { recursive: true });
      const hash = createHash("sha256");
      const count = progress(idle, (chunk) => {
        bytes += chunk.length;
        if (bytes > entry.size) throw new BlobMismatch(`size mismatch: more than the ${entry.size} bytes the entry says`);
        hash.update(chunk);
      });
      try {
        await pipeline(res, count, createWriteStream(part), { signal: AbortSignal.any([idle.signal, processSignal]) });
      } catch (e) {
        if (idle.fired || e instanceof BlobMismatch) throw e;
        throw new Error(`${describe(e)} after ${bytes} of ${entry.size} bytes`);
      }
      if (!res.complete) return `truncated: the response ended after ${bytes} of ${entry.size} bytes`;
      if (bytes !== entry.size) return `truncated: got ${bytes} of ${entry.size} bytes`;
      const got = hash.digest("hex");
      if (got !== entry.sha256) return `sha256 mismatch: got ${got}, expected ${entry.sha256}`;
      await rename(part, destFile);
      return undefined;
    });
    const why = "why" in r ? r.why : r.value === undefined ? undefined : `GET ${url.href}: ${r.value}`;
    if (why === undefined) return { ok: true, bytes };
    await rm(part, { force: true }).catch(() => undefined);
    return { ok: false, why };
  }

  async put(key: string, entry: RemoteEntry, blobFile: string): Promise<{ ok: boolean; why?: string; skipped?: string; bytes?: number }> {
    checkHex("key", key);
    checkEntry(entry);
    if (this.readOnly) return { ok: true, skipped: "read-only" };

    // The blob must be what its name says before it goes where others will trust the name.
    let size: number;
    try {
      size = (await stat(blobFile)).size;
      if (size !== entry.size) return { ok: false, why: `${blobFile} has ${size} bytes, the entry says ${entry.size}` };
      const hash = createHash("sha256");
      await pipeline(createReadStream(blobFile), hash);
      const got = hash.digest("hex");
      if (got !== entry.sha256) return { ok: false, why: `${blobFile} has sha256 ${got}, the entry says ${entry.sha256}` };
    } catch (e) {
      return { ok: false, why: `cannot read ${blobFile}: ${describe(e)}` };
    }

    const blobUrl = this.at("cas", entry.sha256);
    const head = await this.http.attempt(`HEAD ${blobUrl.href}`, async (idle) => {
      const { res, abandon } = await this.http.send("HEAD", blobUrl, idle);
      abandon();
      return res.statusCode === 200 && Number(res.headers["content-length"]) === size;
    });
    if ("why" in head) return { ok: false, why: head.why };

    let bytes = 0;
    if (!head.value) {
      const sent = await this.http.attempt(`PUT ${blobUrl.href}`, async (idle) => {
        const body = { open: () => createReadStream(blobFile), length: size };
        const { res, abandon } = await this.http.send("PUT", blobUrl, idle, {
          headers: { "Content-Type": "application/octet-stream" },
          body,
        });
        abandon();
        return res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? undefined : statusLine(res);
      });
      if ("why" in sent) return { ok: false, why: sent.why };
      if (sent.value !== undefined) return { ok: false, why: `PUT ${blobUrl.href}: ${sent.value}` };
      bytes = size;
    }

    const acUrl = this.at("ac", key);
    const doc = Buffer.from(
      `${JSON.stringify({ format: REMOTE_ENTRY_FORMAT, sha256: entry.sha256, size: entry.size, component: entry.component, created: entry.created })}\n`,
    );
    const wrote = await this.http.attempt(`PUT ${acUrl.href}`, async (idle) => {
      const { res, abandon } = await this.http.send("PUT", acUrl, idle, {
        headers: { "Content-Type": "application/json" },
        body: { open: () => Readable.from([doc]), length: doc.length },
      });
      abandon();
      return res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? undefined : statusLine(res);
    });
    if ("why" in wrote) return { ok: false, why: wrote.why };
    if (wrote.value !== undefined) return { ok: false, why: `PUT ${acUrl.href}: ${wrote.value}` };
    return { ok: true, bytes };
  }
}

/** A client for the remote cache at opts.url; throws (plain Error) if the URL has a problem (see remoteUrlProblem). */
export function remoteCache(opts: RemoteCacheOptions): RemoteCache {
  return new HttpRemoteCache(opts);
}
