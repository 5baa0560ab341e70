// Where the shell finds a program, for the tests that wrap one (a PATH wrapper execs the real one)
// or hide one: one lookup instead of a `sh -c "command -v ..."` in each file.
import { spawnSync } from "node:child_process";

/** Where `sh` finds `name` on pathVar (default: this process's PATH), or "" when nowhere. */
export function commandV(name: string, pathVar: string = process.env.PATH ?? ""): string {
  const r = spawnSync("sh", ["-c", 'command -v "$1" || true', "sh", name], { env: { PATH: pathVar }, encoding: "utf8" });
  return r.stdout.trim();
}

/** Where `name` is on PATH; throws when it is not there (a test that wraps it cannot run). */
export function which(name: string): string {
  const found = commandV(name);
  if (!found) throw new Error(`${name} is not on PATH`);
  return found;
}
