import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { FIXTURES_UPSTREAM, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
let base: string;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-sys-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
});

async function xq(argv: string[]) {
  const root = copyXenTree(mkdtempSync(path.join(base, "xen-")), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n`);
  const output = memoryOutput();
  const code = await main([...argv, "-C", root], { cwd: root, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache") }, output });
  return { root, code, stderr: output.stderr.join("\n"), stdout: output.stdout.join("\n") };
}

const XEN_QEMU = path.join(FIXTURES_UPSTREAM, "qemu-xen", "fake-qemu-system-i386.sh");

describe("installed QEMU and SeaBIOS", () => {
  it("uses an installed QEMU with Xen support and builds only SeaBIOS", async () => {
    const r = await xq(["all", `--with-system-qemu=${XEN_QEMU}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/qemu-xen: using .*fake-qemu-system-i386\.sh \(--with-system-qemu\)/);
    expect(existsSync(path.join(r.root, "tools", "qemu-xen-dir-remote"))).toBe(false);
    expect(existsSync(path.join(r.root, "tools", "firmware", "seabios-dir", "out", "bios.bin"))).toBe(true);
  });

  it("refuses a QEMU without Xen support, naming it", async () => {
    const fake = path.join(base, "qemu-no-xen");
    writeFileSync(fake, "#!/bin/sh\necho 'Supported machines are:'\necho 'pc  Standard PC'\n");
    chmodSync(fake, 0o755);
    const r = await xq(["all", `--with-system-qemu=${fake}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--with-system-qemu: .*qemu-no-xen has no Xen support: its "-machine help" does not list xenfv/);
  });

  it("refuses a missing QEMU on PATH", async () => {
    const r = await xq(["all", "--with-system-qemu"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--with-system-qemu: qemu-system-i386 is not on PATH/);
  });

  it("uses an installed SeaBIOS image, and refuses a relative, missing or tiny one", async () => {
    const bios = path.join(base, "bios.bin");
    writeFileSync(bios, Buffer.alloc(128 * 1024, 0x90));
    const ok = await xq(["all", `--with-system-seabios=${bios}`]);
    expect(ok.code).toBe(0);
    expect(existsSync(path.join(ok.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
    expect(existsSync(path.join(ok.root, "tools", "qemu-xen-build", "qemu-system-i386"))).toBe(true);
    const rel = await xq(["all", "--with-system-seabios=bios.bin"]);
    expect(rel.code).toBe(2);
    expect(rel.stderr).toMatch(/"bios.bin" is not an absolute path/);
    const missing = await xq(["all", "--with-system-seabios=/nonexistent/bios.bin"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/bios.bin does not exist/);
    const tiny = path.join(base, "tiny.bin");
    writeFileSync(tiny, "x");
    expect((await xq(["all", `--with-system-seabios=${tiny}`])).stderr).toMatch(/is not a BIOS image \(1 bytes/);
  });

  it("refuses to build a component that an installed one replaces when it is named", async () => {
    const r = await xq(["all", "qemu-xen", `--with-system-qemu=${XEN_QEMU}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/qemu-xen is not built: --with-system-qemu names the installed/);
  });
});
