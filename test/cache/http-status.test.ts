// A remote cache's "not there" is told by the HTTP status the client carries (404), not by a match
// on the reason's text: a 404 is a quiet miss, any other status a line for the person.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactStore } from "../../src/cache/artifacts.js";
import { ArtifactCache } from "../../src/cache/cache.js";
import { remoteCache } from "../../src/cache/remote.js";

let server: http.Server;
let base: string;
// The status answered for each entry, by the key's first character.
const STATUS: Record<string, number> = { a: 404, b: 500, c: 403 };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const key = (req.url ?? "").split("/").pop() ?? "";
    res.writeHead(STATUS[key[0] ?? ""] ?? 404, { "Content-Type": "text/plain" });
    res.end("error 404 page\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // A path with 404 in it: the old match on the reason text took every failure here for a miss.
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ci-404/cache`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("remote cache statuses", () => {
  it("getEntry carries the server's status beside the reason", async () => {
    const remote = remoteCache({ url: base, timeoutMs: 5000 });
    const miss = await remote.getEntry("a".repeat(64));
    expect(miss.entry).toBeUndefined();
    expect(miss.status).toBe(404);
    expect(miss.why).toBe(`GET ${base}/ac/${"a".repeat(64)}: HTTP 404 Not Found (no entry)`);
    const broken = await remote.getEntry("b".repeat(64));
    expect(broken.status).toBe(500);
    expect(broken.why).toBe(`GET ${base}/ac/${"b".repeat(64)}: HTTP 500 Internal Server Error`);
  });

  it("the artifact cache is silent on a 404 and says a 500 or a 403, whatever the URL says", async () => {
    const said: string[] = [];
    const store = new ArtifactStore(mkdtempSync(path.join(tmpdir(), "xqbuild-httpstatus-")), 1 << 30);
    const cache = new ArtifactCache({ store, remote: remoteCache({ url: base, timeoutMs: 5000 }), say: (c, t) => said.push(`${c}: ${t}`) });
    expect(await cache.find("a".repeat(64), "qemu-xen")).toBeUndefined();
    expect(said).toEqual([]);
    expect(await cache.find("b".repeat(64), "qemu-xen")).toBeUndefined();
    expect(await cache.find("c".repeat(64), "qemu-xen")).toBeUndefined();
    expect(said).toEqual([
      `qemu-xen: remote cache: GET ${base}/ac/${"b".repeat(64)}: HTTP 500 Internal Server Error`,
      `qemu-xen: remote cache: GET ${base}/ac/${"c".repeat(64)}: HTTP 403 Forbidden`,
    ]);
  });
});
