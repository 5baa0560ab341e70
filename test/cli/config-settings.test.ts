// `xqbuild config` shows what the xqbuild config file adds: CONFIG_QEMUU_EXTRA_ARGS with the
// config file's extraConfigureArgs (the arguments configure gets, as `plan` has them), and a
// section listing the file's settings.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath } from "../support/cli-path.js";

function run(dir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", XQBUILD_NO_DOCTOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function dirWith(settings: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-cfgshow-"));
  writeFileSync(path.join(dir, "xqbuild.config.json"), JSON.stringify(settings, null, 2));
  return dir;
}

const SETTINGS = {
  jobs: 3,
  mirrors: { "https://xenbits.xen.org/": "http://ci:s3cret@127.0.0.1/mirror/" },
  components: { "qemu-xen": { extraConfigureArgs: ["--enable-vnc", "--extra-cflags=-O2 -g"] } },
};

describe("xqbuild config and the xqbuild config file", () => {
  it("CONFIG_QEMUU_EXTRA_ARGS shows the config file's arguments with their origin, as configure gets them", () => {
    const dir = dirWith(SETTINGS);
    const text = run(dir, ["config", "--standalone"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^CONFIG_QEMUU_EXTRA_ARGS +\s= --enable-vnc '--extra-cflags=-O2 -g' {2}\[xqbuild config xqbuild\.config\.json: components\.qemu-xen\.extraConfigureArgs\]$/m);
    // The glue's own value comes first, as on the configure line.
    const both = run(dir, ["config", "--standalone", "--json", "CONFIG_QEMUU_EXTRA_ARGS", "CONFIG_QEMUU_EXTRA_ARGS=--enable-sdl"]);
    expect(JSON.parse(both.stdout)).toEqual({
      CONFIG_QEMUU_EXTRA_ARGS: {
        value: "--enable-sdl --enable-vnc '--extra-cflags=-O2 -g'",
        origin: "command line, then xqbuild config xqbuild.config.json: components.qemu-xen.extraConfigureArgs",
        glue: { value: "--enable-sdl", origin: "command line" },
      },
    });
    const plan = JSON.parse(run(dir, ["plan", "--standalone", "qemu-xen", "--json", "CONFIG_QEMUU_EXTRA_ARGS=--enable-sdl"]).stdout) as unknown;
    const argvs: string[][] = [];
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (typeof x === "object" && x !== null) {
        for (const [k, v] of Object.entries(x)) {
          if (k === "argv" && Array.isArray(v)) argvs.push(v as string[]);
          else walk(v);
        }
      }
    };
    walk(plan);
    const configure = argvs.find((a) => a[0]?.endsWith("/configure")) ?? [];
    expect(configure.slice(configure.indexOf("--enable-sdl"))).toEqual(["--enable-sdl", "--cpu=x86_64", "--enable-vnc", "--extra-cflags=-O2 -g"]);
  });

  it("lists the file's settings (credentials hidden) in text and JSON; without a file, neither", () => {
    const dir = dirWith(SETTINGS);
    const text = run(dir, ["config", "--standalone"]).stdout;
    const section = text.slice(text.indexOf("# xqbuild config file xqbuild.config.json"));
    expect(section.trim().split("\n")).toEqual([
      "# xqbuild config file xqbuild.config.json",
      "jobs                                   = 3",
      "mirrors.https://xenbits.xen.org/       = http://***@127.0.0.1/mirror/",
      "components.qemu-xen.extraConfigureArgs = --enable-vnc '--extra-cflags=-O2 -g'",
    ]);
    expect(text).not.toContain("s3cret");
    const json = JSON.parse(run(dir, ["config", "--standalone", "--json"]).stdout) as Record<string, unknown>;
    expect(json["(xqbuild config file)"]).toEqual({
      file: "xqbuild.config.json",
      settings: { jobs: 3, "mirrors.https://xenbits.xen.org/": "http://***@127.0.0.1/mirror/", "components.qemu-xen.extraConfigureArgs": ["--enable-vnc", "--extra-cflags=-O2 -g"] },
    });
    const none = mkdtempSync(path.join(tmpdir(), "xqbuild-cfgshow-none-"));
    const plain = run(none, ["config", "--standalone"]);
    expect(plain.stdout).not.toContain("# xqbuild config file");
    expect(plain.stdout).toMatch(/^CONFIG_QEMUU_EXTRA_ARGS +\s= {2}\[built-in default\]$/m);
    expect(Object.keys(JSON.parse(run(none, ["config", "--standalone", "--json"]).stdout) as object)).not.toContain("(xqbuild config file)");
  });
});
