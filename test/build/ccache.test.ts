// src/build/ccache.ts against the real ccache (installed by `npm run sources`, or apt-get install ccache):
// resolution, the masquerade directories, and real compiles with cc and with make CC=gcc.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Ccache, type CcacheConfig, type CcacheStats, DISTRO_MASQUERADE_DIRS, MASQUERADE_NAMES, formatStats, parsePrintStats, readStats, resolveCcache, statsDelta,
} from "../../src/engine/ccache.js";
import { UserError } from "../../src/util/errors.js";
import { commandV } from "../support/which.js";

let base: string;
let env: Record<string, string>;
let systemCcache: string;

/** A fresh directory under this file's temp base. */
function fresh(name: string): string {
  return mkdtempSync(path.join(base, `${name}-`));
}

function run(argv: string[], cwd: string, runEnv: Record<string, string>): void {
  const r = spawnSync(argv[0] as string, argv.slice(1), { cwd, env: runEnv, encoding: "utf8" });
  expect(r.status, `${argv.join(" ")} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
}

function resolve(cfg: CcacheConfig, extra: { env?: Record<string, string>; distroDirs?: readonly string[]; stateDir?: string; treeRoot?: string } = {}): Ccache | undefined {
  return resolveCcache(cfg, extra.env ?? env, {
    treeRoot: extra.treeRoot ?? "/src/xen",
    stateDir: extra.stateDir ?? fresh("state"),
    ...(extra.distroDirs ? { distroDirs: extra.distroDirs } : {}),
  });
}

function mustResolve(cfg: CcacheConfig, extra: Parameters<typeof resolve>[1] = {}): Ccache {
  const c = resolve(cfg, extra);
  expect(c).toBeDefined();
  return c as Ccache;
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an exception");
}

/** An executable shell script. */
function script(file: string, body: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A build env: the plain one plus what ccache adds. */
function buildEnv(c: Ccache): Record<string, string> {
  return { ...env, ...c.env };
}

/** Runs `build` and returns what it did to the cache's counters. */
async function counting(c: Ccache, build: () => void): Promise<CcacheStats> {
  const before = await readStats(c, env);
  build();
  return statsDelta(before, await readStats(c, env));
}

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), "xqbuild-ccache-"));
  const home = path.join(base, "home");
  mkdirSync(home);
  // Nothing of the caller's ccache configuration (CCACHE_DIR, CCACHE_DISABLE ...) or make state leaks in.
  env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C" };
  systemCcache = commandV("ccache", env.PATH as string);
  if (!systemCcache) throw new Error("ccache is not installed: apt-get install ccache (npm run sources installs it as a build dependency)");
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe("resolveCcache", () => {
  it("is off when the setting is false, even with ccache installed", () => {
    expect(resolve({ setting: false })).toBeUndefined();
  });

  it("auto and true find the installed ccache, its version and the distro masquerade directory", () => {
    const expectedVersion = /^ccache version (\S+)/m.exec(spawnSync(systemCcache, ["--version"], { encoding: "utf8" }).stdout)?.[1];
    expect(expectedVersion).toMatch(/^\d+\.\d+/);
    for (const setting of ["auto", true] as const) {
      const c = mustResolve({ setting }, { treeRoot: "/src/xen" });
      expect(c.binary).toBe(systemCcache);
      expect(c.version).toBe(expectedVersion);
      expect(DISTRO_MASQUERADE_DIRS).toContain(c.masqueradeDir);
      expect(realpathSync(path.join(c.masqueradeDir, "cc"))).toBe(realpathSync(systemCcache));
      expect(c.env).toEqual({ PATH: `${c.masqueradeDir}:${env.PATH}`, CCACHE_BASEDIR: "/src/xen", CCACHE_NOHASHDIR: "1" });
    }
  });

  it("sets CCACHE_DIR (absolute) and CCACHE_MAXSIZE when configured, and the tree root as CCACHE_BASEDIR", () => {
    const c = mustResolve({ setting: "auto", dir: "rel/cache", maxSize: "5G" }, { treeRoot: "some/xen/.." });
    expect(c.env.CCACHE_DIR).toBe(path.resolve("rel/cache"));
    expect(c.env.CCACHE_MAXSIZE).toBe("5G");
    expect(c.env.CCACHE_BASEDIR).toBe(path.resolve("some"));
    expect(c.env.CCACHE_NOHASHDIR).toBe("1");
  });

  it("puts the masquerade directory first in PATH, once, so that cc and gcc are ccache", () => {
    const c = mustResolve({ setting: true });
    const again = mustResolve({ setting: true }, { env: { ...env, PATH: `/opt/x/bin:${c.masqueradeDir}:${env.PATH}` } });
    expect(again.env.PATH).toBe(`${c.masqueradeDir}:/opt/x/bin:${env.PATH}`);
    for (const compiler of ["cc", "gcc"]) {
      const found = commandV(compiler, c.env.PATH as string);
      expect(found).toBe(path.join(c.masqueradeDir, compiler));
      expect(realpathSync(found)).toBe(realpathSync(c.binary));
    }
    expect(mustResolve({ setting: true }, { env: { HOME: env.HOME as string, PATH: path.dirname(systemCcache) } }).env.PATH).toBe(`${c.masqueradeDir}:${path.dirname(systemCcache)}`);
  });

  it("without ccache on PATH: auto is off, true fails naming PATH and what to do", () => {
    const empty = fresh("empty-path");
    const noCcache = { HOME: env.HOME as string, PATH: empty };
    expect(resolve({ setting: "auto" }, { env: noCcache })).toBeUndefined();
    const e = thrown(() => resolve({ setting: true }, { env: noCcache }));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toBe(
      `ccache: ccache is enabled but there is no executable ccache on PATH (${empty}): install ccache (Debian/Ubuntu: apt-get install ccache; Fedora: dnf install ccache), give the path of a ccache binary, or turn ccache off.`,
    );
  });

  it("a path that is missing, a directory, not executable or not ccache fails naming the path and what to do", () => {
    const dir = fresh("bad-paths");
    const missing = path.join(dir, "nope", "ccache");
    const e1 = thrown(() => resolve({ setting: missing }));
    expect(e1).toBeInstanceOf(UserError);
    expect(e1.message).toBe(`ccache: the ccache binary ${missing} does not exist: install ccache (Debian/Ubuntu: apt-get install ccache; Fedora: dnf install ccache) and give the path of its binary (usually /usr/bin/ccache), or turn ccache off.`);
    expect(e1.message).not.toContain("\n");

    expect(thrown(() => resolve({ setting: dir })).message).toContain(`the ccache binary ${dir} is a directory: install ccache`);

    const plain = path.join(dir, "ccache");
    writeFileSync(plain, "");
    chmodSync(plain, 0o644);
    expect(thrown(() => resolve({ setting: plain })).message).toContain(`the ccache binary ${plain} is not executable (mode 644): install ccache`);

    const impostor = script(path.join(dir, "bin", "ccache"), 'echo "gcc (Debian 12.2.0-14) 12.2.0"');
    const e4 = thrown(() => resolve({ setting: impostor }));
    expect(e4.message).toBe(`ccache: ${impostor} is not a working ccache: \`${impostor} --version\` did not print "ccache version ..." (it printed "gcc (Debian 12.2.0-14) 12.2.0"). Give the path of a ccache binary (usually /usr/bin/ccache), or turn ccache off.`);
    // The same impostor found on PATH: "auto" quietly goes without, true fails.
    const impostorPath = { HOME: env.HOME as string, PATH: `${path.dirname(impostor)}:${env.PATH}` };
    expect(resolve({ setting: "auto" }, { env: impostorPath })).toBeUndefined();
    expect(thrown(() => resolve({ setting: true }, { env: impostorPath })).message).toContain(`${impostor} is not a working ccache`);

    // A bare name is looked up on PATH.
    expect(thrown(() => resolve({ setting: "ccache-nonesuch" })).message).toMatch(/^ccache: ccache-nonesuch is not on PATH \(.*\): install ccache/);
    expect(mustResolve({ setting: "ccache" }).binary).toBe(systemCcache);
    // Messages use the caller's name for the setting.
    expect(() => resolveCcache({ setting: missing }, env, { treeRoot: "/x", stateDir: dir, settingName: "--ccache" })).toThrow(/^--ccache: the ccache binary /);
  });

  it("checks the cache size as ccache itself would", () => {
    const e = thrown(() => resolve({ setting: "auto", maxSize: "lots" }));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toBe('ccache: the cache size "lots" is not one ccache accepts: give a number with an optional unit, such as 5G, 500M or 10Gi.');
    const ccacheAccepts = (size: string): boolean => {
      const r = spawnSync(systemCcache, ["-k", "max_size"], { env: { ...env, CCACHE_DIR: fresh("size"), CCACHE_MAXSIZE: size }, encoding: "utf8" });
      return r.status === 0 && !/invalid size/.test(r.stderr);
    };
    for (const size of ["5G", "500M", "10Gi", "1.5", "0", "100k", "2T", "5GB"]) {
      expect(ccacheAccepts(size), size).toBe(true);
      expect(mustResolve({ setting: "auto", maxSize: size }).env.CCACHE_MAXSIZE, size).toBe(size);
    }
    for (const size of ["5g", "-1", "5P", "lots", "G"]) {
      expect(ccacheAccepts(size), size).toBe(false);
      expect(() => resolve({ setting: "auto", maxSize: size }), size).toThrow(/is not one ccache accepts/);
    }
  });
});

describe("compiling through ccache", () => {
  const HELLO = "#include \"hello.h\"\nint hello(void) { return HELLO; }\n";

  function helloTree(root: string): string {
    mkdirSync(path.join(root, "include"), { recursive: true });
    mkdirSync(path.join(root, "src"), { recursive: true });
    writeFileSync(path.join(root, "include", "hello.h"), "#define HELLO 42\n");
    writeFileSync(path.join(root, "src", "hello.c"), HELLO);
    return root;
  }

  it("cc -c twice: a miss, then a hit; without the env ccache is not involved", async () => {
    const root = helloTree(fresh("tree"));
    const c = mustResolve({ setting: "auto", dir: fresh("cache") }, { treeRoot: root });
    const src = path.join(root, "src");
    const compile = (e: Record<string, string>) => () => {
      rmSync(path.join(src, "hello.o"), { force: true });
      run(["cc", "-I../include", "-c", "hello.c", "-o", "hello.o"], src, e);
      expect(existsSync(path.join(src, "hello.o"))).toBe(true);
    };
    const first = await counting(c, compile(buildEnv(c)));
    expect(first.misses).toBeGreaterThanOrEqual(1);
    expect(first.hits).toBe(0);
    const second = await counting(c, compile(buildEnv(c)));
    expect(second).toEqual({ hits: 1, misses: 0, uncacheable: 0 });
    expect(formatStats(second)).toBe("ccache: 1 hit, 0 misses (100% hit rate), 0 uncacheable");
    // The control: the same compile with the plain PATH does not touch the cache.
    const plain = await counting(c, compile({ ...env, CCACHE_DIR: c.env.CCACHE_DIR as string }));
    expect(plain).toEqual({ hits: 0, misses: 0, uncacheable: 0 });
  });

  it("two copies of a tree in different places share hits (CCACHE_BASEDIR, CCACHE_NOHASHDIR)", async () => {
    const cache = fresh("cache");
    const compileIn = async (root: string): Promise<CcacheStats> => {
      const c = mustResolve({ setting: "auto", dir: cache }, { treeRoot: root });
      // An absolute -I and -g (the working directory in the debug info): the hash would differ per copy.
      return counting(c, () => run(["cc", "-g", `-I${root}/include`, "-c", "hello.c", "-o", "hello.o"], path.join(root, "src"), buildEnv(c)));
    };
    const a = helloTree(fresh("xen-a"));
    const b = path.join(fresh("elsewhere"), "xen-b");
    cpSync(a, b, { recursive: true });
    expect(await compileIn(a)).toMatchObject({ hits: 0, misses: 1 });
    expect(await compileIn(b)).toMatchObject({ hits: 1, misses: 0 });
  });

  it("make CC=gcc compiles through ccache: a hit after make clean; the link is uncacheable", async () => {
    const dir = fresh("make");
    writeFileSync(path.join(dir, "main.c"), "int main(void) { return 0; }\n");
    writeFileSync(path.join(dir, "Makefile"), "hello: main.o\n\t$(CC) -o $@ $^\nmain.o: main.c\n\t$(CC) -O2 -c -o $@ $<\nclean:\n\trm -f hello main.o\n");
    const c = mustResolve({ setting: true, dir: fresh("cache") }, { treeRoot: dir });
    const make = () => run(["make", "CC=gcc"], dir, buildEnv(c));
    expect(await counting(c, make)).toEqual({ hits: 0, misses: 1, uncacheable: 1 });
    expect(await counting(c, make)).toEqual({ hits: 0, misses: 0, uncacheable: 0 }); // up to date: make runs nothing
    run(["make", "clean"], dir, buildEnv(c));
    const again = await counting(c, make);
    expect(again).toEqual({ hits: 1, misses: 0, uncacheable: 1 });
    expect(formatStats(again)).toBe("ccache: 1 hit, 0 misses (100% hit rate), 1 uncacheable");
    expect(existsSync(path.join(dir, "hello"))).toBe(true);
  });
});

describe("xqbuild's own masquerade directory", () => {
  it("is made under the state directory when no distro directory is usable, with links for the compilers on PATH", async () => {
    const stateDir = fresh("state");
    // A compiler the system may not have: a clang++ on PATH gets a link; once gone from PATH, the link goes.
    const extra = path.join(fresh("extra"), "bin");
    script(path.join(extra, "clang++"), 'exec g++ "$@"');
    const withExtra = { ...env, PATH: `${env.PATH}:${extra}` };
    const c = mustResolve({ setting: "auto", dir: fresh("cache") }, { distroDirs: [], stateDir, env: withExtra });
    const own = path.join(stateDir, "ccache-bin");
    expect(c.masqueradeDir).toBe(own);
    expect(c.env.PATH).toBe(`${own}:${withExtra.PATH}`);
    const expected = MASQUERADE_NAMES.filter((n) => commandV(n, withExtra.PATH) !== "");
    expect(expected).toEqual(expect.arrayContaining(["cc", "gcc", "clang++"]));
    for (const n of MASQUERADE_NAMES) {
      if (expected.includes(n)) expect(readlinkSync(path.join(own, n)), n).toBe(systemCcache);
      else expect(existsSync(path.join(own, n)), n).toBe(false);
    }
    // Resolving again with clang++ gone from PATH: same directory, the link removed (unless installed).
    mustResolve({ setting: "auto" }, { distroDirs: [], stateDir });
    expect(existsSync(path.join(own, "clang++"))).toBe(commandV("clang++", env.PATH as string) !== "");
    expect(readlinkSync(path.join(own, "cc"))).toBe(systemCcache);

    const src = fresh("src");
    writeFileSync(path.join(src, "a.c"), "int a(void) { return 7; }\n");
    const compile = () => {
      rmSync(path.join(src, "a.o"), { force: true });
      run(["cc", "-c", "a.c"], src, buildEnv(c));
    };
    expect(await counting(c, compile)).toMatchObject({ hits: 0, misses: 1 });
    expect(await counting(c, compile)).toMatchObject({ hits: 1, misses: 0 });
  });

  it("is used for a ccache outside the distro's directories (the distro links point at another binary)", async () => {
    const copy = path.join(fresh("opt"), "bin", "ccache");
    mkdirSync(path.dirname(copy));
    copyFileSync(systemCcache, copy);
    chmodSync(copy, 0o755);
    const stateDir = fresh("state");
    const c = mustResolve({ setting: copy, dir: fresh("cache") }, { stateDir });
    expect(c.binary).toBe(copy);
    expect(c.masqueradeDir).toBe(path.join(stateDir, "ccache-bin"));
    expect(readlinkSync(path.join(c.masqueradeDir, "gcc"))).toBe(copy);
    const src = fresh("src");
    writeFileSync(path.join(src, "b.c"), "int b(void) { return 8; }\n");
    const log = path.join(src, "ccache.log");
    const compile = () => {
      rmSync(path.join(src, "b.o"), { force: true });
      run(["gcc", "-c", "b.c"], src, { ...buildEnv(c), CCACHE_LOGFILE: log });
    };
    expect(await counting(c, compile)).toMatchObject({ hits: 0, misses: 1 });
    expect(await counting(c, compile)).toMatchObject({ hits: 1, misses: 0 });
    // ccache found the real compiler behind its own link, not itself again.
    const r = spawnSync("grep", ["-c", "Executing /usr/bin/gcc", log], { encoding: "utf8" });
    expect(Number(r.stdout.trim())).toBeGreaterThanOrEqual(1);
  });

  it("refuses a binary whose real name is not ccache: it could not recognise its own links", () => {
    const dir = fresh("renamed");
    const renamed = path.join(dir, "ccache-4.x");
    copyFileSync(systemCcache, renamed);
    chmodSync(renamed, 0o755);
    const viaLink = path.join(dir, "ccache");
    symlinkSync(renamed, viaLink);
    for (const setting of [renamed, viaLink]) {
      const e = thrown(() => resolve({ setting }));
      expect(e).toBeInstanceOf(UserError);
      expect(e.message).toBe(`ccache: ${setting} resolves to ${renamed}, whose name is not "ccache": ccache called through a compiler-named symlink only recognises itself by that name. Give the path of a binary (or a symlink to one) named ccache, or turn ccache off.`);
    }
    // Found on PATH under "auto": quietly off.
    expect(resolve({ setting: "auto" }, { env: { ...env, PATH: `${dir}:${env.PATH}` } })).toBeUndefined();
  });
});

describe("statistics", () => {
  it("parses --print-stats: direct + preprocessed hits, cache_miss, the uncacheable counters", () => {
    const text = [
      "stats_updated_timestamp\t1700000000", "autoconf_test\t1", "called_for_link\t4", "compile_failed\t2", "cache_miss\t56",
      "direct_cache_hit\t1200", "direct_cache_miss\t60", "preprocessed_cache_hit\t34", "internal_error\t9", "local_storage_hit\t1234",
      "files_in_cache\t999", "unsupported_compiler_option\t3", "no_input_file\t1", "",
    ].join("\n");
    expect(parsePrintStats(text)).toEqual({ hits: 1234, misses: 56, uncacheable: 11 });
    expect(() => parsePrintStats("cache directory  /x\ncache hit (direct)  3\n")).toThrow(/no cache_miss and direct_cache_hit counters/);
  });

  it("statsDelta subtracts, and takes `after` for a counter zeroed meanwhile", () => {
    expect(statsDelta({ hits: 10, misses: 5, uncacheable: 2 }, { hits: 15, misses: 5, uncacheable: 3 })).toEqual({ hits: 5, misses: 0, uncacheable: 1 });
    expect(statsDelta({ hits: 10, misses: 5, uncacheable: 2 }, { hits: 3, misses: 1, uncacheable: 0 })).toEqual({ hits: 3, misses: 1, uncacheable: 0 });
  });

  it("formatStats: one line, the rate rounded down, none when nothing was cacheable", () => {
    expect(formatStats({ hits: 1234, misses: 56, uncacheable: 3 })).toBe("ccache: 1234 hits, 56 misses (95% hit rate), 3 uncacheable");
    expect(formatStats({ hits: 1999, misses: 1, uncacheable: 0 })).toBe("ccache: 1999 hits, 1 miss (99% hit rate), 0 uncacheable");
    expect(formatStats({ hits: 0, misses: 0, uncacheable: 7 })).toBe("ccache: 0 hits, 0 misses, 7 uncacheable");
  });

  it("readStats reads the configured CCACHE_DIR and rejects output it cannot read", async () => {
    const c = mustResolve({ setting: "auto", dir: fresh("cache") });
    expect(await readStats(c, env)).toEqual({ hits: 0, misses: 0, uncacheable: 0 });
    const fake = script(path.join(fresh("fake"), "ccache"), 'echo "cache hit (direct) 5"');
    await expect(readStats({ ...c, binary: fake }, env)).rejects.toThrow(/--print-stats`: no cache_miss and direct_cache_hit counters/);
    const failing = script(path.join(fresh("fake"), "ccache"), 'echo "ccache: invalid option -- print-stats" >&2; exit 1');
    await expect(readStats({ ...c, binary: failing }, env)).rejects.toThrow(/--print-stats` failed \(ccache .*; --print-stats needs ccache 3\.7 or newer\): ccache: invalid option/);
  });
});
