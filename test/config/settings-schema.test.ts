// The config file's schema (src/config/settings.ts): what it accepts, what it makes of paths, and
// the message each mistake gives (FILE: "KEY" WHAT.).
import { describe, expect, it } from "vitest";
import { validateSettings, type Settings } from "../../src/config/settings.js";

const FILE = "/work/xen/.xqbuildrc.json";
const error = (raw: unknown): string => {
  try {
    validateSettings(raw, FILE);
  } catch (e) {
    return (e as Error).message;
  }
  return "accepted";
};

describe("the config file schema", () => {
  it("accepts every setting and makes its paths absolute against the file's directory", () => {
    const s: Settings = validateSettings(
      {
        jobs: 3,
        cacheDir: "cache",
        offline: true,
        mirrors: { "https://xenbits.xen.org/git-http/": "http://127.0.0.1/x/" },
        variables: { QEMU_UPSTREAM_REVISION: "master" },
        features: { spice: true },
        components: { "qemu-xen": { extraConfigureArgs: ["--enable-vnc"], patches: ["p/1.patch"], patchTool: "git", wraps: { fetch: ["dtc"] } }, seabios: { enabled: false, patches: "q" } },
        artifactCache: { enabled: true, maxSize: "2G", remote: "http://127.0.0.1:8080/c", remoteReadOnly: true },
        ccache: "auto",
        ccacheDir: "../cc",
        ccacheMaxSize: "5G",
      },
      FILE,
    );
    expect(s.cacheDir).toBe("/work/xen/cache");
    expect(s.ccacheDir).toBe("/work/cc");
    expect(s.components?.["qemu-xen"]?.patches).toEqual(["/work/xen/p/1.patch"]);
    expect(s.components?.seabios).toEqual({ enabled: false, patches: "/work/xen/q" });
    expect(Object.keys(s.components?.["qemu-xen"] ?? {})).toEqual(["extraConfigureArgs", "patches", "patchTool", "wraps"]);
  });

  it.each([
    [[1], '.xqbuildrc.json: "(top level)" must be an object.'],
    [{ jobz: 4 }, '.xqbuildrc.json: "jobz" is not a setting xqbuild knows (known: jobs, cacheDir, offline, mirrors, variables, features, components, artifactCache, ccache, ccacheDir, ccacheMaxSize, verify, reproducible).'],
    [{ jobs: 1.5 }, '.xqbuildrc.json: "jobs" must be a whole number of at least 1.'],
    [{ components: { "qemu-xen": { extraConfigureArgs: ["--a", 2] } } }, '.xqbuildrc.json: "components.qemu-xen.extraConfigureArgs" must be an array of strings (one argument each).'],
    [{ components: { "qemu-xen": { wraps: { fetch: ["dtc", "x"], skip: ["x", "dtc"] } } } }, '.xqbuildrc.json: "components.qemu-xen.wraps" names dtc, x in both fetch and skip.'],
    [{ artifactCache: { remote: "ftp://h/c" } }, '.xqbuildrc.json: "artifactCache.remote" is not a usable cache URL: the remote cache URL must be http:// or https://, not ftp://..'],
    [{ features: { vnc: true } }, '.xqbuildrc.json: "features.vnc" is not a feature (known: 9pfs, libusb, spice, debug).'],
    // A key a JavaScript record would drop without a word is refused instead.
    [JSON.parse('{"variables": {"__proto__": "x"}}'), '.xqbuildrc.json: "variables.__proto__" is a name xqbuild cannot keep as a key (a JavaScript object drops it).'],
  ])("%j: %s", (raw, message) => {
    expect(error(raw)).toBe(message);
  });
});
