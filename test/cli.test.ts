import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { memoryOutput } from "../src/report/output.js";
import { cliPath } from "./support/cli-path.js";

const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME };

async function run(argv: string[], cwd: string, env: Record<string, string | undefined> = BASE_ENV) {
  const output = memoryOutput();
  const code = await main(argv, { cwd, env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), "xqbuild-cli-"));
}

type Entry = { value: string; origin: string; via?: string };

describe("the command line", () => {
  it("prints its version and help", async () => {
    const v = await run(["--version"], tmp());
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^xqbuild \d+\.\d+\.\d+$/);
    const h = await run(["--help"], tmp());
    expect(h.stdout).toMatch(/usage: xqbuild \[command\] \[component\.\.\.\] \[VAR=value\.\.\.\] \[options\]/);
    for (const c of ["all", "fetch", "update", "configure", "build", "install", "clean", "distclean", "plan", "config", "status", "doctor", "dist"]) {
      expect(h.stdout).toContain(`  ${c} `);
      const ch = await run([c, "--help"], tmp());
      expect(ch.code).toBe(0);
      expect(ch.stdout).toMatch(new RegExp(`^usage: xqbuild ${c}`));
    }
  });

  it("gives usage errors exit code 2 with the usage line and no stack", async () => {
    const r = await run(["frobnicate"], tmp());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command or component "frobnicate"/);
    expect(r.stderr).toMatch(/usage: xqbuild/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("says where to go when run outside a Xen tree", async () => {
    const r = await run(["config"], tmp());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not inside a Xen source tree/);
    expect(r.stderr).toMatch(/-C DIR/);
    expect(r.stderr).toMatch(/--standalone/);
  });

  it("refuses -C at a directory that is not a Xen tree", async () => {
    const d = tmp();
    const r = await run(["config", "-C", d], tmp());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a Xen source tree: Config.mk, xen\/Makefile, tools\/Makefile missing/);
  });

  it("says what to do when dist has nothing fetched to pack", async () => {
    const r = await run(["dist", "--standalone", "seabios"], tmp());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/seabios has not been fetched .*\nRun xqbuild fetch first/);
  });
});

describe("colour", () => {
  it("uses none with NO_COLOR, even on a terminal", async () => {
    const { spawnSync } = await import("node:child_process");
    const cli = cliPath();
    const withColor = spawnSync("script", ["-qfec", `node ${cli} frobnicate`, "/dev/null"], { env: { ...process.env, TERM: "xterm", NO_COLOR: undefined }, encoding: "utf8" });
    expect(withColor.stdout).toContain("\u001b[1;31mxqbuild: error:");
    const noColor = spawnSync("script", ["-qfec", `node ${cli} frobnicate`, "/dev/null"], { env: { ...process.env, TERM: "xterm", NO_COLOR: "1" }, encoding: "utf8" });
    expect(noColor.stdout).toContain("xqbuild: error: unknown command");
    expect(noColor.stdout).not.toContain("\u001b[");
  });
});

describe("standalone mode", () => {
  it("uses the newest release's defaults, with built-in origins", async () => {
    const r = await run(["config", "--standalone", "--json"], tmp());
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, Entry>;
    expect(j.QEMU_UPSTREAM_URL).toEqual({ value: "https://xenbits.xen.org/git-http/qemu-xen.git", origin: "built-in default" });
    expect(j.SEABIOS_UPSTREAM_REVISION).toEqual({ value: "rel-1.17.0", origin: "built-in default" });
    expect(j.QEMU_UPSTREAM_REVISION?.value).toBe("qemu-xen-4.22.0");
    expect(j.QEMU_TRADITIONAL_URL).toEqual({ value: "", origin: "undefined" });
    expect(j.LIBEXEC_BIN?.value).toBe("/usr/local/lib/xen/bin");
    expect(j.XENFIRMWAREDIR?.value).toBe("/usr/local/lib/xen/boot");
  });

  it("follows 4.17's git:// defaults and GIT_HTTP", async () => {
    const git = JSON.parse((await run(["config", "--standalone", "--xen-version", "4.17", "--json"], tmp())).stdout) as Record<string, Entry>;
    expect(git.QEMU_UPSTREAM_URL?.value).toBe("git://xenbits.xen.org/qemu-xen.git");
    expect(git.QEMU_TRADITIONAL_URL?.value).toBe("git://xenbits.xen.org/qemu-xen-traditional.git");
    expect(git.SEABIOS_UPSTREAM_REVISION?.value).toBe("rel-1.16.0");
    const http = JSON.parse((await run(["config", "--standalone", "--xen-version=4.17", "GIT_HTTP=y", "--json"], tmp())).stdout) as Record<string, Entry>;
    expect(http.QEMU_UPSTREAM_URL?.value).toBe("http://xenbits.xen.org/git-http/qemu-xen.git");
    expect(http.GIT_HTTP).toEqual({ value: "y", origin: "command line" });
    const env = JSON.parse((await run(["config", "--standalone", "--xen-version=4.17", "--json"], tmp(), { ...BASE_ENV, GIT_HTTP: "y" })).stdout) as Record<string, Entry>;
    expect(env.SEABIOS_UPSTREAM_URL?.value).toBe("http://xenbits.xen.org/git-http/seabios.git");
  });

  it("reads the xqbuild config file of the directory it runs in, and no other", async () => {
    const d = tmp();
    writeFileSync(path.join(d, ".xqbuildrc.json"), JSON.stringify({ variables: { QEMU_UPSTREAM_REVISION: "stable-4.19", EXTRA_CFLAGS_QEMU_XEN: "-O1" }, features: { "9pfs": true } }));
    // A config file inside a fetched tree must never be loaded or run.
    const fetched = path.join(d, "build", "tools", "qemu-xen-dir");
    mkdirSync(fetched, { recursive: true });
    const marker = path.join(d, "pwned");
    writeFileSync(path.join(fetched, "xqbuild.config.mjs"), `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "x"); export default {};`);
    const r = await run(["config", "--standalone", "--json"], d);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, Entry>;
    expect(j.QEMU_UPSTREAM_REVISION).toEqual({ value: "stable-4.19", origin: "xqbuild config .xqbuildrc.json" });
    expect(j.EXTRA_CFLAGS_QEMU_XEN).toEqual({ value: "-O1", origin: "xqbuild config .xqbuildrc.json" });
    expect(j.CONFIG_9PFS).toEqual({ value: "y", origin: "xqbuild config .xqbuildrc.json" });
    // The command line still wins over the config file.
    const over = JSON.parse((await run(["config", "--standalone", "--json", "QEMU_UPSTREAM_REVISION=master"], d)).stdout) as Record<string, Entry>;
    expect(over.QEMU_UPSTREAM_REVISION).toEqual({ value: "master", origin: "command line" });
    expect(existsSync(marker)).toBe(false);
  });

  it("loads xqbuild.config.mjs from the directory itself", async () => {
    const d = tmp();
    writeFileSync(path.join(d, "xqbuild.config.mjs"), `export default { variables: { SEABIOS_UPSTREAM_REVISION: "rel-1.16.3" } };`);
    const j = JSON.parse((await run(["config", "--standalone", "--json"], d)).stdout) as Record<string, Entry>;
    expect(j.SEABIOS_UPSTREAM_REVISION).toEqual({ value: "rel-1.16.3", origin: "xqbuild config xqbuild.config.mjs" });
  });

  it("loads xqbuild.config.ts and the xqbuild key of package.json", async () => {
    const d = tmp();
    writeFileSync(path.join(d, "xqbuild.config.ts"), `const revision: string = "stable-4.20";\nexport default { variables: { QEMU_UPSTREAM_REVISION: revision } };\n`);
    const ts = JSON.parse((await run(["config", "--standalone", "--json"], d)).stdout) as Record<string, Entry>;
    expect(ts.QEMU_UPSTREAM_REVISION).toEqual({ value: "stable-4.20", origin: "xqbuild config xqbuild.config.ts" });
    const p = tmp();
    writeFileSync(path.join(p, "package.json"), JSON.stringify({ name: "my-xen-ci", xqbuild: { variables: { debug: "y" } } }));
    const pkg = JSON.parse((await run(["config", "--standalone", "--json"], p)).stdout) as Record<string, Entry>;
    expect(pkg.debug).toEqual({ value: "y", origin: "xqbuild config package.json" });
  });

  it("names the file and key of a bad config file", async () => {
    const d = tmp();
    writeFileSync(path.join(d, ".xqbuildrc.json"), JSON.stringify({ jobz: 4 }));
    const r = await run(["config", "--standalone"], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.xqbuildrc\.json: "jobz" is not a setting xqbuild knows/);
    writeFileSync(path.join(d, ".xqbuildrc.json"), JSON.stringify({ components: { qemu: {} } }));
    expect((await run(["config", "--standalone"], d)).stderr).toMatch(/"components\.qemu" is not a component/);
    writeFileSync(path.join(d, ".xqbuildrc.json"), "{ not json");
    const bad = await run(["config", "--standalone"], d);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot load the xqbuild config file .*\.xqbuildrc\.json/);
  });

  it("refuses hostile values naming the variable and where they came from", async () => {
    const r = await run(["config", "--standalone", "QEMU_UPSTREAM_URL=ext::sh -c touch% /tmp/x"], tmp());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/QEMU_UPSTREAM_URL \(command line\)/);
    const rev = await run(["plan", "--standalone", "SEABIOS_UPSTREAM_REVISION=--upload-pack=evil"], tmp());
    expect(rev.code).toBe(2);
    expect(rev.stderr).toMatch(/SEABIOS_UPSTREAM_REVISION \(command line\) = "--upload-pack=evil" begins with '-'/);
  });

  it("warns about a likely typo on the command line", async () => {
    const r = await run(["config", "--standalone", "QEMU_UPSTREAM_REVISON=master"], tmp());
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/QEMU_UPSTREAM_REVISON .* did you mean QEMU_UPSTREAM_REVISION\?/);
  });

  it("plans into ./build with the standalone layout", async () => {
    const d = tmp();
    const r = await run(["plan", "--standalone", "--json"], d);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { xenRoot: string; components: Array<{ name: string; enabled: boolean; stages: Array<{ name: string; step: string; argv?: string[]; cwd?: string }> }> };
    expect(plan.xenRoot).toBe(path.join(d, "build"));
    const q = plan.components.find((c) => c.name === "qemu-xen");
    const conf = q?.stages.find((s) => s.step === "configure");
    expect(conf?.cwd).toBe(path.join(d, "build", "tools", "qemu-xen-build"));
    expect(conf?.argv?.slice(1, 4)).toEqual(["--enable-xen", "--target-list=i386-softmmu", "--enable-trace-backends=log"]);
  });
});
