// Issue 15, point 8: one helper for one job in the tests. Each job's code (starting git daemon,
// compiling the CLI, the mkdir lock, asking ps which processes a test left) lives in one file of
// test/support/, and every test, the e2e, the bench and the scripts use that file: a copy elsewhere
// is what this finds (the copies drifted apart before: three daemon starters with different
// arguments, two compiles with different source hashes, three locks).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../", import.meta.url));

/** What each job's code looks like, and the one file allowed to hold it. */
const JOBS: ReadonlyArray<{ job: string; home: string; code: RegExp }> = [
  { job: "starting git daemon", home: "test/support/git-daemon.mjs", code: /["']daemon["']\s*,/ },
  { job: "compiling the CLI (tsc -p tsconfig.json)", home: "test/support/build-cli.ts", code: /["']-p["']\s*,\s*["']tsconfig\.json["']/ },
  { job: "the mkdir lock", home: "test/support/dir-lock.mjs", code: /mkdirSync\(\s*lock\b|\.kill\([^,()]+,\s*0\s*\)/ },
  { job: "listing processes with ps -eo", home: "test/support/processes.ts", code: /["']-eo["']/ },
];

/** The script and test sources of the repository (test/, bench/, scripts/), relative to root. */
function sources(root: string): string[] {
  const out: string[] = [];
  for (const top of ["test", "bench", "scripts"]) {
    const dir = path.join(root, top);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
      if (/\.(ts|mts|mjs|js)$/.test(f) && !f.split(path.sep).includes("node_modules")) out.push(path.join(top, f));
    }
  }
  return out.sort();
}

/** "file: job" for every file outside a job's home that holds that job's code. */
function copies(root: string): string[] {
  const found: string[] = [];
  for (const rel of sources(root)) {
    if (rel === path.join("test", "test-support.test.ts")) continue; // the patterns themselves
    const text = fs.readFileSync(path.join(root, rel), "utf8");
    for (const { job, home, code } of JOBS) if (rel !== home && code.test(text)) found.push(`${rel}: ${job} (belongs in ${home})`);
  }
  return found;
}

describe("8: one helper for one job in the tests", () => {
  it("each job's code is in its one file of test/support/, and nowhere else in test/, bench/ or scripts/", () => {
    expect(copies(REPO)).toEqual([]);
  });

  it("each home holds its job (the patterns find what they look for)", () => {
    for (const { job, home, code } of JOBS) expect(code.test(fs.readFileSync(path.join(REPO, home), "utf8")), `${home}: ${job}`).toBe(true);
  });

  it("a copy planted in a test file, the bench or a script is found", () => {
    const root = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "xq-one-helper-"));
    try {
      const plant = (rel: string, text: string): void => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
      };
      plant("test/support/git-daemon.mjs", 'spawn("git", ["daemon", "--export-all"]);\n');
      plant("test/faults/x.test.ts", 'spawn("git", ["daemon", `--port=${p}`]);\n');
      plant("bench/lib/y.mjs", 'spawnSync(node, [tsc, "-p", "tsconfig.json"]);\n');
      plant("scripts/z.mjs", "try { fs.mkdirSync(lock); } catch {}\nprocess.kill(pid, 0);\n");
      plant("test/e2e/w.ts", 'spawnSync("ps", ["-eo", "pid,args"]);\n');
      expect(copies(root)).toEqual([
        "bench/lib/y.mjs: compiling the CLI (tsc -p tsconfig.json) (belongs in test/support/build-cli.ts)",
        "scripts/z.mjs: the mkdir lock (belongs in test/support/dir-lock.mjs)",
        "test/e2e/w.ts: listing processes with ps -eo (belongs in test/support/processes.ts)",
        "test/faults/x.test.ts: starting git daemon (belongs in test/support/git-daemon.mjs)",
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
