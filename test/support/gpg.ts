// Signing keys made in the test (gpg --quick-gen-key in a private GNUPGHOME) and tags signed with
// them in a fake upstream: the verify setting's tests, the SBOM's and the packager recipe's.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { git, gitEnv } from "./git.js";

export interface Key {
  home: string;
  fingerprint: string;
  armored: string;
}

const homes: string[] = [];

/** A signing key with no passphrase, in a GNUPGHOME of its own (under base). */
export function makeKey(base: string, name: string, email: string): Key {
  const home = path.join(base, `gnupg-${name.replace(/[^A-Za-z0-9]+/g, "-")}`);
  mkdirSync(home, { mode: 0o700 });
  homes.push(home);
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync("gpg", ["--batch", "--quiet", "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", `${name} <${email}>`, "ed25519", "sign", "never"], { env, stdio: "ignore" });
  const colons = execFileSync("gpg", ["--batch", "--with-colons", "--list-keys"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in ${colons}`);
  const armored = execFileSync("gpg", ["--batch", "--armor", "--export", fingerprint], { env, encoding: "utf8" });
  return { home, fingerprint, armored };
}

/** `git tag` in the bare upstream, signed with `key` when given (else an unsigned annotated tag); returns the tag object's id. */
export function tag(repo: string, name: string, commit: string, key?: Key, force = false): string {
  const env = { ...gitEnv(), GIT_DIR: repo, GIT_COMMITTER_DATE: "2023-04-01T12:00:00+00:00", ...(key ? { GNUPGHOME: key.home } : {}) };
  git(["tag", ...(force ? ["-f"] : []), ...(key ? ["-s", "-u", key.fingerprint] : ["-a"]), "-m", `release ${name}`, name, commit], { env });
  return git(["rev-parse", `refs/tags/${name}`], { env });
}

/** Ends the gpg-agents the keys' homes started (an afterAll). */
export function stopKeyAgents(): void {
  for (const home of homes.splice(0)) execFileSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
}
