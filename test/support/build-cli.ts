// vitest globalSetup (vitest.config.ts): xqbuild is compiled into dist/ once per run, before any
// test file starts, and a failed compile fails the run. The files that run the CLI as a user would
// (cli.test.ts, build/signals.test.ts, report/*.test.ts, make-fragment.test.ts) take its path from
// cliPath() instead of running `npx tsc` themselves: from parallel workers, into the same dist/,
// with the exit code ignored, a failed compile tested a stale CLI.
//
// dist/.xqbuild-sources records a hash of what was compiled: a run whose sources have not changed
// since skips the compile (5 s on two cores).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

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
  const tsc = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
  if (tsc.status !== 0) {
    throw new Error(`compiling xqbuild (tsc -p tsconfig.json in ${root}) failed with ${tsc.status ?? tsc.signal ?? tsc.error?.message}; the tests that run the CLI would test a stale dist/:\n${tsc.stdout}${tsc.stderr}`);
  }
  if (!fs.existsSync(cli)) throw new Error(`tsc -p tsconfig.json succeeded but wrote no ${cli}`);
  fs.writeFileSync(stamp, `${hash}\n`);
  return cli;
}

/** globalSetup: compile once, hand the path to the test files (cliPath()). */
export function setup(project: TestProject): void {
  project.provide("xqbuildCli", buildCli());
}
