// vitest globalSetup: every temporary directory a run makes (the tests' mkdtemp, the CLI's and the
// tools' own) goes under one directory of the run's, removed when the run ends: TMPDIR is set
// before the test processes start, and os.tmpdir() reads it. XQ_KEEP_TMP=1 keeps it to look into.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

let root: string | undefined;

export function setup(): void {
  root = mkdtempSync(path.join(tmpdir(), "xqbuild-run-"));
  // As /tmp is: the tests that run xqbuild as another user (nobody) reach and write it too.
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
}

export function teardown(): void {
  if (!root) return;
  if (process.env.XQ_KEEP_TMP === "1") console.log(`temporary files kept in ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
