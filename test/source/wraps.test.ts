import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { UserError } from "../../src/util/errors.js";
import { validateSettings } from "../../src/config/settings.js";
import { fetchWraps, parseWrap, readWraps, type WrapSelector } from "../../src/source/wraps.js";
import { configureOptions, qemuXenWraps } from "../../src/components/qemu-xen/wraps.js";
import { memoryOutput } from "../../src/report/output.js";
import { fileUrl, git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { startGitDaemon, type GitDaemon } from "../support/servers.js";
import { copyXenTree } from "../support/xen-tree.js";

const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

/** A bare repository srv/<name>.git with one commit of `files` (and a tag); its commit id. */
function bareRepo(srv: string, name: string, files: Record<string, string>, tag?: string): string {
  const work = mkdtempSync(path.join(tmpdir(), `xqbuild-wrap-src-${name}-`));
  git(["init", "-q", work]);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(work, f)), { recursive: true });
    writeFileSync(path.join(work, f), text);
  }
  git(["add", "-A"], { cwd: work });
  git(["commit", "-qm", `${name}`], { cwd: work });
  if (tag) git(["tag", tag], { cwd: work });
  git(["clone", "-q", "--bare", work, path.join(srv, `${name}.git`)]);
  return git(["rev-parse", "HEAD"], { cwd: work });
}

/** A gzip tarball of `files` under the top directory `top`, written to dir/name; its sha256. */
function tarball(dir: string, name: string, top: string, files: Record<string, string>): string {
  const src = mkdtempSync(path.join(tmpdir(), "xqbuild-wrap-tar-"));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(src, top, f)), { recursive: true });
    writeFileSync(path.join(src, top, f), text);
  }
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-czf", path.join(dir, name), "-C", src, top]);
  return sha256(readFileSync(path.join(dir, name)));
}

/** Serves the files under dir over HTTP on 127.0.0.1, recording each request's path. */
async function fileServer(dir: string): Promise<{ base: string; paths: string[]; stop: () => Promise<void> }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/");
    paths.push(p);
    const f = path.join(dir, p);
    if (!p.includes("..") && existsSync(f)) {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.end(readFileSync(f));
    } else {
      res.writeHead(404);
      res.end("not found\n");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return { base: `http://127.0.0.1:${port}/`, paths, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

const diff = (file: string, before: string, after: string): string => `--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-${before}\n+${after}\n`;

/** The wraps of a QEMU-10-like tree, their upstream repositories and archives; URLs only the mirrors reach. */
interface WrapWorld {
  readonly srv: string;
  readonly files: string;
  readonly commits: Record<string, string>;
  readonly libdepHash: string;
  readonly crateHash: string;
}

function wrapWorld(base: string): WrapWorld {
  const srv = path.join(base, "srv");
  mkdirSync(srv, { recursive: true });
  const commits = {
    keycodemapdb: bareRepo(srv, "keycodemapdb", { "meson.build": "project('keycodemapdb')\n", "data/keymaps.csv": "a,b\n" }),
    softfloat: bareRepo(srv, "berkeley-softfloat-3", { "source/softfloat.c": "int f(void) { return 3; }\n" }, "v3e"),
    testfloat: bareRepo(srv, "berkeley-testfloat-3", { "source/testfloat.c": "int t(void);\n", "README": "testfloat unpatched\n" }),
    dtc: bareRepo(srv, "dtc", { "meson.build": "project('dtc')\n" }),
    slirp: bareRepo(srv, "libslirp", { "meson.build": "project('libslirp')\n" }),
  };
  const files = path.join(base, "files");
  const libdepHash = tarball(path.join(files, "libdep"), "libdep-1.0.tar.gz", "libdep-1.0", { "dep.c": "int dep(void) { return 1; }\n", "VERSION": "1.0\n" });
  const crateHash = tarball(path.join(files, "api/v1/crates/foo/1.0.0"), "download", "foo-1.0.0", { "Cargo.toml": "[package]\nname = \"foo\"\n", "src/lib.rs": "\n" });
  return { srv, files, commits, libdepHash, crateHash };
}

/** subprojects/ of the fake QEMU tree: the wraps (as QEMU 10 has them, and two more) and their packagefiles. */
function writeSubprojects(dir: string, w: WrapWorld): void {
  const sub = path.join(dir, "subprojects");
  const put = (rel: string, text: string): void => {
    mkdirSync(path.dirname(path.join(sub, rel)), { recursive: true });
    writeFileSync(path.join(sub, rel), text);
  };
  const gl = "https://gitlab.invalid/qemu-project";
  put("keycodemapdb.wrap", `[wrap-git]\nurl = ${gl}/keycodemapdb.git\nrevision = ${w.commits.keycodemapdb}\ndepth = 1\n`);
  put("berkeley-softfloat-3.wrap", `[wrap-git]\nurl = ${gl}/berkeley-softfloat-3.git\nrevision = v3e\npatch_directory = berkeley-softfloat-3\ndepth = 1\n`);
  put("packagefiles/berkeley-softfloat-3/meson.build", "project('berkeley-softfloat-3')\n");
  put("packagefiles/berkeley-softfloat-3/meson_options.txt", "option('defines', type: 'array', value: [])\n");
  put("berkeley-testfloat-3.wrap", `[wrap-git]\nurl = ${gl}/berkeley-testfloat-3.git\nrevision = ${w.commits.testfloat}\npatch_directory = berkeley-testfloat-3\ndiff_files = testfloat-readme.patch\n`);
  put("packagefiles/berkeley-testfloat-3/meson.build", "project('berkeley-testfloat-3')\n");
  put("packagefiles/testfloat-readme.patch", diff("README", "testfloat unpatched", "testfloat patched"));
  put("dtc.wrap", `[wrap-git]\nurl = ${gl}/dtc.git\nrevision = ${w.commits.dtc}\ndepth = 1\n`);
  put("slirp.wrap", `[wrap-git]\nurl = ${gl}/libslirp.git\nrevision = ${w.commits.slirp}\n\n[provide]\nslirp = libslirp_dep\n`);
  put("foo-1-rs.wrap", `[wrap-file]\ndirectory = foo-1.0.0\nsource_url = https://crates.invalid/api/v1/crates/foo/1.0.0/download\nsource_filename = foo-1.0.0.tar.gz\nsource_hash = ${w.crateHash}\n#method = cargo\npatch_directory = foo-1-rs\n`);
  put("packagefiles/foo-1-rs/meson.build", "project('foo-1-rs', 'rust')\n");
  // Not one of QEMU's: fetched only when the user's config forces it.
  put("libdep.wrap", `[wrap-file]\ndirectory = libdep-1.0\nsource_url = https://crates.invalid/libdep/libdep-1.0.tar.gz\nsource_filename = libdep-1.0.tar.gz\nsource_hash = ${w.libdepHash}\npatch_directory = libdep\ndiff_files = libdep-version.patch\n`);
  put("packagefiles/libdep/meson.build", "project('libdep', 'c')\n");
  put("packagefiles/libdep-version.patch", diff("VERSION", "1.0", "1.0-qemu"));
}

/** QEMU 10's option defaults that the selection reads, appended to the fixture's meson_options.txt. */
const QEMU10_OPTIONS = "option('tcg', type: 'feature', value: 'enabled')\noption('vfio_user_server', type: 'feature', value: 'disabled')\noption('slirp', type: 'feature', value: 'auto')\noption('fdt', type: 'combo', value: 'auto', choices: ['disabled', 'enabled', 'auto', 'system', 'internal'])\noption('rust', type: 'feature', value: 'disabled')\n";

/** A static libfdt with the function meson's probe calls, so the host's probe gives the same answer everywhere. */
function fakeLibfdt(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "libfdt.h"), "#include <stddef.h>\nint fdt_find_max_phandle(const void *fdt, unsigned *phandle);\n");
  writeFileSync(path.join(dir, "libfdt_env.h"), "\n");
  writeFileSync(path.join(dir, "fdt.c"), "int fdt_find_max_phandle(const void *fdt, unsigned *phandle) { (void)fdt; (void)phandle; return 0; }\n");
  execFileSync("cc", ["-c", "-o", path.join(dir, "fdt.o"), path.join(dir, "fdt.c")]);
  execFileSync("ar", ["rcs", path.join(dir, "libfdt.a"), path.join(dir, "fdt.o")]);
}

const selectAll: WrapSelector = async (wraps) => new Map(wraps.map((w) => [w.name, { fetch: true, why: "test" }]));

function expectUserError(e: unknown, re: RegExp): void {
  expect(e).toBeInstanceOf(UserError);
  expect((e as Error).message).toMatch(re);
}

describe("meson wraps (newer QEMU's subprojects)", () => {
  it("parses wraps as meson does: first section, [provide], directory, and meson's hash of the file", () => {
    const text = "[wrap-git]\nurl = https://x/y.git\nrevision = v1\n# c\nDepth = 1\n";
    expect(parseWrap(text, "y")).toEqual({ name: "y", type: "wrap-git", keys: { url: "https://x/y.git", revision: "v1", depth: "1" }, provide: {}, directory: "y", hash: sha256(text) });
    const z = parseWrap("[wrap-file]\r\ndirectory = z-1\r\nsource_url = https://x/z.tar.gz\r\nsource_hash = ab\r\n\r\n[provide]\r\nz = z_dep\r\n", "z");
    expect(z?.keys).toEqual({ directory: "z-1", source_url: "https://x/z.tar.gz", source_hash: "ab" });
    expect(z?.provide).toEqual({ z: "z_dep" });
    expect(z?.directory).toBe("z-1");
    // Python reads the file in text mode: the hash is of the text with \n line ends.
    expect(z?.hash).toBe(sha256("[wrap-file]\ndirectory = z-1\nsource_url = https://x/z.tar.gz\nsource_hash = ab\n\n[provide]\nz = z_dep\n"));
  });

  describe("QEMU's selection (recipes/qemu-xen-wraps.ts)", () => {
    let dir: string;
    const xen = ["configure", "--enable-xen", "--target-list=i386-softmmu", "--disable-kvm", "--disable-docs", "--disable-guest-agent"];
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), "xqbuild-wrapsel-"));
      writeSubprojects(dir, wrapWorld(dir));
      writeFileSync(path.join(dir, "meson_options.txt"), QEMU10_OPTIONS);
    });
    const pick = async (extra: string[], env: Record<string, string | undefined> = {}): Promise<Record<string, boolean>> => {
      const m = await qemuXenWraps({ wraps: readWraps(dir), sourceDir: dir, configure: [...xen, ...extra], env: { PATH: process.env.PATH, ...env } });
      return Object.fromEntries([...m].map(([k, v]) => [k, v.fetch]));
    };

    it("Xen's configure line: keycodemapdb and the softfloat pair; no crate, slirp or unknown wrap; dtc by the libfdt probe", async () => {
      const lib = path.join(dir, "fdt");
      fakeLibfdt(lib);
      const withFdt = [`--extra-cflags=-I${lib}`, `--extra-ldflags=-L${lib}`];
      expect(await pick(withFdt)).toEqual({ keycodemapdb: true, "berkeley-softfloat-3": true, "berkeley-testfloat-3": true, dtc: false, slirp: false, "foo-1-rs": false, libdep: false });
      // A compiler that cannot link libfdt (here one that links nothing): meson falls back to the wrap.
      expect((await pick(withFdt, { CC: "false" })).dtc).toBe(true);
      expect((await pick(["--disable-fdt"], { CC: "false" })).dtc).toBe(false);
      expect((await pick(["--enable-fdt=internal", ...withFdt])).dtc).toBe(true);
      expect((await pick(["-Dfdt=internal", ...withFdt])).dtc).toBe(true);
      expect((await pick(["--enable-fdt=system"], { CC: "false" })).dtc).toBe(false);
    });

    it("TCG, Rust, slirp and vfio-user follow their options, read as configure passes them to meson", async () => {
      const off = await pick(["--disable-tcg", "--disable-fdt"]);
      expect([off["berkeley-softfloat-3"], off["berkeley-testfloat-3"], off.keycodemapdb]).toEqual([false, false, true]);
      expect((await pick(["--enable-rust", "--disable-fdt"]))["foo-1-rs"]).toBe(true);
      expect((await pick(["-Drust=enabled", "--disable-fdt"]))["foo-1-rs"]).toBe(true);
      expect((await pick(["--enable-rust", "--disable-rust", "--disable-fdt"]))["foo-1-rs"]).toBe(false);
      // slirp only as the fallback of a required dependency the system does not have.
      expect((await pick(["--enable-slirp", "--disable-fdt"], { PKG_CONFIG: "false" })).slirp).toBe(true);
      expect((await pick(["--enable-slirp", "--disable-fdt"], { PKG_CONFIG: "true" })).slirp).toBe(false);
      expect((await pick(["--disable-fdt"], { PKG_CONFIG: "false" })).slirp).toBe(false);
      expect(configureOptions(["--target-list=x86_64-linux-user"], new Map()).haveSystem).toBe(false);
      expect(configureOptions(["--without-default-features"], new Map([["vfio_user_server", "auto"]])).feature("vfio_user_server")).toBe("disabled");
    });

    it("a tree whose meson_options.txt defaults Rust to auto: the crates only with rustc and bindgen", async () => {
      const later = mkdtempSync(path.join(tmpdir(), "xqbuild-wrapsel-auto-"));
      writeSubprojects(later, wrapWorld(later));
      writeFileSync(path.join(later, "meson_options.txt"), QEMU10_OPTIONS.replace("'rust', type: 'feature', value: 'disabled'", "'rust', type: 'feature', value: 'auto'"));
      const bin = path.join(later, "bin");
      mkdirSync(bin);
      const run = async (env: Record<string, string>) => (await qemuXenWraps({ wraps: readWraps(later), sourceDir: later, configure: [...xen, "--disable-fdt"], env })).get("foo-1-rs")?.fetch;
      expect(await run({ PATH: bin, RUSTC: "false" })).toBe(false);
      writeFileSync(path.join(bin, "bindgen"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      writeFileSync(path.join(bin, "rustc"), "#!/bin/sh\necho 'host: x86_64-unknown-linux-gnu'\n", { mode: 0o755 });
      expect(await run({ PATH: `${bin}:/usr/bin:/bin` })).toBe(true);
    });
  });

  describe("xqbuild fetch on a Xen tree with a QEMU 10-like subprojects/", () => {
    let base: string;
    let world: WrapWorld;
    let repos: UpstreamRepos;
    let daemon: GitDaemon | undefined;
    let files: Awaited<ReturnType<typeof fileServer>> | undefined;
    let lib: string;
    let mirrors: Record<string, string>;
    beforeAll(async () => {
      base = mkdtempSync(path.join(tmpdir(), "xqbuild-wraps-"));
      repos = makeUpstreamRepos(path.join(base, "up"));
      world = wrapWorld(base);
      const work = path.join(base, "qemu-work");
      git(["clone", "-q", repos.qemuXen.path, work]);
      git(["checkout", "-q", "qemu-xen-4.17.3"], { cwd: work });
      writeSubprojects(work, world);
      writeFileSync(path.join(work, "meson_options.txt"), readFileSync(path.join(work, "meson_options.txt"), "utf8") + QEMU10_OPTIONS);
      git(["add", "-A"], { cwd: work });
      git(["commit", "-qm", "wraps"], { cwd: work });
      git(["tag", "-f", "wraps-test"], { cwd: work });
      git(["push", "-q", repos.qemuXen.path, "refs/tags/wraps-test"], { cwd: work });
      lib = path.join(base, "fdt");
      fakeLibfdt(lib);
      daemon = await startGitDaemon(world.srv);
      files = await fileServer(world.files);
      // The wraps' own hosts (.invalid) never resolve: only the mirrors reach them.
      mirrors = { "https://gitlab.invalid/qemu-project/": daemon.url(""), "https://crates.invalid/": files.base };
    });
    afterAll(async () => {
      await daemon?.stop();
      await files?.stop();
    });

    const tree = (name: string, rc: Record<string, unknown>): string => {
      const root = copyXenTree(path.join(base, name), { hardlink: true });
      writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${fileUrl(repos.qemuXen.path)}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
      writeFileSync(path.join(root, ".xqbuildrc.json"), JSON.stringify(rc));
      return root;
    };
    const settings = (wraps: object, extra: string[] = []): Record<string, unknown> => ({
      mirrors,
      components: { "qemu-xen": { wraps, extraConfigureArgs: [`--extra-cflags=-I${lib}`, `--extra-ldflags=-L${lib}`, ...extra] } },
    });
    const run = async (root: string, extra: string[] = [], env: Record<string, string> = {}) => {
      const o = memoryOutput();
      const code = await main(["fetch", "qemu-xen", "QEMU_UPSTREAM_REVISION=wraps-test", ...extra, "-C", root], { cwd: root, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), ...env }, output: o });
      return { code, stderr: o.stderr.join("\n") };
    };
    const subOf = (root: string): string => path.join(root, "tools", "qemu-xen-dir", "subprojects");
    const wrapHash = (root: string, name: string): string => sha256(readFileSync(path.join(subOf(root), `${name}.wrap`)));

    it("with Rust, internal fdt and slirp enabled (no system slirp): the crate, dtc and slirp too; a skip in the config wins", async () => {
      const root = tree("xen-all", settings({ skip: ["berkeley-testfloat-3"] }, ["--enable-rust", "--enable-fdt=internal", "--enable-slirp"]));
      const r = await run(root, [], { PKG_CONFIG: "false", XQBUILD_CACHE_DIR: path.join(base, "cache-all") });
      expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
      const sub = subOf(root);
      expect(readdirSync(sub).filter((f) => !f.endsWith(".wrap")).sort()).toEqual(["berkeley-softfloat-3", "dtc", "foo-1.0.0", "keycodemapdb", "packagecache", "packagefiles", "slirp"]);
      // The crate: the archive from the crates mirror, unpacked under its directory, patch_directory over it.
      expect(readFileSync(path.join(sub, "foo-1.0.0", "Cargo.toml"), "utf8")).toContain('name = "foo"');
      expect(readFileSync(path.join(sub, "foo-1.0.0", "meson.build"), "utf8")).toBe("project('foo-1-rs', 'rust')\n");
      expect(sha256(readFileSync(path.join(sub, "packagecache", "foo-1.0.0.tar.gz")))).toBe(world.crateHash);
      expect(git(["rev-parse", "HEAD"], { cwd: path.join(sub, "dtc") })).toBe(world.commits.dtc);
      expect(git(["rev-parse", "HEAD"], { cwd: path.join(sub, "slirp") })).toBe(world.commits.slirp);
      expect(r.stderr).toMatch(/not fetched: .*berkeley-testfloat-3 \(components\.qemu-xen\.wraps\.skip\)/);
      expect(r.stderr).toMatch(/libdep \(not known to the qemu-xen recipe; components\.qemu-xen\.wraps\.fetch forces it\)/);
    });

    it("prepares only what meson setup would download, through the mirrors, as meson does; a second tree offline from the cache", async () => {
      const root = tree("xen", settings({ fetch: ["libdep"] }));
      files?.paths.splice(0);
      const r = await run(root);
      expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
      expect(r.code).toBe(0);
      const sub = subOf(root);
      const dirs = readdirSync(sub).filter((f) => !f.endsWith(".wrap")).sort();
      expect(dirs).toEqual(["berkeley-softfloat-3", "berkeley-testfloat-3", "keycodemapdb", "libdep-1.0", "packagecache", "packagefiles"]);
      // wrap-git at the pinned revision, the real URL as origin.
      expect(git(["rev-parse", "HEAD"], { cwd: path.join(sub, "keycodemapdb") })).toBe(world.commits.keycodemapdb);
      expect(git(["remote", "get-url", "origin"], { cwd: path.join(sub, "keycodemapdb") })).toBe("https://gitlab.invalid/qemu-project/keycodemapdb.git");
      expect(git(["rev-parse", "HEAD"], { cwd: path.join(sub, "berkeley-softfloat-3") })).toBe(world.commits.softfloat);
      // patch_directory: meson.build only in packagefiles, copied over the checkout.
      expect(readFileSync(path.join(sub, "berkeley-softfloat-3", "meson.build"), "utf8")).toBe("project('berkeley-softfloat-3')\n");
      expect(existsSync(path.join(sub, "berkeley-softfloat-3", "meson_options.txt"))).toBe(true);
      expect(existsSync(path.join(sub, "berkeley-softfloat-3", "source", "softfloat.c"))).toBe(true);
      // diff_files applied after patch_directory.
      expect(readFileSync(path.join(sub, "berkeley-testfloat-3", "README"), "utf8")).toBe("testfloat patched\n");
      expect(existsSync(path.join(sub, "berkeley-testfloat-3", "meson.build"))).toBe(true);
      // The wrap-file forced by the config: archive in packagecache, unpacked, patched.
      expect(sha256(readFileSync(path.join(sub, "packagecache", "libdep-1.0.tar.gz")))).toBe(world.libdepHash);
      expect(readFileSync(path.join(sub, "libdep-1.0", "VERSION"), "utf8")).toBe("1.0-qemu\n");
      expect(readFileSync(path.join(sub, "libdep-1.0", "meson.build"), "utf8")).toBe("project('libdep', 'c')\n");
      // meson's hash file, so that its setup does not warn that the wrap changed.
      for (const [name, d] of [["keycodemapdb", "keycodemapdb"], ["berkeley-softfloat-3", "berkeley-softfloat-3"], ["berkeley-testfloat-3", "berkeley-testfloat-3"], ["libdep", "libdep-1.0"]]) {
        expect(readFileSync(path.join(sub, d as string, ".meson-subproject-wrap-hash.txt"), "utf8")).toBe(`${wrapHash(root, name as string)}\n`);
      }
      // The crate, dtc and slirp were not downloaded, and the user is told.
      expect(files?.paths).toEqual(["/libdep/libdep-1.0.tar.gz"]);
      expect(readdirSync(path.join(base, "cache", "git")).filter((f) => /^(dtc|libslirp)-/.test(f))).toEqual([]);
      expect(r.stderr).toMatch(/qemu-xen: meson wraps: fetched berkeley-softfloat-3 \(git v3e\), berkeley-testfloat-3 \(git [0-9a-f]{12}\), keycodemapdb \(git [0-9a-f]{12}\), libdep \(libdep-1.0.tar.gz\); not fetched: .*dtc \(the host's libfdt links\).*foo-1-rs \(Rust is disabled\).*slirp \(slirp is not enabled \(no fallback\)\)/);
      // A rerun changes nothing and says the wraps are prepared.
      const again = await run(root);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/meson wraps: already prepared: berkeley-softfloat-3, berkeley-testfloat-3, keycodemapdb, libdep/);

      // A second tree, offline, with the servers gone: everything from the cache.
      await daemon?.stop();
      await files?.stop();
      daemon = undefined;
      files = undefined;
      const root2 = tree("xen2", settings({ fetch: ["libdep"] }));
      const r2 = await run(root2, ["--offline"]);
      expect(r2.stderr).toBe(r2.code === 0 ? r2.stderr : "");
      expect(readdirSync(subOf(root2)).filter((f) => !f.endsWith(".wrap")).sort()).toEqual(dirs);
      expect(readFileSync(path.join(subOf(root2), "berkeley-testfloat-3", "README"), "utf8")).toBe("testfloat patched\n");
      expect(readFileSync(path.join(subOf(root2), "libdep-1.0", "VERSION"), "utf8")).toBe("1.0-qemu\n");
    });
  });

  describe("what the generic preparation refuses or undoes (fetchWraps)", () => {
    const opts = (cache: string, mirrors: Record<string, string> = {}) => ({ env: gitEnv() as Record<string, string>, cacheDir: cache, offline: false, mirrors });
    const fresh = (wrap: string, extra: Record<string, string> = {}): { dir: string; sub: string; before: string[] } => {
      const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-wraps-bad-"));
      const sub = path.join(dir, "subprojects");
      mkdirSync(path.join(sub, "packagefiles"), { recursive: true });
      writeFileSync(path.join(sub, "x.wrap"), wrap);
      for (const [f, t] of Object.entries(extra)) {
        mkdirSync(path.dirname(path.join(sub, f)), { recursive: true });
        writeFileSync(path.join(sub, f), t);
      }
      return { dir, sub, before: execFileSync("find", [dir], { encoding: "utf8" }).split("\n").sort() };
    };
    const listing = (dir: string): string[] => execFileSync("find", [dir], { encoding: "utf8" }).split("\n").sort();

    it("refuses a hostile wrap (directory, patch_directory, diff_files, filenames, local URLs) before writing anything", async () => {
      const cache = mkdtempSync(path.join(tmpdir(), "xqbuild-wraps-cache-"));
      const git1 = "[wrap-git]\nurl = https://example.invalid/x.git\nrevision = v1\n";
      const cases: [string, RegExp, Record<string, string>?][] = [
        [`${git1}directory = ../x\n`, /x\.wrap: "directory" is "\.\.\/x"/],
        [`${git1}directory = ..\n`, /"directory" is "\.\."/],
        [`${git1}patch_directory = ../../etc\n`, /x\.wrap: "patch_directory" names "\.\.\/\.\.\/etc"/],
        [`${git1}diff_files = ok.patch, ../x.patch\n`, /x\.wrap: "diff_files" names "\.\.\/x\.patch"/],
        [`${git1}diff_files = /etc/passwd\n`, /"diff_files" names "\/etc\/passwd"/],
        ["[wrap-file]\ndirectory = x-1\nsource_url = https://example.invalid/x.tgz\nsource_filename = ../../x.tgz\nsource_hash = " + "0".repeat(64) + "\n", /"source_filename" names "\.\.\/\.\.\/x\.tgz"/],
        ["[wrap-file]\ndirectory = x-1\nsource_filename = x.tgz\npatch_filename = ../p.tgz\n", /"patch_filename" names "\.\.\/p\.tgz"/],
        ["[wrap-git]\nurl = file:///srv/x.git\nrevision = v1\n", /"url" names "file:\/\/\/srv\/x\.git", which is a local path/],
        ["[wrap-git]\nurl = /srv/x.git\nrevision = v1\n", /"url" names "\/srv\/x\.git", which is a local path/],
        ["[wrap-file]\ndirectory = x-1\nsource_url = file:///srv/x.tgz\nsource_filename = x.tgz\nsource_hash = " + "0".repeat(64) + "\n", /"source_url" names "file:/],
      ];
      for (const [wrap, re, extra] of cases) {
        const t = fresh(wrap, extra);
        const e = await fetchWraps(t.dir, selectAll, opts(cache)).catch((err: unknown) => err);
        expectUserError(e, re);
        expect(listing(t.dir)).toEqual(t.before);
      }
      // A wrap nothing selects: meson's own load-time rules still hold, the rest is never used.
      const none: WrapSelector = async () => new Map();
      const unused = fresh("[wrap-git]\nurl = file:///srv/x.git\nrevision = v1\npatch_directory = ../../etc\n");
      expect((await fetchWraps(unused.dir, none, opts(cache)))?.skipped).toEqual([{ name: "x", why: "not selected" }]);
      expect(listing(unused.dir)).toEqual(unused.before);
      const unusedBad = fresh(`${git1}directory = a/b\n`);
      expectUserError(await fetchWraps(unusedBad.dir, none, opts(cache)).catch((err: unknown) => err), /"directory" is "a\/b"/);
      // A patch_directory that is a link out of packagefiles is refused by its real path.
      const t = fresh(`${git1}patch_directory = evil\n`);
      symlinkSync("/etc", path.join(t.sub, "packagefiles", "evil"));
      const before = listing(t.dir);
      expectUserError(await fetchWraps(t.dir, selectAll, opts(cache)).catch((err: unknown) => err), /"patch_directory" names "evil", which resolves to \/etc/);
      expect(listing(t.dir)).toEqual(before);
      expect(readdirSync(cache)).toEqual([]);
    });

    it("a diff that does not apply, or a subproject without meson.build, leaves no subproject behind; the mirrors may map a wrap to a local repository", async () => {
      const base = mkdtempSync(path.join(tmpdir(), "xqbuild-wraps-fail-"));
      const srv = path.join(base, "srv");
      mkdirSync(srv);
      const commit = bareRepo(srv, "x", { README: "one\n" });
      const cache = path.join(base, "cache");
      const mirrors = { "https://example.invalid/": `${fileUrl(srv)}/` };
      const wrap = `[wrap-git]\nurl = https://example.invalid/x.git\nrevision = ${commit}\npatch_directory = x\n`;
      const t = fresh(`${wrap}diff_files = bad.patch\n`, { "packagefiles/x/meson.build": "project('x')\n", "packagefiles/bad.patch": diff("README", "two", "three") });
      expectUserError(await fetchWraps(t.dir, selectAll, opts(cache, mirrors)).catch((e: unknown) => e), /x\.wrap: the diff file bad\.patch does not apply to x/);
      expect(listing(t.dir)).toEqual(t.before);
      const u = fresh(wrap, { "packagefiles/x/README": "meson.build forgotten\n" });
      expectUserError(await fetchWraps(u.dir, selectAll, opts(cache, mirrors)).catch((e: unknown) => e), /the subproject x has no meson\.build once prepared/);
      expect(listing(u.dir)).toEqual(u.before);
      // The same wrap with a good diff: prepared, through the user's mirror of the URL.
      const v = fresh(`${wrap}diff_files = good.patch\n`, { "packagefiles/x/meson.build": "project('x')\n", "packagefiles/good.patch": diff("README", "one", "two") });
      const r = await fetchWraps(v.dir, selectAll, opts(cache, mirrors));
      expect(r?.fetched).toEqual([`x (git ${commit.slice(0, 12)})`]);
      expect(readFileSync(path.join(v.sub, "x", "README"), "utf8")).toBe("two\n");
      expect(readdirSync(v.sub).sort()).toEqual(["packagefiles", "x", "x.wrap"]);
    });
  });

  it("checks components.<name>.wraps in the config file", () => {
    const bad = (wraps: unknown): string => {
      try {
        validateSettings({ components: { "qemu-xen": { wraps } } }, "/t/.xqbuildrc.json");
      } catch (e) {
        return (e as Error).message;
      }
      return "accepted";
    };
    expect(bad({ fetch: ["dtc"], skip: ["slirp"] })).toBe("accepted");
    expect(bad(["dtc"])).toMatch(/"components.qemu-xen.wraps" must be an object/);
    expect(bad({ fetch: "dtc" })).toMatch(/"components.qemu-xen.wraps.fetch" must be an array of wrap names/);
    expect(bad({ fetch: ["../dtc"] })).toMatch(/names "..\/dtc", which is not a wrap name/);
    expect(bad({ get: ["dtc"] })).toMatch(/"components.qemu-xen.wraps.get" is not a wraps setting/);
    expect(bad({ fetch: ["dtc"], skip: ["dtc"] })).toMatch(/names dtc in both fetch and skip/);
  });
});
