import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "./support/git.js";
import { cliPath } from "./support/cli-path.js";
import { readRecords } from "./support/records.js";
import { copyXenTree } from "./support/xen-tree.js";

const FRAGMENT = path.resolve("make/xqbuild.mk");
let repos: UpstreamRepos;
let bin: string;
beforeAll(() => {
  const base = mkdtempSync(path.join(tmpdir(), "xqbuild-frag-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
  // xqbuild as a user has it on PATH.
  bin = path.join(base, "bin");
  mkdirSync(bin);
  writeFileSync(path.join(bin, "xqbuild"), `#!/bin/sh\nexec ${process.execPath} ${cliPath()} "$@"\n`);
  chmodSync(path.join(bin, "xqbuild"), 0o755);
});

describe("Xen's own make delegating to xqbuild through make/xqbuild.mk", () => {
  it("builds qemu-xen and SeaBIOS from make -C tools / tools/firmware, sharing make -j's jobserver", () => {
    const base = mkdtempSync(path.join(tmpdir(), "xqbuild-frag-tree-"));
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\n`);
    // The wiki's override file: the fragment reads it for Xen's make, and xqbuild at the same point.
    writeFileSync(path.join(root, ".Config.mk"), `SEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    appendFileSync(path.join(root, "tools", "Makefile"), `\ninclude ${FRAGMENT}\n`);
    appendFileSync(path.join(root, "tools", "firmware", "Makefile"), `\ninclude ${FRAGMENT}\n`);
    const record = path.join(base, "record.jsonl");
    const joblog = path.join(base, "jobs.log");
    const env = { ...gitEnv(), PATH: `${bin}:${process.env.PATH}`, XQBUILD_CACHE_DIR: path.join(base, "cache"), XQ_RECORD: record, XQ_FAKE_JOBS: "4", XQ_JOBLOG: joblog, CI: "true" };
    // Reading the makefiles: the fragment replaces no recipe of tools/Makefile (make printed 20
    // "overriding recipe" lines for it) nor of tools/firmware.
    const parsed = spawnSync("make", ["-C", path.join(root, "tools"), "--eval", "xq-noop: ; @:", "xq-noop"], { env, encoding: "utf8" });
    expect(parsed.status, parsed.stderr).toBe(0);
    expect(parsed.stderr).not.toMatch(/overriding|ignoring old/);
    // A goal that needs no source (clean) in a tree without seabios-dir: make reads the makefiles,
    // nothing is fetched.
    const fwClean = spawnSync("make", ["-C", path.join(root, "tools", "firmware"), "--eval", "clean: ; @:", "clean"], { env, encoding: "utf8" });
    expect(fwClean.status, fwClean.stderr).toBe(0);
    expect(existsSync(path.join(root, "tools", "firmware", "seabios-dir"))).toBe(false);
    // Any other goal: `all` named seabios-dir before the fragment was read, so the glue's own
    // seabios-dir recipe (git-checkout.sh) stays; xqbuild fetches SeaBIOS while make reads its
    // makefiles and make starts again with seabios-dir there, so that recipe never runs.
    const fwParsed = spawnSync("make", ["-C", path.join(root, "tools", "firmware"), "--eval", "xq-noop: ; @:", "xq-noop"], { env, encoding: "utf8" });
    expect(fwParsed.status, fwParsed.stderr).toBe(0);
    expect(fwParsed.stderr).not.toMatch(/overriding|ignoring old/);
    expect(fwParsed.stdout + fwParsed.stderr).not.toMatch(/git-checkout|Cloning into/);
    expect(existsSync(path.join(root, "tools", "firmware", "seabios-dir", "Makefile"))).toBe(true);
    // With seabios-dir there, reading the makefiles runs nothing.
    const fwAgain = spawnSync("make", ["-C", path.join(root, "tools", "firmware"), "--eval", "xq-noop: ; @:", "xq-noop"], { env, encoding: "utf8" });
    expect(fwAgain.status).toBe(0);
    expect(fwAgain.stdout + fwAgain.stderr).not.toMatch(/ fetch seabios|overriding/);
    expect(fwParsed.stdout + fwParsed.stderr).toMatch(/ fetch seabios -C /);
    // The targets make's subdirs-all runs for the device models (SUBDIRS-y holds the fragment's names).
    const q = spawnSync("make", ["-j2", "-C", path.join(root, "tools"), "subdir-all-xqbuild-qemu-xen", "debug=y"], { env, encoding: "utf8" });
    expect(q.stderr).toMatch(/jobs: 2/);
    expect(q.stderr).not.toMatch(/overriding/);
    expect(q.status).toBe(0);
    const fw = spawnSync("make", ["-j2", "-C", path.join(root, "tools", "firmware"), "subdir-all-xqbuild-seabios"], { env, encoding: "utf8" });
    expect(fw.status).toBe(0);
    // Xen's make read .Config.mk through the fragment: xqbuild has nothing to warn about.
    expect(q.stderr + fw.stderr).not.toMatch(/\.Config\.mk/);
    const seen = spawnSync("make", ["-s", "-C", path.join(root, "tools", "firmware"), "--eval", "show-url: ; @echo $(SEABIOS_UPSTREAM_URL)", "show-url"], { env, encoding: "utf8" });
    expect(seen.stdout.trim()).toBe(repos.seabios.url);
    const recs = readRecords(record);
    const conf = recs.find((r) => r.tool === "configure");
    // make's command-line debug=y reached xqbuild through MAKEFLAGS, as it reaches the glue.
    expect(conf && "argv" in conf ? conf.argv.slice(0, 3) : []).toEqual(["--enable-xen", "--target-list=i386-softmmu", "--enable-debug"]);
    expect(recs.filter((r) => r.tool === "make").map((r) => ("goals" in r ? `${r.dir} ${r.goals}` : ""))).toEqual(["seabios olddefconfig", "qemu-xen-build all", "seabios all"]); // SeaBIOS fetched (olddefconfig) while make read tools/firmware
    expect(readFileSync(path.join(root, "tools", "firmware", "seabios-dir", ".version"), "utf8")).toBe("rel-1.16.0\n");
    // The outer make's -j2 holds across xqbuild and the makes below it.
    const events = readFileSync(joblog, "utf8").trim().split("\n").map((l) => l.split(" ")).map(([s, t]) => ({ d: s === "+" ? 1 : -1, t: Number(t) })).sort((a, b) => a.t - b.t || a.d - b.d);
    let cur = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (cur += e.d));
    expect(events.length).toBe(16);
    expect(max).toBeLessThanOrEqual(2);
    // A second make does no work, and the firmware install target of the glue finds bios.bin. It
    // names the glue's own target, which the fragment then replaces (make warns for those).
    const again = spawnSync("make", ["-C", path.join(root, "tools"), "subdir-all-qemu-xen-dir", "debug=y"], { env: { ...env, XQ_RECORD: path.join(base, "again.jsonl") }, encoding: "utf8" });
    expect(again.status).toBe(0);
    expect(existsSync(path.join(base, "again.jsonl"))).toBe(false);
    expect(again.stderr).toMatch(/\[qemu-xen build\] up to date/);
  });
});
