// Every XQBUILD_* variable is parsed once, in src/config/env.ts, when the configuration is
// resolved: ResolvedConfig.xq is what the layers below read, never the environment again.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readXqbuildEnv } from "../../src/config/env.js";
import { UserError } from "../../src/util/errors.js";

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

describe("XQBUILD_* variables are read in one place", () => {
  it("no file under src/ but config/env.ts reads one from an environment", () => {
    const readers: string[] = [];
    for (const file of sources("src")) {
      if (file === path.join("src", "config", "env.ts")) continue;
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\benv(?:\.|\[["'`])XQBUILD_[A-Z_]+|\benv(?:Setting|Boolean|Number)\(/g)) readers.push(`${file}: ${m[0]}`);
    }
    expect(readers).toEqual([]);
  });

  it("parses the words, paths and sizes as well as the switches and numbers", () => {
    const xq = readXqbuildEnv({
      XQBUILD_CACHE_DIR: "rel/cache",
      XQBUILD_CACHE_MAX_SIZE: "2G",
      XQBUILD_REMOTE_CACHE: "http://127.0.0.1:9/c",
      XQBUILD_REMOTE_CACHE_HEADER: "Authorization: Bearer s3cret",
      XQBUILD_MAKE: "/usr/bin/gmake",
      XQBUILD_TARBALL_MAX_BYTES: "1024",
      XQBUILD_OFFLINE: "yes",
    });
    expect(xq).toEqual({
      offline: true,
      tarballMaxBytes: 1024,
      cacheDir: "rel/cache",
      cacheMaxBytes: 2 * 1024 ** 3,
      remoteCache: "http://127.0.0.1:9/c",
      remoteCacheHeader: { name: "Authorization", value: "Bearer s3cret" },
      make: "/usr/bin/gmake",
    });
    // Set but empty: the remote cache is off, whatever the config file names.
    expect(readXqbuildEnv({ XQBUILD_REMOTE_CACHE: "" }).remoteCache).toBe("");
    expect(readXqbuildEnv({ XQBUILD_CACHE_DIR: "", XQBUILD_MAKE: "" })).toEqual({});
  });

  it.each([
    [{ XQBUILD_CACHE_MAX_SIZE: "lots" }, /XQBUILD_CACHE_MAX_SIZE="lots" is not a size/],
    [{ XQBUILD_REMOTE_CACHE_HEADER: "no colon here" }, /XQBUILD_REMOTE_CACHE_HEADER must look like NAME: VALUE/],
  ])("refuses %o before anything runs", (env, message) => {
    expect(() => readXqbuildEnv(env)).toThrow(UserError);
    expect(() => readXqbuildEnv(env)).toThrow(message);
  });
});
