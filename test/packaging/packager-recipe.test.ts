// README.md's "For packagers" recipe, run as written: the block between <!-- packager-recipe -->
// markers goes to bash, in a Xen tree whose fake upstreams carry tags signed by a key made here,
// with xqbuild on PATH. The upstreams are moved away after the first fetch, so the part the README
// says runs with the network off can reach nothing but the cache.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliPath } from "../support/cli-path.js";
import { gitEnv, makeUpstreamRepos } from "../support/git.js";
import { makeKey, stopKeyAgents, tag } from "../support/gpg.js";
import { copyXenTree } from "../support/xen-tree.js";

/** The recipe's shell text, from the README itself. */
function recipe(): string {
  const readme = readFileSync(path.resolve("README.md"), "utf8");
  const m = /<!-- packager-recipe -->\n```sh\n([^]*?)```\n<!-- \/packager-recipe -->/.exec(readme);
  if (!m?.[1]) throw new Error("README.md has no packager-recipe block");
  return m[1];
}

/** Splits the recipe at the comment that starts its offline part. */
function parts(text: string): { online: string; offline: string } {
  const at = text.indexOf("# In the package build, with the network off");
  if (at < 0) throw new Error("the recipe no longer says where its offline part starts");
  return { online: text.slice(0, at), offline: text.slice(at) };
}

afterAll(() => stopKeyAgents());

describe("the README's recipe for packagers", () => {
  it("pins and verifies with the network, then builds, installs with an SBOM, writes legal-info and an SPDX file with it off", () => {
    const base = mkdtempSync(path.join(tmpdir(), "xqbuild-packager-"));
    const key = makeKey(base, "Xen Release", "release@xqbuild.invalid");
    const repos = makeUpstreamRepos(path.join(base, "upstream"));
    // The release tags the tree's Config.mk names, signed as xenbits' are.
    const qemuTag = tag(repos.qemuXen.path, "qemu-xen-4.17.3", repos.qemuXen.refs["qemu-xen-4.17.3"] as string, key, true);
    const seabiosTag = tag(repos.seabios.path, "rel-1.16.0", repos.seabios.refs["rel-1.16.0"] as string, key, true);
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
    mkdirSync(path.join(root, "keys"));
    writeFileSync(path.join(root, "keys", "xen-release.asc"), key.armored);
    const bin = path.join(base, "bin");
    mkdirSync(bin);
    writeFileSync(path.join(bin, "xqbuild"), `#!/bin/sh\nexec ${process.execPath} ${cliPath()} "$@"\n`);
    chmodSync(path.join(bin, "xqbuild"), 0o755);
    const destdir = path.join(base, "destdir");
    const out = path.join(base, "out");
    // XQBUILD_NO_DOCTOR: the fixture trees build with fakes, not with QEMU's host libraries.
    const env = { ...gitEnv(), PATH: `${bin}:${process.env.PATH ?? ""}`, XQBUILD_CACHE_DIR: path.join(base, "cache"), XQBUILD_NO_DOCTOR: "1", DESTDIR: destdir, OUT: out, CI: "true" };
    const { online, offline } = parts(recipe());
    const run = (script: string) => spawnSync("bash", ["-euo", "pipefail", "-c", script], { cwd: root, env, encoding: "utf8" });

    const first = run(online);
    expect(first.status, first.stderr).toBe(0);
    const lock = JSON.parse(readFileSync(path.join(root, "xqbuild.lock"), "utf8")) as { components: Record<string, { tagObject?: string; signer?: string }> };
    expect(lock.components["qemu-xen"]).toMatchObject({ tagObject: qemuTag, signer: key.fingerprint });
    expect(lock.components.seabios).toMatchObject({ tagObject: seabiosTag, signer: key.fingerprint });

    // The network off: nothing the recipe runs from here may reach the upstreams.
    renameSync(repos.baseDir, `${repos.baseDir}.away`);
    const second = run(offline);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/error/i);

    const sbomDir = path.join(destdir, "usr", "local", "lib", "xen", "share", "doc", "xqbuild");
    for (const f of ["sbom.cdx.json", "sbom.spdx.json"]) expect(existsSync(path.join(sbomDir, f)), f).toBe(true);
    const cdx = JSON.parse(readFileSync(path.join(sbomDir, "sbom.cdx.json"), "utf8")) as { components: Array<{ name: string; properties?: Array<{ name: string; value: string }> }> };
    const signerOf = (name: string) => cdx.components.find((c) => c.name === name)?.properties?.find((p) => p.name.endsWith("tag-signer"))?.value;
    expect([signerOf("qemu-xen"), signerOf("seabios")]).toEqual([key.fingerprint, key.fingerprint]);
    expect(existsSync(path.join(destdir, "usr", "local", "lib", "xen", "boot", "seabios.bin"))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(out, "legal-info", "manifest.json"), "utf8")) as Array<{ component: string; license: string }>;
    expect(manifest.map((r) => [r.component, r.license])).toEqual([["qemu-xen", "GPL-2.0-only"], ["seabios", "LGPL-3.0-only"]]);
    const spdx = JSON.parse(readFileSync(path.join(out, "device-models.spdx.json"), "utf8")) as { spdxVersion: string };
    expect(spdx.spdxVersion).toBe("SPDX-2.3");
    // The same recipe again: the pins hold (--locked), and legal-info gives the same bytes.
    const manifestBytes = readFileSync(path.join(out, "legal-info", "manifest.csv"));
    const again = run(offline);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(path.join(out, "legal-info", "manifest.csv")).equals(manifestBytes)).toBe(true);
  }, 240_000);
});
