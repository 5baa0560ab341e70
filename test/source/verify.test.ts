// The verify setting (issue 16, point 1): tags signed in a fake upstream with keys made here, checked
// by the real CLI through git verify-tag and gpgv; each hostile case is refused before the checkout.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { memoryOutput } from "../../src/report/output.js";
import { git, gitEnv, makeUpstreamRepos, type UpstreamRepos } from "../support/git.js";
import { copyXenTree } from "../support/xen-tree.js";
import { expiresAt, makeKey, revoke, stopKeyAgents, tag, type Key } from "../support/gpg.js";

interface Tree {
  base: string;
  root: string;
  env: Record<string, string | undefined>;
  repos: UpstreamRepos;
}

function writeConfig(t: Tree, revision: string, settings: object): void {
  writeFileSync(path.join(t.root, ".config"), [`QEMU_UPSTREAM_URL = ${t.repos.qemuXen.url}`, `QEMU_UPSTREAM_REVISION = ${revision}`, `SEABIOS_UPSTREAM_URL = ${t.repos.seabios.url}`, ""].join("\n"));
  writeFileSync(path.join(t.root, "xqbuild.config.json"), JSON.stringify(settings, null, 2));
}

async function xq(t: Tree, argv: string[], env: Record<string, string | undefined> = {}) {
  const output = memoryOutput();
  const code = await main([...argv, "-C", t.root], { cwd: t.root, env: { ...t.env, ...env }, output });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

/** A PATH with every program of the machine's PATH but the named ones. */
function pathWithout(hidden: readonly string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xqbuild-path-"));
  for (const d of (process.env.PATH ?? "").split(":")) {
    if (!d || !existsSync(d)) continue;
    for (const p of readdirSync(d)) if (!hidden.includes(p) && !existsSync(path.join(dir, p))) symlinkSync(path.join(d, p), path.join(dir, p));
  }
  return dir;
}

const qemuDir = (t: Tree): string => path.join(t.root, "tools", "qemu-xen-dir-remote");
const headOf = (t: Tree): string => git(["rev-parse", "HEAD"], { cwd: qemuDir(t) });
const lockText = (t: Tree): string => readFileSync(path.join(t.root, "xqbuild.lock"), "utf8");
type Lock = { components: Record<string, { revision: string; commit: string; tagObject?: string; signer?: string }> };
const lockOf = (t: Tree): Lock => JSON.parse(lockText(t)) as Lock;

describe("verify: signed tags through gpgv, against the configured keys only", () => {
  let t: Tree;
  let signer: Key;
  let other: Key;
  let c1: string;
  let c2: string;
  let c3: string;
  let goodTag: string;
  const keysSetting = () => ({ verify: { keys: ["keys/signer.asc"] } });

  beforeAll(async () => {
    const base = mkdtempSync(path.join(tmpdir(), "xqbuild-verify-test-"));
    signer = makeKey(base, "Release Signer", "signer@xqbuild.invalid");
    other = makeKey(base, "Mallory", "mallory@xqbuild.invalid");
    const repos = makeUpstreamRepos(path.join(base, "upstream"));
    const repo = repos.qemuXen.path;
    c1 = repos.qemuXen.refs["qemu-xen-4.17.3"] as string;
    c2 = repos.qemuXen.refs["stable-4.17"] as string;
    c3 = repos.qemuXen.refs.master as string;
    goodTag = tag(repo, "signed-good", c1, signer);
    tag(repo, "unsigned-c2", c2);
    tag(repo, "signed-other", c2, other);
    // A tag signed by the right key, whose message was changed afterwards: the signature no longer holds.
    const signedBad = tag(repo, "signed-bad", c2, signer);
    const env = { ...gitEnv(), GIT_DIR: repo };
    const tampered = git(["cat-file", "tag", signedBad], { env }).replace("release signed-bad", "release signed-bad, with a backdoor");
    const forged = execFileSync("git", ["hash-object", "-t", "tag", "-w", "--stdin"], { env, input: tampered, encoding: "utf8" }).trim();
    git(["update-ref", "refs/tags/signed-bad", forged], { env });
    // A good signature of another tag, served under this tag's name.
    git(["update-ref", "refs/tags/replayed", goodTag], { env });
    const root = copyXenTree(path.join(base, "xen"), { hardlink: true });
    mkdirSync(path.join(root, "keys"));
    writeFileSync(path.join(root, "keys", "signer.asc"), signer.armored);
    // The user's own GNUPGHOME trusts the other key: xqbuild must not look at it.
    t = { base, root, repos, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, "cache"), GNUPGHOME: other.home } };
    writeConfig(t, "signed-good", keysSetting());
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : "(failed)");
    expect(r.code).toBe(0);
  }, 120_000);

  afterAll(() => {
    stopKeyAgents();
  });

  it("checks out a tag signed by a configured key and records its tag object and signer", async () => {
    expect(headOf(t)).toBe(c1);
    expect(lockOf(t).components["qemu-xen"]).toMatchObject({ revision: "signed-good", commit: c1, tagObject: goodTag, signer: signer.fingerprint });
    const plain = await xq(t, ["status"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`signed   tag object ${goodTag}, signed by ${signer.fingerprint}`);
    const json = await xq(t, ["status", "--json"]);
    const doc = JSON.parse(json.stdout) as { components: { name: string; locked?: { tagObject?: string; signer?: string } }[] };
    expect(doc.components.find((c) => c.name === "qemu-xen")?.locked).toMatchObject({ tagObject: goodTag, signer: signer.fingerprint });
  });

  it("reads a lock file written before verify and records the signature in it", async () => {
    const lock = lockOf(t);
    const entry = lock.components["qemu-xen"] as Record<string, unknown>;
    delete entry.tagObject;
    delete entry.signer;
    writeFileSync(path.join(t.root, "xqbuild.lock"), JSON.stringify(lock, null, 2));
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code).toBe(0);
    expect(lockOf(t).components["qemu-xen"]).toMatchObject({ commit: c1, tagObject: goodTag, signer: signer.fingerprint });
  });

  /** Runs a fetch that must be refused, and checks that the tree, its link and the lock are as they were. */
  async function refused(revision: string, settings: object = keysSetting(), argv: string[] = ["fetch", "qemu-xen"], env: Record<string, string | undefined> = {}) {
    const tree = () => ({ head: headOf(t), status: git(["status", "--porcelain", "--ignored"], { cwd: qemuDir(t) }), lock: lockText(t) });
    const before = tree();
    writeConfig(t, revision, settings);
    const r = await xq(t, argv, env);
    expect(r.code).toBe(1);
    expect(tree()).toEqual(before);
    expect(r.stderr).toContain("Nothing was checked out: the tree was left as it was.");
    expect(r.stderr).toContain(`allows only tags signed by the key ${signer.fingerprint}`);
    // Every refusal names the signer: a fingerprint, or none for what carries no signature.
    expect(r.stderr).toMatch(/; signer: (none|[0-9A-F]{40})\b/);
    return r.stderr;
  }

  it("refuses an unsigned tag", async () => {
    const err = await refused("unsigned-c2");
    expect(err).toMatch(/qemu-xen: the tag unsigned-c2 \(QEMU_UPSTREAM_REVISION at \.config:2\) of \S+ is unsigned \(tag object [0-9a-f]{40} carries no OpenPGP signature\)/);
    expect(err).toContain(`carries no OpenPGP signature); signer: none; verify in xqbuild.config.json allows only tags signed by the key ${signer.fingerprint}.`);
  });

  it("refuses a tag signed by another key, even one the user's own keyring trusts, naming its fingerprint", async () => {
    const err = await refused("signed-other");
    expect(err).toMatch(/the tag signed-other .* is signed by another key, not one of the allowed keys/);
    expect(err).toContain(`signer: ${other.fingerprint}`);
  });

  it("refuses a bad signature (a tag object changed after signing), naming the key it claims", async () => {
    const err = await refused("signed-bad");
    expect(err).toContain("has a BAD signature: the tag object was changed after it was signed");
    expect(err).toContain(`signer: ${signer.fingerprint} (Release Signer <signer@xqbuild.invalid>)`);
  });

  it("refuses a signed tag of another revision served under this name", async () => {
    const err = await refused("replayed");
    expect(err).toContain(`is the tag object ${goodTag}, which names itself "signed-good"`);
    expect(err).toContain(`served under this name; signer: ${signer.fingerprint} (Release Signer <signer@xqbuild.invalid>); verify in xqbuild.config.json allows`);
  });

  it("refuses a branch and a commit under verify", async () => {
    const branch = await refused("stable-4.17");
    expect(branch).toMatch(/stable-4\.17 \(QEMU_UPSTREAM_REVISION at \.config:2\) is a branch of \S+, not a signed tag/);
    expect(branch).toContain(`not a signed tag; signer: none (a branch carries no signature); verify in xqbuild.config.json allows only tags signed by the key ${signer.fingerprint}.`);
    const commit = await refused(c3);
    expect(commit).toContain(`the revision ${c3} (QEMU_UPSTREAM_REVISION at .config:2) is a commit, not a signed tag`);
    expect(commit).toContain(`not a signed tag; signer: none (a commit carries no signature); verify in xqbuild.config.json allows only tags signed by the key ${signer.fingerprint}.`);
  });

  it("refuses with keys written inline in a component's own verify", async () => {
    const err = await refused("signed-other", { components: { "qemu-xen": { verify: { keys: [signer.armored] } } } });
    expect(err).toContain("components.qemu-xen.verify in xqbuild.config.json allows only tags signed by the key");
  });

  it("takes a branch the allow list names, unsigned and unrecorded", async () => {
    writeConfig(t, "stable-4.17", { verify: { keys: ["keys/signer.asc"], allow: ["stable-4.17"] } });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("stable-4.17 is taken unsigned: verify.allow lists it");
    expect(headOf(t)).toBe(c2);
    const entry = lockOf(t).components["qemu-xen"];
    expect(entry).toMatchObject({ revision: "stable-4.17", commit: c2 });
    expect(entry?.tagObject).toBeUndefined();
  });

  it("takes any revision of a component whose own verify is false, under a global verify", async () => {
    writeConfig(t, "unsigned-c2", { verify: { keys: ["keys/signer.asc"] }, components: { "qemu-xen": { verify: false } } });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code).toBe(0);
    expect(headOf(t)).toBe(c2);
    expect(lockOf(t).components["qemu-xen"]?.signer).toBeUndefined();
  });

  it("refuses a tag that now points elsewhere than xqbuild.lock recorded, until --update-lock", async () => {
    writeConfig(t, "signed-good", keysSetting());
    expect((await xq(t, ["fetch", "qemu-xen"])).code).toBe(0);
    expect(headOf(t)).toBe(c1);
    // Upstream moves the tag, even signed by the right key.
    const moved = tag(t.repos.qemuXen.path, "signed-good", c3, signer, true);
    const moveMessage = `the tag signed-good (QEMU_UPSTREAM_REVISION at .config:2) of ${t.repos.qemuXen.url} now points elsewhere than xqbuild.lock recorded: it is the tag object ${moved} (commit ${c3.slice(0, 12)}), where xqbuild.lock has the tag object ${goodTag} (commit ${c1.slice(0, 12)}, signed by ${signer.fingerprint}); signer: ${signer.fingerprint} (Release Signer <signer@xqbuild.invalid>); verify in xqbuild.config.json allows only tags signed by the key ${signer.fingerprint}.`;
    // update asks the server again; a fresh cache (another machine, CI) fetches the tag anew.
    expect(await refused("signed-good", keysSetting(), ["update", "qemu-xen"])).toContain(moveMessage);
    expect(await refused("signed-good", keysSetting(), ["fetch", "qemu-xen"], { XQBUILD_CACHE_DIR: path.join(t.base, "cache-2") })).toContain(moveMessage);
    const r = await xq(t, ["fetch", "qemu-xen", "--update-lock"]);
    expect(r.code).toBe(0);
    expect(headOf(t)).toBe(c3);
    expect(lockOf(t).components["qemu-xen"]).toMatchObject({ commit: c3, tagObject: moved, signer: signer.fingerprint });
  });

  it("refuses a tag whose key has expired since it signed, and one whose key is now revoked, naming the signer", async () => {
    const repo = t.repos.qemuXen.path;
    // Signed while the key was good; the key expires seconds later.
    const expiring = makeKey(t.base, "Short Lived", "short@xqbuild.invalid", "seconds=6");
    tag(repo, "signed-expiring", c2, expiring);
    const revokedLater = makeKey(t.base, "Revoked Signer", "revoked@xqbuild.invalid");
    tag(repo, "signed-revoked", c2, revokedLater);
    const revoked = revoke(revokedLater);
    writeFileSync(path.join(t.root, "keys", "expiring.asc"), expiring.armored);
    writeFileSync(path.join(t.root, "keys", "revoked.asc"), revoked.armored);
    const until = expiresAt(expiring);
    expect(until).toBeDefined();
    await new Promise((r) => setTimeout(r, Math.max(0, (until as number) - Date.now()) + 1500));
    const both = { verify: { keys: ["keys/expiring.asc", "keys/revoked.asc"] } };
    const cases = [
      ["signed-expiring", "is signed by a key that has expired", expiring],
      ["signed-revoked", "is signed by a key that has been revoked", revoked],
    ] as const;
    for (const [revision, why, key] of cases) {
      const before = { head: headOf(t), lock: lockText(t) };
      writeConfig(t, revision, both);
      const r = await xq(t, ["fetch", "qemu-xen"]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the tag ${revision} (QEMU_UPSTREAM_REVISION at .config:2) of ${t.repos.qemuXen.url} (tag object `);
      expect(r.stderr).toContain(`) ${why}; signer: ${key.fingerprint}`);
      expect(r.stderr).toContain(`signer: ${key.fingerprint}`);
      expect(r.stderr).toContain("Nothing was checked out: the tree was left as it was.");
      expect({ head: headOf(t), lock: lockText(t) }).toEqual(before);
    }
  });

  it("takes a keyring file as it takes keys", async () => {
    const env = { ...process.env, GNUPGHOME: signer.home };
    writeFileSync(path.join(t.root, "keys", "trusted.gpg"), execFileSync("gpg", ["--batch", "--export", signer.fingerprint], { env }));
    const keyring = { verify: { keyring: "keys/trusted.gpg" } };
    writeConfig(t, "signed-good", keyring);
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`signed-good is a tag signed by ${signer.fingerprint} (Release Signer <signer@xqbuild.invalid>), a key verify allows`);
    expect(await refused("signed-other", keyring)).toContain(`signer: ${other.fingerprint}`);
  });

  it("refuses a verify setting without keys, naming the file and key", async () => {
    writeConfig(t, "signed-good", { verify: { allow: ["master"] } });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('xqbuild.config.json: "verify" needs exactly one of "keys"');
  });
});

// ---------------------------------------------------------------------------------------------------
// What the lock file recorded of a verified tag holds on every fetch that uses it; --locked needs
// that record; and sources that are not git tags (a tarball, a local directory) under verify.

describe("verify: the lock's record of a tag, --locked, tarballs and local directories", () => {
  let base: string;
  let repos: UpstreamRepos;
  let signer: Key;
  let other: Key;
  let c1: string;
  let c3: string;
  let goodTag: string;
  const settings = { verify: { keys: ["keys/signer.asc"] } };

  beforeAll(() => {
    base = mkdtempSync(path.join(tmpdir(), "xqbuild-verify-lock-"));
    signer = makeKey(base, "Lock Signer", "lock@xqbuild.invalid");
    other = makeKey(base, "Lock Mallory", "lock-mallory@xqbuild.invalid");
    repos = makeUpstreamRepos(path.join(base, "upstream"));
    c1 = repos.qemuXen.refs["qemu-xen-4.17.3"] as string;
    c3 = repos.qemuXen.refs.master as string;
    goodTag = tag(repos.qemuXen.path, "signed-good", c1, signer);
  }, 120_000);

  /** A Xen tree of its own, with the signer's key, fetching from `cache`. */
  function newTree(name: string, cache: string, config = settings): Tree {
    const root = copyXenTree(path.join(base, name), { hardlink: true });
    mkdirSync(path.join(root, "keys"));
    writeFileSync(path.join(root, "keys", "signer.asc"), signer.armored);
    const t: Tree = { base, root, repos, env: { ...gitEnv(), XQBUILD_CACHE_DIR: path.join(base, cache) } };
    writeConfig(t, "signed-good", config);
    return t;
  }

  const state = (t: Tree) => ({ head: headOf(t), status: git(["status", "--porcelain", "--ignored"], { cwd: qemuDir(t) }), lock: lockText(t) });

  it("refuses a tag moved upstream once the warm mirror has it, in an existing checkout, offline and --locked too", async () => {
    const a = newTree("xen-a", "cache-shared");
    expect((await xq(a, ["fetch", "qemu-xen"])).code).toBe(0);
    expect(headOf(a)).toBe(c1);
    const moved = tag(repos.qemuXen.path, "signed-good", c3, signer, true);
    try {
      // The mirror still holds the tag object the lock recorded: the existing checkout stays as it is.
      const still = await xq(a, ["fetch", "qemu-xen"]);
      expect(still.code).toBe(0);
      expect(headOf(a)).toBe(c1);
      // Another tree sharing the cache takes the moved tag (it has no lock of its own): the mirror now has it.
      const b = newTree("xen-b", "cache-shared");
      const taken = await xq(b, ["update", "qemu-xen"]);
      expect(taken.code).toBe(0);
      expect(headOf(b)).toBe(c3);
      const before = state(a);
      const message = `qemu-xen: the tag signed-good (QEMU_UPSTREAM_REVISION at .config:2) of ${repos.qemuXen.url} now points elsewhere than xqbuild.lock recorded: it is the tag object ${moved} (commit ${c3.slice(0, 12)}), where xqbuild.lock has the tag object ${goodTag} (commit ${c1.slice(0, 12)}, signed by ${signer.fingerprint}); signer: ${signer.fingerprint} (Lock Signer <lock@xqbuild.invalid>); verify in xqbuild.config.json allows only tags signed by the key ${signer.fingerprint}.`;
      // A build fetches first (the doctor's pre-flight, which asks for the host's libraries, is not the point here).
      for (const argv of [["fetch", "qemu-xen"], ["fetch", "qemu-xen", "--offline"], ["fetch", "qemu-xen", "--locked"], ["all", "qemu-xen"]]) {
        const r = await xq(a, argv, { XQBUILD_NO_DOCTOR: "1" });
        expect(r.code, argv.join(" ")).toBe(1);
        expect(r.stderr, argv.join(" ")).toContain(message);
        expect(r.stderr).toContain("Nothing was checked out: the tree was left as it was.");
        expect(state(a), argv.join(" ")).toEqual(before);
        expect(existsSync(path.join(a.root, "tools", "qemu-xen-build")), argv.join(" ")).toBe(false);
      }
      // Moved again, now signed by a key verify does not allow: both are said, with both fingerprints.
      const forged = tag(repos.qemuXen.path, "signed-good", c3, other, true);
      expect((await xq(b, ["update", "qemu-xen"])).code).toBe(1);
      const r = await xq(a, ["fetch", "qemu-xen", "--offline"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `the tag signed-good (QEMU_UPSTREAM_REVISION at .config:2) of ${repos.qemuXen.url} (tag object ${forged}) is signed by another key, not one of the allowed keys (and it has moved: xqbuild.lock recorded the tag object ${goodTag}, signed by ${signer.fingerprint}); signer: ${other.fingerprint}; verify in xqbuild.config.json allows only tags signed by the key ${signer.fingerprint}.`,
      );
      expect(state(a)).toEqual(before);
    } finally {
      // The tag object the later cases expect (still in the upstream's objects) is put back.
      git(["update-ref", "refs/tags/signed-good", goodTag], { env: { ...gitEnv(), GIT_DIR: repos.qemuXen.path } });
    }
  });

  it("--locked refuses a lock entry written before verify, until fetch --update-lock records the tag", async () => {
    const t = newTree("xen-locked", "cache-locked");
    expect((await xq(t, ["fetch", "qemu-xen"])).code).toBe(0);
    const lock = lockOf(t);
    const entry = lock.components["qemu-xen"] as Record<string, unknown>;
    expect(entry).toMatchObject({ tagObject: goodTag, signer: signer.fingerprint });
    delete entry.tagObject;
    delete entry.signer;
    writeFileSync(path.join(t.root, "xqbuild.lock"), JSON.stringify(lock, null, 2));
    const before = state(t);
    const r = await xq(t, ["fetch", "qemu-xen", "--locked"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--locked: xqbuild.lock pins qemu-xen to signed-good (commit ${c1.slice(0, 12)}) without the tag object and signer that verify requires it to record: it was written before verify was turned on.`);
    expect(r.stderr).toContain("Run xqbuild fetch --update-lock once");
    expect(state(t)).toEqual(before);
    // status says so before a --locked build finds out.
    const shown = await xq(t, ["status", "qemu-xen"]);
    expect(shown.stdout).toContain("  signed   not recorded: this lock entry predates verify (fetch --locked refuses it; run xqbuild fetch --update-lock)");
    expect((JSON.parse((await xq(t, ["status", "qemu-xen", "--json"])).stdout) as { components: Array<{ verify?: string }> }).components[0]?.verify).toBe("verify");
    // A lock entry with a tag object but no signer is no better.
    entry.tagObject = goodTag;
    writeFileSync(path.join(t.root, "xqbuild.lock"), JSON.stringify(lock, null, 2));
    const half = await xq(t, ["fetch", "qemu-xen", "--locked"]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain("without the signer that verify requires");
    // A revision the allow list takes unsigned has no signature to record: --locked takes its pin.
    writeConfig(t, "signed-good", { verify: { ...settings.verify, allow: ["signed-good"] } });
    const allowed = await xq(t, ["fetch", "qemu-xen", "--locked"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain("signed-good is taken unsigned: verify.allow lists it");
    writeConfig(t, "signed-good", settings);
    expect((await xq(t, ["fetch", "qemu-xen", "--update-lock"])).code).toBe(0);
    expect(lockOf(t).components["qemu-xen"]).toMatchObject({ commit: c1, tagObject: goodTag, signer: signer.fingerprint });
    const locked = await xq(t, ["fetch", "qemu-xen", "--locked"]);
    expect(locked.code).toBe(0);
    expect((await xq(t, ["status", "qemu-xen"])).stdout).toContain(`  signed   tag object ${goodTag}, signed by ${signer.fingerprint}`);
  });

  it("refuses a tarball source under verify, before downloading anything, and takes it with the component's verify false", async () => {
    // The fake SeaBIOS release as a tarball (git archive: its Makefile and _record.py included).
    const tarball = path.join(base, "seabios-1.16.0.tar.gz");
    execFileSync("git", ["archive", "--format=tar.gz", "--prefix=seabios-1.16.0/", "-o", tarball, "rel-1.16.0"], { env: { ...gitEnv(), GIT_DIR: repos.seabios.path } });
    const sha = execFileSync("sha256sum", [tarball], { encoding: "utf8" }).split(" ")[0] ?? "";
    const t = newTree("xen-tarball", "cache-tarball");
    const config = (s: object) => {
      writeConfig(t, "signed-good", s);
      writeFileSync(path.join(t.root, ".config"), `SEABIOS_UPSTREAM_LOC = ${tarball}\nSEABIOS_UPSTREAM_SHA256 = ${sha}\n`, { flag: "a" });
    };
    config(settings);
    const r = await xq(t, ["fetch", "seabios"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`seabios: verify requires a signed tag, but the source of seabios is the tarball ${tarball}, which has no tag to verify.`);
    expect(r.stderr).toContain("set components.seabios.verify to false to take it unverified (the tarball is still checked against its sha256)");
    expect(existsSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote"))).toBe(false);
    expect(existsSync(path.join(t.root, "xqbuild.lock"))).toBe(false);
    expect(existsSync(path.join(base, "cache-tarball", "tarballs"))).toBe(false);
    config({ ...settings, components: { seabios: { verify: false } } });
    const ok = await xq(t, ["fetch", "seabios"]);
    expect(ok.code).toBe(0);
    expect(readFileSync(path.join(t.root, "tools", "firmware", "seabios-dir-remote", "VERSION"), "utf8")).toMatch(/^1\.16\.0/);
  });

  it("says which package gives gpgv or gpg when one is missing, before anything is fetched", async () => {
    for (const [hidden, pkg] of [["gpgv", "gpgv"], ["gpg", "gpg"]] as const) {
      const t = newTree(`xen-no-${hidden}`, `cache-no-${hidden}`);
      const r = await xq(t, ["fetch", "qemu-xen"], { PATH: pathWithout([hidden]) });
      expect(r.code, hidden).toBe(1);
      expect(r.stderr).toContain(`cannot run ${hidden} (`);
      expect(r.stderr).toContain(`Install ${hidden} (Debian/Ubuntu: apt-get install ${pkg})`);
      expect(existsSync(qemuDir(t))).toBe(false);
      expect(existsSync(path.join(t.root, "xqbuild.lock"))).toBe(false);
    }
  });

  it("warns that a local directory used in place is not verified, and records nothing for it", async () => {
    const t = newTree("xen-local", "cache-local");
    const local = path.join(base, "my-qemu");
    mkdirSync(local);
    writeFileSync(path.join(local, "configure"), "#!/bin/sh\n");
    writeFileSync(path.join(t.root, ".config"), `QEMU_UPSTREAM_LOC = ${local}\n`, { flag: "a" });
    const r = await xq(t, ["fetch", "qemu-xen"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`verify does not check ${local}: a local directory used in place is your own, not a fetched tag`);
    expect(existsSync(path.join(t.root, "xqbuild.lock"))).toBe(false);
  });
});
