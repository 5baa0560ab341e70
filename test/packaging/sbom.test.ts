// `xqbuild sbom` and `install --sbom` on the fixture upstreams: QEMU's superproject with its
// submodules served over smart HTTP (a URL with a password in it), SeaBIOS with a patch queue, a
// wrap added by a patch, a real install through the artifact cache. Both documents are validated
// against the official schemas (CycloneDX 1.6 through the CycloneDX library's own validator, SPDX 2.3
// with the schema vendored from spdx/spdx-spec) and read for their content.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { checkSpdxId } from "../../src/packaging/bill.js";
import { UserError } from "../../src/util/errors.js";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { startHttpGit, type HttpGitServer } from "../support/servers.js";
import { makeSubmoduleUpstream, type SubmoduleUpstream } from "../support/submodules.js";
import { copyXenTree } from "../support/xen-tree.js";
import { makeKey, tag } from "../support/gpg.js";

const SPDX_SCHEMA = fileURLToPath(new URL("../schemas/spdx-schema-2.3.json", import.meta.url));
const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

const VERSION_PATCH = `--- a/VERSION
+++ b/VERSION
@@ -1 +1 @@
-1.16.0
+1.16.0-patched
`;

const WRAP_SHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/** A patch that adds a meson wrap (wrap-file) to QEMU's subprojects/: meson's configure would download it. */
const WRAP_PATCH = `--- /dev/null
+++ b/subprojects/libfoo.wrap
@@ -0,0 +1,5 @@
+[wrap-file]
+directory = libfoo-1.0
+source_url = https://example.invalid/libfoo-1.0.tar.gz
+source_filename = libfoo-1.0.tar.gz
+source_hash = ${WRAP_SHA}
`;

let base: string;
let repos: UpstreamRepos;
let up: SubmoduleUpstream;
let server: HttpGitServer;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-sbom-"));
  const dir = path.join(base, "upstream");
  repos = makeUpstreamRepos(dir);
  // qemu-xen.git becomes the superproject with QEMU's submodules (relative URLs: one server serves all).
  up = makeSubmoduleUpstream(dir);
  server = await startHttpGit(dir);
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

interface Tree {
  root: string;
  dest: string;
  env: Record<string, string | undefined>;
}

let n = 0;
function tree(extra: Record<string, string | undefined> = {}, opts: { patches?: boolean; config?: string } = {}): Tree {
  const dir = path.join(base, `t${n++}`);
  const root = copyXenTree(path.join(dir, "xen"), { hardlink: true });
  const qemu = server.url("qemu-xen.git").replace("http://", "http://user:secret@");
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${qemu}\nSEABIOS_UPSTREAM_URL = ${server.url("seabios.git")}\n${opts.config ?? ""}`);
  if (opts.patches !== false) writeFileSync(path.join(root, ".xqbuildrc.json"), JSON.stringify({ components: { seabios: { patches: "patches/seabios" }, "qemu-xen": { patches: "patches/qemu-xen" } } }));
  for (const [c, name, text] of [
    ["seabios", "0001-version.patch", VERSION_PATCH],
    ["qemu-xen", "0001-wrap.patch", WRAP_PATCH],
  ] as const) {
    mkdirSync(path.join(root, "patches", c), { recursive: true });
    writeFileSync(path.join(root, "patches", c, name), text);
  }
  return { root, dest: path.join(dir, "dest"), env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), XQBUILD_CCACHE: "0", XQ_RECORD: path.join(dir, "record.jsonl"), ...extra } };
}

async function xq(t: Tree, argv: string[], env: Record<string, string | undefined> = {}) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

async function validCycloneDx(text: string): Promise<void> {
  const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text);
  expect(errors).toBeNull();
}

function validSpdx(text: string): void {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(SPDX_SCHEMA, "utf8")) as object);
  const ok = validate(JSON.parse(text));
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

/** Every file under dir, relative, with its sha256. */
function hashesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out[r] = sha256(readFileSync(path.join(dir, r)));
    }
  };
  walk("");
  return out;
}

interface CdxComponent {
  name: string;
  version?: string;
  "bom-ref": string;
  type: string;
  licenses?: { license: { id: string } }[];
  hashes?: { alg: string; content: string }[];
  externalReferences?: { type: string; url: string }[];
  properties?: { name: string; value: string }[];
  components?: CdxComponent[];
}
const prop = (c: CdxComponent, name: string): string[] => (c.properties ?? []).filter((p) => p.name === `xqbuild:${name}`).map((p) => p.value);
const role = (c: CdxComponent, r: string): CdxComponent[] => (c.components ?? []).filter((x) => prop(x, "role").includes(r));
const sha = (c: CdxComponent): string | undefined => c.hashes?.find((h) => h.alg === "SHA-256")?.content;

describe("xqbuild sbom and install --sbom", () => {
  let t: Tree;
  let cdx: string;
  let spdx: string;
  const installedSbom = (file: string): string => readFileSync(path.join(t.dest, "usr", "local", "lib", "xen", "share", "doc", "xqbuild", file), "utf8");

  beforeAll(async () => {
    // XQ_FAKE_MESON: QEMU's build directory is a meson one (QEMU 5.2 and later), as meson leaves it.
    t = tree({ XQ_FAKE_MESON: "1" });
    const r = await xq(t, ["install", "--sbom", "--destdir", t.dest]);
    expect(r.code, r.stderr).toBe(0);
    cdx = installedSbom("sbom.cdx.json");
    spdx = installedSbom("sbom.spdx.json");
  }, 240_000);

  it("install --sbom writes both documents into DESTDIR$(LIBEXEC)/share/doc/xqbuild, and each is valid against its official schema", async () => {
    await validCycloneDx(cdx);
    validSpdx(spdx);
    const doc = JSON.parse(cdx) as { bomFormat: string; specVersion: string; serialNumber: string };
    expect([doc.bomFormat, doc.specVersion]).toEqual(["CycloneDX", "1.6"]);
    expect(doc.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect((JSON.parse(spdx) as { spdxVersion: string }).spdxVersion).toBe("SPDX-2.3");
  });

  it("names each component's upstream without its password, its commit, submodules, patches, license and configure argv", () => {
    for (const text of [cdx, spdx]) {
      expect(text).not.toContain("secret");
      expect(text).not.toContain("user:");
    }
    const doc = JSON.parse(cdx) as { components: CdxComponent[] };
    expect(doc.components.map((c) => c.name)).toEqual(["qemu-xen", "seabios"]);
    const [q, s] = doc.components as [CdxComponent, CdxComponent];
    // What each is: the device model a program, SeaBIOS firmware (the recipe's kind), in both documents.
    expect([q, s].map((c) => c.type)).toEqual(["application", "firmware"]);
    const purposes = (JSON.parse(spdx) as { packages: Array<{ name: string; primaryPackagePurpose?: string }> }).packages.filter((p) => p.name === "qemu-xen" || p.name === "seabios").map((p) => [p.name, p.primaryPackagePurpose]);
    expect(purposes).toEqual([["qemu-xen", "APPLICATION"], ["seabios", "FIRMWARE"]]);
    expect(q.externalReferences).toEqual([expect.objectContaining({ type: "vcs", url: server.url("qemu-xen.git") })]);
    const qCommit = up.superproject.refs["qemu-xen-4.17.3"] as string;
    expect(prop(q, "commit")).toEqual([qCommit]);
    expect(prop(q, "tag")).toContain("qemu-xen-4.17.3");
    expect(q.licenses).toEqual([{ license: { id: "GPL-2.0-only", acknowledgement: "declared" } }]);
    expect(s.licenses).toEqual([{ license: { id: "LGPL-3.0-only", acknowledgement: "declared" } }]);
    // The version of what was built: the patch queue changed it.
    expect(s.version).toBe("1.16.0-patched");
    expect(prop(s, "commit")).toEqual([repos.seabios.refs["rel-1.16.0"]]);
    // The patched tree is a commit of its own on top of the upstream one.
    const treeCommit = git(["rev-parse", "HEAD"], { cwd: path.join(t.root, "tools", "firmware", "seabios-dir") }).trim();
    expect(prop(s, "tree-commit")).toEqual([treeCommit]);
    expect(treeCommit).not.toBe(repos.seabios.refs["rel-1.16.0"]);
    // The submodules that were checked out, at the commits the superproject records; not roms/big.
    const subs = role(q, "git-submodule");
    expect(subs.map((x) => [x.name, x.version])).toEqual(up.submodules.map((m) => [m.path, m.commit]).sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)));
    expect(subs.find((x) => x.name === "dtc")?.externalReferences?.[0]?.url).toBe(server.url("dtc.git"));
    // The patch queues, each patch with the sha256 of its file.
    expect(role(s, "patch").map((p) => [p.name, sha(p)])).toEqual([["0001-version.patch", sha256(VERSION_PATCH)]]);
    expect(role(q, "patch").map((p) => [p.name, sha(p)])).toEqual([["0001-wrap.patch", sha256(WRAP_PATCH)]]);
    // The wrap the patch added: meson would fetch its archive by this sha256.
    expect(role(q, "subproject").map((w) => [w.name, sha(w), prop(w, "present")[0]])).toEqual([["libfoo", WRAP_SHA, "false"]]);
    // The configure argv as it ran (the fixture records it), and the toolchain.
    const argv = prop(q, "configure-argv").map((a) => JSON.parse(a) as string[]);
    expect(argv).toHaveLength(1);
    expect(argv[0]?.[0]).toMatch(/configure$/);
    expect(argv[0]).toContain("--enable-xen");
    const meta = (JSON.parse(cdx) as { metadata: { properties: { name: string; value: string }[] } }).metadata.properties.map((p) => p.name);
    expect(meta).toEqual(expect.arrayContaining(["xqbuild:toolchain:cc", "xqbuild:toolchain:make", "xqbuild:toolchain:python", "xqbuild:toolchain:ninja"]));
    // The meson QEMU's build directory was set up with (the fixture's configure records one).
    expect(prop(q, "build-tool:meson")).toEqual(["1.5.0-fake"]);
    expect(prop(s, "build-tool:meson")).toEqual([]);
    expect(spdx).toContain("meson: 1.5.0-fake");
    // SeaBIOS's .config as the glue copies it into the tree (tools/firmware/seabios-config), before olddefconfig.
    const dotConfig = readFileSync(path.join(t.root, "tools", "firmware", "seabios-config"));
    expect(prop(s, "config-file:.config")).toEqual([`sha256:${sha256(dotConfig)}`]);
    // The license files read from the trees.
    const copying = readFileSync(path.join(t.root, "tools", "firmware", "seabios-dir", "COPYING.LESSER"));
    expect(prop(s, "license-file:COPYING.LESSER")).toEqual([`sha256:${sha256(copying)}`]);
  });

  it("lists every installed file with the sha256 of the file in DESTDIR, in both documents", () => {
    const onDisk = hashesUnder(t.dest);
    const doc = JSON.parse(cdx) as { components: CdxComponent[] };
    const listed: Record<string, string> = {};
    for (const c of doc.components) for (const f of role(c, "installed-file")) listed[f.name] = sha(f) as string;
    const sboms = Object.keys(onDisk).filter((f) => f.includes("share/doc/xqbuild/"));
    expect(sboms.sort()).toEqual(["usr/local/lib/xen/share/doc/xqbuild/sbom.cdx.json", "usr/local/lib/xen/share/doc/xqbuild/sbom.spdx.json"]);
    for (const f of sboms) delete onDisk[f];
    expect(listed).toEqual(onDisk);
    expect(Object.keys(listed)).toEqual(expect.arrayContaining(["usr/local/lib/xen/bin/qemu-system-i386", "usr/local/lib/xen/boot/seabios.bin"]));
    const files = (JSON.parse(spdx) as { files: { fileName: string; checksums: { algorithm: string; checksumValue: string }[] }[] }).files;
    for (const [rel, h] of Object.entries(onDisk)) {
      expect(files.find((f) => f.fileName === `./${rel}`)?.checksums).toContainEqual({ algorithm: "SHA256", checksumValue: h });
    }
  });

  it("xqbuild sbom gives the same bytes as install --sbom, again on a rerun, in either format, to stdout or -o", async () => {
    const a = await xq(t, ["sbom"]);
    expect(a.code, a.stderr).toBe(0);
    // Without an install root the files are hashed as the artifact holds them: the same hashes.
    expect(`${a.stdout}\n`).toBe(cdx);
    const b = await xq(t, ["sbom", "--format", "spdx", "-o", path.join(t.root, "..", "out.spdx.json")]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(path.join(t.root, "..", "out.spdx.json"), "utf8")).toBe(spdx);
    const c = await xq(t, ["sbom", "--format", "cyclonedx"]);
    expect(`${c.stdout}\n`).toBe(cdx);
  });

  it("a changed DESTDIR file is hashed as it is there; a missing one is an error naming it", async () => {
    const bin = path.join(t.dest, "usr", "local", "lib", "xen", "boot", "seabios.bin");
    const keep = readFileSync(bin);
    try {
      writeFileSync(bin, "tampered\n");
      const { sbomText } = await import("../../src/packaging/sbom.js");
      const { resolveConfig } = await import("../../src/config/resolve.js");
      const { makePlan } = await import("../../src/plan/plan.js");
      const { gatherFacts } = await import("../../src/plan/facts.js");
      const { stagingRootOf } = await import("../../src/engine/build.js");
      const config = await resolveConfig({ cwd: t.root, xenRoot: t.root, env: t.env, commandLine: {}, selected: [], offline: true, features: {}, standalone: false });
      const plan = makePlan(config, gatherFacts(config, { probe: false }), { stagingRoot: stagingRootOf(config) });
      const text = await sbomText(config, plan, "spdx", { installRoot: t.dest });
      expect(text).toContain(sha256("tampered\n"));
      // A plan made without the staging directories (as dist's and legal-info's are) describes the same install.
      expect(await sbomText(config, makePlan(config, gatherFacts(config, { probe: false })), "spdx", { installRoot: t.dest })).toBe(text);
      // The file gone: refused, naming it.
      rmSync(bin);
      await expect(sbomText(config, plan, "cyclonedx", { installRoot: t.dest })).rejects.toThrow(/seabios installs usr\/local\/lib\/xen\/boot\/seabios\.bin, but .* is not there/);
    } finally {
      writeFileSync(bin, keep);
    }
  });
  it("a prepared wrap-git subproject is named by the commit checked out, its URL without credentials (last: it adds to the tree)", async () => {
    const q = path.join(t.root, "tools", "qemu-xen-dir");
    const sub = path.join(q, "subprojects");
    writeFileSync(path.join(sub, "libgit.wrap"), "[wrap-git]\nurl = https://user:secret@example.invalid/libgit.git\nrevision = v1.0\ndirectory = libgit\n");
    const work = path.join(sub, "libgit");
    mkdirSync(work);
    git(["init", "-q", work]);
    writeFileSync(path.join(work, "meson.build"), "project('libgit')\n");
    git(["add", "-A"], { cwd: work });
    git(["commit", "-qm", "libgit 1.0"], { cwd: work });
    const commit = git(["rev-parse", "HEAD"], { cwd: work }).trim();
    const r = await xq(t, ["sbom", "qemu-xen"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("secret");
    await validCycloneDx(r.stdout);
    const [c] = (JSON.parse(r.stdout) as { components: CdxComponent[] }).components as [CdxComponent];
    const w = role(c, "subproject").find((x) => x.name === "libgit");
    expect([w?.version, prop(w as CdxComponent, "present"), w?.externalReferences?.[0]?.url]).toEqual([commit, ["true"], "https://example.invalid/libgit.git"]);
    const s = await xq(t, ["sbom", "qemu-xen", "--format", "spdx"]);
    validSpdx(s.stdout);
    expect(s.stdout).toContain(`git+https://example.invalid/libgit.git@${commit}`);
  });
});

describe("what sbom refuses", () => {
  it("--format bogus is a usage error naming the value", async () => {
    const output = memoryOutput();
    const code = await main(["sbom", "--format", "bogus"], { cwd: base, env: {}, output });
    expect(code).toBe(2);
    expect(output.stderr.join("\n")).toMatch(/--format "bogus": unknown SBOM format .*cyclonedx, spdx/);
  });

  it("a component that has not been fetched is named, with xqbuild fetch", async () => {
    const t = tree();
    const r = await xq(t, ["sbom", "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/seabios has not been fetched/);
    expect(r.stderr).toMatch(/xqbuild fetch seabios/);
    expect(r.stdout).toBe("");
  });

  it("install --sbom --no-cache is refused before anything is built", async () => {
    const t = tree();
    const r = await xq(t, ["install", "--sbom", "--no-cache", "--destdir", t.dest]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/install --sbom needs the artifact cache/);
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir"))).toBe(false);
    expect(existsSync(t.dest)).toBe(false);
  });

  it("a fetched but not installed tree is described by its sources, with a warning that no installed files are listed", async () => {
    // A cache of its own: the shared one holds the first tree's artifact of the very same inputs.
    const t = tree({ XQBUILD_CACHE_DIR: path.join(base, "cache-empty") });
    expect((await xq(t, ["fetch", "seabios"])).code).toBe(0);
    const r = await xq(t, ["sbom", "seabios", "--format", "spdx"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/seabios: the SBOM lists no installed files: not installed with these inputs/);
    validSpdx(r.stdout);
    const doc = JSON.parse(r.stdout) as { packages: { name: string }[]; files?: { fileName: string }[] };
    expect(doc.packages.map((p) => p.name)).toEqual(["seabios"]);
    expect((doc.files ?? []).map((f) => f.fileName)).toEqual(["./patches/seabios/0001-version.patch"]);
  }, 120_000);

  it("SOURCE_DATE_EPOCH dates both documents; a bad one is refused, naming it", async () => {
    const t = tree({ SOURCE_DATE_EPOCH: "1700000000" });
    expect((await xq(t, ["fetch", "seabios"])).code).toBe(0);
    const r = await xq(t, ["sbom", "seabios"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { metadata: { timestamp: string } }).metadata.timestamp).toBe("2023-11-14T22:13:20.000Z");
    const s = await xq(t, ["sbom", "seabios", "--format", "spdx"]);
    expect((JSON.parse(s.stdout) as { creationInfo: { created: string } }).creationInfo.created).toBe("2023-11-14T22:13:20Z");
    const bad = await xq(t, ["sbom", "seabios"], { SOURCE_DATE_EPOCH: "yesterday" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`SOURCE_DATE_EPOCH in the environment is "yesterday", which is not a time`);
  }, 120_000);

  it("a license id SPDX does not list is refused in code, with SPDX's spelling when there is one", () => {
    expect(() => checkSpdxId("GPL-2.0-only", "x")).not.toThrow();
    expect(() => checkSpdxId("LGPL-3.0-only", "x")).not.toThrow();
    expect(() => checkSpdxId("GPL-2.0-Only-ish", "the license of seabios")).toThrow(UserError);
    expect(() => checkSpdxId("gpl-2.0-only", "the license of seabios")).toThrow(/SPDX spells it GPL-2.0-only/);
    expect(() => checkSpdxId("GPL-2.0-only OR MIT", "x")).toThrow(/not an SPDX license identifier/);
  });
});

describe("a tarball source", () => {
  it("is named by its location and sha256 in both documents", async () => {
    const cache = { XQBUILD_CACHE_DIR: path.join(base, "cache-tarball") };
    const a = tree(cache, { patches: false });
    expect((await xq(a, ["fetch", "seabios"])).code).toBe(0);
    const d = await xq(a, ["dist", "seabios", "--json"]);
    expect(d.code, d.stderr).toBe(0);
    const [dist] = JSON.parse(d.stdout) as { file: string; sha256: string }[];
    if (!dist) throw new Error("dist wrote nothing");
    const t = tree(cache, { patches: false, config: `SEABIOS_UPSTREAM_LOC = ${dist.file}\nSEABIOS_UPSTREAM_SHA256 = ${dist.sha256}\n` });
    const r = await xq(t, ["install", "seabios", "--sbom", "--destdir", t.dest]);
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(t.dest, "usr", "local", "lib", "xen", "share", "doc", "xqbuild");
    const cdx = readFileSync(path.join(dir, "sbom.cdx.json"), "utf8");
    const spdx = readFileSync(path.join(dir, "sbom.spdx.json"), "utf8");
    await validCycloneDx(cdx);
    validSpdx(spdx);
    const [c] = (JSON.parse(cdx) as { components: CdxComponent[] }).components;
    expect(c?.externalReferences).toEqual([expect.objectContaining({ type: "source-distribution", url: pathToFileURL(dist.file).href, hashes: [{ alg: "SHA-256", content: dist.sha256 }] })]);
    expect(prop(c as CdxComponent, "source-kind")).toEqual(["tarball"]);
    const [p] = (JSON.parse(spdx) as { packages: { downloadLocation: string; checksums?: unknown[] }[] }).packages;
    expect(p?.downloadLocation).toBe(pathToFileURL(dist.file).href);
    expect(p?.checksums).toEqual([{ algorithm: "SHA256", checksumValue: dist.sha256 }]);
    expect(role(c as CdxComponent, "installed-file").map((f) => f.name)).toEqual(["usr/local/lib/xen/boot/seabios.bin"]);
  }, 120_000);
});

describe("a source verified by its signed tag", () => {
  it("carries the tag, its object and the signing key's fingerprint from xqbuild.lock into both documents", async () => {
    const dir = mkdtempSync(path.join(base, "signed-"));
    const key = makeKey(dir, "Release Signer", "signer@xqbuild.invalid");
    const fingerprint = key.fingerprint;
    const upstream = makeUpstreamRepos(path.join(dir, "upstream"));
    const commit = upstream.seabios.refs["rel-1.16.0"] as string;
    const tagObject = tag(upstream.seabios.path, "rel-1.16.0-signed", commit, key);
    const root = copyXenTree(path.join(dir, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `SEABIOS_UPSTREAM_URL = ${upstream.seabios.url}\nSEABIOS_UPSTREAM_REVISION = rel-1.16.0-signed\n`);
    writeFileSync(path.join(root, "signer.asc"), key.armored);
    writeFileSync(path.join(root, "xqbuild.config.json"), JSON.stringify({ components: { seabios: { verify: { keys: ["signer.asc"] } } } }));
    const t: Tree = { root, dest: path.join(dir, "dest"), env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(dir, "cache"), XQBUILD_CCACHE: "0" } };
    const f = await xq(t, ["fetch", "seabios"]);
    expect(f.code, f.stderr).toBe(0);
    const r = await xq(t, ["sbom", "seabios"]);
    expect(r.code, r.stderr).toBe(0);
    await validCycloneDx(r.stdout);
    const [c] = (JSON.parse(r.stdout) as { components: CdxComponent[] }).components as [CdxComponent];
    expect([prop(c, "revision"), prop(c, "commit"), prop(c, "tag-object"), prop(c, "tag-signer")]).toEqual([["rel-1.16.0-signed"], [commit], [tagObject], [fingerprint]]);
    // The tags the fetched tree has at that commit (xqbuild fetches the wanted one).
    expect(prop(c, "tag")).toEqual(["rel-1.16.0-signed"]);
    const s = await xq(t, ["sbom", "seabios", "--format", "spdx"]);
    validSpdx(s.stdout);
    const [p] = (JSON.parse(s.stdout) as { packages: { sourceInfo: string }[] }).packages;
    expect(p?.sourceInfo).toContain(`signed tag object ${tagObject} by key ${fingerprint}, verified by xqbuild`);
  }, 120_000);
});
