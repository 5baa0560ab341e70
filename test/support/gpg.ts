// Signing keys made in the test (gpg --quick-gen-key in a private GNUPGHOME) and tags signed with
// them in a fake upstream: the verify setting's tests, the SBOM's and the packager recipe's.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { git, gitEnv } from "./git.js";

export interface Key {
  home: string;
  fingerprint: string;
  armored: string;
}

const homes: string[] = [];

/**
 * A signing key with no passphrase, in a GNUPGHOME of its own (under base). `expire` is gpg's
 * (`never`, `1y`, `seconds=N`): a key that expires soon signs a tag now and is expired later.
 */
export function makeKey(base: string, name: string, email: string, expire = "never"): Key {
  const home = path.join(base, `gnupg-${name.replace(/[^A-Za-z0-9]+/g, "-")}`);
  mkdirSync(home, { mode: 0o700 });
  homes.push(home);
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync("gpg", ["--batch", "--quiet", "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", `${name} <${email}>`, "ed25519", "sign", expire], { env, stdio: "ignore" });
  const colons = execFileSync("gpg", ["--batch", "--with-colons", "--list-keys"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in ${colons}`);
  const armored = execFileSync("gpg", ["--batch", "--armor", "--export", fingerprint], { env, encoding: "utf8" });
  return { home, fingerprint, armored };
}

/** When the key expires (ms since the epoch), or undefined for a key that never does. */
export function expiresAt(key: Key): number | undefined {
  const colons = execFileSync("gpg", ["--batch", "--with-colons", "--list-keys", key.fingerprint], { env: { ...process.env, GNUPGHOME: key.home }, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const field = /^pub:(?:[^:]*:){5}(\d*):/m.exec(colons)?.[1];
  return field ? Number(field) * 1000 : undefined;
}

/**
 * The key revoked by the revocation certificate gpg made with it (openpgp-revocs.d), as its owner
 * publishes it after a compromise: the armored export then carries the revocation.
 */
export function revoke(key: Key): Key {
  const env = { ...process.env, GNUPGHOME: key.home };
  const cert = path.join(key.home, "openpgp-revocs.d", `${key.fingerprint}.rev`);
  // gpg writes the certificate with its armor line disarmed by a leading colon.
  const usable = path.join(key.home, "revocation.asc");
  writeFileSync(usable, readFileSync(cert, "utf8").replace(/^:-----BEGIN/m, "-----BEGIN"));
  execFileSync("gpg", ["--batch", "--quiet", "--import", usable], { env, stdio: "ignore" });
  return { ...key, armored: execFileSync("gpg", ["--batch", "--armor", "--export", key.fingerprint], { env, encoding: "utf8" }) };
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
