// The evaluation of the Xen tree's makefiles is kept in .xqbuild/make-eval for the next run: a rerun
// starts no make, and anything that could change make's answer (a makefile, a .config that appears,
// the environment, the command line, the compiler on PATH) makes it ask make again. make is counted
// by a wrapper first on PATH.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";
import { onPath } from "../../src/util/which.js";

function setup() {
  const base = mkdtempSync(path.join(tmpdir(), "xqbuild-make-cache-"));
  const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
  const bin = path.join(base, "bin");
  mkdirSync(bin);
  const log = path.join(base, "make.log");
  const realMake = onPath("make", process.env as Record<string, string>) as string;
  writeFileSync(path.join(bin, "make"), `#!/bin/sh\necho run >> ${JSON.stringify(log)}\nexec ${realMake} "$@"\n`);
  chmodSync(path.join(bin, "make"), 0o755);
  const env = { ...gitEnv(), PATH: `${bin}:${process.env.PATH ?? ""}`, XQBUILD_CACHE_DIR: path.join(base, "cache") } as Record<string, string | undefined>;
  const runs = (): number => {
    const n = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0;
    rmSync(log, { force: true });
    return n;
  };
  return { base, root, bin, env, runs };
}

async function value(t: ReturnType<typeof setup>, name: string, extra: string[] = [], env: Record<string, string | undefined> = {}): Promise<string> {
  const output = memoryOutput();
  const code = await main(["config", name, "--json", ...extra, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  expect(code, output.stderr.join("\n")).toBe(0);
  const parsed = JSON.parse(output.stdout.join("\n")) as Record<string, { value: string }>;
  return parsed[name]?.value ?? "(none)";
}

describe("the make evaluation kept for the next run", () => {
  it("a rerun starts no make; .config edited or created, the environment and the command line each ask make again", async () => {
    const t = setup();
    const rev = "QEMU_UPSTREAM_REVISION";
    const first = await value(t, rev);
    expect(t.runs()).toBe(2); // tools/ and tools/firmware/
    expect(await value(t, rev)).toBe(first);
    expect(t.runs()).toBe(0);

    // A .config that did not exist: its directory changed.
    writeFileSync(path.join(t.root, ".config"), `${rev} = from-dot-config\n`);
    expect(await value(t, rev)).toBe("from-dot-config");
    expect(t.runs()).toBe(2);
    expect(await value(t, rev)).toBe("from-dot-config");
    expect(t.runs()).toBe(0);

    // Edited in place, same size, same second: the file's identity (size, mtime in ns) changes all the same.
    writeFileSync(path.join(t.root, ".config"), `${rev} = from-dot-confiX\n`);
    expect(await value(t, rev)).toBe("from-dot-confiX");
    expect(t.runs()).toBe(2);

    // An included file deeper down (Config.mk's own include of config/Linux.mk), touched.
    const linux = path.join(t.root, "config", "Linux.mk");
    const later = new Date(Date.now() + 5000);
    utimesSync(linux, later, later);
    await value(t, rev);
    expect(t.runs()).toBe(2);

    expect(await value(t, rev, [], { [rev]: "from-env" })).toBe("from-dot-confiX"); // .config wins over the environment, as in make
    expect(t.runs()).toBe(2);
    expect(await value(t, rev, [`${rev}=from-cli`])).toBe("from-cli");
    expect(t.runs()).toBe(2);
    expect(await value(t, rev, [`${rev}=from-cli`])).toBe("from-cli");
    expect(t.runs()).toBe(0);
  });

  it("the shell's own bookkeeping ($_, OLDPWD, SHLVL) does not ask make again; any other variable does", async () => {
    const t = setup();
    await value(t, "CC", [], { _: "/usr/bin/xqbuild", SHLVL: "1" });
    expect(t.runs()).toBe(2);
    await value(t, "CC", [], { _: "/usr/bin/time", OLDPWD: "/somewhere", SHLVL: "3" });
    expect(t.runs()).toBe(0);
    await value(t, "CC", [], { _: "/usr/bin/time", XQ_SOME_VARIABLE: "1" });
    expect(t.runs()).toBe(2);
  });

  it("another compiler on PATH, or XQBUILD_NO_MAKE_CACHE=1, asks make again", async () => {
    const t = setup();
    await value(t, "CC");
    expect(t.runs()).toBe(2);
    const realGcc = onPath("gcc", process.env as Record<string, string>) as string;
    writeFileSync(path.join(t.bin, "gcc"), `#!/bin/sh\nexec ${realGcc} "$@"\n`);
    chmodSync(path.join(t.bin, "gcc"), 0o755);
    await value(t, "CC");
    expect(t.runs()).toBe(2);
    await value(t, "CC");
    expect(t.runs()).toBe(0);
    await value(t, "CC", [], { XQBUILD_NO_MAKE_CACHE: "1" });
    expect(t.runs()).toBe(2);
  });

  it("a change in the clock tick the answer was kept in (the directory's times unchanged) still asks make again", async () => {
    // The kernel stamps times from a clock that ticks every few milliseconds: a .config created
    // just after the answer was kept can leave the directory's mtime as it was. touch puts the
    // times back to show that case on demand, as the unit CI run once met it by chance.
    const t = setup();
    const rev = "QEMU_UPSTREAM_REVISION";
    const first = await value(t, rev);
    expect(t.runs()).toBe(2);
    const dir = statSync(t.root, { bigint: true });
    writeFileSync(path.join(t.root, ".config"), `${rev} = created-in-the-same-tick\n`);
    // touch -d @SECONDS.NANOSECONDS puts the mtime back to the nanosecond (utimesSync takes seconds
    // as a double, which can land a microsecond short and so in the millisecond before).
    const ns = dir.mtimeNs;
    const touched = spawnSync("touch", ["-m", "-d", `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`, t.root], { encoding: "utf8" });
    expect(touched.status, touched.stderr).toBe(0);
    expect(statSync(t.root, { bigint: true }).mtimeNs).toBe(ns);
    expect(await value(t, rev)).toBe("created-in-the-same-tick");
    expect(first).not.toBe("created-in-the-same-tick");
    expect(t.runs()).toBe(2);
  });
});
