// Trust, second pass (issue 14 points 5-12) over what landed after the first: verify's keys and
// keyring, sbom and install --sbom, legal-info, config --why. Each case here failed on main before
// the fix its commit names, or guards a new feature's path that the first pass could not reach.
import { spawnSync } from "node:child_process";
import http from "node:http";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { makeKey, stopKeyAgents, tag } from "../support/gpg.js";
import { SIGNAL_EXIT } from "../support/processes.js";
import { startHttpGit } from "../support/servers.js";
import { builtCli, expectCleanError, expectOk, HOST, interrupt, makeTree, oneCommitRepo, qemuFiles, removeBases, sleep, startXq, survivors, tempBase, until, urlLines, xq, type Tree } from "./support.js";

let base: string;
let repos: UpstreamRepos;

beforeAll(() => {
  builtCli();
  base = tempBase("trust-more");
  repos = makeUpstreamRepos(path.join(base, "upstream"));
});
afterAll(() => removeBases());

/** xqbuild's private keyring directories (verify.ts's mkdtemp) left in a temporary directory. */
const keyringDirs = (tmp: string): string[] => readdirSync(tmp).filter((f) => f.startsWith("xqbuild-verify-"));

describe.concurrent("7: input files the config names (verify's keys and keyring, patches) are bounded: a FIFO, /dev/zero or a huge file is refused, never read for ever", () => {
  const cases: Array<[string, (dir: string) => object]> = [
    ["a keyring that is a FIFO (nobody writes it)", (dir) => {
      const fifo = path.join(dir, "ring.fifo");
      spawnSync("mkfifo", [fifo]);
      return { verify: { keyring: fifo } };
    }],
    // /dev/zero and a directory already ended cleanly on main: kept as guards of verify's (new) reads.
    ["a keyring that is /dev/zero", () => ({ verify: { keyring: "/dev/zero" } })],
    ["a key file that is a FIFO", (dir) => {
      const fifo = path.join(dir, "key.fifo");
      spawnSync("mkfifo", [fifo]);
      return { verify: { keys: [fifo] } };
    }],
    ["a key file that is /dev/zero", () => ({ verify: { keys: ["/dev/zero"] } })],
    ["a key file that is a directory", (dir) => ({ verify: { keys: [dir] } })],
    ["a keyring of 10 GB (sparse)", (dir) => {
      const big = path.join(dir, "big.kbx");
      spawnSync("truncate", ["-s", "10G", big]);
      return { verify: { keyring: big } };
    }],
    // Not verify, the same read: a patch the queue names that is a FIFO.
    ["a patch of the queue that is a FIFO", (dir) => {
      spawnSync("mkfifo", [path.join(dir, "0001-x.patch")]);
      return { components: { seabios: { patches: [path.join(dir, "0001-x.patch")] } } };
    }],
  ];
  for (const [what, setting] of cases) {
    it(`${what}: exit 2 naming the setting and the file, within seconds, no keyring directory left`, async ({ expect }) => {
      const name = what.replace(/[^a-z0-9]+/gi, "-");
      const t = makeTree(base, name, { config: urlLines({ qemu: repos.qemuXen.url, seabios: repos.seabios.url }) });
      const dir = path.join(t.base, `${name}-keys`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify(setting(dir)));
      const tmp = path.join(t.base, `${name}-tmp`);
      mkdirSync(tmp, { recursive: true });
      const started = Date.now();
      const r = await xq(t, ["fetch", "seabios"], { TMPDIR: tmp }, { timeoutMs: 30_000 });
      expect(r.timedOut, `hung:\n${r.stderr}`).toBeFalsy();
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(r.code, r.stderr).toBe(2);
      const para = expectCleanError(r.stderr);
      expect(para).toMatch(/verify(\.keyring|\.keys)? in|patches|patch /);
      expect(para).toMatch(/xqbuild\.config\.json|the xqbuild config file/);
      expect(para).toMatch(/(cannot read|cannot be read|holds no OpenPGP public key)/);
      expect(keyringDirs(tmp)).toEqual([]);
      expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
    });
  }
});

describe("6: config --why (one make run per step of the chain) ends on a signal", () => {
  // make reading this .config takes 8 s (a $(shell) in it), as a slow NFS tree's or a heavy $(shell) would.
  const slow = ["XQ_SLOW := $(shell sleep 8)"];
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`${sig} while --why asks make: exit ${SIGNAL_EXIT[sig]} within seconds, make and its $(shell) gone, no temporary copies left`, async ({ expect }) => {
      const t = makeTree(base, `why-${sig}`, { config: [...urlLines({ seabios: repos.seabios.url }), ...slow] });
      const tmp = path.join(t.base, `why-${sig}-tmp`);
      mkdirSync(tmp, { recursive: true });
      // The tree read once (its answer cached), so what runs below is --why's own make runs.
      expect((await xq(t, ["config", "SEABIOS_UPSTREAM_URL"], { TMPDIR: tmp }, { timeoutMs: 60_000 })).code).toBe(0);
      const run = startXq(t, ["config", "--why", "SEABIOS_UPSTREAM_URL"], { TMPDIR: tmp }, { timeoutMs: 60_000 });
      await until(() => survivors(tmp).length > 0 || spawnSync("pgrep", ["-g", String(run.pid), "sleep"]).status === 0, 20_000, "make's $(shell sleep) to run");
      await sleep(300);
      await interrupt(run, sig, { expect });
      expect(readdirSync(tmp).filter((f) => f.startsWith("xqbuild-"))).toEqual([]);
    });
  }
});

describe("9-10: odd state where sbom -o, legal-info DIR and install --sbom write", () => {
  let t: Tree;
  beforeAll(async () => {
    t = makeTree(base, "odd-out", { config: urlLines({ seabios: repos.seabios.url }) });
    expectOk(await xq(t, ["fetch", "seabios"]));
  }, 120_000);

  // The first three held on main (kept: they guard the new commands' writes); the last two were internal errors.
  const cases: Array<[string, (dir: string) => string[], RegExp]> = [
    ["sbom -o naming an existing directory", (dir) => ["sbom", "seabios", "-o", dir], /is a directory/],
    ["sbom -o under a file", (dir) => {
      writeFileSync(path.join(dir, "plain"), "x");
      return ["sbom", "seabios", "-o", path.join(dir, "plain", "sbom.json")];
    }, /is a file, not a directory/],
    ["legal-info DIR that is a file", (dir) => {
      writeFileSync(path.join(dir, "plain"), "x");
      return ["legal-info", path.join(dir, "plain"), "seabios"];
    }, /not a directory/],
    ["legal-info DIR under a file", (dir) => {
      writeFileSync(path.join(dir, "plain"), "x");
      return ["legal-info", path.join(dir, "plain", "out"), "seabios"];
    }, /is a file, not a directory/],
    ["legal-info DIR in a directory it may not write", (dir) => {
      // Immutable (chattr +i): not writable even for root, who runs this suite in CI.
      mkdirSync(path.join(dir, "ro"));
      chmodSync(path.join(dir, "ro"), 0o555);
      spawnSync("chattr", ["+i", path.join(dir, "ro")]);
      return ["legal-info", path.join(dir, "ro", "out"), "seabios"];
    }, /EACCES|EPERM|not writable|cannot create/],
  ];
  it("install --sbom where share/doc/xqbuild is a file: one paragraph naming it, the file left as it was (held on main: a guard of install --sbom)", async ({ expect }) => {
    const dest = path.join(t.base, "odd-destdir");
    const doc = path.join(dest, "usr", "local", "lib", "xen", "share", "doc", "xqbuild");
    mkdirSync(path.dirname(doc), { recursive: true });
    writeFileSync(doc, "someone's\n");
    const r = await xq(t, ["install", "seabios", "--sbom", "--destdir", dest], {}, { timeoutMs: 120_000 });
    expect([1, 2], r.stderr).toContain(r.code);
    expect(expectCleanError(r.stderr)).toContain(doc);
    expect(readFileSync(doc, "utf8")).toBe("someone's\n");
  }, 150_000);

  for (const [what, argv, says] of cases) {
    it(`${what}: one paragraph naming the path, exit 1 or 2, nothing written`, async ({ expect }) => {
      const dir = path.join(t.base, `odd-${what.replace(/[^a-z0-9]+/gi, "-")}`);
      mkdirSync(dir, { recursive: true });
      const args = argv(dir);
      const before = readdirSync(dir, { recursive: true }).sort();
      const r = await xq(t, args, {}, { timeoutMs: 60_000 });
      expect([1, 2], r.stderr).toContain(r.code);
      const para = expectCleanError(r.stderr);
      expect(para).toMatch(says);
      expect(para).toContain(dir);
      expect(readdirSync(dir, { recursive: true }).sort()).toEqual(before);
    });
  }
});

describe("5: a password in the URL reaches none of the new features' outputs (held on main: guards sbom, legal-info, config --why, dist)", () => {
  const PW = "Pw-xq-more-5ecret-73";
  it("sbom (both formats, -o), legal-info DIR (its tarballs unpacked too), config --why (text, --json), dist, status --json: no byte of output or of any file holds it", async ({ expect }) => {
    const s = await startHttpGit(repos.baseDir);
    try {
      const url = s.url("seabios.git").replace("http://", `http://xquser:${PW}@`);
      const t = makeTree(base, "pw-new", { config: urlLines({ seabios: url }) });
      const out = path.join(t.base, "pw-new-out");
      const runs: string[][] = [
        ["fetch", "seabios"],
        ["sbom", "seabios"],
        ["sbom", "seabios", "--format", "spdx"],
        ["sbom", "seabios", "--format", "spdx", "-o", path.join(out, "sbom.spdx.json")],
        ["legal-info", path.join(out, "legal"), "seabios"],
        ["legal-info", path.join(out, "legal"), "seabios", "--json"],
        ["config", "--why", "SEABIOS_UPSTREAM_URL"],
        ["config", "--why", "SEABIOS_UPSTREAM_URL", "--json"],
        ["dist", "seabios"],
        ["status", "--json"],
      ];
      for (const argv of runs) {
        const r = await xq(t, argv, {}, { timeoutMs: 60_000 });
        expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
        expect(r.stdout + r.stderr, argv.join(" ")).not.toContain(PW);
      }
      // Every tarball written unpacked beside itself, so that grep reads what gzip hid.
      const unpacked = path.join(t.base, "pw-new-unpacked");
      for (const dir of [t.root, out]) {
        for (const f of readdirSync(dir, { recursive: true }) as string[]) {
          if (!f.endsWith(".tar.gz") || f.includes(`${path.sep}.git${path.sep}`)) continue;
          const to = path.join(unpacked, f.replace(/[/]/g, "_"));
          mkdirSync(to, { recursive: true });
          expect(spawnSync("tar", ["-xzf", path.join(dir, f), "-C", to]).status, f).toBe(0);
        }
      }
      expect(existsSync(unpacked), "no tarball was written").toBe(true);
      const grep = spawnSync("grep", ["-rlaF", "--", PW, t.root, t.cache, out, unpacked], { encoding: "utf8" });
      expect(grep.stdout.split("\n").filter((f) => f !== "" && f !== path.join(t.root, ".config"))).toEqual([]);
    } finally {
      await s.stop();
    }
  }, 150_000);
});

describe("6: a signal while verify's gpgv runs", () => {
  afterAll(() => stopKeyAgents());
  it("SIGTERM while gpgv checks the tag: exit 143 within seconds, gpgv's whole group gone, no private keyring left, nothing checked out", async ({ expect }) => {
    const key = makeKey(base, "Sig Signer", "sig@xqbuild.invalid");
    tag(repos.seabios.path, "signed-sig", repos.seabios.refs["rel-1.16.2"] as string, key);
    const t = makeTree(base, "verify-sig", { config: [...urlLines({ seabios: repos.seabios.url }), "SEABIOS_UPSTREAM_REVISION = signed-sig"] });
    writeFileSync(path.join(t.root, "signer.asc"), key.armored);
    writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ verify: { keys: ["signer.asc"] } }));
    // A gpgv that takes its time (a loaded machine, a huge keyring) before it does its work.
    const bin = path.join(t.base, "verify-sig-bin");
    mkdirSync(bin, { recursive: true });
    const real = spawnSync("sh", ["-c", "command -v gpgv"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(path.join(bin, "gpgv"), `#!/bin/sh\nsleep 30\nexec ${real} "$@"\n`, { mode: 0o755 });
    const tmp = path.join(t.base, "verify-sig-tmp");
    mkdirSync(tmp, { recursive: true });
    const run = startXq(t, ["fetch", "seabios"], { TMPDIR: tmp, PATH: `${bin}:${t.env.PATH ?? process.env.PATH ?? ""}` }, { timeoutMs: 60_000 });
    await until(() => spawnSync("pgrep", ["-f", `${bin}/gpgv`]).status === 0, 30_000, "gpgv to run");
    await interrupt(run, "SIGTERM", { expect });
    expect(spawnSync("pgrep", ["-f", `${bin}/gpgv`]).status, "the gpgv wrapper still runs").toBe(1);
    expect(keyringDirs(tmp)).toEqual([]);
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
  }, 120_000);
});

describe("7 and 11: XQBUILD_HEARTBEAT_SECONDS is whole seconds", () => {
  it("0.001 (a line every millisecond while a stage runs) is refused with exit 2 naming the variable, before anything runs", async ({ expect }) => {
    const t = makeTree(base, "beat", { config: urlLines({ seabios: repos.seabios.url }) });
    const r = await xq(t, ["all", "seabios"], { XQBUILD_HEARTBEAT_SECONDS: "0.001", XQ_FAKE_SEABIOS_SECONDS: "2" }, { timeoutMs: 60_000 });
    expect(r.stdout.split("\n").filter((l) => /still running/.test(l)).length, "heartbeat lines").toBe(0);
    expect(r.code, r.stderr).toBe(2);
    expect(expectCleanError(r.stderr)).toContain('XQBUILD_HEARTBEAT_SECONDS="0.001"');
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
  });
});

describe("11: SOURCE_DATE_EPOCH has one reading, for reproducible: true's builds and for the SBOM's date", () => {
  it('empty is unset for both (it stopped a reproducible plan, but not sbom); "soon" is refused by both with one message', async ({ expect }) => {
    const t = makeTree(base, "epoch", { config: urlLines({ seabios: repos.seabios.url }) });
    writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ reproducible: true }));
    expectOk(await xq(t, ["fetch", "seabios"]));
    for (const argv of [["plan", "seabios"], ["sbom", "seabios"]]) {
      const empty = await xq(t, argv, { SOURCE_DATE_EPOCH: "" });
      expect(empty.code, `${argv.join(" ")} with SOURCE_DATE_EPOCH="": ${empty.stderr}`).toBe(0);
      const bad = await xq(t, argv, { SOURCE_DATE_EPOCH: "soon" });
      expect(bad.code, argv.join(" ")).toBe(2);
      expect(expectCleanError(bad.stderr)).toContain('SOURCE_DATE_EPOCH in the environment is "soon", which is not a time');
    }
    expect((await xq(t, ["plan", "seabios"], { SOURCE_DATE_EPOCH: "" })).stdout).toMatch(/SOURCE_DATE_EPOCH from each source's commit date/);
  }, 120_000);
});

describe("12: verify's refusals say where the revision and the keys were set", () => {
  it("an unsigned annotated tag, a tag signed by another key, a fixture release tag: each names SEABIOS_UPSTREAM_REVISION at .config:2 and the config file", async ({ expect }) => {
    const trusted = makeKey(base, "Trusted", "trusted@xqbuild.invalid");
    const other = makeKey(base, "Other", "other@xqbuild.invalid");
    const c = repos.seabios.refs["rel-1.16.0"] as string;
    tag(repos.seabios.path, "unsigned-12", c);
    tag(repos.seabios.path, "other-12", c, other);
    for (const rev of ["unsigned-12", "other-12", "rel-1.16.0"]) {
      const t = makeTree(base, `origin-${rev}`, { config: [...urlLines({ seabios: repos.seabios.url }), `SEABIOS_UPSTREAM_REVISION = ${rev}`] });
      writeFileSync(path.join(t.root, "trusted.asc"), trusted.armored);
      writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ verify: { keys: ["trusted.asc"] } }));
      const r = await xq(t, ["fetch", "seabios"], {}, { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(1);
      const para = expectCleanError(r.stderr);
      expect(para, rev).toContain("SEABIOS_UPSTREAM_REVISION at .config:2");
      expect(para, rev).toContain("xqbuild.config.json");
    }
  }, 120_000);
});

/** A server whose every answer is endless zeros, with a Content-Length of `claim` when given (else chunked). */
async function zeros(claim?: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/gzip", ...(claim !== undefined ? { "content-length": String(claim) } : {}) });
    const chunk = Buffer.alloc(64 * 1024);
    const pump = (): void => {
      while (res.write(chunk)) if (res.destroyed) return;
      res.once("drain", pump);
    };
    res.on("close", () => res.removeAllListeners("drain"));
    pump();
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://${HOST}:${port}/seabios-1.16.2.tar.gz`, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe("7: a tarball download is bounded like what it unpacks to", () => {
  const SHA = "0".repeat(64);
  const cases: Array<[string, number | undefined, Record<string, string>, RegExp]> = [
    ["a Content-Length of 10 GiB is refused before a byte is written", 10 * 1024 ** 3, {}, /server says it is 10737418240 bytes, more than/],
    ["an endless chunked answer stops at XQBUILD_TARBALL_MAX_BYTES", undefined, { XQBUILD_TARBALL_MAX_BYTES: "2000000" }, /sent more than that, more than the 2000000 bytes/],
  ];
  for (const [what, claim, env, says] of cases) {
    it(`${what}: exit 1 naming the URL within seconds, nothing left in the cache`, async ({ expect }) => {
      const s = await zeros(claim);
      try {
        const t = makeTree(base, `dl-${claim ?? "chunked"}`, { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${s.url}`, `SEABIOS_UPSTREAM_SHA256 = ${SHA}`] });
        const started = Date.now();
        const r = await xq(t, ["fetch", "seabios"], env, { timeoutMs: 60_000 });
        expect(r.timedOut, "hung").toBeFalsy();
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(r.code, r.stderr).toBe(1);
        const para = expectCleanError(r.stderr);
        expect(para).toContain(s.url);
        expect(para).toMatch(says);
        const tarballs = path.join(t.cache, "tarballs");
        expect(existsSync(tarballs) ? readdirSync(tarballs) : []).toEqual([]);
      } finally {
        await s.stop();
      }
    });
  }
  it("SEABIOS_UPSTREAM_LOC naming /dev/zero (through a link named .tar.gz): refused at once as not a regular file (hashing it never ended)", async ({ expect }) => {
    const link = path.join(base, "zero.tar.gz");
    if (!existsSync(link)) symlinkSync("/dev/zero", link);
    const t = makeTree(base, "dl-zero", { config: [...urlLines({ qemu: repos.qemuXen.url }), `SEABIOS_UPSTREAM_LOC = ${link}`, `SEABIOS_UPSTREAM_SHA256 = ${SHA}`] });
    const r = await xq(t, ["fetch", "seabios"], {}, { timeoutMs: 30_000 });
    expect(r.timedOut, "hung").toBeFalsy();
    expect([1, 2]).toContain(r.code);
    expect(expectCleanError(r.stderr)).toContain(`${link} is not a regular file`);
  });
});



describe("11: XQBUILD_TARBALL_MAX_BYTES holds for a wrap-file's archive as for a tarball source", () => {
  it("a fetched wrap whose source_url answers without end stops at XQBUILD_TARBALL_MAX_BYTES (it took the 8 GiB default), exit 1 naming the URL", async ({ expect }) => {
    const s = await zeros();
    try {
      const up = path.join(base, "upstream", "qemu-wrap-zeros.git");
      const wrap = `[wrap-file]\ndirectory = foo-1\nsource_url = ${s.url}\nsource_filename = foo-1.tar.gz\nsource_hash = ${"0".repeat(64)}\n`;
      oneCommitRepo(up, qemuFiles({ "subprojects/foo.wrap": wrap }), "w1");
      const t = makeTree(base, "wrap-zeros", { config: [...urlLines({ qemu: `file://${up}`, seabios: repos.seabios.url }), "QEMU_UPSTREAM_REVISION = w1"] });
      writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify({ components: { "qemu-xen": { wraps: { fetch: ["foo"] } } } }));
      const started = Date.now();
      const r = await xq(t, ["fetch", "qemu-xen"], { XQBUILD_TARBALL_MAX_BYTES: "2000000" }, { timeoutMs: 60_000 });
      expect(r.timedOut, "hung").toBeFalsy();
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(r.code, r.stderr).toBe(1);
      const para = expectCleanError(r.stderr);
      expect(para).toContain(s.url);
      expect(para).toMatch(/more than the 2000000 bytes/);
    } finally {
      await s.stop();
    }
  }, 90_000);
});
