// The compiled CLI (dist/) as a user runs it: what it reads of its package is found from there too.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cliPath } from "../support/cli-path.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

describe("the compiled CLI", () => {
  it("knows its version, in --version and in the man page", () => {
    const v = spawnSync("node", [cliPath(), "--version"], { encoding: "utf8" });
    expect(v.stdout.trim()).toBe(`xqbuild ${version}`);
    const man = spawnSync("node", [cliPath(), "man"], { encoding: "utf8" });
    expect(man.status).toBe(0);
    expect(man.stdout.split("\n")[0]).toBe(`.TH XQBUILD 1 "" "xqbuild ${version.replace(/-/g, "\\-")}" "User Commands"`);
  });
});
