// Fault 7: hostile tarballs. test/source/tarball.test.ts already covers, through `xqbuild fetch`:
//   "refuses a tarball with a ../ entry / an absolute path / a //// prefix / a symlink outside, then
//   written through / an absolute symlink / a hardlink outside / very deep paths and leaves nothing
//   behind", "refuses a wrong sha256, naming both, and leaves nothing", "refuses a truncated archive".
// This file adds decompression bombs: a small .tar.gz that unpacks to more than the limit, and a
// header that claims more than the limit. (A tarball carrying .git/ is in hostile-sources.test.ts.)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractTarball } from "../../src/source/tarball.js";
import { UserError } from "../../src/util/errors.js";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { builtCli, expectCleanError, makeTree, removeBases, tempBase, urlLines, xq } from "./support.js";

let base: string;
let repos: UpstreamRepos;
const MiB = 1024 * 1024;

beforeAll(() => {
  builtCli();
  base = tempBase("bomb");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(removeBases);

const sha = (f: string): string => createHash("sha256").update(readFileSync(f)).digest("hex");

/**
 * A .tar.gz of pkg/Makefile and pkg/zeros: `size` bytes, zeros but for two random bytes in every
 * 4 KiB, so that gzip packs them about 400:1 (below node-tar's own 1000:1 ratio check, which a
 * file of plain zeros trips). With claimOnly, the header claims `size` bytes and no data follows.
 */
function bomb(file: string, size: number, opts: { claimOnly?: boolean; plainZeros?: boolean } = {}): void {
  const script = `
import gzip, os, sys, tarfile
path, size, claim_only, plain = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
def header(name, n):
    i = tarfile.TarInfo(name); i.size = n; i.mode = 0o644
    return i.tobuf(format=tarfile.GNU_FORMAT)
pad = lambda n: b"\\0" * ((512 - n % 512) % 512)
with gzip.open(path, "wb", compresslevel=9) as gz:
    d = b"all:\\n\\t@true\\nolddefconfig:\\n\\t@true\\n"
    gz.write(header("pkg/Makefile", len(d))); gz.write(d); gz.write(pad(len(d)))
    gz.write(header("pkg/zeros", size))
    if claim_only:
        gz.write(b"\\0" * 4096)
    else:
        blk = bytearray(4096); left = size
        while left > 0:
            if not plain: blk[0] = os.urandom(1)[0]; blk[2048] = os.urandom(1)[0]
            n = min(left, 4096); gz.write(blk[:n]); left -= n
        gz.write(pad(size)); gz.write(b"\\0" * 1024)
`;
  execFileSync("python3", ["-c", script, file, String(size), opts.claimOnly ? "1" : "0", opts.plainZeros ? "1" : "0"]);
}

describe("decompression bombs", () => {
  it("the unpacking limit works when lowered (extractTarball with maxBytes 16 MiB, a 64 MiB bomb): refused, nothing written", async () => {
    const f = path.join(base, "bomb64.tar.gz");
    bomb(f, 64 * MiB);
    expect(statSync(f).size).toBeLessThan(256 * 1024);
    const dest = path.join(base, "bomb64-out");
    const err = await extractTarball(f, dest, { maxBytes: 16 * MiB, maxEntries: 1000, maxDepth: 64 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/unpacks to more than 16777216 bytes \(a decompression bomb\?\)/);
    expect(existsSync(dest)).toBe(false);
  });

  it("xqbuild fetch of a small .tar.gz that unpacks past the limit (XQBUILD_TARBALL_MAX_BYTES=16 MiB): refused, nothing unpacked", async () => {
    // The limit is DEFAULT_LIMITS.maxBytes = 8 GiB in src/source/tarball.ts, and checkoutTarball()
    // passes no other: a real bomb past 8 GiB takes minutes to make and to read. The knob used here
    // is the one proposed in the report.
    const f = path.join(base, "bomb-cli.tar.gz");
    bomb(f, 64 * MiB);
    const t = makeTree(base, "bomb-cli", { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${f}`, `SEABIOS_UPSTREAM_SHA256 = ${sha(f)}`] });
    const r = await xq(t, ["fetch", "seabios"], { XQBUILD_TARBALL_MAX_BYTES: String(16 * MiB) });
    const fw = path.join(t.root, "tools", "firmware");
    expect(readdirSync(fw).filter((n) => n.startsWith("seabios-dir")), "unpacked anyway").toEqual([]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toMatch(/decompression bomb|more than 16777216 bytes/);
  });

  it("xqbuild fetch of a .tar.gz of plain zeros (past gzip's 1000:1, node-tar's own ratio check): refused as a bomb, nothing unpacked", async () => {
    const f = path.join(base, "zeros.tar.gz");
    bomb(f, 64 * MiB, { plainZeros: true });
    const t = makeTree(base, "zeros", { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${f}`, `SEABIOS_UPSTREAM_SHA256 = ${sha(f)}`] });
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toMatch(/decompression/);
    const fw = path.join(t.root, "tools", "firmware");
    expect(readdirSync(fw).filter((n) => n.startsWith("seabios-dir"))).toEqual([]);
  });

  it("xqbuild fetch of a tarball whose header claims 9 GiB (past the default 8 GiB limit): refused at once, nothing unpacked", async () => {
    const f = path.join(base, "claim.tar.gz");
    bomb(f, 9 * 1024 * MiB, { claimOnly: true });
    const t = makeTree(base, "claim", { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${f}`, `SEABIOS_UPSTREAM_SHA256 = ${sha(f)}`] });
    const r = await xq(t, ["fetch", "seabios"], {}, { timeoutMs: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    const para = expectCleanError(r.stderr);
    expect(para).toMatch(/decompression bomb|more than \d+ bytes|truncated|not a readable tar archive/);
    const fw = path.join(t.root, "tools", "firmware");
    expect(readdirSync(fw).filter((n) => n.startsWith("seabios-dir"))).toEqual([]);
  });
});
