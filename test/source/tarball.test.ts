import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";

let repos: UpstreamRepos;
let base: string;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-tar-"));
  repos = makeUpstreamRepos(path.join(base, "up"));
});

function tree(config = ""): { root: string; env: Record<string, string | undefined> } {
  const root = copyXenTree(mkdtempSync(path.join(base, "xen-")), { hardlink: true });
  writeFileSync(path.join(root, ".config"), `QEMU_UPSTREAM_URL = ${repos.qemuXen.url}\nSEABIOS_UPSTREAM_URL = ${repos.seabios.url}\n${config}`);
  return { root, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache-" + path.basename(root)) } };
}

async function xq(t: { root: string; env: Record<string, string | undefined> }, argv: string[]) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: t.env, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

const sha = (f: string): string => createHash("sha256").update(readFileSync(f)).digest("hex");
const remote = (root: string): string => path.join(root, "tools", "firmware", "seabios-dir-remote");

/** A tar archive made by Python's tarfile, which can write the hostile entries node-tar refuses to. */
function craft(file: string, entries: Array<{ name: string; type?: "file" | "symlink" | "hardlink" | "dir"; data?: string; link?: string }>): void {
  const script = `
import io, json, sys, tarfile
entries = json.loads(sys.argv[2])
with tarfile.open(sys.argv[1], "w:gz") as t:
    for e in entries:
        i = tarfile.TarInfo(e["name"])
        k = e.get("type", "file")
        if k == "symlink":
            i.type = tarfile.SYMTYPE; i.linkname = e["link"]; t.addfile(i)
        elif k == "hardlink":
            i.type = tarfile.LNKTYPE; i.linkname = e["link"]; t.addfile(i)
        elif k == "dir":
            i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        else:
            d = e.get("data", "x").encode(); i.size = len(d); i.mode = 0o644; t.addfile(i, io.BytesIO(d))
`;
  execFileSync("python3", ["-c", script, file, JSON.stringify(entries)]);
}

describe("reproducible source tarballs (dist) and tarball sources", () => {
  let tarball: string;
  let tarSha: string;

  it("writes the same bytes for the same tree, whatever the umask, with a sha256 file", async () => {
    const a = tree();
    expect((await xq(a, ["fetch", "seabios"])).code).toBe(0);
    const r1 = await xq(a, ["dist", "seabios", "--json"]);
    expect(r1.code).toBe(0);
    const [d1] = JSON.parse(r1.stdout) as Array<{ file: string; sha256: string }>;
    expect(d1?.file).toMatch(/dist\/xqbuild-sources\/seabios-1\.16\.0-[0-9a-f]{12}\.tar\.gz$/);
    expect(readFileSync(`${d1?.file}.sha256`, "utf8")).toBe(`${d1?.sha256}  ${path.basename(d1?.file ?? "")}\n`);
    expect(sha(d1?.file ?? "")).toBe(d1?.sha256);
    const b = tree();
    const old = process.umask(0o077);
    try {
      expect((await xq(b, ["fetch", "seabios"])).code).toBe(0);
    } finally {
      process.umask(old);
    }
    const [d2] = JSON.parse((await xq(b, ["dist", "seabios", "--json"])).stdout) as Array<{ file: string; sha256: string }>;
    expect(d2?.sha256).toBe(d1?.sha256);
    const listing = execFileSync("tar", ["-tvzf", d1?.file ?? ""], { encoding: "utf8" }).trim().split("\n");
    expect(listing.every((l) => / 0\/0 /.test(l))).toBe(true);
    expect(listing.map((l) => l.split(/\s+/).pop())).toEqual([...listing.map((l) => l.split(/\s+/).pop())].sort());
    tarball = d1?.file ?? "";
    tarSha = d1?.sha256 ?? "";
  });

  it("takes that tarball as a source (round trip), and builds from it", async () => {
    const t = tree(`SEABIOS_UPSTREAM_LOC = ${tarball}\nSEABIOS_UPSTREAM_SHA256 = ${tarSha}\n`);
    const r = await xq(t, ["all", "seabios"]);
    expect(r.stderr).toMatch(/seabios: fetched .*\.tar\.gz/);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(remote(t.root), "VERSION"), "utf8")).toBe("1.16.0\n");
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir", "out", "bios.bin"))).toBe(true);
    const again = await xq(t, ["all", "seabios"]);
    expect(again.stderr).toMatch(/\[seabios build\] up to date/);
    const lock = JSON.parse(readFileSync(path.join(t.root, "xqbuild.lock"), "utf8")) as { components: { seabios: { revision: string } } };
    expect(lock.components.seabios.revision).toBe(`sha256:${tarSha}`);
  });

  it("refuses a wrong sha256, naming both, and leaves nothing", async () => {
    const wrong = "0".repeat(64);
    const t = tree(`SEABIOS_UPSTREAM_LOC = ${tarball}\nSEABIOS_UPSTREAM_SHA256 = ${wrong}\n`);
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`expected ${wrong}, got ${tarSha}`);
    expect(existsSync(remote(t.root))).toBe(false);
  });

  it("downloads over HTTP into the cache, then works offline", async () => {
    const served = readFileSync(tarball);
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      if (req.url === "/seabios.tar.gz") res.end(served);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/seabios.tar.gz`;
    try {
      const t = tree(`SEABIOS_UPSTREAM_LOC = ${url}\nSEABIOS_UPSTREAM_SHA256 = ${tarSha}\n`);
      expect((await xq(t, ["fetch", "seabios"])).code).toBe(0);
      expect(requests).toBe(1);
      const t2 = tree(`SEABIOS_UPSTREAM_LOC = ${url}\nSEABIOS_UPSTREAM_SHA256 = ${tarSha}\n`);
      t2.env.XQBUILD_CACHE_DIR = t.env.XQBUILD_CACHE_DIR;
      expect((await xq(t2, ["fetch", "seabios", "--offline"])).code).toBe(0);
      expect(requests).toBe(1);
      const missing = tree(`SEABIOS_UPSTREAM_LOC = ${url.replace("seabios", "nothing")}\nSEABIOS_UPSTREAM_SHA256 = ${tarSha}\n`);
      const r = await xq(missing, ["fetch", "seabios"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot download .*HTTP 404/);
    } finally {
      server.close();
    }
  });

  it("unpacks xz-compressed tarballs with the external xz", async () => {
    const dir = mkdtempSync(path.join(base, "xz-"));
    mkdirSync(path.join(dir, "seabios-1.16.0"));
    writeFileSync(path.join(dir, "seabios-1.16.0", "Makefile"), "all:\n\techo ok\nolddefconfig:\n\t@true\n");
    const xz = path.join(dir, "s.tar.xz");
    execFileSync("tar", ["-cJf", xz, "-C", dir, "seabios-1.16.0"]);
    const t = tree(`SEABIOS_UPSTREAM_LOC = ${xz}\nSEABIOS_UPSTREAM_SHA256 = ${sha(xz)}\n`);
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "");
    expect(readFileSync(path.join(remote(t.root), "Makefile"), "utf8")).toBe("all:\n\techo ok\nolddefconfig:\n\t@true\n");
  });

  it.each([
    ["a ../ entry", [{ name: "pkg/../../evil", data: "x" }], /goes up out of the target/],
    ["an absolute path", [{ name: "/tmp/xqbuild-evil-abs", data: "x" }], /has an absolute path/],
    ["a //// prefix", [{ name: "////tmp/xqbuild-evil-slashes", data: "x" }], /has an absolute path/],
    ["a symlink outside, then written through", [{ name: "pkg/link", type: "symlink", link: "../../.." }, { name: "pkg/link/evil", data: "x" }], /link pointing outside/],
    ["an absolute symlink", [{ name: "pkg/etc", type: "symlink", link: "/etc" }], /link to the absolute path \/etc/],
    ["a hardlink outside", [{ name: "pkg/h", type: "hardlink", link: "../outside" }], /goes up|pointing outside/],
    ["very deep paths", [{ name: `${"d/".repeat(80)}f`, data: "x" }], /nested 81 directories deep/],
  ] as const)("refuses a tarball with %s and leaves nothing behind", async (_what, entries, why) => {
    const f = path.join(mkdtempSync(path.join(base, "evil-")), "evil.tar.gz");
    craft(f, [{ name: "pkg/", type: "dir" }, { name: "pkg/ok", data: "fine" }, ...entries]);
    const t = tree(`SEABIOS_UPSTREAM_LOC = ${f}\nSEABIOS_UPSTREAM_SHA256 = ${sha(f)}\n`);
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const fw = path.join(t.root, "tools", "firmware");
    expect(readdirSync(fw).filter((n) => n.startsWith("seabios-dir"))).toEqual([]);
    expect(existsSync("/tmp/xqbuild-evil-abs")).toBe(false);
    expect(existsSync("/tmp/xqbuild-evil-slashes")).toBe(false);
    expect(existsSync(path.join(t.root, "tools", "evil"))).toBe(false);
  });

  it("refuses a truncated archive", async () => {
    const f = path.join(mkdtempSync(path.join(base, "trunc-")), "t.tar.gz");
    writeFileSync(f, readFileSync(tarball).subarray(0, 200));
    const t = tree(`SEABIOS_UPSTREAM_LOC = ${f}\nSEABIOS_UPSTREAM_SHA256 = ${sha(f)}\n`);
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a readable tar archive|truncated|damaged/);
    expect(existsSync(remote(t.root))).toBe(false);
    expect(existsSync(remote(t.root) + ".xqbuild-tmp")).toBe(false);
  });
});
