// Point 6 of issue 15, the command line: help per command, "did you mean", -n/--dry-run.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS, OPTIONS, parseArgs } from "../../src/cli/args.js";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { UsageError } from "../../src/util/errors.js";

const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME };

async function run(argv: string[], cwd = tmp()) {
  const output = memoryOutput();
  const code = await main(argv, { cwd, env: BASE_ENV, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), "xqbuild-cli-help-"));
}

/** Every file and directory under dir, relative. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("help", () => {
  it("xqbuild help is the overview: every command and every option", async () => {
    const h = await run(["help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toBe((await run(["--help"])).stdout);
    for (const c of COMMANDS) expect(h.stdout).toMatch(new RegExp(`^  ${c} +\\S`, "m"));
    for (const o of OPTIONS) expect(h.stdout).toContain(`--${o.long}`);
  });

  it("xqbuild help CMD and CMD --help show that command's usage line and only its options", async () => {
    const build = await run(["help", "build"]);
    expect(build.code).toBe(0);
    expect(build.stdout).toBe((await run(["build", "--help"])).stdout);
    expect(build.stdout).toMatch(/^usage: xqbuild build \[component\.\.\.\]/);
    expect(build.stdout).toContain("--no-cache");
    expect(build.stdout).toContain("-n, --dry-run");
    expect(build.stdout).not.toContain("--all ");
    expect(build.stdout).not.toContain("--force");
    expect(build.stdout).not.toContain("--destdir");
    const config = await run(["help", "config"]);
    expect(config.stdout).toMatch(/^usage: xqbuild config \[VAR\.\.\.\]/);
    expect(config.stdout).toContain("--all ");
    expect(config.stdout).not.toContain("--no-cache");
    expect(config.stdout).not.toContain("--dry-run");
    const completion = await run(["help", "completion"]);
    expect(completion.stdout).toMatch(/^usage: xqbuild completion bash\|zsh\|fish/);
    expect(completion.stdout).not.toContain("--jobs");
  });
});

describe("did you mean", () => {
  it.each([
    [["biuld"], 'unknown command "biuld"; did you mean "build"?', "usage: xqbuild [command]"],
    [["help", "instal"], 'unknown command "instal"; did you mean "install"?', "usage: xqbuild help [command]"],
    [["build", "qemu-xn"], 'unknown component "qemu-xn"; did you mean "qemu-xen"?', "usage: xqbuild build [component...]"],
    [["seabois"], 'unknown component "seabois"; did you mean "seabios"?', "usage: xqbuild [command]"],
    [["fetch", "--ofline"], "unknown option --ofline; did you mean --offline?", "usage: xqbuild fetch [component...]"],
    [["build", "--with", "libub"], '--with "libub": unknown feature; did you mean "libusb"?', "usage: xqbuild build"],
    [["cache", "prnue"], 'xqbuild cache "prnue": expected list, prune [SIZE] or clear; did you mean "prune"?', "usage: xqbuild cache"],
    [["completion", "bsah"], 'xqbuild completion "bsah": expected one of bash, zsh, fish; did you mean "bash"?', "usage: xqbuild completion"],
  ])("%j: a usage error with the nearest word and the command's usage line", async (argv, message, usage) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`xqbuild: error: ${message}`);
    expect(r.stderr).toContain(usage);
  });

  it("suggests nothing for a word near no command, and nothing for a tie", async () => {
    expect((await run(["frobnicate"])).stderr).toMatch(/unknown command or component "frobnicate"\.\n/);
    // "bsh" is one edit from both bash and zsh: no guess.
    expect((await run(["completion", "bsh"])).stderr).toMatch(/xqbuild completion "bsh": expected one of bash, zsh, fish\.\n/);
    expect((await run(["fetch", "--frob"])).stderr).toMatch(/unknown option --frob\.\n/);
  });
});

describe("parseArgs over node:util", () => {
  it("reads bundles, attached and separate values, and an optional value only when attached", () => {
    const a = parseArgs(["-vnj4", "build", "-C", "../xen", "--with-system-qemu", "--with", "libusb", "--without=libusb", "--dry-run"]);
    expect(a).toMatchObject({ command: "build", verbose: true, dryRun: true, jobs: 4, xenRoot: "../xen", systemQemu: "", features: { libusb: false }, commandGiven: true });
    expect(parseArgs(["--with-system-qemu=/opt/q/bin/qemu-system-i386"]).systemQemu).toBe("/opt/q/bin/qemu-system-i386");
    expect(() => parseArgs(["--with-system-qemu", "/opt/q"])).toThrow(/unknown command or component "\/opt\/q"/);
    expect(parseArgs([]).commandGiven).toBe(false);
  });

  it("reads a value that begins with '-' as the value, and refuses it for what it is", () => {
    expect(() => parseArgs(["-j", "-1"])).toThrow(/-j\/--jobs "-1": expected a whole number/);
    expect(() => parseArgs(["--lock-timeout", "-5"])).toThrow(/--lock-timeout "-5": expected a number of seconds/);
    expect(parseArgs(["--config-file", "-odd-name.json"]).configFile).toBe("-odd-name.json");
  });

  it("refuses -n for a command that does no work", () => {
    let err: unknown;
    try {
      parseArgs(["plan", "-n"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/--dry-run does not apply to "xqbuild plan"/);
  });
});

describe("-n/--dry-run", () => {
  it("build -n prints the plan's fetch, configure and build steps and changes nothing", async () => {
    const d = tmp();
    const r = await run(["build", "-n", "--standalone"], d);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# dry run of xqbuild build: nothing is run or changed/);
    expect(r.stdout).toMatch(/\[fetch\] +clone https:\/\/xenbits\.xen\.org\/git-http\/qemu-xen\.git/);
    expect(r.stdout).toMatch(/\[configure\] +\(cd .*qemu-xen-build && .*\/configure --enable-xen/);
    expect(r.stdout).toMatch(/\[build\] /);
    expect(r.stdout).not.toMatch(/\[install\]/);
    expect(listing(d)).toEqual([]);
    const install = await run(["install", "--dry-run", "--standalone", "--destdir", path.join(d, "stage")], d);
    expect(install.stdout).toMatch(/\[install\] /);
    const fetch = await run(["fetch", "-n", "--standalone"], d);
    expect(fetch.stdout).toMatch(/\[fetch\] /);
    expect(fetch.stdout).not.toMatch(/\[configure\]|\[build\]/);
    expect(listing(d)).toEqual([]);
  });

  it("--json gives plan's document, cut to the command's stages", async () => {
    const d = tmp();
    const r = await run(["configure", "-n", "--json", "--standalone"], d);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { dryRun: string; components: Array<{ enabled: boolean; stages: Array<{ name: string }> }> };
    expect(doc.dryRun).toBe("configure");
    const names = new Set(doc.components.flatMap((c) => c.stages.map((s) => s.name)));
    expect([...names].sort()).toEqual(["configure", "fetch"]);
    expect(listing(d)).toEqual([]);
  });

  it("distclean -n names the paths distclean then removes, and removes none of them", async () => {
    const d = tmp();
    const root = path.join(d, "build");
    for (const rel of ["tools/qemu-xen-dir-remote", "tools/qemu-xen-build", "tools/firmware/seabios-dir-remote", ".xqbuild/stamps"]) mkdirSync(path.join(root, rel), { recursive: true });
    writeFileSync(path.join(root, "tools/qemu-xen-build/config.status"), "x");
    writeFileSync(path.join(root, "tools/keep-me"), "x");
    const before = listing(d);
    const r = await run(["distclean", "-n", "--standalone"], d);
    expect(r.code).toBe(0);
    const named = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("remove "))
      .map((l) => l.slice("remove ".length).replace(/ \(.*\)$/, ""));
    expect(named.sort()).toEqual(["tools/qemu-xen-dir-remote", "tools/qemu-xen-build", "tools/firmware/seabios-dir-remote", ".xqbuild"].map((rel) => path.join(root, rel)).sort());
    expect(listing(d)).toEqual(before);
    // The real distclean removes exactly those.
    expect((await run(["distclean", "--standalone"], d)).code).toBe(0);
    for (const p of named) expect(existsSync(p), p).toBe(false);
    expect(existsSync(path.join(root, "tools/keep-me"))).toBe(true);
  });
});

describe("clean -n", () => {
  it("runs a component's clean only where clean would: in a build directory that is there", async () => {
    const d = tmp();
    const none = await run(["clean", "-n", "--standalone"], d);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("nothing else to clean");
    expect(none.stdout).not.toMatch(/make -C qemu-xen-build clean/);
    mkdirSync(path.join(d, "build", "tools", "qemu-xen-build"), { recursive: true });
    const built = await run(["clean", "-n", "--standalone", "qemu-xen"], d);
    expect(built.stdout).toMatch(/\[clean\] +\(cd .*\/tools && make -C qemu-xen-build clean\)/);
    expect(listing(d)).toEqual(["build", "build/tools", "build/tools/qemu-xen-build"]);
  });
});

describe("the usage line of an error", () => {
  it("is that of the command the words name, not of an option's value that looks like one", async () => {
    const r = await run(["-C", "build", "--jbos=2", "fetch"]);
    expect(r.stderr).toContain("usage: xqbuild fetch [component...]");
    expect(r.stderr).not.toContain("usage: xqbuild build");
    const j = await run(["-vC", "install", "--frob"]);
    expect(j.stderr).not.toContain("usage: xqbuild install");
  });
});
