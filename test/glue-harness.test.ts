// Runs Xen's real make glue (from Debian's xen source package, see scripts/real-sources.mjs) against the
// fake upstream repositories and checks what the fake tools recorded: the harness that xqbuild's own
// commands are compared with.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeUpstreamRepos } from "./support/git.js";
import type { UpstreamRepos } from "./support/git.js";
import { runGlue } from "./support/glue.js";
import type { GlueResult } from "./support/glue.js";
import { configureRecords, makeRecords, tracetoolRecords, xenSetupRecords } from "./support/records.js";
import { copyXenTree, realXenTree } from "./support/xen-tree.js";

let work: string;
let repos: UpstreamRepos;

function writeConfig(xenRoot: string, extra: string[] = []): void {
  const lines = [
    `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}`,
    `SEABIOS_UPSTREAM_URL = ${repos.seabios.url}`,
    `QEMU_TRADITIONAL_URL = ${repos.qemuTraditional.url}`,
    ...extra
  ];
  fs.writeFileSync(path.join(xenRoot, ".config"), `${lines.join("\n")}\n`);
}

/** XQ_HARNESS_DUMP=DIR keeps each run's records and output there, for reading by hand. */
function dump(name: string, res: GlueResult): void {
  const dir = process.env["XQ_HARNESS_DUMP"];
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.records.json`), `${JSON.stringify(res.records, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, `${name}.out.txt`), `--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`);
}

function explain(res: GlueResult): string {
  return `make exited ${res.code}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`;
}

beforeAll(() => {
  // Quick when cached (`npm test` runs `npm run sources` first); on a fresh machine this downloads
  // and configures Xen, and may apt-get install its build dependencies: hence the long timeout.
  realXenTree();
  work = fs.mkdtempSync(path.join(os.tmpdir(), "xq-glue-harness-"));
  repos = makeUpstreamRepos(path.join(work, "upstream"));
}, 900_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("fake upstream repositories", () => {
  it("have the xenbits refs, deterministically", () => {
    expect(Object.keys(repos.qemuXen.refs).sort()).toEqual(["master", "qemu-xen-4.17.3", "stable-4.17"]);
    expect(repos.qemuXen.refs["qemu-xen-4.17.3"]).not.toBe(repos.qemuXen.refs["stable-4.17"]);
    expect(repos.qemuXen.refs["master"]).not.toBe(repos.qemuXen.refs["stable-4.17"]);
    expect(Object.keys(repos.seabios.refs).sort()).toEqual(["master", "rel-1.16.0", "rel-1.16.2"]);
    expect(Object.keys(repos.qemuTraditional.refs).sort()).toEqual(["master", "stable-4.17", "xen-4.17.3"]);
    expect(repos.qemuXen.url).toMatch(/^file:\/\/\/.*\/qemu-xen\.git$/);
    const again = makeUpstreamRepos(path.join(work, "upstream-again"));
    expect(again.qemuXen.refs).toEqual(repos.qemuXen.refs);
    expect(again.seabios.refs).toEqual(repos.seabios.refs);
    expect(again.qemuTraditional.refs).toEqual(repos.qemuTraditional.refs);
  });
});

describe("Xen's glue against the fake upstreams", () => {
  it("builds qemu-xen and SeaBIOS the way the 4.17 glue does", async () => {
    const xenRoot = copyXenTree(path.join(work, "xen-default"));
    writeConfig(xenRoot);
    const res = await runGlue(xenRoot, { components: ["qemu-xen", "seabios"] });
    dump("default", res);
    expect(res.code, explain(res)).toBe(0);
    const tools = path.join(xenRoot, "tools");

    // qemu-xen: tracetool probe, then configure in the out-of-tree build dir
    const trace = tracetoolRecords(res.records);
    expect(trace[0]?.argv).toEqual(["--check-backend", "--backend", "log"]);
    expect(trace[0]?.cwd).toBe(path.join(tools, "qemu-xen-build"));
    const [conf, ...moreConf] = configureRecords(res.records);
    expect(moreConf).toEqual([]);
    if (conf === undefined) throw new Error(`no configure record\n${explain(res)}`);
    expect(conf.cwd).toBe(path.join(tools, "qemu-xen-build"));
    expect(conf.source).toBe(path.join(tools, "qemu-xen-dir"));
    expect(conf.argv0).toBe(`${xenRoot}/tools/../tools/qemu-xen-dir/configure`);
    expect(trace[0]?.argv0).toBe(`${xenRoot}/tools/../tools/qemu-xen-dir/scripts/tracetool.py`);
    expect(conf.version).toBe("7.2.0"); // the qemu-xen-4.17.3 tag, not a branch
    expect(conf.argv.slice(0, 2)).toEqual(["--enable-xen", "--target-list=i386-softmmu"]);
    expect(conf.argv).toContain("--enable-trace-backends=log");
    expect(conf.argv).toContain("--prefix=/usr/local");
    expect(conf.argv).toContain("--python=python3");
    expect(conf.argv.at(-1)).toBe("--cpu=x86_64"); // CONFIG_9PFS is empty: no virtfs flag
    // XEN_ROOT is $(CURDIR)/.. in tools/, so the path is spelled <xenRoot>/tools/../tools/pkg-config; with
    // PKG_CONFIG_PATH unset in the environment nothing (not even ":") is appended.
    expect(conf.env["PKG_CONFIG_PATH"]).toBe(`${xenRoot}/tools/../tools/pkg-config`);
    expect(path.normalize(conf.env["PKG_CONFIG_PATH"] ?? "")).toBe(`${xenRoot}/tools/pkg-config`);
    expect(conf.env["MAKEFLAGS"]).toBe("w"); // MAKEFLAGS is not unset, only MAKELEVEL
    expect(conf.argv).toContain(
      "--extra-cflags=-DXC_WANT_COMPAT_EVTCHN_API=1 \t-DXC_WANT_COMPAT_GNTTAB_API=1 \t" +
        "-DXC_WANT_COMPAT_MAP_FOREIGN_API=1 \t-DXC_WANT_COMPAT_DEVICEMODEL_API=1 \t"
    );
    expect(conf.env["MAKELEVEL"]).toBeNull();
    const qemuMake = makeRecords(res.records, { dir: "qemu-xen-build" });
    expect(qemuMake.map((r) => r.target)).toEqual(["all"]);
    expect(qemuMake[0]?.makelevel).toBe("0"); // MAKELEVEL was unset for the build too
    expect(fs.existsSync(path.join(tools, "qemu-xen-build", "qemu-system-i386"))).toBe(true);

    // SeaBIOS: olddefconfig with CC and LD, then all with CC, LD, PYTHON and EXTRAVERSION
    const olddef = makeRecords(res.records, { dir: "seabios", target: "olddefconfig" });
    expect(olddef).toHaveLength(1);
    expect(Object.keys(olddef[0]?.vars ?? {}).sort()).toEqual(["CC", "LD"]);
    const all = makeRecords(res.records, { dir: "seabios", target: "all" });
    expect(all).toHaveLength(1);
    expect(Object.keys(all[0]?.vars ?? {}).sort()).toEqual(["CC", "EXTRAVERSION", "LD", "PYTHON"]);
    expect(all[0]?.vars["EXTRAVERSION"]).toBe("-Xen");
    expect(all[0]?.vars["PYTHON"]).toBe("python3");
    const seabiosDir = path.join(tools, "firmware", "seabios-dir");
    expect(fs.readFileSync(path.join(seabiosDir, ".version"), "utf8")).toBe("rel-1.16.0\n");
    expect(fs.readFileSync(path.join(seabiosDir, ".config"), "utf8")).toMatch(/# xq-fake-olddefconfig\n$/);
    expect(fs.readFileSync(path.join(seabiosDir, "out", "bios.bin"), "utf8")).toContain("rel-1.16.0-Xen");

    // the checkout layout of scripts/git-checkout.sh
    for (const dir of [path.join(tools, "qemu-xen-dir"), seabiosDir]) {
      expect(fs.lstatSync(dir).isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(dir)).toBe(`${path.basename(dir)}-remote`);
      expect(fs.statSync(`${dir}-remote`).isDirectory()).toBe(true);
      expect(fs.existsSync(`${dir}-remote.tmp`)).toBe(false);
    }
  });

  it("passes .config, the environment and make's command line through to qemu-xen's configure", async () => {
    const xenRoot = copyXenTree(path.join(work, "xen-options"), { hardlink: true });
    // a branch must be named through its remote-tracking ref: see the next test
    writeConfig(xenRoot, ["QEMU_UPSTREAM_REVISION = origin/stable-4.17"]);
    const res = await runGlue(xenRoot, {
      components: ["qemu-xen"],
      env: { PKG_CONFIG_PATH: "/opt/pc", XQ_FAKE_TRACE: "stderr" },
      makeArgs: ["debug=y", "CONFIG_9PFS=y"]
    });
    dump("options", res);
    expect(res.code, explain(res)).toBe(0);
    expect(tracetoolRecords(res.records).map((r) => r.argv.at(-1))).toEqual(["log", "stderr"]);
    const [conf] = configureRecords(res.records);
    if (conf === undefined) throw new Error(`no configure record\n${explain(res)}`);
    expect(conf.version).toBe("7.2.1"); // the stable-4.17 branch
    expect(conf.argv.slice(0, 4)).toEqual([
      "--enable-xen",
      "--target-list=i386-softmmu",
      "--enable-debug",
      "--enable-trace-backends=stderr"
    ]);
    expect(conf.argv.at(-1)).toBe("--enable-virtfs");
    expect(conf.env["PKG_CONFIG_PATH"]).toBe(`${xenRoot}/tools/../tools/pkg-config:/opt/pc`);
    // the top-level command line leaks into configure's environment and QEMU's own make
    expect(conf.env["MAKEFLAGS"]).toBe("w -- CONFIG_9PFS=y debug=y");
    const [build] = makeRecords(res.records, { dir: "qemu-xen-build" });
    expect(build?.vars).toEqual({ CONFIG_9PFS: "y", debug: "y" });
  });

  it("cannot check out a branch by its bare name (4.17's git-checkout.sh), and leaves the clone behind", async () => {
    const xenRoot = copyXenTree(path.join(work, "xen-branch"), { hardlink: true });
    writeConfig(xenRoot, ["QEMU_UPSTREAM_REVISION = stable-4.17"]);
    const res = await runGlue(xenRoot, { components: ["qemu-xen"] });
    dump("branch", res);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("fatal: 'stable-4.17' is not a commit and a branch 'dummy' cannot be created from it");
    expect(res.records).toEqual([]);
    const tools = path.join(xenRoot, "tools");
    expect(fs.statSync(path.join(tools, "qemu-xen-dir-remote.tmp")).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(tools, "qemu-xen-dir-remote"))).toBe(false);
    expect(fs.existsSync(path.join(tools, "qemu-xen-dir"))).toBe(false);
  });

  it("builds qemu-xen-traditional with CONFIG_QEMU_TRAD=y on the command line", async () => {
    const xenRoot = copyXenTree(path.join(work, "xen-trad"));
    writeConfig(xenRoot);
    const res = await runGlue(xenRoot, { components: ["qemu-xen-traditional"], makeArgs: ["CONFIG_QEMU_TRAD=y"] });
    dump("trad", res);
    expect(res.code, explain(res)).toBe(0);
    const tradDir = path.join(xenRoot, "tools", "qemu-xen-traditional-dir");
    expect(fs.readlinkSync(tradDir)).toBe("qemu-xen-traditional-dir-remote");

    const [setup, ...more] = xenSetupRecords(res.records);
    expect(more).toEqual([]);
    if (setup === undefined) throw new Error(`no xen-setup record\n${explain(res)}`);
    expect(setup.cwd).toBe(`${tradDir}-remote`);
    expect(setup.argv0).toBe("./xen-setup"); // $(QEMU_ROOT) is "." for a cloned tree
    // EXTRA_CFLAGS_QEMU_TRADITIONAL is empty: a trailing space is left inside the quotes
    expect(setup.argv).toEqual(["--extra-cflags=-D__XEN_TOOLS__ ", "--cpu=x86_64"]);
    expect(setup.env).toMatchObject({
      PREFIX: "/usr/local",
      XEN_SCRIPT_DIR: "/etc/xen/scripts",
      XEN_ROOT: `${xenRoot}/tools/..`,
      CONFIG_BLKTAP1: "n",
      BUILDING_QEMU_TRAD: "y",
      QEMU_ROOT: null // the source is a URL, so QEMU_ROOT is "." and not exported
    });
    const makes = makeRecords(res.records, { dir: "qemu-xen-traditional" });
    expect(makes.map((r) => r.target)).toEqual(["all"]);
    expect(makes[0]?.vars["CONFIG_QEMU_TRAD"]).toBe("y"); // command-line variables reach every sub-make
    expect(makes[0]?.env["BUILDING_QEMU_TRAD"]).toBe("y");
  });
});
