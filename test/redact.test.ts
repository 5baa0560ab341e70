import { describe, expect, it } from "vitest";
import { envBoolean, envNumber, readXqbuildEnv } from "../src/config/env.js";
import { UserError } from "../src/util/errors.js";
import { redactText, withoutCredentials } from "../src/util/redact.js";

describe("redactText", () => {
  it("hides userinfo and query strings of every URL in a text", () => {
    expect(redactText("fetching x from https://u:p@w@h.example/x.git?tok=1 failed")).toBe("fetching x from https://***@h.example/x.git?*** failed");
    expect(redactText(`'http://bob:s3cret@127.0.0.1:8080/q.git' and "https://TOKEN@github.com/x"`)).toBe(`'http://***@127.0.0.1:8080/q.git' and "https://***@github.com/x"`);
    expect(redactText(JSON.stringify({ url: "https://a:b@h/x?y=z" }))).toBe('{"url":"https://***@h/x?***"}');
  });
  it("keeps what is no credential: an ssh account name, an address in prose, a plain URL", () => {
    expect(redactText("ssh://git@host/x")).toBe("ssh://git@host/x");
    expect(redactText("ssh://git:pw@host/x")).toBe("ssh://***@host/x");
    expect(redactText("see https://host/x and mail a@b")).toBe("see https://host/x and mail a@b");
    expect(redactText("git://h/x#frag and user@host:path")).toBe("git://h/x#frag and user@host:path");
  });
});

describe("withoutCredentials", () => {
  it("drops userinfo and the query, keeps the rest", () => {
    expect(withoutCredentials("https://u:p@w@h.example:8443/x.git?tok=1#f")).toBe("https://h.example:8443/x.git#f");
    expect(withoutCredentials("https://TOKEN@github.com/x")).toBe("https://github.com/x");
    expect(withoutCredentials("ssh://git@host/x")).toBe("ssh://git@host/x");
    expect(withoutCredentials("/srv/git/x")).toBe("/srv/git/x");
    expect(withoutCredentials("git@host:x.git")).toBe("git@host:x.git");
  });
});

describe("XQBUILD_* values", () => {
  it("reads the usual yes/no words in any case, and unset or empty as unset", () => {
    for (const v of ["1", "true", "YES", "On", "y"]) expect(envBoolean({ X: v }, "X")).toBe(true);
    for (const v of ["0", "false", "No", "OFF", "n"]) expect(envBoolean({ X: v }, "X")).toBe(false);
    expect(envBoolean({}, "X")).toBeUndefined();
    expect(envBoolean({ X: "" }, "X")).toBeUndefined();
  });
  it("refuses anything else, naming the variable and the value", () => {
    expect(() => envBoolean({ XQBUILD_OFFLINE: "maybe" }, "XQBUILD_OFFLINE")).toThrow(UserError);
    expect(() => envBoolean({ XQBUILD_OFFLINE: "maybe" }, "XQBUILD_OFFLINE")).toThrow(/XQBUILD_OFFLINE="maybe"/);
  });
  it("checks numbers against their range", () => {
    expect(envNumber({ N: "5" }, "N", { min: 1, max: 10, unit: "s" })).toBe(5);
    for (const v of ["-5", "0", "11", "1e3", "5s", "0x10", "Infinity"]) expect(() => envNumber({ N: v }, "N", { min: 1, max: 10, unit: "s" }), v).toThrow(/N=/);
    expect(() => envNumber({ N: "2.5" }, "N", { min: 1, max: 10, integer: true, unit: "bytes" })).toThrow(/whole number/);
  });
  it("reads every switch once into one value", () => {
    expect(readXqbuildEnv({ XQBUILD_OFFLINE: "true", XQBUILD_REMOTE_CACHE_READONLY: "false", XQBUILD_ARTIFACT_CACHE: "no", XQBUILD_CCACHE: "off", XQBUILD_STALL_TIMEOUT: "30" })).toEqual({
      offline: true,
      remoteCacheReadOnly: false,
      artifactCache: false,
      ccache: false,
      stallTimeoutSeconds: 30,
    });
    expect(readXqbuildEnv({ XQBUILD_CCACHE: "/opt/ccache/bin/ccache" })).toEqual({ ccache: "/opt/ccache/bin/ccache" });
    expect(() => readXqbuildEnv({ XQBUILD_STALL_TIMEOUT: "-5" })).toThrow(/XQBUILD_STALL_TIMEOUT="-5"/);
  });
});

describe("xqbuild.lock and credentials", () => {
  it("stores the URL without them, an old entry with them included, and matches a pin against the configured URL either way", async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const { pinnedUrlMatches, readLockFile, writeLockFile } = await import("../src/source/lockfile.js");
    const dir = mkdtempSync(path.join(tmpdir(), "xq-lock-"));
    try {
      const commit = "a".repeat(40);
      await writeLockFile(dir, { version: 1, components: { seabios: { url: "https://bob:hunter2@h.example/s.git?t=x", revision: "rel-1", commit } } });
      const text = readFileSync(path.join(dir, "xqbuild.lock"), "utf8");
      expect(text).not.toContain("hunter2");
      const entry = readLockFile(dir).components.seabios;
      expect(entry?.url).toBe("https://h.example/s.git");
      expect(entry && pinnedUrlMatches(entry, "https://bob:hunter2@h.example/s.git?t=x")).toBe(true);
      expect(entry && pinnedUrlMatches({ ...entry, url: "https://bob:old@h.example/s.git" }, "https://h.example/s.git")).toBe(true);
      expect(entry && pinnedUrlMatches(entry, "https://h.example/other.git")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes linear time on a long line with a :// in it", () => {
    const line = `${"a.".repeat(500_000)}://x`;
    const t0 = Date.now();
    expect(redactText(line)).toBe(line);
    expect(Date.now() - t0).toBeLessThan(10_000); // quadratic work on this line would take hours
  });
});
