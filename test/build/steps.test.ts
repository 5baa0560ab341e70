// How a run step's goals and install are resolved against a configured meson build directory
// (QEMU's): only what is installed is built, and install runs meson install --no-rebuild as
// `make install` does after building `all`. The end-to-end test shows on the real QEMU that the
// installed files are the same as `make install`'s.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { executeFileOrRunStep, stepName } from "../../src/engine/steps.js";
// QEMU's build directory is the qemu-xen recipe's knowledge (its resolveRun), no longer the engine's.
import { directNinja, installedTargets, mesonInstallCommand, ninjaTargets, resolveQemuRun as resolveRun } from "../../src/components/qemu-xen/build-dir.js";

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
/** A new directory under the system's temporary one, removed after the tests. */
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-steps-"));
  made.push(dir);
  return dir;
}

/** The fixture's fake ninja: reads build.ninja, answers -t targets all, refuses unknown targets. */
const FAKE_NINJA = path.resolve("fixtures/upstream/qemu-xen/fake-ninja.py");

function buildDir(opts: { installed?: Record<string, string> | string; ninja?: string; hostMak?: string } = {}): string {
  const dir = tempDir();
  if (opts.installed !== undefined) {
    mkdirSync(path.join(dir, "meson-info"));
    const text = typeof opts.installed === "string" ? opts.installed : JSON.stringify(opts.installed);
    writeFileSync(path.join(dir, "meson-info", "intro-installed.json"), text.split("<B>").join(dir));
  }
  if (opts.ninja !== undefined) writeFileSync(path.join(dir, "build.ninja"), opts.ninja.split("<B>").join(dir));
  if (opts.hostMak !== undefined) writeFileSync(path.join(dir, "config-host.mak"), opts.hostMak);
  return dir;
}

const INSTALLED = {
  "<B>/qemu-system-i386": "/usr/lib/xen/bin/qemu-system-i386",
  "<B>/storage-daemon/qemu-storage-daemon": "/usr/lib/xen/bin/qemu-storage-daemon",
  "<B>/trace/trace-events-all": "/usr/share/qemu-xen/qemu/trace-events-all",
  "/src/ui/icons/qemu.svg": "/usr/share/qemu-xen/icons/qemu.svg",
  // A configure_file() output: written by configure, installed by meson, unknown to ninja.
  "<B>/pc-bios/descriptors/50-edk2-i386-secure.json": "/usr/share/qemu-xen/qemu/firmware/50-edk2-i386-secure.json",
};

/** What ninja builds of INSTALLED, sorted. */
const BUILT = ["qemu-system-i386", "storage-daemon/qemu-storage-daemon", "trace/trace-events-all"];

const NINJA = `# This is the build file for project "qemu"
build install: phony meson-internal__install

build meson-internal__install: CUSTOM_COMMAND PHONY | all
 DESC = Installing$ files.
 COMMAND = /usr/bin/python3 /src/meson/meson.py install --no-rebuild
 pool = console

build qemu-system-i386: c_LINK_RULE libqemu-i386-softmmu.a
build storage-daemon/qemu-storage-daemon: c_LINK_RULE libqemuutil.a
build trace/trace-events-all: CUSTOM_COMMAND trace-events
build tests/unit/check-qdict: c_LINK_RULE libqemuutil.a
build all: phony qemu-system-i386 storage-daemon/qemu-storage-daemon trace/trace-events-all tests/unit/check-qdict
`;

describe("goals: installed", () => {
  it("builds the installed files that are ninja targets instead of all, in place of the goal all", async () => {
    const dir = buildDir({ installed: INSTALLED, ninja: NINJA, hostMak: `NINJA=${FAKE_NINJA}\n` });
    expect(installedTargets(dir)).toEqual(["pc-bios/descriptors/50-edk2-i386-secure.json", ...BUILT]);
    // The descriptor is configure's: ninja would refuse it ("unknown target"); meson install copies it.
    const r = await resolveRun({ kind: "run", cwd: dir, argv: ["make", "all"], env: { MAKELEVEL: null }, goals: "installed" });
    expect(r.argv).toEqual(["make", ...BUILT]);
    // A build directory reached through a symbolic link finds the same outputs.
    const link = `${dir}-link`;
    made.push(link);
    symlinkSync(dir, link);
    expect(installedTargets(link)).toEqual(installedTargets(dir));
  });

  it("asks ninja what it builds: -t targets all, ninja 1.11's \"path: rule\" lines", async () => {
    const dir = buildDir({ installed: INSTALLED, ninja: NINJA });
    const known = await ninjaTargets(FAKE_NINJA, dir, {});
    expect([...(known ?? [])].sort()).toEqual(["all", "install", "meson-internal__install", ...BUILT, "tests/unit/check-qdict"].sort());
    expect(await ninjaTargets(path.join(dir, "no-such-ninja"), dir, {})).toBeUndefined();
  });

  it("keeps the planned goals without meson-info, with a damaged one, when nothing is built there, or without a ninja to ask", async () => {
    const hostMak = `NINJA=${FAKE_NINJA}\n`;
    for (const installed of [undefined, "{not json", JSON.stringify({ "/src/only-a-source-file": "/usr/x" })]) {
      const dir = buildDir(installed === undefined ? { ninja: NINJA, hostMak } : { installed, ninja: NINJA, hostMak });
      expect((await resolveRun({ kind: "run", cwd: dir, argv: ["make", "all"], env: {}, goals: "installed" })).argv).toEqual(["make", "all"]);
    }
    for (const ninja of [{}, { hostMak: "NINJA=\n" }, { hostMak: "NINJA=/no/such/ninja\n" }]) {
      const dir = buildDir({ installed: INSTALLED, ninja: NINJA, ...ninja });
      expect((await resolveRun({ kind: "run", cwd: dir, argv: ["make", "all"], env: {}, goals: "installed" })).argv).toEqual(["make", "all"]);
    }
    // Without the flag nothing changes, meson-info or not.
    const dir = buildDir({ installed: INSTALLED, ninja: NINJA, hostMak });
    expect((await resolveRun({ kind: "run", cwd: dir, argv: ["make", "all"], env: {} })).argv).toEqual(["make", "all"]);
  });
});

describe("install: meson", () => {
  it("runs build.ninja's meson install --no-rebuild with DESTDIR from the planned make command line", async () => {
    const dir = buildDir({ ninja: NINJA });
    expect(mesonInstallCommand(dir)).toEqual(["/usr/bin/python3", "/src/meson/meson.py", "install", "--no-rebuild"]);
    const r = (await resolveRun({ kind: "run", cwd: dir, argv: ["make", "install", "DESTDIR=/tmp/dest dir"], env: {}, install: "meson" }));
    expect(r.argv).toEqual(["/usr/bin/python3", "/src/meson/meson.py", "install", "--no-rebuild"]);
    expect(r.env).toEqual({ DESTDIR: "/tmp/dest dir" });
    // No DESTDIR on the command line: the environment's, as make would export it.
    expect((await resolveRun({ kind: "run", cwd: dir, argv: ["make", "install"], env: {}, install: "meson" })).env).toEqual({});
    // Progress lines and errors name what runs.
    const planned = { kind: "run", cwd: dir, argv: ["make", "install"], env: {}, install: "meson", stage: "install", step: "make-install" } as const;
    expect(stepName(planned, await resolveRun(planned))).toBe("meson install");
    const bare = { ...planned, cwd: buildDir() };
    expect(stepName(bare, await resolveRun(bare))).toBe("make-install");
  });

  it("falls back to make install without build.ninja, or with a command it would have to interpret", async () => {
    const plain = { kind: "run" as const, argv: ["make", "install", "DESTDIR=/d"], env: {}, install: "meson" as const };
    expect((await resolveRun({ ...plain, cwd: buildDir() })).argv).toEqual(plain.argv);
    const quoted = buildDir({ ninja: NINJA.replace("/src/meson/meson.py", "'/src dir/meson.py'") });
    expect((await resolveRun({ ...plain, cwd: quoted })).argv).toEqual(plain.argv);
    const escaped = buildDir({ ninja: NINJA.replace("/src/meson/meson.py", "/src$ dir/meson.py") });
    expect((await resolveRun({ ...plain, cwd: escaped })).argv).toEqual(plain.argv);
    const rebuild = buildDir({ ninja: NINJA.replace(" --no-rebuild", "") });
    expect((await resolveRun({ ...plain, cwd: rebuild })).argv).toEqual(plain.argv);
  });
});

/** The rules for config-host.mak of QEMU 7.2's Makefile: one when configured, one when not. */
const MAKEFILE_7_2 = `SRC_PATH=.
ifneq ($(wildcard config-host.mak),)
include config-host.mak
config-host.mak: $(SRC_PATH)/configure $(SRC_PATH)/scripts/meson-buildoptions.sh $(SRC_PATH)/VERSION
\t@echo config-host.mak is out-of-date, running configure
\t@if test -f meson-private/coredata.dat; then \\
\t  ./config.status --skip-meson; \\
\telse \\
\t  ./config.status; \\
\tfi
else
config-host.mak:
ifneq ($(filter-out $(UNCHECKED_GOALS),$(MAKECMDGOALS)),$(if $(MAKECMDGOALS),,fail))
\t@echo "Please call configure before running make!"
\t@exit 1
endif
endif
`;

/** QEMU 10's: the prerequisites continued on a second line, pythondeps.toml among them. */
const MAKEFILE_10 = MAKEFILE_7_2.replace(
  "$(SRC_PATH)/scripts/meson-buildoptions.sh $(SRC_PATH)/VERSION",
  "$(SRC_PATH)/scripts/meson-buildoptions.sh \\\n\t\t$(SRC_PATH)/pythondeps.toml $(SRC_PATH)/VERSION",
);

describe("goals: installed, with ninja run directly", () => {
  /** A configured meson build of a fake QEMU source: config-host.mak written after configure, VERSION, ... */
  function configured(opts: { ninjaPath?: string; makefile?: string } = {}): { dir: string; src: string } {
    const dir = buildDir({ installed: INSTALLED, ninja: NINJA });
    const src = `${dir}-src`;
    made.push(src);
    mkdirSync(path.join(src, "scripts"), { recursive: true });
    // The build directory's Makefile (QEMU's configure links it to the source's).
    writeFileSync(path.join(src, "Makefile"), opts.makefile ?? MAKEFILE_7_2);
    symlinkSync(path.join(src, "Makefile"), path.join(dir, "Makefile"));
    const past = new Date(Date.now() - 60_000);
    for (const f of ["configure", "scripts/meson-buildoptions.sh", "VERSION", "pythondeps.toml"]) {
      writeFileSync(path.join(src, f), "");
      utimesSync(path.join(src, f), past, past);
    }
    writeFileSync(path.join(dir, "config-host.mak"), `# Automatically generated by configure - do not modify\nSRC_PATH=${src}\nNINJA=${opts.ninjaPath ?? FAKE_NINJA}\nMESON=/usr/bin/python3 ${src}/meson/meson.py\n`);
    return { dir, src };
  }
  const step = (cwd: string) => ({ kind: "run" as const, cwd, argv: ["make", "all"], env: { MAKELEVEL: null }, goals: "installed" as const, parallelism: "static" as const });

  it("runs $(NINJA) -d keepdepfile TARGETS as the Makefile's run-ninja would, NINJA exported, -jN added at run time", async () => {
    const { dir } = configured();
    expect(directNinja(dir)).toBe(FAKE_NINJA);
    const r = (await resolveRun(step(dir)));
    expect(r.argv).toEqual([FAKE_NINJA, "-d", "keepdepfile", ...BUILT]);
    expect(r.env).toEqual({ MAKELEVEL: null, NINJA: FAKE_NINJA });
    expect(r.jobsFlag).toBe(true);
    expect(stepName({ ...step(dir), stage: "build", step: "make" }, await resolveRun(step(dir)))).toBe("ninja");
  });

  it("leaves it to make when the Makefile would do more: configure, meson-buildoptions.sh or VERSION newer than config-host.mak", async () => {
    for (const f of ["configure", "scripts/meson-buildoptions.sh", "VERSION"]) {
      const { dir, src } = configured();
      const later = new Date(Date.now() + 60_000);
      utimesSync(path.join(src, f), later, later);
      expect(directNinja(dir), f).toBeUndefined();
      expect((await resolveRun(step(dir))).argv).toEqual(["make", "qemu-system-i386", "storage-daemon/qemu-storage-daemon", "trace/trace-events-all"]);
      expect((await resolveRun(step(dir))).jobsFlag).toBeUndefined();
      expect(stepName({ ...step(dir), stage: "build", step: "make" }, await resolveRun(step(dir)))).toBe("make");
    }
  });

  it("reads what config-host.mak is remade from in the tree's own Makefile: QEMU 10's pythondeps.toml too", async () => {
    const { dir, src } = configured({ makefile: MAKEFILE_10 });
    expect(directNinja(dir)).toBe(FAKE_NINJA);
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(src, "pythondeps.toml"), later, later);
    expect(directNinja(dir)).toBeUndefined();
    expect((await resolveRun(step(dir))).argv[0]).toBe("make");
    // QEMU 7.2's Makefile does not list it: there a newer pythondeps.toml changes nothing.
    const old = configured();
    utimesSync(path.join(old.src, "pythondeps.toml"), later, later);
    expect(directNinja(old.dir)).toBe(FAKE_NINJA);
  });

  it("leaves it to make when the Makefile's config-host.mak rule cannot be read plainly, or there is none", async () => {
    for (const makefile of [
      "all:\n",
      MAKEFILE_10.replace("$(SRC_PATH)/VERSION", "$(SRC_PATH)/VERSION $(EXTRA_DEPS)"),
      MAKEFILE_10.replace("$(SRC_PATH)/VERSION", "$(SRC_PATH)/VERSION | meson.stamp"),
      MAKEFILE_10.replace("$(SRC_PATH)/VERSION", "$(SRC_PATH)/%.toml"),
    ]) {
      expect(directNinja(configured({ makefile }).dir), makefile.slice(0, 200)).toBeUndefined();
    }
    const { dir } = configured();
    rmSync(path.join(dir, "Makefile"));
    expect(directNinja(dir)).toBeUndefined();
  });

  it("leaves it to make without config-host.mak, NINJA, MESON or build.ninja, or with a NINJA the shell would have to split", async () => {
    const { dir } = configured();
    rmSync(path.join(dir, "build.ninja"));
    expect(directNinja(dir)).toBeUndefined();
    const noMeson = configured().dir;
    writeFileSync(path.join(noMeson, "config-host.mak"), readFileSync(path.join(noMeson, "config-host.mak"), "utf8").replace(/^MESON=.*$/m, "MESON="));
    expect(directNinja(noMeson)).toBeUndefined();
    expect(directNinja(configured({ ninjaPath: "" }).dir)).toBeUndefined();
    expect(directNinja(configured({ ninjaPath: "ccache ninja" }).dir)).toBeUndefined();
    expect(directNinja(buildDir({ installed: INSTALLED, ninja: NINJA }))).toBeUndefined();
    // Other goals than `all` stay make's.
    expect((await resolveRun({ ...step(configured().dir), argv: ["make", "all", "V=1"] })).argv[0]).toBe("make");
  });

  it("names ninja, not make, when the direct ninja line fails, and shows that line", async () => {
    const tools = tempDir();
    const ninja = path.join(tools, "ninja");
    // It answers -t targets (asked before the build), then fails the build.
    writeFileSync(ninja, "#!/bin/sh\nif [ \"$3\" = -t ]; then echo 'qemu-system-i386: c_LINK_RULE'; exit 0; fi\necho 'FAILED: qemu-system-i386' >&2\nexit 1\n");
    chmodSync(ninja, 0o755);
    const { dir } = configured({ ninjaPath: ninja });
    const run = executeFileOrRunStep({ ...step(dir), stage: "build", step: "make" }, { baseEnv: {}, logDir: path.join(tools, "logs"), component: "qemu-xen" });
    await expect(run).rejects.toThrow(/^qemu-xen build \(ninja\) failed[\s\S]*command: \S*ninja -j1 -d keepdepfile qemu-system-i386[\s\S]*FAILED: qemu-system-i386/);
  });
});
