// The remote artifact cache client against a real nginx WebDAV server on loopback (PUT with
// create_full_put_path, as a shared cache would be set up), plus a few small node servers for what
// nginx will not do on demand: cut a response short, stall, redirect elsewhere.
import { createHash, randomBytes } from "node:crypto";
import { type Dirent, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteCache, remoteUrlProblem, type RemoteEntry } from "../../src/cache/remote.js";
import { freePort, startWebDav, type WebDavServer } from "../support/servers.js";

const bases: string[] = [];
const servers: { stop(): Promise<void> }[] = [];

function tempDir(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `xqbuild-remote-${name}-`));
  bases.push(dir);
  return dir;
}

async function webDav(name: string, opts: { readOnly?: boolean } = {}): Promise<WebDavServer> {
  const srv = await startWebDav(path.join(tempDir(name), "root"), opts);
  servers.push(srv);
  return srv;
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const keyOf = (s: string): string => sha256(Buffer.from(s));

/** Every file under dir, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

let blob: Buffer;
let blobFile: string;
let entry: RemoteEntry;

beforeAll(() => {
  // ~5 MB, not a multiple of any buffer size.
  blob = randomBytes(5 * 1024 * 1024 + 12345);
  blobFile = path.join(tempDir("blob"), "qemu-xen.tar");
  writeFileSync(blobFile, blob);
  entry = { sha256: sha256(blob), size: blob.length, component: "qemu-xen", created: new Date().toISOString() };
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const b of bases) rmSync(b, { recursive: true, force: true });
});

describe("remote cache against nginx WebDAV", () => {
  it("puts a blob and its entry, then finds and downloads them", async () => {
    const srv = await webDav("roundtrip");
    const cache = remoteCache({ url: `${srv.url}/xq/`, headers: { Authorization: "Bearer s3cret" } });
    const key = keyOf("roundtrip");

    const put = await cache.put(key, entry, blobFile);
    expect(put, srv.errorLog()).toEqual({ ok: true, bytes: blob.length });
    expect(filesUnder(srv.root)).toEqual([`xq/ac/${key}`, `xq/cas/${entry.sha256}`]);
    expect(sha256(readFileSync(path.join(srv.root, "xq/cas", entry.sha256)))).toBe(entry.sha256);
    expect(JSON.parse(readFileSync(path.join(srv.root, "xq/ac", key), "utf8"))).toEqual({ format: 1, ...entry });

    const got = await cache.getEntry(key);
    expect(got).toEqual({ entry });

    const dest = path.join(tempDir("dest"), "sub", "out.tar");
    const dl = await cache.getBlob(entry, dest);
    expect(dl).toEqual({ ok: true, bytes: blob.length });
    expect(readFileSync(dest).equals(blob)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);

    // A second put under another key finds the blob there (HEAD) and sends only the entry.
    const mtime = statSync(path.join(srv.root, "xq/cas", entry.sha256)).mtimeMs;
    const key2 = keyOf("roundtrip-2");
    expect(await cache.put(key2, entry, blobFile)).toEqual({ ok: true, bytes: 0 });
    expect(statSync(path.join(srv.root, "xq/cas", entry.sha256)).mtimeMs).toBe(mtime);
    expect((await cache.getEntry(key2)).entry).toEqual(entry);
  });

  it("reports an absent key as a miss naming the 404", async () => {
    const srv = await webDav("miss");
    const cache = remoteCache({ url: srv.url });
    const got = await cache.getEntry(keyOf("absent"));
    expect(got.entry).toBeUndefined();
    expect(got.why).toMatch(/HTTP 404/);
    expect(got.why).toContain(`/ac/${keyOf("absent")}`);
  });

  it("a read-only client writes nothing", async () => {
    const srv = await webDav("ro-client");
    const cache = remoteCache({ url: srv.url, readOnly: true });
    expect(cache.readOnly).toBe(true);
    expect(await cache.put(keyOf("ro"), entry, blobFile)).toEqual({ ok: true, skipped: "read-only" });
    expect(filesUnder(srv.root)).toEqual([]);
  });

  it("a server that refuses PUT makes put() fail with the HTTP status, and nothing is written", async () => {
    const srv = await webDav("ro-server", { readOnly: true });
    const cache = remoteCache({ url: srv.url });
    const put = await cache.put(keyOf("refused"), entry, blobFile);
    expect(put.ok).toBe(false);
    expect(put.why).toMatch(/^PUT http:\/\/127\.0\.0\.1:\d+\/cas\/[0-9a-f]{64}: HTTP 403/);
    expect(filesUnder(srv.root)).toEqual([]);
    // GET still works there: a blob placed by hand is served.
    mkdirSync(path.join(srv.root, "cas"), { recursive: true });
    writeFileSync(path.join(srv.root, "cas", entry.sha256), blob);
    const dest = path.join(tempDir("ro-dest"), "out.tar");
    expect(await cache.getBlob(entry, dest)).toEqual({ ok: true, bytes: blob.length });
  });

  it("detects a corrupted blob (same size, other bytes) and leaves no file behind", async () => {
    const srv = await webDav("corrupt");
    const cache = remoteCache({ url: srv.url });
    expect((await cache.put(keyOf("corrupt"), entry, blobFile)).ok).toBe(true);
    const other = Buffer.from(blob);
    const mid = other.length >> 1;
    other.writeUInt8(other.readUInt8(mid) ^ 0xff, mid);
    writeFileSync(path.join(srv.root, "cas", entry.sha256), other);

    const got = await cache.getEntry(keyOf("corrupt"));
    expect(got.entry).toEqual(entry);
    const dir = tempDir("corrupt-dest");
    const dest = path.join(dir, "out.tar");
    const dl = await cache.getBlob(entry, dest);
    expect(dl.ok).toBe(false);
    expect(dl.why).toMatch(/sha256 mismatch/);
    expect(dl.why).toContain(sha256(other));
    expect(readdirSync(dir)).toEqual([]);
  });

  it("detects a truncated blob and leaves no file behind", async () => {
    const srv = await webDav("truncated");
    const cache = remoteCache({ url: srv.url });
    expect((await cache.put(keyOf("truncated"), entry, blobFile)).ok).toBe(true);
    truncateSync(path.join(srv.root, "cas", entry.sha256), blob.length - 1000);
    const dir = tempDir("truncated-dest");
    const dl = await cache.getBlob(entry, path.join(dir, "out.tar"));
    expect(dl.ok).toBe(false);
    expect(dl.why).toMatch(/size mismatch: the server has \d+ bytes/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("ignores a malformed entry: not JSON, or JSON with wrong fields", async () => {
    const srv = await webDav("malformed");
    const cache = remoteCache({ url: srv.url });
    mkdirSync(path.join(srv.root, "ac"), { recursive: true });
    const cases: [string, string, RegExp][] = [
      ["not-json", '{"format":1,"sha256":', /not JSON/],
      ["bad-sha", JSON.stringify({ format: 1, sha256: "../../etc/passwd", size: 1, component: "x", created: entry.created }), /malformed entry \(sha256/],
      ["bad-size", JSON.stringify({ format: 1, sha256: entry.sha256, size: -1, component: "x", created: entry.created }), /malformed entry \(size/],
      ["format-2", JSON.stringify({ ...entry, format: 2 }), /malformed entry \(format 2/],
      ["array", "[]", /malformed entry \(not a JSON object/],
    ];
    for (const [name, text, why] of cases) {
      writeFileSync(path.join(srv.root, "ac", keyOf(name)), text);
      const got = await cache.getEntry(keyOf(name));
      expect(got.entry, name).toBeUndefined();
      expect(got.why, name).toMatch(why);
    }
    // The same directory serves a good entry, so the misses above are the content's doing.
    writeFileSync(path.join(srv.root, "ac", keyOf("good")), JSON.stringify({ format: 1, ...entry }));
    expect((await cache.getEntry(keyOf("good"))).entry).toEqual(entry);
  });

  it("a server that is gone gives misses and failures, not exceptions", async () => {
    const srv = await webDav("gone");
    const cache = remoteCache({ url: srv.url, timeoutMs: 5000 });
    await srv.stop();
    const got = await cache.getEntry(keyOf("gone"));
    expect(got.entry).toBeUndefined();
    expect(got.why).toMatch(/ECONNREFUSED/);
    const dir = tempDir("gone-dest");
    const dl = await cache.getBlob(entry, path.join(dir, "out.tar"));
    expect(dl.ok).toBe(false);
    expect(dl.why).toMatch(/ECONNREFUSED/);
    expect(readdirSync(dir)).toEqual([]);
    const put = await cache.put(keyOf("gone"), entry, blobFile);
    expect(put.ok).toBe(false);
    expect(put.why).toMatch(/^HEAD .*ECONNREFUSED/);
  });
});

/** A node HTTP server on loopback whose every request is answered by handler. */
async function nodeServer(handler: http.RequestListener): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? ""}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push({
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  const addr = server.address();
  if (typeof addr !== "object" || addr === null) throw new Error("no address");
  return { url: `http://127.0.0.1:${addr.port}`, requests };
}

describe("remote cache against misbehaving servers", () => {
  it("detects a connection cut in the middle of a blob", async () => {
    const srv = await nodeServer((_req, res) => {
      res.writeHead(200, { "Content-Length": String(blob.length) });
      res.write(blob.subarray(0, 1 << 20), () => setTimeout(() => res.socket?.destroy(), 50));
    });
    const dir = tempDir("cut-dest");
    const dl = await remoteCache({ url: srv.url }).getBlob(entry, path.join(dir, "out.tar"));
    expect(dl.ok).toBe(false);
    expect(dl.why).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/cas\//);
    expect(dl.why).toMatch(/: (aborted|ECONNRESET|premature close)[^:]* after \d+ of \d+ bytes$/i);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("counts the bytes of a blob sent without a Content-Length (chunked): too few, too many", async () => {
    const srv = await nodeServer((req, res) => {
      // No Content-Length: node sends the body chunked and ends it cleanly.
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.end(req.url?.startsWith("/short/") ? blob.subarray(0, 1000) : Buffer.concat([blob, Buffer.from("x")]));
    });
    const dir = tempDir("chunked-dest");
    const url = (suffix: string): string => `${srv.url}/${suffix}`;
    const short = await remoteCache({ url: url("short") }).getBlob(entry, path.join(dir, "out.tar"));
    expect(short).toEqual({ ok: false, why: expect.stringMatching(/truncated: got 1000 of \d+ bytes$/) });
    const long = await remoteCache({ url: url("long") }).getBlob(entry, path.join(dir, "out.tar"));
    expect(long).toEqual({ ok: false, why: expect.stringMatching(/size mismatch: more than the \d+ bytes the entry says$/) });
    expect(readdirSync(dir)).toEqual([]);
  });

  it("gives up on a transfer that stalls, after the idle timeout", async () => {
    const srv = await nodeServer((_req, res) => {
      res.writeHead(200, { "Content-Length": String(blob.length) });
      res.write(blob.subarray(0, 4096)); // then nothing
    });
    const dir = tempDir("stall-dest");
    const started = Date.now();
    const dl = await remoteCache({ url: srv.url, timeoutMs: 400 }).getBlob(entry, path.join(dir, "out.tar"));
    expect(dl.ok).toBe(false);
    expect(dl.why).toMatch(/timed out: no progress for 400 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("does not follow a redirect to another host, and never shows header values", async () => {
    const elsewhere = await nodeServer((_req, res) => res.end("{}"));
    const srv = await nodeServer((req, res) => {
      res.writeHead(302, { Location: `${elsewhere.url}${req.url ?? "/"}` });
      res.end();
    });
    const cache = remoteCache({ url: srv.url, headers: { Authorization: "Bearer s3cret" } });
    const got = await cache.getEntry(keyOf("redirect"));
    expect(got.entry).toBeUndefined();
    expect(got.why).toMatch(/redirect to another host/);
    expect(got.why).not.toContain("s3cret");
    expect(srv.requests).toEqual([`GET /ac/${keyOf("redirect")} auth=Bearer s3cret`]);
    expect(elsewhere.requests).toEqual([]);
  });

  it("follows a redirect on the same host", async () => {
    const srv = await nodeServer((req, res) => {
      if (req.url?.startsWith("/old/")) {
        res.writeHead(301, { Location: req.url.replace("/old/", "/new/") });
        res.end();
      } else {
        res.end(JSON.stringify({ format: 1, ...entry }));
      }
    });
    const got = await remoteCache({ url: `${srv.url}/old` }).getEntry(keyOf("moved"));
    expect(got).toEqual({ entry });
    expect(srv.requests.map((r) => r.split(" ")[1])).toEqual([`/old/ac/${keyOf("moved")}`, `/new/ac/${keyOf("moved")}`]);
  });

  it("refuses to upload a blob that is not what the entry says", async () => {
    const srv = await nodeServer((_req, res) => res.end());
    const cache = remoteCache({ url: srv.url });
    const wrongSha = { ...entry, sha256: keyOf("other") };
    expect(await cache.put(keyOf("x"), wrongSha, blobFile)).toEqual({ ok: false, why: expect.stringMatching(/has sha256 [0-9a-f]{64}, the entry says/) });
    expect(await cache.put(keyOf("x"), { ...entry, size: 1 }, blobFile)).toEqual({ ok: false, why: expect.stringMatching(/has \d+ bytes, the entry says 1/) });
    expect(srv.requests).toEqual([]);
  });
});

describe("remoteUrlProblem and misuse", () => {
  it("accepts plain http and https base URLs", () => {
    for (const url of ["http://127.0.0.1:8080", "http://cache.example/xqbuild/", "https://cache.example:8443/a/b"]) {
      expect(remoteUrlProblem(url), url).toBeUndefined();
    }
  });

  it("names what is wrong with a bad URL, without echoing a password", () => {
    expect(remoteUrlProblem("not a url")).toMatch(/not a valid URL/);
    expect(remoteUrlProblem("ftp://cache.example/")).toMatch(/http:\/\/ or https:\/\/, not ftp:/);
    expect(remoteUrlProblem("file:///srv/cache")).toMatch(/not file:/);
    const creds = remoteUrlProblem("https://bob:hunter2@cache.example/");
    expect(creds).toMatch(/credentials/);
    expect(creds).not.toContain("hunter2");
    expect(remoteUrlProblem("https://cache.example/?token=x")).toMatch(/query string/);
    expect(remoteUrlProblem("https://cache.example/?")).toMatch(/query string/);
    expect(remoteUrlProblem("https://cache.example/#frag")).toMatch(/fragment/);
  });

  it("throws on programmer misuse: a bad URL, key or sha256", async () => {
    expect(() => remoteCache({ url: "ftp://x/" })).toThrow(/http:\/\/ or https:\/\//);
    const port = await freePort();
    const cache = remoteCache({ url: `http://127.0.0.1:${port}` });
    await expect(cache.getEntry("ABC")).rejects.toThrow(/key must be 64 lowercase hex/);
    await expect(cache.getEntry(keyOf("k").toUpperCase())).rejects.toThrow(/key must be 64 lowercase hex/);
    await expect(cache.getEntry(`../${keyOf("k").slice(3)}`)).rejects.toThrow(/key must be/);
    await expect(cache.getBlob({ ...entry, sha256: "../x" }, "/tmp/never")).rejects.toThrow(/sha256 must be/);
    await expect(cache.put(keyOf("k"), { ...entry, sha256: "x" }, blobFile)).rejects.toThrow(/sha256 must be/);
  });
});
