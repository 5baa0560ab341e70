// vitest globalSetup (vitest.config.ts): xqbuild is compiled into dist/ once per run, before any
// test file starts, and a failed compile fails the run. The files that run the CLI as a user would
// (cli.test.ts, build/signals.test.ts, report/*.test.ts, make-fragment.test.ts) take its path from
// cliPath() instead of running `npx tsc` themselves: from parallel workers, into the same dist/,
// with the exit code ignored, a failed compile tested a stale CLI.
//
// dist/.xqbuild-sources records a hash of what was compiled: a run whose sources have not changed
// since skips the compile (5 s on two cores). The fault suite (privateCli) and the e2e (compileCli
// into a directory of its own) compile with the same function, and hash the sources with sourceHash.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { acquireDirLock } from "./dir-lock.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    /** dist/src/cli/main.js, compiled from the current sources by this globalSetup. */
    xqbuildCli: string;
  }
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A hash of everything tsc compiles into dist/ (src/, recipes/) and of what steers it. */
export function sourceHash(root: string = REPO_ROOT): string {
  const h = createHash("sha256");
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (/\.(ts|json)$/.test(e.name)) h.update(r).update("\0").update(fs.readFileSync(path.join(root, r))).update("\0");
    }
  };
  walk("src");
  for (const f of ["tsconfig.json", "package.json"]) h.update(f).update("\0").update(fs.readFileSync(path.join(root, f)));
  return h.digest("hex");
}

/**
 * Runs the project's tsc on root's tsconfig.json, into outDir instead of dist/ when given; throws
 * with tsc's output when it fails or writes no CLI. Returns the compiled CLI's path. Every compile of
 * xqbuild the tests make (dist/ here, the fault suite's private build, the e2e's own) is this one.
 */
export function compileCli(root: string = REPO_ROOT, outDir?: string): string {
  const out = outDir ?? path.join(root, "dist");
  const argv = [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", ...(outDir ? ["--outDir", outDir] : [])];
  const tsc = spawnSync(process.execPath, argv, { cwd: root, encoding: "utf8" });
  const line = `tsc -p tsconfig.json${outDir ? ` --outDir ${outDir}` : ""} in ${root}`;
  if (tsc.status !== 0) {
    throw new Error(`compiling xqbuild (${line}) failed with ${tsc.status ?? tsc.signal ?? tsc.error?.message}; the tests that run the CLI would test a stale build:\n${tsc.stdout}${tsc.stderr}`);
  }
  const cli = path.join(out, "src", "cli", "main.js");
  if (!fs.existsSync(cli)) throw new Error(`${line} succeeded but wrote no ${cli}`);
  return cli;
}

/**
 * Compiles the sources into dist/ unless dist/ already holds exactly them; throws (which fails the
 * whole vitest run) with tsc's output when the compile fails. Returns the CLI's path.
 */
export function buildCli(root: string = REPO_ROOT): string {
  const cli = path.join(root, "dist", "src", "cli", "main.js");
  const stamp = path.join(root, "dist", ".xqbuild-sources");
  const hash = sourceHash(root);
  if (fs.existsSync(cli) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8").trim() === hash) return cli;
  // The stamp goes first: a compile that fails half-way must not leave dist/ looking current.
  fs.rmSync(stamp, { force: true });
  compileCli(root);
  fs.writeFileSync(stamp, `${hash}\n`);
  return cli;
}

/**
 * The CLI compiled from root's current sources into a directory of its own that nothing rebuilds
 * (not dist/, which may be stale or being rebuilt by another test):
 * node_modules/.cache/xqbuild-cli/<hash of the sources>/. Processes running side by side (the fault
 * suite's files) compile it once between them, under the shared mkdir lock; builds of earlier
 * sources unused for an hour are removed.
 */
export function privateCli(root: string = REPO_ROOT): string {
  const cacheRoot = path.join(root, "node_modules", ".cache", "xqbuild-cli");
  const dir = path.join(cacheRoot, sourceHash(root).slice(0, 16));
  const cli = path.join(dir, "src", "cli", "main.js");
  if (fs.existsSync(cli)) return cli;
  fs.mkdirSync(cacheRoot, { recursive: true });
  const release = acquireDirLock(`${dir}.lock`, { timeoutMs: 180_000, pollMs: 200 });
  try {
    if (fs.existsSync(cli)) return cli;
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    compileCli(root, tmp);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { name: string; version: string };
    // Under node_modules no package.json above applies: say that these files are ES modules.
    fs.writeFileSync(path.join(tmp, "package.json"), JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", private: true }));
    fs.renameSync(tmp, dir);
    for (const e of fs.readdirSync(cacheRoot)) {
      const p = path.join(cacheRoot, e);
      if (p !== dir && /^[0-9a-f]{16}$/.test(e) && Date.now() - fs.statSync(p).mtimeMs > 3_600_000) fs.rmSync(p, { recursive: true, force: true });
    }
  } finally {
    release();
  }
  return cli;
}

/** globalSetup: compile once, hand the path to the test files (cliPath()). */
export function setup(project: TestProject): void {
  project.provide("xqbuildCli", buildCli());
}
